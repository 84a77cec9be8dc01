"""The dashboard page against a real server's live feed: events published on the server's
LiveFeed (the same calls the session makes) must show up as cards, transcript lines, the
promise panel, hand-off banner, warnings and finished calls; the page must reconnect after
the feed socket drops, cope with 50 calls, and load under the strict CSP without errors."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import console_errors, screenshot, wait_until
from tests.conftest import scaled

pytestmark = pytest.mark.browser


def on_loop(srv: Any, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(feed)`` on the server's event loop (the feed is not thread-safe)."""

    async def run() -> Any:
        return fn(srv.runtime.feed)

    return srv.call(run())


def open_dashboard(browser: Callable[..., Any], srv: Any, query: str = "") -> Any:
    driver = browser()
    driver.get(srv.http("/" + query))
    wait_until(lambda: driver.find_element(By.ID, "conn").get_attribute("data-state") == "open",
               scaled(15), "the feed socket to open")
    return driver


def card(driver: Any, call_id: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f'[data-call-id="{call_id}"].call')


def wait_page(driver: Any, condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """wait_until, and on failure say what the page logged (e.g. a feed message it could not parse)."""
    try:
        return wait_until(condition, timeout_s, what)
    except AssertionError as exc:
        logs = [e["message"][:300] for e in driver.get_log("browser")]
        raise AssertionError(f"{exc}; page console: {logs}") from None


def wait_card(driver: Any, call_id: str, what: str) -> Any:
    return wait_page(driver, lambda: card(driver, call_id), scaled(5), what)


def test_pages_carry_csp_and_no_inline_code(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server()
    for path in ("/", "/phone", "/replay"):
        with urllib.request.urlopen(srv.http(path)) as resp:
            csp = resp.headers["Content-Security-Policy"]
            html = resp.read().decode()
        assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
        assert "<style" not in html and " style=" not in html, f"{path} has inline style"
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, f"{path} has an inline script: {tag}"
    for name in ("dashboard.js", "common.js", "phone.js", "replay.js", "mic-worklet.js", "dashboard.css"):
        with urllib.request.urlopen(srv.http(f"/static/{name}")) as resp:
            assert resp.status == 200 and resp.headers["Content-Security-Policy"]
    for path in ("/", "/phone", "/replay"):  # every page runs under the CSP without a console error
        driver = browser()
        driver.get(srv.http(path))
        time.sleep(0.5)
        assert console_errors(driver) == [], path


def test_feed_events_render_on_dashboard(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server()
    dash = open_dashboard(browser, srv)
    cid = "dash-call-1"
    started = time.time() - 65

    def begin(feed: Any) -> None:
        feed.update_call(cid, route="/softphone", peer="softphone", lang="en", state="greeting",
                         started_at=started, assist=False)
        feed.publish(cid, {"type": "say", "offset_ms": 100, "prompt_id": "greet", "state": "greeting",
                           "text": "Hello, am I speaking with Alex Morgan?"})
        feed.publish(cid, {"type": "partial", "offset_ms": 900, "channel": "caller", "text": "yes it"})

    on_loop(srv, begin)
    c = wait_card(dash, cid, "the call card")
    wait_until(lambda: c.find_elements(By.CSS_SELECTOR, ".line.partial"), scaled(5), "the partial line")
    assert c.find_element(By.CSS_SELECTOR, ".call-state").text == "greeting"
    assert "/softphone" in c.find_element(By.CSS_SELECTOR, ".call-route").text
    assert c.find_element(By.CSS_SELECTOR, ".call-timer").text.startswith("1:0")  # started 65 s ago
    assert "Alex Morgan" in c.find_element(By.CSS_SELECTOR, ".line.say").text

    def more(feed: Any) -> None:
        feed.publish(cid, {"type": "final", "offset_ms": 1200, "channel": "caller", "text": "yes it is", "words": []})
        feed.publish(cid, {"type": "state_change", "offset_ms": 1300, "from": "greeting", "to": "disclose",
                           "verified": True})
        feed.update_call(cid, state="disclose", verified=True)
        feed.publish(cid, {"type": "understood", "offset_ms": 5000, "channel": "caller",
                           "text": "i can pay 120 on friday", "intents": ["promise_to_pay"], "amount": 120,
                           "date": "2026-12-04", "critical": False})
        feed.update_call(cid, promise={"amount": 120, "date": "2026-12-04"}, intents=["promise_to_pay"])
        feed.publish(cid, {"type": "final", "offset_ms": 6000, "channel": "caller",
                           "text": "<img src=x id=xss onerror=alert(1)>", "words": []})
        feed.publish(cid, {"type": "compliance_warning", "offset_ms": 6500, "channel": "agent",
                           "text": "we will tell your employer", "flags": ["third_party_threat"]})
        feed.publish(cid, {"type": "suggestion", "offset_ms": 6600, "reason": "distress",
                           "text": "Offer the hardship route."})
        feed.publish(cid, {"type": "handoff", "offset_ms": 7000, "reason": "distress",
                           "summary": {"verified": True, "flags": ["distress"]}})

    on_loop(srv, more)
    wait_until(lambda: c.find_element(By.CSS_SELECTOR, ".handoff-banner").is_displayed(), scaled(5), "banner")
    assert "distress" in c.find_element(By.CSS_SELECTOR, ".handoff-banner").text
    finals = [e.text for e in c.find_elements(By.CSS_SELECTOR, ".line.final")]
    assert any("yes it is" in t and "caller" in t.lower() for t in finals), finals
    assert not c.find_elements(By.CSS_SELECTOR, ".line.partial"), "the final replaces the partial"
    assert any("<img src=x" in t for t in finals) and not dash.find_elements(By.ID, "xss")
    assert c.find_element(By.CSS_SELECTOR, ".call-state").text == "disclose"
    assert c.find_element(By.CSS_SELECTOR, ".promise-amount").text == "120"
    assert c.find_element(By.CSS_SELECTOR, ".promise-date").text == "2026-12-04"
    assert c.find_element(By.CSS_SELECTOR, '.chip[data-intent="promise_to_pay"]')
    assert "third_party_threat" in c.find_element(By.CSS_SELECTOR, ".compliance-warning").text
    assert "hardship" in c.find_element(By.CSS_SELECTOR, ".suggestion").text
    screenshot(dash, "dashboard-feed.png")

    on_loop(srv, lambda feed: feed.end_call(cid, disposition="handoff", reason="transfer", ended_at=time.time()))
    item = wait_until(lambda: dash.find_element(By.CSS_SELECTOR, f'#finished [data-call-id="{cid}"]'),
                      scaled(5), "the finished entry")
    assert "handoff" in item.text
    assert "call=dash-call-1" in item.find_element(By.TAG_NAME, "a").get_attribute("href")
    assert "ended" in card(dash, cid).get_attribute("class")
    assert console_errors(dash) == []


def test_dashboard_reconnects_after_feed_drop(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server()
    dash = open_dashboard(browser, srv)
    conn = dash.find_element(By.ID, "conn")
    assert conn.get_attribute("data-connects") == "1"
    on_loop(srv, lambda feed: feed.update_call("before-drop", route="/twilio", state="greeting",
                                               started_at=time.time()))
    wait_card(dash, "before-drop", "the first card")

    async def drop() -> int:
        feeds = [ws for ws in srv.listening.server.connections
                 if ws.request is not None and ws.request.path.startswith("/feed")]
        for ws in feeds:
            await ws.close(1012, "test: server restart")
        return len(feeds)

    assert srv.call(drop()) == 1
    # Published while the page is away: it must arrive with the snapshot after reconnecting.
    on_loop(srv, lambda feed: feed.update_call("during-drop", route="/audiofork", state="verify",
                                               started_at=time.time()))
    wait_until(lambda: conn.get_attribute("data-connects") == "2" and conn.get_attribute("data-state") == "open",
               scaled(15), "the page to reconnect")
    c = wait_card(dash, "during-drop", "the card published during the drop")
    assert c.find_element(By.CSS_SELECTOR, ".call-state").text == "verify"
    assert len(dash.find_elements(By.CSS_SELECTOR, '[data-call-id="before-drop"].call')) == 1, "no duplicates"


def test_fifty_calls_and_transcript_cap(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server()
    dash = open_dashboard(browser, srv)

    def burst(feed: Any) -> None:
        for i in range(50):
            cid = f"load-{i:02d}"
            feed.update_call(cid, route="/twilio", state="greeting", lang="en", started_at=time.time())
            for k in range(6):
                feed.publish(cid, {"type": "partial", "offset_ms": k * 1000, "channel": "caller", "text": f"turn {k}"})
                feed.publish(cid, {"type": "final", "offset_ms": k * 1000 + 500, "channel": "caller",
                                   "text": f"turn {k} of call {i}", "words": []})
        for k in range(300):
            feed.publish("load-00", {"type": "final", "offset_ms": 10_000 + k, "channel": "caller",
                                     "text": f"long {k}", "words": []})

    t0 = time.monotonic()
    on_loop(srv, burst)
    wait_page(dash, lambda: len(dash.find_elements(By.CSS_SELECTOR, ".call")) == 50, scaled(20), "50 cards")
    wait_until(lambda: "long 299" in card(dash, "load-00").find_elements(By.CSS_SELECTOR, ".line.final")[-1].text,
               scaled(20), "the last line of the long call")
    print(f"50 calls, {50 * 12 + 300} events rendered in {time.monotonic() - t0:.2f}s")
    lines = card(dash, "load-00").find_elements(By.CSS_SELECTOR, ".line")
    assert 0 < len(lines) <= 120, len(lines)
    assert dash.find_element(By.ID, "live-count").text == "50"
    assert len(card(dash, "load-49").find_elements(By.CSS_SELECTOR, ".line.final")) == 6
    # A reload rebuilds everything from the snapshot.
    dash.refresh()
    wait_page(dash, lambda: len(dash.find_elements(By.CSS_SELECTOR, ".call")) == 50, scaled(20), "50 cards again")
    wait_until(lambda: len(card(dash, "load-49").find_elements(By.CSS_SELECTOR, ".line.final")) == 6,
               scaled(10), "the snapshot's transcript")
    assert console_errors(dash) == []


def test_pages_work_with_an_agent_token(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server(server={"agent_token": "agent-secret-1"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(srv.http("/"))
    assert err.value.code == 401
    dash = open_dashboard(browser, srv, "?token=agent-secret-1")
    assert dash.find_element(By.ID, "link-phone").get_attribute("href").endswith("/phone?token=agent-secret-1")
