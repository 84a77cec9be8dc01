"""WAV (RIFF/WAVE) files: reading G.711 and PCM, writing, crash-safe streaming, repair.

We parse RIFF ourselves because the stdlib ``wave`` module rejects mu-law (format tag 7) and
A-law (tag 6), which is what telephony recordings usually are.

Reading (``read_wav``) accepts:

* format tag 1 (PCM) with 16-bit signed or 8-bit unsigned samples, tag 6 (A-law) and tag 7
  (mu-law), each also wrapped in WAVE_FORMAT_EXTENSIBLE (tag 0xFFFE, subformat GUID);
* any other chunks (LIST, fact, cue, ...) before or after the audio, with RIFF's pad byte
  after odd-sized chunks;
* a data size of 0 or 0xFFFFFFFF, written by streaming writers that never went back to fix
  the header: the audio is then the rest of the file.

A trailing partial frame is dropped. Everything else (other encodings, 24-bit PCM, missing
chunks, a data chunk longer than the file) raises ``AudioFormatError`` saying why.

Writing: ``write_wav`` writes a whole file (atomically, via a temporary file and rename);
``WavWriter`` streams 16-bit PCM and makes the file on disk valid after every ``flush``;
``repair_wav`` fixes the header of a file whose writer died before updating it.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Union

import numpy as np
import numpy.typing as npt

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.errors import AudioFormatError

__all__ = ["WavAudio", "SourceFormat", "Encoding", "read_wav", "write_wav", "WavWriter", "repair_wav"]

SourceFormat = Literal["pcm16", "pcm8", "ulaw", "alaw"]
Encoding = Literal["pcm16", "ulaw", "alaw"]
PathLike = Union[str, "os.PathLike[str]"]

_TAG_PCM = 0x0001
_TAG_ALAW = 0x0006
_TAG_MULAW = 0x0007
_TAG_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_*: the format tag in the first two bytes, then this fixed tail.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_STREAMED_SIZES = (0, 0xFFFFFFFF)
_HEADER_BYTES = 44  # RIFF header + 16-byte PCM fmt chunk + data chunk header


@dataclass(frozen=True, eq=False)
class WavAudio:
    """Decoded WAV audio.

    ``pcm`` is a read-only int16 array, shape ``(frames,)`` when ``channels == 1`` and
    ``(frames, channels)`` otherwise; ``rate_hz`` is the sample rate in Hertz;
    ``source_format`` names the encoding found in the file.
    """

    pcm: npt.NDArray[np.int16]
    rate_hz: int
    channels: int
    source_format: SourceFormat

    @property
    def frames(self) -> int:
        """Number of sample frames (samples per channel)."""
        return int(self.pcm.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate_hz


@dataclass(frozen=True)
class _Layout:
    """Where the audio lives in a RIFF file and how it is encoded."""

    source_format: SourceFormat
    channels: int
    rate_hz: int
    bytes_per_sample: int
    data_offset: int
    declared_size: int

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bytes_per_sample


def _parse_fmt(body: bytes) -> tuple[SourceFormat, int, int, int]:
    if len(body) < 16:
        raise AudioFormatError(f"fmt chunk is {len(body)} bytes, needs at least 16")
    tag, channels, rate_hz, _byte_rate, _block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _TAG_EXTENSIBLE:
        if len(body) < 40:
            raise AudioFormatError(f"WAVE_FORMAT_EXTENSIBLE fmt chunk is {len(body)} bytes, needs 40")
        guid = body[24:40]
        if guid[2:] != _GUID_TAIL:
            raise AudioFormatError(f"unsupported WAVE_FORMAT_EXTENSIBLE subformat GUID {guid.hex()}")
        tag = struct.unpack_from("<H", guid)[0]
    if channels == 0:
        raise AudioFormatError("fmt chunk declares 0 channels")
    if rate_hz == 0:
        raise AudioFormatError("fmt chunk declares a sample rate of 0 Hz")
    if tag == _TAG_PCM and bits == 16:
        return "pcm16", channels, rate_hz, 2
    if tag == _TAG_PCM and bits == 8:
        return "pcm8", channels, rate_hz, 1
    if tag in (_TAG_MULAW, _TAG_ALAW):
        if bits != 8:
            raise AudioFormatError(f"G.711 needs 8 bits per sample, fmt declares {bits}")
        return ("ulaw" if tag == _TAG_MULAW else "alaw"), channels, rate_hz, 1
    if tag == _TAG_PCM:
        raise AudioFormatError(f"{bits}-bit PCM is not supported (only 8 and 16 bits)")
    names = {0x0003: "IEEE float", 0x0002: "MS ADPCM", 0x0011: "IMA ADPCM", 0x0055: "MP3"}
    name = names.get(tag, "unknown")
    raise AudioFormatError(f"WAV format tag 0x{tag:04x} ({name}) is not supported")


def _scan(head: bytes, file_bytes: int) -> _Layout:
    """Walk the RIFF chunks in ``head`` (a prefix of a ``file_bytes`` long file) until both
    fmt and data are found. Stops there, so bytes after the audio are never parsed."""
    if len(head) < 12:
        raise AudioFormatError(f"not a WAV file: only {len(head)} bytes")
    if head[0:4] == b"RF64":
        raise AudioFormatError("RF64 (64-bit WAV) is not supported")
    if head[0:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFormatError("not a WAV file: missing RIFF/WAVE header")
    fmt: tuple[SourceFormat, int, int, int] | None = None
    data: tuple[int, int] | None = None
    pos = 12
    while fmt is None or data is None:
        if pos + 8 > len(head):
            missing = "fmt" if fmt is None else "data"
            raise AudioFormatError(f"no {missing} chunk in the WAV file")
        chunk_id = head[pos : pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        body_start = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(head[body_start : body_start + size])
        elif chunk_id == b"data":
            data = (body_start, size)
            if size in _STREAMED_SIZES:
                if fmt is None:
                    raise AudioFormatError("streamed data chunk (unknown size) before the fmt chunk")
                break  # the audio runs to the end of the file
        elif size > file_bytes:
            raise AudioFormatError(f"chunk {chunk_id!r} claims {size} bytes, more than the file holds")
        pos = body_start + size + (size & 1)  # RIFF pads odd-sized chunks to even length
    assert fmt is not None and data is not None
    source_format, channels, rate_hz, bytes_per_sample = fmt
    return _Layout(source_format, channels, rate_hz, bytes_per_sample, data[0], data[1])


def _decode(raw: bytes, source_format: SourceFormat) -> npt.NDArray[np.int16]:
    if source_format == "pcm16":
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if source_format == "pcm8":
        # 8-bit WAV is unsigned with 128 as zero.
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if source_format == "ulaw":
        return ulaw_decode(raw)
    return alaw_decode(raw)


def read_wav(path_or_bytes: PathLike | bytes | bytearray | memoryview) -> WavAudio:
    """Read a WAV file (path) or WAV bytes; see the module docstring for what is accepted."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        blob = bytes(path_or_bytes)
    else:
        blob = Path(path_or_bytes).read_bytes()
    layout = _scan(blob, len(blob))
    available = len(blob) - layout.data_offset
    if layout.declared_size in _STREAMED_SIZES:
        size = available
    elif layout.declared_size > available:
        raise AudioFormatError(
            f"data chunk declares {layout.declared_size} bytes but the file ends after "
            f"{available}; the file is truncated (repair_wav can fix a crashed recording)"
        )
    else:
        size = layout.declared_size
    size -= size % layout.frame_bytes  # drop a trailing partial frame
    samples = _decode(blob[layout.data_offset : layout.data_offset + size], layout.source_format)
    if layout.channels > 1:
        samples = samples.reshape(-1, layout.channels)
    samples.setflags(write=False)
    return WavAudio(samples, layout.rate_hz, layout.channels, layout.source_format)


