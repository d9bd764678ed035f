"""The wire format on its own: seed messages, error classification, framing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatops.protocol import (
    ErrorCode,
    GetStatus,
    Heartbeat,
    LineFramer,
    LlmUsage,
    ProtocolError,
    Register,
    decode,
)

# The seed's examples, byte for byte as its documentation writes them.
SEED_REGISTER = b"""{"type": "register", "channel": "el_serda", "pid": 12345, "features": {"llm": true, "translator": false}}"""
SEED_HEARTBEAT = b"""{"type": "heartbeat", "channel": "el_serda", "pid": 12345, "rss_mb": 150.5, "cpu_pct": 2.3}"""
SEED_LLM = b"""{"type": "llm_usage", "channel": "el_serda", "model": "deepseek-chat", "feature": "joke_command", "tokens_in": 150, "tokens_out": 80, "latency_ms": 1200, "estimated_cost": 0.0003}"""


def test_seed_messages_decode_verbatim() -> None:
    register = decode(SEED_REGISTER)
    assert isinstance(register, Register)
    assert (register.channel, register.pid, register.features) == (
        "el_serda",
        12345,
        {"llm": True, "translator": False},
    )
    assert register.id is None
    heartbeat = decode(SEED_HEARTBEAT)
    assert isinstance(heartbeat, Heartbeat)
    assert (heartbeat.rss_mb, heartbeat.cpu_pct) == (150.5, 2.3)
    usage = decode(SEED_LLM)
    assert isinstance(usage, LlmUsage)
    assert (usage.tokens_in, usage.tokens_out, usage.latency_ms, usage.estimated_cost) == (
        150,
        80,
        1200,
        0.0003,
    )
    assert isinstance(decode(b'{"type": "get_status"}'), GetStatus)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{not json", ErrorCode.INVALID_JSON),
        (b"[1, 2]", ErrorCode.INVALID_MESSAGE),
        (b'{"type": "launch_missiles"}', ErrorCode.UNKNOWN_TYPE),
        (b'{"channel": "x"}', ErrorCode.UNKNOWN_TYPE),
        (b'{"type": "heartbeat", "channel": 5}', ErrorCode.INVALID_MESSAGE),
        (b'{"type": "register", "channel": "x", "pid": "12"}', ErrorCode.INVALID_MESSAGE),
        (b'{"type": "register", "channel": "", "pid": 12}', ErrorCode.INVALID_MESSAGE),
        (
            b'{"type": "llm_usage", "channel": "x", "model": "m", "tokens_in": -1}',
            ErrorCode.INVALID_MESSAGE,
        ),
    ],
)
def test_bad_messages_are_classified(line: bytes, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(line)
    assert caught.value.code is code


def test_error_echoes_request_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(b'{"id": 42, "type": "heartbeat", "channel": 5}')
    assert caught.value.request_id == 42
    assert "channel" in caught.value.message


def test_framer_splits_across_chunks_and_bounds_lines() -> None:
    framer = LineFramer(max_line=16)
    assert framer.feed(b'{"a":1}\n{"b"') == ([b'{"a":1}'], False)
    assert framer.feed(b":2}\n\n") == ([b'{"b":2}'], False)
    lines, overflow = framer.feed(b"ok\n" + b"x" * 17)
    assert lines == [b"ok"] and overflow


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_raises_anything_but_protocol_errors(data: bytes) -> None:
    try:
        decode(data)
    except ProtocolError as exc:
        assert exc.code in set(ErrorCode)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "channel", "pid", "id", "rss_mb", "features"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=6,
    )
)
def test_decoder_on_arbitrary_objects(obj: dict[str, object]) -> None:
    try:
        decode(json.dumps(obj).encode())
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_MESSAGE}
