"""Answering-machine beep detection on synthetic tones and real espeak-ng speech."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from voicebot.audio.tone import BeepDetector

RATE = 8000


def _tone(hz: float, seconds: float, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


@pytest.mark.parametrize("hz", [440.0, 1000.0, 1400.0, 2000.0])
def test_beep_is_found_after_160_ms(hz: float) -> None:
    audio = np.concatenate([np.zeros(RATE // 2, np.int16), _tone(hz, 0.5)])
    hits = BeepDetector(RATE).process(audio)
    assert len(hits) == 1
    assert RATE // 2 + int(0.16 * RATE) - 160 <= hits[0] <= RATE // 2 + int(0.16 * RATE) + 160


def test_short_blip_quiet_tone_and_noise_are_not_beeps() -> None:
    rng = np.random.default_rng(7)
    assert BeepDetector(RATE).process(_tone(1000, 0.1)) == []  # too short
    assert BeepDetector(RATE).process(_tone(1000, 0.5, amp=0.003)) == []  # too quiet
    noise = (rng.standard_normal(RATE) * 6000).astype(np.int16)
    assert BeepDetector(RATE).process(noise) == []


def test_chunked_equals_whole() -> None:
    audio = np.concatenate([np.zeros(RATE // 3, np.int16), _tone(900, 0.4), np.zeros(RATE // 4, np.int16)])
    whole = BeepDetector(RATE).process(audio)
    d = BeepDetector(RATE)
    chunked = [h for i in range(0, len(audio), 137) for h in d.process(audio[i:i + 137])]
    assert whole == chunked and len(whole) == 1


@pytest.mark.parametrize("voice, text", [
    ("en", "hello you have reached the voicemail of jordan please leave a message after the tone"),
    ("ko", "지금은 전화를 받을 수 없습니다 삐 소리 후에 메시지를 남겨 주세요"),
    ("cmn", "您好 您拨打的电话暂时无人接听 请在提示音后留言"),
])
def test_speech_is_not_a_beep_but_the_greeting_then_beep_is(espeak: Any, voice: str, text: str) -> None:
    speech = espeak(text, voice, RATE)
    assert BeepDetector(RATE).process(speech) == []
    hits = BeepDetector(RATE).process(np.concatenate([speech, _tone(1000, 0.4)]))
    assert len(hits) == 1 and hits[0] > len(speech)


def test_skipped_audio_still_counts_in_hit_offsets() -> None:
    # The call skips analysis until the caller has spoken long enough for a voicemail greeting;
    # a later beep's offset must still count from the start of the call, not of the analysis.
    audio = np.concatenate([_tone(1000, 0.5), np.zeros(RATE // 2, np.int16), _tone(1000, 0.4)])
    whole = BeepDetector(RATE).process(audio)
    d = BeepDetector(RATE)
    d.process(audio[:100])
    d.skip(RATE // 2 - 100)  # the first tone goes unexamined
    rest = d.process(audio[RATE // 2:])
    assert len(whole) == 2 and rest == whole[1:]
