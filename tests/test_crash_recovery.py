"""kill -9 of the server mid-call: every flushed second of audio and every flushed event stays,
and `voicebot recover` repairs the session and marks the call dropped. Also: a decoder that
fails mid-call hands the caller to a person and the server goes on."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, scaled
from tests.gateway.serve_proc import ServeProcess
from tests.twilio_peer import TwilioPeer
from voicebot.audio.wav import read_wav

pytestmark = pytest.mark.slow


def test_kill_9_mid_call_then_recover(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path)
    sent_s = 0.0

    async def call() -> None:
        nonlocal sent_s
        peer = TwilioPeer(server.url("/twilio"), call_sid="CA-crash", params={"lang": "ko"})
        await peer.__aenter__()
        t0 = time.monotonic()
        await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
        await asyncio.sleep(4.0)
        sent_s = time.monotonic() - t0
        server.proc.kill()  # SIGKILL: no chance to flush or close anything
        server.proc.wait(10)
        for t in peer._tasks:
            t.cancel()

    asyncio.run(call())
    session = tmp_path / "var" / "sessions" / "CA-crash"
    meta = json.loads((session / "meta.json").read_text())
    assert "ended_at" not in meta  # the crash left it unfinished
    before = [json.loads(x) for x in (session / "events.jsonl").read_text().splitlines() if x.strip().endswith("}")]
    assert before[0]["type"] == "schema" and any(e["type"] == "call_started" for e in before)

    proc = subprocess.run([sys.executable, "-m", "voicebot", "recover"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=scaled(60), env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "CA-crash" in proc.stdout
    caller = read_wav(session / "caller.wav")
    # Flushes happen every second: all but the last second of inbound audio survived.
    assert caller.duration_s >= sent_s - 1.6, (caller.duration_s, sent_s)
    bot = read_wav(session / "bot.wav")
    assert bot.duration_s > 0.5
    after = [json.loads(x) for x in (session / "events.jsonl").read_text().splitlines()]
    assert after[: len(before)] == before  # nothing flushed was lost or changed
    assert after[-1]["type"] == "call_ended" and after[-1]["reason"] == "crash_recovered"
    meta = json.loads((session / "meta.json").read_text())
    assert meta["outcome"]["disposition"] == "dropped" and "ended_at" in meta


def test_decoder_failure_mid_call_hands_off_and_server_goes_on(start_server: Any, espeak: Any) -> None:
    srv = start_server(lang="ko")

    async def call() -> None:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-asr", params={"lang": "ko"}) as peer:
            deadline = time.monotonic() + scaled(60)
            session = None
            while time.monotonic() < deadline:
                session = srv.runtime.sessions.get("CA-asr")
                if session is not None and session.listeners["caller"].stream is None and session.prompts:
                    break
                await asyncio.sleep(0.05)
            assert session is not None
            peer.say(espeak("네", "ko", 8000), silence_after_s=1.0)  # opens the caller's stream
            while time.monotonic() < deadline and session.listeners["caller"].stream is None:
                await asyncio.sleep(0.05)
            # Break the real recogniser stream under the call: every later use raises.
            srv.loop.call_soon_threadsafe(session.listeners["caller"].stream.close)
            await asyncio.sleep(1.5)
            peer.say(espeak("아니요", "ko", 8000), silence_after_s=1.0)
            await asyncio.wait_for(peer.closed.wait(), scaled(40))  # type: ignore[union-attr]

    asyncio.run(call())
    events = []
    directory = srv.runtime.config.sessions_path / "CA-asr"
    deadline = time.monotonic() + scaled(20)
    while time.monotonic() < deadline:
        meta = json.loads((directory / "meta.json").read_text())
        if "ended_at" in meta:
            break
        time.sleep(0.1)
    events = [json.loads(x) for x in (directory / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "error" and e["kind"] == "asr" for e in events)
    handoff = next(e for e in events if e["type"] == "handoff")
    assert handoff["reason"] == "technical_error"
    assert srv.runtime.metrics.value("voicebot_errors_total", kind="asr") == 1
    # The server still takes calls.
    async def again() -> None:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-after", params={"lang": "ko"}) as peer:
            await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))

    asyncio.run(again())
