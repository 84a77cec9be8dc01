"""Connections to calls: read frames, feed the adapter, run the session, close with a reason.

A ``ProtocolError`` closes only its own connection, with the error's close code and reason
(1003/1007/1008/1009) and a log line; the session's recording so far is kept and every other
call keeps running.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicebot import events as ev
from voicebot.errors import ConfigError, ProtocolError, VoicebotError
from voicebot.server.runtime import Runtime
from voicebot.session import CallSession

log = logging.getLogger("voicebot.server")

START_TIMEOUT_S = 15.0
CALL_ROUTES = ("/twilio", "/audiofork", "/asterisk", "/softphone")


def make_adapter(runtime: Runtime, route: str, query: dict[str, str]) -> Any:
    cfg = runtime.config
    if route == "/twilio":
        from voicebot.telephony.twilio import TwilioAdapter

        return TwilioAdapter()
    if route == "/audiofork":
        from voicebot.telephony.audiofork import AudioForkAdapter

        rate = int(query.get("rate", cfg.audiofork.rate_hz))
        channels = int(query.get("channels", cfg.audiofork.channels))
        return AudioForkAdapter(rate_hz=rate, channels=channels, dialect=query.get("dialect", cfg.audiofork.dialect))
    if route == "/asterisk" or route.startswith("/media/"):
        from voicebot.telephony.asterisk import AsteriskWsAdapter

        return AsteriskWsAdapter(query_params=query)
    if route == "/softphone":
        from voicebot.telephony.softphone import SoftphoneAdapter

        return SoftphoneAdapter()
    return None


async def websocket_handler(runtime: Runtime, ws: ServerConnection) -> None:
    assert ws.request is not None
    parts = urlsplit(ws.request.path)
    route = parts.path.rstrip("/") or "/"
    query = dict(parse_qsl(parts.query))
    query.pop("token", None)  # credentials never become call data
    if route == "/feed":
        from voicebot.dashboard.feed import serve_feed

        await serve_feed(runtime, ws)
        return
    if route == "/vosk":
        from voicebot.server.vosk_route import serve_vosk

        await serve_vosk(runtime, ws)
        return
    try:
        adapter = make_adapter(runtime, route, query)
    except (ValueError, TypeError, ConfigError) as exc:
        await ws.close(1008, f"bad route parameters: {exc}"[:120])
        return
    if adapter is None:
        await ws.close(1008, f"unknown route {route}")
        return

    async def recv() -> str | bytes | None:
        try:
            return await ws.recv()
        except ConnectionClosed:
            return None

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason[:120])

    await run_call(runtime, route, adapter, recv, hangup_safe(ws.send, ConnectionClosed), close)


async def audiosocket_handler(runtime: Runtime, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    from voicebot.telephony.audiosocket import AudioSocketAdapter

    adapter = AudioSocketAdapter()

    async def recv() -> bytes | None:
        try:
            data = await reader.read(65536)
        except (ConnectionError, OSError):
            return None
        return data or None

    async def write(wire: str | bytes) -> None:
        writer.write(wire if isinstance(wire, bytes) else wire.encode())
        await writer.drain()

    send = hangup_safe(write, ConnectionError, OSError)

    async def close(code: int, reason: str) -> None:
        log.info("audiosocket connection closed: %d %s", code, reason)
        writer.close()

    try:
        await run_call(runtime, "audiosocket", adapter, recv, send, close)
    finally:
        writer.close()


def hangup_safe(send: Callable[[str | bytes], Awaitable[None]],
                *closed: type[BaseException]) -> Callable[[str | bytes], Awaitable[None]]:
    """``send`` that drops a message when the peer has already gone (``closed`` raised). The
    reader sees the close and ends the call; the writer, mid-prompt, would otherwise raise out
    of the call's task group and log a normal hang-up as a failed call (the bench's phase ends
    showed ConnectionClosedOK from the outbound pacer)."""
    async def quiet(wire: str | bytes) -> None:
        try:
            await send(wire)
        except closed:
            pass
    return quiet


async def run_call(
    runtime: Runtime,
    route: str,
    adapter: Any,
    recv: Callable[[], Awaitable[str | bytes | None]],
    send: Callable[[str | bytes], Awaitable[None]],
    close: Callable[[int, str], Awaitable[None]],
) -> None:
    """Drive one call from its first frame to its close."""
    metrics = runtime.metrics
    early: list[object] = []
    started: ev.CallStarted | None = None
    try:
        # Phase 1: read until the adapter announces the call.
        async with asyncio.timeout(START_TIMEOUT_S):
            while started is None:
                msg = await recv()
                if msg is None:
                    return
                metrics.inc("voicebot_frames_in_total", route=route)
                for e in _receive(adapter, msg):
                    if isinstance(e, ev.CallStarted) and started is None:
                        started = e
                    else:
                        early.append(e)
    except TimeoutError:
        await close(1008, "no call start within 15 s")
        return
    except ProtocolError as exc:
        metrics.inc("voicebot_errors_total", kind="protocol")
        log.warning("%s: protocol error before start: %s (%d)", route, exc.reason, exc.close_code)
        await close(exc.close_code, exc.reason)
        return

    if len(runtime.sessions) >= runtime.config.server.max_calls:
        metrics.inc("voicebot_errors_total", kind="over_capacity")
        if runtime.config.server.overload_action == "handoff":
            # Straight to a person: the adapter's transfer (Twilio: closing the stream runs
            # the TwiML after </Connect>; Asterisk/AudioSocket: hang-up continues the dialplan).
            log.warning("%s: over capacity, handing call %s to an agent", route, started.call_id)
            for wire in adapter.send(ev.Transfer(runtime.config.handoff.agent_number, "over_capacity")):
                await send(wire)
            await close(1000, "over capacity: transferred to an agent")
            return
        log.warning("%s: refusing call %s: %d calls active (max_calls)", route, started.call_id,
                    len(runtime.sessions))
        await close(1013, "over capacity: try again later")
        return
    if started.call_id in runtime.sessions:
        started = ev.CallStarted(f"{started.call_id}-{uuid.uuid4().hex[:6]}", started.rate_hz, started.channels,
                                 started.params, started.peer, started.voicemail)

    async def send_counted(wire: str | bytes) -> None:
        metrics.inc("voicebot_frames_out_total", route=route)
        await send(wire)

    try:
        session = CallSession(runtime, adapter, route, started, send_counted)
    except VoicebotError as exc:  # bad call data from the peer, e.g. a partial account
        metrics.inc("voicebot_errors_total", kind="call_setup")
        log.warning("%s: cannot set up call %s: %s", route, started.call_id, exc)
        await close(1008, f"cannot start call: {exc}")
        return
    runtime.sessions[session.call_id] = session
    metrics.inc("voicebot_calls_total", route=route)
    log.info("call %s started on %s (%s, %d Hz)", session.call_id, route, started.peer, started.rate_hz)
    protocol_error: list[ProtocolError] = []

    async def inbound() -> None:
        for e in early:
            session.handle(e)
        session.start_dialogue()
        idle_s = runtime.config.server.inbound_timeout_s
        while True:
            if idle_s and adapter.peer != "softphone":
                try:
                    async with asyncio.timeout(idle_s):
                        msg = await recv()
                except TimeoutError:  # the peer holds the line open but sends nothing
                    session.end("peer_silent")
                    return
            else:
                msg = await recv()
            if msg is None:
                return
            metrics.inc("voicebot_frames_in_total", route=route)
            try:
                events = _receive(adapter, msg)
            except ProtocolError as exc:
                protocol_error.append(exc)
                metrics.inc("voicebot_errors_total", kind="protocol")
                session.emit(ev.EventType.ERROR, kind="protocol", close_code=exc.close_code, message=exc.reason)
                session.end(f"protocol_error: {exc.reason}")
                return
            for e in events:
                session.handle(e)

    try:
        await session.run(inbound)
    except Exception as exc:  # a bug in one call must not take the server down
        log.exception("call %s failed: %s", session.call_id, exc)
        metrics.inc("voicebot_errors_total", kind="internal")
        await close(1011, "internal error")
    finally:
        runtime.sessions.pop(session.call_id, None)
    if protocol_error:
        exc = protocol_error[0]
        log.warning("call %s: protocol error: %s (%d)", session.call_id, exc.reason, exc.close_code)
        await close(exc.close_code, exc.reason)
    else:
        await close(1000, session.end_reason)
    log.info("call %s ended: %s", session.call_id, session.end_reason)
    from voicebot.server import memory

    # Give the call's freed heap back to the kernel (memory.py): a few ms once per call, off
    # the loop and off the decode pool, after the peer has its close.
    await asyncio.get_running_loop().run_in_executor(None, memory.trim)


def _receive(adapter: Any, msg: str | bytes) -> list[object]:
    if isinstance(msg, str):
        return list(adapter.receive_text(msg))
    return list(adapter.receive_bytes(msg))


def token_ok(given: str, expected: str) -> bool:
    """Constant-time token check; an empty ``expected`` means no token is configured."""
    if not expected:
        return True
    return hmac.compare_digest(given.encode(), expected.encode())
