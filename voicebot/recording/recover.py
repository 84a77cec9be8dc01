"""Repair sessions cut off by a crash (``kill -9``, power loss) and index them.

A session is unfinished when its meta.json lacks ``ended_at`` or ``outcome``. Recovery keeps
every byte that reached the disk: WAV headers are rewritten to cover the audio on file
(``repair_wav``), a trailing partial line of events.jsonl is cut off, a ``call_ended`` event
with reason ``crash_recovered`` is appended, mix.wav is rebuilt and meta.json gets disposition
``dropped``. Must not run while the server that owns the sessions is live.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from voicebot.audio.wav import read_wav, repair_wav
from voicebot.errors import AudioFormatError, StoreError
from voicebot.events import EventType, SessionEvent
from voicebot.recording.format import (
    AUDIO_CHANNELS, EVENTS_FILE, META_FILE, MIX_FILE, SCHEMA_VERSION, encode_event, list_sessions,
    read_session, schema_line, write_json_atomic,
)
from voicebot.recording.recorder import utc_now_iso, write_mix
from voicebot.recording.store import Store

log = logging.getLogger(__name__)

RECOVERED_REASON = "crash_recovered"
DROPPED = "dropped"


def _load_meta(directory: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((directory / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}  # never written, or torn: rebuilt from events.jsonl and the WAVs


def _truncate_events(path: Path) -> tuple[dict[str, Any] | None, int]:
    """Cut events.jsonl after its last complete, parseable line. Returns (schema line or None,
    the largest offset_ms seen)."""
    raw = path.read_bytes() if path.exists() else b""
    keep = 0
    schema: dict[str, Any] | None = None
    last_offset_ms = 0
    pos = 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            break
        try:
            obj = json.loads(raw[pos:end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            break  # a torn write: nothing after it can be trusted
        if pos == 0 and obj.get("type") == "schema":
            schema = obj
        last_offset_ms = max(last_offset_ms, int(obj.get("offset_ms", 0)))
        keep = pos = end + 1
    if keep < len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(keep)
    return schema, last_offset_ms


def recover_session(directory: Path, store: Store | None = None) -> str:
    """Repair one unfinished session in place, index it if ``store`` is given; returns its
    call id. Raises StoreError if the directory is not a session."""
    meta = _load_meta(directory)
    rate_hz = int(meta.get("rate_hz") or 0)
    duration_ms = 0
    for ch in AUDIO_CHANNELS:
        wav = directory / f"{ch}.wav"
        if not wav.exists():
            continue
        try:
            frames = repair_wav(wav)
            rate_hz = rate_hz or read_wav(wav).rate_hz
        except AudioFormatError as exc:
            log.warning("recover %s: %s unreadable, left as is: %s", directory.name, wav.name, exc)
            continue
        if rate_hz:
            duration_ms = max(duration_ms, frames * 1000 // rate_hz)
    (directory / MIX_FILE).unlink(missing_ok=True)  # possibly half-written; rebuilt below

    events_path = directory / EVENTS_FILE
    schema, last_offset_ms = _truncate_events(events_path)
    call_id = str(meta.get("call_id") or (schema or {}).get("call_id") or directory.name)
    started_at = str(meta.get("started_at") or (schema or {}).get("started_at") or utc_now_iso())
    if schema is None:  # not even the schema line survived: start the file again
        channels = tuple(meta.get("channels") or ("caller", "bot"))
        events_path.write_text(schema_line(call_id, rate_hz, channels, started_at) + "\n", encoding="utf-8")
    end_ms = max(duration_ms, last_offset_ms)
    with open(events_path, "a", encoding="utf-8") as fh:
        fh.write(encode_event(SessionEvent(EventType.CALL_ENDED, end_ms, {"reason": RECOVERED_REASON})) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if rate_hz:
        write_mix(directory, rate_hz)
    ended_at = datetime.fromisoformat(started_at) + timedelta(milliseconds=end_ms)
    meta.update({
        "schema_version": meta.get("schema_version", SCHEMA_VERSION), "call_id": call_id,
        "started_at": started_at, "rate_hz": rate_hz, "duration_ms": end_ms,
        "ended_at": ended_at.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        "recovered_at": utc_now_iso(),
        "outcome": {**(meta.get("outcome") or {}), "disposition": DROPPED, "reason": RECOVERED_REASON},
    })
    write_json_atomic(directory / META_FILE, meta)
    if store is not None:
        store.record_call(read_session(directory))
    return call_id


def recover(sessions_dir: str | os.PathLike[str], store: Store | None) -> list[str]:
    """Recover every unfinished session under ``sessions_dir``; returns their call ids.
    Finished sessions missing from the store are indexed too (a crash between meta.json and
    the index write), but are not in the returned list."""
    recovered: list[str] = []
    for directory in list_sessions(sessions_dir):
        meta = _load_meta(directory)
        if meta.get("ended_at") and meta.get("outcome") is not None:
            if store is not None:
                try:
                    store.get_call(str(meta.get("call_id", directory.name)))
                except StoreError:
                    store.record_call(read_session(directory))
            continue
        recovered.append(recover_session(directory, store))
        log.info("recovered %s", recovered[-1])
    return recovered
