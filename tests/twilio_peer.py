"""A Twilio Media Streams peer for tests: speaks the real wire format over a real websocket.

It plays Twilio's side of a bidirectional ``<Connect><Stream>``: connected, start, media every
20 ms of real time (silence unless the test queues speech), echoes our marks once the audio
queued before them would have played, and records everything the server sent.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from voicebot.audio.g711 import ulaw_encode

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law


@dataclass
class Received:
    t: float
    msg: dict[str, Any]


@dataclass
class TwilioPeer:
    url: str
    call_sid: str = "CA0001"
    stream_sid: str = "MZ0001"
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Twilio-Signature
    received: list[Received] = field(default_factory=list)
    speech: asyncio.Queue[bytes] | None = None
    ws: ClientConnection | None = None
    played_audio_s: float = 0.0
    closed: asyncio.Event | None = None
    close_code: int | None = None
    close_reason: str = ""

    async def __aenter__(self) -> "TwilioPeer":
        self.speech = asyncio.Queue()
        self.closed = asyncio.Event()
        self.ws = await connect(self.url, max_size=2**22, additional_headers=self.headers)
        await self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await self.ws.send(json.dumps({
            "event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid,
            "start": {"streamSid": self.stream_sid, "accountSid": "AC0001", "callSid": self.call_sid,
                      "tracks": ["inbound"], "customParameters": self.params,
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
        }))
        self._tasks = [asyncio.create_task(self._reader()), asyncio.create_task(self._sender())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        if self.ws is not None:
            await self.ws.close()

    def say(self, pcm8k: np.ndarray, silence_after_s: float = 1.5) -> None:
        """Queue caller speech (int16 at 8 kHz) followed by silence, sent in real time."""
        assert self.speech is not None
        audio = np.concatenate([pcm8k.astype(np.int16), np.zeros(int(8000 * silence_after_s), np.int16)])
        data = ulaw_encode(audio)
        for i in range(0, len(data), FRAME_BYTES):
            self.speech.put_nowait(data[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff"))

    async def _sender(self) -> None:
        assert self.ws is not None and self.speech is not None
        seq, chunk, t0 = 2, 0, time.monotonic()
        silence = b"\xff" * FRAME_BYTES
        while True:
            frame = silence if self.speech.empty() else self.speech.get_nowait()
            await self.ws.send(json.dumps({
                "event": "media", "sequenceNumber": str(seq), "streamSid": self.stream_sid,
                "media": {"track": "inbound", "chunk": str(chunk), "timestamp": str(chunk * 20),
                          "payload": base64.b64encode(frame).decode()},
            }))
            seq += 1
            chunk += 1
            await asyncio.sleep(max(0.0, t0 + chunk * 0.02 - time.monotonic()))

    async def _reader(self) -> None:
        assert self.ws is not None and self.closed is not None
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                self.received.append(Received(time.monotonic(), msg))
                if msg.get("event") == "media":
                    self.played_audio_s += len(base64.b64decode(msg["media"]["payload"])) / 8000
                elif msg.get("event") == "mark":
                    # Twilio echoes a mark when playback reaches it; we receive in real time, so now.
                    await self.ws.send(json.dumps({"event": "mark", "sequenceNumber": "0",
                                                   "streamSid": self.stream_sid, "mark": msg["mark"]}))
        except Exception:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason or ""
            self.closed.set()

    def events(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.msg.get("event") == kind]

    async def wait_for(self, pred: Any, timeout_s: float) -> Received:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            for r in self.received[seen:]:
                if pred(r.msg):
                    return r
            seen = len(self.received)
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no matching message within {timeout_s}s; got {len(self.received)} messages")


async def wait_listening(srv: Any, call_id: str, state: str, timeout_s: float) -> None:
    """Wait until the call's dialogue is in ``state`` with every prompt played or cut off
    and nothing left to say: the bot is listening."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = srv.runtime.sessions.get(call_id)
        if s is not None and s.dialogue.state == state and s.prompts and all(
            p.played or p.interrupted for p in s.prompts.values()
        ) and s.say_queue.empty():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"call {call_id} never listened in state {state}")
