"""Browser softphone protocol."""
from __future__ import annotations

import os

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    TextReceived,
    Transfer,
)
from voicebot.telephony.softphone import SoftphoneAdapter

# The fuzzing issue raises this (e.g. VOICEBOT_FUZZ_EXAMPLES=100000); CI keeps it quick.
FUZZ_EXAMPLES = int(os.environ.get("VOICEBOT_FUZZ_EXAMPLES", "300"))


def tone(rate_hz: int, seconds: float) -> bytes:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (np.sin(2 * np.pi * 300 * t) * 6000).astype("<i2").tobytes()


def started(**start: object) -> SoftphoneAdapter:
    adapter = SoftphoneAdapter()
    adapter.receive_text(json.dumps({"type": "start", **start}))
    return adapter


def test_start_text_dtmf_audio_hangup() -> None:
    adapter = SoftphoneAdapter()
    [start] = adapter.receive_text(
        json.dumps({"type": "start", "call_id": "web-1", "lang": "ko", "account": {"id": "A-17", "due_won": 120000}})
    )
    assert start == CallStarted(
        call_id="web-1",
        rate_hz=16000,
        params={"lang": "ko", "account.id": "A-17", "account.due_won": "120000",
                "account": '{"id":"A-17","due_won":120000}'},
        peer="softphone",
    )
    assert adapter.receive_text('{"type":"text","text":"내일 낼게요"}') == [TextReceived("내일 낼게요")]
    assert adapter.receive_text('{"type":"dtmf","digit":"1"}') == [DtmfReceived("1")]
    pcm = tone(16000, 0.02)
    assert adapter.receive_bytes(pcm) == [AudioReceived(pcm, 16000)]
    assert adapter.receive_text('{"type":"hangup"}') == [CallEnded("hangup")]
    assert adapter.close_reason() == "hangup"
    assert adapter.receive_bytes(pcm) == []


def test_start_rate_and_generated_call_id() -> None:
    adapter = started(rate_hz=48000)
    assert adapter.call_id and adapter.out_rate_hz == 48000
    frames = adapter.send(PlayAudio(tone(16000, 0.1), 16000)) + adapter.send(SendMark("m"))
    assert all(isinstance(f, bytes) and len(f) == 1920 for f in frames[:-1])


def test_outbound_frames_marks_and_clear() -> None:
    adapter = started()
    frames = adapter.send(PlayAudio(tone(24000, 0.11), 24000))
    tail = adapter.send(SendMark("utt-1"))
    audio = [f for f in frames + tail if isinstance(f, bytes)]
    assert all(len(f) == 640 for f in audio)
    assert len(audio) == 6  # 110 ms resampled to 16 kHz: 5.5 frames, the last one padded
    assert json.loads(tail[-1]) == {"type": "mark", "name": "utt-1"}
    assert adapter.receive_text('{"type":"played","name":"utt-1"}') == [MarkPlayed("utt-1")]
    adapter.send(SendMark("utt-2"))
    assert adapter.send(ClearAudio()) == ['{"type":"clear"}']
    assert adapter.take_events() == [MarkCleared("utt-2")]
    assert adapter.receive_text('{"type":"played","name":"utt-2"}') == []


def test_json_commands() -> None:
    adapter = started()
    assert adapter.send(SendJson('{"type":"caption","text":"hi"}')) == ['{"type":"caption","text":"hi"}']
    assert json.loads(adapter.send(Hangup("completed"))[0]) == {"type": "hangup", "reason": "completed"}  # type: ignore[arg-type]
    [transfer] = adapter.send(Transfer("agent-7", "dispute", {"promise": "2026-01-05"}))
    assert json.loads(transfer) == {
        "type": "transfer", "target": "agent-7", "reason": "dispute", "summary": {"promise": "2026-01-05"}
    }


def test_sequence_rules() -> None:
    adapter = SoftphoneAdapter()
    assert adapter.send(PlayAudio(tone(16000, 0.1), 16000)) == []
    for text in ('{"type":"text","text":"x"}', '{"type":"played","name":"m"}'):
        with pytest.raises(ProtocolError) as info:
            adapter.receive_text(text)
        assert info.value.close_code == 1008
    with pytest.raises(ProtocolError) as info:
        adapter.receive_bytes(b"\x00\x00")
    assert info.value.close_code == 1008
    assert adapter.receive_text('{"type":"hangup"}') == [CallEnded("hangup")]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nope", 1007),
        ('{"type":1}', 1007),
        ('{"type":"warp"}', 1008),
        ('{"type":"start","rate_hz":"fast"}', 1007),
        ('{"type":"start","call_id":7}', 1007),
        ('{"type":"start","account":[1]}', 1007),
    ],
)
def test_malformed(text: str, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        SoftphoneAdapter().receive_text(text)
    assert info.value.close_code == code


TYPES = st.sampled_from(["start", "text", "dtmf", "hangup", "played", "x"])
VALUES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10) | st.dictionaries(
    st.text(max_size=4), st.text(max_size=4) | st.integers(), max_size=3
)
MESSAGES = st.builds(
    lambda t, f: json.dumps({"type": t, **f}),
    TYPES,
    st.dictionaries(st.sampled_from(["call_id", "lang", "account", "rate_hz", "text", "digit", "name"]), VALUES, max_size=4),
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=80) | st.binary(max_size=64) | MESSAGES, max_size=8))
def test_fuzz_only_protocol_errors(inputs: list[str | bytes]) -> None:
    adapter = SoftphoneAdapter()
    for item in inputs:
        try:
            adapter.receive_bytes(item) if isinstance(item, bytes) else adapter.receive_text(item)
        except ProtocolError as exc:
            assert exc.close_code in (1003, 1007, 1008, 1009)
