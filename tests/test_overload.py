"""Admission control: above max_calls a call is refused with a reason, or handed to an agent."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import scaled
from tests.twilio_peer import TwilioPeer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("action, code, words", [("refuse", 1013, "over capacity"),
                                                  ("handoff", 1000, "transferred to an agent")])
def test_call_over_max_calls(start_server: Any, action: str, code: int, words: str) -> None:
    srv = start_server(lang="ko", server={"max_calls": 1, "overload_action": action},
                       handoff={"agent_number": "+15551230000"})

    async def run() -> TwilioPeer:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-first", params={"lang": "ko"}) as first:
            await first.wait_for(lambda m: m.get("event") == "media", scaled(30))
            async with TwilioPeer(srv.url("/twilio"), call_sid="CA-second", params={"lang": "ko"}) as second:
                await asyncio.wait_for(second.closed.wait(), scaled(10))  # type: ignore[union-attr]
            n = len(first.events("media"))
            await asyncio.sleep(1)
            assert len(first.events("media")) > n, "the admitted call must go on"
            return second

    second = asyncio.run(run())
    assert second.close_code == code and words in second.close_reason
    assert second.events("media") == []
    assert "CA-second" not in json.dumps(list(srv.runtime.sessions))
    assert srv.runtime.metrics.value("voicebot_errors_total", kind="over_capacity") == 1
