"""Twilio / SignalWire media streams, replayed as Twilio documents the frames."""
from __future__ import annotations

import os

import base64
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.audio.g711 import ulaw_decode, ulaw_encode
from voicebot.errors import ProtocolError
from voicebot.events import (
    AudioReceived,
    CallEnded,
    CallStarted,
    ClearAudio,
    DtmfReceived,
    Hangup,
    MarkCleared,
    MarkPlayed,
    PlayAudio,
    SendJson,
    SendMark,
    Transfer,
)
from voicebot.telephony.twilio import TwilioAdapter

START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZ123",
    "start": {
        "streamSid": "MZ123",
        "accountSid": "AC456",
        "callSid": "CA789",
        "tracks": ["inbound"],
        "customParameters": {"tenant": "acme", "lang": "en"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}

# The fuzzing issue raises this (e.g. VOICEBOT_FUZZ_EXAMPLES=100000); CI keeps it quick.
FUZZ_EXAMPLES = int(os.environ.get("VOICEBOT_FUZZ_EXAMPLES", "300"))


def tone(rate_hz: int, seconds: float, freq_hz: float = 440.0) -> bytes:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (np.sin(2 * np.pi * freq_hz * t) * 8000).astype("<i2").tobytes()


def media(payload: bytes, timestamp: int | None = None, chunk: int = 1) -> str:
    body: dict[str, object] = {"track": "inbound", "chunk": str(chunk), "payload": base64.b64encode(payload).decode()}
    if timestamp is not None:
        body["timestamp"] = str(timestamp)
    return json.dumps({"event": "media", "sequenceNumber": str(chunk + 1), "streamSid": "MZ123", "media": body})


def started() -> TwilioAdapter:
    adapter = TwilioAdapter()
    assert adapter.receive_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})) == []
    adapter.receive_text(json.dumps(START))
    return adapter


def payloads(messages: list[str | bytes]) -> list[bytes]:
    out = []
    for message in messages:
        assert isinstance(message, str)
        obj = json.loads(message)
        if obj["event"] == "media":
            assert obj["streamSid"] == "MZ123"
            out.append(base64.b64decode(obj["media"]["payload"]))
    return out


def test_documented_call_sequence() -> None:
    adapter = TwilioAdapter()
    events = adapter.receive_text('{"event":"connected","protocol":"Call","version":"1.0.0"}')
    events += adapter.receive_text(json.dumps(START))
    ulaw = ulaw_encode(np.array([0, 1000, -1000, 32000] * 40, dtype=np.int16))
    events += adapter.receive_text(media(ulaw, 0))
    events += adapter.receive_text(
        '{"event":"dtmf","sequenceNumber":"57","streamSid":"MZ123","dtmf":{"track":"inbound_track","digit":"5"}}'
    )
    events += adapter.receive_text('{"event":"stop","sequenceNumber":"240","streamSid":"MZ123",'
                                   '"stop":{"accountSid":"AC456","callSid":"CA789"}}')
    assert events[0] == CallStarted(
        call_id="CA789",
        rate_hz=8000,
        params={"tenant": "acme", "lang": "en", "accountSid": "AC456", "callSid": "CA789", "streamSid": "MZ123"},
        peer="twilio",
    )
    assert isinstance(events[1], AudioReceived)
    assert events[1].rate_hz == 8000 and events[1].channel == "caller" and events[1].gap_ms == 0
    assert events[1].pcm == ulaw_decode(ulaw).astype("<i2").tobytes()
    assert events[2] == DtmfReceived("5")
    assert events[3] == CallEnded("stop")
    assert adapter.close_reason() == "stop"
    # after stop everything is ignored
    assert adapter.receive_text(media(ulaw, 20)) == []


def test_media_before_start_is_a_sequence_error() -> None:
    adapter = TwilioAdapter()
    with pytest.raises(ProtocolError) as info:
        adapter.receive_text(media(b"\xff" * 160, 0))
    assert info.value.close_code == 1008
    assert "before start" in info.value.reason


def test_stop_without_start_ends_the_call() -> None:
    adapter = TwilioAdapter()
    assert adapter.receive_text('{"event":"stop","streamSid":"MZ1"}') == [CallEnded("stop")]
    assert not adapter.started


