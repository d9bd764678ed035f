"""Configuration: seed defaults, YAML, env overrides, and clear refusals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.config import load_settings
from chatops.config_file import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Whatever the caller's environment: no ``CHATOPS_`` variable, a directory of its own."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("CHATOPS_"):
            monkeypatch.delenv(name)


def test_seed_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Whatever the caller's HOME and XDG variables: these defaults, under the user's home.
    home = tmp_path / "home" / "someone"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monitoring = load_settings().monitoring
    assert monitoring.socket_path == home / ".local/state/chatops/monitor.sock"
    assert monitoring.database_path == home / ".local/state/chatops/chatops.db"
    runtime = tmp_path / "run" / "user"
    runtime.mkdir(parents=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert load_settings().monitoring.socket_path == runtime / "chatops/monitor.sock"
    assert monitoring.enabled is True
    assert (
        monitoring.metrics_interval,
        monitoring.heartbeat_interval,
        monitoring.stale_timeout,
        monitoring.data_retention_days,
    ) == (15, 30, 60, 7)
    assert monitoring.max_line_bytes == 65536


def test_yaml_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("monitoring:\n  stale_timeout: 120\n  heartbeat_interval: 20\n")
    assert load_settings(config).monitoring.stale_timeout == 120
    monkeypatch.setenv("CHATOPS_MONITORING__STALE_TIMEOUT", "90")
    settings = load_settings(config)
    assert settings.monitoring.stale_timeout == 90
    assert settings.monitoring.heartbeat_interval == 20
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    assert load_settings().monitoring.heartbeat_interval == 20


def test_local_config_yaml_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("monitoring:\n  data_retention_days: 30\n")
    assert load_settings().monitoring.data_retention_days == 30


def test_the_config_directory_is_the_last_place_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_config = tmp_path / "xdg" / "chatops" / "config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("monitoring:\n  data_retention_days: 11\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_settings().monitoring.data_retention_days == 11
    (tmp_path / "config.yaml").write_text("monitoring:\n  data_retention_days: 30\n")
    assert load_settings().monitoring.data_retention_days == 30  # ./config.yaml first
    assert load_settings(search_cwd=False).monitoring.data_retention_days == 11


def test_a_bad_config_found_in_the_current_directory_says_so(tmp_path: Path) -> None:
    """A project's own config.yaml picked up by accident: the error says where it was found
    and where chatops's own config goes."""
    (tmp_path / "config.yaml").write_text("database:\n  url: postgres://app\n")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert f"config.yaml was found in the current directory, {tmp_path}" in message
    assert "--config PATH, $CHATOPS_CONFIG or " in message and "database: unknown key" in message


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_DISCORD__TOKEN", "super-secret-token")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "super-secret-token"
    assert "super-secret-token" not in repr(settings) + str(settings.model_dump())


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("monitoring:\n  stale_timeout: soon\n", "monitoring.stale_timeout"),
        ("monitoring:\n  heartbeat_intreval: 5\n", "monitoring.heartbeat_intreval: unknown key"),
        ("monitoring:\n  heartbeat_interval: 100\n", "stale_timeout"),
        ("monitoring: [1, 2\n", "not valid YAML"),
        ("- just a list\n", "mapping"),
    ],
)
def test_bad_config_names_the_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, named: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError, match=named.split(":")[0]):
        load_settings(config)
    assert main(["--config", str(config), "run"]) == 2
    assert named in capsys.readouterr().err


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatops.cli", "--config", str(tmp_path / "nope.yaml"), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr


