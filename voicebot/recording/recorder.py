"""Record one call to a session directory (see ``voicebot.recording.format``).

The recorder is a tap on the session, not a stage: ``event`` and ``audio`` only enqueue, and
one writer thread per call does every disk write, so the event loop never blocks on disk.
The writer flushes every ``flush_interval_s`` (events.jsonl flushed and fsynced, each WAV
flushed so its header is valid), so a ``kill -9`` loses at most that much.

Alignment contract: in ``<channel>.wav`` sample N is time N/rate_hz from call start. Audio
arriving at ``offset_ms`` past the channel's end is preceded by silence up to that offset;
audio whose offset falls before the channel's end (jitter, a sender running ahead of real
time) is appended at the end rather than dropped, so nothing recorded is ever lost.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from voicebot.audio.wav import WavWriter, read_wav, write_wav
from voicebot.compliance.redact import mask_account, pseudonym, redact
from voicebot.errors import AudioFormatError, StoreError
from voicebot.events import SessionEvent
from voicebot.recording.format import (
    EVENTS_FILE, META_FILE, MIX_FILE, SCHEMA_VERSION, encode_event, schema_line, session_dir,
    write_json_atomic,
)

log = logging.getLogger(__name__)

_POLL_S = 0.1  # how often the writer looks for queued items (flush and close wake it at once)
_SILENCE_BLOCK_SAMPLES = 16000  # write long gaps in blocks, never one huge allocation
_UNREDACTED_META = {"call_id", "account_key", "phone_key", "config_hash", "started_at", "ended_at",
                    "schema_version", "outcome", "channels", "rate_hz"}


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def mask_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """meta.json content from caller-supplied facts: account id and phone are masked (last 4
    kept) with a pseudonymous key beside them; other free-text strings go through redact."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key in ("account_id", "phone") and isinstance(value, str):
            out.setdefault("account_key" if key == "account_id" else "phone_key", pseudonym(value))
            out[key] = value if value.startswith("*") else mask_account(value)
        elif isinstance(value, str) and key not in _UNREDACTED_META:
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def write_mix(directory: Path, rate_hz: int) -> Path:
    """Write ``mix.wav`` (stereo: left caller + agent, right bot) from the channel WAVs in
    ``directory``; channels of different lengths are padded with silence."""
    parts: dict[str, np.ndarray] = {}
    for ch in ("caller", "agent", "bot"):
        path = directory / f"{ch}.wav"
        if path.exists():
            wav = read_wav(path)
            parts[ch] = np.asarray(wav.pcm, dtype=np.int32).reshape(-1)
    n = max((len(a) for a in parts.values()), default=0)
    left = np.zeros(n, dtype=np.int32)
    right = np.zeros(n, dtype=np.int32)
    for ch, arr in parts.items():
        target = right if ch == "bot" else left
        target[: len(arr)] += arr
    stereo = np.stack([np.clip(left, -32768, 32767), np.clip(right, -32768, 32767)], axis=1)
    out = directory / MIX_FILE
    write_wav(out, stereo.astype(np.int16), rate_hz, channels=2)
    return out


