"""WAV reading (many layouts), writing, crash-safe streaming and repair."""
from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.audio.wav import WavWriter, read_wav, repair_wav, write_wav
from voicebot.errors import AudioFormatError

REPO = Path(__file__).resolve().parents[2]


def ramp(n: int, channels: int = 1) -> np.ndarray:
    values = (np.arange(n * channels, dtype=np.int64) * 997 % 65536 - 32768).astype(np.int16)
    return values if channels == 1 else values.reshape(n, channels)


def chunk(chunk_id: bytes, body: bytes, size: int | None = None) -> bytes:
    declared = len(body) if size is None else size
    return chunk_id + struct.pack("<I", declared) + body + (b"\x00" if len(body) & 1 else b"")


def fmt_body(tag: int, channels: int, rate_hz: int, bits: int, extra: bytes = b"") -> bytes:
    block = channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, rate_hz, rate_hz * block, block, bits) + extra


def riff(*chunks: bytes, riff_size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def extensible(subtag: int, channels: int, rate_hz: int, bits: int) -> bytes:
    guid = struct.pack("<H", subtag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extra = struct.pack("<HHI", 22, bits, 0x3 if channels == 2 else 0x4) + guid
    return fmt_body(0xFFFE, channels, rate_hz, bits, extra)


# --- reading -----------------------------------------------------------------------------

def test_pcm16_written_by_stdlib_wave_reads_back(tmp_path: Path) -> None:
    samples = ramp(1000, channels=2)
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    audio = read_wav(tmp_path / "s.wav")
    assert (audio.rate_hz, audio.channels, audio.source_format) == (16000, 2, "pcm16")
    assert audio.pcm.shape == (1000, 2)
    np.testing.assert_array_equal(audio.pcm, samples)
    assert not audio.pcm.flags.writeable


def test_pcm8_unsigned(tmp_path: Path) -> None:
    raw = bytes([0, 128, 255, 1])
    with wave.open(str(tmp_path / "u8.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(raw)
    audio = read_wav(tmp_path / "u8.wav")
    assert audio.source_format == "pcm8"
    assert audio.pcm.tolist() == [-32768, 0, 32512, -32512]


@pytest.mark.parametrize(("encoding", "sox_name", "decode"), [("ulaw", "u-law", ulaw_decode), ("alaw", "a-law", alaw_decode)])
def test_g711_files_made_by_sox(tmp_path: Path, encoding: str, sox_name: str, decode) -> None:
    g711 = tmp_path / f"{encoding}.wav"
    pcm16 = tmp_path / "pcm16.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", sox_name, str(g711), "synth", "0.25", "sine", "440"], check=True)
    subprocess.run(["sox", str(g711), "-e", "signed-integer", "-b", "16", str(pcm16)], check=True)
    audio = read_wav(g711)
    assert (audio.rate_hz, audio.channels, audio.source_format) == (8000, 1, encoding)
    assert audio.frames == 2000
    # sox's own G.711 decoder agrees with ours sample for sample.
    np.testing.assert_array_equal(audio.pcm, read_wav(pcm16).pcm)
    assert np.abs(audio.pcm).max() > 20000


def test_extensible_pcm16_and_ulaw() -> None:
    samples = ramp(50, channels=2)
    blob = riff(chunk(b"fmt ", extensible(1, 2, 48000, 16)), chunk(b"data", samples.astype("<i2").tobytes()))
    audio = read_wav(blob)
    assert (audio.rate_hz, audio.channels, audio.source_format) == (48000, 2, "pcm16")
    np.testing.assert_array_equal(audio.pcm, samples)

    codes = bytes(range(256))
    blob = riff(chunk(b"fmt ", extensible(7, 1, 8000, 8)), chunk(b"data", codes))
    audio = read_wav(blob)
    assert audio.source_format == "ulaw"
    np.testing.assert_array_equal(audio.pcm, ulaw_decode(codes))


def test_odd_list_chunk_before_data_and_junk_after() -> None:
    samples = ramp(10)
    blob = riff(
        chunk(b"fmt ", fmt_body(6, 1, 8000, 8)),
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00abcd\x00\x00"[:17]),  # odd length -> pad byte
        chunk(b"data", alaw_encode(samples)),
        chunk(b"LIST", b"INFO"),
    )
    audio = read_wav(blob)
    assert audio.source_format == "alaw"
    np.testing.assert_array_equal(audio.pcm, alaw_decode(alaw_encode(samples)))


def test_fmt_after_data() -> None:
    samples = ramp(10)
    blob = riff(chunk(b"data", samples.astype("<i2").tobytes()), chunk(b"fmt ", fmt_body(1, 1, 8000, 16)))
    np.testing.assert_array_equal(read_wav(blob).pcm, samples)


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF])
def test_streamed_data_size_takes_rest_of_file(declared: int) -> None:
    samples = ramp(101)
    body = samples.astype("<i2").tobytes() + b"\x7f"  # trailing partial frame is dropped
    blob = riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16)), b"data" + struct.pack("<I", declared) + body, riff_size=declared)
    audio = read_wav(blob)
    np.testing.assert_array_equal(audio.pcm, samples)


