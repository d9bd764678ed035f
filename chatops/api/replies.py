"""Replies over the socket: a session's hook waits for its operator's words (``await_reply``),
an operator at a shell gives them (``agent_reply``). The rules are
:class:`~chatops.services.replies.ReplyService`'s."""

from __future__ import annotations

from typing import Any

from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.wire.agent_requests import AgentReply, AwaitReply
from chatops.wire.outcomes import Handler, Immediate, Later, Outcome
from chatops.wire.peer import Peer

ANSWER_MARGIN = 5.0
"""The wait's own timeout answers ``null``; the request's outlasts it by this much, so the
hook gets that answer rather than a ``timeout`` error."""


def reply_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    replies = services.replies

    async def awaited(peer: Peer, msg: AwaitReply) -> dict[str, Any]:
        text = await replies.await_reply(
            callers.of(peer),
            msg.agent,
            msg.pid,
            msg.timeout,
            continued=msg.continued,
            max_replies=msg.max_replies,
        )
        return {"agent": msg.agent, "reply": text}

    def await_reply(peer: Peer, msg: AwaitReply) -> Outcome:
        return Later(awaited(peer, msg), msg.timeout + ANSWER_MARGIN)

    def agent_reply(peer: Peer, msg: AgentReply) -> Outcome:
        outcome = replies.reply_as_operator(callers.of(peer), msg.agent, msg.text)
        return Immediate({"agent": outcome.agent, "delivered": outcome.delivered})

    return {AwaitReply: await_reply, AgentReply: agent_reply}
