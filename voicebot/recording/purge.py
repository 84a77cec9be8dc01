"""Retention: delete the audio and mask the transcripts of sessions past their age limit.

A session's age counts from meta ``started_at`` (else the events.jsonl schema line, else the
directory's modification time). Purging audio deletes every WAV of the session; purging
transcripts rewrites events.jsonl (atomically) with every ``text``, ``entities`` and
``summary`` field replaced by ``MASK``, and masks the turns in the store. meta.json records
what was purged and when, so purging twice does nothing the second time.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from voicebot.errors import StoreError
from voicebot.recording.format import (
    EVENTS_FILE, META_FILE, list_sessions, read_events, write_json_atomic,
)
from voicebot.recording.recorder import utc_now_iso
from voicebot.recording.store import Store

Kind = Literal["audio", "transcripts", "all"]
MASK = "[purged]"
MASKED_FIELDS = ("text", "entities", "summary")
_AGE_RE = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$")


def parse_age(text: str) -> timedelta:
    """``"90d"`` -> 90 days; also ``h`` (hours) and ``w`` (weeks); a bare number is days."""
    m = _AGE_RE.match(text)
    if not m:
        raise ValueError(f"age {text!r}: expected a number with d, h or w (e.g. 90d)")
    n, unit = int(m.group(1)), m.group(2) or "d"
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]


@dataclass(frozen=True)
class Purged:
    call_id: str
    audio_files: tuple[str, ...]
    audio_bytes: int
    events_masked: int
    turns_masked: int


def _started_at(directory: Path, meta: dict[str, object]) -> datetime:
    raw = meta.get("started_at")
    if not raw:
        try:
            raw = read_events(directory / EVENTS_FILE)[0].get("started_at")
        except StoreError:
            raw = None
    if raw:
        value = datetime.fromisoformat(str(raw))
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(directory.stat().st_mtime, timezone.utc)


def _mask_events(directory: Path) -> int:
    path = directory / EVENTS_FILE
    schema, events = read_events(path)
    masked = 0
    lines = [json.dumps(schema, ensure_ascii=False)]
    for ev in events:
        obj = ev.to_json_obj()
        hit = [k for k in MASKED_FIELDS if k in obj and obj[k] not in ("", MASK, None)]
        for k in hit:
            obj[k] = MASK
        masked += bool(hit)
        lines.append(json.dumps(obj, ensure_ascii=False, default=str))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return masked


def purge(sessions_dir: str | os.PathLike[str], store: Store | None, older_than: timedelta,
          kind: Kind = "all", now: datetime | None = None) -> list[Purged]:
    """Purge sessions started more than ``older_than`` before ``now``; returns what each
    purge removed (sessions with nothing left to remove are not listed)."""
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    done: list[Purged] = []
    for directory in list_sessions(sessions_dir):
        meta_path = directory / META_FILE
        meta: dict[str, object] = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        if not meta.get("ended_at"):
            continue  # live or crashed: recover first, never purge under a writer
        if _started_at(directory, meta) >= cutoff:
            continue
        call_id = str(meta.get("call_id") or directory.name)
        purged = dict(meta.get("purged") or {})  # type: ignore[call-overload]
        files: list[str] = []
        size = 0
        if kind in ("audio", "all"):
            for wav in sorted(directory.glob("*.wav")):
                size += wav.stat().st_size
                files.append(wav.name)
                wav.unlink()
            if files:
                purged["audio"] = utc_now_iso()
        events_masked = turns_masked = 0
        if kind in ("transcripts", "all") and "transcripts" not in purged:
            events_masked = _mask_events(directory)
            if store is not None:
                turns_masked = store.mask_transcripts(call_id, MASK)
            purged["transcripts"] = utc_now_iso()
        if files or events_masked or turns_masked:
            done.append(Purged(call_id, tuple(files), size, events_masked, turns_masked))
        if purged != meta.get("purged"):
            write_json_atomic(meta_path, {**meta, "purged": purged})
    return done

