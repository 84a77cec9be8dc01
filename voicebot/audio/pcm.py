"""Raw 16-bit PCM helpers: L16 bytes <-> int16 arrays, channel layout, mixing, level.

Contract: every function takes and returns int16 numpy arrays (``pcm`` in arrays is signed
16-bit); byte input must hold whole samples, otherwise ``AudioFormatError`` is raised.
Arrays returned are new unless stated otherwise. Interleaved multi-channel audio is either
1-D ``[l0, r0, l1, r1, ...]`` or 2-D ``(frames, channels)``.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicebot.errors import AudioFormatError

__all__ = [
    "ByteOrder",
    "l16_to_array",
    "array_to_l16",
    "split_stereo",
    "interleave",
    "mix",
    "to_mono",
    "rms_dbfs",
]

ByteOrder = Literal["little", "big"]

_DTYPES: dict[str, np.dtype[np.int16]] = {"little": np.dtype("<i2"), "big": np.dtype(">i2")}


def _dtype(byteorder: str) -> np.dtype[np.int16]:
    try:
        return _DTYPES[byteorder]
    except KeyError:
        raise AudioFormatError(f"byteorder must be 'little' or 'big', got {byteorder!r}") from None


def l16_to_array(data: bytes, byteorder: ByteOrder = "little") -> npt.NDArray[np.int16]:
    """Decode signed 16-bit samples (s16le by default; ``"big"`` for RTP L16) to a native,
    writable int16 array. Raises AudioFormatError on an odd byte count."""
    if len(data) % 2:
        raise AudioFormatError(f"16-bit PCM needs an even byte count, got {len(data)} bytes")
    return np.frombuffer(data, dtype=_dtype(byteorder)).astype(np.int16)


def array_to_l16(a: npt.ArrayLike, byteorder: ByteOrder = "little") -> bytes:
    """Encode int16 samples (any shape, C order) to bytes in the given byte order."""
    samples = _as_int16(a)
    return samples.astype(_dtype(byteorder), copy=False).tobytes()


def split_stereo(
    a_interleaved: npt.NDArray[np.int16],
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """Split interleaved stereo (1-D even length, or shape (frames, 2)) into (left, right)."""
    samples = _as_int16(a_interleaved)
    if samples.ndim == 1:
        if samples.size % 2:
            raise AudioFormatError(f"interleaved stereo needs an even sample count, got {samples.size}")
        samples = samples.reshape(-1, 2)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise AudioFormatError(f"expected stereo audio, got shape {samples.shape}")
    return samples[:, 0].copy(), samples[:, 1].copy()


def interleave(left: npt.NDArray[np.int16], right: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Interleave two equally long mono arrays into 1-D ``[l0, r0, l1, r1, ...]``."""
    lhs, rhs = _as_int16(left), _as_int16(right)
    if lhs.ndim != 1 or rhs.ndim != 1 or lhs.size != rhs.size:
        raise AudioFormatError(f"interleave needs two mono arrays of equal length, got {lhs.shape} and {rhs.shape}")
    out = np.empty(lhs.size * 2, dtype=np.int16)
    out[0::2] = lhs
    out[1::2] = rhs
    return out


def mix(a: npt.NDArray[np.int16], b: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Saturating sum of two mono arrays. The shorter one is treated as followed by silence,
    so the result has the length of the longer one."""
    lhs, rhs = _as_int16(a), _as_int16(b)
    if lhs.ndim != 1 or rhs.ndim != 1:
        raise AudioFormatError(f"mix needs mono arrays, got {lhs.shape} and {rhs.shape}")
    total = np.zeros(max(lhs.size, rhs.size), dtype=np.int32)
    total[: lhs.size] += lhs
    total[: rhs.size] += rhs
    return np.clip(total, -32768, 32767).astype(np.int16)


def to_mono(a: npt.NDArray[np.int16], channels: int) -> npt.NDArray[np.int16]:
    """Average ``channels`` interleaved channels (1-D or (frames, channels)) to mono, rounding
    to nearest. ``channels == 1`` returns the samples flattened (no copy when possible)."""
    if channels < 1:
        raise AudioFormatError(f"channels must be >= 1, got {channels}")
    samples = _as_int16(a)
    if channels == 1:
        return samples.reshape(-1)
    if samples.size % channels:
        raise AudioFormatError(f"{samples.size} samples is not a whole number of {channels}-channel frames")
    frames = samples.reshape(-1, channels).astype(np.int32)
    return np.rint(frames.mean(axis=1)).astype(np.int16)


def rms_dbfs(a: npt.NDArray[np.int16]) -> float:
    """RMS level in dB relative to full scale 32768 (a full-scale square wave is 0 dBFS, a
    full-scale sine about -3 dBFS). Empty or all-zero input gives ``-inf``."""
    samples = _as_int16(a)
    if samples.size == 0:
        return -math.inf
    mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
    if mean_square == 0.0:
        return -math.inf
    return 10.0 * math.log10(mean_square / (32768.0 * 32768.0))


def _as_int16(a: npt.ArrayLike) -> npt.NDArray[np.int16]:
    samples = np.asarray(a)
    if samples.dtype != np.int16:
        raise AudioFormatError(f"expected int16 samples, got dtype {samples.dtype}")
    return samples
