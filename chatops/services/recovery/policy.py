"""The restart policy, as a state machine on the injected clock (no I/O).

After an unexpected exit a bot waits ``backoff_initial * multiplier**n`` (capped at
``backoff_max``, spread by ± ``jitter``), then is started again; ``n`` counts the failures since
it was last up for ``stable_after``. More than ``max_starts`` starts within ``start_window``
makes it FATAL, with one alert; unlike supervisord, FATAL is tried again after
``fatal_retry_after`` (unless 0). An exit with the "don't restart" code stops it for good (until
someone restarts it by hand).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from chatops.config.recovery import RecoveryConfig

State = Literal["running", "backoff", "fatal", "stopped"]


@dataclass(slots=True)
class BotRestarts:
    state: State = "running"
    failures: int = 0
    starts: deque[float] = field(default_factory=deque)
    next_at: float | None = None
    last_start: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Literal["restart", "stop", "fatal"]
    at: float | None
    reason: str


class RestartPolicy:
    def __init__(
        self, config: RecoveryConfig, *, rand: Callable[[], float] = random.random
    ) -> None:
        self.config = config
        self._rand = rand
        self.bots: dict[str, BotRestarts] = {}

    def state(self, name: str) -> BotRestarts:
        return self.bots.setdefault(name, BotRestarts())

    def exited(self, name: str, now: float, exit_code: int | None = None) -> Verdict:
        """The bot went away; what to do about it."""
        bot = self.state(name)
        cfg = self.config
        if exit_code is not None and exit_code == cfg.no_restart_exit_code:
            bot.state, bot.next_at = "stopped", None
            return Verdict("stop", None, f"exited with {exit_code}, the don't-restart code")
        if bot.last_start is not None and now - bot.last_start >= cfg.stable_after:
            bot.failures = 0  # it had been up long enough: a fresh start
        while bot.starts and bot.starts[0] <= now - cfg.start_window:
            bot.starts.popleft()
        if len(bot.starts) >= cfg.max_starts:
            bot.state = "fatal"
            retry = cfg.fatal_retry_after
            bot.next_at = now + retry if retry > 0 else None
            when = f"; tried again in {retry:g}s" if retry > 0 else ""
            return Verdict(
                "fatal",
                bot.next_at,
                f"{len(bot.starts)} starts within {cfg.start_window:g}s{when}",
            )
        delay = min(cfg.backoff_max, cfg.backoff_initial * cfg.backoff_multiplier**bot.failures)
        delay *= 1 + cfg.jitter * (2 * self._rand() - 1)
        bot.failures += 1
        bot.state, bot.next_at = "backoff", now + delay
        return Verdict("restart", bot.next_at, f"restart #{bot.failures} in {delay:.2f}s")

    def due(self, now: float) -> list[str]:
        """Bots whose wait is over (backoff, or a FATAL whose retry came), soonest first."""
        ready = [
            (bot.next_at, name)
            for name, bot in self.bots.items()
            if bot.state in ("backoff", "fatal") and bot.next_at is not None and bot.next_at <= now
        ]
        return [name for _, name in sorted(ready)]

    def starting(self, name: str, now: float) -> None:
        bot = self.state(name)
        if bot.state == "fatal":
            bot.starts.clear()  # the retry after FATAL begins a new window
            bot.failures = 0
        bot.starts.append(now)
        bot.last_start = now
        bot.state, bot.next_at = "running", None

    def reset(self, name: str) -> None:
        """A restart by hand clears FATAL and stopped."""
        self.bots.pop(name, None)
