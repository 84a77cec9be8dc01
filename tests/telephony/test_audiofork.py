"""FreeSWITCH mod_audio_fork / mod_audio_stream (and jambonz listen) frame sequences."""
from __future__ import annotations

import os

import base64
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.errors import ConfigError, ProtocolError
from voicebot.events import (
    AudioReceived,
    CallEnded,
    CallStarted,
    ClearAudio,
    ControlReceived,
    DtmfReceived,
    Hangup,
    MarkCleared,
    MarkPlayed,
    PlayAudio,
    SendJson,
    SendMark,
    Transfer,
)
from voicebot.telephony.audiofork import MAX_MESSAGE_BYTES, AudioForkAdapter

# The fuzzing issue raises this (e.g. VOICEBOT_FUZZ_EXAMPLES=100000); CI keeps it quick.
FUZZ_EXAMPLES = int(os.environ.get("VOICEBOT_FUZZ_EXAMPLES", "300"))


def samples(values: list[int]) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


def test_json_metadata_then_mono_audio() -> None:
    adapter = AudioForkAdapter(rate_hz=16000, channels=1)
    [start] = adapter.receive_text('{"uuid":"3f2a-uuid","caller":"+821012345678","n":5}')
    assert start == CallStarted(
        call_id="3f2a-uuid",
        rate_hz=16000,
        params={"uuid": "3f2a-uuid", "caller": "+821012345678", "n": "5"},
        peer="audiofork",
    )
    pcm = samples(list(range(320)))
    assert adapter.receive_bytes(pcm) == [AudioReceived(pcm, 16000, "caller")]


def test_plain_text_metadata() -> None:
    adapter = AudioForkAdapter()
    [start] = adapter.receive_text("tenant=acme lang=ko")
    assert isinstance(start, CallStarted)
    assert start.params == {"metadata": "tenant=acme lang=ko"}
    assert start.call_id  # generated
    # a JSON array is "any text" too
    [start2] = AudioForkAdapter().receive_text("[1,2]")
    assert start2.params == {"metadata": "[1,2]"}  # type: ignore[union-attr]


def test_binary_before_metadata_starts_the_call() -> None:
    adapter = AudioForkAdapter(rate_hz=8000)
    pcm = samples([1, 2, 3])
    events = adapter.receive_bytes(pcm)
    assert isinstance(events[0], CallStarted) and events[0].params == {}
    assert events[1] == AudioReceived(pcm, 8000, "caller")
    # a later text frame is a control message, not metadata
    assert adapter.receive_text("hello") == [ControlReceived("text", {"text": "hello"})]


def test_odd_bytes_wait_for_the_next_frame() -> None:
    adapter = AudioForkAdapter()
    adapter.receive_text("{}")
    whole = samples([100, -200, 300])
    assert adapter.receive_bytes(whole[:3]) == [AudioReceived(whole[:2], 8000, "caller")]
    assert adapter.receive_bytes(whole[3:5]) == [AudioReceived(whole[2:4], 8000, "caller")]
    assert adapter.receive_bytes(whole[5:]) == [AudioReceived(whole[4:], 8000, "caller")]


def test_stereo_is_split_caller_left_agent_right() -> None:
    adapter = AudioForkAdapter(rate_hz=8000, channels=2)
    [start] = adapter.receive_text('{"callSid":"CA1"}')
    assert start.channels == ("caller", "agent") and start.call_id == "CA1"  # type: ignore[union-attr]
    interleaved = samples([1, -1, 2, -2, 3, -3])
    # 10 bytes: two whole stereo samples plus half of the third
    events = adapter.receive_bytes(interleaved[:10])
    assert events == [AudioReceived(samples([1, 2]), 8000, "caller"), AudioReceived(samples([-1, -2]), 8000, "agent")]
    events = adapter.receive_bytes(interleaved[10:])
    assert events == [AudioReceived(samples([3]), 8000, "caller"), AudioReceived(samples([-3]), 8000, "agent")]


def test_zero_length_frame_is_graceful_shutdown() -> None:
    adapter = AudioForkAdapter()
    adapter.receive_text("{}")
    assert adapter.receive_bytes(b"") == [CallEnded("graceful_shutdown")]
    assert adapter.close_reason() == "graceful_shutdown"
    assert adapter.receive_bytes(samples([1])) == []


