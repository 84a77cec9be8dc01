"""The softphone page end to end: a real server runs the call script, the page in one
Chromium places the call (typed turns, or Chromium's fake microphone playing espeak-ng
speech), and the dashboard in another Chromium shows it."""
from __future__ import annotations

import json
import time
import wave
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import console_errors, screenshot, wait_until
from tests.conftest import scaled

pytestmark = pytest.mark.browser

DISTRESS_EN = "i lost my job and i can't cope anymore"
AGENT_THREAT_EN = "if you don't pay today we will tell your employer and you will go to jail"


def softphone_has_agent_channel() -> bool:
    """Does the softphone protocol carry typed agent lines (assist mode)?"""
    from voicebot.errors import ProtocolError
    from voicebot.telephony.softphone import SoftphoneAdapter

    adapter = SoftphoneAdapter()
    try:
        started = adapter.receive_text(json.dumps({"type": "start", "mode": "assist"}))[0]
        turn = adapter.receive_text(json.dumps({"type": "text", "text": "hello", "channel": "agent"}))[0]
    except ProtocolError:
        return False
    return "agent" in getattr(started, "channels", ()) and getattr(turn, "channel", "") == "agent"


def open_dashboard(browser: Callable[..., Any], srv: Any) -> Any:
    dash = browser()
    dash.get(srv.http("/"))
    wait_until(lambda: dash.find_element(By.ID, "conn").get_attribute("data-state") == "open",
               scaled(15), "the dashboard feed")
    return dash


def place_call(phone: Any, srv: Any, query: str) -> str:
    """Open the softphone page, press Call, return the call id the page chose."""
    phone.get(srv.http(f"/phone?{query}"))
    phone.find_element(By.ID, "call").click()
    wait_until(lambda: phone.find_element(By.ID, "status").get_attribute("data-state") == "in-call",
               scaled(10), "the softphone to connect")
    call_id = phone.find_element(By.ID, "call-id").text
    assert call_id.startswith("sp-")
    return call_id


def say(phone: Any, text: str, box: str = "say-text", button: str = "say-send") -> None:
    phone.find_element(By.ID, box).send_keys(text)
    phone.find_element(By.ID, button).click()


def card(dash: Any, call_id: str) -> Any:
    return dash.find_element(By.CSS_SELECTOR, f'.call[data-call-id="{call_id}"]')


def test_typed_call_shows_on_dashboard(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server(lang="en")
    dash = open_dashboard(browser, srv)
    phone = browser()
    call_id = place_call(phone, srv, "lang=en&mic=0")
    c = wait_until(lambda: card(dash, call_id), scaled(10), "the call's card")
    wait_until(lambda: c.find_elements(By.CSS_SELECTOR, ".line.say"), scaled(15), "the bot's first line")
    assert c.find_element(By.CSS_SELECTOR, ".call-state").text not in ("", "…")
    assert "/softphone" in c.find_element(By.CSS_SELECTOR, ".call-route").text
    wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, "#log .entry.bot"), scaled(10), "bot lines on the phone")
    # Answer the identity question once the bot has asked it.
    wait_until(lambda: [e for e in c.find_elements(By.CSS_SELECTOR, ".line.say") if "Alex Morgan" in e.text],
               scaled(20), "the bot's identity question")
    assert c.find_element(By.CSS_SELECTOR, ".call-state").text == "verify"
    say(phone, "yes")
    line = wait_until(lambda: [e for e in c.find_elements(By.CSS_SELECTOR, ".line.final") if e.text.endswith("yes")],
                      scaled(10), "the typed turn on the dashboard")
    assert "caller" in line[0].text.lower()
    wait_until(lambda: c.find_element(By.CSS_SELECTOR, ".call-state").text not in ("verify", ""), scaled(10),
               "the state to move on from verify")
    assert "verified" in c.get_attribute("class")
    screenshot(dash, "dashboard-softphone-call.png")
    phone.find_element(By.ID, "hangup").click()
    wait_until(lambda: dash.find_elements(By.CSS_SELECTOR, f'#finished [data-call-id="{call_id}"]'),
               scaled(15), "the finished call")
    wait_until(lambda: phone.find_element(By.ID, "status").get_attribute("data-state") == "ended",
               scaled(10), "the phone to show the call ended")
    assert console_errors(phone) == [] and console_errors(dash) == []
    # The recorded call replays: its events and scorecard load from the sessions directory.
    dash.find_element(By.CSS_SELECTOR, f'#finished [data-call-id="{call_id}"] a').click()
    dash.switch_to.window(dash.window_handles[-1])
    wait_until(lambda: dash.find_element(By.ID, "player").get_attribute("data-loaded") == "mix.wav",
               scaled(10), "the call's recording in the replay view")
    finals = [e.text for e in dash.find_elements(By.CSS_SELECTOR, "#events .event.final")]
    assert any(t.endswith("yes") for t in finals), finals
    assert dash.find_element(By.CSS_SELECTOR, "#scorecard .score").text.isdigit()
    screenshot(dash, "replay-softphone-call.png")
    assert console_errors(dash) == []


