"""The door: tokens, Twilio signatures, health and metrics, protocol limits, connection churn,
and TLS, all on the one websocket+HTTP port."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import scaled
from tests.gateway.wire import listening, wait_until
from tests.twilio_peer import TwilioPeer

pytestmark = pytest.mark.slow

TOKEN = "s3cret"
CONNECTED = json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


async def _status_of_upgrade(url: str, **kwargs: Any) -> int:
    """101 when the upgrade is accepted, else the HTTP status of the refusal."""
    try:
        async with connect(url, **kwargs):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def _close_code_after(url: str, *frames: str | bytes, max_size: int | None = 2**22) -> int | None:
    async with connect(url, max_size=max_size) as ws:
        for f in frames:
            await ws.send(f)
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), scaled(20))
        return ws.close_code


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=scaled(10), context=context) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def test_token_is_required_accepted_three_ways_and_never_logged(start_server: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # what `voicebot serve` logs without -v
    srv = start_server(lang="ko", server={"token": TOKEN})

    async def run() -> tuple[int, int, int, int, int]:
        no_token = await _status_of_upgrade(srv.url("/twilio"))
        wrong = await _status_of_upgrade(srv.url("/twilio?token=nope"))
        query = await _status_of_upgrade(srv.url(f"/twilio?token={TOKEN}"))
        bearer = await _status_of_upgrade(srv.url("/twilio"), additional_headers={"Authorization": f"Bearer {TOKEN}"})
        # A whole call with the token in the query: the token must not become call data.
        async with TwilioPeer(srv.url(f"/twilio?token={TOKEN}&lang=ko"), call_sid="CA-door") as peer:
            await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
            params = dict(srv.runtime.sessions["CA-door"].started.params)
        vosk = await _status_of_upgrade(srv.url("/vosk"))
        return no_token, wrong, query, bearer, vosk, params  # type: ignore[return-value]

    no_token, wrong, query, bearer, vosk, params = asyncio.run(run())  # type: ignore[misc]
    assert (no_token, wrong, query, bearer) == (401, 401, 101, 101)
    assert vosk == 401  # /vosk is a pbx route too
    assert TOKEN not in json.dumps(params)
    assert _get(srv.http("/healthz"))[0] == 200  # health stays open for probes
    assert srv.runtime.metrics.value("voicebot_errors_total", kind="auth") == 3
    time.sleep(0.5)
    assert "refused /twilio" in caplog.text
    assert TOKEN not in caplog.text


def test_healthz_and_metrics_after_a_call(start_server: Any) -> None:
    srv = start_server(lang="ko")
    status, ctype, body = _get(srv.http("/healthz"))
    health = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    assert health["status"] == "ok" and health["active_calls"] == 0 and health["lang"] == "ko"

    async def call() -> str:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-metrics") as peer:
            await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
            during = _get(srv.http("/metrics"))[2]
            assert json.loads(_get(srv.http("/healthz"))[2])["active_calls"] == 1
            return during

    during = asyncio.run(call())
    assert 'voicebot_active_calls{route="/twilio"} 1' in during, during
    asyncio.run(wait_until(lambda: not srv.runtime.sessions, scaled(15), "the call to end"))
    status, ctype, text = _get(srv.http("/metrics"))
    assert status == 200 and ctype.startswith("text/plain")
    assert "# TYPE voicebot_active_calls gauge" in text
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line and not line.startswith("#")}
    assert lines['voicebot_frames_in_total{route="/twilio"}'] >= 3  # connected, start, media...
    assert lines['voicebot_calls_total{route="/twilio"}'] == 1
    assert any(k.startswith("voicebot_active_calls") for k in lines)
    assert not any(k.startswith("voicebot_active_calls") and v for k, v in lines.items())


def _twilio_signature(auth_token: str, url: str) -> str:
    return base64.b64encode(hmac.new(auth_token.encode(), url.encode(), hashlib.sha1).digest()).decode()


def test_twilio_signature(start_server: Any) -> None:
    public_url = "wss://example.test/twilio"
    srv = start_server(lang="ko", twilio={"auth_token": "tw", "public_url": public_url})
    good = _twilio_signature("tw", public_url)
    bad = _twilio_signature("not-the-token", public_url)

    async def run() -> tuple[int, int, int]:
        return (await _status_of_upgrade(srv.url("/twilio"), additional_headers={"X-Twilio-Signature": good}),
                await _status_of_upgrade(srv.url("/twilio"), additional_headers={"X-Twilio-Signature": bad}),
                await _status_of_upgrade(srv.url("/twilio")))

    assert asyncio.run(run()) == (101, 403, 403)


def test_protocol_violations_close_with_the_right_code(start_server: Any) -> None:
    srv = start_server(lang="ko", server={"max_message_bytes": 4096})

    async def run() -> dict[str, int | None]:
        return {
            "unknown route": await _close_code_after(srv.url("/nowhere")),
            "too big": await _close_code_after(srv.url("/twilio"), CONNECTED, "x" * 10_000),
            "binary on twilio": await _close_code_after(srv.url("/twilio"), CONNECTED, b"\x00" * 320),
        }

    codes = asyncio.run(run())
    assert codes == {"unknown route": 1008, "too big": 1009, "binary on twilio": 1003}
    assert _get(srv.http("/healthz"))[0] == 200


def test_connection_churn_leaves_server_and_concurrent_call_healthy(start_server: Any) -> None:
    srv = start_server(lang="ko", server={"max_calls": 4})
    cycles = 500

    async def churn() -> int:
        done = 0
        for i in range(cycles):
            async with connect(srv.url("/twilio"), open_timeout=scaled(10)) as ws:
                if i % 2:
                    await ws.send(CONNECTED)  # half of them get as far as the first message
            done += 1
        return done

    async def run() -> tuple[int, int, int]:
        async with TwilioPeer(srv.url("/twilio"), call_sid="CA-steady") as peer:
            await peer.wait_for(lambda m: m.get("event") == "media", scaled(30))
            before = len(peer.events("media"))
            done = await churn()
            await wait_until(lambda: listening(srv, "CA-steady") == "verify", scaled(60), "the greeting to finish")
            after = len(peer.events("media"))
            assert not peer.closed.is_set()  # type: ignore[union-attr]
            return done, before, after

    done, before, after = asyncio.run(run())
    assert done == cycles
    assert after > before + 50, (before, after)
    asyncio.run(wait_until(lambda: not srv.runtime.sessions, scaled(15), "the call to end"))
    health = json.loads(_get(srv.http("/healthz"))[2])
    assert health["status"] == "ok" and health["active_calls"] == 0
    # None of the churned connections became a call: only CA-steady was ever started.
    assert srv.runtime.metrics.value("voicebot_calls_total", route="/twilio") == 1
    assert srv.runtime.metrics.value("voicebot_errors_total", kind="internal") == 0


def test_tls_websocket_and_https(start_server: Any, tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    srv = start_server(lang="ko", server={"tls_cert": str(cert), "tls_key": str(key)})
    ctx = ssl.create_default_context(cafile=str(cert))
    url = f"wss://127.0.0.1:{srv.port}/twilio"

    async def run() -> dict[str, Any]:
        async with connect(url, ssl=ctx) as ws:
            await ws.send(CONNECTED)
            await ws.send(json.dumps({"event": "start", "streamSid": "MZtls", "start": {
                "streamSid": "MZtls", "callSid": "CA-tls", "customParameters": {},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
            return json.loads(await asyncio.wait_for(ws.recv(), scaled(30)))

    first = asyncio.run(run())
    assert first["streamSid"] == "MZtls" and first["event"] in ("media", "mark")
    status, ctype, body = _get(f"https://127.0.0.1:{srv.port}/healthz", context=ctx)
    assert status == 200 and json.loads(body)["status"] == "ok"
    with pytest.raises(urllib.error.URLError):  # a client that does not trust the cert is refused
        _get(f"https://127.0.0.1:{srv.port}/healthz", context=ssl.create_default_context())


def test_token_not_logged_by_the_server_even_at_debug(start_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    srv = start_server(lang="ko", server={"token": TOKEN})

    async def run() -> None:
        async with connect(srv.url(f"/twilio?token={TOKEN}")) as ws:
            await ws.send(CONNECTED)

    asyncio.run(run())
    time.sleep(0.3)
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert not [m for m in server_side if TOKEN in m]
