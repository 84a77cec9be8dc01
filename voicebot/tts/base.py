"""Rendered speech, the engine protocol, and click-free joining of rendered parts.

``join`` glues prompt parts (a cached greeting, a freshly rendered amount, a cached closing)
into one utterance: every part is resampled to one rate, the silence each engine leaves at an
inner edge is trimmed and replaced by one natural pause, and short raised-cosine fades at
those edges keep the waveform continuous, so a join never clicks. ``shape_part`` is the
per-part step, so a streaming caller that plays parts as they arrive produces exactly the
bytes ``join`` would.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voicebot.audio.resample import resample_once
from voicebot.errors import AudioFormatError

DEFAULT_PAUSE_MS = 180
"""Silence between joined parts: a short breath, like a comma read aloud."""
DEFAULT_FADE_MS = 5.0
"""Fade length at each inner edge; long enough to kill clicks, too short to hear."""
SILENCE_DBFS = -45.0
"""A 10 ms frame quieter than this (RMS) counts as silence when trimming inner edges."""
_FRAME_MS = 10
_MARGIN_MS = 20
"""Quiet audio kept next to speech when trimming, so soft onsets and tails survive."""


@dataclass(frozen=True)
class Rendered:
    """Synthesized speech.

    ``pcm`` is s16le mono; ``rate_hz`` its sample rate in Hertz.
    """

    pcm: bytes
    rate_hz: int

    def __post_init__(self) -> None:
        if self.rate_hz <= 0:
            raise AudioFormatError(f"rate_hz must be positive, got {self.rate_hz}")
        if len(self.pcm) % 2:
            raise AudioFormatError(f"pcm must hold whole 16-bit samples, got {len(self.pcm)} bytes")

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.pcm) / 2 / self.rate_hz

    def samples(self) -> npt.NDArray[np.int16]:
        """The PCM as an int16 array (a read-only view of ``pcm``)."""
        return np.frombuffer(self.pcm, dtype="<i2")


class TtsEngine(Protocol):
    """A text-to-speech engine.

    ``name`` names the engine ("pyttsx3", "piper"), ``voice_id`` the voice it speaks with and
    ``rate_wpm`` its speaking rate in words per minute; together they decide what audio a text
    produces, so the prompt cache keys on them. ``render`` blocks (run it in an executor),
    returns non-empty audio at the engine's native rate, and raises ``EngineError`` on failure.
    """

    name: str
    voice_id: str
    rate_wpm: int

    def render(self, text: str) -> Rendered: ...


def to_rate(part: Rendered, rate_hz: int) -> Rendered:
    """``part`` resampled to ``rate_hz`` (returned unchanged when it already has that rate)."""
    if part.rate_hz == rate_hz:
        return part
    resampled = resample_once(part.samples().astype(np.int16), part.rate_hz, rate_hz)
    return Rendered(resampled.astype("<i2").tobytes(), rate_hz)


def shape_part(
    part: Rendered,
    is_first: bool,
    is_last: bool,
    pause_ms: int = DEFAULT_PAUSE_MS,
    fade_ms: float = DEFAULT_FADE_MS,
) -> Rendered:
    """Prepare one part for its place in a joined utterance.

    Edges that touch another part (the start unless ``is_first``, the end unless ``is_last``)
    lose their near-silence (keeping a 20 ms margin) and get a ``fade_ms`` raised-cosine fade;
    a non-last part ends with ``pause_ms`` of digital silence. Outer edges are left untouched.
    Concatenating the shaped parts in order is the joined utterance.
    """
    samples = part.samples().astype(np.float64)
    rate_hz = part.rate_hz
    start, end = _speech_bounds(samples, rate_hz)
    if is_first:
        start = 0
    if is_last:
        end = len(samples)
    samples = samples[start:end].copy()
    fade_n = min(int(round(fade_ms * rate_hz / 1000)), len(samples) // 2)
    if fade_n > 0:
        k = np.arange(fade_n, dtype=np.float64)
        if not is_first:
            # Starts at exactly 0 so the pause before it flows into the speech without a step.
            samples[:fade_n] *= 0.5 * (1.0 - np.cos(math.pi * k / fade_n))
        if not is_last:
            samples[-fade_n:] *= 0.5 * (1.0 + np.cos(math.pi * (k + 1) / fade_n))
    out = np.clip(np.rint(samples), -32768, 32767).astype("<i2")
    if not is_last:
        out = np.concatenate([out, np.zeros(int(pause_ms * rate_hz / 1000), dtype="<i2")])
    return Rendered(out.tobytes(), rate_hz)


def join(
    parts: list[Rendered],
    rate_hz: int,
    pause_ms: int = DEFAULT_PAUSE_MS,
    fade_ms: float = DEFAULT_FADE_MS,
) -> Rendered:
    """Join ``parts`` into one utterance at ``rate_hz``.

    Each part is resampled to ``rate_hz``; at every inner join the trailing and leading
    near-silence is replaced by ``pause_ms`` of silence and both sides fade over ``fade_ms``,
    so no sample-to-sample step at a join exceeds the steps inside the parts. One part comes
    back only resampled; no parts give empty audio.
    """
    shaped = [
        shape_part(to_rate(part, rate_hz), i == 0, i == len(parts) - 1, pause_ms, fade_ms)
        for i, part in enumerate(parts)
    ]
    return Rendered(b"".join(p.pcm for p in shaped), rate_hz)


def _speech_bounds(samples: npt.NDArray[np.float64], rate_hz: int) -> tuple[int, int]:
    """Sample range from the first to the last non-silent frame, widened by the margin.

    An all-silent part gives an empty range.
    """
    frame_n = max(1, rate_hz * _FRAME_MS // 1000)
    n_frames = len(samples) // frame_n
    if n_frames == 0:
        return 0, 0
    frames = samples[: n_frames * frame_n].reshape(n_frames, frame_n)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    threshold = 32768.0 * 10 ** (SILENCE_DBFS / 20)
    loud = np.flatnonzero(rms >= threshold)
    if loud.size == 0:
        return 0, 0
    margin_n = rate_hz * _MARGIN_MS // 1000
    start = max(0, int(loud[0]) * frame_n - margin_n)
    # The tail after the last whole frame is shorter than a frame; keep it only if speech
    # runs up to it.
    last_end = (int(loud[-1]) + 1) * frame_n
    end = len(samples) if int(loud[-1]) == n_frames - 1 else min(len(samples), last_end + margin_n)
    return start, end
