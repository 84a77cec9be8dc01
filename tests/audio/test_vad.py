"""Energy VAD on synthetic signals and on real espeak-ng Korean speech."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebot.audio.resample import resample_once
from voicebot.audio.vad import Vad, VadEvent
from voicebot.audio.wav import read_wav
from voicebot.errors import AudioFormatError

RATE_HZ = 8000


def level(dbfs: float, seconds: float, rate_hz: int = RATE_HZ, seed: int = 0) -> np.ndarray:
    """White noise with the given RMS level in dBFS."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(seconds * rate_hz))
    noise *= 32768 * 10 ** (dbfs / 20) / np.sqrt(np.mean(noise**2))
    return np.clip(np.rint(noise), -32768, 32767).astype(np.int16)


def silence(seconds: float, rate_hz: int = RATE_HZ) -> np.ndarray:
    return np.zeros(int(seconds * rate_hz), dtype=np.int16)


def run(vad: Vad, pcm: np.ndarray, chunk: int = 160) -> list[VadEvent]:
    events: list[VadEvent] = []
    for i in range(0, len(pcm), chunk):
        events += vad.process(pcm[i : i + chunk])
    return events + vad.flush()


def test_burst_between_silences_gives_one_segment_at_its_bounds() -> None:
    pcm = np.concatenate([silence(1.0), level(-20, 1.0), silence(1.0)])
    vad = Vad(RATE_HZ)
    events: list[VadEvent] = []
    states = []
    for i in range(0, len(pcm), 160):
        events += vad.process(pcm[i : i + 160])
        states.append(vad.in_speech)
    assert [e.kind for e in events] == ["speech_start", "speech_end"]
    assert abs(events[0].sample - 8000) <= 160
    assert abs(events[1].sample - 16000) <= 160
    # in_speech turns on start_ms after the onset and off hangover_ms after the end.
    first_on = states.index(True)
    assert 8000 + 400 <= (first_on + 1) * 160 <= 8000 + 800
    last_on = len(states) - 1 - states[::-1].index(True)
    assert 16000 + 2000 <= (last_on + 1) * 160 <= 16000 + 2800


def test_blip_shorter_than_start_ms_is_ignored() -> None:
    pcm = np.concatenate([silence(0.5), level(-10, 0.04), silence(0.5)])
    assert run(Vad(RATE_HZ), pcm) == []


def test_gap_shorter_than_hangover_does_not_split_speech() -> None:
    pcm = np.concatenate([silence(0.5), level(-20, 0.5), silence(0.2), level(-20, 0.5), silence(1.0)])
    events = run(Vad(RATE_HZ), pcm)
    assert [e.kind for e in events] == ["speech_start", "speech_end"]
    pcm = np.concatenate([silence(0.5), level(-20, 0.5), silence(0.5), level(-20, 0.5), silence(1.0)])
    assert len(run(Vad(RATE_HZ), pcm)) == 4


def test_quiet_noise_below_threshold_never_triggers() -> None:
    assert run(Vad(RATE_HZ), level(-50, 5.0)) == []


def test_steady_loud_noise_is_learned_then_speech_over_it_is_found() -> None:
    # -35 dBFS hum is above the fixed -42 dB threshold; the noise floor must absorb it.
    noise = level(-35, 8.0, seed=1)
    speech = level(-15, 1.0, seed=2)
    pcm = noise.copy()
    pcm[5 * RATE_HZ : 6 * RATE_HZ] = speech
    events = run(Vad(RATE_HZ), pcm)
    late = [e for e in events if e.sample >= 4 * RATE_HZ]
    early = [e for e in events if e.sample < 4 * RATE_HZ]
    assert [e.kind for e in late] == ["speech_start", "speech_end"]
    assert abs(late[0].sample - 5 * RATE_HZ) <= 800
    assert abs(late[1].sample - 6 * RATE_HZ) <= 800
    # The noise counts as speech only until the floor has caught up (a few seconds).
    assert len(early) <= 2
    vad_fixed = Vad(RATE_HZ, noise_rise_db_per_s=0.0)
    fixed_events = run(vad_fixed, pcm)
    assert [e.kind for e in fixed_events] == ["speech_start", "speech_end"]  # one long false segment
    assert fixed_events[0].sample == 0


