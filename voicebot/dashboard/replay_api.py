"""The replay view's JSON API and recordings, read from the sessions directory.

Routes (the server has checked the admin role; ``route`` has no trailing slash):

* ``GET /api/sessions[?limit=N]`` -> JSON list of ``{call_id, started_at, ended_at, route,
  peer, lang, disposition, finished, audio}``, newest first (``limit`` default 200, max 2000).
* ``GET /api/sessions/<call_id>`` -> ``{meta, events, scorecard}``; ``scorecard`` is
  ``voicebot.recording.qa.score_session`` as JSON, or null with ``scorecard_error`` when the
  session cannot be scored.
* ``GET /recordings/<call_id>/<channel>.wav`` for channel in mix, caller, bot, agent.

Call ids come from peers, so a requested id must match ``[A-Za-z0-9._-]+``, must not start
with a dot and must resolve to a directory directly inside the sessions directory; anything
else is a 404 (never a path outside it). Handlers never raise: errors become 4xx/5xx bodies.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("voicebot.dashboard")

Reply = tuple[int, bytes | str, str]

_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_WAV_NAMES = ("mix.wav", "caller.wav", "bot.wav", "agent.wav")
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
DEFAULT_LIMIT = 200
MAX_LIMIT = 2000


def handle(runtime: Any, route: str, query: dict[str, str]) -> Reply:
    """Answer one replay route; see the module docstring."""
    root = Path(runtime.config.sessions_path)
    parts = [p for p in route.split("/") if p]
    if parts == ["api", "sessions"]:
        return _json(list_session_summaries(root, _limit(query.get("limit"))))
    if len(parts) == 3 and parts[:2] == ["api", "sessions"]:
        directory = session_path(root, parts[2])
        if directory is None:
            return 404, "no such session\n", _TEXT
        return session_detail(directory)
    if len(parts) == 3 and parts[0] == "recordings" and parts[2] in _WAV_NAMES:
        directory = session_path(root, parts[1])
        wav = directory / parts[2] if directory is not None else None
        if wav is None or not wav.is_file():
            return 404, "no such recording\n", _TEXT
        return 200, wav.read_bytes(), "audio/wav"
    return 404, "not found\n", _TEXT


def session_path(root: Path, call_id: str) -> Path | None:
    """The session directory of ``call_id`` inside ``root``, or None when the id is not a
    safe name or no such directory exists (None here is "not found", not a failure)."""
    if not _ID_RE.fullmatch(call_id) or call_id.startswith("."):
        return None
    try:
        base = root.resolve(strict=True)
        candidate = (root / call_id).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if candidate.parent != base or not candidate.is_dir():
        return None
    return candidate


def list_session_summaries(root: Path, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Summaries of recorded sessions from their meta.json (cheap: events are not read)."""
    from voicebot.recording.format import list_sessions

    out: list[dict[str, Any]] = []
    for listed in list_sessions(root):
        directory = session_path(root, listed.name)
        if directory is None:  # e.g. a symlink out of the sessions directory
            continue
        meta: dict[str, Any] = {}
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # a session cut off before its meta was written still lists, by name
        outcome = meta.get("outcome") or {}
        out.append({
            "call_id": str(meta.get("call_id") or directory.name),
            "dir": directory.name,
            "started_at": meta.get("started_at") or meta.get("started_at_unix"),
            "ended_at": meta.get("ended_at"),
            "route": meta.get("route", ""),
            "peer": meta.get("peer", ""),
            "lang": meta.get("lang", ""),
            "disposition": outcome.get("disposition", "") if isinstance(outcome, dict) else "",
            "finished": bool(meta.get("ended_at")) and bool(outcome),
            "audio": [n for n in _WAV_NAMES if (directory / n).is_file()],
            "_mtime": directory.stat().st_mtime,
        })
    out.sort(key=lambda s: s["_mtime"], reverse=True)
    for s in out:
        del s["_mtime"]
    return out[:limit]


def session_detail(directory: Path) -> Reply:
    from voicebot.errors import StoreError
    from voicebot.recording.format import read_session

    try:
        record = read_session(directory)
    except StoreError as exc:
        return 422, json.dumps({"error": str(exc)}, ensure_ascii=False), _JSON
    body: dict[str, Any] = {
        "call_id": record.call_id,
        "dir": directory.name,
        "meta": dict(record.meta),
        "schema": dict(record.schema),
        "events": [e.to_json_obj() for e in record.events],
        "audio": sorted(p.name for p in record.audio.values()),
        "scorecard": None,
    }
    try:
        from voicebot.recording.qa import score_session

        body["scorecard"] = dataclasses.asdict(score_session(record))
    except Exception as exc:  # a scoring bug must not hide the recording itself
        log.error("scoring %s failed: %s", directory.name, exc)
        body["scorecard_error"] = str(exc)
    return _json(body)


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(value, MAX_LIMIT))


def _json(obj: Any) -> Reply:
    return 200, json.dumps(obj, ensure_ascii=False, default=str), _JSON
