"""The grants' rules, which every door follows (the prompt's grant buttons, ``/autoaccept
revoke``, ``chatops approvals grant|revoke``): a grant comes with the approval of an open
request, lasts ``session_minutes`` or until revoked, is never offered where a rule wants more
than one approver, and only an active grant can be revoked."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatops.api.errors import explain
from chatops.client import MonitorClient
from chatops.composition.controller import Controller
from chatops.config import Settings
from chatops.config.approvals import Rule
from chatops.services.approvals.events import ApprovalError
from chatops.services.approvals.service import ApprovalService
from chatops.services.callers import Caller
from chatops.services.errors import NotFound, Refused
from chatops.wire.protocol import ErrorCode
from tests.conftest import FakeClock, make_settings, wait_for

RISKY = {"command": "git push origin main"}


@pytest.fixture
async def agent(settings: Settings) -> AsyncIterator[MonitorClient]:
    client = MonitorClient(settings.monitoring.socket_path, backoff_initial=0.05)
    yield client
    await client.close()


async def asking(service: ApprovalService, agent: MonitorClient) -> tuple[int, asyncio.Task[Any]]:
    """The agent's request, pending; its id and the agent's waiting call."""
    call = asyncio.create_task(agent.request_approval("terminal_command", RISKY, agent="a1"))
    await wait_for(lambda: service.pending())
    return service.pending()[0].id, call


def operator() -> Caller:
    """The controller's own uid on a connection that never spoke as an agent."""
    return Caller(pid=os.getpid(), uid=os.geteuid())


async def test_a_grant_comes_with_the_approval_and_lasts_session_minutes(
    start_controller: Any, agent: MonitorClient
) -> None:
    clock = FakeClock()
    ctl: Controller = await start_controller(clock=clock)
    service = ctl.services.approvals
    request_id, call = await asking(service, agent)
    assert service.granting.grants_offered(service.records[request_id])

    record, grant = service.granting.approve_and_grant(
        request_id, "session", by="alice", identity="1", via="discord"
    )
    assert record.state == "approved" and record.decided_by == "alice"
    assert grant is not None and (grant.agent, grant.action_type) == ("a1", "terminal_command")
    assert grant.until == clock() + service.config.session_minutes * 60
    assert (await asyncio.wait_for(call, 10))["decision"] == "approve"
    through = await agent.request_approval("terminal_command", RISKY, agent="a1")
    assert through["via"] == "grant"

    with pytest.raises(ApprovalError, match="already approved"):  # no grant without a decision
        service.granting.approve_and_grant(
            request_id, "always", by="bob", identity="2", via="discord"
        )
    assert [g.id for g in service.grants.active()] == [grant.id]


async def test_always_lasts_until_revoked_and_only_an_active_grant_is_revoked(
    start_controller: Any, agent: MonitorClient
) -> None:
    ctl: Controller = await start_controller()
    service = ctl.services.approvals
    request_id, call = await asking(service, agent)
    _, grant = service.granting.approve_and_grant(
        request_id, "always", by="alice", identity="1", via="discord"
    )
    await asyncio.wait_for(call, 10)
    assert grant is not None and grant.until is None

    assert service.granting.revoke_grant(grant.id, by="alice") == grant
    assert service.grants.find("a1", "terminal_command") is None
    with pytest.raises(NotFound, match=f"No active grant #{grant.id}"):
        service.granting.revoke_grant(grant.id, by="alice")


async def test_no_grant_where_a_rule_wants_more_than_one_approver(
    workdir: Path, start_controller: Any
) -> None:
    settings = make_settings(workdir)
    settings.approvals.rules["terminal_command"] = Rule(
        enabled=False, requires_confirmation=True, approvals_required=2
    )
    ctl: Controller = await start_controller(settings)
    service = ctl.services.approvals
    async with MonitorClient(settings.monitoring.socket_path) as agent:
        request_id, call = await asking(service, agent)
        record = service.records[request_id]
        assert not service.granting.grants_offered(record)

        with pytest.raises(Refused, match="needs 2 approvers"):
            service.granting.approve_and_grant(
                request_id, "session", by="al", identity="1", via="discord"
            )
        # The operator's door from a shell says the same; the socket answers it as a typed
        # refusal.
        with pytest.raises(Refused, match="needs 2 approvers") as refused:
            service.granting.grant_as_operator(operator(), request_id, "always")
        assert explain(refused.value) == (ErrorCode.PERMISSION_DENIED, str(refused.value))
        # Refused before anything was decided: no approver counted, no grant.
        assert record.pending and record.approvers == [] and service.grants.active() == []
        call.cancel()


async def test_revoking_over_the_socket_goes_through_the_operator_s_door(
    start_controller: Any,
) -> None:
    ctl: Controller = await start_controller()
    service = ctl.services.approvals
    grant = service.grants.add("a1", "terminal_command", by="alice", seconds=None)
    stranger = Caller(pid=os.getpid(), uid=os.geteuid() + 1)
    with pytest.raises(Refused) as refused:
        service.granting.revoke_as_operator(stranger, grant.id)
    assert explain(refused.value) == (ErrorCode.PERMISSION_DENIED, str(refused.value))
    assert service.grants.active()

    assert service.granting.revoke_as_operator(operator(), grant.id) == grant
    with pytest.raises(NotFound, match=f"No active grant #{grant.id}") as missing:
        service.granting.revoke_as_operator(operator(), grant.id)
    assert explain(missing.value) == (ErrorCode.NOT_FOUND, f"No active grant #{grant.id}")