def test_flush_closes_open_speech() -> None:
    vad = Vad(RATE_HZ)
    events = vad.process(np.concatenate([silence(0.2), level(-20, 0.5)]))
    assert [e.kind for e in events] == ["speech_start"] and vad.in_speech
    assert vad.flush() == [VadEvent("speech_end", int(0.7 * RATE_HZ))]
    assert not vad.in_speech


@settings(max_examples=30, deadline=None)
@given(chunk_sizes=st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=40))
def test_events_do_not_depend_on_chunking(chunk_sizes: list[int]) -> None:
    pcm = np.concatenate([silence(0.3), level(-25, 0.7), silence(0.5), level(-18, 0.3), silence(0.6), level(-30, 0.2)])
    expected = run(Vad(RATE_HZ), pcm, chunk=len(pcm))
    vad = Vad(RATE_HZ)
    events: list[VadEvent] = []
    start = 0
    for size in chunk_sizes:
        events += vad.process(pcm[start : start + size])
        start += size
    events += vad.process(pcm[start:]) + vad.flush()
    assert events == expected
    assert len(expected) == 6


def test_bad_input_raises() -> None:
    with pytest.raises(AudioFormatError):
        Vad(0)
    with pytest.raises(AudioFormatError):
        Vad(RATE_HZ).process(np.zeros(160, dtype=np.float32))  # type: ignore[arg-type]


# --- real speech ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def espeak_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required for the VAD speech tests")
    out = tmp_path_factory.mktemp("espeak")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out / "ne.wav"), "네"], check=True)
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out / "promise.wav"), "네, 다음 주 금요일까지 갚겠습니다"], check=True)
    return out


def padded_speech(path: Path, rate_hz: int, lead_s: float, tail_s: float) -> tuple[np.ndarray, int, int]:
    """Speech padded with faint noise; returns (pcm, true start sample, true end sample)."""
    audio = read_wav(path)
    speech = resample_once(audio.pcm, audio.rate_hz, rate_hz)
    loud = np.nonzero(np.abs(speech.astype(np.int32)) > 0.01 * np.abs(speech).max())[0]
    lead = level(-65, lead_s, rate_hz, seed=3)
    tail = level(-65, tail_s, rate_hz, seed=4)
    start, end = len(lead) + int(loud[0]), len(lead) + int(loud[-1]) + 1
    mixed = np.concatenate([lead, speech, tail])
    return mixed, start, end


@pytest.mark.parametrize("rate_hz", [8000, 16000, 22050])
@pytest.mark.parametrize("name", ["ne", "promise"])
def test_espeak_speech_bounds_within_100ms(espeak_dir: Path, rate_hz: int, name: str) -> None:
    pcm, true_start, true_end = padded_speech(espeak_dir / f"{name}.wav", rate_hz, 0.537, 0.7)
    events = run(Vad(rate_hz), pcm, chunk=rate_hz // 50)
    assert [e.kind for e in events] == ["speech_start", "speech_end"], events
    tolerance = rate_hz // 10
    assert abs(events[0].sample - true_start) <= tolerance, (events[0].sample, true_start)
    assert abs(events[1].sample - true_end) <= tolerance, (events[1].sample, true_end)


def test_trailing_silence_counts_from_the_last_voiced_frame() -> None:
    vad = Vad(RATE_HZ, hangover_ms=500)
    vad.process(level(-20, 0.5))
    assert vad.in_speech and vad.trailing_silence_ms == 0
    vad.process(silence(0.3))
    assert vad.trailing_silence_ms == 300
    vad.process(level(-20, 0.1))  # speech again: the count starts over
    assert vad.trailing_silence_ms == 0
