"""The approval policy the controller applies, for ``chatops policy``: the config file's rules
with the runtime changes the controller persisted over them (the auto-accept toggle, rules
changed from Discord or the socket) and the live grants, read from its database. Without a
database (or one that cannot be read) it is the file's policy alone, and says so.

The controller reloads the same rows at start (:func:`.controls.apply_saved`), so what is shown
is what it decides, running or not.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatops.config.approvals import ApprovalsConfig
from chatops.paths import NoDatabase
from chatops.records.approvals import Grant
from chatops.services.approvals.controls import apply_saved
from chatops.services.approvals.grants import live_grant
from chatops.services.approvals.policy import Policy
from chatops.store import SavedSetting, read_approval_changes_offline


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    config: ApprovalsConfig
    now: float
    changes: dict[str, SavedSetting] = field(default_factory=dict)
    """The runtime changes applied over the file, by setting name."""
    grants: tuple[Grant, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    """Saved rules that no longer validate, ``(name, why)``: the controller skips them too."""
    file_only: str | None = None
    """Why only the config file was read (no database, or one that cannot be read)."""
    unreadable: bool = False
    """The database is there but could not be read: changes the controller saved may be
    missing (unlike no database at all, where the file is the whole policy)."""

    @property
    def policy(self) -> Policy:
        return Policy(self.config)

    def decide(
        self, action_type: str, data: dict[str, Any], agent: str | None = None
    ) -> dict[str, Any]:
        """The decision as the controller would make it. A grant answers only what would go to
        a human: with ``agent``, its grant turns ``confirm`` into ``accept``; without, the
        agents that hold one for this type are listed."""
        decision = self.policy.decide(action_type, data)
        answer: dict[str, Any] = {
            "decision": decision.decision,
            "reason": decision.reason,
            "rule": decision.rule,
        }
        if decision.decision != "confirm":
            return answer
        if agent is not None:
            grant = live_grant(self.grants, agent, action_type, self.now)
            if grant is not None:
                answer["decision"] = "accept"
                answer["reason"] = f"allowed for {agent} (grant #{grant.id} by {grant.created_by})"
                answer["via"] = "grant"
            return answer
        holders = sorted({g.agent for g in self.grants if g.action_type == action_type})
        if holders:
            answer["granted_to"] = holders
        return answer


def load_effective_policy(config: ApprovalsConfig, database: Path, now: float) -> EffectivePolicy:
    """``config`` (the file's section, left untouched) with what the controller saved in
    ``database`` applied over a copy of it."""
    try:
        saved, grants = read_approval_changes_offline(database, now)
    except NoDatabase as exc:
        return EffectivePolicy(config, now, file_only=str(exc))
    except sqlite3.Error as exc:
        return EffectivePolicy(
            config, now, file_only=f"the database {database} cannot be read: {exc}", unreadable=True
        )
    effective = config.model_copy(deep=True)
    skipped = apply_saved(effective, {name: setting.value for name, setting in saved.items()})
    return EffectivePolicy(
        effective,
        now,
        changes={name: s for name, s in saved.items() if name not in dict(skipped)},
        grants=tuple(grants),
        skipped=tuple(skipped),
    )
