"""G.711 mu-law and A-law codecs, bit-exact with the ITU-T G.191 reference (``g711.c``).

Contract:

* ``*_encode(pcm)`` takes signed 16-bit samples (any integer array, values must fit int16)
  and returns one byte per sample. The full 16-bit range is used: as in G.191, A-law
  looks at the 12 most significant magnitude bits (``x >> 4``) and mu-law at the 14 most
  significant bits (``x >> 2``); larger magnitudes saturate (mu-law 0x80 / 0x00, A-law
  0xAA / 0x2A).
* ``*_decode(data)`` takes bytes (any length, including 0) and returns a fresh int16 array.
* mu-law has two codes for zero, 0x7F (negative zero) and 0xFF; both decode to 0, and 0
  encodes to 0xFF, so ``encode(decode(b))`` maps 0x7F to 0xFF and is the identity otherwise.
  A-law round-trips all 256 codes.

The work is done by table lookup: a 256-entry decode table per law and a 65536-entry encode
table indexed by ``pcm.astype(uint16)`` (the two's-complement bit pattern). The tables are
computed once at import, vectorised, from the G.191 formulas.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode"]


def _segment_number(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Bit length of each non-negative value (0 -> 0, 1 -> 1, 2..3 -> 2, ...)."""
    # np.frexp gives the exponent e with v = m * 2**e, 0.5 <= m < 1, i.e. the bit length;
    # exact for the small integers used here (< 2**13).
    _, exponent = np.frexp(values.astype(np.float64))
    return np.where(values == 0, 0, exponent).astype(np.int64)


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    x = np.arange(65536, dtype=np.int64)
    x = np.where(x >= 32768, x - 65536, x)  # index is the uint16 view of the int16 sample
    # G.191 ulaw_compress: one's complement for negatives, keep 14 MSBs, add the bias 33.
    absno = np.where(x < 0, ~x, x) >> 2
    absno = np.minimum(absno + 33, 0x1FFF)
    segno = _segment_number(absno >> 6) + 1
    high_nibble = 8 - segno
    low_nibble = 0x0F - ((absno >> segno) & 0x0F)
    code = (high_nibble << 4) | low_nibble
    code = np.where(x >= 0, code | 0x80, code)
    return code.astype(np.uint8)


def _build_ulaw_decode() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int64)
    sign = np.where(code < 0x80, -1, 1)
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x07
    mantissa = mantissa & 0x0F
    step = 4 << (exponent + 1)
    # 14-bit quantized value left-justified in 16 bits, minus the bias 4*33.
    value = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return (sign * value).astype(np.int16)


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    x = np.arange(65536, dtype=np.int64)
    x = np.where(x >= 32768, x - 65536, x)
    ix = np.where(x < 0, ~x, x) >> 4  # 0 <= ix < 2048
    # exponent 0 for ix <= 15; otherwise the position of the leading one above bit 4.
    exponent = np.maximum(_segment_number(ix) - 4, 0)
    mantissa = np.where(exponent > 0, (ix >> np.maximum(exponent - 1, 0)) - 16, ix)
    code = mantissa + (exponent << 4)
    code = np.where(x >= 0, code | 0x80, code)
    return (code ^ 0x55).astype(np.uint8)  # G.711 toggles the even bits


def _build_alaw_decode() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int64)
    ix = (code ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    mantissa = (mantissa << 4) + 0x08  # left-justify and add half a quantization step
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return np.where(code > 127, mantissa, -mantissa).astype(np.int16)


ULAW_ENCODE_TABLE: npt.NDArray[np.uint8] = _build_ulaw_encode()
ULAW_DECODE_TABLE: npt.NDArray[np.int16] = _build_ulaw_decode()
ALAW_ENCODE_TABLE: npt.NDArray[np.uint8] = _build_alaw_encode()
ALAW_DECODE_TABLE: npt.NDArray[np.int16] = _build_alaw_decode()
for _table in (ULAW_ENCODE_TABLE, ULAW_DECODE_TABLE, ALAW_ENCODE_TABLE, ALAW_DECODE_TABLE):
    _table.setflags(write=False)


def _as_index(pcm: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    samples = np.asarray(pcm)
    if samples.dtype != np.int16:
        samples = samples.astype(np.int16)
    return samples.reshape(-1).view(np.uint16)


def ulaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """Encode int16 samples to G.711 mu-law, one byte per sample."""
    return ULAW_ENCODE_TABLE[_as_index(pcm)].tobytes()


def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """Decode G.711 mu-law bytes to int16 samples."""
    return ULAW_DECODE_TABLE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """Encode int16 samples to G.711 A-law, one byte per sample."""
    return ALAW_ENCODE_TABLE[_as_index(pcm)].tobytes()


def alaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """Decode G.711 A-law bytes to int16 samples."""
    return ALAW_DECODE_TABLE[np.frombuffer(data, dtype=np.uint8)]
