"""Fixtures for the recording tests: synthetic calls written by the real Recorder, and a real
PostgreSQL server started from the Debian package in a temporary directory."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from voicebot.events import EventType as T
from voicebot.events import SessionEvent
from voicebot.recording.format import SessionRecord, read_session
from voicebot.recording.recorder import Recorder

RATE_HZ = 8000
FRAME_MS = 20
CALLER_LEVEL = 1200  # caller speech samples carry this value, bot speech BOT_LEVEL: easy to find
BOT_LEVEL = -900

PG_BIN = Path("/usr/lib/postgresql/15/bin")

Step = tuple[int, T, dict[str, Any]]


def good_call_steps(verify_first: bool = True, handoff: tuple[int, int | None] | None = None) -> list[Step]:
    """A complete reminder call ending in a confirmed promise. ``verify_first=False`` says
    the amount before the borrower is verified. ``handoff=(at_ms, transfer_at_ms|None)``
    adds a hand-off and (maybe) its transfer."""
    def prompt(at: int, pid: str, dur: int, text: str, **flags: Any) -> list[Step]:
        say = {"prompt_id": pid, "state": pid, "text": text, "mentions_debt": False,
               "disclosure": False, "interruptible": True, **flags}
        return [(at, T.SAY, say), (at, T.PROMPT_START, {"prompt_id": pid, "duration_ms": dur}),
                (at + dur - 100, T.PROMPT_END, {"prompt_id": pid}),
                (at + dur, T.PROMPT_PLAYED, {"prompt_id": pid})]

    def caller(start: int, end: int, text: str, intents: list[str]) -> list[Step]:
        return [(start, T.SPEECH_START, {"channel": "caller"}), (end, T.SPEECH_END, {"channel": "caller"}),
                (end + 200, T.FINAL, {"channel": "caller", "text": text, "confidence": 0.9}),
                (end + 210, T.UNDERSTOOD, {"channel": "caller", "text": text, "intents": intents, "entities": {}})]

    verify = [(3800, T.STATE_CHANGE, {"from": "greet", "to": "identified", "verified": True})]
    amount = prompt(7000, "amount_due", 2500, "You owe $250.00, due on 2026-12-01.", mentions_debt=True,
                    interruptible=False)
    steps: list[Step] = [
        (0, T.CALL_STARTED, {"call_id": "x", "rate_hz": RATE_HZ, "channels": ["caller"], "peer": "test", "lang": "en"}),
        *prompt(0, "greeting", 2000, "Hello, this is Acme Finance calling for John. Is this John?"),
        *caller(2500, 3500, "yes speaking", ["affirm"]),
        *(verify if verify_first else []),
        *prompt(3900, "mini_miranda", 3000, "This is an attempt to collect a debt.", disclosure=True,
                interruptible=False),
        *amount,
        *([] if verify_first else [(9600, T.STATE_CHANGE, {"from": "amount", "to": "identified", "verified": True})]),
        *caller(10000, 11500, "I can pay 250 on Friday, my card is 4111 1111 1111 1111", ["promise_to_pay"]),
        *prompt(11900, "readback", 2000, "So 250 dollars on December 4th, is that right?", readback=True),
        *caller(14200, 14700, "yes", ["affirm"]),
        (15000, T.OUTCOME, {"disposition": "promise_to_pay",
                            "promise": {"amount": 250, "currency": "USD", "date": "2026-12-04", "confirmed": True}}),
        *prompt(15100, "goodbye", 1500, "Thank you, goodbye."),
        (16700, T.CALL_ENDED, {"reason": "completed"}),
    ]
    if handoff is not None:
        at, transfer_at = handoff
        steps.append((at, T.HANDOFF, {"reason": "distress", "severity": "critical", "summary": {}}))
        if transfer_at is not None:
            steps.append((transfer_at, T.TRANSFER, {"target": "queue:agents", "reason": "distress"}))
    return sorted(steps, key=lambda s: s[0])


def write_call(sessions_dir: Path, call_id: str, steps: list[Step], outcome: dict[str, Any] | None = None,
               meta: dict[str, Any] | None = None) -> SessionRecord:
    """Record ``steps`` with the real Recorder: events as given, plus caller audio
    (CALLER_LEVEL) during each caller speech interval and bot audio (BOT_LEVEL) during each
    prompt, sent frame by frame at their offsets."""
    rec = Recorder(sessions_dir, call_id, RATE_HZ, ("caller",), meta={
        "account_id": "ACCT-0042424242", "phone": "+1 555 123 0000", "route": "reminder", "peer": "test",
        "lang": "en", "model": "vosk-model-small-en", "script": "reminder", "script_version": "3",
        "config_hash": "abc123def456", "call_window_ok": True, "attempt_caps_ok": True, **(meta or {})})
    frame = np.full(RATE_HZ * FRAME_MS // 1000, 0, np.int16)
    audio: list[tuple[int, str, int]] = []
    open_caller = None
    for at, kind, data in steps:
        if kind == T.SPEECH_START:
            open_caller = at
        elif kind == T.SPEECH_END and open_caller is not None:
            audio += [(t, "caller", CALLER_LEVEL) for t in range(open_caller, at, FRAME_MS)]
            open_caller = None
        elif kind == T.PROMPT_START:
            audio += [(t, "bot", BOT_LEVEL) for t in range(at, at + int(data["duration_ms"]), FRAME_MS)]
    events = [(at, 0, kind, data) for at, kind, data in steps]
    merged = sorted([(at, 1, ch, lvl) for at, ch, lvl in audio] + events, key=lambda x: (x[0], x[1]))
    for item in merged:
        if item[1] == 0:
            rec.event(SessionEvent(item[2], item[0], item[3]))
        else:
            frame[:] = item[3]
            rec.audio(item[2], frame.tobytes(), item[0])
    final = next((d for _, k, d in steps if k == T.OUTCOME), {"disposition": "no_answer"})
    rec.close(outcome or final)
    return read_session(rec.dir)


@pytest.fixture
def make_call(tmp_path: Path) -> Callable[..., SessionRecord]:
    sessions = tmp_path / "sessions"

    def make(call_id: str = "call-good", steps: list[Step] | None = None, **kw: Any) -> SessionRecord:
        return write_call(sessions, call_id, steps if steps is not None else good_call_steps(), **kw)

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL 15 server on a Unix socket; yields a libpq base URL."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    root = Path(tempfile.mkdtemp(prefix="vb-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                "--no-sync"), check=True, capture_output=True)
    subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
                                "-o", f"-k {root} -p {port} -c listen_addresses='' -c fsync=off"),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@/{{db}}?host={root}&port={port}"
    finally:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store tests run against a SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'voicebot.db'}"
    import psycopg

    base: str = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base.format(db="postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.format(db=name)
