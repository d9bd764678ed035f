"""Real programs for the tests that talk to them: Prometheus, promtool, Alertmanager,
nats-server.

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
    "nats-server": "nats-server",
    "openssl": "openssl",
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


class NatsServer:
    """Debian's nats-server on loopback with JetStream, its own store directory and ports;
    ``users`` (a ``users.conf`` to include) turns on the per-host nkeys, ``tls`` a
    ``(cert, key)`` pair. :meth:`restart` keeps the port and the JetStream store (a partition
    that heals)."""

    def __init__(
        self,
        directory: Path,
        *,
        users: Path | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.binary = need("nats-server")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.monitor_port = free_port()
        self.pid_file = directory / "nats.pid"
        lines = [
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.monitor_port}",
            f'pid_file: "{self.pid_file}"',
            f'jetstream {{ store_dir: "{directory / "js"}" }}',
        ]
        if users is not None:
            # nats-server takes an include's path relative to the including file.
            lines.append(f'include "{os.path.relpath(users, directory)}"')
        if tls is not None:
            lines.append(f'tls {{ cert_file: "{tls[0]}", key_file: "{tls[1]}" }}')
        self.config = directory / "nats-server.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.url = f"{'tls' if tls else 'nats'}://127.0.0.1:{self.port}"
        self.program = Program(
            [self.binary, "-c", str(self.config)],
            directory / "nats.log",
            f"http://127.0.0.1:{self.monitor_port}/healthz",
        )

    def start(self) -> NatsServer:
        self.program.start()
        return self

    def stop(self) -> None:
        self.program.stop()

    def reload(self) -> None:
        assert self.program.proc is not None
        self.program.proc.send_signal(signal.SIGHUP)

    @property
    def log(self) -> str:
        return self.program.log.read_text()


def make_certificates(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA of its own (``name``) and a server certificate for 127.0.0.1 it signed:
    ``(ca, cert, key)``, made with the openssl command."""
    openssl = need("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / f"{name}-ca.pem", directory / f"{name}-ca.key"
    cert, key = directory / f"{name}-server.pem", directory / f"{name}-server.key"
    csr, ext = directory / f"{name}.csr", directory / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    quiet = {"check": True, "capture_output": True}
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name} CA", "-keyout", str(ca_key), "-out", str(ca)],
        **quiet,
    )  # fmt: skip
    subprocess.run(
        [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(csr)],
        **quiet,
    )  # fmt: skip
    subprocess.run(
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)],
        **quiet,
    )  # fmt: skip
    return ca, cert, key
