"""The ``recovery`` config section: how bots are restarted, the restart policy (defaults in the
spirit of pm2: 100 ms backoff x1.5 up to 15 s, reset after 30 s up; supervisord's FATAL, but
retried), and the limits of diagnostics and cleanup."""

from __future__ import annotations

import os
import shlex
import shutil

from pydantic import BaseModel, ConfigDict, Field, field_validator

CHANNEL_FIELD = "{channel}"


class BotRecovery(BaseModel):
    """One bot's way back."""

    model_config = ConfigDict(extra="forbid")

    restart_command: list[str] | None = None
    """Run without a shell; ``{channel}`` is the only substitution (``systemctl restart
    kissbot@{channel}``). A string is split like a shell would, once, at load."""
    command: list[str] | None = None
    """chatops starts the bot itself as its child (and so knows its exit code)."""
    auto_restart: bool | None = None
    """None: ``recovery.auto_restart``."""

    @field_validator("restart_command", "command", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return shlex.split(value)
        return value

    @field_validator("restart_command", "command")
    @classmethod
    def _only_channel(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("an empty command")
            for arg in value:
                if "{" in arg.replace(CHANNEL_FIELD, "") or "}" in arg.replace(CHANNEL_FIELD, ""):
                    raise ValueError(f"{arg!r}: only {CHANNEL_FIELD} may be substituted")
        return value


def program_problem(program: str) -> str | None:
    """Why ``program`` (a command's first word) cannot be run from here, or None.

    The command is run without a shell, with the controller's own PATH and working
    directory: a name is looked up on PATH, a path must be an executable file."""
    if os.sep in program:
        if not os.path.exists(program):
            return f"{program} does not exist"
        if os.path.isdir(program) or not os.access(program, os.X_OK):
            return f"{program} is not an executable file"
        return None
    if shutil.which(program) is None:
        return f"{program} is not found on PATH"
    return None


class RecoveryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_restart: bool = False
    bots: dict[str, BotRecovery] = Field(default_factory=dict)
    restart_exit_code: int = Field(75, ge=1, le=255)
    """Asked to restart, the client library's default handler exits with this code, for the
    bot's own supervisor to start it again."""
    no_restart_exit_code: int | None = Field(0, ge=0, le=255)
    """A child chatops started that exits with this code is not restarted (Red uses 0)."""
    restart_wait: float = Field(30, gt=0, le=600)
    """How long a restart waits for a new process of the bot to register (the same process
    registering again is no restart); not back by then, its stop becomes a down alert."""
    stop_wait: float = Field(10, gt=0, le=300)
    """SIGTERM, then SIGKILL after this."""
    command_timeout: float = Field(60, gt=0, le=600)
    backoff_initial: float = Field(0.1, gt=0)
    backoff_multiplier: float = Field(1.5, ge=1)
    backoff_max: float = Field(15, gt=0)
    jitter: float = Field(0.5, ge=0, le=1)
    """Each delay is spread by ± this fraction, so many bots never restart at one instant."""
    stable_after: float = Field(30, gt=0)
    """Up this long, the backoff starts over."""
    max_starts: int = Field(5, ge=1)
    start_window: float = Field(300, gt=0)
    """More than ``max_starts`` automatic starts within this window: FATAL."""
    fatal_retry_after: float = Field(1800, ge=0)
    """FATAL is tried again after this (0: never, as supervisord)."""
    spread: float = Field(1.0, ge=0)
    """At least this long between two automatic restarts, whichever bots."""
    offline_days: float = Field(7, gt=0)
    """Bots offline (or down) longer than this are removed by the stale-resource cleanup."""
    admin_agents: list[str] = Field(default_factory=list)
    """Registered bots allowed the orchestrator's admin calls (auto_clean_cache, clear_cache,
    toggle_auto_accept) over the socket."""

    def unusable_commands(self) -> list[tuple[tuple[str, ...], str]]:
        """``(key, why)`` for every ``command`` and ``restart_command`` whose program cannot
        be run from here: refused at load rather than at the first restart."""
        found: list[tuple[tuple[str, ...], str]] = []
        for channel, bot in self.bots.items():
            for key in ("command", "restart_command"):
                argv = getattr(bot, key)
                if argv:
                    why = program_problem(argv[0].replace(CHANNEL_FIELD, channel))
                    if why is not None:
                        found.append((("bots", channel, key), why))
        return found

    def for_bot(self, channel: str) -> BotRecovery:
        return self.bots.get(channel) or BotRecovery()

    def auto_restarts(self, channel: str) -> bool:
        own = self.for_bot(channel).auto_restart
        return self.auto_restart if own is None else own
