"""Quota pools from what a provider already says: its rate-limit response headers, and the
running totals a coding agent counts. A bot that calls Anthropic or OpenAI itself hands the
response's headers to :meth:`QuotaCalls.report_rate_limits` and gets its pools watched, with no
arithmetic of its own.

- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
  remaining,reset}``, the reset in RFC 3339 → pools ``anthropic requests``, ``anthropic
  tokens``, ``anthropic input-tokens``, ``anthropic output-tokens``.
- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, the reset a duration
  (``6m0s``, ``1s``, ``20ms``, ``1h2m3.5s``) → pools ``openai requests``, ``openai tokens``.

Each pool is absolute (``used`` = limit - remaining, ``limit``, ``resets_at``), so a report
that is lost or repeated changes nothing the next one does not.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from chatops.client.messages import checked
from chatops.wire.protocol import Message, ModelUsage, Register, UsageTotals

log = logging.getLogger("chatops.client")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""A ``dict``, ``httpx.Headers``, ``aiohttp``'s ``CIMultiDict`` or a list of pairs."""

ANTHROPIC_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")
OPENAI_KINDS = ("requests", "tokens")
FAMILIES = {"anthropic": "claude", "openai": "openai"}
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ms|us|µs|ns|h|m|s|d)")
_UNIT_SECONDS = {
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}


def _lowered(headers: Headers) -> dict[str, str]:
    """Header names in lower case (HTTP names are case-insensitive); the first value wins."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(str(name).lower(), str(value).strip())
    return found


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (``1h2m3.5s``, ``20ms``, ``6m0s``); a bare number is
    seconds. None for anything else."""
    text = text.strip()
    plain = _number(text)
    if plain is not None:
        return plain
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def parse_instant(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 time (``2026-01-10T12:00:06Z``); None when unreadable or
    without a zone."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return None if when.tzinfo is None else when.timestamp()


def _pool(
    name: str, limit: float | None, remaining: float | None, resets_at: float | None
) -> dict[str, Any] | None:
    if limit is None or remaining is None or limit <= 0:
        return None
    pool: dict[str, Any] = {
        "name": name,
        "used": min(limit, max(0.0, limit - remaining)),
        "limit": limit,
    }
    if resets_at is not None and 1e9 <= resets_at < 1e10:
        pool["resets_at"] = resets_at
    return pool


def pools_from_headers(provider: str, headers: Headers, now: float) -> list[dict[str, Any]]:
    """The pools a provider's rate-limit headers describe (``model_usage``'s ``pools``); an
    unknown provider, or headers without them, give none. ``now`` turns OpenAI's relative
    resets into times."""
    found = _lowered(headers)
    pools: list[dict[str, Any]] = []
    provider = provider.lower()
    if provider == "anthropic":
        for kind in ANTHROPIC_KINDS:
            prefix = f"anthropic-ratelimit-{kind}-"
            reset = found.get(prefix + "reset")
            pool = _pool(
                f"anthropic {kind}",
                _number(found.get(prefix + "limit")),
                _number(found.get(prefix + "remaining")),
                None if reset is None else parse_instant(reset),
            )
            if pool is not None:
                pools.append(pool)
    elif provider == "openai":
        for kind in OPENAI_KINDS:
            reset = found.get(f"x-ratelimit-reset-{kind}")
            after = None if reset is None else parse_duration(reset)
            pool = _pool(
                f"openai {kind}",
                _number(found.get(f"x-ratelimit-limit-{kind}")),
                _number(found.get(f"x-ratelimit-remaining-{kind}")),
                None if after is None else now + after,
            )
            if pool is not None:
                pools.append(pool)
    return pools


class _Host(Protocol):
    _registrations: dict[str, Register]

    async def request(
        self, message: Message, *, timeout: float | None = None
    ) -> dict[str, Any] | None: ...


class QuotaCalls:
    """What :class:`~chatops.client.monitor.MonitorClient` reports of quotas it did not count
    itself: a provider's headers, a model's pools, an agent's running totals."""

    async def report_rate_limits(
        self: _Host,
        provider: str,
        headers: Headers,
        *,
        model: str | None = None,
        channel: str | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Report the pools in a provider's response ``headers`` (``anthropic``, ``openai``) for
        ``channel`` (default: the one bot this client registered). True once stored; False
        when the headers hold no pool or the monitor did not take it. Never raises."""
        try:
            pools = pools_from_headers(provider, headers, time.time())
        except Exception as exc:  # headers of an unexpected shape: the bot goes on
            log.warning("rate-limit headers not read: %s", exc)
            return False
        if not pools:
            return False
        if channel is None and len(self._registrations) == 1:
            channel = next(iter(self._registrations))
        message = checked(
            ModelUsage,
            model_name=model or provider.lower(),
            family=FAMILIES.get(provider.lower(), "other"),
            pools=pools,
            channel=channel,
        )
        if message is None:
            return False
        reply = await self.request(message, timeout=timeout)
        return bool(reply and reply.get("ok"))

    async def report_pools(
        self: _Host,
        channel: str,
        model: str,
        family: str,
        pools: list[dict[str, Any]],
        *,
        timeout: float | None = None,
    ) -> bool:
        """``model_usage`` with named pools only (a coding agent's windows)."""
        message = checked(ModelUsage, model_name=model, family=family, pools=pools, channel=channel)
        if message is None:
            return False
        reply = await self.request(message, timeout=timeout)
        return bool(reply and reply.get("ok"))

    async def report_totals(
        self: _Host,
        channel: str,
        session: str,
        model: str,
        *,
        cost_usd: float = 0.0,
        tokens_in: int = 0,
        tokens_out: int = 0,
        timeout: float | None = None,
    ) -> bool:
        """``usage_totals``: a session's running totals; the monitor stores their increase, so
        a repeat is harmless and a lost report is made up by the next."""
        message = checked(
            UsageTotals,
            channel=channel,
            session=session,
            model=model,
            cost_usd=cost_usd,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )
        if message is None:
            return False
        reply = await self.request(message, timeout=timeout)
        return bool(reply and reply.get("ok"))
