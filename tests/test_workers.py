"""`voicebot serve --workers 2`: two processes share one port through SO_REUSEPORT."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import scaled

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_workers_share_the_port_and_stop_on_sigterm(tmp_path: Path) -> None:
    port, as_port = _free_port(), _free_port()
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicebot", "serve", "--workers", "2", "--port", str(port),
         "--audiosocket-port", str(as_port), "--no-warm", "--ready-file", str(ready)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / "stderr.txt").open("w"),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        deadline = time.monotonic() + scaled(90)
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        log = tmp_path / "stderr.txt"
        assert ready.exists(), log.read_text()
        pids = set()
        for _ in range(200):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                pids.add(json.loads(resp.read())["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2, f"every connection went to one worker: {log.read_text()[-3000:]}"
        assert proc.pid not in pids  # the supervisor only supervises
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(scaled(60))
    assert code == 0


def test_a_worker_that_fails_to_start_is_reported_and_nothing_claims_ready(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.run(
        [sys.executable, "-m", "voicebot", "serve", "--workers", "2", "--port", str(_free_port()),
         "--audiosocket-port", str(_free_port()), "--no-warm", "--model", "/nonexistent/model",
         "--ready-file", str(ready)],
        cwd=tmp_path, capture_output=True, text=True, timeout=scaled(120),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode != 0
    assert not ready.exists()
    assert "exited before ready" in proc.stderr, proc.stderr[-2000:]
