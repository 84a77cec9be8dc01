"""Out-of-band call control for hand-offs: a signed webhook and the Twilio REST transfer.

The in-band part of a transfer (close the Twilio stream, audio-fork ``transfer`` message,
Asterisk ``HANGUP``, AudioSocket hang-up frame) is the adapter's; this module does what needs
HTTP: a JSON POST to ``handoff.webhook_url`` signed with HMAC-SHA256
(``X-Voicebot-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, timestamp in
``X-Voicebot-Timestamp``), retried with exponential back-off; and, when
``twilio.transfer = "rest"``, an update of the live call with ``<Dial>`` TwiML.
Blocking HTTP runs in a thread with a timeout from config; failures are logged, never raised
into the call.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping
from xml.sax.saxutils import escape

from voicebot.config import Config

log = logging.getLogger("voicebot.handoff")

DEBT_KEYS = ("amount_due", "due_date", "promise", "lender", "currency")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def safe_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Nothing about the debt leaves the process before the right party is verified."""
    out = dict(summary)
    if not out.get("verified"):
        for k in DEBT_KEYS:
            out.pop(k, None)
    return out


def dial_twiml(target: str) -> str:
    if target.startswith("sip:"):
        return f"<Response><Dial><Sip>{escape(target)}</Sip></Dial></Response>"
    return f"<Response><Dial>{escape(target)}</Dial></Response>"


class HandoffClient:
    def __init__(self, config: Config) -> None:
        self.config = config

    async def transfer(self, session: Any, transfer: Any) -> None:
        payload = {
            "event": "handoff",
            "call_id": session.call_id,
            "route": session.route,
            "reason": transfer.reason,
            "target": transfer.target,
            "summary": safe_summary(transfer.summary),
            "sent_at": time.time(),
        }
        jobs = []
        if self.config.handoff.webhook_url:
            jobs.append(self.post_webhook(payload))
        tw = self.config.twilio
        if session.route == "/twilio" and tw.transfer == "rest" and tw.account_sid and tw.auth_token:
            call_sid = str(session.started.params.get("callSid") or session.call_id)
            jobs.append(self.twilio_update(call_sid, transfer.target))
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("call %s: hand-off step failed: %s", session.call_id, result)

    async def post_webhook(self, payload: Mapping[str, Any]) -> int:
        h = self.config.handoff
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        delay = 0.5
        last: Exception | None = None
        for attempt in range(h.webhook_retries + 1):
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Voicebot-Timestamp": ts}
            if h.webhook_secret:
                headers["X-Voicebot-Signature"] = sign(h.webhook_secret, ts, body)
            try:
                return await asyncio.to_thread(_post, h.webhook_url, body, headers, h.webhook_timeout_s)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
                log.warning("hand-off webhook attempt %d failed: %s", attempt + 1, exc)
                if attempt < h.webhook_retries:
                    await asyncio.sleep(delay)
                    delay *= 2
        raise RuntimeError(f"webhook failed after {h.webhook_retries + 1} attempts: {last}")

    async def twilio_update(self, call_sid: str, target: str) -> int:
        tw = self.config.twilio
        url = f"{tw.api_base.rstrip('/')}/2010-04-01/Accounts/{tw.account_sid}/Calls/{call_sid}.json"
        body = urllib.parse.urlencode({"Twiml": dial_twiml(target or self.config.handoff.agent_number)}).encode()
        auth = base64.b64encode(f"{tw.account_sid}:{tw.auth_token}".encode()).decode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {auth}"}
        return await asyncio.to_thread(_post, url, body, headers, self.config.handoff.webhook_timeout_s)


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    req = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (scheme checked)
        status = int(resp.status)
    if status >= 300:
        raise urllib.error.URLError(f"HTTP {status}")
    return status