def test_example_config_is_valid_and_documents_every_key() -> None:
    import yaml

    example = ROOT / "config.example.yaml"
    settings = load_settings(example)
    data = yaml.safe_load(example.read_text())
    text = example.read_text()
    for section, model in (
        ("monitoring", settings.monitoring),
        ("logging", settings.logging),
        ("discord", settings.discord),
        ("alerts", settings.alerts),
    ):
        for key in type(model).model_fields:
            assert re.search(rf"^\s+#?\s*{key}:", text, re.MULTILINE), f"{section}.{key}"
    assert set(data) == set(type(settings).model_fields)


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CHATOPS_ALERTS__WEBHOOK_URLS": "http://x"}, "CHATOPS_ALERTS__"),
        ({"CHATOPS_ALERTS__WEBHOOK_URLS": '["ftp://h/secret"]'}, "alerts.webhook_urls"),
        (
            {"CHATOPS_MONITORING__STALE_TIMOUT": "9"},
            "CHATOPS_MONITORING__STALE_TIMOUT: unknown key",
        ),
        (
            {"CHATOPS_MONITORNG__STALE_TIMEOUT": "9"},
            "CHATOPS_MONITORNG__STALE_TIMEOUT: unknown section",
        ),
        ({"CHATOPS_MONITORING__STALE_TIMEOUT": "soon"}, "monitoring.stale_timeout"),
        ({"CHATOPS_MONITORING__DATABASE_PATH": "/etc/passwd/x.db"}, "monitoring.database_path"),
        (
            {"CHATOPS_MONITORING__SOCKET_PATH": "/tmp/" + "a" * 120 + "/m.sock"},
            "monitoring.socket_path",
        ),
    ],
)
def test_every_config_error_is_one_line_naming_the_key_and_exit_2(
    env: dict[str, str], named: str
) -> None:
    result = _run_cli("run", env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_directory_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    other = 65534 if os.geteuid() == 0 else None
    if other is None:
        pytest.skip("needs root to give a directory to another user")
    os.chown(data, other, other)
    result = _run_cli(
        "run",
        env={
            "CHATOPS_MONITORING__DATABASE_PATH": str(data / "c.db"),
            "CHATOPS_MONITORING__SOCKET_PATH": str(tmp_path / "m.sock"),
        },
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "belongs to uid 65534" in line


SECRETS = {
    "discord": ("discord:\n  token: very-secret\n", "discord.token", "CHATOPS_DISCORD__TOKEN"),
    "webhooks": (
        "alerts:\n  webhook_urls: ['https://hooks.example/very-secret']\n",
        "alerts.webhook_urls",
        "CHATOPS_ALERTS__WEBHOOK_URLS",
    ),
}


@pytest.mark.parametrize("held", [["discord"], ["webhooks"], ["discord", "webhooks"]])
def test_a_readable_config_holding_secrets_names_each_ones_variable(
    tmp_path: Path, held: list[str]
) -> None:
    """Each secret the file holds is named with the variable that would hold it instead (and
    only those), and the warning comes from the doctor, once; ``status`` and the other reading
    commands stay quiet about it."""
    config = tmp_path / "c.yaml"
    config.write_text(
        f"monitoring:\n  database_path: {tmp_path}/c.db\n  socket_path: {tmp_path}/m.sock\n"
        + "".join(SECRETS[name][0] for name in held)
    )
    config.chmod(0o644)
    doctor = _run_cli("--config", str(config), "doctor")
    [warning] = [line for line in doctor.stderr.splitlines() if "other users may read" in line]
    assert "chmod 600" in warning and "very-secret" not in doctor.stderr + doctor.stdout
    for name, (_, key, variable) in SECRETS.items():
        assert (key in warning and variable in warning) is (name in held), warning
    for command in (["status"], ["policy", "show"], ["cache", "list"], ["quota"]):
        assert "other users may read" not in _run_cli("--config", str(config), *command).stderr
    config.chmod(0o600)
    assert "warning" not in _run_cli("--config", str(config), "doctor").stderr


def test_the_controller_warns_of_a_readable_secret_once_per_run(controller_process) -> None:
    ctl = controller_process({"alerts": {"webhook_urls": ["http://127.0.0.1:9/very-secret"]}})
    ctl.config.chmod(0o644)
    ctl.start()
    assert ctl.stop() == 0
    log = ctl.log.read_text()
    assert log.count("other users may read it") == 1 and "CHATOPS_ALERTS__WEBHOOK_URLS" in log
    assert "very-secret" not in log


VALID_FILE = (
    "monitoring:\n  stale_timeout: 120\n"
    "alerts:\n  repeat_interval: 60\n"
    "discord:\n  confirm_timeout: 30\n"
    "recovery:\n  auto_restart: false\n"
)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CHATOPS_MONITORING__STALE_TIMEOUT": "soon"}, "CHATOPS_MONITORING__STALE_TIMEOUT"),
        ({"chatops_monitoring__stale_timeout": "soon"}, "chatops_monitoring__stale_timeout"),
        ({"CHATOPS_DISCORD__CONFIRM_TIMEOUT": "0"}, "CHATOPS_DISCORD__CONFIRM_TIMEOUT"),
        ({"CHATOPS_LOGGING__LEVEL": "loud"}, "CHATOPS_LOGGING__LEVEL"),
        ({"CHATOPS_ALERTS__WEBHOOK_URLS": "http://x"}, "CHATOPS_ALERTS__WEBHOOK_URLS"),
        ({"CHATOPS_ALERTS__WEBHOOK_URLS": '["ftp://h/secret"]'}, "CHATOPS_ALERTS__WEBHOOK_URLS"),
        ({"CHATOPS_DISCORD__GUILD_IDS": '[1, "x"]'}, "CHATOPS_DISCORD__GUILD_IDS"),
        ({"CHATOPS_RECOVERY__BOTS": '{"a": {"command": ""}}'}, "CHATOPS_RECOVERY__BOTS"),
        ({"CHATOPS_MONITORING": '{"stale_timeout": "x"}'}, "CHATOPS_MONITORING"),
        (
            {"CHATOPS_MONITORING__STALE_TIMEOUT": "90", "CHATOPS_ALERTS__REPEAT_INTERVAL": "-1"},
            "CHATOPS_ALERTS__REPEAT_INTERVAL",
        ),
    ],
)
def test_a_bad_variable_is_named_as_itself_even_beside_a_config_file(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    (tmp_path / "config.yaml").write_text(VALID_FILE)
    result = _run_cli("status", env=env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("chatops: invalid configuration (environment): "), line
    assert variable in line and "config.yaml" not in line and "secret" not in line
    assert [name for name in env if name in line] == [variable]  # not the good one beside it


def test_a_check_across_keys_names_the_variable_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(VALID_FILE)
    result = _run_cli("status", env={"CHATOPS_MONITORING__HEARTBEAT_INTERVAL": "200"})
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "(config.yaml and environment)" in line
    assert "CHATOPS_MONITORING__HEARTBEAT_INTERVAL" in line and "stale_timeout (120s)" in line
    (tmp_path / "config.yaml").write_text("monitoring:\n  stale_timeout: soon\n")
    line = _run_cli("status").stderr.strip()
    assert "(config.yaml): monitoring.stale_timeout" in line and "CHATOPS_MONITORING" not in line


VALIDATORS = {
    "a module that is not there": ("no_such_module_anywhere.check", "cannot import"),
    "a function that is not there": ("good_validators.missing", "has no missing"),
    "something not callable": ("good_validators.LIMIT", "not callable"),
    "a module that fails as it is imported": ("broken_validators.check", "RuntimeError"),
}


@pytest.fixture
def validator_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "good_validators.py").write_text(
        "LIMIT = 3\n\ndef check(kind, data):\n    return None\n"
    )
    (tmp_path / "broken_validators.py").write_text("raise RuntimeError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("case", list(VALIDATORS))
def test_a_custom_validator_that_cannot_be_used_is_refused_at_load(
    validator_modules: Path, case: str
) -> None:
    dotted, why = VALIDATORS[case]
    config = validator_modules / "v.yaml"
    config.write_text(f"approvals:\n  rules:\n    code_review:\n      custom_validator: {dotted}\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert "approvals.rules.code_review.custom_validator" in message and why in message
    config.write_text(
        "approvals:\n  rules:\n    code_review:\n      custom_validator: good_validators.check\n"
    )
    assert load_settings(config).approvals.rules["code_review"].custom_validator  # type: ignore[index]


def test_an_unusable_custom_validator_stops_the_cli_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "v.yaml"
    config.write_text("approvals:\n  rules:\n    file_write:\n      custom_validator: nope.check\n")
    result = _run_cli("--config", str(config), "run")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "approvals.rules.file_write.custom_validator: cannot import nope" in line


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    bots = tmp_path / "bots"
    (bots / "folder").mkdir(parents=True)
    for name, mode in (("alpha", 0o755), ("plain", 0o644)):
        (bots / name).write_text("#!/bin/sh\nexit 0\n")
        (bots / name).chmod(mode)
    return bots


@pytest.mark.parametrize("key", ["command", "restart_command"])
@pytest.mark.parametrize(
    ("program", "why"),
    [
        ("no-such-program-anywhere --flag", "not found on PATH"),
        ("{bots}/missing", "does not exist"),
        ("{bots}/plain", "not an executable file"),
        ("{bots}/folder", "not an executable file"),
        ("{bots}/{{channel}}", "does not exist"),  # becomes bots/beta, which is not there
    ],
)
def test_a_recovery_program_that_cannot_run_is_refused_at_load(
    programs: Path, key: str, program: str, why: str
) -> None:
    config = programs.parent / "r.yaml"
    command = program.format(bots=programs)
    config.write_text(f"recovery:\n  bots:\n    beta:\n      {key}: '{command}'\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert f"recovery.bots.beta.{key}" in str(refused.value) and why in str(refused.value)


def test_recovery_programs_that_can_run_are_accepted(programs: Path) -> None:
    config = programs.parent / "r.yaml"
    config.write_text(
        "recovery:\n  bots:\n"
        f"    alpha:\n      command: ['{programs}/{{channel}}', '--serve']\n"
        f"      restart_command: 'sh -c true'\n"
        f"    beta:\n      command: ['{sys.executable}', 'bot.py']\n"
    )
    bots = load_settings(config).recovery.bots
    assert bots["alpha"].command == [f"{programs}/{{channel}}", "--serve"]
    assert bots["beta"].command == [sys.executable, "bot.py"]


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR"])
def test_the_configured_log_level_takes_any_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    config = tmp_path / "l.yaml"
    config.write_text(f"logging:\n  level: {level}\n")
    assert load_settings(config).logging.level == level.upper()
    monkeypatch.setenv("CHATOPS_LOGGING__LEVEL", level.lower())
    assert load_settings().logging.level == level.upper()
