"""Shared constants and the Speech sample type of the ASR tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

GRAMMAR = ["네", "예", "아니요"]
PHRASES = {"ne": "네", "ye": "예", "aniyo": "아니요", "long": "안녕하세요 저는 내일 오만원을 갚겠습니다"}
# (file suffix, rate, WAV encoding): the forms phone audio reaches us in.
FORMATS = [("8k_ulaw", 8000, "ulaw"), ("8k_l16", 8000, "pcm16"), ("16k_l16", 16000, "pcm16")]
# A caller's answer is preceded and followed by line silence; espeak's output is not.
PAD_S = 0.3


@dataclass(frozen=True, eq=False)
class Speech:
    path: Path
    pcm: npt.NDArray[np.int16]  # mono samples as stored in the file (after G.711 round trip)
    rate_hz: int
    text: str

    @property
    def duration_s(self) -> float:
        return self.pcm.size / self.rate_hz
