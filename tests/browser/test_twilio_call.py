"""A Korean voice call over /twilio on the dashboard: it appears with route and transcript, and
an agent-channel threat in assist mode raises a warning; the time from the end of the agent's
phrase to the warning on screen is reported."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Callable

import pytest
from selenium.webdriver.common.by import By
from websockets.sync.client import connect as ws_connect

from tests.browser.test_dashboard import card, open_dashboard, wait_page
from tests.conftest import ARTIFACTS, scaled
from tests.twilio_peer import TwilioPeer

pytestmark = pytest.mark.browser


def test_korean_twilio_voice_call_shows_on_dashboard(start_server: Any, browser: Callable[..., Any],
                                                      espeak: Any) -> None:
    srv = start_server(lang="ko")
    driver = open_dashboard(browser, srv)
    done = threading.Event()

    async def call() -> None:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-dash", params={"lang": "ko"}) as peer:
            deadline = time.monotonic() + scaled(60)
            while time.monotonic() < deadline:
                s = srv.runtime.sessions.get("CA-dash")
                if s is not None and s.prompts and s.dialogue.state == "verify" and all(
                        p.played for p in s.prompts.values()):
                    break
                await asyncio.sleep(0.05)
            peer.say(espeak("네", "ko", 8000))
            await asyncio.to_thread(done.wait, scaled(60))

    t = threading.Thread(target=lambda: asyncio.run(call()))
    t.start()
    try:
        c = wait_page(driver, lambda: card(driver, "CA-dash"), scaled(30), "the /twilio call card")
        assert "/twilio" in c.text
        wait_page(driver, lambda: card(driver, "CA-dash").find_elements(
            By.CSS_SELECTOR, '.line.final[data-speaker="caller"]'), scaled(60), "the caller's final")
        final = card(driver, "CA-dash").find_elements(By.CSS_SELECTOR, '.line.final[data-speaker="caller"]')[0]
        assert "네" in final.text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard-twilio-call.png"))
    finally:
        done.set()
        t.join(scaled(30))


def test_agent_threat_warning_reaches_the_dashboard(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server(lang="en")
    driver = open_dashboard(browser, srv)
    with ws_connect(srv.url("/softphone")) as ws:
        ws.send(json.dumps({"type": "start", "lang": "en", "call_id": "SP-warn", "mode": "assist"}))
        wait_page(driver, lambda: card(driver, "SP-warn"), scaled(10), "the assist call card")
        t0 = time.monotonic()  # the typed phrase is complete when it is sent
        ws.send(json.dumps({"type": "text", "channel": "agent",
                            "text": "pay today or we will send the police to arrest you"}))
        wait_page(driver, lambda: card(driver, "SP-warn").find_elements(By.CSS_SELECTOR, ".compliance-warning"),
                  scaled(10), "the compliance warning")
        print(f"agent phrase end -> warning on screen: {(time.monotonic() - t0) * 1000:.0f} ms")
        warning = card(driver, "SP-warn").find_elements(By.CSS_SELECTOR, ".compliance-warning")[0]
        assert "threat" in warning.text
