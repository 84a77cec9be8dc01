"""The session format: round trip through the Recorder and read_session, and the doc."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicebot.errors import StoreError
from voicebot.events import EventType, SessionEvent
from voicebot.recording.format import (
    EVENT_FIELDS, SCHEMA_VERSION, decode_event, encode_event, read_session, safe_call_id,
)
from voicebot.recording.recorder import Recorder

DOC = Path(__file__).resolve().parents[2] / "docs" / "recording-format.md"


def test_every_event_type_round_trips_through_recorder_and_reader(tmp_path: Path) -> None:
    # given one event of every type, with unicode text
    events = [SessionEvent(t, 10 * i, {"text": f"第{i}句 turn {i}", "n": i}) for i, t in enumerate(EventType)]
    rec = Recorder(tmp_path, "rt-1", 16000, ("caller", "agent"), meta={"route": "assist"})
    # feed
    for ev in events:
        rec.event(ev)
    rec.close({"disposition": "completed"})
    # assert
    record = read_session(tmp_path / "rt-1")
    assert record.events == tuple(events)
    assert record.schema["version"] == SCHEMA_VERSION
    assert record.schema["channels"] == ["caller", "agent", "bot"]
    assert record.meta["outcome"] == {"disposition": "completed"}
    assert record.finished
    assert set(record.audio) == {"caller", "agent", "bot", "mix"}
    first = (tmp_path / "rt-1" / "events.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first)["type"] == "schema"


def test_event_lines_have_type_and_offset_then_fields() -> None:
    ev = SessionEvent(EventType.STATE_CHANGE, 1234, {"from": "greet", "to": "verify", "verified": False})
    obj = json.loads(encode_event(ev))
    assert obj == {"type": "state_change", "offset_ms": 1234, "from": "greet", "to": "verify", "verified": False}
    assert decode_event(encode_event(ev)) == ev


def test_reserved_keys_and_bad_lines_raise() -> None:
    with pytest.raises(StoreError):
        encode_event(SessionEvent(EventType.SAY, 0, {"type": "x"}))
    with pytest.raises(StoreError):
        decode_event('{"type": "no_such_event", "offset_ms": 0}')
    with pytest.raises(StoreError):
        decode_event('{"type": "say", "offset_ms"')


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "s"
    d.mkdir()
    (d / "events.jsonl").write_text(json.dumps({"type": "schema", "version": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(StoreError, match="newer"):
        read_session(d)


@pytest.mark.parametrize("raw,expected", [("CA123abc", "CA123abc"), ("../../etc", "_.._etc"), ("a/b c", "a_b_c")])
def test_call_ids_cannot_escape_the_sessions_dir(raw: str, expected: str) -> None:
    assert safe_call_id(raw) == expected
    with pytest.raises(StoreError):
        safe_call_id("..")


def test_doc_describes_every_event_type_and_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    for etype, fields in EVENT_FIELDS.items():
        assert f"`{etype}`" in text, etype
        for f in fields:
            assert f"`{f}`" in text, (etype, f)
    assert set(EVENT_FIELDS) == set(EventType)
