"""The ``approvals`` config section: the global auto-accept toggle, one rule per action type
(whether it is auto-accepted, its size cap, patterns and validator), the workspace root and who
may approve."""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator


class ActionType(StrEnum):
    FILE_WRITE = "file_write"
    TERMINAL_COMMAND = "terminal_command"
    CODE_GENERATION = "code_generation"
    TEST_EXECUTION = "test_execution"
    CODE_REVIEW = "code_review"

    @classmethod
    def named(cls, text: str) -> ActionType | None:
        """The action type called ``text``, or None for a name the policy does not know."""
        try:
            return cls(text)
        except ValueError:
            return None


class Rule(BaseModel):
    """How one action type is decided: auto-accepted or confirmed, its size cap, the patterns it
    must or must not match and a custom validator; ``timeout`` is how long its prompt waits and
    ``approvals_required`` how many approvers it needs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Auto-accept this type when nothing blocks it; off: every such action is confirmed."""
    requires_confirmation: bool = False
    max_file_size_mb: float | None = Field(None, gt=0)
    allowed_patterns: list[str] = Field(default_factory=list)
    blocked_patterns: list[str] = Field(default_factory=list)
    custom_validator: str | None = None
    """A dotted path to ``callable(action_type, data)``: False or a reason string denies."""
    timeout: float = Field(300, gt=0, le=86400)
    approvals_required: int = Field(1, ge=1, le=10)

    @field_validator("custom_validator")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and ("." not in value or not value.replace(".", "_").isidentifier()):
            raise ValueError("custom_validator is a dotted path like package.module.function")
        return value


class SocketDecisions(StrEnum):
    """Who may decide over the socket, besides the controller's own uid. An agent usually runs
    under that uid too, which makes it one trust domain with the operator (it could edit the
    database); these modes close the easy paths, not that one. The hard line is agents under
    another uid, admitted with ``monitoring.socket_group``."""

    INTERACTIVE = "interactive"
    """A process with a controlling terminal, outside the asking agent's session, process
    group and process tree (as recorded when it asked): a human at a shell. A detached escape
    (``setsid -f``, a double fork) has no terminal, or keeps the agent's session."""
    ANY = "any"
    """Outside the agent's session, group and tree, terminal or not: for automation."""
    OFF = "off"
    """Decisions in Discord only."""


def validator_problem(dotted: str) -> str | None:
    """Why ``dotted`` is not a callable this process can import, or None.

    Checked at load, not at the first decision: a validator that cannot be imported denies
    every action of its type (deny when unsure), which is a broken policy, not a safe one.
    Importing runs the module, as the policy would on its first use anyway."""
    module, _, attribute = dotted.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        return f"cannot import {module}: {exc}"
    except AttributeError:
        return f"{module} has no {attribute}"
    except Exception as exc:  # the module itself fails as it is imported
        return f"importing {module} fails: {type(exc).__name__}: {exc}"[:300]
    if not callable(found):
        return f"{dotted} is not callable"
    return None


def seed_rules() -> dict[ActionType, Rule]:
    """The default rule of every action type: what a config that names no rule gets."""
    return {
        ActionType.FILE_WRITE: Rule(
            max_file_size_mb=10, blocked_patterns=["*.env", "*.key", "*secret*"]
        ),
        ActionType.TERMINAL_COMMAND: Rule(
            enabled=False,
            requires_confirmation=True,
            blocked_patterns=["rm -rf", "del /S /Q", "format", "mkfs"],
        ),
        ActionType.CODE_GENERATION: Rule(max_file_size_mb=5),
        ActionType.TEST_EXECUTION: Rule(),
        ActionType.CODE_REVIEW: Rule(),
    }


class ApprovalsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_accept: bool = True
    """Off: everything not blocked needs confirmation; what is blocked stays blocked."""
    workspace_root: Path | None = None
    """Paths are resolved under it (symlinks included); one that escapes it is denied."""
    rules: dict[ActionType, Rule] = Field(default_factory=seed_rules)
    approver_role_ids: list[int] = Field(default_factory=list)
    approver_user_ids: list[int] = Field(default_factory=list)
    """Who may answer approval prompts; the configured admins when both are empty."""
    session_minutes: float = Field(30, gt=0, le=24 * 60)
    """How long "Approve for this agent" lets the agent's requests of that type through."""
    reattach_grace: float = Field(60, gt=0, le=3600)
    """After a controller restart, how long a pending request waits for its agent to ask
    again (with its request key) before it is denied and its prompt closed."""
    max_pending_per_agent: int = Field(20, ge=1, le=1000)
    """More open prompts than this from one agent are denied at once (a flood stays cheap)."""
    max_pending: int = Field(200, ge=1, le=10000)
    """And more than this from all agents together (agent names cost nothing)."""
    socket_decisions: SocketDecisions = SocketDecisions.INTERACTIVE
    """Who may decide with ``chatops approvals approve|deny`` over the socket (always the
    controller's own uid only, never a connection that registered a bot or asked for approval):
    see :class:`SocketDecisions`. Older configs' ``true``/``false`` mean ``interactive``/``off``."""
    unattended: Literal["answer", "wait"] = "answer"
    """A request for a human when no approver can be told of it (no Discord approval or alert
    channel, no webhook): ``answer`` denies it at once, saying so (the Claude Code hook then
    hands it to Claude Code's own prompt) instead of holding the agent until the timeout;
    ``wait`` holds it for ``chatops approvals approve|deny`` from a shell."""
    parse_in_worker: bool = True
    """Parse commands in a child process, so a parser crash costs one decision."""

    @field_validator("socket_decisions", mode="before")
    @classmethod
    def _was_a_bool(cls, value: object) -> object:
        """It was a bool: ``true`` (open) becomes ``interactive``, the narrowest open door, and
        ``false`` (or YAML's unquoted ``off``, read as false) stays off; the environment's
        strings (``true``, ``0``...) are read as pydantic reads a bool."""
        if isinstance(value, str) and value.strip().lower() not in set(SocketDecisions):
            try:
                value = TypeAdapter(bool).validate_python(value)
            except ValidationError:
                return value
        if isinstance(value, bool):
            return SocketDecisions.INTERACTIVE if value else SocketDecisions.OFF
        return value

    @field_validator("rules")
    @classmethod
    def _complete(cls, rules: dict[ActionType, Rule]) -> dict[ActionType, Rule]:
        """A rule the config does not name keeps its default (:func:`seed_rules`)."""
        return {**seed_rules(), **rules}

    def unusable_validators(self) -> list[tuple[tuple[str, ...], str]]:
        """``(key, why)`` for every ``custom_validator`` that cannot be imported here."""
        found: list[tuple[tuple[str, ...], str]] = []
        for kind, rule in self.rules.items():
            if rule.custom_validator is not None:
                why = validator_problem(rule.custom_validator)
                if why is not None:
                    found.append((("rules", str(kind), "custom_validator"), why))
        return found
