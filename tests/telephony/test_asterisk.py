"""Asterisk chan_websocket, replayed from the frames measured against Asterisk master."""
from __future__ import annotations

import os

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.audio.g711 import ulaw_decode
from voicebot.errors import ProtocolError
from voicebot.events import (
    AudioReceived,
    CallStarted,
    ClearAudio,
    ControlReceived,
    DtmfReceived,
    FlowPaused,
    FlowResumed,
    Hangup,
    MarkCleared,
    MarkPlayed,
    PlayAudio,
    SendJson,
    SendMark,
    Transfer,
)
from voicebot.telephony.asterisk import AsteriskWsAdapter

PLAIN_START = (
    "MEDIA_START connection_id:media_connection1 channel:WebSocket/media_connection1/0x5140 "
    "channel_id:1761245643.1 format:ulaw optimal_frame_size:160 ptime:20"
)
JSON_START = {
    "event": "MEDIA_START",
    "connection_id": "media_connection1",
    "channel": "WebSocket/media_connection1/0x5140",
    "channel_id": "1761245643.1",
    "format": "slin16",
    "optimal_frame_size": 640,
    "ptime": 20,
    "channel_variables": {"MEDIA_WEBSOCKET_CONNECTION_ID": "media_connection1", "CALLERID(num)": "1000"},
}

# The fuzzing issue raises this (e.g. VOICEBOT_FUZZ_EXAMPLES=100000); CI keeps it quick.
FUZZ_EXAMPLES = int(os.environ.get("VOICEBOT_FUZZ_EXAMPLES", "300"))


def tone(rate_hz: int, seconds: float) -> bytes:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (np.sin(2 * np.pi * 300 * t) * 6000).astype("<i2").tobytes()


def test_plain_media_start_with_query_params() -> None:
    adapter = AsteriskWsAdapter(query_params={"a": "1", "b": "2"})
    [start] = adapter.receive_text(PLAIN_START)
    assert start == CallStarted(
        call_id="1761245643.1",
        rate_hz=8000,
        params={
            "a": "1",
            "b": "2",
            "connection_id": "media_connection1",
            "channel": "WebSocket/media_connection1/0x5140",
            "channel_id": "1761245643.1",
        },
        peer="asterisk",
    )
    assert (adapter.format, adapter.optimal_frame_size, adapter.ptime_ms, adapter.frame_ms) == ("ulaw", 160, 20, 20)
    ulaw = bytes(range(160))
    assert adapter.receive_bytes(ulaw) == [AudioReceived(ulaw_decode(ulaw).astype("<i2").tobytes(), 8000)]


def test_first_release_media_start_without_channel_id_or_ptime() -> None:
    adapter = AsteriskWsAdapter()
    [start] = adapter.receive_text("MEDIA_START connection_id:c1 channel:WebSocket/c1/0x1 format:slin optimal_frame_size:320")
    assert start.call_id == "c1" and start.rate_hz == 8000  # type: ignore[union-attr]
    assert adapter.ptime_ms == 20 and adapter.optimal_frame_size == 320


def test_json_media_start_carries_channel_variables() -> None:
    adapter = AsteriskWsAdapter(default_format="ulaw")
    [start] = adapter.receive_text(json.dumps(JSON_START))
    assert isinstance(start, CallStarted)
    assert start.rate_hz == 16000
    assert start.params["CALLERID(num)"] == "1000"
    assert adapter.control_format == "json"
    pcm = tone(16000, 0.02)
    assert adapter.receive_bytes(pcm) == [AudioReceived(pcm, 16000)]
    # the last frame of a file can be short, and odd
    assert adapter.receive_bytes(pcm[:25]) == [AudioReceived(pcm[:24], 16000)]


def test_binary_before_media_start_is_delivered_after_it() -> None:
    adapter = AsteriskWsAdapter()
    early = [bytes([0x80 + i]) * 160 for i in range(3)]
    for frame in early:
        assert adapter.receive_bytes(frame) == []
    events = adapter.receive_text(PLAIN_START)
    assert isinstance(events[0], CallStarted)
    assert events[1] == AudioReceived(ulaw_decode(b"".join(early)).astype("<i2").tobytes(), 8000)


