"""Transcript segments and caller turns on a real Korean call over /twilio: a caller who pauses
mid-answer gets a final for each part as soon as it ends (asr.segment_silence_ms), but the
dialogue hears the whole answer once (asr.endpoint_silence_ms), live and in replay."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import scaled
from tests.twilio_peer import TwilioPeer, wait_listening
from voicebot.dialogue import load_script
from voicebot.events import EventType as T
from voicebot.recording.format import SessionRecord
from voicebot.recording.replay import replay_session

pytestmark = pytest.mark.slow
CALL_ID = "CA-turns-1"


def _voiced(pcm: np.ndarray) -> np.ndarray:
    """espeak's output without its leading and trailing near-silence, so pauses are exact."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    return pcm[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="module")
def free_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean script with free speech at verification (no grammar), so the test needs no
    minute of disclosures to reach a free-form question."""
    from tests.recording.test_replay import KO_SCRIPT

    text = KO_SCRIPT.read_text(encoding="utf-8")
    line = 'grammar = ["네", "예", "맞아요", "맞습니다", "아니요", "아니에요", "아닙니다"]\n'
    assert line in text
    path = tmp_path_factory.mktemp("script") / "reminder.toml"
    path.write_text(text.replace(line, "", 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def paused_answer(tmp_path_factory: pytest.TempPathFactory, asr_engine: Any, espeak: Any, free_verify: Path) -> SessionRecord:
    """At the (free-form) identity question: phrase, 420 ms pause, phrase."""
    from tests.recording.test_replay import _start, _wait_finished

    srv = _start(tmp_path_factory.mktemp("turns"), asr_engine, dialogue={"script": str(free_verify)})
    first, second = _voiced(espeak("다음 주 금요일에", "ko", 8000)), _voiced(espeak("오십만 원 낼게요", "ko", 8000))
    answer = np.concatenate([first, np.zeros(int(8000 * 0.42), np.int16), second])
    try:
        async def call() -> None:
            async with TwilioPeer(srv.url("/twilio"), call_sid=CALL_ID, params={"lang": "ko"}) as peer:
                await wait_listening(srv, CALL_ID, "verify", scaled(60))
                peer.say(answer, silence_after_s=1.5)
                deadline = time.monotonic() + scaled(30)
                while time.monotonic() < deadline and not peer.speech.empty():
                    await asyncio.sleep(0.05)
                await asyncio.sleep(scaled(1.5))  # decoding may lag the audio a little

        asyncio.run(call())
        return _wait_finished(srv.runtime.config.sessions_path / CALL_ID, scaled(20))
    finally:
        srv.stop()


def _caller(record: SessionRecord, kind: T) -> list[Any]:
    return [e for e in record.events if e.type == kind and str(e.data.get("channel") or "caller") == "caller"]


def test_each_part_gets_its_final_and_the_dialogue_one_turn(paused_answer: SessionRecord) -> None:
    finals, understood = _caller(paused_answer, T.FINAL), _caller(paused_answer, T.UNDERSTOOD)
    starts = _caller(paused_answer, T.SPEECH_START)
    assert len(starts) == 2 and len(finals) == 2, [e.data for e in finals]
    assert len(understood) == 1, [e.data for e in understood]
    assert understood[0].data["text"] == f"{finals[0].data['text']} {finals[1].data['text']}"
    assert understood[0].offset_ms >= finals[1].offset_ms
    # Each final is placed at its own segment (pre-roll included), although the second segment
    # had started before the first one's final was out.
    for final, start in zip(finals, starts):
        assert start.data["audio_ms"] - 300 <= final.data["audio_ms"] <= start.data["audio_ms"]


def test_replay_groups_the_segments_into_the_same_turn(
    paused_answer: SessionRecord, asr_engine: Any, free_verify: Path
) -> None:
    assert paused_answer.meta["asr"]["segment_silence_ms"] == 250
    script = load_script(free_verify)
    text = replay_session(paused_answer, script)
    assert text.identical, text.differences
    audio = replay_session(paused_answer, script, engine=asr_engine)
    assert audio.replayed is not None
    # Free-form words of espeak Korean may differ between recognisers; the turn structure may not.
    assert len(audio.replayed.transcripts) == 2
    assert len(audio.replayed.intents) == len(audio.recorded.intents)
