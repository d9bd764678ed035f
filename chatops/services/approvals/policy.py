"""The policy engine: ``accept``, ``confirm`` or ``deny`` for an action, with the reason and the
rule that decided (the agent seed's ``should_accept_action``, made hard to evade).

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
import os
import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wcmatch import glob

from chatops.services.approvals.commands import check
from chatops.services.approvals.config import ActionType, ApprovalsConfig, Rule
from chatops.services.approvals.shell import Analysis, SimpleCommand, analyse

Verdict = Literal["accept", "confirm", "deny"]
_GLOB = glob.GLOBSTAR | glob.DOTGLOB | glob.BRACE


@dataclass(frozen=True, slots=True)
class Decision:
    decision: Verdict
    reason: str
    rule: str

    def seed_dict(self) -> dict[str, Any]:
        """The seed's answer: ``accept``, ``requires_confirmation``, ``reason``."""
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
        denied = self._blocked(kind, rule, data, analysis)
        if denied is not None:
            return Decision("deny", denied, name)
        confirm = self._needs_human(kind, rule, data, analysis)
        if confirm is not None:
            return Decision("confirm", confirm, name)
        return Decision("accept", "allowed by policy", name)

    # -- deny --------------------------------------------------------------------------------

    def _blocked(
        self, kind: ActionType, rule: Rule, data: dict[str, Any], analysis: Analysis | None
    ) -> str | None:
        if analysis is not None:
            reason = check(analysis)
            if reason is not None:
                return reason
            for simple in analysis.commands:
                pattern = _command_match(simple, rule.blocked_patterns)
                if pattern is not None:
                    return f"matches blocked pattern {pattern!r}"
        path = data.get("file_path")
        if path is not None:
            if not isinstance(path, str) or not path:
                return "file_path must be a non-empty string"
            resolved = self._resolve(path)
            if resolved is None:
                return f"{path!r} is outside the workspace"
            pattern = _path_match(resolved, rule.blocked_patterns)
            if pattern is not None:
                return f"{path!r} matches blocked pattern {pattern!r}"
        if rule.max_file_size_mb is not None:
            size = data.get("file_size")
            if not isinstance(size, int | float):
                content = data.get("content")
                size = len(content.encode()) if isinstance(content, str) else 0
            if size > rule.max_file_size_mb * 1_048_576:
                return f"{size / 1_048_576:.1f} MB is over the {rule.max_file_size_mb:g} MB limit"
        return self._validator(kind, rule, data)

    def _resolve(self, path: str) -> str | None:
        """The normalised path (``..``, ``./`` and repeated slashes removed); under a
        workspace root, its real path there, or None when it escapes the root."""
        root = self.config.workspace_root
        if root is None:
            return posixpath.normpath(path.replace("\\", "/"))
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(real_root / path))
        if real != real_root and real_root not in real.parents:
            return None
        return real.relative_to(real_root).as_posix()

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
        self, kind: ActionType, rule: Rule, data: dict[str, Any], analysis: Analysis | None
    ) -> str | None:
        if analysis is not None:
            if analysis.parse_error is not None:
                return f"the command could not be read ({analysis.parse_error})"
            if rule.allowed_patterns and any(
                _command_match(simple, rule.allowed_patterns) is None
                for simple in analysis.commands
            ):
                return "not in the allowed patterns"
        path = data.get("file_path")
        if isinstance(path, str) and rule.allowed_patterns:
            resolved = self._resolve(path) or path
            if _path_match(resolved, rule.allowed_patterns) is None:
                return "not in the allowed patterns"
        if not self.config.auto_accept:
            return "auto-accept is off"
        if not rule.enabled:
            return f"auto-accept is off for {kind}"
        if rule.requires_confirmation:
            return f"{kind} requires confirmation"
        return None


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
