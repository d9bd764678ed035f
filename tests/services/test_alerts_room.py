"""Services sit below the alerts: they publish events on the bus and never import
``chatops.alerts`` (not even for a type hint), so the alerts can subscribe to any of them."""

from __future__ import annotations

import ast
from pathlib import Path

import chatops.services

SERVICES = Path(chatops.services.__file__).parent


def imported(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


def test_no_service_imports_the_alerts() -> None:
    offenders = {
        str(path.relative_to(SERVICES)): sorted(
            module for module in imported(path) if module.split(".")[:2] == ["chatops", "alerts"]
        )
        for path in sorted(SERVICES.rglob("*.py"))
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}
    assert len(offenders) > 20  # it did look at the services
