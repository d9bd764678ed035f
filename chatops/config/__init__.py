"""Configuration: one pydantic-settings model tree, read from YAML with env overrides.

Precedence, highest first: ``CHATOPS_<SECTION>__<KEY>`` environment variables, the YAML file,
the defaults below; which YAML file that is, :mod:`chatops.config_file` says. Any problem is
raised as :class:`ConfigError`, which names the key, so the CLI can stop with exit code 2 before
anything starts.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from chatops.config.alerts import AlertsConfig as AlertsConfig  # re-exported: its old home
from chatops.config.approvals import ApprovalsConfig
from chatops.config.cache import CacheConfig
from chatops.config.http import HttpConfig, MetricsConfig, WebConfig
from chatops.config.nats import EdgeConfig, NatsConfig
from chatops.config.quotas import QuotasConfig
from chatops.config.recovery import RecoveryConfig
from chatops.config_env import (
    environment_paths,
    secret_paths,
    setting_variables,
    unparsable_variables,
    variable_name,
)
from chatops.config_file import (
    CONFIG_ENV,
    CONFIG_NAME,
    ENV_PREFIX,
    ConfigError,
    read_yaml,
    resolve_config_path,
)
from chatops.paths import config_dir, default_database_path, default_socket_path, state_dir

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107
_yaml_data: ContextVar[dict[str, Any] | None] = ContextVar("chatops_yaml_data", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitoringConfig(_Section):
    """The ``monitoring:`` block: the monitor socket, the heartbeat and status timings, retention
    and the database, plus what durability needs."""

    enabled: bool = True
    socket_path: Path = Field(default_factory=default_socket_path)
    socket_group: str | None = None
    metrics_interval: float = Field(15, gt=0)
    heartbeat_interval: float = Field(30, gt=0)
    late_grace: float = Field(10, ge=0)
    stale_timeout: float = Field(60, gt=0)
    reap_interval: float = Field(1, gt=0)
    """Seconds between checks that local bots' processes still run, only where the kernel
    cannot report their exit (no pidfd). Heartbeat deadlines are timers, exact to the moment."""
    restart_grace: float = Field(90, ge=0)
    data_retention_days: int = Field(7, ge=1)
    retention_interval: float = Field(3600, gt=0)
    retention_batch_size: int = Field(2000, ge=1)
    database_path: Path = Field(default_factory=default_database_path)
    db_synchronous: Literal["normal", "full"] = "full"
    commit_max_delay_ms: float = Field(10, ge=0, le=50)
    commit_max_batch: int = Field(20000, ge=1)
    max_line_bytes: int = Field(65536, ge=256)
    max_pending_writes: int = Field(100_000, ge=100)
    verify_peer_pid: bool = True
    handshake_timeout: float = Field(10, gt=0)
    max_connections: int = Field(4096, ge=1)
    max_connections_per_uid: int = Field(1024, ge=1)
    bad_message_budget: int = Field(50, ge=1)
    bad_message_window: float = Field(60, gt=0)
    uvloop: bool = True
    """Run on uvloop when it is installed (``chatops.runtime.loop``); off: asyncio's loop."""

    @field_validator("socket_path")
    @classmethod
    def _fits_sockaddr(cls, path: Path) -> Path:
        size = len(os.fsencode(path))
        if size > MAX_SOCKET_PATH:
            raise ValueError(
                f"{size} bytes long; a Unix socket path holds at most {MAX_SOCKET_PATH}"
            )
        return path

    @field_validator("socket_path", "database_path")
    @classmethod
    def _under_a_directory(cls, path: Path) -> Path:
        blocker = _non_directory_ancestor(path)
        if blocker is not None:
            raise ValueError(f"{path} lies under {blocker}, which is not a directory")
        return path

    @model_validator(mode="after")
    def _ordered_deadlines(self) -> MonitoringConfig:
        late_after = self.heartbeat_interval + self.late_grace
        if late_after >= self.stale_timeout:
            raise ValueError(
                f"heartbeat_interval + late_grace ({late_after:g}s) must be below "
                f"stale_timeout ({self.stale_timeout:g}s), or a bot would go stale before late"
            )
        return self


