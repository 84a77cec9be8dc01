"""L16 conversion, channel layout, mixing and levels."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from voicebot.audio.pcm import array_to_l16, interleave, l16_to_array, mix, rms_dbfs, split_stereo, to_mono
from voicebot.errors import AudioFormatError

int16_arrays = arrays(np.int16, st.integers(0, 200))


def test_l16_byte_orders() -> None:
    assert l16_to_array(b"\x01\x02\xff\xff").tolist() == [0x0201, -1]
    assert l16_to_array(b"\x01\x02\x80\x00", "big").tolist() == [0x0102, -32768]
    assert array_to_l16(np.array([0x0102, -2], dtype=np.int16), "big") == b"\x01\x02\xff\xfe"
    assert array_to_l16(np.array([0x0102, -2], dtype=np.int16)) == b"\x02\x01\xfe\xff"
    assert l16_to_array(b"").shape == (0,)


@given(int16_arrays, st.sampled_from(["little", "big"]))
def test_l16_round_trip(a: np.ndarray, byteorder: str) -> None:
    data = array_to_l16(a, byteorder)  # type: ignore[arg-type]
    assert len(data) == 2 * a.size
    back = l16_to_array(data, byteorder)  # type: ignore[arg-type]
    assert back.dtype == np.int16 and back.flags.writeable
    np.testing.assert_array_equal(back, a)


def test_l16_errors() -> None:
    with pytest.raises(AudioFormatError, match="even byte count"):
        l16_to_array(b"\x00\x00\x00")
    with pytest.raises(AudioFormatError):
        l16_to_array(b"\x00\x00", "middle")  # type: ignore[arg-type]
    with pytest.raises(AudioFormatError):
        array_to_l16(np.zeros(2, dtype=np.int32))


@given(int16_arrays, st.integers(0, 2**32 - 1))
def test_split_and_interleave_are_inverse(left: np.ndarray, seed: int) -> None:
    right = np.random.default_rng(seed).integers(-32768, 32768, left.size).astype(np.int16)
    both = interleave(left, right)
    assert both.tolist()[0::2] == left.tolist() and both.tolist()[1::2] == right.tolist()
    got_left, got_right = split_stereo(both)
    np.testing.assert_array_equal(got_left, left)
    np.testing.assert_array_equal(got_right, right)
    l2, r2 = split_stereo(both.reshape(-1, 2))
    np.testing.assert_array_equal(l2, left)
    np.testing.assert_array_equal(r2, right)


def test_layout_errors() -> None:
    with pytest.raises(AudioFormatError):
        split_stereo(np.zeros(3, dtype=np.int16))
    with pytest.raises(AudioFormatError):
        split_stereo(np.zeros((4, 3), dtype=np.int16))
    with pytest.raises(AudioFormatError):
        interleave(np.zeros(3, dtype=np.int16), np.zeros(4, dtype=np.int16))
    with pytest.raises(AudioFormatError):
        to_mono(np.zeros(5, dtype=np.int16), 2)
    with pytest.raises(AudioFormatError):
        to_mono(np.zeros(4, dtype=np.int16), 0)


def test_mix_saturates_and_pads() -> None:
    a = np.array([30000, -30000, 100, 5], dtype=np.int16)
    b = np.array([30000, -30000, -100], dtype=np.int16)
    assert mix(a, b).tolist() == [32767, -32768, 0, 5]
    assert mix(b, a).tolist() == [32767, -32768, 0, 5]


@given(int16_arrays, int16_arrays)
def test_mix_equals_clipped_wide_sum(a: np.ndarray, b: np.ndarray) -> None:
    n = max(a.size, b.size)
    wide = np.zeros(n, dtype=np.int64)
    wide[: a.size] += a
    wide[: b.size] += b
    assert mix(a, b).tolist() == np.clip(wide, -32768, 32767).tolist()


def test_to_mono() -> None:
    stereo = np.array([[100, 300], [-1, -2], [32767, 32767], [-32768, -32768]], dtype=np.int16)
    assert to_mono(stereo, 2).tolist() == [200, -2, 32767, -32768]  # -1.5 rounds to even
    assert to_mono(stereo.reshape(-1), 2).tolist() == [200, -2, 32767, -32768]
    mono = np.array([1, 2, 3], dtype=np.int16)
    assert np.shares_memory(to_mono(mono, 1), mono) and to_mono(mono, 1).tolist() == [1, 2, 3]
    three = np.array([3, 6, 9, 0, 0, 3], dtype=np.int16)
    assert to_mono(three, 3).tolist() == [6, 1]


def test_rms_dbfs() -> None:
    assert rms_dbfs(np.zeros(10, dtype=np.int16)) == -math.inf
    assert rms_dbfs(np.zeros(0, dtype=np.int16)) == -math.inf
    square = np.array([-32768, -32768] * 50, dtype=np.int16)
    assert rms_dbfs(square) == pytest.approx(0.0)
    t = np.arange(8000) / 8000
    sine = np.rint(16384 * np.sin(2 * np.pi * 100 * t)).astype(np.int16)
    assert rms_dbfs(sine) == pytest.approx(-6.02 - 3.01, abs=0.01)
