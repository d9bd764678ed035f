"""The test harness: everything a feature's test needs is here, so its end-to-end test is a few
lines.

* Places and settings: ``workdir`` (short, private), ``make_settings``, ``settings``.
* Time and storage: ``FakeClock``/``clock`` (the injected clock), ``store`` (real SQLite).
* The controller: ``controller`` (started on ``settings``), ``start_controller`` (any settings,
  any clock), ``ControllerProcess`` (a real ``chatops run`` subprocess for signals and restarts).
* The socket: ``RawClient``/``raw`` (bytes on a real socket), ``handler_table`` (a server built
  by hand), ``spawn_bot`` (a real bot subprocess).
* Alerts: ``RecordingSink``, ``went_down``; ``WebhookReceiver`` lives in ``webhook_receiver``.
* Discord: ``running`` (the real discord.py bot logged in to the loopback fake, with ``slash``
  and ``click`` by ``custom_id``), ``fake_discord``, ``start_bot``, ``register``.
* Waiting: ``wait_for`` (poll with a generous bound, never a fixed sleep), ``query``.
"""

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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import discord
import pytest
import yaml
import yarl

from chatops.alerts.sinks import SinkKind
from chatops.api.door import SocketDoor
from chatops.composition.controller import Controller
from chatops.config import AlertsConfig, DiscordConfig, MonitoringConfig, Settings
from chatops.config.approvals import ApprovalsConfig, SocketDecisions
from chatops.discord.bot import ChatOpsBot, configure_endpoints
from chatops.records.alerts import Alert
from chatops.records.fleet import FleetEvent
from chatops.store import Store
from chatops.web.door import HttpDoor
from tests.fake_discord import (
    ADMIN_ROLE_ID,
    ADMIN_USER_ID,
    ALERT_CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
)

HERE = Path(__file__).parent
BOTS = HERE / "bots"


@pytest.fixture(autouse=True)
def _own_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the caller's ``~/.config/chatops/config.yaml`` (nor do the commands it
    starts): the config directory is an empty one of the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))


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
    # These controllers have no Discord channel or webhook unless a test adds one, and their
    # approvers answer from a shell: requests for a human wait for them.
    return Settings(
        monitoring=MonitoringConfig(**values), approvals=ApprovalsConfig(unattended="wait")
    )


def automation_settings(workdir: Path) -> Settings:
    """``approvals.socket_decisions: any``: a change made from a process without a terminal
    (a test's subprocess) is the operator's; the default, ``interactive``, is tested apart."""
    settings = make_settings(workdir)
    settings.approvals.socket_decisions = SocketDecisions.ANY
    return settings


@pytest.fixture
def settings(workdir: Path) -> Settings:
    return make_settings(workdir)


@pytest.fixture
async def controller(settings: Settings) -> AsyncIterator[Controller]:
    ctl = new_controller(settings)
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