def test_jambonz_first_frame_sets_format_and_dtmf_and_marks() -> None:
    adapter = AudioForkAdapter(rate_hz=8000, channels=1)
    meta = {"callSid": "abc", "from": "+1555", "sampleRate": 16000, "mixType": "stereo", "metadata": {"k": "v"}}
    [start] = adapter.receive_text(json.dumps(meta))
    assert start.rate_hz == 16000 and start.channels == ("caller", "agent")  # type: ignore[union-attr]
    assert start.params["metadata"] == '{"k":"v"}'  # type: ignore[union-attr]
    assert adapter.out_rate_hz == 16000
    assert adapter.receive_text('{"event":"dtmf","dtmf":"7","duration":200}') == [DtmfReceived("7")]
    assert adapter.receive_text('{"type":"mark","data":{"name":"p1","event":"playout"}}') == [MarkPlayed("p1")]
    assert adapter.receive_text('{"type":"mark","data":{"name":"p2","event":"cleared"}}') == [MarkCleared("p2")]


def test_play_audio_audio_fork_dialect() -> None:
    adapter = AudioForkAdapter(rate_hz=8000)
    adapter.receive_text("{}")
    pcm = samples(list(range(-400, 400)))
    [message] = adapter.send(PlayAudio(pcm, 8000))
    obj = json.loads(message)
    assert obj["type"] == "playAudio"
    assert obj["data"]["audioContentType"] == "raw" and obj["data"]["sampleRate"] == 8000
    assert base64.b64decode(obj["data"]["audioContent"]) == pcm


def test_play_audio_audio_stream_dialect_resamples() -> None:
    adapter = AudioForkAdapter(rate_hz=16000, dialect="audio_stream")
    pcm = np.zeros(8000, dtype="<i2").tobytes()  # 1 s at 8 kHz
    [message] = adapter.send(PlayAudio(pcm, 8000))
    obj = json.loads(message)
    assert obj["type"] == "streamAudio"
    assert obj["data"]["audioDataType"] == "raw" and obj["data"]["sampleRate"] == 16000
    assert abs(len(base64.b64decode(obj["data"]["audioData"])) - 32000) <= 2


def test_long_audio_is_split_under_650kb() -> None:
    adapter = AudioForkAdapter(rate_hz=16000)
    rng = np.random.default_rng(1)
    pcm = rng.integers(-5000, 5000, 16000 * 25).astype("<i2").tobytes()  # 25 s = 800 kB
    messages = adapter.send(PlayAudio(pcm, 16000))
    assert len(messages) == 2
    assert all(len(m.encode()) < MAX_MESSAGE_BYTES <= 65 * 1024 * 10 for m in messages)  # type: ignore[union-attr]
    joined = b"".join(base64.b64decode(json.loads(m)["data"]["audioContent"]) for m in messages)
    assert joined == pcm


def test_control_commands() -> None:
    adapter = AudioForkAdapter()
    assert adapter.send(ClearAudio()) == ['{"type":"killAudio"}']
    assert adapter.send(Hangup()) == ['{"type":"disconnect"}']
    [transfer] = adapter.send(Transfer("queue:support", "dispute", {"amount": 120000}))
    assert json.loads(transfer) == {
        "type": "transfer",
        "data": {"target": "queue:support", "reason": "dispute", "summary": {"amount": 120000}},
    }
    assert adapter.send(SendMark("m1")) == []
    assert adapter.send(SendJson('{"type":"transcription","data":{}}')) == ['{"type":"transcription","data":{}}']


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ConfigError):
        AudioForkAdapter(channels=3)
    with pytest.raises(ConfigError):
        AudioForkAdapter(dialect="other")  # type: ignore[arg-type]


def test_too_big_messages() -> None:
    adapter = AudioForkAdapter()
    with pytest.raises(ProtocolError) as info:
        adapter.receive_bytes(b"\x00" * (5 * 1024 * 1024))
    assert info.value.close_code == 1009


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
KEYS = st.sampled_from(["uuid", "callSid", "sampleRate", "mixType", "event", "dtmf", "type", "data", "name"]) | st.text(max_size=5)
JSON_TEXT = st.builds(
    json.dumps,
    st.recursive(JSON_SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(KEYS, kids, max_size=5), max_leaves=10),
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(max_size=200) | st.binary(max_size=64) | JSON_TEXT, max_size=8),
    st.sampled_from([1, 2]),
    st.sampled_from(["audio_fork", "audio_stream"]),
)
def test_fuzz_only_protocol_errors(inputs: list[str | bytes], channels: int, dialect: str) -> None:
    adapter = AudioForkAdapter(rate_hz=8000, channels=channels, dialect=dialect)  # type: ignore[arg-type]
    for item in inputs:
        try:
            events = adapter.receive_bytes(item) if isinstance(item, bytes) else adapter.receive_text(item)
        except ProtocolError as exc:
            assert exc.close_code in (1003, 1007, 1008, 1009)
            continue
        for event in events:
            if isinstance(event, AudioReceived):
                assert len(event.pcm) % 2 == 0
