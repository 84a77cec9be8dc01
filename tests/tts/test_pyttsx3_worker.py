"""The worker's "is the WAV complete yet" check, fed files written in slow motion."""
from __future__ import annotations

import io
import threading
import time
import wave
from pathlib import Path

import pytest

from voicebot.tts.pyttsx3_worker import riff_sizes_valid, wait_for_complete_wav


def _wav_bytes(n_samples: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(b"\x01\x02" * n_samples)
    return buffer.getvalue()


def test_riff_sizes_valid_only_for_whole_files() -> None:
    data = _wav_bytes(1000)
    assert riff_sizes_valid(data)
    assert not riff_sizes_valid(data[:-1])
    assert not riff_sizes_valid(data[:44])
    assert not riff_sizes_valid(b"")
    assert not riff_sizes_valid(b"RIFX" + data[4:])


def test_waits_for_a_file_written_in_pieces(tmp_path: Path) -> None:
    data = _wav_bytes(20000)
    path = tmp_path / "out.wav"

    def write_slowly() -> None:
        time.sleep(0.05)
        with path.open("wb") as file:
            for start in range(0, len(data), 8000):
                file.write(data[start : start + 8000])
                file.flush()
                time.sleep(0.03)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        assert wait_for_complete_wav(path, timeout_s=10.0) == data
    finally:
        writer.join()


def test_times_out_on_a_file_that_never_completes(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    path.write_bytes(_wav_bytes(5000)[:-100])
    with pytest.raises(TimeoutError, match="not complete"):
        wait_for_complete_wav(path, timeout_s=0.1)
