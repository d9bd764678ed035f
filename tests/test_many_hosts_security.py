"""Many hosts, securely: TLS to NATS, one nkey per host allowed only its own subjects, and a
revoked host cut off at once and reported as one ``host_down`` incident."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.config import MetricsConfig, NatsConfig, Settings
from chatops.metrics.scrape import MetricsEndpoint
from chatops.nats.connect import NatsErrors, NatsUnavailable, connect
from chatops.nats.credentials import Credentials
from chatops.records.fleet import BotStatus
from tests.conftest import RecordingSink, kill_quietly, make_settings, spawn_bot, wait_for
from tests.hosts_support import (
    edge_controller,
    edge_link,
    host_settings,
    hub_controller,
    hub_link,
    started,
)
from tests.real_programs import NatsServer, make_certificates


def bot(settings: Settings, name: str) -> subprocess.Popen[bytes]:
    proc = spawn_bot("simple_bot.py", str(settings.monitoring.socket_path), name, "0.5")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"READY"
    return proc


async def test_tls_with_the_wrong_ca_is_refused(workdir: Path) -> None:
    ca, cert, key = make_certificates(workdir / "pki", "right")
    wrong_ca, _, _ = make_certificates(workdir / "pki", "wrong")
    server = NatsServer(workdir / "nats", tls=(cert, key)).start()
    try:
        wrong = NatsConfig(url=server.url, tls_ca=wrong_ca)
        with pytest.raises(NatsUnavailable, match="certificate verify failed"):
            await connect(wrong, name="t", inbox=None, errors=NatsErrors("t"))
        right = await connect(
            NatsConfig(url=server.url, tls_ca=ca), name="t", inbox=None, errors=NatsErrors("t")
        )
        assert right.is_connected
        await right.close()
    finally:
        server.stop()


def test_plaintext_to_another_host_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="plaintext to another host"):
        NatsConfig(url="nats://10.0.0.5:4222")
    assert NatsConfig(url="nats://10.0.0.5:4222", allow_plaintext=True).url
    assert NatsConfig(url="nats://127.0.0.1:4222").url
    assert NatsConfig(url="tls://nats.example.org:4222").tls
    with pytest.raises(ValueError, match=r"no credentials in nats\.url"):
        NatsConfig(url="tls://user:secret@nats.example.org:4222")


@pytest.fixture
def secured(workdir: Path) -> Iterator[tuple[NatsServer, Credentials]]:
    """nats-server with a credential for the hub, edge-a and edge-b; revoking reloads it."""
    base = make_settings(workdir)
    base.nats = NatsConfig(credentials_dir=workdir / "creds")
    Credentials(base).create("edge-a")
    Credentials(base).create("edge-b")
    server = NatsServer(workdir / "nats", users=workdir / "creds" / "users.conf").start()
    base.nats = NatsConfig(credentials_dir=workdir / "creds", server_pid_file=server.pid_file)
    try:
        yield server, Credentials(base)
    finally:
        server.stop()


def test_credentials_are_private_and_name_only_public_keys(
    secured: tuple[NatsServer, Credentials],
) -> None:
    _, credentials = secured
    directory = credentials.directory
    assert (directory.stat().st_mode & 0o777) == 0o700
    users = (directory / "users.conf").read_text()
    for seed in ("hub.nk", "edge-a.nk", "edge-b.nk"):
        assert ((directory / seed).stat().st_mode & 0o777) == 0o600
        secret = (directory / seed).read_text().strip()
        assert secret.startswith("SU") and secret not in users  # public keys only
    assert users.count("nkey: U") == 3
    assert '"chatops.edge.edge-b.events.>"' in users


async def test_a_host_cannot_speak_for_another_and_a_revoked_host_is_one_incident(
    workdir: Path, secured: tuple[NatsServer, Credentials]
) -> None:
    server, credentials = secured
    creds = credentials.directory
    url = server.url
    sink = RecordingSink()
    hub = hub_controller(host_settings(workdir / "hub", url, credentials=creds / "hub.nk"), [sink])
    a_settings = host_settings(workdir / "a", url, edge="edge-a", credentials=creds / "edge-a.nk")
    b_settings = host_settings(workdir / "b", url, edge="edge-b", credentials=creds / "edge-b.nk")
    edge_a, edge_b = edge_controller(a_settings), edge_controller(b_settings)
    bots: list[subprocess.Popen[bytes]] = []
    async with started(hub, edge_a, edge_b):
        try:
            bots = [
                await asyncio.to_thread(bot, a_settings, "worker"),
                await asyncio.to_thread(bot, b_settings, "scraper"),
                await asyncio.to_thread(bot, b_settings, "mailer"),
            ]
            fleet = hub.services.fleet
            names = ("edge-a/worker", "edge-b/scraper", "edge-b/mailer")
            await wait_for(
                lambda: all(n in fleet.bots and fleet.bots[n].status == "online" for n in names)
            )

            # Edge B's credential publishing on edge A's subjects: refused by NATS, counted
            # by edge B; the hub heard nothing of it.
            b_link = edge_link(edge_b)
            client = b_link.connection.client
            assert client is not None
            await client.publish("chatops.edge.edge-a.beat", b'{"type":"beat"}')
            await client.publish("chatops.edge.edge-a.events.bot", b"{}")
            await wait_for(lambda: b_link.errors.counts["permissions_violation"] >= 2)
            assert hub_link(hub).errors.counts["permissions_violation"] == 0
            assert "Publish Violation" in server.log

            before = {c.name: c for c in await hub.services.diagnostics.run_diagnostics()}
            assert before["nats"].status == "ok"
            assert before["nats"].detail.endswith("2 hosts up")
            # Revoked from the shell (as the operator, beside the hub): edge B is disconnected
            # within 5 s, and the hub, told, reports its host as one incident at once.
            revoke = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "chatops.cli", "edge", "credentials", "revoke", "edge-b"],
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")},
                    "CHATOPS_MONITORING__SOCKET_PATH": str(workdir / "hub" / "m.sock"),
                    "CHATOPS_NATS__CREDENTIALS_DIR": str(creds),
                    "CHATOPS_NATS__SERVER_PID_FILE": str(server.pid_file),
                },
                capture_output=True,
                text=True,
            )
            assert revoke.returncode == 0, revoke.stderr
            assert "nats-server reloaded" in revoke.stdout
            assert "the hub reports it down now (2 bots unreachable)" in revoke.stdout
            await wait_for(lambda: not b_link.connection.ready.is_set(), timeout=5)
            incidents = hub.services.alerts.incidents
            incident = incidents[("edge-b", "host_down")]
            assert "credential was revoked" in incident.detail
            assert "mailer" in incident.detail and "scraper" in incident.detail
            for name in ("edge-b/scraper", "edge-b/mailer"):
                assert fleet.bots[name].status is BotStatus.UNREACHABLE
            assert fleet.bots["edge-a/worker"].status is BotStatus.ONLINE
            await hub.store.flush()
            await wait_for(lambda: [a for a in sink.alerts if a.kind == "host_down"])
            [alert] = sink.alerts
            assert (alert.kind, alert.subject, alert.title) == (
                "host_down",
                "edge-b",
                "host edge-b is down",
            )
            assert alert.data["host"] == "edge-b"  # a storm's summary counts it there
            # It cannot sign in again: each try is refused (and counted), as the doctor says.
            await wait_for(lambda: b_link.errors.counts["authorization_violation"] >= 1)
            assert not b_link.connection.connected
            endpoint = MetricsEndpoint(hub.services, MetricsConfig())
            scraped = (await endpoint.render()).decode()
            endpoint.close()
            assert 'chatops_host_up{host="edge-b"} 0.0' in scraped
            assert 'chatops_host_up{host="edge-a"} 1.0' in scraped
            assert 'chatops_host_bots{host="edge-b"} 2.0' in scraped
            after = {c.name: c for c in await hub.services.diagnostics.run_diagnostics()}
            assert after["nats"].status == "warning"
            assert after["nats"].detail.endswith("1 host up, down: edge-b")
            [edge_check] = [
                c for c in await edge_b.services.diagnostics.run_diagnostics() if c.name == "nats"
            ]
            assert edge_check.status == "warning" and "refused by NATS" in edge_check.detail
        finally:
            for proc in bots:
                kill_quietly(proc)