class Recorder:
    """Records one call. Not itself thread-safe: call it from the session's task only.

    ``channels`` are the inbound channels (``caller``, and ``agent`` in assist mode);
    ``bot`` is always recorded. ``meta`` holds the call facts for meta.json (call_id, account_id
    unmasked is fine: it is masked here, route, peer, lang, model, script, script_version,
    config_hash, call_window_ok, attempt_caps_ok ...). Writer-thread failures are re-raised as
    StoreError from the next call.

    The constructor creates the directory and writes meta.json and the schema line itself
    (a few small synchronous writes, once per call); everything after goes through the
    writer thread. The queue is unbounded: a stalled disk costs memory, never the call.
    Caller offsets should come from the inbound sample count (plus ``AudioReceived.gap_ms``),
    not the wall clock, so network jitter does not insert silence.
    """

    def __init__(
        self,
        sessions_dir: str | os.PathLike[str],
        call_id: str,
        rate_hz: int,
        channels: tuple[str, ...] = ("caller",),
        meta: Mapping[str, Any] | None = None,
        flush_interval_s: float = 1.0,
    ) -> None:
        if rate_hz <= 0:
            raise AudioFormatError(f"rate_hz must be positive, got {rate_hz}")
        self.call_id = call_id
        self.rate_hz = rate_hz
        self.channels: tuple[str, ...] = tuple(dict.fromkeys((*channels, "bot")))
        self.dir = session_dir(sessions_dir, call_id)
        self.dir.mkdir(parents=True, exist_ok=True)
        if (self.dir / EVENTS_FILE).exists():
            raise StoreError(f"session {self.dir} already exists")
        self._flush_interval_s = flush_interval_s
        started_at = str((meta or {}).get("started_at") or utc_now_iso())
        self._meta = mask_meta({**(meta or {}), "call_id": call_id, "started_at": started_at,
                                "rate_hz": rate_hz, "channels": list(self.channels),
                                "schema_version": SCHEMA_VERSION})
        # meta.json exists from the start (no ended_at/outcome yet) so a crash keeps the call
        # facts; close() rewrites it with the outcome, which marks the session finished.
        write_json_atomic(self.dir / META_FILE, self._meta)
        self._events_fh = open(self.dir / EVENTS_FILE, "w", encoding="utf-8")
        self._events_fh.write(schema_line(call_id, rate_hz, self.channels, started_at) + "\n")
        self._events_fh.flush()
        self._wavs = {ch: WavWriter(self.dir / f"{ch}.wav", rate_hz, channels=1) for ch in self.channels}
        self._written = dict.fromkeys(self.channels, 0)  # samples per channel
        self._last_offset_ms = 0
        # A plain deque that the writer drains every _POLL_S, not a queue whose every put wakes
        # it: per-frame wake-ups of one writer thread per call (100/s each) cost the event loop
        # half its time in GIL hand-offs at 12 calls. Only flush and close wake it at once.
        self._queue: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"recorder-{call_id}", daemon=True)
        self._thread.start()

    # -- producer side (session task) -------------------------------------------------------

    def event(self, event: SessionEvent) -> None:
        """Enqueue one event for events.jsonl. Logs a redacted copy at debug level."""
        self._check()
        self._last_offset_ms = max(self._last_offset_ms, event.offset_ms)
        line = encode_event(event)
        if log.isEnabledFor(logging.DEBUG):
            shown = {k: redact(v) if isinstance(v, str) else v for k, v in event.data.items()}
            log.debug("call %s %s +%dms %s", self.call_id, event.type, event.offset_ms,
                      json.dumps(shown, ensure_ascii=False, default=str))
        self._queue.append(("event", line))

    def audio(self, channel: str, pcm: bytes, offset_ms: int) -> None:
        """Enqueue ``pcm`` (s16le mono at the call's rate) for ``channel`` starting at
        ``offset_ms`` from call start (bot audio: the time it was sent)."""
        self._check()
        if channel not in self._wavs:
            raise StoreError(f"channel {channel!r} is not recorded (have {self.channels})")
        if len(pcm) % 2:
            raise AudioFormatError(f"pcm of {len(pcm)} bytes is not whole 16-bit samples")
        self._queue.append(("audio", channel, bytes(pcm), offset_ms))

    def sync(self, timeout_s: float = 30.0) -> None:
        """Block until everything enqueued so far is written, flushed and fsynced."""
        self._check()
        done = threading.Event()
        self._queue.append(("flush", done))
        self._wake.set()
        if not done.wait(timeout_s):
            raise StoreError(f"recorder {self.call_id}: flush timed out after {timeout_s}s")
        self._check()

    def close(self, outcome: Mapping[str, Any]) -> Path:
        """Finish the recording: drain the queue, close the WAVs, write mix.wav, then rewrite
        meta.json (atomically, last: ``ended_at`` + ``outcome`` mark a finished session). Returns the
        session directory. Blocking; a session calls it via ``asyncio.to_thread``."""
        if self._closed:
            return self.dir
        self._closed = True
        self._queue.append(("close",))
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise StoreError(f"recorder {self.call_id} failed: {self._error}") from self._error
        write_mix(self.dir, self.rate_hz)
        duration_ms = max([self._last_offset_ms, *(n * 1000 // self.rate_hz for n in self._written.values())])
        meta = {**self._meta, "ended_at": utc_now_iso(), "duration_ms": duration_ms,
                "outcome": dict(outcome)}
        write_json_atomic(self.dir / META_FILE, meta)
        return self.dir

    def _check(self) -> None:
        if self._error is not None:
            raise StoreError(f"recorder {self.call_id} failed: {self._error}") from self._error
        if self._closed:
            raise StoreError(f"recorder {self.call_id} is closed")

    # -- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        dirty = False
        next_flush = time.monotonic() + self._flush_interval_s
        try:
            while True:
                if not self._queue:
                    self._wake.wait(min(_POLL_S, max(0.0, next_flush - time.monotonic())))
                    self._wake.clear()
                item = self._queue.popleft() if self._queue else ("tick",)
                kind = item[0]
                if kind == "event":
                    self._events_fh.write(item[1] + "\n")
                    dirty = True
                elif kind == "audio":
                    self._write_audio(item[1], item[2], item[3])
                    dirty = True
                if kind in ("flush", "close") or (dirty and time.monotonic() >= next_flush):
                    self._flush()
                    dirty = False
                if time.monotonic() >= next_flush:
                    next_flush = time.monotonic() + self._flush_interval_s
                if kind == "flush":
                    item[1].set()
                elif kind == "close":
                    break
        except BaseException as exc:  # surfaced to the session on its next call
            self._error = exc
            log.error("recorder %s writer failed: %s", self.call_id, exc)
            while self._queue:  # release anyone waiting on a flush
                item = self._queue.popleft()
                if item[0] == "flush":
                    item[1].set()
        finally:
            for wav in self._wavs.values():
                try:
                    wav.close()
                except Exception as exc:  # keep closing the others; report the first
                    self._error = self._error or exc
            self._events_fh.close()

    def _write_audio(self, channel: str, pcm: bytes, offset_ms: int) -> None:
        wav = self._wavs[channel]
        target = offset_ms * self.rate_hz // 1000
        gap = target - self._written[channel]
        while gap > 0:
            n = min(gap, _SILENCE_BLOCK_SAMPLES)
            wav.write(bytes(2 * n))
            self._written[channel] += n
            gap -= n
        wav.write(pcm)
        self._written[channel] += len(pcm) // 2

    def _flush(self) -> None:
        self._events_fh.flush()
        os.fsync(self._events_fh.fileno())
        for wav in self._wavs.values():
            wav.flush()
