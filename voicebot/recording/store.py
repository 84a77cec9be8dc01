"""The call store: an index of finished sessions plus contact history, in SQLite
(``sqlite:///path``) or PostgreSQL (``postgresql://...``, psycopg 3) with the same schema
(``voicebot.recording.migrations``).

Privacy: account ids and phone numbers are kept as pseudonymous keys
(``voicebot.compliance.redact.pseudonym``); API calls accept raw values and key them, so
``is_opted_out("ACCT-1", "+15551234567")`` works while the database never holds either.
Turn text is stored redacted (cards, IDs, phones masked); events.jsonl keeps the transcript.

Thread-safe: one connection guarded by a lock; every write is one transaction.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from voicebot.compliance.redact import pseudonym, redact
from voicebot.errors import StoreError
from voicebot.events import EventType
from voicebot.recording.format import SessionRecord
from voicebot.recording.migrations import MIGRATIONS, SCHEMA_TABLE_SQL, Dialect

OPT_OUT_INTENTS = frozenset({"cease_contact", "opt_out"})
OPT_OUT_DISPOSITIONS = frozenset({"cease_contact", "opt_out"})
_BOOL_COLUMNS = frozenset({"verified", "confirmed", "connected", "conversation"})


def iso_utc(value: datetime | str) -> str:
    """Normalise a datetime (naive = UTC) or ISO string to the store's timestamp text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise StoreError(f"bad timestamp {value!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _error_types() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


SQLITE_BUSY_TIMEOUT_S = 30.0


