"""Hand-off: the webhook and the Twilio REST transfer, received by a local HTTP server that
checks the real requests (path, form fields, TwiML, auth, signature), and live assist."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from websockets.sync.client import connect as ws_connect

from tests.conftest import scaled
from tests.twilio_peer import TwilioPeer

pytestmark = pytest.mark.slow


class Receiver:
    """A local HTTP server recording every POST; ``fail_first`` answers 500 that many times."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = 500 if len(outer.requests) <= outer.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"sid": "CA-updated"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, n: int, timeout_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def _softphone_turns(srv: Any, start: dict[str, Any], turns: list[dict[str, Any]], until: str,
                     timeout_s: float = 60) -> list[Any]:
    """Drive a softphone call: send each turn once the bot is quiet; stop at a message of type ``until``."""
    got: list[Any] = []
    with ws_connect(srv.url("/softphone"), max_size=2**22) as ws:
        ws.send(json.dumps(start))
        pending = list(turns)
        deadline = time.monotonic() + scaled(timeout_s)
        while time.monotonic() < deadline:
            try:
                m = ws.recv(timeout=1.5)
            except TimeoutError:
                if pending:
                    ws.send(json.dumps(pending.pop(0)))
                continue
            if isinstance(m, bytes):
                continue
            d = json.loads(m)
            got.append(d)
            if d.get("type") == "mark":
                ws.send(json.dumps({"type": "played", "name": d["name"]}))
            if d.get("type") == until:
                break
    return got


def test_distress_hands_off_with_signed_webhook_and_no_debt_before_verification(
    start_server: Any, receiver: Receiver
) -> None:
    srv = start_server(lang="en", handoff={"webhook_url": receiver.url + "/handoff", "webhook_secret": "whsec",
                                           "agent_number": "+15551230000"})
    got = _softphone_turns(srv, {"type": "start", "lang": "en", "call_id": "SP-distress"},
                           [{"type": "text", "text": "i lost my job last week and i just can't cope anymore"}],
                           until="transfer")
    transfer = next(d for d in got if d.get("type") == "transfer")
    assert transfer["reason"] == "distress" and transfer["target"] == "+15551230000"
    reqs = receiver.wait(2, scaled(15))
    assert len(reqs) == 2, "first attempt got 500 and must be retried"
    req = reqs[-1]
    assert req["path"] == "/handoff"
    ts = req["headers"]["X-Voicebot-Timestamp"]
    expected = "sha256=" + hmac.new(b"whsec", ts.encode() + b"." + req["body"], hashlib.sha256).hexdigest()
    assert req["headers"]["X-Voicebot-Signature"] == expected
    payload = json.loads(req["body"])
    assert payload["reason"] == "distress" and payload["call_id"] == "SP-distress"
    summary = payload["summary"]
    assert summary["verified"] is False
    assert "amount_due" not in summary and "250" not in req["body"].decode()
    events = [json.loads(x) for x in (srv.runtime.config.sessions_path / "SP-distress" / "events.jsonl")
              .read_text().splitlines()]
    handoff = next(e for e in events if e["type"] == "handoff")
    tr = next(e for e in events if e["type"] == "transfer")
    assert tr["offset_ms"] >= handoff["offset_ms"] and tr["trigger_to_transfer_ms"] >= 0
    # The bot stopped talking once its hand-off line had played.
    hand_line = max(e["seq"] for e in events if e["type"] == "say")
    assert any(e["type"] == "prompt_played" and e["seq"] == hand_line for e in events)
    assert not [e for e in events if e["type"] == "say" and e["offset_ms"] > tr["offset_ms"]]


def test_twilio_rest_transfer_dials_the_agent(start_server: Any) -> None:
    fake = Receiver()
    public = "wss://bot.example.test/twilio"
    srv = start_server(lang="ko", twilio={"transfer": "rest", "account_sid": "AC123", "auth_token": "tw-secret",
                                          "api_base": fake.url, "public_url": public},
                       handoff={"agent_number": "sip:agent@pbx.example.com", "max_no_match": 2})
    sig = base64.b64encode(hmac.new(b"tw-secret", public.encode(), hashlib.sha1).digest()).decode()

    async def call() -> None:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-rest", params={"lang": "ko"},
                              headers={"X-Twilio-Signature": sig}) as peer:
            deadline = time.monotonic() + scaled(90)
            while time.monotonic() < deadline and not fake.requests:
                s = srv.runtime.sessions.get("CA-rest")
                if s is not None and s.prompts and all(p.played or p.interrupted for p in s.prompts.values()):
                    assert peer.ws is not None
                    await peer.ws.send(json.dumps({"event": "dtmf", "streamSid": peer.stream_sid,
                                                   "dtmf": {"track": "inbound_track", "digit": "9"}}))
                    await asyncio.sleep(1.0)
                await asyncio.sleep(0.1)

    try:
        asyncio.run(call())
        reqs = fake.wait(1, scaled(10))
        assert reqs, "no REST call"
        req = reqs[0]
        assert req["path"] == "/2010-04-01/Accounts/AC123/Calls/CA-rest.json"
        assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC123:tw-secret").decode()
        form = urllib.parse.parse_qs(req["body"].decode())
        assert form["Twiml"] == ["<Response><Dial><Sip>sip:agent@pbx.example.com</Sip></Dial></Response>"]
    finally:
        fake.close()


def test_twilio_signature_is_checked(start_server: Any) -> None:
    srv = start_server(lang="ko", twilio={"auth_token": "tw-secret", "public_url": "wss://bot.example.test/twilio"})
    with pytest.raises(Exception) as err:
        with ws_connect(srv.url("/twilio"), additional_headers={"X-Twilio-Signature": "bad"}):
            pass
    assert "403" in str(err.value)


def test_assist_mode_agent_threat_and_caller_promise(start_server: Any) -> None:
    srv = start_server(lang="en")
    turns = [
        {"type": "text", "channel": "caller", "text": "i can pay two hundred dollars on friday"},
        {"type": "text", "channel": "agent", "text": "if you don't pay we will send the police to arrest you"},
        {"type": "text", "channel": "caller", "text": "i lost my job and i can't cope"},
    ]
    got = _softphone_turns(srv, {"type": "start", "lang": "en", "call_id": "SP-assist", "mode": "assist"},
                           turns, until="suggestion", timeout_s=40)
    warnings = [d for d in got if d.get("type") == "compliance_warning"]
    assert warnings and "threat" in warnings[0]["flags"] and warnings[0]["channel"] == "agent"
    understood = [d for d in got if d.get("type") == "understood"]
    assert understood[0]["amount"] == 200.0 and understood[0]["date"] is not None
    assert any(d.get("type") == "suggestion" and d["reason"] == "distress" for d in got)
    assert not [d for d in got if d.get("type") == "say"], "the bot must stay silent in assist mode"
