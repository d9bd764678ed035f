"""One NATS credential per host: ``chatops edge credentials create|revoke HOST``.

Each host signs in with its own nkey (an Ed25519 key pair: the nkey seed stays on that host, the
server knows only the public key, so nothing here is a secret nats-server could leak). What
each key may do is written into ``users.conf`` for nats-server to ``include``:

* an edge may publish its beats and events only under ``<prefix>.edge.<host>.``, take the hub's
  commands only from ``<prefix>.edge.<host>.cmd.>``, and read only its own reply inbox
  (``_INBOX_<host>.>``); ``allow_responses`` lets it answer the requests it received;
* the hub (``hub.nk``) reads every edge's beats, sends commands, and uses JetStream's API.

Revoking removes the host's key from ``users.conf``; reloading nats-server (SIGHUP, sent here
when ``nats.server_pid_file`` is set) disconnects it at once, and it cannot sign in again.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import nkeys

from chatops.config import Settings
from chatops.config.nats import HOST_NAME
from chatops.paths import ensure_private_dir

HUB = "hub"


class CredentialError(Exception):
    """A host unknown to revoke, an unreadable directory."""


class BadHostName(CredentialError):
    """A host name that cannot be one: the caller's mistake, not the machine's."""


@dataclass(frozen=True, slots=True)
class Written:
    host: str
    seed_file: Path | None
    users_conf: Path
    reloaded: bool


def credentials_dir(settings: Settings) -> Path:
    return settings.nats.credentials_dir or settings.monitoring.database_path.parent / "nats"


def _new_seed() -> tuple[str, str]:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode(), nkeys.from_seed(seed).public_key.decode()


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    fd = os.open(
        path.with_suffix(path.suffix + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode
    )
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path.with_suffix(path.suffix + ".tmp"), mode)
    os.replace(path.with_suffix(path.suffix + ".tmp"), path)


class Credentials:
    def __init__(self, settings: Settings) -> None:
        self.directory = credentials_dir(settings)
        self.prefix = settings.nats.subject_prefix
        self.pid_file = settings.nats.server_pid_file
        self._index = self.directory / "hosts.json"

    def hosts(self) -> dict[str, str]:
        """Host name -> its public key (the hub's under ``hub``)."""
        try:
            loaded = json.loads(self._index.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CredentialError(f"cannot read {self._index}: {exc}") from None
        return {str(host): str(key) for host, key in dict(loaded).items()}

    def create(self, host: str) -> Written:
        if not HOST_NAME.match(host) or host == HUB:
            raise BadHostName(
                f"{host!r} cannot be a host's name: letters, digits, '-' and '_' (no dots), "
                f"at most 63, and not {HUB!r}"
            )
        ensure_private_dir(self.directory)
        known = self.hosts()
        if HUB not in known:
            seed, public = _new_seed()
            _write_private(self.directory / f"{HUB}.nk", seed + "\n")
            known[HUB] = public
        seed, public = _new_seed()
        seed_file = self.directory / f"{host}.nk"
        _write_private(seed_file, seed + "\n")
        known[host] = public
        return self._save(known, host, seed_file)

    def revoke(self, host: str) -> Written:
        known = self.hosts()
        if host not in known or host == HUB:
            raise CredentialError(f"no credential for host {host!r} in {self.directory}")
        del known[host]
        (self.directory / f"{host}.nk").unlink(missing_ok=True)
        return self._save(known, host, None)

    def _save(self, known: dict[str, str], host: str, seed_file: Path | None) -> Written:
        _write_private(self._index, json.dumps(known, indent=2, sort_keys=True) + "\n")
        users_conf = self.directory / "users.conf"
        # nats-server reads it, possibly as another user: readable, never writable, by others.
        _write_private(users_conf, self.users_conf(known), 0o644)
        return Written(host, seed_file, users_conf, self._reload())

    def users_conf(self, known: dict[str, str]) -> str:
        prefix = self.prefix
        entries = []
        for host, public in sorted(known.items()):
            if host == HUB:
                publish = [f"{prefix}.edge.*.cmd.>", "$JS.API.>", "$JS.ACK.>"]
                subscribe = [f"{prefix}.edge.*.beat", "_INBOX.>"]
                responses = ""
            else:
                publish = [f"{prefix}.edge.{host}.beat", f"{prefix}.edge.{host}.events.>"]
                subscribe = [f"{prefix}.edge.{host}.cmd.>", f"_INBOX_{host}.>"]
                responses = ", allow_responses: true"
            entries.append(
                f"    # {host}\n"
                f"    {{ nkey: {public}, permissions: {{ "
                f"publish: {{ allow: {json.dumps(publish)} }}, "
                f"subscribe: {{ allow: {json.dumps(subscribe)} }}{responses} }} }}"
            )
        return (
            "# Written by `chatops edge credentials`; include it from nats-server.conf.\n"
            "authorization {\n  users = [\n" + ",\n".join(entries) + "\n  ]\n}\n"
        )

    def _reload(self) -> bool:
        """Have nats-server read ``users.conf`` again (True when it was signalled)."""
        if self.pid_file is None:
            return False
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError) as exc:
            raise CredentialError(
                f"written, but nats-server was not reloaded ({self.pid_file}: {exc}); "
                "run: nats-server --signal reload"
            ) from None
        return True
