"""A partition between an edge and its hub: the edge keeps supervising and queues what it owes;
once healed, every event is stored at the hub exactly once, and no bot alert was raised for a
bot that never stopped."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from chatops.records.fleet import BotStatus
from tests.conftest import RecordingSink, kill_quietly, query, spawn_bot, wait_for
from tests.hosts_support import edge_controller, edge_link, host_settings, hub_controller, started
from tests.real_programs import NatsServer

PARTITION_SECONDS = 60
EVENTS = 450
PAUSE = 0.2  # each bot logs usage for 90 s, through the partition


def usage_by_bot(db: Path, prefix: str = "") -> dict[str, list[int]]:
    rows = query(db, "SELECT channel, tokens_in FROM llm_usage ORDER BY channel, tokens_in")
    found: dict[str, list[int]] = {}
    for channel, tokens_in in rows:
        found.setdefault(channel.removeprefix(prefix), []).append(tokens_in)
    return found


async def test_a_partition_loses_nothing_doubles_nothing_and_alerts_no_bot(
    workdir: Path,
) -> None:
    server = NatsServer(workdir / "nats").start()
    sink = RecordingSink()
    hub_settings = host_settings(workdir / "hub", server.url)
    b_settings = host_settings(workdir / "b", server.url, edge="edge-b")
    hub, edge_b = hub_controller(hub_settings, [sink]), edge_controller(b_settings)
    bots: list[subprocess.Popen[bytes]] = []
    try:
        async with started(hub, edge_b):
            for name in ("scribe", "poet"):
                proc = spawn_bot(
                    "event_bot.py",
                    str(b_settings.monitoring.socket_path),
                    name,
                    str(EVENTS),
                    str(PAUSE),
                    str(workdir / f"{name}.json"),
                    "0.5",
                    stdin=subprocess.PIPE,
                )
                bots.append(proc)
                assert proc.stdout is not None
                line = await asyncio.to_thread(proc.stdout.readline)
                assert line.strip() == b"READY"
            fleet = hub.services.fleet
            await wait_for(
                lambda: all(
                    fleet.bots.get(f"edge-b/{n}") and fleet.bots[f"edge-b/{n}"].status == "online"
                    for n in ("scribe", "poet")
                )
            )
            server.stop()  # the partition: neither side reaches NATS
            await asyncio.sleep(PARTITION_SECONDS)
            # Through it, edge B went on supervising: its bots are online there.
            assert all(b.status is BotStatus.ONLINE for b in edge_b.services.fleet.bots.values())
            assert len(edge_b.services.outbox) > 0  # and it queued what it owes
            server.start()  # healed: the same port and JetStream store

            for proc in bots:
                assert proc.stdout is not None
                line = await asyncio.to_thread(proc.stdout.readline)
                assert line.strip() == b"DONE"
            await edge_b.store.flush()
            at_edge = usage_by_bot(b_settings.monitoring.database_path)
            assert {name: len(rows) for name, rows in at_edge.items()} == {
                "poet": EVENTS,
                "scribe": EVENTS,
            }
            await wait_for(lambda: len(edge_b.services.outbox) == 0, timeout=60)

            async def hub_rows() -> dict[str, list[int]]:
                await hub.store.flush()
                return usage_by_bot(hub_settings.monitoring.database_path, "edge-b/")

            deadline = asyncio.get_running_loop().time() + 60
            while await hub_rows() != at_edge:
                assert asyncio.get_running_loop().time() < deadline, await hub_rows()
                await asyncio.sleep(0.2)
            assert edge_link(edge_b).published >= 2 * EVENTS

            await wait_for(lambda: fleet.bots["edge-b/poet"].status == "online", timeout=15)
            # The host was silent (one host_down, resolved); no bot of it was alerted.
            assert not [a for a in sink.alerts if a.subject.startswith("edge-b/")]
            kinds = [(a.kind, a.subject) for a in sink.alerts]
            assert ("host_down", "edge-b") in kinds
            assert ("edge-b", "host_down") not in hub.services.alerts.incidents
    finally:
        for proc in bots:
            kill_quietly(proc)
        server.stop()
