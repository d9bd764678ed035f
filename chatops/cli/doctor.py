"""``chatops doctor [--json]`` and ``chatops restart BOT``.

``doctor`` runs the diagnostics against the running controller when there is one, else against
the config and the files (database, data and cache directories, webhooks), prints one line per
check and exits 1 when any check fails, so it can be a systemd ``ExecStartPre`` or a cron check
(a controller that is not running yet is a warning, not a failure). ``restart`` does what
``/recover restart`` does, through the controller.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict

import aiohttp

from chatops.cli.asking import EXIT_UNREACHABLE
from chatops.client.blocking import MonitorError, request
from chatops.config import Settings
from chatops.presentation.formatting import no_controller, terminal_text
from chatops.services.recovery.probes import (
    Check,
    check_cache_dir,
    check_data_dir,
    check_database_file,
    check_missing_dir,
    check_socket_decisions,
    check_webhooks,
    summarise,
)
from chatops.wire.protocol import RestartBot, RunDiagnostics

EXIT_FAILING = 1
MARK = {"ok": "ok  ", "warning": "WARN", "failing": "FAIL"}


def doctor_command(settings: Settings, *, as_json: bool) -> int:
    try:
        reply = request(settings.monitoring.socket_path, RunDiagnostics(), timeout=120.0)
        checks = [Check(**item) for item in reply["checks"]]
        source = "controller"
    except (OSError, MonitorError):
        checks = asyncio.run(offline_checks(settings))
        source = "files (the controller is not running)"
    summary = summarise(checks)
    if as_json:
        body = {"source": source, "summary": summary, "checks": [asdict(c) for c in checks]}
        print(json.dumps(body, indent=2))
    else:
        for check in checks:
            latency = f"{check.latency_ms:7.1f} ms" if check.latency_ms is not None else " " * 10
            print(
                f"{MARK[check.status]}  {check.name:<24} {latency}  {terminal_text(check.detail)}"
            )
        print(f"\n{summary['status']}: {len(checks)} checks, from the {source}")
    return EXIT_FAILING if summary["status"] == "failing" else 0


async def offline_checks(settings: Settings) -> list[Check]:
    monitoring = settings.monitoring
    socket_dir = monitoring.socket_path.parent
    checks = [
        Check("config", "ok", None, "valid"),
        Check(
            "socket",
            "warning",
            None,
            f"no controller answers on {monitoring.socket_path} (not running?)",
        )
        if socket_dir.is_dir()
        else check_missing_dir("socket", socket_dir),
        check_database_file(monitoring.database_path),
    ]
    data_dir = monitoring.database_path.parent
    if data_dir.is_dir():
        checks.append(check_data_dir(data_dir))
    else:
        checks.append(check_missing_dir("filesystem", data_dir))
    checks.append(check_cache_dir(settings.cache_root, settings.cache.warning_threshold_mb))
    decisions = settings.approvals.socket_decisions
    checks.append(check_socket_decisions(decisions, os.geteuid(), None, monitoring.socket_group))
    urls = [url.get_secret_value() for url in settings.alerts.webhook_urls]
    if urls:
        async with aiohttp.ClientSession() as session:
            checks += await check_webhooks(urls, session, settings.alerts.http_timeout)
    return checks


def restart_command(settings: Settings, bot: str) -> int:
    try:
        report = request(settings.monitoring.socket_path, RestartBot(channel=bot), timeout=300.0)
    except MonitorError as exc:
        print(f"chatops: refused: {terminal_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILING
    except OSError as exc:
        print(f"chatops: {no_controller(settings.monitoring.socket_path, exc)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    # The service's own words (outcome, how, why), as /recover restart shows them.
    print(f"{terminal_text(bot)}: {terminal_text(report['summary'])}")
    if report.get("output"):
        print(terminal_text(report["output"]))
    return 0 if report["restarted"] else EXIT_FAILING
