"""Retention: ``purge`` and ``voicebot purge`` delete audio and mask transcripts of old calls."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from voicebot.events import EventType
from voicebot.recording.format import SessionRecord, read_session
from voicebot.recording.purge import MASK, parse_age, purge
from voicebot.recording.store import open_store

ROOT = Path(__file__).resolve().parents[2]
OLD = (datetime.now(timezone.utc) - timedelta(days=120)).isoformat(timespec="milliseconds")


def test_parse_age() -> None:
    assert parse_age("90d") == timedelta(days=90) and parse_age("48h") == timedelta(hours=48)
    assert parse_age("2w") == timedelta(weeks=2) and parse_age("7") == timedelta(days=7)
    with pytest.raises(ValueError):
        parse_age("soon")


def test_purge_old_sessions_only(make_call: Callable[..., SessionRecord], tmp_path: Path) -> None:
    old = make_call("old", meta={"started_at": OLD})
    new = make_call("new")
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        store.record_call(old)
        store.record_call(new)
        # feed: audio first
        done = purge(old.dir.parent, store, timedelta(days=90), "audio")
        assert [(p.call_id, p.audio_files) for p in done] == [("old", ("bot.wav", "caller.wav", "mix.wav"))]
        assert done[0].audio_bytes > 100_000 and not list(old.dir.glob("*.wav"))
        assert read_session(new.dir).audio.keys() == {"caller", "bot", "mix"}
        assert any(e.type == EventType.FINAL and "250" in str(e.data["text"]) for e in read_session(old.dir).events)
        # then transcripts
        done = purge(old.dir.parent, store, timedelta(days=90), "transcripts")
        assert [p.call_id for p in done] == ["old"] and done[0].turns_masked == 8
        record = read_session(old.dir)
        texts = [e.data["text"] for e in record.events if "text" in e.data]
        assert texts and set(texts) == {MASK}
        assert len(record.events) == len(new.events)  # masked, not deleted
        assert {t["text"] for t in store.get_call("old")["turns"]} == {MASK}
        assert MASK not in {t["text"] for t in store.get_call("new")["turns"]}
        assert set(json.loads((old.dir / "meta.json").read_text())["purged"]) == {"audio", "transcripts"}
        # purging again finds nothing left
        assert purge(old.dir.parent, store, timedelta(days=90), "all") == []


def test_purge_cli_prints_what_it_removed(make_call: Callable[..., SessionRecord], tmp_path: Path) -> None:
    old = make_call("old", meta={"started_at": OLD})
    config = tmp_path / "voicebot.toml"
    config.write_text(f'[server]\nstate_dir = "{tmp_path / "state"}"\n[store]\nsessions_dir = "{old.dir.parent}"\n')
    proc = subprocess.run([sys.executable, "-m", "voicebot", "--config", str(config), "purge", "--older-than", "90d"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "old: deleted bot.wav, caller.wav, mix.wav" in proc.stdout and "masked" in proc.stdout
    assert "purged 1 session(s)" in proc.stdout
    assert not list(old.dir.glob("*.wav"))


def test_recover_cli_reports_recovered_calls(tmp_path: Path) -> None:
    from voicebot.recording.recorder import Recorder

    rec = Recorder(tmp_path / "sessions", "cut", 8000)
    rec.audio("caller", b"\x01\x00" * 8000, 0)
    rec.sync()  # then "crash": never closed
    config = tmp_path / "voicebot.toml"
    config.write_text(f'[server]\nstate_dir = "{tmp_path / "state"}"\n')
    proc = subprocess.run([sys.executable, "-m", "voicebot", "--config", str(config), "recover",
                           str(tmp_path / "sessions")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "recovered cut" in proc.stdout
    with open_store(f"sqlite:///{tmp_path / 'state' / 'voicebot.db'}") as store:
        assert store.get_call("cut")["disposition"] == "dropped"
