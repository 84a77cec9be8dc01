"""``/asterisk``: Asterisk chan_websocket (``Dial(WebSocket/voicebot/c(ulaw))``) as Asterisk
speaks it: MEDIA_START (plain text or JSON), ulaw 160-byte frames every 20 ms, mark echoes
when playback reaches the mark, MEDIA_XOFF/MEDIA_XON flow control."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import scaled
from tests.gateway.wire import listening, session_dir, session_events, wait_until
from voicebot.audio.wav import read_wav

pytestmark = pytest.mark.slow

FRAME = 160  # 20 ms of ulaw
SILENCE = b"\xff" * FRAME


@dataclass
class AsteriskPeer:
    """Asterisk's side: media out in real time, the bot's frames queued and "played" at 20 ms
    each, MEDIA_MARK_PROCESSED sent when the queue reaches a mark (as the driver does)."""

    ws: ClientConnection
    json_control: bool = False
    channel_id: str = ""
    binary_sizes: list[int] = field(default_factory=list)
    binary_times: list[float] = field(default_factory=list)
    commands: list[tuple[float, str]] = field(default_factory=list)
    queued_s: float = 0.0  # audio queued but not yet "played"
    play_clock: float = 0.0
    echoed: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._media()), asyncio.create_task(self._reader())]

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.ws.close()

    async def _media(self) -> None:
        t0, k = time.monotonic(), 0
        while True:
            await self.ws.send(SILENCE)
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * 0.02 - time.monotonic()))

    async def _reader(self) -> None:
        async for msg in self.ws:
            now = time.monotonic()
            if isinstance(msg, bytes):
                self.binary_sizes.append(len(msg))
                self.binary_times.append(now)
                self.play_clock = max(self.play_clock, now) + len(msg) / 8000
                continue
            self.commands.append((now, msg))
            name = self._mark_name(msg)
            if name is not None:
                asyncio.get_running_loop().call_later(max(0.0, self.play_clock - now), self._echo, name)

    def _mark_name(self, msg: str) -> str | None:
        if msg.startswith("{"):
            obj = json.loads(msg)
            return obj.get("correlation_id") if obj.get("command") == "MARK_MEDIA" else None
        parts = msg.split()
        return parts[1] if parts and parts[0] == "MARK_MEDIA" and len(parts) == 2 else None

    def _echo(self, name: str) -> None:
        self.echoed.append(name)
        if self.json_control:
            wire = json.dumps({"event": "MEDIA_MARK_PROCESSED", "channel_id": self.channel_id, "correlation_id": name})
        else:
            wire = f"MEDIA_MARK_PROCESSED {name}"
        asyncio.get_running_loop().create_task(self.ws.send(wire))


PLAIN_START = ("MEDIA_START connection_id:x channel:WebSocket/x/0x1 channel_id:123.4 format:ulaw "
               "optimal_frame_size:160 ptime:20")


def test_plain_text_call_marks_and_flow_control(start_server: Any) -> None:
    srv = start_server(lang="ko")
    call_id = "123.4"

    async def call() -> tuple[AsteriskPeer, int, int, int]:
        async with connect(srv.url("/asterisk"), subprotocols=["media"], compression=None,  # type: ignore[list-item]
                           ping_interval=None) as ws:
            assert ws.subprotocol == "media"
            assert ws.response is not None and "Sec-WebSocket-Extensions" not in ws.response.headers
            await ws.send(PLAIN_START)
            peer = AsteriskPeer(ws, channel_id=call_id)
            peer.start()
            await wait_until(lambda: len(peer.binary_sizes) >= 25, scaled(30), "greeting audio")
            # Flow control: XOFF stops media (allow what was already on the wire) until XON.
            await ws.send("MEDIA_XOFF")
            await asyncio.sleep(0.3)
            paused_at = len(peer.binary_sizes)
            await asyncio.sleep(1.5)
            during_pause = len(peer.binary_sizes) - paused_at
            await ws.send("MEDIA_XON")
            await wait_until(lambda: len(peer.binary_sizes) > paused_at + 10, scaled(10), "media after XON")
            await wait_until(lambda: listening(srv, call_id) == "verify", scaled(60), "the bot to listen")
            after_xon = len(peer.binary_sizes) - paused_at
            n_marks = sum(1 for _, c in peer.commands if c.startswith("MARK_MEDIA"))
            await peer.stop()
            return peer, during_pause, after_xon, n_marks

    peer, during_pause, after_xon, n_marks = asyncio.run(call())
    assert during_pause == 0, f"{during_pause} media messages sent while XOFF"
    assert after_xon > 10
    assert peer.binary_sizes and all(size % FRAME == 0 and 0 < size < 65_000 for size in peer.binary_sizes)
    assert n_marks >= 2 and all(len(c.encode()) <= 128 for _, c in peer.commands)
    # Every mark came after the audio it marks, and the session saw each echo as played.
    asyncio.run(wait_until(lambda: call_id not in srv.runtime.sessions, scaled(15), "the call to end"))
    events = session_events(srv, call_id)
    marks = [e["name"] for e in events if e["type"] == "mark" and e["played"]]
    assert marks == peer.echoed[: len(marks)] and len(marks) >= 2
    played = [e["seq"] for e in events if e["type"] == "prompt_played"]
    assert played == sorted(played) and len(played) == n_marks
    started = next(e for e in events if e["type"] == "call_started")
    assert started["route"] == "/asterisk" and started["rate_hz"] == 8000


def test_json_media_start_with_early_binary(start_server: Any) -> None:
    """f(json) control format; binary frames before MEDIA_START (asterisk#1712) are kept."""
    srv = start_server(lang="ko")
    call_id = "1761245643.7"
    early_frames = 25

    async def call() -> AsteriskPeer:
        async with connect(srv.url("/asterisk?campaign=c1"), subprotocols=["media"],  # type: ignore[list-item]
                           compression=None, ping_interval=None) as ws:
            for _ in range(early_frames):
                await ws.send(b"\xf0" * FRAME)  # a quiet constant (+120), recognisable in caller.wav
            await ws.send(json.dumps({
                "event": "MEDIA_START", "connection_id": "c7", "channel": "WebSocket/voicebot/0x7",
                "channel_id": call_id, "format": "ulaw", "optimal_frame_size": 160, "ptime": 20,
                "channel_variables": {"MEDIA_WEBSOCKET_CONNECTION_ID": "c7", "lang": "ko"},
            }))
            peer = AsteriskPeer(ws, json_control=True, channel_id=call_id)
            peer.start()
            await wait_until(lambda: any(p.played for s in [srv.runtime.sessions.get(call_id)] if s
                                         for p in s.prompts.values()),
                             scaled(60), "the first prompt's mark to come back")
            await peer.stop()
            return peer

    peer = asyncio.run(call())
    assert peer.binary_sizes and all(size % FRAME == 0 for size in peer.binary_sizes)
    commands = [json.loads(c) for _, c in peer.commands]
    marks = [c for c in commands if c["command"] == "MARK_MEDIA"]
    assert marks and all(set(c) == {"command", "correlation_id"} for c in marks)
    asyncio.run(wait_until(lambda: call_id not in srv.runtime.sessions, scaled(15), "the call to end"))
    events = session_events(srv, call_id)
    assert [e for e in events if e["type"] == "prompt_played"]
    caller = read_wav(session_dir(srv, call_id) / "caller.wav")
    # The early frames are at the very start of caller.wav, decoded with the announced ulaw.
    head = caller.pcm[: early_frames * FRAME]
    assert len(head) == early_frames * FRAME and (head == 120).all(), head[:10]
