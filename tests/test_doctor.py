"""Diagnostics and ``chatops doctor``: healthy and broken setups, headless and against a running
controller (a broken database path, an unwritable directory and an unreachable webhook fail)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from pydantic import SecretStr

from chatops.composition.controller import Controller
from chatops.services.recovery.probes import check_webhooks
from tests.conftest import make_settings, register
from tests.test_approvals_cli import run_chatops

UNREACHABLE = "http://127.0.0.1:9/hooks/secret-token"


def write_config(path: Path, settings: Any, **extra: Any) -> Path:
    body = {
        "monitoring": {
            "socket_path": str(settings.monitoring.socket_path),
            "database_path": str(settings.monitoring.database_path),
        },
        **extra,
    }
    path.write_text(yaml.safe_dump(body))
    path.chmod(0o644)
    return path


async def test_diagnostics_of_a_running_controller(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    ctl: Controller = await start_controller(settings)
    client = await register(settings, "kissbot")
    checks = {c.name: c for c in await ctl.services.diagnostics.run_diagnostics()}
    assert checks["socket"].status == "ok" and checks["socket"].latency_ms is not None
    assert checks["database"].status == "ok" and "quick_check ok" in checks["database"].detail
    assert checks["filesystem"].status == "ok" and checks["cache"].status == "ok"
    assert checks["scheduler"].status == "ok" and "jobs" in checks["scheduler"].detail
    # A raw client answers no pushes: its bot's ping round trip is a warning, not a failure.
    assert checks["bot kissbot"].status == "warning"
    health = await ctl.services.diagnostics.health_check()
    assert health["status"] == "degraded" and any("kissbot" in r for r in health["reasons"])
    metrics = ctl.services.diagnostics.get_system_metrics()
    assert metrics["controller"]["connections"] == 1 and metrics["host"]["cpu_count"] >= 1
    await client.close()


async def test_doctor_against_the_running_controller(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    config = write_config(workdir / "d.yaml", settings)
    await start_controller(settings)
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 0 and "from the controller" in out
    assert "ok    socket" in out and "ok    database" in out
    code, out, _ = await run_chatops(config, "doctor", "--json")
    assert code == 0 and json.loads(out)["summary"]["status"] == "ok"


async def test_an_unreachable_webhook_fails_the_doctor(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.alerts.webhook_urls = [SecretStr(UNREACHABLE)]
    config = write_config(workdir / "d.yaml", settings)
    await start_controller(settings)
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 1 and "FAIL  webhook http://127.0.0.1/…" in out
    assert "secret-token" not in out  # the URL is a secret


async def test_doctor_headless_healthy_and_with_a_broken_database(workdir: Path) -> None:
    settings = make_settings(workdir)
    config = write_config(workdir / "d.yaml", settings)
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 0 and "from the files" in out and "WARN  socket" in out
    settings.monitoring.database_path.write_bytes(b"this is not a database" * 100)
    code, out, _ = await run_chatops(config, "doctor")
    assert code == 1 and "FAIL  database" in out


def test_doctor_fails_on_an_unwritable_directory(workdir: Path) -> None:
    """As a user who cannot write the data directory (nobody, when the tests run as root)."""
    data = workdir / "data"
    data.mkdir(mode=0o755)
    run_dir = Path(tempfile.mkdtemp(prefix="co-dr-", dir="/tmp"))
    try:
        os.chmod(workdir, 0o755)
        os.chmod(run_dir, 0o755)
        if os.geteuid() != 0:
            data.chmod(0o555)
        settings = make_settings(
            workdir, database_path=data / "chatops.db", socket_path=run_dir / "m.sock"
        )
        config = write_config(run_dir / "d.yaml", settings)
        command = [sys.executable, "-m", "chatops.cli", "--config", str(config), "doctor"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv")
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(run_dir), "PYTHONPATH": os.getcwd()}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAIL  filesystem" in result.stdout and "not writable" in result.stdout
    finally:
        data.chmod(0o755)
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.mark.parametrize(
    ("key", "where"),
    [
        ("database_path", "/proc/chatops-doctor/chatops.db"),  # its directory must be made
        ("database_path", "/proc/chatops-doctor.db"),  # its directory exists, holds nothing
        ("database_path", "/sys/chatops-doctor/chatops.db"),  # a mount that refuses (EPERM)
        ("socket_path", "/proc/chatops-doctor/m.sock"),
        ("cache_root", "/proc/chatops-doctor/cache"),
    ],
)
async def test_doctor_fails_a_path_that_start_can_never_create(
    workdir: Path, key: str, where: str
) -> None:
    """``os.access`` says root may write ``/proc``; only making something there tells."""
    settings = make_settings(workdir)
    extra: dict[str, Any] = {}
    if key == "cache_root":
        extra = {"cache": {"root": where}}
    config = write_config(workdir / "d.yaml", settings, **extra)
    if key != "cache_root":
        body = yaml.safe_load(config.read_text())
        body["monitoring"][key] = where
        config.write_text(yaml.safe_dump(body))
    code, out, err = await run_chatops(config, "doctor")
    assert code == 1, out + err
    failing = {line.split()[1]: line for line in out.splitlines() if line.startswith("FAIL")}
    named = {"database_path": "database", "socket_path": "socket", "cache_root": "cache"}[key]
    assert str(Path(where).parent) in failing[named] and "cannot be made" in failing[named]
    top = "/" + where.split("/")[1]
    assert all(top in line for line in failing.values()), out  # nothing else fails


async def test_doctor_passes_paths_that_start_will_make(workdir: Path) -> None:
    """Missing but makeable (several levels deep): a warning, never a failure, and the probe
    leaves nothing behind."""
    deep = workdir / "not" / "yet"
    settings = make_settings(workdir, database_path=deep / "chatops.db")
    config = write_config(workdir / "d.yaml", settings, cache={"root": str(deep / "cache")})
    code, out, err = await run_chatops(config, "doctor")
    assert code == 0, out + err
    assert "WARN  database" in out and "WARN  filesystem" in out and "WARN  cache" in out
    assert sorted(p.name for p in workdir.iterdir()) == ["d.yaml"]


class _PostOnly(http.server.BaseHTTPRequestHandler):
    """The standard library's server with only ``do_POST``: HEAD gets 501 Not Implemented."""

    def do_POST(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


async def _aiohttp_receiver(status: int | None) -> tuple[str, web.AppRunner]:
    """POST only (aiohttp answers HEAD with 405), or every method answered ``status``."""
    app = web.Application()

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status or 204)

    if status is None:
        app.router.add_post("/hook", answer)
    else:
        app.router.add_route("*", "/hook", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}/hook", runner


async def test_a_post_only_receiver_is_reachable_and_a_server_error_is_not_ok() -> None:
    stdlib = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PostOnly)
    thread = threading.Thread(target=stdlib.serve_forever, daemon=True)
    thread.start()
    runners = []
    try:
        urls = {"stdlib": f"http://127.0.0.1:{stdlib.server_address[1]}/hook"}
        for name, status in (("aiohttp", None), ("busy", 503), ("broken", 500)):
            urls[name], runner = await _aiohttp_receiver(status)
            runners.append(runner)
        async with aiohttp.ClientSession() as session:
            checks = await check_webhooks(list(urls.values()), session, 10)
        found = dict(zip(urls, checks, strict=True))
        assert found["stdlib"].status == "ok" and "501" in found["stdlib"].detail
        assert found["aiohttp"].status == "ok" and "405" in found["aiohttp"].detail
        assert found["busy"].status == "warning" and found["broken"].status == "warning"
    finally:
        for runner in runners:
            await runner.cleanup()
        stdlib.shutdown()
        stdlib.server_close()
