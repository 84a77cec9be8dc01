"""Pick and build the text-to-speech engine for a language.

``auto`` prefers Piper for English when its voice is installed (it sounds far more natural)
and espeak-ng through pyttsx3 otherwise; Mandarin and Korean always use espeak-ng, the only
offline voices installed for them.
"""
from __future__ import annotations

from typing import Literal, cast

from voicebot.errors import EngineError
from voicebot.tts.base import TtsEngine
from voicebot.tts.piper_engine import DEFAULT_VOICE, PIPER_LANGS, PiperEngine, piper_available
from voicebot.tts.pyttsx3_engine import ESPEAK_VOICES, Lang, Pyttsx3Engine

EngineName = Literal["auto", "pyttsx3", "piper"]


def make_engine(
    lang: str, engine: EngineName = "auto", voice: str = "", rate_wpm: int = 160
) -> TtsEngine:
    """The engine that speaks ``lang`` ("en", "zh" or "ko").

    ``voice`` is engine-specific: a Piper voice id or ``.onnx`` path for Piper, an espeak-ng
    voice name for pyttsx3; "" means the language default. With ``engine="auto"`` a ``voice``
    that is not an installed Piper voice selects espeak-ng. Raises ``EngineError`` for an
    unknown language, or when Piper is requested but cannot speak ``lang``.
    """
    if lang not in ESPEAK_VOICES:
        raise EngineError(f"no TTS engine for language {lang!r}; expected en, zh or ko")
    if engine == "piper":
        if lang not in PIPER_LANGS:
            raise EngineError(f"Piper has no {lang} voice here; use engine pyttsx3 or auto")
        return PiperEngine(voice or DEFAULT_VOICE, rate_wpm=rate_wpm)
    if engine == "auto" and piper_available(lang, voice or DEFAULT_VOICE):
        return PiperEngine(voice or DEFAULT_VOICE, rate_wpm=rate_wpm)
    if engine not in ("auto", "pyttsx3"):
        raise EngineError(f"unknown TTS engine {engine!r}; expected auto, pyttsx3 or piper")
    return Pyttsx3Engine(cast(Lang, lang), voice=voice, rate_wpm=rate_wpm)
