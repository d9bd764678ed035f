"""Chaos soak: real bots killed, hung, paused, stopped and restarted, every alert checked.

Starts the loopback fake of Discord (enforcing its per-channel rate limit) and a webhook
receiver in this process, ``chatops run`` as a subprocess, and N real bot processes (default
100). For M minutes (default 10) each bot, again and again, lives a few seconds and then is:

* SIGKILLed, then restarted a moment later        -> one "down" alert, then "recovered";
* hung (SIGSTOP past ``stale_timeout``), resumed  -> one "stale" alert, then "recovered";
* paused briefly (SIGSTOP under the late grace)   -> no alert;
* stopped gracefully (SIGTERM: it unregisters)    -> no alert, nor when it is restarted.

With ``--kill-controller`` the controller is SIGKILLed half-way and restarted at once. Then it
prints, from the webhook receiver and from the fake Discord channel separately: recall (the
share of incidents alerted), false alerts, duplicates, missing recoveries, and p50/p99 time to
alert (from the kill, or for a hang from the moment it could first be called stale).

    python bench/soak.py                       # 100 bots, 10 minutes
    python bench/soak.py --bots 30 --minutes 2 --kill-controller
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_discord import FakeDiscord
from tests.webhook_receiver import WebhookReceiver

BOT = Path(__file__).resolve().parent / "soak_bot.py"
HEARTBEAT = 0.5
HEARTBEAT_INTERVAL, LATE_GRACE, STALE_TIMEOUT, RESTART_GRACE = 1.0, 1.0, 4.0, 3.0
SETTLE = 3.0  # how long after the run the last alerts may still arrive


@dataclass
class Incident:
    bot: str
    kind: str  # "kill" or "hang"
    started: float  # the kill, or the moment a hang could first be called stale
    ended: float | None = None  # the restart or resume
    stopped: float = 0.0  # for a hang: the SIGSTOP
    optional: bool = False  # see unobservable()

    def unobservable(self, down_at: float | None, up_at: float | None) -> bool:
        """A hang that was on when the controller died and ended inside its restart grace: the
        controller never had stale_timeout of silence to judge (the grace exists so that bots
        may reconnect after a controller restart). Reported, not scored."""
        return (
            down_at is not None
            and up_at is not None
            and self.kind == "hang"
            and self.stopped < up_at
            and self.ended is not None
            and down_at < self.ended < up_at + RESTART_GRACE
        )


@dataclass
class Seen:
    """Alerts as one destination received them: (arrival, bot, kind, alert id)."""

    alerts: list[tuple[float, str, str, str]] = field(default_factory=list)


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.sock = work / "m.sock"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
        self.bots: dict[str, subprocess.Popen[bytes]] = {}
        self.incidents: list[Incident] = []
        self.quiet_until = 0.0  # no new action while the controller is being killed
        self.controller: subprocess.Popen[bytes] | None = None
        self.up_at: float | None = None
        self.down_at: float | None = None

    def start_controller(self, config: Path) -> None:
        with (self.work / "controller.log").open("ab") as log:
            self.controller = subprocess.Popen(
                [sys.executable, "-m", "chatops.cli", "--config", str(config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    async def spawn(self, name: str) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(BOT), str(self.sock), name, str(HEARTBEAT)],
            stdout=subprocess.PIPE,
            env=self.env,
        )
        self.bots[name] = proc
        await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        await asyncio.sleep(HEARTBEAT * 2)  # registered and heartbeating

    async def life(self, name: str, end: float) -> None:
        rng = random.Random(name)
        await self.spawn(name)
        while time.monotonic() < end:
            await asyncio.sleep(rng.uniform(3, 8))
            if time.monotonic() >= end or time.monotonic() < self.quiet_until:
                continue
            proc = self.bots[name]
            action = rng.choice(["kill", "hang", "pause", "stop"])
            if action == "kill":
                incident = Incident(name, "kill", time.monotonic())
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                self.incidents.append(incident)
                await asyncio.sleep(rng.uniform(1, 3))
                incident.ended = time.monotonic()
                await self.spawn(name)
            elif action == "hang":
                os.kill(proc.pid, signal.SIGSTOP)
                stopped = time.monotonic()
                incident = Incident(name, "hang", stopped + STALE_TIMEOUT - HEARTBEAT)
                incident.stopped = stopped
                self.incidents.append(incident)
                await asyncio.sleep(STALE_TIMEOUT + rng.uniform(1, 3))
                incident.ended = time.monotonic()
                os.kill(proc.pid, signal.SIGCONT)
            elif action == "pause":
                os.kill(proc.pid, signal.SIGSTOP)
                await asyncio.sleep(0.3)  # well under heartbeat_interval + late_grace
                os.kill(proc.pid, signal.SIGCONT)
            else:
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait, 20)
                await asyncio.sleep(rng.uniform(0.5, 2))
                await self.spawn(name)

    async def kill_controller(self, at: float, config: Path) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        self.quiet_until = time.monotonic() + 2 + RESTART_GRACE + 3
        await asyncio.sleep(2)  # let actions in flight finish their first step
        assert self.controller is not None
        self.controller.kill()
        self.controller.wait()
        self.down_at = time.monotonic()
        print(f"controller SIGKILLed at {self.down_at - self.t0:.1f}s; restarting", flush=True)
        self.start_controller(config)
        while True:  # up again once the socket answers
            try:
                _, writer = await asyncio.open_unix_connection(str(self.sock))
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        self.up_at = time.monotonic()
        print(f"controller listening again at {self.up_at - self.t0:.1f}s", flush=True)


def channel_alerts(fake: FakeDiscord, names: list[str]) -> Seen:
    seen = Seen()
    line = re.compile(r"(?:\*\*)?(?P<bot>soak-\d+)(?:\*\*)? is (?P<what>down|stale|back)")
    nonces: set[str] = set()
    for r in fake.channel_messages():
        if r.status != 200:
            continue
        # A resend with a nonce Discord has seen returns the existing message: not a new post.
        nonce = r.body.get("nonce")
        if nonce is not None and nonce in nonces:
            continue
        nonces.add(nonce)
        embed = r.body["embeds"][0]
        text = (embed.get("title", "") + "\n" + embed.get("description", "")).replace("\\", "")
        for match in line.finditer(text):
            kind = {"down": "down", "stale": "stale", "back": "recovered"}[match["what"]]
            seen.alerts.append((r.at, match["bot"], kind, str(r.body.get("nonce"))))
    return seen


def webhook_alerts(receiver: WebhookReceiver) -> Seen:
    seen = Seen()
    for r in receiver.received:
        if not 200 <= r.status < 300:
            continue
        for alert in r.body.get("alerts", [r.body]):
            seen.alerts.append((r.at, alert["bot"], alert["kind"], alert["alert_id"]))
    return seen


def score(
    label: str, seen: Seen, incidents: list[Incident], t0: float, verbose: bool = False
) -> None:
    problems = [a for a in seen.alerts if a[2] in ("down", "stale")]
    recoveries = [a for a in seen.alerts if a[2] == "recovered"]
    matched: dict[int, list[tuple[float, str, str, str]]] = {}
    false_alerts = 0
    for alert in problems:
        at, bot, _, _ = alert
        # The bot's latest incident begun before the alert arrived is the one it can be about.
        candidates = [
            i for i, inc in enumerate(incidents) if inc.bot == bot and inc.started - 1.0 <= at
        ]
        window = max(candidates, key=lambda i: incidents[i].started, default=None)
        if window is not None:
            ended = incidents[window].ended
            if ended is not None and at > ended + 5.0:
                window = None
        if window is None:
            false_alerts += 1
        else:
            matched.setdefault(window, []).append(alert)
    duplicates = sum(len(alerts) - 1 for alerts in matched.values())
    missing_recoveries = sum(
        1
        for i in matched
        if incidents[i].ended is not None
        and not any(r[1] == incidents[i].bot and r[0] >= incidents[i].started for r in recoveries)
    )
    by_kind: dict[str, list[float]] = {"kill": [], "hang": []}
    for i, alerts in matched.items():
        if not incidents[i].optional:
            by_kind[incidents[i].kind].append(min(a[0] for a in alerts) - incidents[i].started)
    delays = sorted(by_kind["kill"] + by_kind["hang"])
    required = [i for i, inc in enumerate(incidents) if not inc.optional]
    recalled = sum(1 for i in required if i in matched)
    recall = recalled / len(required) if required else 1.0
    if verbose:
        for i, inc in enumerate(incidents):
            if i not in matched and not inc.optional:
                print(
                    f"  missed: {inc.bot} {inc.kind} from {inc.started - t0:.1f}s "
                    f"to {(inc.ended or 0) - t0:.1f}s"
                )
            elif len(matched.get(i, [])) > 1:
                print(f"  duplicate: {inc} -> {matched[i]}")

    def pct(q: float, values: list[float]) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    print(
        f"{label:>8}: recall {recall:.3f} ({recalled}/{len(required)}) · false alerts "
        f"{false_alerts} · duplicates {duplicates} · missing recoveries {missing_recoveries} · "
        f"time to alert p50 {pct(0.5, delays):6.0f} ms p99 {pct(0.99, delays):6.0f} ms "
        f"(kills p99 {pct(0.99, by_kind['kill']):.0f} ms, hangs p50 "
        f"{pct(0.5, by_kind['hang']):.0f} / p99 {pct(0.99, by_kind['hang']):.0f} ms)",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    fake = await FakeDiscord().start()
    receiver = await WebhookReceiver().start()
    work = Path(tempfile.mkdtemp(prefix="co-soak-"))
    soak = Soak(args, work)
    config = work / "config.yaml"
    config.touch(mode=0o600)  # it holds the (fake) token and webhook URL
    config.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "socket_path": str(soak.sock),
                    "database_path": str(work / "c.db"),
                    "heartbeat_interval": HEARTBEAT_INTERVAL,
                    "late_grace": LATE_GRACE,
                    "stale_timeout": STALE_TIMEOUT,
                    "restart_grace": RESTART_GRACE,
                    "reap_interval": 0.2,
                },
                "logging": {"level": "WARNING"},
                "discord": fake.client_config(work),
                # Every incident alerted: no flapping pause, no reminders.
                "alerts": {
                    "webhook_urls": [receiver.url],
                    "flapping_transitions": 100_000,
                    "repeat_interval": 0,
                },
            }
        )
    )
    soak.start_controller(config)
    names = [f"soak-{i:03d}" for i in range(args.bots)]
    try:
        await asyncio.wait_for(fake.identified.wait(), 60)
        while not soak.sock.exists():
            await asyncio.sleep(0.05)
        soak.t0 = time.monotonic()
        end = soak.t0 + args.minutes * 60
        tasks = [asyncio.create_task(soak.life(name, end)) for name in names]
        if args.kill_controller:
            tasks.append(
                asyncio.create_task(soak.kill_controller(soak.t0 + args.minutes * 30, config))
            )
        print(
            f"{args.bots} bots for {args.minutes:g} min"
            + (", controller killed half-way" if args.kill_controller else ""),
            flush=True,
        )
        await asyncio.gather(*tasks)
        await asyncio.sleep(SETTLE + STALE_TIMEOUT)
        for incident in soak.incidents:
            incident.optional = incident.unobservable(soak.down_at, soak.up_at)
        optional = sum(i.optional for i in soak.incidents)
        kills = sum(i.kind == "kill" for i in soak.incidents)
        print(
            f"{len(soak.incidents) - optional} incidents ({kills} kills, "
            f"{len(soak.incidents) - optional - kills} hangs); {optional} more hangs were on "
            "when the controller died and ended inside its restart grace (an alert for them "
            f"is neither required nor false); 429s from the fake: {fake.rate_limited}",
            flush=True,
        )
        score("webhook", webhook_alerts(receiver), soak.incidents, soak.t0, args.verbose)
        score("channel", channel_alerts(fake, names), soak.incidents, soak.t0, args.verbose)
    finally:
        for proc in soak.bots.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
                proc.wait()
        if soak.controller is not None:
            soak.controller.terminate()
            soak.controller.wait(30)
        await fake.stop()
        await receiver.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--kill-controller", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list missed and doubled alerts")
    asyncio.run(main(parser.parse_args()))
