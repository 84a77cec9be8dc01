"""Pyttsx3Engine against real espeak-ng: languages, worker crashes, timeouts, concurrency."""
from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.tts.samples import SENTENCES, speech_fraction
from voicebot.errors import EngineError
from voicebot.tts.base import Rendered
from voicebot.tts.pyttsx3_engine import Pyttsx3Engine


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_renders_speech_of_plausible_duration(espeak_renders: dict[str, Rendered], lang: str) -> None:
    rendered = espeak_renders[lang]
    assert rendered.rate_hz == 22050
    assert 0.2 <= rendered.duration_s <= 10.0
    assert speech_fraction(rendered) > 0.3


def test_longer_text_gives_longer_audio(espeak_renders: dict[str, Rendered]) -> None:
    assert espeak_renders["en"].duration_s > 3 * espeak_renders["ko"].duration_s


def test_voice_and_rate_change_the_audio(espeak_engines: dict[str, Pyttsx3Engine]) -> None:
    slow = Pyttsx3Engine("en", rate_wpm=100)
    try:
        slow_audio = slow.render(SENTENCES["en"])
    finally:
        slow.close()
    normal_audio = espeak_engines["en"].render(SENTENCES["en"])
    assert slow_audio.duration_s > 1.3 * normal_audio.duration_s


def test_worker_output_never_reaches_our_stdout(
    espeak_engines: dict[str, Pyttsx3Engine], capfd: pytest.CaptureFixture[str]
) -> None:
    espeak_engines["ko"].render("아니요")
    assert "Audio saved" not in capfd.readouterr().out


def test_blank_text_and_unknown_voice_raise_engine_error(espeak_engines: dict[str, Pyttsx3Engine]) -> None:
    with pytest.raises(EngineError, match="blank"):
        espeak_engines["ko"].render("  ")
    bad = Pyttsx3Engine("en", voice="no-such-voice-xx")
    try:
        with pytest.raises(EngineError, match="no-such-voice-xx"):
            bad.render("hello")
        # The worker survives a bad request.
        assert bad.worker_pids
    finally:
        bad.close()


def _wait_until_dead(pid: int, timeout_s: float = 5.0) -> None:
    """Wait until every thread of ``pid`` has exited (a zombie leader with no other tasks)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            return
        if state == "Z" and len(tasks) <= 1:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still running")


def test_worker_killed_while_idle_is_replaced_transparently() -> None:
    engine = Pyttsx3Engine("ko")
    try:
        first = engine.render("네")
        [pid] = engine.worker_pids
        os.kill(pid, signal.SIGKILL)
        _wait_until_dead(pid)
        again = engine.render("네")
        assert again.duration_s == pytest.approx(first.duration_s, rel=0.05)
        assert engine.worker_pids and engine.worker_pids[0] != pid
    finally:
        engine.close()


def test_worker_killed_mid_request_fails_that_request_only() -> None:
    engine = Pyttsx3Engine("ko")
    try:
        engine.start()
        [pid] = engine.worker_pids
        os.kill(pid, signal.SIGSTOP)  # freeze it so the request is surely in flight
        errors: list[BaseException] = []

        def render() -> None:
            try:
                engine.render("네")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        thread = threading.Thread(target=render)
        thread.start()
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        thread.join(10)
        assert len(errors) == 1 and isinstance(errors[0], EngineError)
        assert engine.render("네").duration_s > 0.2
        assert engine.worker_pids[0] != pid
    finally:
        engine.close()


def test_hung_worker_times_out_and_is_replaced() -> None:
    engine = Pyttsx3Engine("ko", render_timeout_s=0.3)
    try:
        engine.start()
        [pid] = engine.worker_pids
        os.kill(pid, signal.SIGSTOP)
        with pytest.raises(EngineError, match="no reply"):
            engine.render("네")
        _wait_until_dead(pid)
        assert engine.render("네").duration_s > 0.2
    finally:
        engine.close()


def test_concurrent_renders_share_workers_safely(espeak_engines: dict[str, Pyttsx3Engine]) -> None:
    # espeak's output varies by a few samples between renders, so compare durations: a crossed
    # wire would hand a short text the long text's audio.
    texts = ["네", SENTENCES["ko"] + " 감사합니다. 안녕히 계세요. 다음에 다시 연락드리겠습니다."]
    serial = [espeak_engines["ko"].render(t).duration_s for t in texts]
    assert serial[1] > 3 * serial[0]
    engine = Pyttsx3Engine("ko", workers=2)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(engine.render, texts * 4))
        assert 1 <= len(engine.worker_pids) <= 2
        for i, rendered in enumerate(results):
            assert rendered.duration_s == pytest.approx(serial[i % 2], rel=0.05)
    finally:
        engine.close()
    assert engine.worker_pids == []
