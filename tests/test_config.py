"""Configuration: seed defaults, YAML, env overrides, and clear refusals."""

from __future__ import annotations

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


def test_seed_defaults() -> None:
    monitoring = load_settings().monitoring
    assert monitoring.enabled is True
    assert (
        monitoring.metrics_interval,
        monitoring.heartbeat_interval,
        monitoring.stale_timeout,
        monitoring.data_retention_days,
    ) == (15, 30, 60, 7)
    assert not str(monitoring.socket_path).startswith("/tmp/")
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
