"""Shell commands parsed in a child process, so a parser crash costs one decision, never the
controller.

tree-sitter is a C library: the property tests found input that made tree-sitter-bash 0.25.1
segfault (worked around in :mod:`.shell`, but a C parser fed hostile text can fail in ways
nobody has found yet). The controller therefore parses in one worker process (``spawn``ed, so
it inherits none of the controller's threads or sockets), started on first use. A worker that
dies or hangs past ``timeout`` is replaced, and the command it was reading counts as
unparseable: the policy never auto-accepts it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from chatops.services.approvals.shell import Analysis, analyse

log = logging.getLogger(__name__)


class ShellAnalyser:
    def __init__(self, *, in_worker: bool = True, timeout: float = 5.0) -> None:
        self._in_worker = in_worker
        self._timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    async def analyse(self, command: str) -> Analysis:
        if not self._in_worker:
            return analyse(command)
        loop = asyncio.get_running_loop()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, analyse, command), self._timeout
            )
        except (BrokenProcessPool, TimeoutError) as exc:
            reason = "crashed" if isinstance(exc, BrokenProcessPool) else "hung"
            log.error("the shell parser %s on a command; it is restarted", reason)
            self._discard()
            return Analysis(parse_error=f"the parser {reason} on it")

    def _discard(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        self.restarts += 1
        # A hung worker does not stop by being asked: end it, then let the pool go.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
