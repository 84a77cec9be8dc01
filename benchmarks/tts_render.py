"""Render time per second of audio for each TTS engine (median of 5 renders after a warm-up).

    .venv/bin/python benchmarks/tts_render.py

Prints one line per engine/language: startup time, median render seconds, audio seconds, and
their ratio (real-time factor; 0.05 means one second of speech takes 50 ms to render). Also
times a PromptCache hit from memory and from disk.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.tts.base import TtsEngine  # noqa: E402
from voicebot.tts.cache import PromptCache  # noqa: E402
from voicebot.tts.piper_engine import PiperEngine, piper_available  # noqa: E402
from voicebot.tts.pyttsx3_engine import Lang, Pyttsx3Engine  # noqa: E402

TEXTS = {
    "en": "Hello, this is a courtesy reminder that your loan payment of two hundred dollars is due on Friday.",
    "zh": "您好，这是一条还款提醒，您的贷款本期应还两千元，请在星期五之前还款。",
    "ko": "안녕하세요, 고객님의 대출 상환일이 금요일이라는 점을 알려드리기 위해 연락드렸습니다.",
}
RUNS = 5


def measure(label: str, engine: TtsEngine, text: str, startup_s: float) -> None:
    engine.render(text)  # warm-up
    times: list[float] = []
    audio_s = 0.0
    for _ in range(RUNS):
        start = time.perf_counter()
        rendered = engine.render(text)
        times.append(time.perf_counter() - start)
        audio_s = rendered.duration_s
    median_s = statistics.median(times)
    print(
        f"{label:<16} startup {startup_s * 1000:7.0f} ms  render {median_s * 1000:7.1f} ms  "
        f"audio {audio_s:5.2f} s  render/audio-s {median_s / audio_s:.4f}"
    )


def main() -> int:
    engines: list[tuple[str, TtsEngine, str, float]] = []
    for lang in ("en", "zh", "ko"):
        start = time.perf_counter()
        espeak = Pyttsx3Engine(cast(Lang, lang))
        espeak.start()
        engines.append((f"pyttsx3/{lang}", espeak, TEXTS[lang], time.perf_counter() - start))
    if piper_available("en"):
        start = time.perf_counter()
        piper = PiperEngine()
        engines.append(("piper/en", piper, TEXTS["en"], time.perf_counter() - start))
    else:
        print("piper/en         not installed")
    try:
        for label, engine, text, startup_s in engines:
            measure(label, engine, text, startup_s)
        with tempfile.TemporaryDirectory() as cache_dir:
            cache = PromptCache(Path(cache_dir), engines[-1][1], out_rate_hz=8000)
            cache.get(TEXTS["en"])
            memory = _median_s(lambda: cache.get(TEXTS["en"]))
            disk = _median_s(lambda: PromptCache(Path(cache_dir), engines[-1][1], 8000).get(TEXTS["en"]))
            print(f"cache hit        memory {memory * 1e6:7.1f} us  disk {disk * 1000:7.2f} ms")
    finally:
        for _, engine, _, _ in engines:
            if isinstance(engine, Pyttsx3Engine):
                engine.close()
    return 0


def _median_s(action: Callable[[], object]) -> float:
    times: list[float] = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