def _pcm_header(rate_hz: int, channels: int, data_bytes: int) -> bytes:
    block_align = channels * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE",
        b"fmt ", 16, _TAG_PCM, channels, rate_hz, rate_hz * block_align, block_align, 16,
        b"data", data_bytes,
    )  # fmt: skip


def _pcm_bytes(pcm: npt.ArrayLike | bytes | bytearray | memoryview, channels: int) -> bytes:
    """s16le bytes of whole frames from an int16 array or from s16le bytes."""
    if isinstance(pcm, (bytes, bytearray, memoryview)):
        raw = bytes(pcm)
    else:
        samples = np.asarray(pcm)
        if samples.dtype != np.int16:
            raise AudioFormatError(f"expected int16 samples, got dtype {samples.dtype}")
        if samples.ndim == 2 and samples.shape[1] != channels:
            raise AudioFormatError(f"array has {samples.shape[1]} channels, writer has {channels}")
        raw = samples.astype("<i2", copy=False).tobytes()
    if len(raw) % (2 * channels):
        raise AudioFormatError(f"{len(raw)} bytes is not a whole number of {channels}-channel 16-bit frames")
    return raw


def _check_rate_channels(rate_hz: int, channels: int) -> None:
    if rate_hz <= 0 or channels <= 0:
        raise AudioFormatError(f"rate_hz and channels must be positive, got {rate_hz} and {channels}")


def write_wav(
    path: PathLike,
    pcm: npt.ArrayLike | bytes,
    rate_hz: int,
    channels: int = 1,
    encoding: Encoding = "pcm16",
) -> None:
    """Write int16 samples (1-D interleaved, ``(frames, channels)``, or s16le bytes) as a WAV
    file encoded as 16-bit PCM, mu-law (tag 7) or A-law (tag 6). The file appears atomically."""
    _check_rate_channels(rate_hz, channels)
    raw = _pcm_bytes(pcm, channels)
    frames = len(raw) // (2 * channels)
    if encoding == "pcm16":
        blob = _pcm_header(rate_hz, channels, len(raw)) + raw
    elif encoding in ("ulaw", "alaw"):
        samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
        body = ulaw_encode(samples) if encoding == "ulaw" else alaw_encode(samples)
        tag = _TAG_MULAW if encoding == "ulaw" else _TAG_ALAW
        # Non-PCM formats carry an 18-byte fmt (cbSize = 0) and a fact chunk with the frame count.
        fmt = struct.pack("<HHIIHHH", tag, channels, rate_hz, rate_hz * channels, channels, 8, 0)
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
        chunks += b"fact" + struct.pack("<II", 4, frames)
        chunks += b"data" + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")
        blob = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
    else:
        raise AudioFormatError(f"encoding must be pcm16, ulaw or alaw, got {encoding!r}")
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


