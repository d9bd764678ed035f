"""The clean's plan and result read the same in Discord and in a terminal: one renderer, two
markups (bold and escapes in Discord, plain text in a terminal)."""

from __future__ import annotations

from chatops.presentation.cache import plan_text, result_text
from chatops.presentation.markup import DISCORD, TERMINAL
from chatops.records.cache import CleanPlan, PlanItem

NOW = 1_800_000_000.0
KB = 1024


def item(task_id: str, age: float, reason: str) -> PlanItem:
    return PlanItem(task_id, "claude", KB, NOW - age, 1, reason)


PLAN = CleanPlan(
    "clean",
    (item("t_0", 3 * 86400, "age"), item("t1", 600, "size"), item("t2", 60, "size")),
    total_before=10 * KB,
    running_kept=1,
)


def test_a_plan_in_both_markups() -> None:
    assert plan_text(PLAN, NOW, DISCORD, names=2) == (
        "**3** entries · **3.0 kB** of 10.0 kB\n"
        "oldest: 3d 0h old · why: 1 past max_age_days, 2 over the size threshold\n"
        "1 running task is kept\n"
        "`t_0`, `t1` and 1 more"
    )
    assert plan_text(PLAN, NOW, TERMINAL) == (
        "3 entries · 3.0 kB of 10.0 kB\n"
        "oldest: 3d 0h old · why: 1 past max_age_days, 2 over the size threshold\n"
        "1 running task is kept\n"
        "t_0, t1, t2"
    )
    empty = CleanPlan("clear_all_cache", (), total_before=0, running_kept=2)
    assert plan_text(empty, NOW, DISCORD) == plan_text(empty, NOW, TERMINAL)
    assert plan_text(empty, NOW, TERMINAL) == "Nothing to remove (2 running tasks kept)."


def test_a_result_in_both_markups() -> None:
    skipped = [("t1", "its task is running again"), ("t\x1b2", "gone")]
    assert result_text(1, KB, 9 * KB, skipped, DISCORD, names=1) == (
        "Removed 1 entry, 1.0 kB freed; 9.0 kB left.\n"
        "Skipped 2 that changed since the plan: `t1`: its task is running again and 1 more"
    )
    assert result_text(1, KB, 9 * KB, skipped, TERMINAL) == (
        "Removed 1 entry, 1.0 kB freed; 9.0 kB left.\n"
        "Skipped 2 that changed since the plan: t1: its task is running again; t\\x1b2: gone"
    )
    assert result_text(0, 0, 0, [], TERMINAL) == "Removed 0 entries, 0 B freed; 0 B left."
