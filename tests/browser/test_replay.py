"""The replay API (sessions list, one session with its scorecard, recordings; no path ever
outside the sessions directory) and the replay page playing a recorded call in sync."""
from __future__ import annotations

import json
import os
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import console_errors, screenshot, wait_until
from tests.conftest import make_config, scaled
from voicebot.dashboard.replay_api import handle
from voicebot.events import EventType, SessionEvent
from voicebot.recording.recorder import Recorder

RATE_HZ = 16000
CALL_ID = "replay-1"
EVENTS: list[tuple[EventType, int, dict[str, Any]]] = [
    (EventType.CALL_STARTED, 0, {"route": "/softphone", "peer": "softphone", "lang": "en"}),
    (EventType.STATE_CHANGE, 5, {"from": None, "to": "verify", "verified": False}),
    (EventType.SAY, 200, {"prompt_id": "verify", "state": "verify", "text": "Am I speaking with Alex Morgan?",
                          "mentions_debt": False, "disclosure": False, "interruptible": True}),
    (EventType.FINAL, 1500, {"channel": "caller", "text": "yes it is", "words": []}),
    (EventType.STATE_CHANGE, 1600, {"from": "verify", "to": "disclosure", "verified": True}),
    (EventType.SAY, 2000, {"prompt_id": "disclosure", "state": "disclosure", "text": "Your payment of 250 is due.",
                           "mentions_debt": True, "disclosure": True, "interruptible": False}),
    (EventType.FINAL, 2600, {"channel": "caller", "text": "i lost my job and i can't cope anymore", "words": []}),
    (EventType.HANDOFF, 2700, {"reason": "distress", "summary": {"verified": True}}),
    (EventType.TRANSFER, 2900, {"reason": "distress", "target": "queue:hardship"}),
    (EventType.OUTCOME, 3000, {"disposition": "handoff", "promise": None}),
    (EventType.CALL_ENDED, 3100, {"reason": "transfer"}),
]


def tone(ms: int, freq_hz: float) -> bytes:
    t = np.arange(RATE_HZ * ms // 1000) / RATE_HZ
    return (np.sin(2 * np.pi * freq_hz * t) * 8000).astype("<i2").tobytes()


@pytest.fixture
def sessions_dir(tmp_path: Path) -> Path:
    root = tmp_path / "sessions"
    rec = Recorder(root, CALL_ID, RATE_HZ, ("caller",), {"route": "/softphone", "peer": "softphone", "lang": "en"})
    for kind, offset_ms, data in EVENTS:
        rec.event(SessionEvent(kind, offset_ms, data))
    rec.audio("bot", tone(900, 440), 300)
    rec.audio("caller", tone(400, 660), 1100)
    rec.audio("bot", tone(600, 440), 2000)
    rec.audio("caller", tone(500, 660), 2600)
    rec.close({"disposition": "handoff", "promise": None})
    # A directory outside, reachable through a symlink inside: must never be served.
    outside = tmp_path / "outside" / "secret"
    outside.mkdir(parents=True)
    (outside / "events.jsonl").write_text('{"type":"schema","version":1}\n')
    (outside / "mix.wav").write_bytes(b"RIFF-secret")
    os.symlink(outside, root / "escape")
    return root


def test_replay_api(tmp_path: Path, sessions_dir: Path) -> None:
    runtime = types.SimpleNamespace(config=make_config(tmp_path, store={"sessions_dir": str(sessions_dir)}))
    status, body, ctype = handle(runtime, "/api/sessions", {})
    listed = json.loads(body)
    assert status == 200 and ctype == "application/json"
    assert [s["call_id"] for s in listed] == [CALL_ID], "the symlink out is not listed"
    mine = [s for s in listed if s["call_id"] == CALL_ID]
    assert mine and mine[0]["finished"] and mine[0]["disposition"] == "handoff" and "mix.wav" in mine[0]["audio"]

    status, body, _ = handle(runtime, f"/api/sessions/{CALL_ID}", {})
    detail = json.loads(body)
    assert status == 200
    assert detail["meta"]["call_id"] == CALL_ID
    assert [e["type"] for e in detail["events"]] == [str(k) for k, _, _ in EVENTS]
    card = detail["scorecard"]
    assert card is not None and 0 <= card["score"] <= 100
    assert {c["name"]: c["status"] for c in card["checks"]}["verified_before_debt"] == "pass"

    status, body, ctype = handle(runtime, f"/recordings/{CALL_ID}/mix.wav", {})
    assert status == 200 and ctype == "audio/wav" and bytes(body[:4]) == b"RIFF"

    for route in ("/api/sessions/escape", "/recordings/escape/mix.wav", "/api/sessions/..",
                  "/recordings/../mix.wav", "/recordings/..%2Fescape/mix.wav", "/api/sessions/.hidden",
                  f"/recordings/{CALL_ID}/meta.json", f"/recordings/{CALL_ID}/../../outside/secret/mix.wav",
                  "/api/sessions/nope", "/recordings/nope/mix.wav"):
        status, body, _ = handle(runtime, route, {})
        assert status == 404, route
        assert b"secret" not in (body if isinstance(body, bytes) else body.encode())


@pytest.mark.browser
def test_replay_page_plays_in_sync(start_server: Any, browser: Callable[..., Any], sessions_dir: Path) -> None:
    srv = start_server(store={"sessions_dir": str(sessions_dir)})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(srv.http("/recordings/escape/mix.wav"))
    assert err.value.code == 404
    page = browser()
    page.get(srv.http("/replay"))
    item = wait_until(lambda: page.find_element(By.CSS_SELECTOR, f'#sessions [data-call-id="{CALL_ID}"]'),
                      scaled(10), "the session in the list")
    assert "handoff" in item.text
    item.click()
    player = page.find_element(By.ID, "player")
    wait_until(lambda: player.get_attribute("data-loaded") == "mix.wav", scaled(10), "mix.wav to load")
    wait_until(lambda: page.execute_script("return arguments[0].duration > 3", player), scaled(10), "audio metadata")
    assert page.find_element(By.CSS_SELECTOR, "#scorecard .score").text.isdigit()
    assert page.find_element(By.CSS_SELECTOR, '#scorecard [data-check="verified_before_debt"]').get_attribute(
        "class") == "check pass"
    events = page.find_elements(By.CSS_SELECTOR, "#events .event")
    assert len(events) == len(EVENTS)

    page.execute_script("arguments[0].currentTime = 1.55", player)
    current = wait_until(lambda: [e for e in page.find_elements(By.CSS_SELECTOR, "#events .event.current")
                                  if e.get_attribute("data-offset-ms") == "1500"], scaled(5),
                         "the event at 1.5 s to be current after seeking to 1.55 s")
    assert "yes it is" in current[0].text
    assert len(page.find_elements(By.CSS_SELECTOR, "#events .event.current")) == 1
    later = page.find_element(By.CSS_SELECTOR, '#events .event[data-offset-ms="2000"]')
    assert "past" not in later.get_attribute("class")

    page.execute_script("arguments[0].play()", player)  # real playback moves the highlight on
    wait_until(lambda: "past" in later.get_attribute("class"), scaled(10), "the highlight to follow playback")
    page.execute_script("arguments[0].pause()", player)
    screenshot(page, "replay.png")
    assert console_errors(page) == []