def _non_directory_ancestor(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a directory, if any."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """``debug`` is as good as ``DEBUG``, as for ``--log-level``."""
        return value.upper() if isinstance(value, str) else value


class DiscordConfig(_Section):
    """Discord access. Without a token chatops runs headless."""

    token: SecretStr | None = None
    guild_ids: list[int] = Field(default_factory=list)
    alert_channel_id: int | None = None
    alert_role_id: int | None = None
    approval_channel_id: int | None = None
    """Where approval prompts are posted; the alert channel when unset."""
    admin_role_ids: list[int] = Field(default_factory=list)
    admin_user_ids: list[int] = Field(default_factory=list)
    confirm_timeout: float = Field(60, gt=0, le=900)
    """How long a confirmation (Confirm / Cancel) waits before it disables itself."""
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    command_hash_path: Path = Field(default_factory=lambda: state_dir() / "commands.sha256")


class _YamlSource(PydanticBaseSettingsSource):
    """Feeds the parsed YAML mapping to pydantic-settings below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    monitoring: MonitoringConfig = Field(default_factory=lambda: MonitoringConfig())
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig())
    discord: DiscordConfig = Field(default_factory=lambda: DiscordConfig())
    alerts: AlertsConfig = Field(default_factory=lambda: AlertsConfig())
    quotas: QuotasConfig = Field(default_factory=lambda: QuotasConfig())
    approvals: ApprovalsConfig = Field(default_factory=lambda: ApprovalsConfig())
    cache: CacheConfig = Field(default_factory=lambda: CacheConfig())
    recovery: RecoveryConfig = Field(default_factory=lambda: RecoveryConfig())
    http: HttpConfig = Field(default_factory=lambda: HttpConfig())
    metrics: MetricsConfig = Field(default_factory=lambda: MetricsConfig())
    web: WebConfig = Field(default_factory=lambda: WebConfig())
    nats: NatsConfig = Field(default_factory=lambda: NatsConfig())
    edge: EdgeConfig = Field(default_factory=lambda: EdgeConfig())

    @property
    def cache_root(self) -> Path:
        """``cache.root``, else ``cache/`` beside the database."""
        return self.cache.root or self.monitoring.database_path.parent / "cache"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls, _yaml_data.get() or {}))


def _describe(errors: list[tuple[tuple[Any, ...], str]], source: str) -> str:
    """One line: every offending key with what is wrong with it, and where it came from. A key
    a ``CHATOPS_`` variable set is named as that variable, and its source is the environment,
    even when a config file exists too; a check across a section names the variables that
    took part in it."""
    paths = environment_paths()
    problems, sources = [], set()
    for loc, message in errors:
        key = ".".join(str(part) for part in loc) or "(top level)"
        names, direct = setting_variables(loc, paths)
        if direct:
            sources.add("environment")
            problems.append(f"{' and '.join(names)} ({key}): {message}")
            continue
        sources.add(source)
        if names:
            sources.add("environment")
            key = f"{key} (with {' and '.join(names)} from the environment)"
        problems.append(f"{key}: {message}")
    where = " and ".join(sorted(sources, key=lambda s: s == "environment"))
    return f"invalid configuration ({where}): " + "; ".join(problems)


