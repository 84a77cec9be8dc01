"""Energy-based voice activity detection on mono int16 audio, with an adaptive noise floor.

Contract:

* Audio is cut into frames of ``frame_ms``; a frame is *voiced* when its RMS level (dBFS,
  see ``pcm.rms_dbfs``) is at least the effective threshold
  ``max(threshold_db, noise_floor_db + noise_margin_db)``.
* ``speech_start`` is reported once ``start_ms`` of consecutive voiced frames were seen;
  ``speech_end`` once ``hangover_ms`` of consecutive unvoiced frames followed speech.
* ``VadEvent.sample`` is the offset, in samples from the start of the stream, of the actual
  boundary: the first sample of the first voiced frame (start) or the sample just after the
  last voiced frame (end). Events are therefore *reported* ``start_ms`` / ``hangover_ms``
  later than the sample they name.
* Results do not depend on how the stream is chunked; a trailing partial frame waits for the
  next ``process`` call. ``flush`` ends the stream (closing an open speech segment).
* The noise floor follows quiet frames down at once and rises at most
  ``noise_rise_db_per_s``, so steady background noise stops counting as speech after a few
  seconds while a talker's pauses keep the floor low.

Energies are computed for all whole frames of a chunk at once (numpy); only the small
per-frame state machine runs in Python.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicebot.errors import AudioFormatError

__all__ = ["Vad", "VadEvent", "VadEventKind"]

VadEventKind = Literal["speech_start", "speech_end"]

# Level given to digital silence so the floor arithmetic stays finite.
_SILENCE_DB = -100.0


@dataclass(frozen=True)
class VadEvent:
    """A speech boundary; ``sample`` counts samples from the start of the stream."""

    kind: VadEventKind
    sample: int


class Vad:
    """Streaming energy VAD for one mono stream at ``rate_hz`` (see module docstring)."""

    def __init__(
        self,
        rate_hz: int,
        frame_ms: int = 20,
        threshold_db: float = -42.0,
        start_ms: int = 60,
        hangover_ms: int = 300,
        *,
        noise_margin_db: float = 12.0,
        noise_rise_db_per_s: float = 3.0,
    ) -> None:
        if rate_hz <= 0 or frame_ms <= 0:
            raise AudioFormatError(f"rate_hz and frame_ms must be positive, got {rate_hz}, {frame_ms}")
        self.rate_hz = rate_hz
        self.frame_ms = frame_ms
        self.threshold_db = threshold_db
        self.noise_margin_db = noise_margin_db
        self.frame_samples = max(1, rate_hz * frame_ms // 1000)
        self._start_frames = max(1, math.ceil(start_ms / frame_ms))
        self._hangover_frames = max(1, math.ceil(hangover_ms / frame_ms))
        self._rise_db_per_frame = noise_rise_db_per_s * frame_ms / 1000.0
        # Start with the floor where the fixed threshold rules, so speech at the very start
        # of a call is not mistaken for noise.
        self.noise_floor_db = threshold_db - noise_margin_db
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames_done = 0
        self._in_speech = False
        self._voiced_run = 0
        self._run_start_sample = 0
        self._unvoiced_run = 0
        self._last_voiced_end = 0

    @property
    def in_speech(self) -> bool:
        """True between a reported ``speech_start`` and the following ``speech_end``."""
        return self._in_speech

    @property
    def trailing_silence_ms(self) -> int:
        """Unvoiced time since the last voiced frame of the current (or just ended) speech
        segment; 0 right after ``speech_start``."""
        return self._unvoiced_run * self.frame_ms

    @property
    def samples_processed(self) -> int:
        """Samples consumed into whole frames so far."""
        return self._frames_done * self.frame_samples

    def frame_levels_db(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
        """RMS level (dBFS, silence = -100) of each whole frame of ``pcm``; stateless."""
        n = pcm.size // self.frame_samples
        frames = pcm[: n * self.frame_samples].reshape(n, self.frame_samples).astype(np.float64)
        mean_square = np.mean(frames * frames, axis=1) / (32768.0 * 32768.0)
        with np.errstate(divide="ignore"):
            levels = 10.0 * np.log10(mean_square)
        return np.maximum(levels, _SILENCE_DB)

    def set_hangover_ms(self, hangover_ms: int) -> None:
        """Change how much trailing silence ends speech, from the next frame on (e.g. shorter
        while a short answer is expected)."""
        self._hangover_frames = max(1, math.ceil(hangover_ms / self.frame_ms))

    def process(self, pcm: npt.NDArray[np.int16]) -> list[VadEvent]:
        """Feed the next chunk of the stream; return the boundaries it completed, in order."""
        samples = np.asarray(pcm)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise AudioFormatError(f"VAD needs mono int16 samples, got {samples.dtype} {samples.shape}")
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        usable = samples.size - samples.size % self.frame_samples
        self._pending = samples[usable:].copy()
        events: list[VadEvent] = []
        for level_db in self.frame_levels_db(samples[:usable]).tolist():
            self._step(level_db, events)
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: close an open speech segment at its last voiced frame."""
        self._pending = np.zeros(0, dtype=np.int16)
        if not self._in_speech:
            return []
        self._in_speech = False
        self._voiced_run = 0
        return [VadEvent("speech_end", self._last_voiced_end)]

    def _step(self, level_db: float, events: list[VadEvent]) -> None:
        frame_start = self._frames_done * self.frame_samples
        self._frames_done += 1
        voiced = level_db >= max(self.threshold_db, self.noise_floor_db + self.noise_margin_db)
        if level_db < self.noise_floor_db:
            self.noise_floor_db = level_db
        else:
            self.noise_floor_db = min(level_db, self.noise_floor_db + self._rise_db_per_frame)

        if self._in_speech:
            if voiced:
                self._unvoiced_run = 0
                self._last_voiced_end = frame_start + self.frame_samples
                return
            self._unvoiced_run += 1
            if self._unvoiced_run >= self._hangover_frames:
                self._in_speech = False
                self._voiced_run = 0
                events.append(VadEvent("speech_end", self._last_voiced_end))
            return

        if not voiced:
            self._voiced_run = 0
            return
        if self._voiced_run == 0:
            self._run_start_sample = frame_start
        self._voiced_run += 1
        if self._voiced_run >= self._start_frames:
            self._in_speech = True
            self._unvoiced_run = 0
            self._last_voiced_end = frame_start + self.frame_samples
            events.append(VadEvent("speech_start", self._run_start_sample))
