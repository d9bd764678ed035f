"""Where chatops's config file is, and its raw contents, read without validating them.

Kept apart from :mod:`chatops.config` (pydantic, every section's model) because the Claude Code
hook runs on every tool call of every agent and only needs to find the socket: it reads the
file with this module and leaves validation to the controller, or to the full load when the
controller cannot be reached.

The file is ``--config PATH``, else ``$CHATOPS_CONFIG``, else ``./config.yaml`` (for the
operator's own commands only), else ``config.yaml`` in chatops's config directory
(``$XDG_CONFIG_HOME/chatops``, by default ``~/.config/chatops``). A command an agent runs for
itself (the hook) never looks in the current directory: that is the agent's project, whose
own ``config.yaml`` means nothing to chatops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chatops.paths import config_dir, default_socket_path

ENV_PREFIX = "CHATOPS_"
CONFIG_ENV = "CHATOPS_CONFIG"
SOCKET_ENV = "CHATOPS_MONITORING__SOCKET_PATH"
CONFIG_NAME = "config.yaml"


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the offending key."""


def resolve_config_path(
    explicit: str | os.PathLike[str] | None, *, search_cwd: bool = True
) -> Path | None:
    """Pick the YAML file by the documented precedence; None means defaults only."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    candidates = [Path(CONFIG_NAME)] if search_cwd else []
    candidates.append(config_dir() / CONFIG_NAME)
    return next((path for path in candidates if path.is_file()), None)


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; a section whose keys are all commented out is empty."""
    return parse_yaml(path, _read_text(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc


def parse_yaml(path: Path, text: str) -> dict[str, Any]:
    import yaml  # tens of milliseconds: only for a file that needs reading

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return {key: {} if value is None else value for key, value in data.items()}


def environment_value(name: str) -> str | None:
    """A ``CHATOPS_`` variable, matched without regard to case as the settings do."""
    wanted = name.upper()
    return next((value for key, value in os.environ.items() if key.upper() == wanted), None)


def configured_socket_path(config_path: Path | None) -> Path:
    """``monitoring.socket_path`` as the controller would read it (the environment, the file,
    the default), without loading the rest of the configuration."""
    from_env = environment_value(SOCKET_ENV)
    if from_env:
        return Path(from_env)
    if config_path is None:
        return default_socket_path()
    text = _read_text(config_path)
    if not any("socket_path" in line.partition("#")[0] for line in text.splitlines()):
        # A file that never names the key (outside comments) cannot set it: the YAML parser,
        # the largest cost on the hook's path, is skipped. The controller validates the file;
        # the hook only needs the socket.
        return default_socket_path()
    data = parse_yaml(config_path, text)
    monitoring = data.get("monitoring") or {}
    value = monitoring.get("socket_path") if isinstance(monitoring, dict) else None
    if value is None:
        return default_socket_path()
    if not isinstance(value, str) or not value:
        raise ConfigError(f"invalid configuration ({config_path}): monitoring.socket_path")
    return Path(value)
