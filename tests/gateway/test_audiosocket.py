"""AudioSocket over TCP as Asterisk's ``AudioSocket()``/``Dial(AudioSocket/host:port/uuid/c(slin))``
speaks it: a 0x01 UUID frame, then 0x10 slin 320-byte frames every 20 ms; we hang up with 0x00."""
from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import pytest

from tests.conftest import scaled
from tests.gateway.wire import listening, session_events, wait_until

pytestmark = pytest.mark.slow

FRAME_BYTES = 320


class AudioSocketPeer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.call_uuid = uuid.uuid4()
        self.frames: list[tuple[float, int, int]] = []  # (arrival time, kind, length)
        self.bad: list[str] = []
        self.eof = False

    async def __aenter__(self) -> "AudioSocketPeer":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await self._write_split(b"\x01\x00\x10" + self.call_uuid.bytes)
        self.tasks = [asyncio.create_task(self._media()), asyncio.create_task(self._read())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self.tasks:
            t.cancel()
        self.writer.close()

    async def _write_split(self, message: bytes) -> None:
        """One message in three writes, cutting through the header (Asterisk may do this)."""
        for piece in (message[:1], message[1:2], message[2:]):
            self.writer.write(piece)
            await self.writer.drain()

    async def _media(self) -> None:
        frame = b"\x10" + FRAME_BYTES.to_bytes(2, "big") + b"\x00" * FRAME_BYTES
        t0, k = time.monotonic(), 0
        while True:
            await self._write_split(frame)
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * 0.02 - time.monotonic()))

    async def _read(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(3)
                length = int.from_bytes(header[1:], "big")
                await self.reader.readexactly(length)
                self.frames.append((time.monotonic(), header[0], length))
                if header[0] not in (0x10, 0x00):
                    self.bad.append(header.hex())
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eof = True

    async def hang_up(self) -> None:
        self.tasks[0].cancel()
        self.writer.write(b"\x00\x00\x00")
        await self.writer.drain()


def test_audiosocket_frames_pacing_and_hangup(start_server: Any) -> None:
    srv = start_server(lang="ko")

    async def call() -> AudioSocketPeer:
        async with AudioSocketPeer(srv.audiosocket_port) as peer:
            call_id = str(peer.call_uuid)
            await wait_until(lambda: len(peer.frames) >= 140, scaled(40), "2.8 s of bot audio")
            assert call_id in srv.runtime.sessions
            await peer.hang_up()
            await wait_until(lambda: call_id not in srv.runtime.sessions, scaled(15), "the session to end")
            await wait_until(lambda: peer.eof, scaled(10), "the server to close the socket")
            return peer

    peer = asyncio.run(call())
    assert not peer.bad, peer.bad
    audio = [f for f in peer.frames if f[1] == 0x10]
    assert audio and all(length == FRAME_BYTES for _, _, length in audio)
    # Asterisk plays AudioSocket frames as they arrive: the bot must send one per 20 ms.
    times = [t for t, _, _ in audio]
    mean_ms = (times[130] - times[30]) / 100 * 1000
    gaps_ms = sorted(round((b - a) * 1000) for a, b in zip(times[30:130], times[31:131]))[-3:]
    assert 18.0 <= mean_ms <= 22.0, f"mean {mean_ms:.2f} ms; longest gaps {gaps_ms} ms"

    events = session_events(srv, str(peer.call_uuid))
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "hangup"
    started = next(e for e in events if e["type"] == "call_started")
    assert started["route"] == "audiosocket" and started["rate_hz"] == 8000


def test_audiosocket_keeps_the_line_alive_while_listening(start_server: Any) -> None:
    srv = start_server(lang="ko")

    async def call() -> list[float]:
        async with AudioSocketPeer(srv.audiosocket_port) as peer:
            call_id = str(peer.call_uuid)
            await wait_until(lambda: listening(srv, call_id) == "verify", scaled(60), "the bot to listen")
            since = time.monotonic()
            await asyncio.sleep(2.5)
            return [t for t, kind, _ in peer.frames if kind == 0x10 and t >= since]

    during_silence = asyncio.run(call())
    assert len(during_silence) >= 2, "no audio for 2.5 s: Asterisk would have hung up"
