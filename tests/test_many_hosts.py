"""Many hosts, one fleet: two edges and a hub on loopback through a real nats-server, each edge
with real bot processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from chatops.client import MonitorClient
from chatops.config import NatsConfig
from chatops.records.fleet import BotStatus
from tests.cogs.test_approvals import PUSH, Agent, approval_settings, buttons, new_prompt
from tests.conftest import (
    RecordingSink,
    Running,
    fake_discord,
    kill_quietly,
    spawn_bot,
    start_bot,
    wait_for,
)
from tests.fake_discord import APPROVER_USER_ID
from tests.hosts_support import (
    edge_controller,
    host_settings,
    hub_controller,
    started,
)
from tests.real_programs import NatsServer


@pytest.fixture
def nats_server(workdir: Path) -> Iterator[NatsServer]:
    server = NatsServer(workdir / "nats").start()
    try:
        yield server
    finally:
        server.stop()


def bot(settings_dir: Path, name: str) -> subprocess.Popen[bytes]:
    proc = spawn_bot("simple_bot.py", str(settings_dir / "m.sock"), name, "0.5")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"READY"
    return proc


async def test_two_edges_one_fleet(workdir: Path, nats_server: NatsServer) -> None:
    url = nats_server.url
    hub_settings = host_settings(workdir / "hub", url)
    a_settings = host_settings(workdir / "a", url, edge="edge-a")
    b_settings = host_settings(workdir / "b", url, edge="edge-b")
    sink = RecordingSink()
    hub = hub_controller(hub_settings, [sink])
    edge_a, edge_b = edge_controller(a_settings), edge_controller(b_settings)
    bots: list[subprocess.Popen[bytes]] = []
    async with started(hub, edge_a, edge_b):
        try:
            bots = [
                await asyncio.to_thread(bot, workdir / "a", "worker"),
                await asyncio.to_thread(bot, workdir / "b", "worker"),
                await asyncio.to_thread(bot, workdir / "b", "scraper"),
            ]
            fleet = hub.services.fleet
            names = {"edge-a/worker", "edge-b/worker", "edge-b/scraper"}
            await wait_for(
                lambda: all(
                    fleet.bots.get(n) and fleet.bots[n].status is BotStatus.ONLINE for n in names
                )
            )
            assert {fleet.bots[n].host for n in names} == {"edge-a", "edge-b"}
            # An edge names its own host as the fleet does: edge.name, not the machine's name.
            assert edge_a.services.fleet.bots["worker"].host == "edge-a"
            assert fleet.bots["edge-b/worker"].pid == bots[1].pid

            # chatops status on the hub: both hosts' bots, with their host.
            status = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "chatops.cli", "status", "--json"],
                env={**os.environ, "CHATOPS_MONITORING__SOCKET_PATH": str(workdir / "hub/m.sock")},
                capture_output=True,
                check=True,
            )
            listed = {b["channel"]: b["host"] for b in json.loads(status.stdout)["bots"]}
            nobody = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "chatops.cli", "status", "--host", "edge-z"],
                env={**os.environ, "CHATOPS_MONITORING__SOCKET_PATH": str(workdir / "hub/m.sock")},
                capture_output=True,
                text=True,
                check=True,
            )
            assert nobody.stdout.strip() == (
                "No bots on host edge-z (hosts with bots: edge-a, edge-b)."
            )
            assert listed == {"edge-a/worker": "edge-a", "edge-b/worker": "edge-b",
                              "edge-b/scraper": "edge-b"}  # fmt: skip

            # A status reset on the hub asks every bot, on every host, to register again.
            registered = edge_a.services.fleet.bots["worker"].registered_at
            reset = await hub.services.fleet.reset_statuses()
            assert reset.asked_to_register == 3
            await wait_for(lambda: edge_a.services.fleet.bots["worker"].registered_at > registered)

            # A bot SIGKILLed on edge B: the hub alerts it.
            killed = time.monotonic()
            os.kill(bots[2].pid, signal.SIGKILL)
            down = await wait_for(lambda: [a for a in sink.alerts if a.kind == "down"], timeout=10)
            took = time.monotonic() - killed
            assert [a.subject for a in down] == ["edge-b/scraper"]
            print(f"hub alerted a bot killed on edge B after {took:.3f}s")
            assert fleet.bots["edge-a/worker"].status is BotStatus.ONLINE

            # A restart from the hub restarts the bot on edge A: a new pid (the bot's client
            # exits with restart_exit_code; its supervisor, here this test, starts it again).
            old_pid = bots[0].pid
            restarting = asyncio.create_task(
                hub.services.restarts.restart("edge-a/worker", by="test")
            )
            await asyncio.to_thread(bots[0].wait, 20)
            bots[0] = await asyncio.to_thread(bot, workdir / "a", "worker")
            report = await restarting
            assert report.restarted, report
            assert (report.old_pid, report.new_pid) == (old_pid, bots[0].pid)
            await wait_for(lambda: fleet.bots["edge-a/worker"].pid == bots[0].pid)
            # Its stop was expected (the hub announced the restart): no down alert, one info.
            assert [a.kind for a in sink.alerts if a.subject == "edge-a/worker"] == ["restarted"]

            # An agent's status and its tasks on edge A: at the hub, each task counted once.
            client = MonitorClient(str(a_settings.monitoring.socket_path))
            try:
                assert await client.agent_status("planner", "processing", current_task="plan")
                for n in range(3):
                    assert await client.task_result("planner", n != 1, key=f"t{n}")
                assert await client.task_result("planner", True, key="t0")  # a resend
            finally:
                await client.close()
            agents = hub.services.agents.agents
            await wait_for(
                lambda: (
                    "edge-a/planner" in agents
                    and agents["edge-a/planner"].tasks_completed
                    + agents["edge-a/planner"].tasks_failed
                    == 3
                )
            )
            planner = agents["edge-a/planner"]
            assert (planner.status, planner.current_task) == ("processing", "plan")
            assert (planner.tasks_completed, planner.tasks_failed) == (2, 1)

            # What the hub stored leaves the stream: it is the edges' queue, not an archive.
            raw = await nats.connect(url)
            try:
                js = raw.jetstream()

                async def queued() -> int:
                    info = await js.stream_info("CHATOPS_EDGES")
                    return int(info.state.messages)

                deadline = time.monotonic() + 10
                while (left := await queued()) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert left == 0
            finally:
                await raw.close()
        finally:
            for proc in bots:
                kill_quietly(proc)


async def test_an_approval_asked_on_an_edge_is_answered_from_the_hubs_discord(
    workdir: Path, nats_server: NatsServer
) -> None:
    async with fake_discord(workdir / "hub") as (fake, settings):
        settings.nats = NatsConfig(url=nats_server.url, host_timeout=3)
        settings = approval_settings(settings)
        b_settings = host_settings(workdir / "b", nats_server.url, edge="edge-b")
        edge_b = edge_controller(b_settings)
        hub, task = await start_bot(settings, fake)
        agent = None
        try:
            async with started(edge_b):
                agent = Agent(b_settings, "coder")
                await agent.ready()
                agent.ask(PUSH)
                prompt = await new_prompt(fake, 1)
                [embed] = prompt["embeds"]
                assert "edge\\-b/coder" in embed["description"]
                assert "git push origin main" in embed["description"]
                running = Running(fake, hub, settings)
                await running.click(
                    prompt, buttons(prompt)["approve"]["custom_id"], user_id=APPROVER_USER_ID
                )
                answer = await agent.answer()
                assert answer["approved"] is True, answer
                [record] = edge_b.services.approvals.records.values()
                assert (record.state, record.via) == ("approved", "hub")
        finally:
            if agent is not None:
                agent.stop()
            await hub.close()
            await asyncio.gather(task, return_exceptions=True)


async def test_an_edges_cache_is_seen_and_cleaned_from_the_hub(
    workdir: Path, nats_server: NatsServer
) -> None:
    hub = hub_controller(host_settings(workdir / "hub", nats_server.url))
    a_settings = host_settings(workdir / "a", nats_server.url, edge="edge-a")
    edge_a = edge_controller(a_settings)
    async with started(hub, edge_a):
        client = MonitorClient(str(a_settings.monitoring.socket_path))
        try:
            for n in range(3):
                entry = await client.create_cache_entry(
                    f"task-{n}", "coder", {"out.txt": "x" * 100}
                )
                assert entry is not None
        finally:
            await client.close()
        edge_a.services.cache.finish_cache_entry("task-0")
        hosts = hub.services.hosts
        assert hosts is not None
        await wait_for(
            lambda: (
                len(index := hosts.caches.get("edge-a", {})) == 3
                and index["task-0"].finished_at is not None
            )
        )
        assert hosts.cache_by_host() == {"edge-a": (3, 300)}

        env = {**os.environ, "CHATOPS_MONITORING__SOCKET_PATH": str(workdir / "hub/m.sock")}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "chatops.cli", "cache", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        stats = await asyncio.to_thread(cli, "stats")
        assert "on edge-a: 3 entries, 300 B" in stats.stdout, stats.stdout + stats.stderr
        # The plan is the edge's, cleaned there; the hub's own cache is untouched.
        dry = await asyncio.to_thread(cli, "clear", "--host", "edge-a", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "task-0" in dry.stdout and "task-2" in dry.stdout
        assert len(edge_a.services.cache.entries) == 3
        done = await asyncio.to_thread(cli, "clear", "--host", "edge-a", "--yes")
        assert done.returncode == 0, done.stderr
        assert edge_a.services.cache.entries == {}
        assert not any((a_settings.cache_root / f"task-{n}").exists() for n in range(3))
        await wait_for(lambda: hosts.caches["edge-a"] == {})
        unknown = await asyncio.to_thread(cli, "clear", "--host", "edge-z", "--dry-run")
        assert unknown.returncode == 1 and "no host called 'edge-z'" in unknown.stderr
