"""The wire format on its own: seed messages, error classification, framing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatops.wire.framing import LineFramer
from chatops.wire.protocol import (
    MESSAGE_TYPES,
    ErrorCode,
    GetStatus,
    Heartbeat,
    LlmUsage,
    ProtocolError,
    Register,
    decode,
)
from tests.conftest import new_controller

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


# Lines that reach the decoder's dark corners: valid messages with invalid UTF-8 spliced into
# a string, nesting from a few to 10,000 levels, and plain arbitrary bytes.
_TYPES = st.sampled_from(["register", "heartbeat", "llm_usage", "ping", "get_status", "x"])
_BAD_UTF8 = st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])


@st.composite
def _invalid_utf8_in_a_string(draw: st.DrawFn) -> bytes:
    kind = draw(_TYPES)
    field = draw(st.sampled_from(["channel", "model", "key", "unknown"]))
    prefix = draw(st.text(max_size=5)).encode()
    return (
        b'{"type":"'
        + kind.encode()
        + b'","pid":1,"'
        + field.encode()
        + b'":"'
        + prefix
        + draw(_BAD_UTF8)
        + b'"}'
    )


@st.composite
def _deeply_nested(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(min_value=1, max_value=10_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    core = opener * depth + b"1" + closer * depth
    return draw(st.sampled_from([core, b'{"type":"register","features":' + core + b"}"]))


NASTY_LINES = st.one_of(st.binary(max_size=300), _invalid_utf8_in_a_string(), _deeply_nested())


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=300)
@given(NASTY_LINES)
def test_decoder_returns_a_message_or_a_typed_error_and_nothing_else(data: bytes) -> None:
    try:
        message = decode(data)
    except ProtocolError as exc:
        assert isinstance(exc.code, ErrorCode)
        assert exc.message
    except Exception as exc:  # pragma: no cover - the failure this test exists to catch
        raise AssertionError(f"decode raised {type(exc).__name__}: {exc}") from exc
    else:
        assert type(message).__struct_config__.tag in MESSAGE_TYPES


def test_invalid_utf8_and_deep_nesting_are_invalid_json() -> None:
    for line in (
        b'{"type":"register","channel":"a\xff","pid":1}',
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 2_000 + b"1" + b"}" * 2_000,
    ):
        with pytest.raises(ProtocolError) as caught:
            decode(line)
        assert caught.value.code is ErrorCode.INVALID_JSON


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


@pytest.fixture(scope="module")
def live_socket() -> Iterator[Path]:
    """A controller in its own thread and loop, so a synchronous hypothesis test can use it."""
    import asyncio
    import shutil
    import tempfile
    import threading

    from tests.conftest import make_settings

    work = Path(tempfile.mkdtemp(prefix="co-hyp-", dir="/tmp"))
    settings = make_settings(work)
    loop = asyncio.new_event_loop()
    controller = new_controller(settings)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(controller.start(), loop).result(60)
    try:
        yield settings.monitoring.socket_path
    finally:
        asyncio.run_coroutine_threadsafe(controller.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        shutil.rmtree(work, ignore_errors=True)


@settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
    max_examples=150,
)
@given(NASTY_LINES)
def test_the_connection_answers_a_ping_after_any_line(live_socket: Path, data: bytes) -> None:
    import socket

    line = data.replace(b"\n", b" ")  # one line, whatever it holds
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(live_socket))
        stream = sock.makefile("rwb")
        stream.write(line + b'\n{"id": "after", "type": "ping"}\n')
        stream.flush()
        # The line gets at most one reply (none for a blank line or an id-less write); then
        # the ping's, on the same connection.
        replies = []
        while not replies or replies[-1].get("id") != "after":
            reply = stream.readline()
            assert reply, f"connection closed after {line[:80]!r}: {replies}"
            replies.append(json.loads(reply))
    assert len(replies) <= 2 and replies[-1]["pong"] is True, replies


@pytest.mark.parametrize("field", ["channel", "host"])
def test_a_name_cannot_end_with_a_newline(field: str) -> None:
    """A regex's ``$`` matches before a final newline: names are checked to the very end."""
    message = {"type": "register", "channel": "bot", "pid": 5, "host": "vm1", "id": 3}
    message[field] = "bot\n"
    with pytest.raises(ProtocolError) as caught:
        decode(json.dumps(message).encode())
    assert caught.value.code == ErrorCode.INVALID_MESSAGE
