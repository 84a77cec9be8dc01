"""Access control on a live server: roles, failed-login rate limit, origin checks, CSP,
path traversal; and redaction of log lines."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.sync.client import connect as ws_connect

from voicebot.compliance.logfilter import RedactingFilter


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_roles_and_failed_login_rate_limit(start_server: Any) -> None:
    srv = start_server(lang="en", server={"token": "pbx-t", "agent_token": "agent-t", "admin_token": "admin-t"})
    assert _get(srv.http("/healthz"))[0] == 200  # health needs no token
    assert _get(srv.http("/"))[0] == 401
    assert _get(srv.http("/?token=pbx-t"))[0] == 401  # the pbx role can't see the dashboard
    assert _get(srv.http("/?token=agent-t"))[0] == 200
    assert _get(srv.http("/"), {"Authorization": "Bearer admin-t"})[0] == 200
    assert _get(srv.http("/api/sessions?token=agent-t"))[0] == 401  # recordings are admin-only
    for _ in range(7):  # 3 + 7 = 10 failures from this address: the limit
        assert _get(srv.http("/?token=wrong"))[0] == 401
    status, headers, _ = _get(srv.http("/?token=agent-t"))
    assert status == 429 and "Retry-After" in headers


def test_browser_routes_refuse_other_origins_and_pages_carry_csp(start_server: Any) -> None:
    srv = start_server(lang="en")
    with pytest.raises(Exception) as err:
        with ws_connect(srv.url("/softphone"), origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert "403" in str(err.value)
    with ws_connect(srv.url("/softphone"), origin=f"http://127.0.0.1:{srv.port}"):  # type: ignore[arg-type]
        pass
    status, headers, _ = _get(srv.http("/phone"))
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/../server/http.py", "/static/%2e%2e/config.py", "/static/.hidden",
                                  "/recordings/../../etc/passwd", "/recordings/x/..%2f..%2fmeta.json"])
def test_file_routes_refuse_traversal(start_server: Any, path: str) -> None:
    srv = start_server(lang="en")
    status, _, body = _get(srv.http(path))
    assert status in (400, 403, 404) and b"import" not in body and b"root:" not in body


def test_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("voicebot.test.redact")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="voicebot.test.redact"):
            caplog.handler.addFilter(RedactingFilter())
            logger.info("caller read card %s and id %s", "4111 1111 1111 1111", "11010519491231002X")
    finally:
        logger.removeHandler(handler)
    text = caplog.text
    assert "4111 1111 1111 1111" not in text and "1111" in text
    assert "11010519491231002X" not in text
