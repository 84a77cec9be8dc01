"""Hostile peers against a live in-process server. Every test runs a good Korean /twilio call
next to its attack and checks: the good call greets and reaches listening in verify, the server
still answers GET /healthz, and the attacked calls are recorded."""
from __future__ import annotations

import asyncio
import base64
import gc
import json
import socket
import struct
import time
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import scaled
from tests.hardening.conftest import (
    SILENCE_B64,
    assert_recorded,
    good_call,
    healthz,
    media,
    raw_ws_connect,
    rss_kib,
    twilio_start,
    upgrade_request,
    wait_recorded,
    ws_frame,
)
from tests.twilio_peer import TwilioPeer

pytestmark = pytest.mark.slow


async def _bad_call(srv: Any, call_sid: str, attack: Any) -> tuple[int | None, str]:
    """Start a call, let it greet, run ``attack(ws, stream_sid)``, return the close code/reason."""
    stream_sid = "MZ" + call_sid
    async with connect(srv.url("/twilio"), max_size=2**22) as ws:
        for m in twilio_start(call_sid, stream_sid):
            await ws.send(m)
        for _ in range(5):
            await ws.send(media(stream_sid, SILENCE_B64))
        await asyncio.wait_for(ws.recv(), scaled(30))  # the greeting has started
        try:
            await attack(ws, stream_sid)
            while True:
                await asyncio.wait_for(ws.recv(), scaled(15))
        except ConnectionClosed:
            pass
        return ws.close_code, ws.close_reason or ""


async def _malformed_json(ws: Any, sid: str) -> None:
    await ws.send('{"event": "media", "streamSid": "' + sid + '", "media": {"payload": ')


async def _truncated_base64(ws: Any, sid: str) -> None:
    await ws.send(media(sid, base64.b64encode(b"\xff" * 160).decode()[:-3]))


async def _oversized(ws: Any, sid: str) -> None:
    await ws.send(media(sid, "A" * 70_000))  # 70 kB text frame > max_message_bytes 65,536


async def _binary_flood(ws: Any, sid: str) -> None:
    for _ in range(2000):
        await ws.send(b"\x00" * 4096)


def test_bad_frames_close_only_their_calls(hardened_server: Any) -> None:
    srv = hardened_server
    attacks = {"CA-json": (_malformed_json, 1007), "CA-b64": (_truncated_base64, 1007),
               "CA-big": (_oversized, 1009), "CA-flood": (_binary_flood, 1003)}

    async def run() -> dict[str, tuple[int | None, str]]:
        good = asyncio.create_task(good_call(srv, "CA-good-frames"))
        closes = await asyncio.gather(*(_bad_call(srv, sid, fn) for sid, (fn, _) in attacks.items()))
        assert healthz(srv)["status"] == "ok"
        await good
        return dict(zip(attacks, closes))

    closes = asyncio.run(run())
    got = {sid: code for sid, (code, _) in closes.items()}
    assert got == {sid: code for sid, (_, code) in attacks.items()}, closes
    assert "json" in closes["CA-json"][1].lower() and "base64" in closes["CA-b64"][1]
    for sid in attacks:
        events = asyncio.run(wait_recorded(srv, sid))
        assert events[-1]["type"] == "call_ended"
        assert_recorded(srv, sid)
        if sid != "CA-big":  # websockets itself refuses the frame: the session sees a hang-up
            assert "protocol_error" in events[-1]["reason"], events[-1]
            assert any(e["type"] == "error" and e["kind"] == "protocol" for e in events)
    assert healthz(srv)["status"] == "ok"


def test_slow_clients_do_not_block_and_are_dropped(hardened_server: Any) -> None:
    srv = hardened_server
    half = upgrade_request(srv.port, "/twilio")[:-2]  # no final CRLF: the request never ends
    stalled: list[socket.socket] = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=scaled(5))
        s.sendall(half)
        stalled.append(s)

    async def run() -> None:
        await good_call(srv, "CA-good-slow")

    t0 = time.monotonic()
    asyncio.run(run())
    assert healthz(srv)["status"] == "ok"
    # websockets' open_timeout (10 s) drops a handshake that never completes.
    dropped = 0
    for s in stalled:
        s.settimeout(max(0.1, scaled(20) - (time.monotonic() - t0)))
        try:
            dropped += s.recv(4096) == b""
        except ConnectionResetError:
            dropped += 1
        except TimeoutError:
            pass
        finally:
            s.close()
    assert dropped == 10, f"only {dropped} of 10 stalled handshakes were dropped"


