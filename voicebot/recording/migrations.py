"""Numbered schema migrations of the call store, one entry per version, SQL per dialect.

The two dialects hold the same tables, columns and meaning; they differ only where the SQL
must (surrogate keys, floating-point type). Timestamps are ISO-8601 UTC text in both
(``2026-11-28T14:40:21.123+00:00``), so they sort and compare as strings identically.
Append new migrations; never edit one that has shipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


_ID = {"sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "id BIGSERIAL PRIMARY KEY"}
_FLOAT = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"}


def _v1(d: Dialect) -> tuple[str, ...]:
    return (
        """CREATE TABLE calls (
            call_id TEXT PRIMARY KEY, account_id TEXT NOT NULL DEFAULT '',
            account_masked TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
            route TEXT NOT NULL DEFAULT '', peer TEXT NOT NULL DEFAULT '',
            lang TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, ended_at TEXT,
            duration_ms INTEGER, disposition TEXT NOT NULL DEFAULT '',
            verified BOOLEAN NOT NULL DEFAULT FALSE, session_dir TEXT NOT NULL DEFAULT '',
            script TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX calls_started ON calls (started_at)",
        "CREATE INDEX calls_disposition ON calls (disposition, started_at)",
        """CREATE TABLE turns (
            call_id TEXT NOT NULL, idx INTEGER NOT NULL, speaker TEXT NOT NULL,
            offset_ms INTEGER NOT NULL, text TEXT NOT NULL, intents TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (call_id, idx))""",
        """CREATE TABLE outcomes (
            call_id TEXT PRIMARY KEY, disposition TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}')""",
        f"""CREATE TABLE promises (
            {_ID[d]}, call_id TEXT NOT NULL, amount {_FLOAT[d]}, currency TEXT NOT NULL DEFAULT '',
            date TEXT NOT NULL DEFAULT '', confirmed BOOLEAN NOT NULL DEFAULT FALSE)""",
        "CREATE INDEX promises_call ON promises (call_id)",
        f"""CREATE TABLE handoffs (
            {_ID[d]}, call_id TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
            offset_ms INTEGER NOT NULL, transfer_ms INTEGER)""",
        "CREATE INDEX handoffs_call ON handoffs (call_id)",
        f"""CREATE TABLE opt_outs (
            {_ID[d]}, account_id TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL, call_id TEXT)""",
        "CREATE INDEX opt_outs_account ON opt_outs (account_id)",
        "CREATE INDEX opt_outs_phone ON opt_outs (phone)",
        f"""CREATE TABLE contact_attempts (
            {_ID[d]}, account_id TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL, connected BOOLEAN NOT NULL,
            conversation BOOLEAN NOT NULL, call_id TEXT)""",
        "CREATE INDEX attempts_account ON contact_attempts (account_id, started_at)",
        "CREATE INDEX attempts_phone ON contact_attempts (phone, started_at)",
        "CREATE UNIQUE INDEX attempts_call ON contact_attempts (call_id)",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "calls, turns, outcomes, promises, handoffs, opt_outs, contact_attempts",
              _v1("sqlite"), _v1("postgresql")),
)

SCHEMA_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
