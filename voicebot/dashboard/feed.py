"""``/feed``: the dashboard's live websocket. Sends a snapshot, then every call event.
Card and ID numbers are masked unless the token's role is admin."""
from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicebot.server.runtime import Runtime


async def serve_feed(runtime: Runtime, ws: ServerConnection) -> None:
    from voicebot.compliance.redact import redact
    from voicebot.server.http import request_token, role_of

    assert ws.request is not None
    from urllib.parse import parse_qsl, urlsplit

    query = dict(parse_qsl(urlsplit(ws.request.path).query))
    unmasked = "admin" in role_of(runtime, request_token(ws.request, query)) and bool(runtime.config.server.admin_token)
    mask = (lambda s: s) if unmasked or not runtime.config.compliance.redact else redact
    q = runtime.feed.subscribe()
    try:
        await ws.send(mask(json.dumps(runtime.feed.snapshot(), ensure_ascii=False, default=str)))
        while True:
            try:
                msg = await asyncio.wait_for(q.get(), 15)
            except TimeoutError:
                msg = '{"type":"heartbeat"}'
            await ws.send(mask(msg))
    except ConnectionClosed:
        pass
    finally:
        runtime.feed.unsubscribe(q)
