"""The approval policy's rules and statistics, in Discord and in a terminal alike: what
``/autoaccept toggle|rule|rules|stats`` and ``chatops policy toggle|rule`` and ``chatops
approvals stats`` print, and how both read a rule change from what was typed (the cog's typed
options, the CLI's ``KEY=VALUE`` words) into the fields ``RuleControls.update_rule`` merges.
Whether a change is valid is the service's to say (the ``Rule`` model), not this module's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chatops.config.approvals import Rule
from chatops.presentation.formatting import describe_duration, plural
from chatops.presentation.markup import Markup
from chatops.records.approvals import ApprovalStats


def toggle_text(enabled: bool) -> str:
    """What the auto-accept toggle now means."""
    if enabled:
        return "on: what the rules allow is accepted at once"
    return "off: every action that is not blocked waits for a human"


def rule_line(kind: str, rule: Rule, markup: Markup) -> str:
    """One action type's rule on one line (``/autoaccept rules``, a rule just changed)."""
    parts = [
        "auto-accept" if rule.enabled and not rule.requires_confirmation else "asks a human",
        f"timeout {describe_duration(rule.timeout)}",
    ]
    if rule.max_file_size_mb is not None:
        parts.append(f"max {rule.max_file_size_mb:g} MB")
    if rule.approvals_required > 1:
        parts.append(f"{rule.approvals_required} approvers")
    if rule.blocked_patterns:
        parts.append("blocks " + ", ".join(markup.code(p) for p in rule.blocked_patterns))
    if rule.allowed_patterns:
        parts.append("only " + ", ".join(markup.code(p) for p in rule.allowed_patterns))
    if rule.custom_validator:
        parts.append(f"validator {markup.code(rule.custom_validator)}")
    return f"{markup.bold(kind)} · " + " · ".join(parts)


def patterns(text: str | None) -> list[str] | None:
    """A comma-separated list; ``-`` empties it; None leaves it as it is."""
    if text is None:
        return None
    if text.strip() == "-":
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def _cleared(text: str) -> str | None:
    """``-`` (or nothing) clears an optional value, as ``-`` empties a pattern list."""
    return None if text.strip() in ("", "-") else text.strip()


def _size(text: str) -> float | None:
    value = _cleared(text)
    return None if value is None else float(value)


RULE_FIELDS: dict[str, Callable[[str], Any]] = {
    "enabled": _flag,
    "requires_confirmation": _flag,
    "max_file_size_mb": _size,
    "timeout": float,
    "approvals_required": int,
    "blocked_patterns": patterns,
    "allowed_patterns": patterns,
    "custom_validator": _cleared,
}
"""What a rule change may name, and how each reads from text (``-`` empties a list, and clears
``max_file_size_mb`` and ``custom_validator``)."""
CLEARABLE = frozenset({"max_file_size_mb", "custom_validator"})


def rule_changes(**options: Any) -> dict[str, Any]:
    """The cog's typed options as the fields to change: the ones given (None is left out), the
    pattern lists read from their comma-separated text."""
    changes = {}
    for key, value in options.items():
        if value is None:
            continue
        changes[key] = patterns(value) if key.endswith("_patterns") else value
    return changes


def parse_rule_changes(words: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` words (``enabled=false timeout=120 blocked_patterns=a,b``) as the fields to
    change; ``ValueError`` naming the word for one that does not read."""
    changes: dict[str, Any] = {}
    for word in words:
        key, sep, text = word.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"{word!r} is not KEY=VALUE")
        read = RULE_FIELDS.get(key)
        if read is None:
            raise ValueError(f"{key!r} is not a rule field ({', '.join(RULE_FIELDS)})")
        try:
            value = read(text)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
        if value is None and key not in CLEARABLE:
            raise ValueError(f"{key} needs a value")
        changes[key] = value
    return changes


def stats_fields(
    stats: ApprovalStats, markup: Markup, bullets: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``/autoaccept stats``'s sections, (title, body): by outcome, by type, time to decide."""
    outcomes = "\n".join(
        f"{bullets.get(k, '•')} {k}: {markup.bold(str(v))}" for k, v in stats.by_outcome.items()
    )
    by_type = "\n".join(
        f"{markup.bold(kind)}: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
        for kind, states in sorted(stats.by_type.items())
    )
    median = stats.median_decision_ms
    decide = (
        "—"
        if median is None
        else f"median {describe_duration(median / 1000)} over {stats.decided_by_humans}"
    )
    return [
        ("By outcome", outcomes or "none yet"),
        ("By type", by_type or "none yet"),
        ("Time to decide (humans)", decide),
    ]


def stats_title(days: int | None) -> str:
    return "Auto-accept statistics" + (f" · last {plural(days, 'day')}" if days else "")


def stats_summary(stats: ApprovalStats, markup: Markup) -> str:
    state = "on" if stats.enabled else "off"
    return f"Auto-accept is {markup.bold(state)} · {plural(stats.total_actions, 'request')}"
