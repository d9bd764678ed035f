"""Pushes from the controller to an agent, over a real socket to the real client library, and
requests that wait (a human deciding) against timeouts and shutdown."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from chatops.api.callers import PeerLink
from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.services.callers import NotConnected as LinkNotConnected
from chatops.store import Store
from chatops.wire.outcomes import Later
from chatops.wire.peer import Peer
from chatops.wire.protocol import ApprovalDecision, Control, Push
from chatops.wire.pushes import NotConnected, PushRejected, PushTimeout
from chatops.wire.server import MonitorServer
from tests.conftest import RawClient, handler_table, wait_for


def peer_of(controller: Controller, channel: str) -> Peer:
    """The connection that owns ``channel``, for the wire's own push calls."""
    owner = controller.services.ownership.owner(channel)
    assert owner is not None and isinstance(owner.link, PeerLink)
    return owner.link.peer


async def _registered(controller: Controller, channel: str) -> MonitorClient:
    client = MonitorClient(controller.settings.monitoring.socket_path)
    assert await client.register_with_monitor(channel, os.getpid())
    return client


async def test_a_service_pushes_control_and_receives_the_answer(controller: Controller) -> None:
    client = await _registered(controller, "worker")
    seen: list[Control] = []

    @client.on_push("control")
    async def control(push: Control) -> dict[str, Any]:
        seen.append(push)
        return {"done": push.action, "args": push.args}

    try:
        peer = peer_of(controller, "worker")
        reply = await peer.ask(
            Control(channel="worker", action="rotate", args={"n": 3}), timeout=10
        )
        assert reply.ok and reply.result == {"done": "rotate", "args": {"n": 3}}
        assert [p.action for p in seen] == ["rotate"]
        # A push that waits for nothing still reaches its handler.
        peer.send(Control(channel="worker", action="tick"))
        await wait_for(lambda: len(seen) == 2)
    finally:
        await client.close()


async def test_default_control_registers_again(controller: Controller) -> None:
    client = await _registered(controller, "a")
    try:
        assert await client.register_with_monitor("b", os.getpid())
        peer = peer_of(controller, "a")
        reply = await peer.ask(Control(channel="a", action="register"), timeout=10)
        assert sorted(reply.result["registered"]) == ["a", "b"]
        # An action the bot has no handler for is refused, with the reason.
        with pytest.raises(PushRejected, match="no handler for control action 'reboot'"):
            await peer.ask(Control(channel="a", action="reboot"), timeout=10)
        # So is a pushed type nobody registered a handler for.
        with pytest.raises(PushRejected, match="no handler for approval_decision"):
            await peer.ask(ApprovalDecision(request=1, decision="deny"), timeout=10)
    finally:
        await client.close()


async def test_an_answer_that_never_comes_times_out(controller: Controller) -> None:
    client = await _registered(controller, "sleepy")
    release = asyncio.Event()

    @client.on_push("push")
    async def never(push: Push) -> None:
        await release.wait()

    try:
        peer = peer_of(controller, "sleepy")
        with pytest.raises(PushTimeout, match=r"did not answer push within 0\.2s"):
            await peer.ask(Push(topic="slow"), timeout=0.2)
        # Its late answer finds nobody waiting and changes nothing.
        release.set()
        reply = await peer.ask(Push(topic="now"), timeout=10)
        assert reply.ok
    finally:
        await client.close()


async def test_a_push_to_a_bot_not_connected_fails_cleanly(controller: Controller) -> None:
    fleet = controller.services.fleet
    with pytest.raises(LinkNotConnected):
        controller.services.ownership.link_for("nobody")
    raw = await RawClient.connect(controller.settings.monitoring.socket_path)
    reply = await raw.request({"id": 1, "type": "register", "channel": "gone", "pid": os.getpid()})
    assert reply["ok"]
    peer = peer_of(controller, "gone")
    waiting = asyncio.ensure_future(peer.ask(Push(topic="x"), timeout=30))
    await raw.reader.readline()  # the push arrived; the agent goes away instead of answering
    await raw.close()
    with pytest.raises(NotConnected):
        await waiting
    await wait_for(lambda: fleet.bots["gone"].status == "down")
    with pytest.raises(LinkNotConnected):
        controller.services.ownership.link_for("gone")
    with pytest.raises(NotConnected):
        peer.send(Push(topic="x"))


async def test_a_reply_to_no_push_is_refused(controller: Controller) -> None:
    raw = await RawClient.connect(controller.settings.monitoring.socket_path)
    try:
        reply = await raw.request({"id": 5, "type": "push_reply", "push_id": 77, "ok": True})
        assert reply["error"]["code"] == "not_found"
    finally:
        await raw.close()


async def _server_with_waiting_ping(workdir: Path, timeout: float) -> tuple[MonitorServer, Store]:
    async def decide() -> dict[str, Any]:
        await asyncio.Event().wait()  # a human who never clicks
        return {}

    store = await Store.open(workdir / "w.db", max_delay=0)
    server = MonitorServer(
        handler_table(Ping=lambda peer, msg: Later(decide(), timeout)),
        store.writer,
        on_disconnect=lambda peer: None,
    )
    await server.serve_unix(workdir / "w.sock")
    return server, store


async def test_a_request_waiting_at_shutdown_is_answered_shutting_down(workdir: Path) -> None:
    server, store = await _server_with_waiting_ping(workdir, timeout=600)
    try:
        raw = await RawClient.connect(workdir / "w.sock")
        await raw.send({"id": 9, "type": "ping"})
        await wait_for(lambda: len(server._tasks) == 1)
        await server.stop_accepting()
        await asyncio.wait_for(server.close_connections(), 10)
        reply = await raw.recv()
        assert reply == {
            "id": 9,
            "ok": False,
            "error": {"code": "shutting_down", "message": "the monitor is shutting down"},
        }
        assert len(server._tasks) == 0
        await raw.close()
    finally:
        await store.close()


async def test_a_waiting_request_times_out_with_a_typed_error(workdir: Path) -> None:
    server, store = await _server_with_waiting_ping(workdir, timeout=0.2)
    try:
        raw = await RawClient.connect(workdir / "w.sock")
        reply = await raw.request({"id": 3, "type": "ping"})
        assert reply["error"]["code"] == "timeout"
        # The connection is still served.
        await raw.send({"id": 4, "type": "ping"})
        assert (await raw.recv())["error"]["code"] == "timeout"
        await raw.close()
    finally:
        await server.stop_accepting()
        await server.close_connections()
        await store.close()


def test_the_server_refuses_to_start_without_a_handler_per_request(workdir: Path) -> None:
    from chatops.wire.protocol import Ping

    table = handler_table()
    del table[Ping]
    with pytest.raises(ValueError, match=r"no handler for request type.*Ping"):
        MonitorServer(table, None, on_disconnect=lambda peer: None)  # type: ignore[arg-type]