def test_declared_size_shorter_than_file_is_respected() -> None:
    samples = ramp(20)
    raw = samples.astype("<i2").tobytes()
    blob = riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16)), b"data" + struct.pack("<I", 20) + raw)
    np.testing.assert_array_equal(read_wav(blob).pcm, samples[:10])


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "only 0 bytes"),
        (b"RIFX" + b"\x00" * 40, "missing RIFF/WAVE"),
        (b"RF64" + b"\x00" * 40, "RF64"),
        (riff(chunk(b"fmt ", fmt_body(3, 1, 8000, 32)), chunk(b"data", b"\x00" * 8)), "IEEE float"),
        (riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 24)), chunk(b"data", b"\x00" * 6)), "24-bit PCM"),
        (riff(chunk(b"fmt ", fmt_body(7, 1, 8000, 16)), chunk(b"data", b"\x00" * 6)), "8 bits"),
        (riff(chunk(b"fmt ", fmt_body(1, 0, 8000, 16)), chunk(b"data", b"")), "0 channels"),
        (riff(chunk(b"fmt ", b"\x01\x00")), "needs at least 16"),
        (riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16))), "no data chunk"),
        (riff(chunk(b"data", b"\x00\x00")), "no fmt chunk"),
        (riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16)), chunk(b"data", b"\x00" * 4, size=400)), "truncated"),
        (riff(chunk(b"fmt ", fmt_body(0xFFFE, 1, 8000, 16, b"\x16\x00" + b"\x00" * 22)), chunk(b"data", b"")), "GUID"),
    ],
)
def test_unreadable_files_raise_with_a_reason(blob: bytes, reason: str) -> None:
    with pytest.raises(AudioFormatError, match=reason):
        read_wav(blob)


# --- writing -----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["pcm16", "ulaw", "alaw"])
def test_write_then_read_round_trip(tmp_path: Path, encoding: str) -> None:
    samples = ramp(333)
    path = tmp_path / f"{encoding}.wav"
    write_wav(path, samples, 8000, encoding=encoding)
    audio = read_wav(path)
    assert (audio.rate_hz, audio.channels, audio.source_format) == (8000, 1, encoding)
    expected = {
        "pcm16": samples,
        "ulaw": ulaw_decode(ulaw_encode(samples)),
        "alaw": alaw_decode(alaw_encode(samples)),
    }[encoding]
    np.testing.assert_array_equal(audio.pcm, expected)
    # sox, an independent reader, agrees on the format and length.
    info = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert "333 samples" in info
    assert not (tmp_path / f"{encoding}.wav.tmp").exists()


def test_write_stereo_from_bytes_and_bad_input(tmp_path: Path) -> None:
    samples = ramp(40, channels=2)
    write_wav(tmp_path / "st.wav", samples.astype("<i2").tobytes(), 16000, channels=2)
    np.testing.assert_array_equal(read_wav(tmp_path / "st.wav").pcm, samples)
    with pytest.raises(AudioFormatError):
        write_wav(tmp_path / "bad.wav", b"\x00\x00\x00", 8000)
    with pytest.raises(AudioFormatError):
        write_wav(tmp_path / "bad.wav", np.zeros(4, dtype=np.float32), 8000)
    with pytest.raises(AudioFormatError):
        write_wav(tmp_path / "bad.wav", samples, 8000, encoding="mp3")  # type: ignore[arg-type]