def test_connect_disconnect_churn(hardened_server: Any) -> None:
    srv = hardened_server
    cycles, with_start = 500, 25
    done = {"handshake": 0, "start": 0}

    async def cycle(i: int) -> None:
        async with connect(srv.url("/twilio"), open_timeout=scaled(30)) as ws:
            if i < with_start:
                for m in twilio_start(f"CA-churn-{i}", f"MZchurn{i}"):
                    await ws.send(m)
                done["start"] += 1
            else:
                done["handshake"] += 1
            # Leave abruptly: no stop event, no close handshake wait.
            ws.transport.abort()

    async def run() -> None:
        good = asyncio.create_task(good_call(srv, "CA-good-churn"))
        sem = asyncio.Semaphore(16)

        async def bounded(i: int) -> None:
            async with sem:
                await cycle(i)

        await asyncio.gather(*(bounded(i) for i in range(cycles)))
        await good
        for i in range(with_start):
            await wait_recorded(srv, f"CA-churn-{i}")

    asyncio.run(run())
    assert done == {"handshake": cycles - with_start, "start": with_start}
    assert healthz(srv)["status"] == "ok"
    assert not any(k.startswith("CA-churn") for k in srv.runtime.sessions)
    for i in range(with_start):
        events = assert_recorded(srv, f"CA-churn-{i}")
        assert events[-1]["reason"] == "peer_hangup"


def test_tcp_reset_mid_utterance(hardened_server: Any, espeak: Any) -> None:
    srv = hardened_server
    speech = np.concatenate([espeak("잠시만요 지금 무슨 말씀이세요", "ko", 8000)] * 3)

    async def reset_call() -> float:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-rst", stream_sid="MZrst",
                              params={"lang": "ko"}) as peer:
            await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
            peer.say(speech, silence_after_s=0.0)
            deadline = time.monotonic() + scaled(20)
            while not srv.runtime.sessions["CA-rst"].listeners["caller"].in_speech:
                assert time.monotonic() < deadline, "the caller's speech was never detected"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # well inside the utterance
            assert peer.ws is not None
            sock = peer.ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.ws.transport.abort()  # close() with linger 0: the kernel sends RST
            return time.monotonic()

    async def run() -> None:
        good = asyncio.create_task(good_call(srv, "CA-good-rst"))
        await reset_call()
        events = await wait_recorded(srv, "CA-rst")
        assert events[-1]["reason"] == "peer_hangup"
        await good

    asyncio.run(run())
    assert healthz(srv)["status"] == "ok"
    assert "CA-rst" not in srv.runtime.sessions
    events = assert_recorded(srv, "CA-rst")
    assert any(e["type"] == "speech_start" for e in events)
    # The audio received before the reset was kept (at least the 0.5 s of speech).
    caller_wav = srv.runtime.config.sessions_path / "CA-rst" / "caller.wav"
    assert caller_wav.stat().st_size > 44 + 8000 * 2 // 2


