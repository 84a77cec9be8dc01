"""The call store, run identically on a SQLite file and a real PostgreSQL server."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from voicebot.errors import StoreError
from voicebot.events import EventType as T
from voicebot.recording.format import SessionRecord
from voicebot.recording.migrations import MIGRATIONS
from voicebot.recording.store import open_store

from .conftest import good_call_steps


def test_record_call_fills_every_table(store_url: str, make_call: Callable[..., SessionRecord]) -> None:
    # given a finished session with a promise, a hand-off and a transfer 2 s later
    record = make_call("call-1", good_call_steps(handoff=(12000, 14000)))
    with open_store(store_url) as store:
        # feed
        store.record_call(record)
        # assert
        call = store.get_call("call-1")
    assert call["disposition"] == "promise_to_pay" and call["verified"] is True
    assert call["account_masked"].endswith("4242") and call["account_id"].startswith("k:")
    assert call["route"] == "reminder" and call["peer"] == "test" and call["lang"] == "en"
    assert call["script"] == "reminder" and call["model"] == "vosk-model-small-en"
    assert call["session_dir"] == str(record.dir) and call["duration_ms"] == 16700
    speakers = [t["speaker"] for t in call["turns"]]
    assert speakers == ["bot", "caller", "bot", "bot", "caller", "bot", "caller", "bot"]
    assert call["turns"][4]["intents"] == ["promise_to_pay"]
    # turn text is redacted in the index (the card number spoken by the caller)
    assert "4111 1111 1111 1111" not in call["turns"][4]["text"] and call["turns"][4]["text"].endswith("1111")
    assert call["promises"] == [{"amount": 250.0, "currency": "USD", "date": "2026-12-04", "confirmed": True}]
    assert call["handoffs"] == [{"reason": "distress", "offset_ms": 12000, "transfer_ms": 2000}]
    assert call["outcome"]["disposition"] == "promise_to_pay"


def test_record_call_is_idempotent_and_lists_calls(store_url: str, make_call: Callable[..., SessionRecord]) -> None:
    a = make_call("call-a")
    b = make_call("call-b", outcome={"disposition": "refused"})
    with open_store(store_url) as store:
        store.record_call(a)
        store.record_call(a)  # re-index replaces, never duplicates
        store.record_call(b)
        assert len(store.get_call("call-a")["turns"]) == 8
        assert {c["call_id"] for c in store.list_calls()} == {"call-a", "call-b"}
        assert [c["call_id"] for c in store.list_calls(disposition="refused")] == ["call-b"]
        assert len(store.list_calls(limit=1)) == 1 and len(store.list_calls(limit=1, offset=1)) == 1
        assert len(store.attempts(account_id="ACCT-0042424242")) == 2
        with pytest.raises(StoreError):
            store.get_call("nope")


def test_attempts_filter_by_account_phone_and_time(store_url: str) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    with open_store(store_url) as store:
        for hours in (1, 30, 200):
            store.add_attempt("ACCT-1", "+15550001", now - timedelta(hours=hours), connected=hours == 1,
                              conversation=False)
        store.add_attempt("ACCT-2", "+15550002", now, connected=False, conversation=False)
        assert len(store.attempts(account_id="ACCT-1")) == 3
        week = store.attempts(account_id="ACCT-1", since=now - timedelta(days=7))
        assert [a["connected"] for a in week] == [False, True]  # oldest first, bools in both dialects
        assert len(store.attempts(phone="+1 555 0002")) == 1  # phone formatting does not matter
        assert len(store.attempts(since=now - timedelta(minutes=1))) == 1
        # raw ids never reach the database
        assert all(a["account_id"].startswith("k:") for a in store.attempts())


def test_opt_outs_by_account_or_phone_and_from_a_call(store_url: str, make_call: Callable[..., SessionRecord]) -> None:
    steps = good_call_steps() + [(16000, T.UNDERSTOOD, {"channel": "caller", "text": "stop calling me",
                                                        "intents": ["cease_contact"], "entities": {}})]
    record = make_call("call-stop", sorted(steps, key=lambda s: s[0]))
    with open_store(store_url) as store:
        assert not store.is_opted_out("ACCT-9", "+15559999")
        store.add_opt_out(phone="+15559999")
        assert store.is_opted_out(phone="+15559999") and store.is_opted_out("ACCT-other", "+15559999")
        assert not store.is_opted_out("ACCT-9")
        assert not store.is_opted_out("ACCT-0042424242")
        store.record_call(record)
        assert store.is_opted_out("ACCT-0042424242") and store.is_opted_out(phone="+15551230000")
        with pytest.raises(StoreError):
            store.add_opt_out()


def test_schema_is_migrated_once_and_reopens(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        store.add_opt_out("ACCT-1")
    with open_store(store_url) as store:  # second open: no migration re-run, data kept
        assert store.schema_version() == MIGRATIONS[-1].version and store.is_opted_out("ACCT-1")


def test_unfinished_session_is_refused(store_url: str, tmp_path: Path) -> None:
    from voicebot.recording.format import read_session
    from voicebot.recording.recorder import Recorder

    rec = Recorder(tmp_path / "s", "live", 8000)
    rec.sync()
    with open_store(store_url) as store, pytest.raises(StoreError, match="not finished"):
        store.record_call(read_session(rec.dir))
    rec.close({"disposition": "completed"})


def test_store_is_usable_from_many_threads(store_url: str) -> None:
    errors: list[BaseException] = []
    with open_store(store_url) as store:
        def work(n: int) -> None:
            try:
                for i in range(10):
                    store.add_attempt(f"ACCT-{n}", "", datetime.now(timezone.utc), True, True)
                    store.attempts(account_id=f"ACCT-{n}")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert [len(store.attempts(account_id=f"ACCT-{n}")) for n in range(6)] == [10] * 6


def test_bad_url_raises() -> None:
    with pytest.raises(StoreError):
        open_store("mysql://x")


@pytest.mark.postgres
def test_both_dialects_have_the_same_tables_and_columns(tmp_path: Path, pg_server: str) -> None:
    import sqlite3

    import psycopg

    lite = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    lite.close()
    conn = sqlite3.connect(tmp_path / "a.db")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    lite_cols = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    conn.close()
    with psycopg.connect(pg_server.format(db="postgres"), autocommit=True) as admin:
        admin.execute("CREATE DATABASE schema_cmp")
    open_store(pg_server.format(db="schema_cmp")).close()
    with psycopg.connect(pg_server.format(db="schema_cmp")) as pg:
        rows = pg.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").fetchall()
    pg_cols: dict[str, list[str]] = {}
    for table, column in rows:
        pg_cols.setdefault(table, []).append(column)
    assert pg_cols == lite_cols
    assert set(lite_cols) == {"schema_version", "calls", "turns", "outcomes", "promises", "handoffs", "opt_outs",
                              "contact_attempts"}



def test_wal_switch_waits_out_another_connections_lock(tmp_path: Path) -> None:
    # `voicebot serve --workers 2` opens the store from each worker as they start together; the
    # WAL switch failed one of them with "database is locked" (CI, 2026-12-04), because SQLite
    # answers a journal-mode change that meets another connection's lock without waiting.
    import sqlite3

    from voicebot.recording.store import _set_wal

    path = tmp_path / "race.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another worker mid-migration
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("PRAGMA journal_mode=WAL")  # what the store did before
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    t0 = time.monotonic()
    _set_wal(other)
    release.join()
    assert time.monotonic() - t0 >= 0.4
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    holder.close()
    other.close()
