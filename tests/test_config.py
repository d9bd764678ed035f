"""Configuration: seed defaults, YAML, env overrides, and clear refusals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHATOPS_CONFIG", raising=False)


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


def test_readable_config_holding_a_secret_gets_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"monitoring:\n  database_path: {tmp_path}/c.db\n  socket_path: {tmp_path}/m.sock\n"
        "discord:\n  token: very-secret\n"
    )
    config.chmod(0o644)
    result = _run_cli("--config", str(config), "status")
    assert result.returncode == 0
    assert "other users may read it" in result.stderr and "chmod 600" in result.stderr
    assert "very-secret" not in result.stderr + result.stdout
    config.chmod(0o600)
    assert "warning" not in _run_cli("--config", str(config), "status").stderr
