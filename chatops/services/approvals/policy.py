"""The policy engine: ``accept``, ``confirm`` or ``deny`` for an action, with the reason and the
rule that decided (what ``should_accept_action`` answers, made hard to evade).

Order: what is blocked is denied (dangerous commands, blocked patterns, a path outside the
workspace, a file over its size, a custom validator's veto); then what needs a human is
confirmed (auto-accept off globally or for the type, ``requires_confirmation``, a command that
cannot be parsed, an action outside ``allowed_patterns``); the rest is accepted.

Path globs (wcmatch, with ``**`` and dot-files) match both the base name and the whole
normalised path, so ``*.env`` blocks ``.env``, ``config/.env`` and ``prod.env``, and
``*secret*`` blocks ``secrets/api.txt``. Command patterns match a simple command's leading
words (``docker rm*``), each word a glob; the built-in checks of :mod:`.commands` apply too.
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import os
import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wcmatch import glob

from chatops.config.approvals import ActionType, ApprovalsConfig, Rule
from chatops.services.approvals.commands import check
from chatops.services.approvals.protected import protected_reason
from chatops.services.approvals.shell import Analysis, SimpleCommand, analyse

Verdict = Literal["accept", "confirm", "deny"]
_GLOB = glob.GLOBSTAR | glob.DOTGLOB | glob.BRACE
MAX_FILE_SIZE = 2**40
"""A ``file_size`` above 1 TiB is no file an agent writes: the claim is invalid, not large."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a ``file_path`` lands: the text the patterns match (relative to the workspace
    when there is one), and why it is denied or needs a human, if it is or does."""

    text: str
    denied: str | None = None
    unsure: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    decision: Verdict
    reason: str
    rule: str

    def seed_dict(self) -> dict[str, Any]:
        """The dict ``should_accept_action`` returns: ``accept``, ``requires_confirmation`` and
        ``reason``, the keys existing agent code reads, plus ``decision`` and ``rule``."""
        return {
            "accept": self.decision == "accept",
            "requires_confirmation": self.decision == "confirm",
            "reason": self.reason,
            "decision": self.decision,
            "rule": self.rule,
        }


class Policy:
    def __init__(self, config: ApprovalsConfig) -> None:
        self.config = config

    def decide(
        self,
        action_type: ActionType | str,
        data: dict[str, Any],
        analysis: Analysis | None = None,
    ) -> Decision:
        """``analysis`` is the command already parsed (the controller parses in a worker
        process, see :mod:`.worker`); without it the command is parsed here."""
        try:
            kind = ActionType(action_type)
        except ValueError:
            return Decision("deny", f"unknown action type {action_type!r}", "policy")
        rule = self.config.rules[kind]
        name = str(kind)
        if kind is not ActionType.TERMINAL_COMMAND:
            analysis = None
        else:
            command = data.get("command")
            if not isinstance(command, str) or not command.strip():
                return Decision("deny", "no command given", name)
            if analysis is None:  # once: both the deny and the confirm checks read it
                analysis = analyse(command)
        place = None
        if "file_path" in data or kind is ActionType.FILE_WRITE:
            path = data.get("file_path")
            if not isinstance(path, str) or not path:
                return Decision("deny", "file_path must be a non-empty string", name)
            place = self._locate(path, data)
        denied = self._blocked(kind, rule, data, analysis, place)
        if denied is not None:
            return Decision("deny", denied, name)
        confirm = self._needs_human(kind, rule, analysis, place)
        if confirm is not None:
            return Decision("confirm", confirm, name)
        return Decision("accept", "allowed by policy", name)

    # -- deny --------------------------------------------------------------------------------

    def _blocked(
        self,
        kind: ActionType,
        rule: Rule,
        data: dict[str, Any],
        analysis: Analysis | None,
        place: Place | None,
    ) -> str | None:
        if analysis is not None:
            reason = check(analysis)
            if reason is not None:
                return reason
            for simple in analysis.commands:
                pattern = _command_match(simple, rule.blocked_patterns)
                if pattern is not None:
                    return f"matches blocked pattern {pattern!r}"
        if place is not None:
            if place.denied is not None:
                return place.denied
            pattern = _path_match(place.text, rule.blocked_patterns)
            if pattern is not None:
                return f"{data['file_path']!r} matches blocked pattern {pattern!r}"
        claimed = data.get("file_size")
        if claimed is not None and not _plausible_size(claimed):
            return f"file_size must be a number of bytes from 0 to {MAX_FILE_SIZE:,}"
        if rule.max_file_size_mb is not None:
            content = data.get("content")
            measured = len(content.encode()) if isinstance(content, str) else 0
            size = max(measured, claimed or 0)  # a small claim cannot hide a large content
            if size > rule.max_file_size_mb * 1_048_576:
                return f"{size / 1_048_576:.1f} MB is over the {rule.max_file_size_mb:g} MB limit"
        return self._validator(kind, rule, data)

    def _locate(self, path: str, data: dict[str, Any]) -> Place:
        """Where ``path`` lands. The workspace is ``approvals.workspace_root``, else the
        action's own absolute ``cwd`` (a coding agent's project); inside it the real path
        (symlinks resolved) must stay inside. With neither, a relative path is read as it is
        (``..`` out of it is denied) and an absolute one is for a human. Protected places
        (:mod:`.protected`) are denied in every case."""
        if "\0" in path:
            return Place(path, denied="file_path holds a NUL byte")
        text = os.path.expanduser(path) if path.startswith("~") else path
        text = text.replace("\\", "/")
        root = self.config.workspace_root or workspace_from(data.get("cwd"))
        if root is not None:
            real_root = Path(os.path.realpath(root))
            real = Path(os.path.realpath(real_root / text))
            if real != real_root and real_root not in real.parents:
                return Place(text, denied=f"{path!r} is outside the workspace ({real_root})")
            reason = protected_reason(real)
            if reason is not None:
                return Place(text, denied=_protected(path, real, reason))
            return Place(real.relative_to(real_root).as_posix())
        normal = posixpath.normpath(text)
        if posixpath.isabs(normal):
            real = Path(os.path.realpath(normal))
            reason = protected_reason(real)
            if reason is not None:
                return Place(normal, denied=_protected(path, real, reason))
            return Place(normal, unsure=f"{path!r} is outside any known workspace")
        if normal == ".." or normal.startswith("../"):
            return Place(normal, denied=f"{path!r} escapes the workspace")
        # Where it lands is unknown: judged as if the agent stood in the home directory, the
        # place where a relative name is the most dangerous (".bashrc", ".ssh/…").
        reason = protected_reason(Path(os.path.realpath(Path.home() / normal)))
        if reason is not None:
            return Place(normal, denied=f"{path!r} may be {reason}")
        return Place(normal)

    def _validator(self, kind: ActionType, rule: Rule, data: dict[str, Any]) -> str | None:
        if rule.custom_validator is None:
            return None
        module, _, attribute = rule.custom_validator.rpartition(".")
        try:
            verdict = getattr(importlib.import_module(module), attribute)(str(kind), data)
        except Exception as exc:  # a broken validator denies: deny when unsure
            return f"custom validator failed: {type(exc).__name__}: {exc}"[:300]
        if verdict is False:
            return f"refused by {rule.custom_validator}"
        if isinstance(verdict, str) and verdict:
            return verdict
        return None

    # -- confirm -----------------------------------------------------------------------------

    def _needs_human(
        self, kind: ActionType, rule: Rule, analysis: Analysis | None, place: Place | None
    ) -> str | None:
        if analysis is not None:
            if analysis.parse_error is not None:
                return f"the command could not be read ({analysis.parse_error})"
            if rule.allowed_patterns and any(
                _command_match(simple, rule.allowed_patterns) is None
                for simple in analysis.commands
            ):
                return "not in the allowed patterns"
        if place is not None:
            if place.unsure is not None:
                return place.unsure
            if rule.allowed_patterns and _path_match(place.text, rule.allowed_patterns) is None:
                return "not in the allowed patterns"
        if not self.config.auto_accept:
            return "auto-accept is off"
        if not rule.enabled:
            return f"auto-accept is off for {kind} (approvals.rules.{kind}.enabled is false)"
        if rule.requires_confirmation:
            return f"{kind} requires confirmation"
        return None


def _protected(path: str, real: Path, reason: str) -> str:
    """Why a protected place is denied, naming where a link led when it did."""
    if os.path.normpath(os.path.expanduser(path)) == str(real):
        return f"{path!r} is {reason}"
    return f"{path!r} leads to {real}, which is {reason}"


def workspace_from(cwd: object) -> Path | None:
    """The action's working directory as a workspace, when it is narrow enough to be one: a
    client says what its ``cwd`` is, so ``/``, a top-level directory, the home directory or one
    above it, and a protected place are no workspace (its paths then go to a human)."""
    if not isinstance(cwd, str) or not posixpath.isabs(cwd) or "\0" in cwd:
        return None
    real = Path(os.path.realpath(cwd))
    home = Path(os.path.realpath(Path.home()))
    if len(real.parts) <= 2 or real == home or real in home.parents:
        return None
    return None if protected_reason(real) is not None else real


def _plausible_size(size: object) -> bool:
    if isinstance(size, bool) or not isinstance(size, int | float):
        return False
    return math.isfinite(size) and 0 <= size <= MAX_FILE_SIZE


def _path_match(path: str, patterns: list[str]) -> str | None:
    name = posixpath.basename(path)
    for pattern in patterns:
        if glob.globmatch(name, pattern, flags=_GLOB) or glob.globmatch(path, pattern, flags=_GLOB):
            return pattern
        if glob.globmatch(path, f"**/{pattern}", flags=_GLOB):
            return pattern
        if any(glob.globmatch(part, pattern, flags=_GLOB) for part in path.split("/")[:-1]):
            return pattern  # a directory on the way: *secret* blocks secrets/api.txt
    return None


def _command_match(simple: SimpleCommand, patterns: list[str]) -> str | None:
    words = [simple.name, *simple.args]
    for pattern in patterns:
        try:
            wanted = shlex.split(pattern)
        except ValueError:
            continue
        fits = wanted and len(words) >= len(wanted)
        if fits and all(fnmatch.fnmatchcase(w, p) for w, p in zip(words, wanted, strict=False)):
            return pattern
    return None
