"""``/audiofork`` in stereo assist mode: FreeSWITCH ``uuid_audio_fork <uuid> start ws://... stereo 8k
{metadata}`` sends one metadata text frame, then interleaved s16le (left = caller, right =
what the caller hears, i.e. the human agent), and ends with a zero-length frame
(``graceful-shutdown``)."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.conftest import scaled
from tests.gateway.serve_proc import ServeProcess
from tests.gateway.wire import session_dir, session_events, wait_until
from voicebot.audio.wav import read_wav

pytestmark = pytest.mark.slow

RATE_HZ = 8000
FRAME_SAMPLES = 160  # 20 ms


def _stereo_frames(left: np.ndarray, right: np.ndarray) -> list[bytes]:
    n = max(len(left), len(right))
    n += -n % FRAME_SAMPLES
    both = np.zeros((n, 2), np.int16)
    both[: len(left), 0] = left
    both[: len(right), 1] = right
    return [both[i:i + FRAME_SAMPLES].tobytes() for i in range(0, n, FRAME_SAMPLES)]


async def _stream(url: str, metadata: dict[str, Any], frames: list[bytes], then_empty: bool = True) -> Any:
    async with connect(url, subprotocols=["audio.drachtio.org"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "audio.drachtio.org"
        await ws.send(json.dumps(metadata))
        t0 = time.monotonic()
        for k, frame in enumerate(frames):
            await ws.send(frame)
            await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - time.monotonic()))
        if then_empty:
            await ws.send(b"")  # graceful-shutdown
        await asyncio.wait_for(ws.wait_closed(), scaled(30))
        return ws.close_code, ws.close_reason


def test_stereo_assist_transcribes_each_channel_and_records_both(start_server: Any, espeak: Any) -> None:
    srv = start_server(lang="ko", audiofork={"channels": 2})
    caller = espeak("아니요", "ko", RATE_HZ)
    agent = espeak("네 고객님 안녕하세요", "ko", RATE_HZ)
    caller_at_s, agent_at_s = 0.3, 0.3 + len(caller) / RATE_HZ + 1.2
    left = np.concatenate([np.zeros(int(caller_at_s * RATE_HZ), np.int16), caller])
    right = np.concatenate([np.zeros(int(agent_at_s * RATE_HZ), np.int16), agent, np.zeros(int(1.2 * RATE_HZ), np.int16)])
    frames = _stereo_frames(left, right)
    call_id = "fs-assist-1"
    code, reason = asyncio.run(_stream(srv.url("/audiofork"), {"uuid": call_id, "caller": "+15550100"}, frames))

    assert code == 1000 and "graceful_shutdown" in reason, (code, reason)
    asyncio.run(wait_until(lambda: call_id not in srv.runtime.sessions, scaled(15), "the call to end"))
    time.sleep(0.3)
    events = session_events(srv, call_id)
    started = next(e for e in events if e["type"] == "call_started")
    assert started["assist"] is True and started["route"] == "/audiofork"
    assert started["channels"] == ["caller", "agent"]
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "graceful_shutdown"
    assert not [e for e in events if e["type"] == "say"], "assist mode must not speak"

    finals = [e for e in events if e["type"] == "final"]
    agent_finals = [e for e in finals if e["channel"] == "agent"]
    caller_finals = [e for e in finals if e["channel"] == "caller"]
    assert agent_finals and all(e["text"] for e in agent_finals), finals
    assert caller_finals, finals
    # Each channel heard only its own speaker: the VAD onsets line up with each side's speech.
    starts = {ch: [e["audio_ms"] for e in events if e["type"] == "speech_start" and e["channel"] == ch]
              for ch in ("caller", "agent")}
    assert starts["caller"] and starts["agent"], starts
    assert all(abs(ms - caller_at_s * 1000) < 400 for ms in starts["caller"]), starts
    assert all(abs(ms - agent_at_s * 1000) < 400 for ms in starts["agent"]), starts
    # Assist mode: the caller's turn goes to NLU (no grammar, so the words themselves vary).
    understood = [e for e in events if e["type"] == "understood" and e["channel"] == "caller"]
    assert understood

    d = session_dir(srv, call_id)
    caller_wav, agent_wav = read_wav(d / "caller.wav"), read_wav(d / "agent.wav")
    assert caller_wav.rate_hz == agent_wav.rate_hz == RATE_HZ
    n = len(frames) * FRAME_SAMPLES
    assert abs(caller_wav.frames - n) <= FRAME_SAMPLES and abs(agent_wav.frames - n) <= FRAME_SAMPLES
    # Not swapped: the caller's speech is in caller.wav, the agent's in agent.wav.
    a0, a1 = int(agent_at_s * RATE_HZ), int(agent_at_s * RATE_HZ) + len(agent)
    assert np.abs(caller_wav.pcm[a0:a1].astype(np.int32)).max() == 0
    assert np.array_equal(agent_wav.pcm[a0:a1], agent)
    assert np.array_equal(caller_wav.pcm[int(caller_at_s * RATE_HZ):][: len(caller)], caller)


def test_graceful_shutdown_flushes_the_utterance_in_progress(tmp_path: Path, espeak: Any) -> None:
    """graceful-shutdown means "flush your final results, then close": an utterance still open
    when the zero-length frame arrives must still produce its final, and the server survives."""
    server = ServeProcess(tmp_path)
    try:
        agent = espeak("네 고객님 안녕하세요", "ko", RATE_HZ)
        right = np.concatenate([np.zeros(int(0.3 * RATE_HZ), np.int16), agent, np.zeros(int(0.1 * RATE_HZ), np.int16)])
        call_id = "fs-flush-1"
        code, _ = asyncio.run(_stream(server.url("/audiofork?channels=2"), {"uuid": call_id},
                                      _stereo_frames(np.zeros(0, np.int16), right)))
        assert code == 1000
        events_path = tmp_path / "var" / "sessions" / call_id / "events.jsonl"
        deadline = time.monotonic() + scaled(15)
        while time.monotonic() < deadline and '"call_ended"' not in (
                events_path.read_text() if events_path.exists() else ""):
            time.sleep(0.1)
        time.sleep(0.5)
        assert server.proc.poll() is None, f"server died: {server.stderr()[-3000:]}"
        assert server.healthz()["status"] == "ok"
        events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
        assert [e for e in events if e["type"] == "speech_start" and e["channel"] == "agent"]
        finals = [e for e in events if e["type"] == "final" and e["channel"] == "agent"]
        assert finals and finals[0]["text"], [e for e in events if e["type"] in ("partial", "final")]
    finally:
        server.kill()
