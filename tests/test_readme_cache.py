"""The README's task-cache snippet runs as written, against a controller with every default
location (socket, database, and the cache root beside it), as someone copying it would."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from chatops.config import MonitoringConfig, Settings

ROOT = Path(__file__).resolve().parents[1]


def cache_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Task cache", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "no python snippet under ## Task cache"
    return found.group(1)


async def test_the_readme_cache_snippet_works_under_the_default_root(
    workdir: Path, start_controller: Any
) -> None:
    state = workdir / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "XDG_"))}
    env |= {"XDG_STATE_HOME": str(state), "HOME": str(workdir)}
    # The defaults as the snippet's process computes them (no XDG_RUNTIME_DIR: the state dir).
    settings = Settings(
        monitoring=MonitoringConfig(
            socket_path=state / "chatops" / "monitor.sock",
            database_path=state / "chatops" / "chatops.db",
        )
    )
    assert settings.cache.root is None  # the default root: cache/ beside the database
    ctl = await start_controller(settings)
    program = (
        "import asyncio\nfrom pathlib import Path\nfrom chatops.client import MonitorClient\n\n\n"
        "async def main() -> None:\n"
        + textwrap.indent(cache_snippet(), "    ")
        + "    await client.close()\n\n\nasyncio.run(main())\n"
    )
    script = workdir / "snippet.py"
    script.write_text(program)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    assert "refused" not in err.decode(), err.decode()
    entries = ctl.services.cache.entries
    assert sorted(entries) == ["task-42", "task-43"]
    assert all(entry.finished_at is not None for entry in entries.values())
    assert (settings.cache_root / "task-43" / "results.csv").is_file()
    assert entries["task-42"].files == 2 and entries["task-43"].files == 1