def _set_wal(conn: Any) -> None:
    """Switch a SQLite connection to WAL. Several processes opening one new file at once
    (``voicebot serve --workers 2``) race for this: SQLite answers a journal-mode change that
    meets another connection's lock with "database is locked" at once, without waiting on the
    busy timeout, so it is retried here for as long as that timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store:
    """Use ``open_store(url)``. Every failure of the database surfaces as StoreError."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._errors = _error_types()
        self.dialect: Dialect
        try:
            if url.startswith("sqlite:///"):
                self.dialect = "sqlite"
                path = url[len("sqlite:///"):]
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._conn: Any = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                                  timeout=SQLITE_BUSY_TIMEOUT_S)
                _set_wal(self._conn)
            elif url.startswith(("postgresql://", "postgres://")):
                import psycopg

                self.dialect = "postgresql"
                self._conn = psycopg.connect(url, autocommit=True)
            else:
                raise StoreError(f"store url {url!r}: expected sqlite:///path or postgresql://...")
        except self._errors as exc:
            raise StoreError(f"cannot open store {url}: {exc}") from exc
        self._migrate()

    # -- plumbing ---------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction under the lock; yields a cursor-like executor."""
        with self._lock:
            try:
                if self.dialect == "sqlite":
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self._conn
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                else:
                    with self._conn.transaction():
                        yield self._conn
            except self._errors as exc:
                raise StoreError(f"store {self.dialect}: {exc}") from exc

    def _exec(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self._sql(sql), tuple(params))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._tx() as conn:
            cur = self._exec(conn, sql, params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [{n: (bool(v) if n in _BOOL_COLUMNS and v is not None else v) for n, v in zip(names, row)}
                for row in rows]

    def _migrate(self) -> None:
        with self._tx() as conn:
            if self.dialect == "postgresql":
                # Two processes opening a fresh database must not both run migration 1.
                conn.execute("SELECT pg_advisory_xact_lock(7263001)")
            conn.execute(SCHEMA_TABLE_SQL)
            row = self._exec(conn, "SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for mig in MIGRATIONS:
                if mig.version <= current:
                    continue
                for stmt in mig.statements(self.dialect):
                    conn.execute(stmt)
                self._exec(conn, "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                           (mig.version, mig.description, iso_utc(datetime.now(timezone.utc))))

    def schema_version(self) -> int:
        return int(self._query("SELECT MAX(version) AS v FROM schema_version")[0]["v"] or 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -----------------------------------------------------------------------------

    def record_call(self, record: SessionRecord) -> None:
        """Index a finished session (meta.json with ended_at and outcome): replaces any earlier rows of the same
        call, so re-indexing (e.g. after recover) is safe."""
        if not record.finished:
            raise StoreError(f"session {record.dir} is not finished (no ended_at/outcome); run voicebot recover")
        rows = _rows_from_record(record)
        call_id = record.call_id
        with self._tx() as conn:
            for table in ("turns", "outcomes", "promises", "handoffs", "contact_attempts", "calls"):
                self._exec(conn, f"DELETE FROM {table} WHERE call_id = ?", (call_id,))
            self._exec(conn, "DELETE FROM opt_outs WHERE call_id = ?", (call_id,))
            for table, items in rows.items():
                for item in items:
                    cols = ", ".join(item)
                    marks = ", ".join("?" for _ in item)
                    self._exec(conn, f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(item.values()))

    def add_opt_out(self, account_id: str = "", phone: str = "", call_id: str | None = None,
                    created_at: datetime | None = None) -> None:
        """Record a request to stop contact for an account and/or a phone number."""
        if not account_id and not phone:
            raise StoreError("add_opt_out needs an account id or a phone number")
        with self._tx() as conn:
            self._exec(conn, "INSERT INTO opt_outs (account_id, phone, created_at, call_id) VALUES (?, ?, ?, ?)",
                       (pseudonym(account_id), pseudonym(phone),
                        iso_utc(created_at or datetime.now(timezone.utc)), call_id))

    def add_attempt(self, account_id: str, phone: str, started_at: datetime, connected: bool,
                    conversation: bool, call_id: str | None = None) -> None:
        """Record a dial attempt that left no session (unanswered, busy) for the caps."""
        with self._tx() as conn:
            self._exec(conn, "INSERT INTO contact_attempts (account_id, phone, started_at, connected, "
                       "conversation, call_id) VALUES (?, ?, ?, ?, ?, ?)",
                       (pseudonym(account_id), pseudonym(phone), iso_utc(started_at), connected,
                        conversation, call_id))

    def mask_transcripts(self, call_id: str, mask: str) -> int:
        """Replace the text of every turn of ``call_id`` with ``mask``; returns turns changed."""
        with self._tx() as conn:
            cur = self._exec(conn, "UPDATE turns SET text = ? WHERE call_id = ? AND text <> ?",
                             (mask, call_id, mask))
            return int(cur.rowcount or 0)

    # -- reads ------------------------------------------------------------------------------

    def is_opted_out(self, account_id: str = "", phone: str = "") -> bool:
        """True when the account or the phone number asked not to be contacted."""
        who, params = [], []
        if account_id:
            who.append("account_id = ?")
            params.append(pseudonym(account_id))
        if phone:
            who.append("phone = ?")
            params.append(pseudonym(phone))
        if not who:
            return False
        rows = self._query("SELECT COUNT(*) AS n FROM opt_outs WHERE " + " OR ".join(who), params)
        return rows[0]["n"] > 0

    def attempts(self, account_id: str | None = None, phone: str | None = None,
                 since: datetime | None = None) -> list[dict[str, Any]]:
        """Contact attempts for an account and/or phone (both given: either matches), oldest
        first, optionally only those started at or after ``since``."""
        where, params = [], []
        who = []
        if account_id:
            who.append("account_id = ?")
            params.append(pseudonym(account_id))
        if phone:
            who.append("phone = ?")
            params.append(pseudonym(phone))
        if who:
            where.append("(" + " OR ".join(who) + ")")
        if since is not None:
            where.append("started_at >= ?")
            params.append(iso_utc(since))
        sql = "SELECT account_id, phone, started_at, connected, conversation, call_id FROM contact_attempts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._query(sql + " ORDER BY started_at, id", params)

    def list_calls(self, limit: int = 50, offset: int = 0, disposition: str | None = None) -> list[dict[str, Any]]:
        """Calls, newest first."""
        sql, params = "SELECT * FROM calls", []
        if disposition is not None:
            sql += " WHERE disposition = ?"
            params.append(disposition)
        sql += " ORDER BY started_at DESC, call_id LIMIT ? OFFSET ?"
        return self._query(sql, [*params, int(limit), int(offset)])

    def get_call(self, call_id: str) -> dict[str, Any]:
        """One call with its turns, outcome, promises and hand-offs; StoreError if unknown."""
        calls = self._query("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        if not calls:
            raise StoreError(f"no call {call_id!r} in the store")
        call = calls[0]
        turns = self._query("SELECT idx, speaker, offset_ms, text, intents FROM turns WHERE call_id = ? "
                            "ORDER BY idx", (call_id,))
        for t in turns:
            t["intents"] = json.loads(t["intents"])
        outcome = self._query("SELECT disposition, reason, detail FROM outcomes WHERE call_id = ?", (call_id,))
        call["turns"] = turns
        call["outcome"] = {**outcome[0], "detail": json.loads(outcome[0]["detail"])} if outcome else {}
        call["promises"] = self._query("SELECT amount, currency, date, confirmed FROM promises WHERE call_id = ? "
                                       "ORDER BY id", (call_id,))
        call["handoffs"] = self._query("SELECT reason, offset_ms, transfer_ms FROM handoffs WHERE call_id = ? "
                                       "ORDER BY id", (call_id,))
        return call


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the store at ``url``."""
    return Store(url)


def _rows_from_record(record: SessionRecord) -> dict[str, list[dict[str, Any]]]:
    """The rows one finished session contributes, table by table."""
    meta, call_id = record.meta, record.call_id
    outcome = dict(meta.get("outcome") or {})
    started_at = iso_utc(str(meta.get("started_at") or record.schema.get("started_at")))
    ended_at = iso_utc(str(meta["ended_at"])) if meta.get("ended_at") else None
    verified = any(bool(e.data.get("verified")) for e in record.of_type(EventType.STATE_CHANGE))
    turns: list[dict[str, Any]] = []
    opted_out = bool(outcome.get("opt_out")) or outcome.get("disposition") in OPT_OUT_DISPOSITIONS
    for ev in record.of_type(EventType.FINAL, EventType.SAY, EventType.UNDERSTOOD):
        if ev.type == EventType.UNDERSTOOD:
            intents = [str(i) for i in ev.data.get("intents", [])]
            opted_out = opted_out or bool(OPT_OUT_INTENTS & set(intents))
            speaker = str(ev.data.get("channel", "caller"))
            for turn in reversed(turns):
                if turn["speaker"] == speaker:
                    turn["intents"] = json.dumps(intents)
                    break
            continue
        speaker = "bot" if ev.type == EventType.SAY else str(ev.data.get("channel", "caller"))
        turns.append({"call_id": call_id, "idx": len(turns), "speaker": speaker, "offset_ms": ev.offset_ms,
                      "text": redact(str(ev.data.get("text", ""))), "intents": "[]"})
    caller_spoke = any(t["speaker"] == "caller" for t in turns)
    handoffs = []
    transfers = [e.offset_ms for e in record.of_type(EventType.TRANSFER)]
    for ev in record.of_type(EventType.HANDOFF):
        later = [t for t in transfers if t >= ev.offset_ms]
        handoffs.append({"call_id": call_id, "reason": str(ev.data.get("reason", "")), "offset_ms": ev.offset_ms,
                         "transfer_ms": (later[0] - ev.offset_ms) if later else None})
    raw_promises = outcome.get("promise") or []
    promises = [{"call_id": call_id, "amount": float(p["amount"]) if p.get("amount") is not None else None,
                 "currency": str(p.get("currency", "")), "date": str(p.get("date", "")),
                 "confirmed": bool(p.get("confirmed"))}
                for p in (raw_promises if isinstance(raw_promises, list) else [raw_promises])]
    account, phone = str(meta.get("account_key", "")), str(meta.get("phone_key", ""))
    rows: dict[str, list[dict[str, Any]]] = {
        "calls": [{
            "call_id": call_id, "account_id": account, "account_masked": str(meta.get("account_id", "")),
            "phone": phone, "route": str(meta.get("route", "")), "peer": str(meta.get("peer", "")),
            "lang": str(meta.get("lang", "")), "started_at": started_at, "ended_at": ended_at,
            "duration_ms": meta.get("duration_ms"), "disposition": str(outcome.get("disposition", "")),
            "verified": verified, "session_dir": str(record.dir), "script": str(meta.get("script", "")),
            "model": str(meta.get("model", "")),
        }],
        "turns": turns,
        "outcomes": [{"call_id": call_id, "disposition": str(outcome.get("disposition", "")),
                      "reason": str(outcome.get("reason", "")),
                      "detail": json.dumps(outcome, ensure_ascii=False, default=str)}],
        "promises": promises,
        "handoffs": handoffs,
        "contact_attempts": [{"account_id": account, "phone": phone, "started_at": started_at,
                              "connected": bool(meta.get("connected", True)),
                              "conversation": verified or caller_spoke, "call_id": call_id}],
        "opt_outs": [],
    }
    if opted_out and (account or phone):
        rows["opt_outs"].append({"account_id": account, "phone": phone, "created_at": ended_at or started_at,
                                 "call_id": call_id})
    return rows
