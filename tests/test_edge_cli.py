"""``chatops edge`` and ``chatops edge credentials`` from a shell: the words and exit codes an
operator meets first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def chatops(workdir: Path, *args: str, **config: object) -> subprocess.CompletedProcess[str]:
    path = workdir / "config.yaml"
    base = {
        "monitoring": {
            "socket_path": str(workdir / "m.sock"),
            "database_path": str(workdir / "c.db"),
        }
    }
    path.write_text(yaml.safe_dump({**base, **config}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", "--config", str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_an_edge_without_a_hub_is_told_what_it_needs(workdir: Path) -> None:
    done = chatops(workdir, "edge")
    assert done.returncode == 2
    assert done.stderr.strip() == "chatops: chatops edge needs nats.url (its hub's NATS server)"


def test_bad_nats_settings_are_one_line_naming_the_key(workdir: Path) -> None:
    plaintext = chatops(workdir, "edge", nats={"url": "nats://10.1.2.3:4222"})
    assert plaintext.returncode == 2
    assert "plaintext to another host" in plaintext.stderr
    assert "Traceback" not in plaintext.stderr
    dotted = chatops(
        workdir, "edge", nats={"url": "nats://127.0.0.1:4222"}, edge={"name": "box.lan"}
    )
    assert dotted.returncode == 2 and "edge.name" in dotted.stderr


def test_credentials_are_created_and_revoked(workdir: Path) -> None:
    nats = {"credentials_dir": str(workdir / "creds")}
    created = chatops(workdir, "edge", "credentials", "create", "edge-a", nats=nats)
    assert created.returncode == 0, created.stderr
    assert f"{workdir}/creds/edge-a.nk: the nkey seed for host edge-a" in created.stdout
    assert "reload nats-server to apply it" in created.stdout
    users = (workdir / "creds" / "users.conf").read_text()
    assert "chatops.edge.edge-a.events.>" in users
    revoked = chatops(workdir, "edge", "credentials", "revoke", "edge-a", nats=nats)
    assert revoked.returncode == 0 and "host edge-a: credential revoked" in revoked.stdout
    assert "edge-a" not in (workdir / "creds" / "users.conf").read_text()
    assert not (workdir / "creds" / "edge-a.nk").exists()
    again = chatops(workdir, "edge", "credentials", "revoke", "edge-a", nats=nats)
    assert again.returncode == 1 and "no credential for host 'edge-a'" in again.stderr
    bad = chatops(workdir, "edge", "credentials", "create", "a.b", nats=nats)
    assert bad.returncode == 2 and "cannot be a host's name" in bad.stderr  # a usage error
