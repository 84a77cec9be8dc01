"""The espeak-ng worker process that ``Pyttsx3Engine`` talks to.

Run as ``python -m voicebot.tts.pyttsx3_worker FD DIR``: FD is an inherited socket carrying a
``multiprocessing.connection.Connection``, DIR a scratch directory the parent owns (and removes,
even after a kill -9). (A plain subprocess, not multiprocessing "spawn":
spawn re-imports the parent's ``__main__``, which breaks any unguarded script using voicebot.)

pyttsx3's espeak driver is not thread-safe, prints "Audio saved to ..." on stdout, and writes
the ``save_to_file`` WAV from espeak's callback, possibly after ``runAndWait`` returns. So it
lives alone in its own process, with stdout pointed at /dev/null, and every render waits until
the WAV on disk is complete before reading it.

Protocol over that connection (pickled tuples, never stdout):

    worker -> parent, once at start:  ("ready", pid)  or  ("error", message)
    parent -> worker:  ("render", text, voice, rate_wpm, timeout_s)
    worker -> parent:  ("ok", pcm, rate_hz)  or  ("error", message)
    parent -> worker:  ("stop",)   (or closing the connection) ends the worker
"""
from __future__ import annotations

import io
import os
import struct
import sys
import time
import wave
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

_POLL_S = 0.01
_EMPTY_RETRIES = 2


def serve(conn: Connection, tmp_dir: Path) -> None:
    """Run the worker loop on ``conn``, writing WAVs in ``tmp_dir``, until told to stop or the
    parent goes away."""
    _silence_stdout()
    try:
        import pyttsx3
        from pyttsx3.drivers import _espeak as espeak_lib

        engine = pyttsx3.init("espeak")
    except Exception as exc:  # noqa: BLE001 - any init failure must reach the parent
        conn.send(("error", f"pyttsx3 espeak init failed: {type(exc).__name__}: {exc}"))
        return
    # A fresh engine is "busy" and queues property changes until its first loop; after one
    # empty runAndWait they apply at once, which _apply_voice relies on.
    engine.runAndWait()
    voices = _voice_names(engine)
    conn.send(("ready", os.getpid()))
    counter = 0
    current: tuple[str, int] | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request[0] != "render":
            return
        _, text, voice, rate_wpm, timeout_s = request
        counter += 1
        path = tmp_dir / f"render-{counter}.wav"
        try:
            if voice.split("+")[0].lower() not in voices:
                raise ValueError(f"unknown espeak-ng voice {voice!r}")
            if current != (voice, rate_wpm):
                _apply_voice(engine, espeak_lib, voice, rate_wpm)
                current = (voice, rate_wpm)
            pcm, rate_hz = _render_retrying(engine, espeak_lib, text, timeout_s, path)
            reply: tuple[Any, ...] = ("ok", pcm, rate_hz)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as EngineError
            reply = ("error", f"{type(exc).__name__}: {exc}")
        finally:
            path.unlink(missing_ok=True)
        conn.send(reply)


def _voice_names(engine: Any) -> frozenset[str]:
    """Every name espeak-ng accepts for a voice: "gmw/en-us", "en-us", its languages."""
    names: set[str] = set()
    for voice in engine.getProperty("voices"):
        names.update({voice.id.lower(), voice.id.split("/")[-1].lower(), voice.name.lower()})
        names.update(str(lang).lower() for lang in voice.languages)
    return frozenset(names)


def _apply_voice(engine: Any, espeak_lib: Any, voice: str, rate_wpm: int) -> None:
    # pyttsx3 swallows errors of property changes, hence the voice name check in serve.
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate_wpm)
    # In espeak's asynchronous mode a voice/rate change still in flight ends the next message
    # early: setting them before every render gave 15 of 600 renders empty or truncated.
    espeak_lib.Synchronize()


def _render_retrying(
    engine: Any, espeak_lib: Any, text: str, timeout_s: float, path: Path
) -> tuple[bytes, int]:
    # Guard for espeak's asynchronous mode delivering message-terminated before any audio
    # (pyttsx3 then writes an empty WAV). Synchronize has drained espeak, so a retry is clean.
    deadline = time.monotonic() + timeout_s
    for attempt in range(_EMPTY_RETRIES + 1):
        remaining_s = max(0.0, deadline - time.monotonic())
        pcm, rate_hz = _render(engine, espeak_lib, text, remaining_s, path)
        if pcm:
            return pcm, rate_hz
        path.unlink(missing_ok=True)
    raise ValueError(f"espeak produced no audio in {attempt + 1} attempts")


def _render(
    engine: Any, espeak_lib: Any, text: str, timeout_s: float, path: Path
) -> tuple[bytes, int]:
    engine.save_to_file(text, str(path))
    engine.runAndWait()
    # espeak runs in AUDIO_OUTPUT_RETRIEVAL (asynchronous) mode: its own thread synthesizes and
    # calls back into the driver, which writes the WAV from there. Synchronize waits for that
    # thread, so the next request never starts while this one is still finishing.
    espeak_lib.Synchronize()
    data = wait_for_complete_wav(path, timeout_s)
    with wave.open(io.BytesIO(data), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(
                f"espeak wrote {wav.getnchannels()} channel(s) of {8 * wav.getsampwidth()}-bit audio"
            )
        pcm = wav.readframes(wav.getnframes())
        rate_hz = wav.getframerate()
    return pcm, rate_hz


def wait_for_complete_wav(path: Path, timeout_s: float) -> bytes:
    """The bytes of the WAV at ``path`` once another thread has finished writing it.

    Complete means: the RIFF and data chunk sizes in the header match the bytes on disk, and
    the size did not change between two polls. Raises ``TimeoutError`` after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    previous = b""
    while True:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        if data and data == previous and riff_sizes_valid(data):
            return data
        previous = data
        if time.monotonic() > deadline:
            state = f"{len(data)} bytes, header sizes valid: {riff_sizes_valid(data)}"
            raise TimeoutError(f"WAV not complete after {timeout_s:.1f} s ({state})")
        time.sleep(_POLL_S)


def riff_sizes_valid(data: bytes) -> bool:
    """True when ``data`` is a whole RIFF/WAVE file: the sizes its header claims are all there.

    Python's ``wave`` writes the header (with final sizes) before the samples, so a file that is
    still being written has a RIFF size larger than the bytes present.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 != len(data):
        return False
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", data, offset + 4)
        end = offset + 8 + chunk_size
        if end > len(data):
            return False
        if chunk_id == b"data":
            return True
        offset = end + (chunk_size & 1)  # RIFF chunks are padded to even sizes
    return False


def main(argv: list[str]) -> int:
    """Entry point: serve on the connection on file descriptor ``argv[1]``, in directory ``argv[2]``."""
    conn = Connection(int(argv[1]))
    try:
        serve(conn, Path(argv[2]))
    finally:
        conn.close()
    return 0


def _silence_stdout() -> None:
    # The espeak driver prints on stdout, which this process shares with its parent; a parent
    # that speaks JSON lines on stdout must not receive "Audio saved to ...".
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
