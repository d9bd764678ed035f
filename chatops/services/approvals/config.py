"""The ``approvals`` config section: the global auto-accept toggle, one rule per action type
(the agent seed's fields and defaults), the workspace root and who may approve."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ActionType(StrEnum):
    FILE_WRITE = "file_write"
    TERMINAL_COMMAND = "terminal_command"
    CODE_GENERATION = "code_generation"
    TEST_EXECUTION = "test_execution"
    CODE_REVIEW = "code_review"


class Rule(BaseModel):
    """The seed's ``AutoAcceptRule``, plus ``timeout`` and ``approvals_required``."""

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


def seed_rules() -> dict[ActionType, Rule]:
    """The agent seed's default rules."""
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
    socket_decisions: bool = True
    """Let ``chatops approvals approve|deny`` decide over the socket. Only the controller's
    own uid may, and never a connection that registered a bot or asked for approval, nor a
    process descended from the agent that asked."""
    parse_in_worker: bool = True
    """Parse commands in a child process, so a parser crash costs one decision."""

    @field_validator("rules")
    @classmethod
    def _complete(cls, rules: dict[ActionType, Rule]) -> dict[ActionType, Rule]:
        """A rule the config does not name keeps the seed's default."""
        return {**seed_rules(), **rules}
