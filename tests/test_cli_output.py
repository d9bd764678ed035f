"""What the command line tells a user, as real processes: a reader that closes its end early
is no error for any command, ``status`` with nothing to read says so (exit 3), ``--log-level``
takes any case, and counts agree with their nouns."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings, register
from tests.test_approvals_cli import config_file, run_chatops

ENV = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
COMMANDS = [
    ("--help",),
    ("status",),
    ("status", "--json"),
    ("policy", "show"),
    ("policy", "check", "--type", "file_write", "--data", '{"file_path": "a.py"}'),
    ("quota",),
    ("quota", "--json"),
    ("approvals", "list", "--all"),
    ("cache", "stats"),
    ("cache", "list", "--json"),
    ("doctor",),
    ("doctor", "--json"),
]


async def into_closed_pipe(config: Path, *args: str, unbuffered: bool) -> tuple[int, str]:
    """Run a command whose standard output's reader has already gone: every write fails. Run
    unbuffered, the first ``print`` meets it inside the command; buffered, the last flush."""
    read, write = os.pipe()
    os.close(read)
    env = {**ENV, "PYTHONUNBUFFERED": "1"} if unbuffered else ENV
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatops.cli",
            "--config",
            str(config),
            *args,
            stdout=write,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    finally:
        os.close(write)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_closed_pipe_is_no_error_for_any_command(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    await start_controller(settings)
    client = await register(settings, "alpha")
    try:
        for args in COMMANDS:
            for unbuffered in (False, True):
                code, err = await into_closed_pipe(config, *args, unbuffered=unbuffered)
                assert (code, err) == (0, ""), (args, unbuffered, err)
    finally:
        await client.close()


async def test_a_closed_pipe_without_a_controller(workdir: Path) -> None:
    """From the files: the commands that read the database or the config (their notes on
    stderr, such as "the configuration's policy only", still come)."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    for args in (("policy", "show"), ("cache", "list"), ("doctor",), ("doctor", "--json")):
        code, err = await into_closed_pipe(config, *args, unbuffered=True)
        assert code == 0 and "Traceback" not in err and "pipe" not in err.lower(), (args, err)


def test_chatops_into_head(workdir: Path) -> None:
    """``chatops policy check --batch - | head -n 1``: more output than a pipe holds, and a
    reader that leaves after one line. With ``pipefail``, chatops's own status counts too."""
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    line = json.dumps({"type": "file_write", "data": {"file_path": "src/a.py"}})
    (workdir / "batch").write_text("\n".join([line] * 20000))
    script = (
        "set -o pipefail; "
        f"{sys.executable} -m chatops.cli --config {config} policy check --batch - "
        f"< {workdir / 'batch'} | head -n 1"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "accept"
    # No database: one line saying the decisions are the file's alone; no traceback, nothing else.
    db = settings.monitoring.database_path
    [only] = result.stderr.splitlines()
    assert only.startswith(
        f"chatops: the configuration's policy only: there is no database at {db} "
    )
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
async def test_status_with_nothing_to_read_says_where_it_looked(
    workdir: Path, json_flag: tuple[str, ...]
) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    code, out, err = await run_chatops(config, "status", *json_flag)
    assert code == 3 and out == ""
    [line] = err.splitlines()
    assert str(settings.monitoring.database_path) in line and "no database" in line
    assert str(settings.monitoring.socket_path) in line
    assert not settings.monitoring.database_path.exists()  # looking created nothing


@pytest.mark.parametrize("level", ["debug", "Info", "wArNiNg", "ERROR"])
async def test_log_level_takes_any_case(workdir: Path, level: str) -> None:
    config = config_file(workdir, make_settings(workdir))
    code, out, err = await run_chatops(config, "--log-level", level, "policy", "show")
    assert code == 0, err
    assert json.loads(out)["auto_accept"] is True


async def test_log_level_names_the_choices_when_it_is_none(workdir: Path) -> None:
    config = config_file(workdir, make_settings(workdir))
    code, _, err = await run_chatops(config, "--log-level", "loud", "policy", "show")
    assert code == 2 and "DEBUG, INFO, WARNING, ERROR" in err


async def test_status_counts_agree_with_their_noun(workdir: Path, start_controller: Any) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    await start_controller(settings)
    client = await register(settings, "alpha")
    try:
        code, out, _ = await run_chatops(config, "status")
        assert code == 0 and out.rstrip().endswith("1 bot, from monitor")
    finally:
        await client.close()
    other = await register(settings, "beta", "gamma")
    try:
        code, out, _ = await run_chatops(config, "status")
        assert code == 0 and "3 bots, from monitor" in out
    finally:
        await other.close()


@pytest.mark.parametrize(
    "args",
    [("quota",), ("approvals", "list"), ("approvals", "approve", "1"), ("restart", "bot")],
    ids=" ".join,
)
async def test_a_command_that_needs_the_controller_says_where_it_looked(
    workdir: Path, args: tuple[str, ...]
) -> None:
    settings = make_settings(workdir)
    config = config_file(workdir, settings)
    code, out, err = await run_chatops(config, *args)
    assert code == 3 and not out
    socket_path = settings.monitoring.socket_path
    assert (
        err
        == f"chatops: no controller answers on {socket_path} (No such file or directory); is 'chatops run' up with this config?\n"
    )


def test_policy_check_of_an_unknown_action_type_is_invalid_input(workdir: Path) -> None:
    config = config_file(workdir, make_settings(workdir))
    result = subprocess.run(
        [sys.executable, "-m", "chatops.cli", "--config", str(config), "policy", "check",
         "--type", "file_wirte", "--data", "{}"],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and not result.stdout
    assert "unknown action type 'file_wirte'" in result.stderr and "file_write" in result.stderr
