"""The rooms point one way (``docs/architecture.md``): read from the code, every import
included (inside functions and under ``TYPE_CHECKING`` too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ROOMS: list[tuple[str, tuple[str, ...]]] = [
    # bottom: primitives and records
    ("primitives", ("chatops", "chatops.timeutil", "chatops.paths", "chatops.config_file",
                    "chatops.config_env")),
    ("records", ("chatops.records",)),
    ("config", ("chatops.config",)),
    ("runtime", ("chatops.runtime",)),
    ("presentation", ("chatops.presentation",)),
    ("wire", ("chatops.wire",)),
    ("client", ("chatops.client",)),
    # the store, then services and alerts
    ("store", ("chatops.store",)),
    ("services", ("chatops.services",)),
    ("alerts", ("chatops.alerts",)),
    # the composition root
    ("composition", ("chatops.composition",)),
    # the doors
    ("api", ("chatops.api",)),
    ("nats", ("chatops.nats",)),
    ("metrics", ("chatops.metrics",)),
    ("web", ("chatops.web",)),
    ("discord", ("chatops.discord",)),
    ("cogs", ("cogs",)),
    ("cli", ("chatops.cli",)),
]  # fmt: skip
"""Bottom to top. A module may import its own room and the rooms below it, never above."""


def room_of(module: str) -> int:
    best, rank = "", -1
    for index, (_, prefixes) in enumerate(ROOMS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > len(best):
                best, rank = prefix, index
    assert rank >= 0, f"{module} belongs to no room: add it to ROOMS and to docs/architecture.md"
    return rank


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted([*ROOT.glob("chatops/**/*.py"), *ROOT.glob("cogs/**/*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every chatops or cogs module ``module`` imports, with the line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("chatops", "cogs"):
                yield name, node.lineno


def test_no_room_imports_a_room_above_it() -> None:
    upward = []
    for module, path in modules():
        mine = room_of(module)
        for target, line in imports(module, path):
            theirs = room_of(target)
            if theirs > mine:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line}: {ROOMS[mine][0]} imports "
                    f"{target} ({ROOMS[theirs][0]})"
                )
    assert not upward, "imports against the room order:\n" + "\n".join(upward)


APART: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (
        ("chatops.api", "chatops.metrics", "chatops.web", "chatops.discord", "cogs", "chatops.cli"),
        ("chatops.store",),
        "doors read records and call services; only services and the composition touch the store",
    ),
    (
        ("chatops.store", "chatops.services", "chatops.alerts"),
        ("chatops.wire",),
        "services never see a wire message: the socket door converts",
    ),
]
"""Rooms that may not import another even where the order would let them."""


def test_rooms_kept_apart() -> None:
    found = []
    for sources, targets, why in APART:
        for module, path in modules():
            if not module.startswith(sources):
                continue
            for target, line in imports(module, path):
                if target.startswith(targets):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {target} ({why})")
    assert not found, "\n".join(found)


def test_no_import_cycle_between_modules() -> None:
    known = dict(modules())
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for target, _ in imports(module, path):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                targets.add(target)
        graph[module] = targets
    cycles = []
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            cycles.append(" -> ".join([*trail[trail.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_rule_is_checked_on_something() -> None:
    """The walk sees the tree: a door importing a service is found (else the tests above would
    pass on nothing)."""
    found = dict(modules())
    assert "chatops.api.door" in found and "cogs.status" in found
    assert any(
        t.startswith("chatops.services")
        for t, _ in imports("chatops.api.door", found["chatops.api.door"])
    )
    assert room_of("chatops.store.writer") < room_of("chatops.services.fleet")
    assert room_of("chatops.wire.server") < room_of("chatops.store")
