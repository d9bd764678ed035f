"""Time to alert: from a bot's SIGKILL to the alert in the Discord channel and at a webhook.

Starts the loopback fake of Discord (which enforces Discord's per-channel limit of 5 messages
per 5 s, with 429s and X-RateLimit headers) and a webhook receiver in this process,
``chatops run`` as a subprocess pointed at both, N real bot processes (default 50), then
SIGKILLs k of them (default 20), a little apart, and prints p50/p99 of the delay to each
destination. ``--burst N`` kills N bots at once instead (a host reboot) and prints the time until
the last of them is named, with how many messages and POSTs that took.

    python bench/alert_latency.py
    python bench/alert_latency.py --bots 100 --kill 40
    python bench/alert_latency.py --burst 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_discord import (
    FakeDiscord,
)
from tests.webhook_receiver import WebhookReceiver

BOT = ROOT / "tests" / "bots" / "simple_bot.py"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_until(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        await asyncio.sleep(0.01)


async def main(args: argparse.Namespace) -> None:
    fake = await FakeDiscord().start()
    receiver = await WebhookReceiver().start()
    work = Path(tempfile.mkdtemp(prefix="co-lat-"))
    sock = work / "m.sock"
    config = work / "config.yaml"
    config.touch(mode=0o600)  # it holds the (fake) token and webhook URL
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {"socket_path": str(sock), "database_path": str(work / "c.db")},
                "logging": {"level": "WARNING"},
                "discord": fake.client_config(work),
                "alerts": {"webhook_urls": [receiver.url]},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    controller = subprocess.Popen(
        [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"], env=env
    )
    bots: list[subprocess.Popen[bytes]] = []
    if args.burst:
        args.bots = max(args.bots, args.burst)
        args.kill = args.burst
        args.spacing = 0.0
    try:
        await asyncio.wait_for(fake.identified.wait(), 60)
        await wait_until(sock.exists, 30)
        for i in range(args.bots):
            bots.append(
                subprocess.Popen(
                    [sys.executable, str(BOT), str(sock), f"bot{i:03d}", "5"],
                    stdout=subprocess.PIPE,
                    env=env,
                )
            )
        for bot in bots:
            line = await asyncio.to_thread(bot.stdout.readline)  # type: ignore[union-attr]
            assert line.strip() == b"READY", line
        print(f"{args.bots} bots registered; killing {args.kill}", flush=True)
        killed_at: dict[str, float] = {}
        for i in range(args.kill):
            name = f"bot{i:03d}"
            killed_at[name] = time.monotonic()
            os.kill(bots[i].pid, signal.SIGKILL)
            if args.spacing:
                await asyncio.sleep(args.spacing)
        patterns = {name: re.compile(rf"(?<![\w]){name}(?![\w])") for name in killed_at}

        def channel_times() -> dict[str, float]:
            seen: dict[str, float] = {}
            for r in fake.channel_messages():
                if r.status != 200:
                    continue
                embed = r.body["embeds"][0]
                text = embed.get("title", "") + "\n" + embed.get("description", "")
                for name, pattern in patterns.items():
                    if pattern.search(text):
                        seen.setdefault(name, r.at)
            return seen

        def webhook_times() -> dict[str, float]:
            seen: dict[str, float] = {}
            for r in receiver.received:
                for alert in r.body.get("alerts", [r.body]):
                    if alert.get("kind") == "down":
                        seen.setdefault(alert["bot"], r.at)
            return seen

        await wait_until(
            lambda: len(channel_times()) == args.kill and len(webhook_times()) == args.kill, 120
        )
        if args.burst:
            first_kill = min(killed_at.values())
            for label, times, sent in (
                (
                    "channel",
                    channel_times(),
                    len([r for r in fake.channel_messages() if r.status == 200]),
                ),
                ("webhook", webhook_times(), len(receiver.received)),
            ):
                last = (max(times.values()) - first_kill) * 1000
                print(
                    f"{label:>8}: all {args.burst} bots named {last:7.1f} ms after the kill, "
                    f"in {sent} message(s); 429s from the fake: {fake.rate_limited}",
                    flush=True,
                )
            return
        for label, times in (("channel", channel_times()), ("webhook", webhook_times())):
            delays = [times[n] - killed_at[n] for n in killed_at]
            print(
                f"{label:>8}: p50 {percentile(delays, 0.5) * 1000:7.1f} ms   "
                f"p99 {percentile(delays, 0.99) * 1000:7.1f} ms   max "
                f"{max(delays) * 1000:7.1f} ms   ({len(delays)} alerts)",
                flush=True,
            )
    finally:
        for bot in bots:
            bot.kill()
            bot.wait()
        controller.terminate()
        controller.wait(30)
        await fake.stop()
        await receiver.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--kill", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=0.1, help="seconds between kills")
    parser.add_argument("--burst", type=int, default=0, help="kill this many bots at once")
    asyncio.run(main(parser.parse_args()))
