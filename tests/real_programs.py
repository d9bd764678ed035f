"""Real programs for the tests that talk to them: Prometheus, promtool, Alertmanager.

Each is Debian's package (``.ci/run`` installs them). :func:`need` finds a binary: missing, the
test fails under ``CI=true`` (CI must run it) and is skipped elsewhere, with the reason.
:class:`Program` starts one on loopback with its own config and data directory, waits until it
answers its readiness URL, and stops it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEBIAN_PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def need(binary: str) -> str:
    """The path of ``binary``; fails the test in CI when it is missing, skips it elsewhere."""
    path = shutil.which(binary)
    if path is not None:
        return path
    package = DEBIAN_PACKAGES.get(binary, binary)
    reason = f"{binary} is not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on loopback nobody listens on now (the program binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Program:
    """One real program as a subprocess, its output in ``log``."""

    def __init__(self, args: list[str], log: Path, ready_url: str) -> None:
        self.args = args
        self.log = log
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Program:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.args[0]} exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{self.args[0]} not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
