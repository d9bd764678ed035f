"""Silences over the socket: an operator at the shell silences a bot, holds every alert, ends a
silence early (``chatops silence|maintenance|unsilence``), through the operator's narrow door
the service keeps; anyone the socket admits lists them (``chatops silences``)."""

from __future__ import annotations

from typing import Any

from chatops.api.callers import Callers
from chatops.composition.services import Services
from chatops.records.alerts import Silence
from chatops.wire.outcomes import Committed, Handler, Immediate, Outcome
from chatops.wire.peer import Peer
from chatops.wire.protocol import ListSilences, Maintenance, SilenceBot, Unsilence


def silence_to_dict(silence: Silence) -> dict[str, Any]:
    """``subject`` null: maintenance, everything; ``kind`` null: every kind of its alerts."""
    return {
        "id": silence.id,
        "subject": silence.subject,
        "kind": silence.kind,
        "until": silence.until,
        "created_at": silence.created_at,
        "created_by": silence.created_by,
        "reason": silence.reason,
    }


def silence_handlers(services: Services, callers: Callers) -> dict[type, Handler]:
    silences = services.silences

    def silence_bot(peer: Peer, msg: SilenceBot) -> Outcome:
        silence = silences.silence_as_operator(
            callers.of(peer), msg.channel, msg.seconds, kind=msg.kind, reason=msg.reason
        )
        return Committed({"silence": silence_to_dict(silence)})

    def maintenance(peer: Peer, msg: Maintenance) -> Outcome:
        silence = silences.maintenance_as_operator(callers.of(peer), msg.seconds, reason=msg.reason)
        return Committed({"silence": silence_to_dict(silence)})

    def unsilence(peer: Peer, msg: Unsilence) -> Outcome:
        silence = silences.end_as_operator(callers.of(peer), msg.silence)
        return Committed({"silence": silence_to_dict(silence)})

    def list_silences(peer: Peer, msg: ListSilences) -> Outcome:
        return Immediate({"silences": [silence_to_dict(s) for s in silences.active()]})

    return {
        SilenceBot: silence_bot,
        Maintenance: maintenance,
        Unsilence: unsilence,
        ListSilences: list_silences,
    }