def test_writer_file_is_valid_after_each_flush(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    samples = ramp(4800)
    with WavWriter(path, 8000) as writer:
        assert read_wav(path).frames == 0  # header written at open
        writer.write(samples[:1000])
        writer.write(samples[1000:1600].astype("<i2").tobytes())
        assert writer.frames_written == 1600 and writer.frames_flushed == 0
        writer.flush()
        assert writer.frames_flushed == 1600
        on_disk = read_wav(path)
        np.testing.assert_array_equal(on_disk.pcm, samples[:1600])
        writer.write(samples[1600:])
        with pytest.raises(AudioFormatError):
            writer.write(b"\x01")  # half a sample
    np.testing.assert_array_equal(read_wav(path).pcm, samples)
    header = path.read_bytes()[:44]
    assert struct.unpack_from("<I", header, 4)[0] == 36 + 9600
    assert struct.unpack_from("<I", header, 40)[0] == 9600
    with pytest.raises(ValueError):
        writer.write(samples)
    writer.close()  # idempotent


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from voicebot.audio.wav import WavWriter

    path = sys.argv[1]
    writer = WavWriter(path, 8000, channels=2)
    frame = 0
    while True:
        n = 37 + frame % 211  # uneven chunk sizes
        idx = np.arange(frame, frame + n, dtype=np.int64)
        block = np.stack([idx % 32768, -(idx % 32768)], axis=1).astype(np.int16)
        writer.write(block)
        frame += n
        if frame % 3:
            writer.flush()
            print(writer.frames_flushed, flush=True)
        time.sleep(0.002)
    """
)


def test_kill_9_mid_recording_keeps_every_flushed_frame(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        flushed = 0
        for _ in range(60):
            line = child.stdout.readline()
            assert line, "child died early"
            flushed = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert flushed > 0
    audio = read_wav(path)
    assert audio.channels == 2 and audio.frames >= flushed
    idx = np.arange(audio.frames, dtype=np.int64) % 32768
    np.testing.assert_array_equal(audio.pcm[:, 0], idx.astype(np.int16))
    np.testing.assert_array_equal(audio.pcm[:, 1], (-idx).astype(np.int16))
    # repair_wav adopts any unflushed whole frames and leaves a file sox also accepts.
    frames = repair_wav(path)
    assert frames >= audio.frames
    assert read_wav(path).frames == frames
    subprocess.run(["soxi", str(path)], capture_output=True, check=True)


def test_repair_header_never_updated(tmp_path: Path) -> None:
    path = tmp_path / "stale.wav"
    samples = ramp(1234)
    raw = samples.astype("<i2").tobytes()
    list_chunk = chunk(b"LIST", b"INFOIART\x03\x00\x00\x00ab\x00")  # odd: 15 bytes + pad
    # As a writer that died right after open: sizes say "empty", audio plus half a sample follow.
    header = riff(chunk(b"fmt ", fmt_body(1, 1, 8000, 16)), list_chunk, riff_size=4 + 24 + len(list_chunk) + 8)
    path.write_bytes(header + b"data" + struct.pack("<I", 0) + raw + b"\x55")
    # A stale non-zero size must not matter either.
    blob = bytearray(path.read_bytes())
    data_at = blob.index(b"data")
    blob[data_at + 4 : data_at + 8] = struct.pack("<I", 100)
    path.write_bytes(bytes(blob))
    assert read_wav(path).frames == 50

    assert repair_wav(path) == 1234
    repaired = path.read_bytes()
    assert len(repaired) == data_at + 8 + len(raw)
    assert struct.unpack_from("<I", repaired, 4)[0] == len(repaired) - 8
    assert struct.unpack_from("<I", repaired, data_at + 4)[0] == len(raw)
    np.testing.assert_array_equal(read_wav(path).pcm, samples)
    with wave.open(str(path), "rb") as w:  # the stdlib reader accepts it too
        assert w.getnframes() == 1234


def test_repair_rejects_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"hello world, not a wav file")
    with pytest.raises(AudioFormatError):
        repair_wav(path)
