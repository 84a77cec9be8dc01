"""Plain HTTP on the websocket port, and the access check for every route.

``process_request`` runs before each websocket handshake: it answers HTTP routes itself
(healthz, metrics, pages, JSON API) and refuses unauthenticated upgrades. Roles: ``pbx``
(call routes), ``agent`` (dashboard, feed, softphone), ``admin`` (recordings, QA). A token is
taken from ``Authorization: Bearer``, ``X-Voicebot-Token`` or the ``token`` query parameter,
compared in constant time and never logged.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import time
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from voicebot.server.calls import CALL_ROUTES, token_ok
from voicebot.server.runtime import Runtime

log = logging.getLogger("voicebot.http")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'"
)


def _response(status: int, body: bytes | str, content_type: str = "text/plain; charset=utf-8",
              extra: dict[str, str] | None = None) -> Response:
    data = body.encode() if isinstance(body, str) else body
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(data))
    headers["Cache-Control"] = "no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = CSP
    for k, v in (extra or {}).items():
        headers[k] = v
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              426: "Upgrade Required", 429: "Too Many Requests"}.get(status, "OK")
    return Response(status, reason, headers, data)


def request_token(request: Request, query: dict[str, str]) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("X-Voicebot-Token", "") or query.get("token", "")


def role_of(runtime: Runtime, token: str) -> set[str]:
    """Which roles a token grants. With no tokens configured everything is open (local dev)."""
    s = runtime.config.server
    roles: set[str] = set()
    if token_ok(token, s.token):
        roles.add("pbx")
    if token_ok(token, s.agent_token):
        roles.add("agent")
    if token_ok(token, s.admin_token):
        roles.add("admin")
        if s.admin_token:  # a real admin token also opens the agent's views
            roles.add("agent")
    return roles


BROWSER_ROUTES = ("/softphone", "/feed")


def origin_ok(request: Request) -> bool:
    """Browser websocket routes accept only same-origin pages (or non-browser clients)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("Host", "")


def required_role(route: str) -> str:
    if route in CALL_ROUTES or route.startswith("/media/") or route == "/vosk":
        return "agent" if route == "/softphone" else "pbx"
    if route.startswith("/api/sessions") or route.startswith("/recordings") or route.startswith("/qa"):
        return "admin"
    if route in ("/healthz",) or route.startswith("/static/"):
        return ""  # assets are not secret, and <script src> cannot carry a token
    return "agent"


def twilio_signature_ok(runtime: Runtime, request: Request) -> bool:
    """X-Twilio-Signature = base64(HMAC-SHA1(auth_token, url)); validate against the wss:// URL."""
    tw = runtime.config.twilio
    if not tw.auth_token:
        return True
    sig = request.headers.get("X-Twilio-Signature", "")
    url = tw.public_url or f"wss://{request.headers.get('Host', '')}{request.path}"
    expected = base64.b64encode(hmac.new(tw.auth_token.encode(), url.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(sig.encode(), expected.encode())


async def process_request(runtime: Runtime, connection: ServerConnection, request: Request) -> Response | None:
    parts = urlsplit(request.path)
    route = parts.path.rstrip("/") or "/"
    query = dict(parse_qsl(parts.query))
    need = required_role(route)
    addr = str(connection.remote_address[0]) if connection.remote_address else "?"
    now = time.monotonic()
    limiter = runtime.failed_logins
    if need and limiter.blocked(addr, now):
        runtime.metrics.inc("voicebot_errors_total", kind="auth_rate_limited")
        return _response(429, "too many failed attempts\n", extra={"Retry-After": str(int(limiter.window_s))})
    if need and need not in role_of(runtime, request_token(request, query)):
        limiter.failed(addr, now)
        runtime.metrics.inc("voicebot_errors_total", kind="auth")
        log.warning("refused %s from %s: missing or wrong token", route, addr)
        return _response(401, "unauthorized\n", extra={"WWW-Authenticate": "Bearer"})
    if route in BROWSER_ROUTES and not origin_ok(request):
        runtime.metrics.inc("voicebot_errors_total", kind="origin")
        log.warning("refused %s from %s: cross-origin page", route, addr)
        return _response(403, "cross-origin request refused\n")
    if route == "/twilio" and not twilio_signature_ok(runtime, request):
        runtime.metrics.inc("voicebot_errors_total", kind="auth")
        log.warning("refused /twilio from %s: bad X-Twilio-Signature", connection.remote_address)
        return _response(403, "bad signature\n")
    is_upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
    if is_upgrade:
        return None
    return _http_route(runtime, route, query)


def _http_route(runtime: Runtime, route: str, query: dict[str, str]) -> Response:
    if route == "/healthz":
        body = {"status": "ok", "active_calls": len(runtime.sessions), "model": runtime.model_name,
                "lang": runtime.lang, "pid": os.getpid(),
                "recognizers_warm": runtime.recognizers_warm}
        return _response(200, json.dumps(body), "application/json")
    if route == "/metrics":
        return _response(200, runtime.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
    if route == "/api/calls":
        return _response(200, json.dumps(runtime.feed.snapshot(), ensure_ascii=False, default=str),
                         "application/json")
    if route in ("/", "/phone", "/replay"):
        name = {"/": "index.html", "/phone": "phone.html", "/replay": "replay.html"}[route]
        return _static(name)
    if route.startswith("/static/"):
        return _static(route[len("/static/"):])
    if route.startswith("/api/sessions") or route.startswith("/recordings/"):
        from voicebot.dashboard.replay_api import handle as replay_handle

        status, body, ctype = replay_handle(runtime, route, query)
        return _response(status, body, ctype)
    if route in CALL_ROUTES or route == "/vosk":
        return _response(426, "this route takes a websocket upgrade\n", extra={"Upgrade": "websocket"})
    return _response(404, "not found\n")


def _static(name: str) -> Response:
    if ".." in name or name.startswith(("/", ".")) or "\\" in name:
        return _response(404, "not found\n")
    try:
        data = resources.files("voicebot.dashboard").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return _response(404, "not found\n")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript",):
        ctype += "; charset=utf-8"
    return _response(200, data, ctype)

