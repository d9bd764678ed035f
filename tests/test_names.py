"""Names that explain themselves: a module's private (``_name``) names stay in that module, and
no docstring or comment sends the reader to the design documents the project grew from."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("chatops/**/*.py"), *ROOT.glob("cogs/**/*.py")])
OURS = ("chatops", "cogs")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module(path: Path) -> tuple[str, str]:
    """The dotted name of ``path`` and the package its relative imports start from."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _private_uses(path: Path) -> Iterator[str]:
    """``from chatops.x import _y``, and ``x._y`` on a chatops or cogs module imported whole."""
    _, package = _module(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([source] if source else [])])
            if source.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                if _private(alias.name):
                    yield f"line {node.lineno}: from {source} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                yield f"line {node.lineno}: {ast.unparse(node)}"


def test_no_module_imports_another_modules_private_name() -> None:
    found = [f"{path.relative_to(ROOT)} {use}" for path in SOURCES for use in _private_uses(path)]
    assert found == [], "give the name a public one that says what it is:\n" + "\n".join(found)


SEED = re.compile(r"(?<!nkey )\bseed'?s?\b|\bseed-style\b", re.IGNORECASE)
"""The design documents' word; an nkey's seed (NATS's name for its private key) is another."""


def _prose(path: Path) -> Iterator[tuple[int, str]]:
    """Comments and docstrings (every string that is a statement of its own)."""
    text = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(text)):
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield node.lineno, value.value


def test_docstrings_say_what_a_thing_is_not_whose_it_was() -> None:
    """A reader who never saw the design documents learns nothing from "the seed's X": say what
    X is or does (and, where compatibility is the point, which existing callers it keeps
    working)."""
    docs = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in SOURCES
        for line, text in _prose(path)
        if SEED.search(text)
    ]
    found += [
        f"{path.relative_to(ROOT)}:{number}"
        for path in docs
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SEED.search(line)
    ]
    assert found == [], "\n".join(found)