def test_flow_marks_dtmf_and_other_events() -> None:
    adapter = AsteriskWsAdapter()
    adapter.receive_text(PLAIN_START)
    assert adapter.receive_text("MEDIA_XOFF") == [FlowPaused()]
    assert adapter.receive_text('{"event":"MEDIA_XON","channel_id":"1761245643.1"}') == [FlowResumed()]
    assert adapter.receive_text("DTMF_END digit:5 channel_id:1761245643.1") == [DtmfReceived("5")]
    assert adapter.receive_text('{"event":"DTMF_END","channel_id":"x","digit":"#"}') == [DtmfReceived("#")]
    [status] = adapter.receive_text(
        "STATUS channel_id:1761245643.1 queue_length:12 xon_level:800 xoff_level:900 queue_full:false "
        "bulk_media:false media_paused:false"
    )
    assert status == ControlReceived(
        "STATUS",
        {"channel_id": "1761245643.1", "queue_length": "12", "xon_level": "800", "xoff_level": "900",
         "queue_full": "false", "bulk_media": "false", "media_paused": "false"},
    )
    [error] = adapter.receive_text("ERROR channel_id:1.1 error_text:Invalid command: FOO")
    assert error == ControlReceived("ERROR", {"channel_id": "1.1", "error_text": "Invalid command: FOO"})
    assert adapter.receive_text("QUEUE_DRAINED") == [ControlReceived("QUEUE_DRAINED", {})]
    assert adapter.receive_text("MEDIA_BUFFERING_COMPLETED utt7") == [
        ControlReceived("MEDIA_BUFFERING_COMPLETED", {"args": ["utt7"]})
    ]
    assert adapter.receive_text('{"event":"SOMETHING_NEW","x":1}') == [ControlReceived("SOMETHING_NEW", {"x": 1})]