class WavWriter:
    """Streaming, crash-safe writer of a 16-bit PCM WAV file.

    The header is written (and synced) at open with a data size of 0. ``write`` queues
    audio; ``flush`` appends the queued bytes, syncs them, then rewrites the RIFF and data
    sizes and syncs again, so whenever the process dies (even ``kill -9``) the file holds a
    valid WAV with at least every flushed frame, and the header never claims more audio
    than reached the disk. ``close`` flushes; it is idempotent. Not thread-safe.
    """

    # Bound memory if the owner flushes rarely; these bytes go to the OS unsynced and are
    # covered by the header at the next flush.
    _SPILL_BYTES = 1 << 20

    def __init__(self, path: PathLike, rate_hz: int, channels: int = 1) -> None:
        _check_rate_channels(rate_hz, channels)
        self.path = Path(path)
        self.rate_hz = rate_hz
        self.channels = channels
        self._frame_bytes = 2 * channels
        self._pending = bytearray()
        self._bytes_on_file = 0
        self._bytes_flushed = 0
        self._file = open(self.path, "wb")
        self._closed = False
        self._file.write(_pcm_header(rate_hz, channels, 0))
        self._file.flush()
        os.fsync(self._file.fileno())

    @property
    def frames_written(self) -> int:
        """Frames accepted by ``write`` so far (flushed or not)."""
        return (self._bytes_on_file + len(self._pending)) // self._frame_bytes

    @property
    def frames_flushed(self) -> int:
        """Frames guaranteed on disk and covered by the header."""
        return self._bytes_flushed // self._frame_bytes

    def write(self, pcm: npt.ArrayLike | bytes | bytearray | memoryview) -> None:
        """Queue whole frames: an int16 array or s16le (interleaved) bytes."""
        if self._closed:
            raise ValueError("write to a closed WavWriter")
        self._pending += _pcm_bytes(pcm, self.channels)
        if len(self._pending) >= self._SPILL_BYTES:
            self._spill()

    def _spill(self) -> None:
        self._file.write(self._pending)
        self._bytes_on_file += len(self._pending)
        self._pending.clear()

    def flush(self) -> None:
        """Make everything written so far durable and the file a valid WAV that holds it."""
        if self._closed:
            return
        self._spill()
        self._file.flush()
        if self._bytes_on_file == self._bytes_flushed:
            return
        fd = self._file.fileno()
        # Data first, header second: after a power cut the header must not count bytes
        # that never reached the disk.
        os.fdatasync(fd)
        self._file.seek(4)
        self._file.write(struct.pack("<I", 36 + self._bytes_on_file))
        self._file.seek(40)
        self._file.write(struct.pack("<I", self._bytes_on_file))
        self._file.seek(0, os.SEEK_END)
        self._file.flush()
        os.fsync(fd)
        self._bytes_flushed = self._bytes_on_file

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._file.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def repair_wav(path: PathLike) -> int:
    """Fix the RIFF and data sizes of a WAV whose writer died before updating them.

    Assumes the data chunk is the last chunk (as ``WavWriter`` and streaming recorders write
    it): everything after the data chunk header is taken as audio, a trailing partial frame
    is cut off the file, and the header is rewritten to match. Returns the frame count.
    Raises AudioFormatError if the file has no readable fmt and data chunk.
    """
    target = Path(path)
    with open(target, "r+b") as f:
        file_bytes = os.fstat(f.fileno()).st_size
        head = f.read(min(file_bytes, 1 << 20))
        # Scan as if streamed so a stale size in the header does not matter.
        layout = _scan(_with_streamed_data_size(head), file_bytes)
        audio_bytes = file_bytes - layout.data_offset
        audio_bytes -= audio_bytes % layout.frame_bytes
        f.truncate(layout.data_offset + audio_bytes)
        f.seek(4)
        f.write(struct.pack("<I", layout.data_offset + audio_bytes - 8))
        f.seek(layout.data_offset - 4)
        f.write(struct.pack("<I", audio_bytes))
        f.flush()
        os.fsync(f.fileno())
    return audio_bytes // layout.frame_bytes


def _with_streamed_data_size(head: bytes) -> bytes:
    """Copy of the header prefix whose first data chunk size reads as "unknown" (0)."""
    buf = bytearray(head)
    pos = 12
    while pos + 8 <= len(buf):
        chunk_id = bytes(buf[pos : pos + 4])
        (size,) = struct.unpack_from("<I", buf, pos + 4)
        if chunk_id == b"data":
            buf[pos + 4 : pos + 8] = b"\x00\x00\x00\x00"
            break
        pos += 8 + size + (size & 1)
    return bytes(buf)
