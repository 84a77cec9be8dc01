"""The recorded-session format (version ``SCHEMA_VERSION``): directory layout, events.jsonl
lines and meta.json. docs/recording-format.md documents it as a stable interface; change the
version when a change would break a reader.

Layout of ``<sessions dir>/<call id>/``::

    caller.wav   s16le mono at the call's rate; sample N is time N/rate from call start
    bot.wav      what the bot SENT, aligned the same way
    agent.wav    (assist mode) the human agent's channel
    mix.wav      stereo: left = caller (+ agent), right = bot; written at close
    events.jsonl first line {"type":"schema","version":1,...}; then one event per line
    meta.json    call facts, written atomically at start; rewritten at close with ended_at
                 and outcome (a session without them is live, or was cut off by a crash)
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from voicebot.errors import StoreError
from voicebot.events import EventType, SessionEvent

SCHEMA_VERSION = 1
EVENTS_FILE = "events.jsonl"
META_FILE = "meta.json"
MIX_FILE = "mix.wav"
AUDIO_CHANNELS = ("caller", "agent", "bot")

# The documented fields of each event type (all optional for readers: a writer may add more
# keys; readers must ignore keys they do not know). docs/recording-format.md explains each.
EVENT_FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.CALL_STARTED: ("call_id", "rate_hz", "channels", "peer", "lang"),
    EventType.AUDIO_GAP: ("channel", "gap_ms"),
    EventType.SPEECH_START: ("channel",),
    EventType.SPEECH_END: ("channel",),
    EventType.PARTIAL: ("channel", "text"),
    EventType.FINAL: ("channel", "text", "confidence"),
    EventType.UNDERSTOOD: ("channel", "text", "intents", "entities"),
    EventType.STATE_CHANGE: ("from", "to", "verified"),
    EventType.PROMPT_START: ("prompt_id", "duration_ms"),
    EventType.PROMPT_END: ("prompt_id",),
    EventType.PROMPT_PLAYED: ("prompt_id",),
    EventType.PROMPT_INTERRUPTED: ("prompt_id", "played_ms"),
    EventType.BARGE_IN: ("prompt_id", "channel"),
    EventType.MARK: ("name",),
    EventType.DTMF: ("digit",),
    EventType.SAY: ("prompt_id", "state", "text", "mentions_debt", "disclosure", "interruptible", "readback"),
    EventType.HANDOFF: ("reason", "severity", "summary"),
    EventType.TRANSFER: ("target", "reason"),
    EventType.COMPLIANCE_WARNING: ("rule", "speaker", "text", "severity"),
    EventType.SUGGESTION: ("text", "kind"),
    EventType.ERROR: ("kind", "message"),
    EventType.OUTCOME: ("disposition", "reason", "promise", "opt_out"),
    EventType.CALL_ENDED: ("reason",),
}

# Keys of meta.json. Account id and phone are stored masked, with a pseudonymous key beside
# them (voicebot.compliance.redact.pseudonym) so the store can link calls without raw ids.
META_KEYS = (
    "schema_version", "call_id", "account_id", "account_key", "phone", "phone_key", "route",
    "peer", "lang", "model", "script", "script_version", "config_hash", "rate_hz", "channels",
    "started_at", "ended_at", "outcome", "call_window_ok", "attempt_caps_ok",
)

_SAFE_ID_RE = re.compile(r"[^A-Za-z0-9._-]")


def safe_call_id(call_id: str) -> str:
    """The directory name for ``call_id``: peers choose call ids, so anything outside
    ``[A-Za-z0-9._-]`` becomes ``_`` and a leading dot is dropped (no ``..`` escapes)."""
    name = _SAFE_ID_RE.sub("_", call_id).lstrip(".")
    if not name:
        raise StoreError(f"call id {call_id!r} gives an empty directory name")
    return name[:128]


def session_dir(sessions_dir: str | os.PathLike[str], call_id: str) -> Path:
    return Path(sessions_dir) / safe_call_id(call_id)


def schema_line(call_id: str, rate_hz: int, channels: tuple[str, ...], started_at: str) -> str:
    """The first line of events.jsonl."""
    obj = {"type": "schema", "version": SCHEMA_VERSION, "call_id": call_id, "rate_hz": rate_hz,
           "channels": list(channels), "started_at": started_at}
    return json.dumps(obj, ensure_ascii=False)


def encode_event(event: SessionEvent) -> str:
    """One events.jsonl line (no newline). Field names ``type``/``offset_ms`` are reserved."""
    clash = {"type", "offset_ms"} & set(event.data)
    if clash:
        raise StoreError(f"event {event.type} data uses reserved keys {sorted(clash)}")
    return json.dumps(event.to_json_obj(), ensure_ascii=False, default=str)


def decode_event(line: str) -> SessionEvent:
    """Parse one events.jsonl line; raises StoreError on bad JSON or an unknown type."""
    try:
        obj = json.loads(line)
        kind = EventType(obj.pop("type"))
        offset_ms = int(obj.pop("offset_ms"))
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"bad event line {line[:80]!r}: {exc}") from exc
    return SessionEvent(kind, offset_ms, obj)


def write_json_atomic(path: Path, obj: Mapping[str, Any]) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one: temp file
    in the same directory, fsync, rename, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class SessionRecord:
    """A recorded session read back from disk. ``audio`` maps channel name (caller, agent,
    bot, mix) to the WAV files that exist. ``meta`` lacks ``ended_at``/``outcome`` for a
    session still live or cut off by a crash (no ``ended_at``/``outcome`` in meta)."""

    dir: Path
    schema: Mapping[str, Any]
    meta: Mapping[str, Any]
    events: tuple[SessionEvent, ...]
    audio: Mapping[str, Path] = field(default_factory=dict)

    @property
    def call_id(self) -> str:
        return str(self.meta.get("call_id") or self.schema.get("call_id") or self.dir.name)

    @property
    def finished(self) -> bool:
        return bool(self.meta.get("ended_at")) and self.meta.get("outcome") is not None

    def of_type(self, *types: EventType) -> list[SessionEvent]:
        return [e for e in self.events if e.type in types]


def read_events(path: Path) -> tuple[dict[str, Any], list[SessionEvent]]:
    """(schema header, events) of an events.jsonl; StoreError on a bad or newer file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    if not lines:
        raise StoreError(f"{path} is empty (no schema line)")
    try:
        schema = json.loads(lines[0])
    except ValueError as exc:
        raise StoreError(f"{path}: bad schema line: {exc}") from exc
    if schema.get("type") != "schema":
        raise StoreError(f"{path}: first line is not a schema line")
    if int(schema.get("version", 0)) > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {schema.get('version')} is newer than {SCHEMA_VERSION}")
    return schema, [decode_event(line) for line in lines[1:] if line.strip()]


def read_session(path: str | os.PathLike[str]) -> SessionRecord:
    """Read a session directory. Raises StoreError when events.jsonl is missing or damaged
    (run ``voicebot recover`` on sessions cut off by a crash)."""
    root = Path(path)
    schema, events = read_events(root / EVENTS_FILE)
    meta: dict[str, Any] = {}
    if (root / META_FILE).exists():
        try:
            meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise StoreError(f"{root / META_FILE}: {exc}") from exc
    audio = {ch: root / f"{ch}.wav" for ch in (*AUDIO_CHANNELS, "mix") if (root / f"{ch}.wav").exists()}
    return SessionRecord(root, schema, meta, tuple(events), audio)


def list_sessions(sessions_dir: str | os.PathLike[str]) -> list[Path]:
    """Session directories (those holding an events.jsonl) under ``sessions_dir``, sorted."""
    root = Path(sessions_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / EVENTS_FILE).is_file())
