"""Session fixtures for the TTS tests: real espeak-ng workers and the real Piper voice.

Engines start once per session and every sample sentence is rendered once, so the whole
directory runs in seconds.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tts.samples import SENTENCES
from voicebot.tts.base import Rendered
from voicebot.tts.piper_engine import PiperEngine
from voicebot.tts.pyttsx3_engine import Pyttsx3Engine


@pytest.fixture(scope="session")
def espeak_engines() -> Iterator[dict[str, Pyttsx3Engine]]:
    engines = {lang: Pyttsx3Engine(lang) for lang in ("en", "zh", "ko")}  # type: ignore[arg-type]
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.close()


@pytest.fixture(scope="session")
def espeak_renders(espeak_engines: dict[str, Pyttsx3Engine]) -> dict[str, Rendered]:
    return {lang: espeak_engines[lang].render(text) for lang, text in SENTENCES.items()}


@pytest.fixture(scope="session")
def piper_engine() -> PiperEngine:
    return PiperEngine()


@pytest.fixture(scope="session")
def piper_render(piper_engine: PiperEngine) -> Rendered:
    return piper_engine.render(SENTENCES["en"])
