"""``/feed``: the dashboard's live websocket. Sends a snapshot, then every call event.
Card and ID numbers in strings are masked unless the token's role is admin."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicebot.server.runtime import Runtime

HEARTBEAT_S = 15.0


def mask_strings(value: Any, redact: Callable[[str], str]) -> Any:
    """Redact every string inside a JSON-ready value (never the serialised text: numbers such
    as timestamps would be taken for phone numbers and the JSON broken)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [mask_strings(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: mask_strings(v, redact) for k, v in value.items()}
    return value


async def serve_feed(runtime: Runtime, ws: ServerConnection) -> None:
    from voicebot.compliance.redact import redact
    from voicebot.server.http import request_token, role_of

    assert ws.request is not None
    query = dict(parse_qsl(urlsplit(ws.request.path).query))
    unmasked = bool(runtime.config.server.admin_token) and "admin" in role_of(runtime, request_token(ws.request, query))
    masking = runtime.config.compliance.redact and not unmasked

    def encode(obj: Any) -> str:
        return json.dumps(mask_strings(obj, redact) if masking else obj, ensure_ascii=False, default=str)

    q = runtime.feed.subscribe()
    closed = asyncio.ensure_future(ws.wait_closed())
    try:
        await ws.send(encode(runtime.feed.snapshot()))
        while True:
            get = asyncio.ensure_future(q.get())
            done, _ = await asyncio.wait({get, closed}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED)
            if closed in done:
                get.cancel()
                return
            if get in done:
                msg = get.result()
                await ws.send(encode(json.loads(msg)) if masking else msg)
            else:
                get.cancel()
                await ws.send('{"type":"heartbeat"}')
    except ConnectionClosed:
        pass
    finally:
        closed.cancel()
        runtime.feed.unsubscribe(q)
