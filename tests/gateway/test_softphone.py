"""``/softphone``: the browser page's protocol, driven with typed turns in English: JSON session
events plus binary audio out, marks echoed as ``played`` when the page has played them."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import scaled
from tests.gateway.wire import listening, session_events, wait_until

pytestmark = pytest.mark.slow


class Page:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.controls: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if isinstance(msg, bytes):
                self.audio_bytes += len(msg)
                continue
            obj = json.loads(msg)
            if obj.get("type") == "mark":
                self.controls.append(obj)
                await self.ws.send(json.dumps({"type": "played", "name": obj["name"]}))
            elif obj.get("type") in ("hangup", "transfer", "clear"):
                self.controls.append(obj)
            else:
                self.events.append(obj)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]


def test_typed_english_call_ends_in_a_confirmed_promise(start_server: Any) -> None:
    srv = start_server(lang="en")
    call_id = "sp-typed-1"
    turns = [("verify", "yes speaking"),
             ("ask_payment", "i can pay two hundred fifty dollars on friday"),
             ("confirm_promise", "yes")]

    async def call() -> Page:
        async with connect(srv.url("/softphone")) as ws:
            await ws.send(json.dumps({"type": "start", "call_id": call_id, "lang": "en"}))
            page = Page(ws)
            for state, text in turns:
                await wait_until(lambda: listening(srv, call_id) == state, scaled(90), f"the bot to ask in {state}")
                await ws.send(json.dumps({"type": "text", "text": text}))
            await asyncio.wait_for(page.task, scaled(90))  # the bot says goodbye and hangs up
            return page

    page = asyncio.run(call())
    for kind in ("say", "state_change", "understood", "final"):
        assert page.of(kind), (kind, [e.get("type") for e in page.events])
    assert page.audio_bytes > 16000 * 2 * 5  # several seconds of 16 kHz speech
    assert [c["type"] for c in page.controls][-1] == "hangup"
    understood = page.of("understood")
    assert any(u["amount"] == 250.0 and "promise_to_pay" in u["intents"] for u in understood), understood

    asyncio.run(wait_until(lambda: call_id not in srv.runtime.sessions, scaled(15), "the call to end"))
    time.sleep(0.3)
    events = session_events(srv, call_id)
    outcome = next(e for e in events if e["type"] == "outcome")
    assert outcome["disposition"] == "ptp", outcome
    assert outcome["promise"]["amount"] == 250.0 and outcome["promise"]["confirmed"] is True, outcome
    assert outcome["promise"]["currency"] == "USD" and outcome["verified"] is True
    states = [e["to"] for e in events if e["type"] == "state_change"]
    assert states[-1] == "close_ptp" and "confirm_promise" in states
    # Every prompt's mark came back from the page and was counted as played.
    says = [e["seq"] for e in events if e["type"] == "say"]
    played = [e["seq"] for e in events if e["type"] == "prompt_played"]
    assert played == says
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "completed"


def test_page_is_told_how_the_call_ended(start_server: Any) -> None:
    srv = start_server(lang="en")

    async def call() -> Page:
        async with connect(srv.url("/softphone")) as ws:
            await ws.send(json.dumps({"type": "start", "call_id": "sp-end-1"}))
            page = Page(ws)
            await wait_until(lambda: bool(page.of("say")), scaled(30), "the greeting")
            await ws.send(json.dumps({"type": "hangup"}))
            await asyncio.wait_for(page.task, scaled(30))
            return page

    page = asyncio.run(call())
    assert page.of("outcome") and page.of("call_ended"), [e.get("type") for e in page.events]
