"""RSS one live call costs the server, apart from the recognisers (which belong to utterances).

    .venv/bin/python benchmarks/call_memory.py [--steps 0,10,20,40] [--hold 8]

Why a separate figure: `voicebot bench`'s "RSS per extra call" is (max - idle) / N while
borrowers talk, and most of that growth is the free-form recognisers' own graph caches, which
grow with every new utterance up to ~200 MB each (measured with vosk directly: 43, 107, 146,
187, 196 MB after 1, 4, 10, 20, 40 utterances) whatever the number of calls: their number is
bounded by asr.free_form_recognizers, not by calls. This script spawns `voicebot serve` the
way the bench does, waits for its warm-up, then opens silent /twilio calls in steps (each
call: a session, its recorder and writer, VAD, the bot's opening prompt played on the wire,
its no-input reprompt) and holds them, reading the server's RSS (median of 2 s of samples)
after each step. Reported: RSS per step and the slope in MiB per call between steps.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.bench import FRAME_BYTES, FRAME_S, metrics, proc_sample, spawn_server, wait_warm  # noqa: E402
from voicebot.config import load_config  # noqa: E402


async def silent_call(url: str, call_id: str, stop: asyncio.Event) -> None:
    """A Twilio stream that sends 20 ms of mu-law silence per 20 ms until ``stop``."""
    from websockets.asyncio.client import connect

    async with connect(url, max_size=2**22, compression=None) as ws:
        sid = "MZ" + call_id
        await ws.send(json.dumps({"event": "start", "streamSid": sid, "start": {
            "streamSid": sid, "accountSid": "AC0", "callSid": call_id, "customParameters": {"lang": "ko"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
        payload = base64.b64encode(b"\xff" * FRAME_BYTES).decode()

        async def drain() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("event") == "mark":  # played at once: the far end has no jitter buffer
                    await ws.send(json.dumps({"event": "mark", "streamSid": sid, "mark": msg["mark"]}))

        reader = asyncio.create_task(drain())
        t0, k = time.monotonic(), 0
        while not stop.is_set() and not reader.done():
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * FRAME_S - time.monotonic()))
            await ws.send(json.dumps({"event": "media", "streamSid": sid,
                                      "media": {"timestamp": str((k - 1) * 20), "payload": payload}}))
        reader.cancel()


def rss_mb(pid: int, seconds: float = 2.0) -> float:
    samples = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        samples.append(proc_sample(pid)[1])
        time.sleep(0.2)
    return statistics.median(samples)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="0,10,20,40", help="calls held at each step (ascending)")
    ap.add_argument("--hold", type=float, default=8.0, help="seconds each step runs before RSS is read")
    ap.add_argument("--config", default=None, help="voicebot config file ([asr] settings are used)")
    args = ap.parse_args()
    steps = [int(x) for x in args.steps.split(",")]
    config = load_config(args.config)
    tmp = Path(tempfile.mkdtemp(prefix="voicebot-callmem-"))
    proc, port, startup_s = spawn_server(tmp, config, max(steps) + 4, True)
    try:
        await wait_warm(f"http://127.0.0.1:{port}")
        url = f"ws://127.0.0.1:{port}/twilio"
        stop = asyncio.Event()
        calls: list[asyncio.Task[None]] = []
        rows = []
        for n in steps:
            while len(calls) < n:
                calls.append(asyncio.create_task(silent_call(url, f"CA-mem-{len(calls)}", stop)))
                await asyncio.sleep(0.05)
            await asyncio.sleep(args.hold)
            served = await asyncio.to_thread(metrics, f"http://127.0.0.1:{port}")
            active = int(served.get('voicebot_active_calls{route="/twilio"}', 0))
            rows.append((n, active, await asyncio.to_thread(rss_mb, proc.pid)))
        stop.set()
        await asyncio.gather(*calls, return_exceptions=True)
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"startup {startup_s:.1f} s; RSS by live silent calls (median of 2 s of samples):")
    for (n, active, rss), prev in zip(rows, [None] + rows[:-1]):
        slope = "" if prev is None or n == prev[0] else f"  {(rss - prev[2]) / (n - prev[0]):.2f} MiB per call since N={prev[0]}"
        print(f"  N={n:3d} ({active} active on the server): {rss:7.1f} MiB{slope}")
    if len(rows) > 1 and rows[-1][0] != rows[0][0]:
        print(f"overall: {(rows[-1][2] - rows[0][2]) / (rows[-1][0] - rows[0][0]):.2f} MiB per call")


if __name__ == "__main__":
    asyncio.run(main())