@pytest.mark.parametrize("size", [1, 37, 160, 161, 400, 8000])
def test_any_chunk_size_is_audio(size: int) -> None:
    adapter = started()
    [event] = adapter.receive_text(media(bytes(range(256)) * (size // 256) + bytes(range(size % 256)), 0))
    assert isinstance(event, AudioReceived)
    assert len(event.pcm) == 2 * size


def test_timestamp_gaps_become_gap_ms() -> None:
    adapter = started()
    frame = b"\xff" * 160
    gaps = [adapter.receive_text(media(frame, ts))[0].gap_ms for ts in (3, 23, 43, 143, 163)]  # type: ignore[union-attr]
    assert gaps == [0, 0, 0, 80, 0]
    # a missing or malformed timestamp is not an error and reports no gap
    assert adapter.receive_text(media(frame))[0].gap_ms == 0  # type: ignore[union-attr]


def test_unknown_events_and_fields_are_ignored() -> None:
    adapter = started()
    assert adapter.receive_text('{"event":"somethingNew","x":{"y":1}}') == []
    [event] = adapter.receive_text(
        json.dumps({"event": "media", "streamSid": "MZ123", "extra": [1, 2], "media": {"payload": "/w==", "new": 1}})
    )
    assert isinstance(event, AudioReceived)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", 1007),
        ("[1,2]", 1007),
        ('{"noevent":1}', 1007),
        ('{"event":5}', 1007),
        ('{"event":"media","media":{"payload":"@@@"}}', 1007),
        ('{"event":"media","media":{"payload":5}}', 1007),
        ('{"event":"media","media":"x"}', 1007),
        ('{"event":"dtmf","dtmf":{"digit":""}}', 1007),
        ('{"event":"mark","mark":{}}', 1007),
        ('{"event":"start","start":{}}', 1008),
    ],
)
def test_malformed_messages(text: str, code: int) -> None:
    adapter = started()
    with pytest.raises(ProtocolError) as info:
        adapter.receive_text(text)
    assert info.value.close_code == code


def test_binary_frames_are_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        started().receive_bytes(b"\xff" * 160)
    assert info.value.close_code == 1003


def test_start_without_streamsid_and_bad_format() -> None:
    with pytest.raises(ProtocolError) as info:
        TwilioAdapter().receive_text('{"event":"start","start":{"callSid":"CA1"}}')
    assert info.value.close_code == 1007
    bad = json.loads(json.dumps(START))
    bad["start"]["mediaFormat"]["encoding"] = "audio/opus"
    with pytest.raises(ProtocolError) as info:
        TwilioAdapter().receive_text(json.dumps(bad))
    assert info.value.close_code == 1008


@pytest.mark.parametrize("in_rate_hz", [8000, 16000, 22050, 24000])
def test_outbound_frames_are_exactly_160_bytes(in_rate_hz: int) -> None:
    adapter = started()
    pcm = tone(in_rate_hz, 1.013)
    messages = []
    for i in range(0, len(pcm), 2 * 333):  # awkward chunking
        messages += adapter.send(PlayAudio(pcm[i : i + 2 * 333], in_rate_hz))
    tail = adapter.send(SendMark("utt-1"))
    frames = payloads(messages) + payloads(tail)
    assert all(len(frame) == 160 for frame in frames)
    expected_samples = round(len(pcm) / 2 * 8000 / in_rate_hz)
    assert len(frames) == -(-expected_samples // 160)  # ceil: the last one is padded
    assert json.loads(tail[-1]) == {"event": "mark", "streamSid": "MZ123", "mark": {"name": "utt-1"}}
    # the audio survives: decoded energy of the middle frames is that of the tone
    middle = ulaw_decode(b"".join(frames[5:-5])).astype(np.float64)
    assert 0.6 * 8000 / np.sqrt(2) < np.sqrt(np.mean(middle**2)) < 1.4 * 8000 / np.sqrt(2)


def test_remainder_is_kept_and_padded_with_ulaw_silence() -> None:
    adapter = started()
    assert adapter.send(PlayAudio(tone(8000, 100 / 8000), 8000)) == []
    [one] = payloads(adapter.send(PlayAudio(tone(8000, 100 / 8000), 8000)))
    assert len(one) == 160
    [padded] = payloads(adapter.send(SendMark("m")))
    assert len(padded) == 160
    assert padded[40:] == b"\xff" * 120  # mu-law silence after the 40 real samples
    assert padded[:40] == ulaw_encode(np.frombuffer(tone(8000, 100 / 8000), "<i2")[60:])


def test_marks_echoed_after_clear_are_cleared() -> None:
    adapter = started()
    adapter.send(PlayAudio(tone(8000, 0.5), 8000))
    adapter.send(SendMark("a"))
    adapter.send(PlayAudio(tone(8000, 0.5), 8000))
    adapter.send(SendMark("b"))
    assert adapter.send(ClearAudio()) == ['{"event":"clear","streamSid":"MZ123"}']
    adapter.send(SendMark("c"))
    echo = lambda name: adapter.receive_text(json.dumps({"event": "mark", "streamSid": "MZ123", "mark": {"name": name}}))  # noqa: E731
    # Twilio echoes every pending mark on clear, then plays on
    assert echo("a") == [MarkCleared("a")]
    assert echo("b") == [MarkCleared("b")]
    assert echo("c") == [MarkPlayed("c")]
    assert adapter.take_events() == []


def test_clear_drops_the_remainder() -> None:
    adapter = started()
    adapter.send(PlayAudio(tone(8000, 250 / 8000), 8000))
    adapter.send(ClearAudio())
    assert payloads(adapter.send(SendMark("x"))) == []


def test_nothing_is_sent_before_start() -> None:
    adapter = TwilioAdapter()
    assert adapter.send(PlayAudio(tone(8000, 0.1), 8000)) == []
    assert adapter.send(SendMark("m")) == []
    assert adapter.dropped_before_start == 2


def test_hangup_and_transfer_only_flush() -> None:
    adapter = started()
    adapter.send(PlayAudio(tone(8000, 0.01), 8000))
    flushed = adapter.send(Hangup())
    assert [len(p) for p in payloads(flushed)] == [160]
    assert adapter.send(Transfer("+15551230000", "customer asked")) == []
    assert adapter.send(SendJson('{"x":1}')) == []


def test_signalwire_l16_16k() -> None:
    adapter = TwilioAdapter()
    start = json.loads(json.dumps(START))
    start["start"]["mediaFormat"] = {"encoding": "audio/x-l16", "sampleRate": 16000, "channels": 1}
    [started_event] = adapter.receive_text(json.dumps(start))
    assert isinstance(started_event, CallStarted) and started_event.rate_hz == 16000
    assert adapter.out_rate_hz == 16000
    pcm = tone(16000, 0.02)
    [event] = adapter.receive_text(media(pcm, 0))
    assert isinstance(event, AudioReceived) and event.pcm == pcm and event.rate_hz == 16000
    frames = payloads(adapter.send(PlayAudio(tone(16000, 0.1), 16000)) + adapter.send(SendMark("m")))
    assert frames and all(len(f) == 640 for f in frames)


# ------------------------------------------------------------------------ fuzzing

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["streamSid", "callSid", "accountSid", "customParameters", "mediaFormat", "payload",
                          "timestamp", "digit", "name", "encoding", "sampleRate", "channels", "media", "start",
                          "dtmf", "mark", "stop"])
NESTED = st.dictionaries(FIELDS, JSON_VALUES | st.dictionaries(FIELDS, JSON_VALUES, max_size=5), max_size=6)
MESSAGES = st.builds(
    lambda event, body: json.dumps({"event": event, **body}),
    st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop", "other"]) | JSON_SCALARS,
    NESTED,
)


def feed_only_protocol_errors(adapter: TwilioAdapter, inputs: list[str | bytes]) -> None:
    for item in inputs:
        try:
            if isinstance(item, bytes):
                adapter.receive_bytes(item)
            else:
                adapter.receive_text(item)
        except ProtocolError as exc:
            assert exc.close_code in (1003, 1007, 1008, 1009)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=200) | st.binary(max_size=64) | MESSAGES, max_size=8), st.booleans())
def test_fuzz_only_protocol_errors(inputs: list[str | bytes], start_first: bool) -> None:
    adapter = started() if start_first else TwilioAdapter()
    feed_only_protocol_errors(adapter, inputs)