def _validation_errors(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    found = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        found.append((tuple(err["loc"]), message))
    return found


def load_settings(
    path: str | os.PathLike[str] | None = None, *, search_cwd: bool = True
) -> Settings:
    """Load and validate the whole configuration or raise :class:`ConfigError`.
    ``search_cwd=False`` for an agent's own commands (see :mod:`chatops.config_file`)."""
    resolved = resolve_config_path(path, search_cwd=search_cwd)
    try:
        return _load(resolved)
    except ConfigError as exc:
        found_here = resolved == Path(CONFIG_NAME) and not path and not os.environ.get(CONFIG_ENV)
        if not found_here or CONFIG_NAME not in str(exc):  # an error of the environment's
            raise
        # The file was picked up from wherever the command runs: say so, and where chatops's
        # own would be.
        raise ConfigError(
            f"{exc} ({CONFIG_NAME} was found in the current directory, {Path.cwd()}; chatops's "
            f"own is --config PATH, ${CONFIG_ENV} or {config_dir() / CONFIG_NAME})"
        ) from None


def _load(resolved: Path | None) -> Settings:
    data = read_yaml(resolved) if resolved is not None else {}
    source = str(resolved) if resolved is not None else "defaults"
    # pydantic-settings builds its sources inside the constructor, so the YAML rides on a context
    # variable for exactly the duration of that call.
    _check_environment_keys()
    token = _yaml_data.set(data)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(_validation_errors(exc), source)) from exc
    except SettingsError as exc:
        # pydantic-settings could not parse an environment value (a list or mapping field needs
        # JSON there) and says only which section: find the variable, never show its value (it
        # may be a secret).
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        names = unparsable_variables(Settings, field) or [
            f"a {ENV_PREFIX}{field.upper()}__… variable"
        ]
        raise ConfigError(
            f"invalid configuration (environment): {' and '.join(names)}: does not parse; list "
            f"and mapping values must be JSON, e.g. {ENV_PREFIX}ALERTS__WEBHOOK_URLS="
            "'[\"https://…\"]'"
        ) from None
    finally:
        _yaml_data.reset(token)
    unusable = [
        *((("approvals", *key), why) for key, why in settings.approvals.unusable_validators()),
        *((("recovery", *key), why) for key, why in settings.recovery.unusable_commands()),
    ]
    if unusable:
        raise ConfigError(_describe(unusable, source))
    return settings


def _check_environment_keys() -> None:
    """A ``CHATOPS_`` variable that names no section or key is a typo, not something to skip."""
    sections = Settings.model_fields
    for name in sorted(os.environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() == CONFIG_ENV:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        field = sections.get(section)
        if field is None:
            raise ConfigError(f"invalid configuration (environment): {name}: unknown section")
        model = field.annotation
        known = (
            model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        )
        if key and key.split("__")[0] not in known:
            raise ConfigError(f"invalid configuration (environment): {name}: unknown key")


def secrets_exposed(path: Path | None) -> str | None:
    """A warning when the config file holds a secret and others may read it."""
    if path is None:
        return None
    try:
        data = read_yaml(path)
        mode = path.stat().st_mode
    except (ConfigError, OSError):
        return None
    holds = [key for key in secret_paths(Settings) if _holds_secret(key, _value_at(data, key))]
    if not holds or not mode & 0o077:
        return None
    keys = " and ".join(".".join(key) for key in holds)
    variables = ", ".join(variable_name(key) for key in holds)
    return (
        f"warning: {path} holds {keys} and other users may read it "
        f"(mode {mode & 0o777:04o}); run 'chmod 600 {path}' or move "
        f"{'it' if len(holds) == 1 else 'them'} to the environment ({variables})"
    )


CREDENTIAL_ONLY_URLS = {("alerts", "alertmanager_urls")}
"""URL keys that are secret only when a URL carries a password or a token (an Alertmanager's
base URL usually carries neither); a webhook's URL is its token, always secret."""


def _holds_secret(key: tuple[str, ...], value: Any) -> bool:
    if not value:
        return False
    if key not in CREDENTIAL_ONLY_URLS or not isinstance(value, list):
        return True
    for url in value:
        try:
            parts = urlsplit(str(url))
        except ValueError:
            return True  # unreadable: assume the worst
        if parts.username or parts.password or parts.query:
            return True
    return False


def _value_at(data: Any, key: tuple[str, ...]) -> Any:
    for part in key:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
