"""Small things a user notices: a count agrees with its noun ("1 entry"), and a share is
written one way ("72%"), in every view, the CLI, Discord and alerts alike."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.presentation.formatting import noun, percent, plural, progress_bar

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "chatops").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")])
HEDGED_PLURAL = re.compile(r"(?<=\w)(?<!http)\((s|es|ies)\)")  # "bot(s)"; not "http(s)"


@pytest.mark.parametrize(
    ("count", "singular", "many", "expected"),
    [
        (0, "bot", None, "0 bots"),
        (1, "bot", None, "1 bot"),
        (2, "bot", None, "2 bots"),
        (1, "entry", None, "1 entry"),
        (3, "entry", None, "3 entries"),
        (2, "day", None, "2 days"),  # a vowel before the y
        (2, "pass", None, "2 passes"),
        (2, "match", None, "2 matches"),
        (2, "box", None, "2 boxes"),
        (1, "pool or budget", "pools and budgets", "1 pool or budget"),
        (4, "pool or budget", "pools and budgets", "4 pools and budgets"),
        (12345, "call", None, "12,345 calls"),
    ],
)
def test_a_count_agrees_with_its_noun(
    count: int, singular: str, many: str | None, expected: str
) -> None:
    assert plural(count, singular, many) == expected
    assert noun(count, singular, many) == expected.split(" ", 1)[1]


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0, "0%"), (0.3, "30%"), (0.725, "72%"), (1, "100%")]
)
def test_one_percent_style(fraction: float, expected: str) -> None:
    assert percent(fraction) == expected
    assert progress_bar(fraction).endswith(" " + expected)


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _spaced_percents(tree: ast.AST) -> Iterator[int]:
    """An f-string that writes a value, then `` %``: ``{pct:.0f} % left``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for before, after in itertools.pairwise(parts):
                if (
                    isinstance(before, ast.FormattedValue)
                    and isinstance(after, ast.Constant)
                    and str(after.value).startswith(" %")
                ):
                    yield node.lineno


def test_no_view_hedges_a_plural_or_spaces_a_percent() -> None:
    """Every string of the code a user may read: no ``bot(s)``, no ``25 % left``."""
    hedged, spaced = [], []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        hedged += [f"{where}:{line}" for line, text in _strings(tree) if HEDGED_PLURAL.search(text)]
        spaced += [f"{where}:{line}" for line in _spaced_percents(tree)]
    assert hedged == [] and spaced == []
