"""Resampler: quality (SNR, anti-aliasing), chunk invariance, lengths, identity."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebot.audio.pcm import rms_dbfs
from voicebot.audio.resample import Resampler, resample_once
from voicebot.errors import AudioFormatError

RATES_HZ = [8000, 16000, 22050, 24000, 44100, 48000]


def tone(freq_hz: float, rate_hz: int, seconds: float, amplitude: float = 10000.0) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return np.rint(amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def delay_by_xcorr(reference: np.ndarray, signal: np.ndarray, max_lag: int) -> int:
    """Lag (samples) by which ``signal`` trails ``reference``, found by cross-correlation."""
    ref = reference.astype(np.float64)
    sig = signal.astype(np.float64)
    core = slice(max_lag, len(ref) - max_lag)
    scores = [float(np.dot(ref[core], sig[core.start + lag : core.stop + lag])) for lag in range(-max_lag, max_lag + 1)]
    return int(np.argmax(scores)) - max_lag


def chain_delay(in_rate_hz: int, mid_rate_hz: int) -> int:
    """Delay of in->mid->in, measured on broadband noise: a pure tone's cross-correlation
    repeats every period and cannot tell the delay apart from whole periods."""
    rng = np.random.default_rng(7)
    probe = (rng.standard_normal(in_rate_hz) * 3000).astype(np.int16)
    back = resample_once(resample_once(probe, in_rate_hz, mid_rate_hz), mid_rate_hz, in_rate_hz)
    return delay_by_xcorr(probe, back, max_lag=200)


@pytest.mark.parametrize("mid_rate_hz", [16000, 22050, 48000])
def test_1khz_tone_survives_a_round_trip_with_40db_snr(mid_rate_hz: int) -> None:
    given_pcm = tone(1000, 8000, 1.0)
    up = resample_once(given_pcm, 8000, mid_rate_hz)
    back = resample_once(up, mid_rate_hz, 8000)
    assert len(up) == mid_rate_hz and len(back) == 8000
    lag = chain_delay(8000, mid_rate_hz)
    assert lag == 0  # libsoxr streams are time-aligned: no group delay to compensate
    # Ignore 50 ms at each end where the filters see the stream edges.
    edge = 400
    ref = given_pcm[edge:-edge].astype(np.float64)
    out = back[edge + lag : len(back) - edge + lag].astype(np.float64)
    noise_energy = max(float(np.sum((out - ref) ** 2)), 1e-9)
    snr_db = 10 * np.log10(np.sum(ref**2) / noise_energy)
    assert snr_db >= 40.0, f"SNR {snr_db:.1f} dB at lag {lag}"


def test_5khz_tone_is_removed_when_downsampling_16k_to_8k() -> None:
    given_pcm = tone(5000, 16000, 1.0)
    out = resample_once(given_pcm, 16000, 8000)
    edge = 400
    # rms_dbfs is -inf when the tone is gone entirely (it rounds to all-zero samples).
    attenuation_db = rms_dbfs(given_pcm) - rms_dbfs(out[edge:-edge])
    assert attenuation_db >= 40.0, f"only {attenuation_db:.1f} dB"


def test_passband_tone_keeps_its_level_and_frequency_on_every_pair() -> None:
    for in_rate_hz, out_rate_hz in itertools.permutations(RATES_HZ, 2):
        given_pcm = tone(440, in_rate_hz, 0.5)
        out = resample_once(given_pcm, in_rate_hz, out_rate_hz)
        core = out[out_rate_hz // 20 : -out_rate_hz // 20].astype(np.float64)
        assert abs(rms_dbfs(given_pcm) - rms_dbfs(core.astype(np.int16))) < 0.1
        spectrum = np.abs(np.fft.rfft(core * np.hanning(len(core))))
        peak_hz = np.argmax(spectrum) * out_rate_hz / len(core)
        assert abs(peak_hz - 440) < 5, (in_rate_hz, out_rate_hz, peak_hz)


@pytest.mark.parametrize(("in_rate_hz", "out_rate_hz"), list(itertools.product(RATES_HZ, RATES_HZ)))
def test_length_after_flush_matches_ratio(in_rate_hz: int, out_rate_hz: int) -> None:
    n_in = 12345
    rng = np.random.default_rng(in_rate_hz + out_rate_hz)
    given_pcm = (rng.standard_normal(n_in) * 2000).astype(np.int16)
    resampler = Resampler(in_rate_hz, out_rate_hz)
    out = [resampler.process(given_pcm[i : i + 1000]) for i in range(0, n_in, 1000)]
    out.append(resampler.flush())
    total = sum(len(o) for o in out)
    assert abs(total - n_in * out_rate_hz / in_rate_hz) <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    rates=st.tuples(st.sampled_from(RATES_HZ), st.sampled_from(RATES_HZ)),
    chunk_sizes=st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=30),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_chunked_equals_one_shot_exactly(rates: tuple[int, int], chunk_sizes: list[int], seed: int) -> None:
    in_rate_hz, out_rate_hz = rates
    rng = np.random.default_rng(seed)
    n = sum(chunk_sizes)
    # Loud noise with clipping-level peaks exercises saturation too.
    given_pcm = np.clip(rng.standard_normal(n) * 12000, -32768, 32767).astype(np.int16)
    expected = resample_once(given_pcm, in_rate_hz, out_rate_hz)
    resampler = Resampler(in_rate_hz, out_rate_hz)
    pieces, start = [], 0
    for size in chunk_sizes:
        pieces.append(resampler.process(given_pcm[start : start + size]))
        start += size
    pieces.append(resampler.flush())
    chunked = np.concatenate(pieces)
    assert chunked.dtype == np.int16
    np.testing.assert_array_equal(chunked, expected)


def test_flush_resets_for_a_new_stream() -> None:
    given_pcm = tone(700, 8000, 0.3)
    resampler = Resampler(8000, 16000)
    first = np.concatenate([resampler.process(given_pcm), resampler.flush()])
    second = np.concatenate([resampler.process(given_pcm), resampler.flush()])
    np.testing.assert_array_equal(first, second)


def test_equal_rates_are_identity_without_copy_or_delay() -> None:
    given_pcm = tone(300, 16000, 0.1)
    resampler = Resampler(16000, 16000)
    assert resampler.is_identity
    assert resampler.process(given_pcm) is given_pcm
    assert resampler.flush().size == 0
    assert resample_once(given_pcm, 16000, 16000) is given_pcm


def test_full_scale_input_saturates_instead_of_wrapping() -> None:
    square = np.where(np.arange(8000) % 40 < 20, 32767, -32768).astype(np.int16)
    out = resample_once(square, 8000, 16000)
    # Gibbs overshoot must clip at the rails; wrap-around would put -32768 next to 32767.
    jumps = np.abs(np.diff(out.astype(np.int32)))
    assert jumps.max() < 40000
    assert out.max() == 32767 and out.min() == -32768


@pytest.mark.parametrize("bad", [0, -8000, 8000.5, True])
def test_bad_rates_raise(bad: object) -> None:
    with pytest.raises(AudioFormatError):
        Resampler(bad, 16000)  # type: ignore[arg-type]


def test_bad_input_raises() -> None:
    resampler = Resampler(8000, 16000)
    with pytest.raises(AudioFormatError):
        resampler.process(np.zeros(10, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(AudioFormatError):
        resampler.process(np.zeros((10, 2), dtype=np.int16))
