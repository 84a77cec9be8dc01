"""``voicebot serve`` as a real subprocess: started in a directory of its own, stderr to a file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, scaled


class ServeProcess:
    def __init__(self, cwd: Path, *extra: str, wait_ready: bool = True, warm: bool = False) -> None:
        self.cwd = cwd
        self.ready_file = cwd / "ready"
        self.stderr_path = cwd / "stderr.txt"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in list(env):
            if name.startswith("VOICEBOT_"):
                del env[name]  # no config from the environment either
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot", "serve", "--port", "0", "--audiosocket-port", "0",
             "--ready-file", str(self.ready_file), *([] if warm else ["--no-warm"]), *extra],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr,
        )
        self.ws_port = self.audiosocket_port = 0
        if wait_ready:
            self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + scaled(90)
        while time.monotonic() < deadline:
            if self.ready_file.exists() and self.ready_file.read_text().endswith("\n"):
                ws, tcp = self.ready_file.read_text().split()
                self.ws_port, self.audiosocket_port = int(ws), int(tcp)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"voicebot serve exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise TimeoutError("voicebot serve never wrote its ready file")

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.ws_port}{path}"

    def healthz(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ws_port}/healthz", timeout=scaled(10)) as r:
            assert r.status == 200
            return json.loads(r.read())

    def terminate(self, timeout_s: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(scaled(timeout_s))
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._stderr.close()
