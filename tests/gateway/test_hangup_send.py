"""A message sent after the peer hung up is dropped, not raised out of the call (the outbound
pacer is often mid-prompt when a caller hangs up). Real websockets on 127.0.0.1."""
from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from voicebot.server.calls import hangup_safe


def test_send_after_the_peer_closed_is_dropped() -> None:
    async def main() -> tuple[bool, bool]:
        closed = asyncio.Event()
        results: dict[str, bool] = {}

        async def handler(ws: websockets.ServerConnection) -> None:
            async for _ in ws:  # until the client's close
                pass
            closed.set()
            with pytest.raises(ConnectionClosed):  # what the call's writer met before
                await ws.send("late frame")
            await hangup_safe(ws.send, ConnectionClosed)("late frame")  # no exception
            results["quiet"] = True

        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with websockets.connect(f"ws://127.0.0.1:{port}") as client:
                await client.send("hello")
            await asyncio.wait_for(closed.wait(), 10)
            await asyncio.sleep(0.1)
        return results.get("quiet", False), closed.is_set()

    assert asyncio.run(main()) == (True, True)


def test_other_errors_still_raise() -> None:
    async def boom(wire: str | bytes) -> None:
        raise ValueError("not a hang-up")

    with pytest.raises(ValueError):
        asyncio.run(hangup_safe(boom, ConnectionClosed)("x"))