def test_peer_that_stops_reading(hardened_server: Any) -> None:
    """Handshake, start, then never read while the bot talks. Observed for 20 s."""
    srv = hardened_server
    sock = raw_ws_connect(srv.port, "/twilio", rcvbuf=4096)
    for m in twilio_start("CA-deaf", "MZdeaf"):
        sock.sendall(ws_frame(m.encode()))
    for _ in range(10):
        sock.sendall(ws_frame(media("MZdeaf", SILENCE_B64).encode()))
    gc.collect()
    rss_before = rss_kib()
    samples: list[tuple[float, int, int]] = []

    async def observe() -> None:
        t0 = time.monotonic()
        good = asyncio.create_task(good_call(srv, "CA-good-deaf"))
        while time.monotonic() - t0 < 20:
            s = srv.runtime.sessions.get("CA-deaf")
            pending = len(s.outbound._pending) if s is not None else -1
            sent = s.outbound.messages_sent if s is not None else -1
            samples.append((time.monotonic() - t0, pending, sent))
            await asyncio.sleep(1)
        await good

    asyncio.run(observe())
    rss_after = rss_kib()
    assert healthz(srv)["status"] == "ok"
    # The deaf call is still there (nothing ends it: no inbound deadline, no pings by default),
    # its writer is blocked on a full socket and its queue does not grow past what it rendered.
    assert "CA-deaf" in srv.runtime.sessions
    sent = [x[2] for x in samples]
    pending = [x[1] for x in samples]
    assert sent[-1] == sent[-5], f"the writer kept sending to a peer that reads nothing: {sent}"
    assert max(pending[5:]) <= max(pending[:6]) + 1, f"outbound queue grew: {pending}"
    assert rss_after - rss_before < 64 * 1024, (rss_before, rss_after)
    print(f"\nnon-reading peer after 20 s: messages_sent={sent[-1]} pending={pending[-1]} "
          f"rss_delta_kib={rss_after - rss_before}")
    # Once the peer goes away, the call ends and is recorded.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    events = asyncio.run(wait_recorded(srv, "CA-deaf", 30))
    assert events[-1]["type"] == "call_ended"


def test_lone_surrogate_in_stream_sid_is_a_protocol_error(hardened_server: Any) -> None:
    """A JSON escape (\\ud800) yields a str that cannot be encoded back to UTF-8; Twilio's
    streamSid goes into every outbound message, so it must be refused at start (1007)."""
    srv = hardened_server

    async def run() -> tuple[int | None, str]:
        good = asyncio.create_task(good_call(srv, "CA-good-sur"))
        raw = twilio_start("CA-sur", "MZsur")[1].replace('"MZsur"', '"MZ\\ud800"')
        async with connect(srv.url("/twilio")) as ws:
            await ws.send(twilio_start("CA-sur", "MZsur")[0])
            await ws.send(raw)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), scaled(30))
            except ConnectionClosed:
                pass
            close = (ws.close_code, ws.close_reason or "")
        await good
        return close

    code, reason = asyncio.run(run())
    assert healthz(srv)["status"] == "ok"
    assert code == 1007, (code, reason)


def test_memory_returns_to_baseline_after_200_calls(hardened_server: Any) -> None:
    srv = hardened_server
    results: dict[str, int] = {}

    async def short_call(sid: str) -> None:
        async with connect(srv.url("/twilio")) as ws:
            for m in twilio_start(sid, "MZ" + sid):
                await ws.send(m)
            for _ in range(10):
                await ws.send(media("MZ" + sid, SILENCE_B64))
            await asyncio.wait_for(ws.recv(), scaled(30))  # first bot audio
            await ws.send(json.dumps({"event": "stop", "streamSid": "MZ" + sid}))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), scaled(30))
            except ConnectionClosed:
                pass

    async def batch(prefix: str, n: int) -> None:
        sem = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with sem:
                await short_call(f"{prefix}-{i}")

        await asyncio.gather(*(one(i) for i in range(n)))
        deadline = time.monotonic() + scaled(60)
        while srv.runtime.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await wait_recorded(srv, f"{prefix}-{n - 1}")

    def settled_rss() -> int:
        time.sleep(1.0)
        gc.collect()
        return rss_kib()

    asyncio.run(batch("CA-warm", 50))
    results["baseline_kib"] = settled_rss()
    asyncio.run(batch("CA-mem", 200))
    results["after_kib"] = settled_rss()
    print(f"\nRSS baseline {results['baseline_kib']} KiB, after 200 calls {results['after_kib']} KiB "
          f"({(results['after_kib'] / results['baseline_kib'] - 1) * 100:+.1f}%)")
    assert not srv.runtime.sessions
    assert len(list(srv.runtime.config.sessions_path.glob("CA-mem-*/events.jsonl"))) == 200
    assert results["after_kib"] <= results["baseline_kib"] * 1.10, results
    assert healthz(srv)["status"] == "ok"
