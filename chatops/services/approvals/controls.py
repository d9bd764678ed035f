"""Changing and reading the approval policy at runtime: ``toggle()``, ``update_rule``,
``get_statistics()``, ``get_recent_actions(limit)`` (the names existing agent code calls).
Runtime changes are validated like the config and persisted (``approval_settings``), so they
survive a restart.

:class:`RuleControls` owns the live configuration and the policy built on it; the approval
service reads both from it (``approvals.controls``) and doors call it to change them: a cog as
the admin it checked, the socket through ``*_as_operator`` (the operator's narrow door, recorded
as who did it, a refused change raised as :class:`~chatops.services.errors.Invalid`)."""

from __future__ import annotations

import logging
import statistics
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError

from chatops.config.approvals import ActionType, ApprovalsConfig, Rule, validator_problem
from chatops.records.approvals import ApprovalRecord, ApprovalStats
from chatops.services.approvals.policy import Policy
from chatops.services.callers import Caller
from chatops.services.errors import Invalid
from chatops.services.operators import OperatorGate, operator_name
from chatops.store.approvals import ApprovalTables
from chatops.timeutil import Clock

log = logging.getLogger(__name__)

AUTO_ACCEPT = "auto_accept"
RULE_PREFIX = "rule:"


def apply_saved(config: ApprovalsConfig, saved: dict[str, Any]) -> list[tuple[str, str]]:
    """Put the runtime changes the controller persisted over ``config`` (in place): the
    auto-accept toggle and each rule changed since. One that no longer validates is skipped
    rather than stopping anything; ``(name, why)`` for each skipped. The controller applies
    them at start, and ``chatops policy`` to show the policy the controller applies."""
    skipped = []
    if isinstance(saved.get(AUTO_ACCEPT), bool):
        config.auto_accept = saved[AUTO_ACCEPT]
    for name, value in saved.items():
        if not name.startswith(RULE_PREFIX):
            continue
        try:
            kind = ActionType(name.removeprefix(RULE_PREFIX))
            config.rules[kind] = Rule.model_validate(value)
        except ValueError as exc:
            skipped.append((name, str(exc)))
    return skipped


class RuleControls:
    def __init__(
        self, config: ApprovalsConfig, tables: ApprovalTables, clock: Clock, gate: OperatorGate
    ) -> None:
        self.config = config.model_copy(deep=True)
        """The live configuration: the file's, then what was changed at runtime."""
        self.policy = Policy(self.config)
        self._tables = tables
        self._clock = clock
        self._gate = gate

    def apply_settings(self, saved: dict[str, Any]) -> None:
        """Changes made at runtime win over the file (see :func:`apply_saved`)."""
        for name, why in apply_saved(self.config, saved):
            log.warning("ignoring the saved approval rule %s: %s", name, why)

    def toggle(self, enabled: bool | None = None, *, by: str = "api") -> bool:
        """Flip (or set) the global auto-accept; off, everything not blocked is confirmed."""
        self.config.auto_accept = (not self.config.auto_accept) if enabled is None else enabled
        self._tables.save_setting(AUTO_ACCEPT, self.config.auto_accept, by, self._clock())
        log.info("auto-accept %s by %s", "on" if self.config.auto_accept else "off", by)
        return self.config.auto_accept

    def update_rule(
        self, action_type: ActionType | str, rule: Rule | dict[str, Any], *, by: str = "api"
    ) -> Rule:
        """Replace a type's rule (a ``Rule`` or its fields, merged over the current one);
        raises ValueError when it does not validate or names a ``custom_validator`` that
        cannot be imported, changing nothing."""
        kind = ActionType(action_type)
        if isinstance(rule, dict):
            rule = Rule.model_validate({**self.config.rules[kind].model_dump(), **rule})
        else:
            rule = Rule.model_validate(rule.model_dump())
        validator = rule.custom_validator
        if validator is not None and validator != self.config.rules[kind].custom_validator:
            why = validator_problem(validator)  # refused now, not at every decision after
            if why is not None:
                raise ValueError(f"custom_validator: {why}")
        self.config.rules[kind] = rule
        self._tables.save_setting(
            RULE_PREFIX + kind, rule.model_dump(mode="json"), by, self._clock()
        )
        log.info("approval rule %s changed by %s", kind, by)
        return rule

    def toggle_as_operator(self, caller: Caller, enabled: bool | None = None) -> bool:
        """``chatops policy toggle``: :meth:`toggle` through the operator's narrow door, under
        ``approvals.socket_decisions`` (see :meth:`OperatorGate.require_decider`)."""
        self._gate.require_decider(caller, self.config.socket_decisions)
        return self.toggle(enabled, by=operator_name(caller))

    def update_rule_as_operator(
        self, caller: Caller, action_type: str, changes: dict[str, Any]
    ) -> Rule:
        """``chatops policy rule``: :meth:`update_rule` through the operator's narrow door; an
        unknown type, a change that does not validate or a validator that cannot be imported
        is :class:`~chatops.services.errors.Invalid`, and nothing changes. Under
        ``approvals.socket_decisions``, like :meth:`toggle_as_operator`."""
        self._gate.require_decider(caller, self.config.socket_decisions)
        if not changes:
            raise Invalid("nothing to change: name at least one KEY=VALUE")
        if action_type not in set(ActionType):
            raise Invalid(f"unknown action type {action_type!r} ({', '.join(ActionType)})")
        try:
            return self.update_rule(action_type, changes, by=operator_name(caller))
        except ValidationError as exc:
            why = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'rule'}: {error['msg']}"
                for error in exc.errors()
            )
            raise Invalid(f"rule {action_type} not changed: {why}") from None
        except ValueError as exc:
            raise Invalid(f"rule {action_type} not changed: {exc}") from None

    async def get_statistics(self, days: float | None = None) -> dict[str, Any]:
        """:meth:`statistics` as a dict, as the socket and the dashboard answer it."""
        return asdict(await self.statistics(days))

    async def statistics(self, days: float | None = None) -> ApprovalStats:
        """Counts by outcome and by type, and the median time a human took to decide."""
        since = None if days is None else self._clock() - days * 86400
        by_state: dict[str, int] = {}
        by_type: dict[str, dict[str, int]] = {}
        by_policy: dict[str, int] = {}
        for action_type, policy, state, count in await self._tables.counts(since):
            by_state[state] = by_state.get(state, 0) + count
            by_policy[policy] = by_policy.get(policy, 0) + count
            per_type = by_type.setdefault(action_type, {})
            per_type[state] = per_type.get(state, 0) + count
        waits = await self._tables.wait_times(since)
        return ApprovalStats(
            enabled=self.config.auto_accept,
            total_actions=sum(by_state.values()),
            by_decision=by_policy,
            by_outcome=by_state,
            by_type=by_type,
            decided_by_humans=len(waits),
            median_decision_ms=statistics.median(waits) if waits else None,
        )

    async def get_recent_actions(self, limit: int = 20) -> list[ApprovalRecord]:
        return await self._tables.recent(max(1, min(limit, 500)))
