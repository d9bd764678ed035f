"""Asking before acting, on the agent's side: ``request_approval`` waits for the policy or a
human; ``should_accept_action`` (kept under the name existing agent code calls) asks the
policy only.

Deny when unsure: a monitor that cannot be reached, a malformed request, or no answer in time
is a ``deny`` with the reason, never an approval. A request carries a key of its own, so when
the connection drops while a human is deciding (the controller restarting), the call
reconnects and asks again with the same key: it re-attaches to the same prompt, and a decision
made meanwhile comes back at once.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Protocol

from chatops.client.actions import fit_action_data
from chatops.client.messages import checked
from chatops.wire.protocol import MAX_ACTION_DATA_BYTES, ApprovalRequest, Message

RECONNECT_GRACE = 60.0
"""After losing the connection mid-wait, how long to keep asking again (the controller's
``approvals.reattach_grace`` by default)."""
_RETRY = frozenset({"shutting_down", "storage_error", "internal_error"})


class _Requests(Protocol):
    async def request(
        self, message: Message, *, timeout: float | None = None
    ) -> dict[str, Any] | None: ...

    async def wait_connected(self, timeout: float) -> bool: ...

    @property
    def connected(self) -> bool: ...

    def registered_channels(self) -> list[str]: ...


def _denied(reason: str) -> dict[str, Any]:
    return {"decision": "deny", "approved": False, "reason": reason, "rule": None}


class ApprovalCalls:
    async def request_approval(
        self: _Requests,
        action_type: str,
        data: dict[str, Any],
        *,
        timeout: float | None = None,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Ask before acting; waits until the policy or a human decides, or ``timeout``.

        Returns ``decision`` (``approve`` or ``deny``), ``approved``, ``reason``, ``rule``,
        ``request`` (its id), ``decided_by``, ``via`` and ``policy``; ``updated_data``: when an
        approver edited the action before approving, the data to act on *instead of* ``data``
        (None otherwise), with their ``comment``."""
        message = checked(
            ApprovalRequest,
            agent=agent or _default_agent(self),
            action_type=action_type,
            data=fit_action_data(data),
            timeout=timeout,
            key=uuid.uuid4().hex,
        )
        if message is None:
            return _denied(f"not asked: the request is invalid (max {MAX_ACTION_DATA_BYTES} B)")
        deadline = time.monotonic() + (timeout or 300.0) + RECONNECT_GRACE + 15.0
        asked = False
        while (remaining := deadline - time.monotonic()) > 0:
            if asked and not self.connected:
                await self.wait_connected(min(remaining, 5.0))
                continue
            reply = await self.request(message, timeout=remaining)
            if reply is None and not asked:
                return _denied("the monitor could not be reached")
            asked = True
            if reply is None:
                continue  # the connection dropped while waiting: ask again with the key
            if reply.get("ok"):
                return _result(reply)
            error = reply.get("error") or {}
            if error.get("code") not in _RETRY:
                return _denied(f"refused by the monitor: {error.get('message')}")
        return _denied("no answer from the monitor in time")

    async def should_accept_action(
        self: _Requests,
        action_type: str,
        action_data: dict[str, Any],
        *,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """The policy's answer (and this agent's grants') without a prompt: ``accept``,
        ``requires_confirmation``, ``reason`` (plus ``decision`` and ``rule``). Unreachable: not
        accepted, confirmation required."""
        message = checked(
            ApprovalRequest,
            agent=agent or _default_agent(self),
            action_type=action_type,
            data=fit_action_data(action_data),
            wait=False,
        )
        reply = None if message is None else await self.request(message)
        if not reply or not reply.get("ok"):
            why = "the monitor could not be reached" if reply is None else "refused by the monitor"
            return {"accept": False, "requires_confirmation": True, "reason": why}
        return {
            "accept": reply.get("decision") == "approve",
            "requires_confirmation": reply.get("policy") == "confirm"
            and reply.get("decision") != "approve",
            "reason": reply.get("reason"),
            "decision": reply.get("policy"),
            "rule": reply.get("rule"),
            "updated_data": reply.get("updated_data"),
        }


def _result(reply: dict[str, Any]) -> dict[str, Any]:
    keys = (
        *("decision", "reason", "rule", "request", "decided_by", "via", "policy", "state"),
        *("updated_data", "comment"),
    )
    result = {key: reply.get(key) for key in keys}
    result["approved"] = reply.get("decision") == "approve"
    return result


def _default_agent(client: _Requests) -> str:
    """The bot this client registered (the first), else this process."""
    channels = client.registered_channels()
    return channels[0] if channels else f"pid-{os.getpid()}"
