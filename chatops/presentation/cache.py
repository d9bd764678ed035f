"""What a clean of the task cache reads as: its plan (shown before anything is removed) and
what executing it did, in the same words for ``/cache`` and ``chatops cache`` (a
:class:`~chatops.presentation.markup.Markup` for each)."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.presentation.formatting import describe_duration, noun, plural, size_text
from chatops.presentation.markup import Markup
from chatops.records.cache import CleanPlan

REASONS = {
    "age": "past max_age_days",
    "size": "over the size threshold",
    "clear": "clear all",
    "delete": "asked for",
}
"""Why a plan takes an entry (``PlanItem.reason``), as the operator reads it."""


def plan_text(plan: CleanPlan, now: float, markup: Markup, *, names: int = 15) -> str:
    """How many entries, how much of the total, the oldest's age and why, the running tasks
    kept, and the first ``names`` task ids."""
    if not plan.items:
        kept = f" ({plural(plan.running_kept, 'running task')} kept)" if plan.running_kept else ""
        return f"Nothing to remove{kept}."
    count = len(plan.items)
    why = ", ".join(f"{n} {REASONS.get(reason, reason)}" for reason, n in plan.reasons.items())
    lines = [
        f"{markup.bold(f'{count:,}')} {noun(count, 'entry')} · "
        f"{markup.bold(size_text(plan.size))} of {size_text(plan.total_before)}",
        f"oldest: {describe_duration(now - (plan.oldest or now))} old · why: {why}",
    ]
    if plan.running_kept:
        verb = "is" if plan.running_kept == 1 else "are"
        lines.append(f"{plural(plan.running_kept, 'running task')} {verb} kept")
    listed = ", ".join(markup.code(item.task_id) for item in plan.items[:names])
    more = f" and {count - names:,} more" if count > names else ""
    lines.append(listed + more)
    return "\n".join(lines)


def result_text(
    removed: int,
    freed: int,
    left: int,
    skipped: Sequence[tuple[str, str]],
    markup: Markup,
    *,
    names: int = 5,
) -> str:
    """``Removed 2 entries, 1.2 MB freed; 3.4 MB left.``, and the entries skipped because they
    changed since the plan (the first ``names``, with why)."""
    text = f"Removed {plural(removed, 'entry')}, {size_text(freed)} freed; {size_text(left)} left."
    if skipped:
        why = "; ".join(
            f"{markup.code(task_id)}: {markup.text(reason)}" for task_id, reason in skipped[:names]
        )
        more = f" and {len(skipped) - names:,} more" if len(skipped) > names else ""
        text += f"\nSkipped {len(skipped):,} that changed since the plan: {why}{more}"
    return text
