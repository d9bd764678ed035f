"""End to end: the real ``chatops run`` process, the real discord.py client inside it, the
loopback fake of Discord, a real bot process, and a webhook receiver."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from tests.conftest import kill_quietly, spawn_bot, wait_for
from tests.fake_discord import APP_ID, GUILD_ID, FakeDiscord
from tests.webhook_receiver import WebhookReceiver


async def spawn_run(config: Path, *, stderr: int) -> asyncio.subprocess.Process:
    """``chatops run`` as a child whose output the test reads."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatops.cli",
        "--config",
        str(config),
        "run",
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


async def test_chatops_run_against_fake_discord(controller_process, workdir: Path) -> None:
    fake = await FakeDiscord().start()
    receiver = await WebhookReceiver().start()
    ctl = controller_process(
        {
            "discord": fake.client_config(workdir),
            "alerts": {"webhook_urls": [receiver.url]},
        }
    )
    bot = None
    try:
        # The fake serves from this loop: wait for the process from a thread.
        await asyncio.to_thread(ctl.start, 60)
        await asyncio.wait_for(fake.identified.wait(), 60)
        await wait_for(
            lambda: fake.find("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/"), timeout=30
        )
        # The token is a secret: it appears in no log line.
        assert "fake-token" not in ctl.log.read_text()

        bot = spawn_bot("simple_bot.py", str(ctl.socket_path), "el_serda", "30")
        assert (await asyncio.to_thread(bot.stdout.readline)).strip() == b"READY"

        interaction = await fake.slash("status")
        body = await fake.wait_callback(interaction)
        [embed] = body["data"]["embeds"]
        assert "el\\_serda" in embed["description"] and "online" in embed["description"]

        killed = time.monotonic()
        os.kill(bot.pid, signal.SIGKILL)
        await wait_for(lambda: fake.channel_messages(), timeout=15)
        await wait_for(lambda: receiver.delivered(), timeout=15)
        [message] = fake.channel_messages()
        assert "el\\_serda is down" in message.body["embeds"][0]["title"]
        [alert] = receiver.delivered()
        assert alert["bot"] == "el_serda" and alert["kind"] == "down"
        print(
            f"time to alert: channel {message.at - killed:.3f}s, "
            f"webhook {receiver.received[0].at - killed:.3f}s"
        )
    finally:
        if bot is not None:
            kill_quietly(bot)
        if ctl.proc is not None:
            code = await asyncio.to_thread(ctl.stop, signal.SIGTERM)
            assert code == 0, ctl.log.read_text()[-3000:]
        await fake.stop()
        await receiver.stop()
    assert not ctl.socket_path.exists()


async def test_rejected_token_exits_2_without_printing_it(controller_process) -> None:
    fake = await FakeDiscord().start()
    ctl = controller_process(
        {
            "discord": {
                "token": "wrong-token",
                "api_base": fake.api_base,
                "gateway_url": fake.gateway_url,
            }
        }
    )
    try:
        proc = await spawn_run(ctl.config, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 2
        assert b"rejected discord.token" in err
        assert b"wrong-token" not in out + err
    finally:
        await fake.stop()


async def test_discord_unreachable_keeps_monitoring_then_stops_cleanly(
    controller_process, workdir: Path
) -> None:
    receiver = await WebhookReceiver().start()
    ctl = controller_process(
        {
            "discord": {
                "token": "t",
                "api_base": "http://127.0.0.1:9/api/v10",
                "gateway_url": "ws://127.0.0.1:9/gateway",
                "alert_channel_id": 1,
            },
            "alerts": {"webhook_urls": [receiver.url]},
        }
    )
    proc = await spawn_run(ctl.config, stderr=asyncio.subprocess.STDOUT)
    bot = None
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        while b"Discord unreachable" not in line:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
        # Discord is down and the login keeps retrying, yet the fleet is watched: a bot
        # registers, dies, and its alert reaches the webhook.
        bot = spawn_bot("simple_bot.py", str(ctl.socket_path), "watched", "30")
        assert (await asyncio.to_thread(bot.stdout.readline)).strip() == b"READY"
        os.kill(bot.pid, signal.SIGKILL)
        await wait_for(lambda: receiver.delivered(), timeout=15)
        [alert] = receiver.delivered()
        assert alert["bot"] == "watched" and alert["kind"] == "down"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        assert not ctl.socket_path.exists()
    finally:
        if bot is not None:
            kill_quietly(bot)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await receiver.stop()
