"""Compliance guards at call start: pure rule checks, and a live call blocked by an opt-out."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import scaled
from tests.twilio_peer import TwilioPeer
from voicebot.compliance.guards import Attempt, check_call

NOON_NY = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)  # 12:00 in New York
LATE_NY = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)  # 22:00 in New York


def test_us_calling_window_uses_borrower_local_time() -> None:
    assert check_call("us", NOON_NY, "America/New_York", [], False).allowed
    d = check_call("us", LATE_NY, "America/New_York", [], False)
    assert not d.allowed and d.rule == "calling_window" and "22:00" in d.detail
    # The same instant is 11:00 in Shanghai: inside the CN window.
    assert check_call("cn", LATE_NY, "Asia/Shanghai", [], False).allowed
    assert not check_call("us", LATE_NY, "America/New_York", [], False, enforce_window=False).rule == "calling_window"


def test_us_attempt_cap_and_quiet_period() -> None:
    attempts = [Attempt(NOON_NY - timedelta(days=1, hours=i), False, False) for i in range(7)]
    d = check_call("us", NOON_NY, "America/New_York", attempts, False)
    assert (d.allowed, d.rule) == (False, "attempt_cap")
    assert check_call("us", NOON_NY, "America/New_York", attempts[:6], False).allowed
    old = [Attempt(NOON_NY - timedelta(days=8), True, True)]
    assert check_call("us", NOON_NY, "America/New_York", old, False).allowed
    talked = [Attempt(NOON_NY - timedelta(days=3), True, True)]
    assert check_call("us", NOON_NY, "America/New_York", talked, False).rule == "quiet_after_conversation"


def test_cn_connected_cap_and_daily_attempts() -> None:
    now = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)  # 14:00 Shanghai
    connected = [Attempt(now - timedelta(hours=h), True, False) for h in (1, 2, 3)]
    assert check_call("cn", now, "Asia/Shanghai", connected, False).rule == "connected_cap"
    dials = [Attempt(now - timedelta(hours=h), False, False) for h in range(1, 7)]
    assert check_call("cn", now, "Asia/Shanghai", dials, False).rule == "attempt_cap"
    assert check_call("cn", now, "Asia/Shanghai", dials[:5], False).allowed


def test_opt_out_comes_first() -> None:
    d = check_call("us", NOON_NY, "America/New_York", [], True)
    assert (d.allowed, d.rule) == (False, "opt_out")


@pytest.mark.slow
def test_opted_out_account_is_blocked_at_call_start(start_server: Any) -> None:
    srv = start_server(lang="ko", compliance={"enforce_calling_window": False})
    params = {"lang": "ko", "account_id": "ACC-77", "name": "김민준", "lender": "한빛캐피탈",
              "amount_due": "200000", "currency": "KRW", "due_date": "2026-11-20",
              "timezone": "Asia/Seoul", "phone": "+821012345678", "callback_number": "1588 1234"}
    srv.runtime.store.add_opt_out(account_id="ACC-77", phone="+821012345678")

    async def call() -> TwilioPeer:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-blocked", params=params) as peer:
            await asyncio.wait_for(peer.closed.wait(), scaled(20))  # type: ignore[union-attr]
            return peer

    peer = asyncio.run(call())
    assert peer.events("media") == []  # nothing at all was said
    import time

    time.sleep(0.5)
    lines = (srv.runtime.config.sessions_path / "CA-blocked" / "events.jsonl").read_text().splitlines()
    events = [json.loads(x) for x in lines]
    outcome = next(e for e in events if e["type"] == "outcome")
    assert outcome["disposition"] == "blocked" and outcome["blocked_rule"] == "opt_out"