def test_outbound_frames_are_multiples_of_optimal_frame_size() -> None:
    adapter = AsteriskWsAdapter()
    adapter.receive_text(PLAIN_START)
    pcm = tone(16000, 0.517)
    messages = adapter.send(PlayAudio(pcm[:1000], 16000)) + adapter.send(PlayAudio(pcm[1000:], 16000))
    messages += adapter.send(SendMark("utt-1"))
    audio = [m for m in messages if isinstance(m, bytes)]
    assert all(len(m) == 160 for m in audio)
    assert len(audio) == -(-round(len(pcm) / 2 / 2) // 160)
    assert messages[-1] == "MARK_MEDIA utt-1"
    assert adapter.receive_text("MEDIA_MARK_PROCESSED utt-1") == [MarkPlayed("utt-1")]


def test_big_messages_stay_under_65000_bytes() -> None:
    adapter = AsteriskWsAdapter(frames_per_message=500)
    adapter.receive_text(json.dumps(JSON_START))
    messages = adapter.send(PlayAudio(tone(16000, 5.0), 16000)) + adapter.send(Hangup())
    audio = [m for m in messages if isinstance(m, bytes)]
    assert all(len(m) < 65_000 and len(m) % 640 == 0 for m in audio)
    assert len(audio[0]) == 101 * 640
    assert adapter.frame_ms == 101 * 20
    assert messages[-1] == '{"command":"HANGUP"}'


def test_flush_media_clears_pending_marks() -> None:
    adapter = AsteriskWsAdapter()
    adapter.receive_text(PLAIN_START)
    adapter.send(PlayAudio(tone(8000, 0.3), 8000))
    adapter.send(SendMark("a"))
    adapter.send(SendMark("b"))
    assert adapter.receive_text("MEDIA_MARK_PROCESSED a") == [MarkPlayed("a")]
    assert adapter.send(ClearAudio()) == ["FLUSH_MEDIA"]
    assert adapter.take_events() == [MarkCleared("b")]
    assert adapter.take_events() == []
    # an echo already in flight when we flushed is not reported twice
    assert adapter.receive_text("MEDIA_MARK_PROCESSED b") == []


def test_long_mark_names_are_aliased_within_128_bytes() -> None:
    adapter = AsteriskWsAdapter()
    adapter.receive_text(PLAIN_START)
    name = "prompt with spaces " + "x" * 200
    [command] = adapter.send(SendMark(name))
    assert isinstance(command, str) and len(command.encode()) <= 128
    wire_id = command.split(" ", 1)[1]
    assert adapter.receive_text(f"MEDIA_MARK_PROCESSED {wire_id}") == [MarkPlayed(name)]
    adapter_json = AsteriskWsAdapter()
    adapter_json.receive_text(json.dumps(JSON_START))
    [command] = adapter_json.send(SendMark("utt-9"))
    assert json.loads(command) == {"command": "MARK_MEDIA", "correlation_id": "utt-9"}
    echo = '{"event":"MEDIA_MARK_PROCESSED","channel_id":"1761245643.1","correlation_id":"utt-9"}'
    assert adapter_json.receive_text(echo) == [MarkPlayed("utt-9")]


def test_commands_before_media_start_and_other_commands() -> None:
    adapter = AsteriskWsAdapter()
    assert adapter.send(PlayAudio(tone(8000, 0.1), 8000)) == []
    assert adapter.dropped_before_start == 1
    adapter.receive_text(PLAIN_START)
    assert adapter.send(Transfer("support", "asked")) == ["HANGUP"]
    assert adapter.send(SendJson("{}")) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", 1007),
        ("   ", 1007),
        ("{bad json", 1007),
        ('{"no":"event"}', 1007),
        ("MEDIA_START format:opus optimal_frame_size:160", 1008),
        ("MEDIA_START format:slin16 optimal_frame_size:641", 1007),
        ("MEDIA_START format:ulaw ptime:abc", 1007),
        ("DTMF_END", 1007),
        ("MEDIA_MARK_PROCESSED", 1007),
        ("bad-event-name!", 1007),
    ],
)
def test_malformed_control(text: str, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        AsteriskWsAdapter().receive_text(text)
    assert info.value.close_code == code


def test_second_media_start_is_refused() -> None:
    adapter = AsteriskWsAdapter()
    adapter.receive_text(PLAIN_START)
    with pytest.raises(ProtocolError) as info:
        adapter.receive_text(PLAIN_START)
    assert info.value.close_code == 1008


EVENTS = st.sampled_from(["MEDIA_START", "MEDIA_XOFF", "MEDIA_XON", "DTMF_END", "MEDIA_MARK_PROCESSED", "STATUS", "X"])
KEYS = st.sampled_from(["format", "optimal_frame_size", "ptime", "channel_id", "digit", "correlation_id",
                        "channel_variables", "connection_id"])
VALUES = st.none() | st.booleans() | st.integers(-10, 70_000) | st.text(max_size=10) | st.sampled_from(
    ["ulaw", "alaw", "slin", "slin16", "slin44", "160", "640", "20", "0"]
) | st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.integers(), max_size=3)
JSON_CONTROL = st.builds(lambda e, f: json.dumps({"event": e, **f}), EVENTS, st.dictionaries(KEYS, VALUES, max_size=5))
PLAIN_CONTROL = st.builds(
    lambda e, pairs: " ".join([e] + [f"{k}:{v}" for k, v in pairs]),
    EVENTS,
    st.lists(st.tuples(KEYS, st.text(max_size=6) | st.sampled_from(["ulaw", "slin16", "160", "20"])), max_size=5),
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=100) | st.binary(max_size=400) | JSON_CONTROL | PLAIN_CONTROL, max_size=10))
def test_fuzz_only_protocol_errors(inputs: list[str | bytes]) -> None:
    adapter = AsteriskWsAdapter()
    for item in inputs:
        try:
            adapter.receive_bytes(item) if isinstance(item, bytes) else adapter.receive_text(item)
        except ProtocolError as exc:
            assert exc.close_code in (1003, 1007, 1008, 1009)
    if adapter.started:
        for message in adapter.send(PlayAudio(tone(8000, 0.05), 8000)) + adapter.send(SendMark("m")):
            if isinstance(message, bytes):
                assert len(message) % adapter.optimal_frame_size == 0
