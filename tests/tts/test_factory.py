"""make_engine picks Piper for English and espeak-ng for Korean and Mandarin."""
from __future__ import annotations

import pytest

from voicebot.errors import EngineError
from voicebot.tts.factory import make_engine
from voicebot.tts.piper_engine import PiperEngine
from voicebot.tts.pyttsx3_engine import Pyttsx3Engine


def test_auto_picks_piper_for_english() -> None:
    engine = make_engine("en")
    assert isinstance(engine, PiperEngine)
    assert engine.name == "piper" and engine.voice_id == "en_US-joe-medium"


@pytest.mark.parametrize(("lang", "voice_id"), [("ko", "ko"), ("zh", "cmn")])
def test_auto_picks_espeak_for_korean_and_mandarin(lang: str, voice_id: str) -> None:
    engine = make_engine(lang, rate_wpm=140)
    assert isinstance(engine, Pyttsx3Engine)
    assert (engine.name, engine.voice_id, engine.rate_wpm) == ("pyttsx3", voice_id, 140)
    assert engine.worker_pids == []  # workers start on first render, not on construction


def test_explicit_choices() -> None:
    espeak_en = make_engine("en", engine="pyttsx3")
    assert isinstance(espeak_en, Pyttsx3Engine) and espeak_en.voice_id == "en-us"
    # An espeak voice name is not a Piper voice, so auto falls back to espeak with it.
    gb = make_engine("en", voice="en-gb")
    assert isinstance(gb, Pyttsx3Engine) and gb.voice_id == "en-gb"
    with pytest.raises(EngineError, match="Piper has no ko voice"):
        make_engine("ko", engine="piper")
    with pytest.raises(EngineError, match="language 'fr'"):
        make_engine("fr")
