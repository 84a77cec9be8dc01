"""What a call's listener hands the recogniser: speech with its pauses, but not the segment
silence after it (TRAILING_FEED_MS), using the real VAD on synthetic audio."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from voicebot.config import Config
from voicebot.session import PREROLL_MS, TRAILING_FEED_MS, ChannelListener

RATE = 8000


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def _fed(audio: np.ndarray) -> tuple[list[str], float]:
    """Push ``audio`` in 20 ms frames; return the queued item kinds and seconds of audio fed."""
    kinds, fed_s, _ = _fed_timed(audio)
    return kinds, fed_s


def _fed_timed(audio: np.ndarray) -> tuple[list[str], float, list[float]]:
    """As _fed, plus the stream time (s) at which each item was queued."""
    session = SimpleNamespace(
        runtime=SimpleNamespace(config=Config()), assist=True, grammar_for=lambda ch: None,
        on_speech_start=lambda ch, ms: None, on_speech_end=lambda ch, ms: None,
    )
    listener = ChannelListener(session, "agent", RATE)  # type: ignore[arg-type]
    queued_at: list[float] = []
    for i in range(0, len(audio), RATE // 50):
        listener.push(audio[i : i + RATE // 50].astype("<i2").tobytes())
        queued_at += [(i + RATE // 50) / RATE] * (listener.queue.qsize() - len(queued_at))
    kinds: list[str] = []
    fed = 0
    while not listener.queue.empty():
        kind, data = listener.queue.get_nowait()
        kinds.append(kind)
        if kind == "start":
            fed += sum(len(a) for a in data[1])
        elif kind == "audio":
            fed += len(data) // 2
    return kinds, fed / RATE, queued_at


def test_endpoint_silence_is_not_fed() -> None:
    kinds, fed_s, queued_at = _fed_timed(np.concatenate([_silence(0.5), _tone(1.0), _silence(1.0)]))
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("end") == 1
    # The tail went to the recogniser once the silence passed TRAILING_FEED_MS, so nothing but
    # the final is left to decode when the segment silence (250 ms) ends the utterance.
    segment_s = Config().asr.segment_silence_ms / 1000
    assert kinds[-2] == "audio"
    assert abs(queued_at[-2] - (1.5 + TRAILING_FEED_MS / 1000)) <= 0.04
    assert abs(queued_at[-1] - (1.5 + segment_s)) <= 0.04
    # pre-roll + speech + at most TRAILING_FEED_MS (+ one 20 ms frame), not the segment silence
    assert 1.0 + TRAILING_FEED_MS / 1000 - 0.04 <= fed_s - PREROLL_MS / 1000 <= 1.0 + TRAILING_FEED_MS / 1000 + 0.04


def test_a_pause_inside_the_utterance_is_fed_whole() -> None:
    # 220 ms pause < 250 ms segment silence: one utterance, and the held part of the pause
    # (past TRAILING_FEED_MS) is fed when speech resumes, so word times after it stay right.
    assert TRAILING_FEED_MS < 220 < Config().asr.segment_silence_ms
    kinds, fed_s = _fed(np.concatenate([_silence(0.5), _tone(0.6), _silence(0.22), _tone(0.6), _silence(1.0)]))
    assert kinds.count("start") == 1 and kinds.count("end") == 1
    spoken = 0.6 + 0.22 + 0.6
    assert abs(fed_s - PREROLL_MS / 1000 - spoken - TRAILING_FEED_MS / 1000) <= 0.06  # VAD frame edges


def test_a_longer_pause_ends_the_segment() -> None:
    # 400 ms > the 250 ms segment silence: two segments (their turn is joined later).
    kinds, _ = _fed(np.concatenate([_silence(0.5), _tone(0.6), _silence(0.4), _tone(0.6), _silence(1.0)]))
    assert kinds.count("start") == 2 and kinds.count("end") == 2
