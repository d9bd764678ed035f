"""Shared test fixtures: short private directories, settings, an in-process controller, raw
socket helpers, and a controller running as a real ``chatops run`` subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.config import MonitoringConfig, Settings
from chatops.models import FleetEvent
from chatops.runtime.controller import Controller

HERE = Path(__file__).parent
BOTS = HERE / "bots"


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A short 0700 directory: Unix socket paths must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="co-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_settings(workdir: Path, **monitoring: Any) -> Settings:
    values: dict[str, Any] = {
        "socket_path": workdir / "m.sock",
        "database_path": workdir / "chatops.db",
        "restart_grace": 5,
    }
    values.update(monitoring)
    return Settings(monitoring=MonitoringConfig(**values))


@pytest.fixture
def settings(workdir: Path) -> Settings:
    return make_settings(workdir)


@pytest.fixture
async def controller(settings: Settings) -> AsyncIterator[Controller]:
    ctl = Controller(settings)
    await ctl.start()
    try:
        yield ctl
    finally:
        await ctl.stop()


class RawClient:
    """A bare NDJSON client over a real socket, to speak the protocol byte for byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, path: Path) -> RawClient:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 22)
        return cls(reader, writer)

    async def send(self, *messages: dict[str, Any] | bytes | str) -> None:
        for message in messages:
            if isinstance(message, dict):
                data = json.dumps(message).encode()
            elif isinstance(message, str):
                data = message.encode()
            else:
                data = message
            self.writer.write(data + b"\n")
        await self.writer.drain()

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise ConnectionResetError("closed")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        await self.send(message)
        return await self.recv(timeout)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


@pytest.fixture
async def raw(settings: Settings, controller: Controller) -> AsyncIterator[Callable[[], Any]]:
    clients: list[RawClient] = []

    async def connect() -> RawClient:
        client = await RawClient.connect(settings.monitoring.socket_path)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database through a separate connection, as an operator would."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


async def wait_for(
    predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02
) -> Any:
    """Poll until ``predicate`` is truthy; the bound is generous, only there to avoid hangs."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def went_down(channel: str, detail: str = "test", ts: float | None = None) -> FleetEvent:
    """The transition the fleet publishes when a bot dies, for tests that start from there."""
    return FleetEvent(
        ts=time.time() if ts is None else ts,
        channel=channel,
        kind="status_changed",
        old_status="online",
        new_status="down",
        detail=detail,
    )


def bot_status(db: Path, channel: str) -> str | None:
    rows = query(db, "SELECT status FROM bot_status WHERE channel = ?", (channel,))
    return rows[0][0] if rows else None


class ControllerProcess:
    """``chatops run`` as a real subprocess, for restarts and signals."""

    def __init__(
        self, workdir: Path, sections: dict[str, dict[str, Any]] | None = None, **monitoring: Any
    ) -> None:
        self.workdir = workdir
        self.config = workdir / "config.yaml"
        values = {
            "socket_path": str(workdir / "m.sock"),
            "database_path": str(workdir / "chatops.db"),
        }
        values.update({k: str(v) if isinstance(v, Path) else v for k, v in monitoring.items()})
        self.config.write_text(yaml.safe_dump({"monitoring": values, **(sections or {})}))
        self.socket_path = Path(values["socket_path"])
        self.db = Path(values["database_path"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "controller.log"

    def start(self, timeout: float = 20.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chatops.cli", "--config", str(self.config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"controller exited: {self.log.read_text()}")
            if self.socket_path.exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    try:
                        probe.connect(str(self.socket_path))
                        return
                    except OSError:
                        pass
            time.sleep(0.02)
        raise AssertionError(f"controller did not start: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code


@pytest.fixture
def controller_process(workdir: Path) -> Iterator[Callable[..., ControllerProcess]]:
    made: list[ControllerProcess] = []

    def factory(
        sections: dict[str, dict[str, Any]] | None = None, **monitoring: Any
    ) -> ControllerProcess:
        proc = ControllerProcess(workdir, sections, **monitoring)
        made.append(proc)
        return proc

    yield factory
    for proc in made:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(10)


def spawn_bot(script: str, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    return subprocess.Popen(
        [sys.executable, str(BOTS / script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def kill_quietly(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
    proc.wait(10)


def handler_table(**overrides: Any) -> dict[type, Any]:
    """A complete handler table (the server insists on one) for a server built by hand: the
    request types named in ``overrides`` get those handlers, any other request fails the test."""
    from chatops.wire import protocol

    def unexpected(peer: Any, msg: Any) -> Any:
        raise AssertionError(f"unexpected {type(msg).__name__} in this test")

    table: dict[type, Any] = {cls: unexpected for cls in protocol.REQUEST_TYPES}
    for name, handler in overrides.items():
        table[getattr(protocol, name)] = handler
    return table
