"""G.711 tables checked against an independent per-sample port of ITU-T G.191 g711.c."""
from __future__ import annotations

import numpy as np
import pytest

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode


# --- reference: straight per-sample transcription of G.191 g711.c (segment search loops) ---

def ref_ulaw_compress(x: int) -> int:
    absno = ((~x) >> 2) + 33 if x < 0 else (x >> 2) + 33
    if absno > 0x1FFF:
        absno = 0x1FFF
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x0008 - segno
    low_nibble = 0x000F - ((absno >> segno) & 0x000F)
    code = (high_nibble << 4) | low_nibble
    if x >= 0:
        code |= 0x0080
    return code


def ref_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x0080 else 1
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x0007
    segment = exponent + 1
    mantissa &= 0x000F
    step = 4 << segment
    return sign * ((0x0080 << exponent) + step * mantissa + step // 2 - 4 * 33)


def ref_alaw_compress(x: int) -> int:
    ix = (~x) >> 4 if x < 0 else x >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if x >= 0:
        ix |= 0x0080
    return ix ^ 0x0055


def ref_alaw_expand(code: int) -> int:
    ix = (code ^ 0x0055) & 0x007F
    iexp = ix >> 4
    mant = ix & 0x000F
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 0x0008
    if iexp > 1:
        mant <<= iexp - 1
    return mant if code > 127 else -mant


ALL_CODES = bytes(range(256))
ALL_PCM = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)


def test_ulaw_decode_every_code_matches_reference() -> None:
    decoded = ulaw_decode(ALL_CODES)
    assert decoded.dtype == np.int16
    assert decoded.tolist() == [ref_ulaw_expand(c) for c in range(256)]


def test_alaw_decode_every_code_matches_reference() -> None:
    decoded = alaw_decode(ALL_CODES)
    assert decoded.dtype == np.int16
    assert decoded.tolist() == [ref_alaw_expand(c) for c in range(256)]


def test_ulaw_every_code_reencodes_to_itself_except_negative_zero() -> None:
    again = ulaw_encode(ulaw_decode(ALL_CODES))
    # 0x7F is mu-law "negative zero": it decodes to 0 and 0 encodes to 0xFF in G.191.
    expected = bytes(0xFF if c == 0x7F else c for c in range(256))
    assert again == expected
    assert ref_ulaw_compress(ref_ulaw_expand(0x7F)) == 0xFF


def test_alaw_every_code_reencodes_to_itself() -> None:
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES


def test_ulaw_encode_whole_int16_range_matches_reference() -> None:
    expected = bytes(ref_ulaw_compress(int(x)) for x in ALL_PCM)
    assert ulaw_encode(ALL_PCM) == expected


def test_alaw_encode_whole_int16_range_matches_reference() -> None:
    expected = bytes(ref_alaw_compress(int(x)) for x in ALL_PCM)
    assert alaw_encode(ALL_PCM) == expected


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        (0, 0xFF),
        (-1, 0x7F),
        (32767, 0x80),  # positive clipping (14-bit 8158+ in the G.711 table's units)
        (32632, 0x80),  # 8158 << 2
        (-32768, 0x00),  # negative clipping
        (8, 0xFE),
        (-8, 0x7E),
    ],
)
def test_ulaw_known_vectors(sample: int, code: int) -> None:
    assert ulaw_encode(np.array([sample], dtype=np.int16)) == bytes([code])


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xD5), (-1, 0x55), (32767, 0xAA), (-32768, 0x2A), (8, 0xD5), (16, 0xD4)],
)
def test_alaw_known_vectors(sample: int, code: int) -> None:
    assert alaw_encode(np.array([sample], dtype=np.int16)) == bytes([code])


def test_known_decode_values() -> None:
    assert ulaw_decode(b"\x80\x00\xff\x7f").tolist() == [32124, -32124, 0, 0]
    assert alaw_decode(b"\xaa\x2a\xd5\x55").tolist() == [32256, -32256, 8, -8]


def test_empty_and_shape() -> None:
    assert ulaw_encode(np.zeros(0, dtype=np.int16)) == b""
    assert alaw_decode(b"").shape == (0,)
    # multi-dimensional input is flattened in C order (interleaved frames stay interleaved)
    stereo = np.array([[0, -32768], [32767, 0]], dtype=np.int16)
    assert ulaw_encode(stereo) == bytes([0xFF, 0x00, 0x80, 0xFF])


def test_codec_error_is_bounded_on_a_tone() -> None:
    t = np.arange(8000) / 8000.0
    tone = (12000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        out = decode(encode(tone)).astype(np.float64)
        noise = out - tone
        snr_db = 10 * np.log10(np.sum(tone.astype(np.float64) ** 2) / np.sum(noise**2))
        assert snr_db > 35.0  # G.711 gives ~38 dB SQNR on a loud sine
