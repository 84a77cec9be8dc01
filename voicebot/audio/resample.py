"""Streaming sample-rate conversion of mono int16 audio (libsoxr, anti-aliased).

Contract:

* ``Resampler(in_rate_hz, out_rate_hz)`` converts one continuous mono stream. Feed chunks of
  any size (including empty) to ``process``; call ``flush`` once at end of stream to get the
  samples still held in the filter. The concatenation of every ``process`` output and the
  ``flush`` output depends only on the concatenated input, never on how it was chunked, so
  chunk borders cannot click. After ``flush`` the resampler is reset and ready for a new
  stream.
* The output is time-aligned with the input (libsoxr removes the filter's group delay), so
  after ``flush`` the total output length is ``round(total_input * out_rate / in_rate)``
  give or take one sample.
* Equal rates are the identity: ``process`` returns its argument itself (no copy, no delay)
  and ``flush`` returns an empty array.
* Any positive integer rates work; the voicebot uses 8000, 16000, 22050, 24000, 44100 and
  48000 Hz. Downsampling removes content above the new Nyquist frequency (>= 100 dB
  stop-band at quality "HQ").
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import soxr

from voicebot.errors import AudioFormatError

__all__ = ["Resampler", "resample_once"]

Quality = Literal["HQ", "VHQ"]

_FULL_SCALE = 32768.0


class Resampler:
    """Stateful mono int16 resampler from ``in_rate_hz`` to ``out_rate_hz`` (see module doc)."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int, quality: Quality = "HQ") -> None:
        for name, rate in (("in_rate_hz", in_rate_hz), ("out_rate_hz", out_rate_hz)):
            if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or rate <= 0:
                raise AudioFormatError(f"{name} must be a positive integer, got {rate!r}")
        self.in_rate_hz = int(in_rate_hz)
        self.out_rate_hz = int(out_rate_hz)
        self.quality: Quality = quality
        self._stream: soxr.ResampleStream | None = None
        self._reset()

    @property
    def is_identity(self) -> bool:
        """True when input and output rates are equal and samples pass straight through."""
        return self.in_rate_hz == self.out_rate_hz

    def _reset(self) -> None:
        if self.is_identity:
            self._stream = None
            return
        # float32, not int16: soxr dithers int16 output (TPDF), which makes the result depend
        # on chunking; in float the stream is bit-identical however it is cut, and we round
        # to int16 ourselves.
        self._stream = soxr.ResampleStream(
            self.in_rate_hz, self.out_rate_hz, 1, dtype="float32", quality=self.quality
        )

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Resample the next chunk of the stream; may return fewer samples than expected
        (the rest comes out with later chunks or ``flush``)."""
        samples = _check_pcm(pcm)
        if self._stream is None:
            return samples
        if samples.size == 0:
            return np.zeros(0, dtype=np.int16)
        out = self._stream.resample_chunk(samples.astype(np.float32) / _FULL_SCALE)
        return _to_int16(out)

    def flush(self) -> npt.NDArray[np.int16]:
        """End the stream: return the samples still in the filter and reset the state."""
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._reset()
        return _to_int16(out)


def resample_once(
    pcm: npt.NDArray[np.int16], in_rate_hz: int, out_rate_hz: int
) -> npt.NDArray[np.int16]:
    """Resample a whole buffer; equal to a ``Resampler`` fed any chunking of it, then flushed."""
    resampler = Resampler(in_rate_hz, out_rate_hz)
    head = resampler.process(pcm)
    if resampler.is_identity:
        return head
    return np.concatenate([head, resampler.flush()])


def _check_pcm(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    samples = np.asarray(pcm)
    if samples.dtype != np.int16:
        raise AudioFormatError(f"resampler input must be int16 samples, got {samples.dtype}")
    if samples.ndim != 1:
        raise AudioFormatError(f"resampler input must be mono (1-D), got shape {samples.shape}")
    return samples


def _to_int16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    # The anti-alias filter can overshoot full scale on clipped input; saturate, don't wrap.
    scaled = np.rint(samples.astype(np.float64) * _FULL_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)
