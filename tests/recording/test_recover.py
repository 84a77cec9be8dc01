"""kill -9 in the middle of a call: everything flushed survives, recover marks it dropped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from voicebot.audio.wav import read_wav
from voicebot.events import EventType
from voicebot.recording.format import read_session
from voicebot.recording.recover import recover
from voicebot.recording.store import open_store

RATE_HZ = 8000

CHILD = textwrap.dedent(r"""
    import sys, time
    import numpy as np
    from voicebot.events import EventType, SessionEvent
    from voicebot.recording.recorder import Recorder

    RATE = 8000
    FRAME = 160  # 20 ms

    def ramp(start, n):
        return (((np.arange(start, start + n) * 7) % 20000) - 10000).astype(np.int16).tobytes()

    rec = Recorder(sys.argv[1], "crash-1", RATE, meta={"account_id": "ACCT-77770001", "route": "reminder"},
                   flush_interval_s=0.5)
    sample = 0
    events = 0

    def talk(ms):
        global sample, events
        for _ in range(ms // 20):
            offset_ms = sample * 1000 // RATE
            rec.audio("caller", ramp(sample, FRAME), offset_ms)
            if offset_ms % 100 == 0:
                rec.event(SessionEvent(EventType.PARTIAL, offset_ms, {"channel": "caller", "text": f"word {events}"}))
                events += 1
            sample += FRAME
        rec.audio("bot", np.full(FRAME, 3, np.int16).tobytes(), sample * 1000 // RATE)

    rec.event(SessionEvent(EventType.CALL_STARTED, 0, {"call_id": "crash-1"}))
    events += 1
    talk(2000)
    rec.sync()                       # explicit flush point
    print("A", sample, events, flush=True)
    talk(1000)
    time.sleep(2.0)                  # the writer's own 0.5 s flush must cover this part
    print("B", sample, events, flush=True)
    talk(500)
    print("C", flush=True)
    time.sleep(600)
""")


def test_kill_9_keeps_flushed_audio_and_events_and_recover_marks_dropped(tmp_path: Path) -> None:
    # given a child process recording a call
    sessions = tmp_path / "sessions"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(sessions)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        marks = {}
        for line in proc.stdout:  # type: ignore[union-attr]
            parts = line.split()
            marks[parts[0]] = [int(p) for p in parts[1:]]
            if parts[0] == "C":
                break
        # feed: kill -9 mid-call
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    flushed_samples, flushed_events = marks["B"]
    assert marks["A"][0] == 2 * RATE_HZ and flushed_samples == 3 * RATE_HZ
    session = sessions / "crash-1"
    meta = json.loads((session / "meta.json").read_text())
    assert "ended_at" not in meta and meta["account_id"].endswith("0001")
    # a torn last line, as if the process died inside a write
    with open(session / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"type": "partial", "offset_ms": 35')

    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        # feed
        recovered = recover(sessions, store)
        again = recover(sessions, store)
        call = store.get_call("crash-1")

    # assert: every flushed second of audio is there, sample for sample
    assert recovered == ["crash-1"] and again == []
    caller = np.asarray(read_wav(session / "caller.wav").pcm)
    assert len(caller) >= flushed_samples
    expected = (((np.arange(flushed_samples) * 7) % 20000) - 10000).astype(np.int16)
    assert np.array_equal(caller[:flushed_samples], expected)
    bot = np.asarray(read_wav(session / "bot.wav").pcm)
    assert int(bot[2 * RATE_HZ]) == 3 and int(bot[3 * RATE_HZ]) == 3 and int(bot[2 * RATE_HZ - 1]) == 0
    mix = read_wav(session / "mix.wav")
    assert mix.channels == 2 and mix.frames == max(len(caller), len(bot))
    # every flushed event is there, the torn line is gone, call_ended was appended
    record = read_session(session)
    partials = [e for e in record.events if e.type == EventType.PARTIAL]
    assert len(partials) + 1 >= flushed_events
    assert [e.data["text"] for e in partials[: flushed_events - 1]] == [f"word {i}" for i in range(1, flushed_events)]
    assert record.events[-1].type == EventType.CALL_ENDED
    assert record.events[-1].data == {"reason": "crash_recovered"}
    assert record.events[-1].offset_ms >= 3000
    assert record.meta["outcome"]["disposition"] == "dropped" and record.finished
    assert record.meta["account_id"].endswith("0001")
    assert call["disposition"] == "dropped" and call["duration_ms"] >= 3000