def came_back(channel: str, ts: float | None = None) -> FleetEvent:
    """The transition the fleet publishes when a down bot is online again."""
    return FleetEvent(
        ts=time.time() if ts is None else ts,
        channel=channel,
        kind="status_changed",
        old_status="down",
        new_status="online",
        detail="heartbeat",
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


def http_base(ctl: Controller) -> str:
    """``http://host:port`` of a started controller's HTTP listener."""
    host, port = ctl.http_addresses[0]
    return f"http://{host}:{port}"


def new_controller(settings: Settings, **kwargs: Any) -> Controller:
    """A controller as the entry points build it: with the socket's door and the HTTP one
    (which listens only when ``http.listen`` is set)."""
    return Controller(settings, socket_door=SocketDoor, http_door=HttpDoor, **kwargs)


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


# -- time and storage ---------------------------------------------------------------------------


class FakeClock:
    """The injected clock for time-dependent logic: moves only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(workdir: Path) -> AsyncIterator[Store]:
    """A real SQLite store in a temp dir, committing at once."""
    opened = await Store.open(workdir / "store.db", max_delay=0)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def start_controller(
    settings: Settings,
) -> AsyncIterator[Callable[..., Any]]:
    """Start a controller on ``settings`` (or others), with a clock of the test's choosing;
    every one started is stopped after the test."""
    started: list[Controller] = []

    async def start(
        custom: Settings | None = None, *, clock: Callable[[], float] = time.time, **kwargs: Any
    ) -> Controller:
        ctl = new_controller(custom or settings, clock=clock, **kwargs)
        await ctl.start()
        started.append(ctl)
        return ctl

    yield start
    for ctl in reversed(started):
        await ctl.stop()


class RecordingSink:
    """A sink that keeps what it is given, for tests of what alerts say."""

    name = "recording"
    kind = SinkKind.WEBHOOK
    ready = True
    pace = 0.0
    storms = False

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.groups: list[tuple[str, list[Alert]]] = []

    async def send(self, alerts: Sequence[Alert], group_id: str) -> None:
        self.alerts.extend(alerts)
        self.groups.append((group_id, list(alerts)))


# -- Discord: the real discord.py bot against the loopback fake -----------------------------------


def discord_settings(workdir: Path, fake: FakeDiscord) -> Settings:
    return Settings(
        # Every heartbeat stored as a metrics row, so a few heartbeats make a chart.
        monitoring=MonitoringConfig(
            socket_path=workdir / "m.sock", database_path=workdir / "c.db", metrics_interval=0.001
        ),
        discord=DiscordConfig(
            token="fake-token",
            guild_ids=[int(GUILD_ID)],
            alert_channel_id=int(ALERT_CHANNEL_ID),
            admin_user_ids=[int(ADMIN_USER_ID)],
            admin_role_ids=[int(ADMIN_ROLE_ID)],
            api_base=fake.api_base,
            gateway_url=fake.gateway_url,
            command_hash_path=workdir / "commands.sha256",
        ),
        alerts=AlertsConfig(retry_initial=0.1, retry_max=0.5),
    )


class Running:
    """A running ChatOpsBot, the fake it talks to, and helpers to drive it."""

    def __init__(self, fake: FakeDiscord, bot: ChatOpsBot, settings: Settings) -> None:
        self.fake = fake
        self.bot = bot
        self.settings = settings

    async def slash(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: str = ADMIN_USER_ID,
        roles: list[str] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        """Run a slash command; the interaction and the bot's answer to it."""
        interaction = await self.fake.slash(name, options or [], user_id=user_id, roles=roles)
        return interaction, await self.fake.wait_callback(interaction)

    async def click(
        self, message: dict[str, Any], custom_id: str, *, user_id: str = ADMIN_USER_ID
    ) -> Any:
        """Press the button ``custom_id`` on ``message``; the bot's answer to the click."""
        return await self.fake.wait_callback(
            await self.fake.click(message, custom_id, user_id=user_id)
        )

    def message_of(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """The message the bot sent as its answer to ``interaction`` (to click on it)."""
        return self.fake.messages[list(self.fake.messages)[-1]]


async def start_bot(
    settings: Settings, fake: FakeDiscord, *, clock: Callable[[], float] = time.time
) -> tuple[ChatOpsBot, asyncio.Task[None]]:
    """The bot logged in to ``fake`` and ready; its controller on ``clock``."""
    configure_endpoints(settings.discord)
    bot = ChatOpsBot(settings, clock=clock)
    await bot.login("fake-token")
    task = asyncio.create_task(bot.connect(reconnect=False))
    await wait_for(bot.is_ready, timeout=30)
    return bot, task


@contextlib.asynccontextmanager
async def fake_discord(workdir: Path) -> AsyncIterator[tuple[FakeDiscord, Settings]]:
    """A started fake and settings pointing at it; discord.py's endpoints are put back after."""
    fake = await FakeDiscord().start()
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield fake, discord_settings(workdir, fake)
    finally:
        await fake.stop()
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))


@pytest.fixture
async def running(workdir: Path) -> AsyncIterator[Running]:
    async with fake_discord(workdir) as (fake, settings):
        bot, task = await start_bot(settings, fake)
        try:
            yield Running(fake, bot, settings)
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)


async def register(
    settings: Settings, *names: str, rss: float = 100.0, features: dict[str, bool] | None = None
) -> RawClient:
    client = await RawClient.connect(settings.monitoring.socket_path)
    for i, name in enumerate(names):
        await client.send(
            {
                "id": i,
                "type": "register",
                "channel": name,
                "pid": os.getpid(),
                "features": features or {"llm": True},
            }
        )
        await client.send(
            {"id": f"h{i}", "type": "heartbeat", "channel": name, "rss_mb": rss, "cpu_pct": 1.5}
        )
    for _ in range(2 * len(names)):
        assert (await client.recv(30))["ok"]
    return client
