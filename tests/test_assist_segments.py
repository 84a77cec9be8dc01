"""Assist mode judges an agent's spoken line a segment at a time (a final after each 300 ms
pause); a breach that straddles two segments must still be flagged. Real NLU, the session's own
method, on the final events the listener produces (words with stream times)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from voicebot.events import EventType
from voicebot.session import AGENT_JOIN_MS, CallSession


def _session() -> Any:
    got: list[tuple[EventType, dict[str, Any]]] = []
    s = SimpleNamespace(lang="en", agent_prev=None, emitted=got)
    s.emit = lambda type_, **data: got.append((type_, data))
    s.emit_final = lambda *a: None
    s._agent_turn = lambda text, span=None: CallSession._agent_turn(s, text, span)  # type: ignore[arg-type]
    s.on_turn = lambda channel, text, span=None: CallSession.on_turn(s, channel, text, span)  # type: ignore[arg-type]
    return s


def _final(s: Any, text: str, start_ms: int, end_ms: int) -> None:
    words = [{"word": w, "start_ms": start_ms, "end_ms": end_ms, "conf": 1.0} for w in text.split()]
    import asyncio

    asyncio.run(CallSession.on_final(s, "agent", text, words, start_ms))  # type: ignore[arg-type]


def test_a_threat_split_over_two_segments_is_flagged_with_the_whole_line() -> None:
    s = _session()
    _final(s, "we will be calling", 1000, 2000)
    _final(s, "your employer about this debt", 2400, 4000)
    warnings = [d for t, d in s.emitted if t == EventType.COMPLIANCE_WARNING]
    assert len(warnings) == 1 and "threat" in warnings[0]["flags"]
    assert warnings[0]["text"] == "we will be calling your employer about this debt"


def test_segments_far_apart_are_judged_alone() -> None:
    s = _session()
    _final(s, "we will be calling", 1000, 2000)
    _final(s, "your manager later", 2000 + AGENT_JOIN_MS + 500, 6000)
    assert not [d for t, d in s.emitted if t == EventType.COMPLIANCE_WARNING]


def test_a_flag_already_raised_is_not_raised_again_by_the_join() -> None:
    s = _session()
    _final(s, "you are a worthless idiot", 1000, 2000)
    _final(s, "so when can you pay", 2300, 3500)  # compliant on its own; the join adds nothing new
    warnings = [d for t, d in s.emitted if t == EventType.COMPLIANCE_WARNING]
    assert len(warnings) == 1 and warnings[0]["flags"] == ["abuse"]
    assert warnings[0]["text"] == "you are a worthless idiot"
