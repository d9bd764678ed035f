"""Every ``--help`` in the command tree works: the first thing a newcomer types."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from chatops.cli import main
from chatops.cli.parser import build_parser


def command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command of the tree, with its parser."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from command_paths(child, (*path, name))


ALL = [path for path, _ in command_paths(build_parser())]


def test_the_tree_is_walked() -> None:
    """The walk finds the nested commands, so the tests below cover them all."""
    assert ("hook", "claude-code") in ALL and ("cache", "clean") in ALL
    assert ("policy", "check") in ALL and len(ALL) >= 20
    assert {("silence",), ("maintenance",), ("unsilence",), ("silences",)} <= set(ALL)


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "chatops")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_help_prints_and_exits_0(
    path: tuple[str, ...], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, flag])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: chatops") and " ".join(("chatops", *path)) in out


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_installed_command_help(flag: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")}
    result = subprocess.run(
        [sys.executable, "-m", "chatops.cli", flag],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "quota" in result.stdout and "% left" in result.stdout and not result.stderr