def test_distress_turn_raises_handoff_banner(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server(lang="en")
    dash = open_dashboard(browser, srv)
    phone = browser()
    call_id = place_call(phone, srv, "lang=en&mic=0")
    c = wait_until(lambda: card(dash, call_id), scaled(10), "the call's card")
    wait_until(lambda: c.find_elements(By.CSS_SELECTOR, ".line.say"), scaled(15), "the bot's first line")
    banner = c.find_element(By.CSS_SELECTOR, ".handoff-banner")
    assert not banner.is_displayed()
    say(phone, DISTRESS_EN)
    t0 = time.monotonic()
    wait_until(banner.is_displayed, scaled(2.0), "the hand-off banner within 2 s")
    print(f"distress turn -> banner in {time.monotonic() - t0:.2f}s")
    assert "distress" in banner.text.lower()
    screenshot(dash, "dashboard-handoff.png")


@pytest.mark.skipif(not softphone_has_agent_channel(),
                    reason="softphone protocol has no agent channel (start.mode=assist / text.channel)")
def test_agent_threat_raises_compliance_warning(start_server: Any, browser: Callable[..., Any]) -> None:
    srv = start_server(lang="en")
    dash = open_dashboard(browser, srv)
    phone = browser()
    call_id = place_call(phone, srv, "lang=en&mic=0&assist=1")
    c = wait_until(lambda: card(dash, call_id), scaled(10), "the call's card")
    say(phone, AGENT_THREAT_EN, "agent-text", "agent-send")
    warning = wait_until(lambda: c.find_elements(By.CSS_SELECTOR, ".compliance-warning"), scaled(5),
                         "a compliance warning")
    assert "employer" in warning[0].text or "jail" in warning[0].text


def write_wav(path: Path, pcm: np.ndarray, rate_hz: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.astype("<i2").tobytes())


def test_fake_microphone_yes_passes_verification(start_server: Any, browser: Callable[..., Any], espeak: Any,
                                                 tmp_path: Path) -> None:
    rate_hz = 16000
    speech = espeak("네", "ko", rate_hz)
    wav = tmp_path / "ne.wav"
    silence = np.zeros
    write_wav(wav, np.concatenate([silence(rate_hz // 2, np.int16), speech, silence(rate_hz * 3 // 2, np.int16)]),
              rate_hz)
    srv = start_server(lang="ko")
    phone = browser("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={wav}")
    call_id = place_call(phone, srv, "lang=ko")
    wait_until(lambda: [e for e in phone.find_elements(By.CSS_SELECTOR, "#log .entry.system")
                        if "microphone on" in e.text], scaled(10), "the microphone to start")
    moved = wait_until(lambda: [e for e in phone.find_elements(By.CSS_SELECTOR, "#log .entry.state")
                                if e.get_attribute("data-from") == "verify"], scaled(40),
                       "a state change away from verify")
    assert moved[0].get_attribute("data-to") == "disclosure", moved[0].text
    heard = [e.text for e in phone.find_elements(By.CSS_SELECTOR, "#log .entry.caller")]
    assert any("네" in t for t in heard), heard
    screenshot(phone, "softphone-mic.png")

    # The page plays the bot's audio and echoes each mark once the audio before it has played.
    def played() -> list[dict[str, Any]]:
        return [e for e in srv.call(_history(srv, call_id)) if e["type"] == "prompt_played"]

    first = wait_until(played, scaled(20), "a prompt_played (mark echoed by the page)")
    sent = [e for e in srv.call(_history(srv, call_id)) if e["type"] == "prompt_start"]
    start_ms = next(e["offset_ms"] for e in sent if e["seq"] == first[0]["seq"])
    # A mark is echoed after its audio played out, never right when it was sent.
    assert first[0]["offset_ms"] - start_ms >= 1000, (start_ms, first[0])


async def _history(srv: Any, call_id: str) -> list[dict[str, Any]]:
    return [dict(e) for e in srv.runtime.feed.history.get(call_id, ())]
