"""Sample sentences and a speech-energy measure shared by the TTS tests."""
from __future__ import annotations

import numpy as np

from voicebot.tts.base import Rendered

SENTENCES = {
    "ko": "네",
    "en": "Hello, this is a reminder that your loan payment is due on Friday.",
    "zh": "您好，这是您的还款提醒，请在星期五之前还款。",
}


def speech_fraction(rendered: Rendered, threshold_dbfs: float = -40.0) -> float:
    """Fraction of 20 ms frames louder (RMS) than ``threshold_dbfs``."""
    samples = rendered.samples().astype(np.float64)
    frame_n = rendered.rate_hz // 50
    n = len(samples) // frame_n
    frames = samples[: n * frame_n].reshape(n, frame_n)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return float(np.mean(rms > 32768 * 10 ** (threshold_dbfs / 20)))
