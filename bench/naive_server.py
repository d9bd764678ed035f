"""The naive baseline for bench/ingest.py: a simple monitor's shape, one commit per message.

Reads a line, parses it, runs one INSERT (plus the status UPDATE for a heartbeat) and one
commit, then answers. Same schema, WAL, and ``synchronous`` as chatops, so the difference
measured is the group commit and the framing, not the disk settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys

from chatops.store.migrations import MIGRATIONS


async def main(sock_path: str, db_path: str, synchronous: str) -> None:
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous.upper()}")
    db.executescript(MIGRATIONS[0])

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await serve(reader, writer)
        except ConnectionError:
            pass  # the load generator hangs up at the end of the run
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            msg = json.loads(line)
            kind = msg["type"]
            if kind == "register":
                db.execute(
                    "INSERT OR REPLACE INTO bot_status (channel, pid, status, "
                    "features_json, registered_at) VALUES (?, ?, 'online', ?, "
                    "CURRENT_TIMESTAMP)",
                    (msg["channel"], msg["pid"], json.dumps(msg.get("features"))),
                )
            elif kind == "heartbeat":
                db.execute(
                    "INSERT INTO bot_metrics (channel, pid, rss_mb, cpu_pct) VALUES (?, ?, ?, ?)",
                    (msg["channel"], msg.get("pid", 0), msg.get("rss_mb"), msg.get("cpu_pct")),
                )
                db.execute(
                    "UPDATE bot_status SET last_heartbeat = CURRENT_TIMESTAMP WHERE channel = ?",
                    (msg["channel"],),
                )
            elif kind == "llm_usage":
                db.execute(
                    "INSERT INTO llm_usage (channel, model, feature, tokens_in, "
                    "tokens_out, latency_ms, estimated_cost) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        msg["channel"],
                        msg["model"],
                        msg.get("feature"),
                        msg.get("tokens_in", 0),
                        msg.get("tokens_out", 0),
                        msg.get("latency_ms"),
                        msg.get("estimated_cost", 0),
                    ),
                )
            db.commit()
            reply = {"id": msg.get("id"), "ok": True}
            writer.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
            await writer.drain()

    old = os.umask(0o177)
    server = await asyncio.start_unix_server(handle, sock_path)
    os.umask(old)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    os.unlink(sock_path)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
