"""espeak-ng speech through pyttsx3, rendered in long-lived worker processes.

pyttsx3's espeak driver is neither thread-safe nor quiet, and finishes its WAV asynchronously,
so each worker is a separate process (``python -m voicebot.tts.pyttsx3_worker``) speaking
pickled tuples over an inherited ``multiprocessing`` socket pair, never over stdout. ``Pyttsx3Engine`` is the thread-safe front:
``workers`` processes serve renders in parallel; a caller waits for an idle one.

Failure contract: a render that times out, or whose worker dies, raises ``EngineError``; that
worker is discarded and a fresh one is started by the next render that needs it, so one crash
costs one request, never the engine.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal

from voicebot.errors import EngineError
from voicebot.tts.base import Rendered

log = logging.getLogger(__name__)

Lang = Literal["en", "zh", "ko"]

ESPEAK_VOICES: dict[str, str] = {"en": "en-us", "zh": "cmn", "ko": "ko"}
"""Default espeak-ng voice per language (espeak-ng voice names)."""

_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


class _WorkerFailed(Exception):
    """The worker process timed out or died; it must be replaced."""


class _Worker:
    """One espeak worker process and the parent's end of its pipe."""

    def __init__(self, start_timeout_s: float) -> None:
        self.conn, child_conn = multiprocessing.Pipe(duplex=True)
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="voicebot-espeak-"))
        env = dict(os.environ)
        # The child must import this very voicebot, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE_ROOT, env.get("PYTHONPATH", "")]))
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "voicebot.tts.pyttsx3_worker",
                    str(child_conn.fileno()),
                    str(self.tmp_dir),
                ],
                pass_fds=(child_conn.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the espeak driver prints; keep our stdout clean
                env=env,
            )
        except OSError as exc:
            self.conn.close()
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            raise EngineError(f"cannot start espeak worker: {exc}") from exc
        finally:
            # Only the child may hold its end, or we would never see EOF when it dies.
            child_conn.close()
        self.pid: int = self.process.pid
        # Runs once: on stop(), when the worker is garbage, or at interpreter exit.
        self._finalizer = weakref.finalize(self, _stop_worker, self.process, self.conn, self.tmp_dir)
        try:
            reply = self._receive(start_timeout_s)
        except _WorkerFailed as exc:
            self.stop()
            raise EngineError(f"espeak worker did not start: {exc}") from exc
        if reply[0] != "ready":
            self.stop()
            raise EngineError(f"espeak worker did not start: {reply[1]}")

    @property
    def alive(self) -> bool:
        """False once the process has exited. Only meaningful between requests."""
        # An idle worker never has anything to read; a readable pipe means EOF, i.e. the
        # process is gone even if the kernel has not made it reapable yet (right after kill -9).
        try:
            return self.process.poll() is None and not self.conn.poll(0)
        except OSError:
            return False

    def render(self, text: str, voice: str, rate_wpm: int, timeout_s: float) -> Rendered:
        try:
            self.conn.send(("render", text, voice, rate_wpm, timeout_s))
        except OSError as exc:
            raise _WorkerFailed(f"worker pipe broken: {exc}") from exc
        # The worker enforces timeout_s on the WAV wait; the extra second covers IPC.
        reply = self._receive(timeout_s + 1.0)
        if reply[0] != "ok":
            raise EngineError(f"espeak render failed: {reply[1]}")
        return Rendered(reply[1], reply[2])

    def _receive(self, timeout_s: float) -> tuple[object, ...]:
        conn: Connection = self.conn
        try:
            if not conn.poll(timeout_s):
                raise _WorkerFailed(f"no reply within {timeout_s:.1f} s")
            reply: tuple[object, ...] = conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerFailed(f"worker exited (code {self.process.poll()})") from exc
        return reply

    def stop(self) -> None:
        """End the process (politely if it is idle, by force if not), reap it, close the pipe."""
        self._finalizer()


def _stop_worker(process: subprocess.Popen[bytes], conn: Connection, tmp_dir: Path) -> None:
    try:
        if process.poll() is None:
            try:
                conn.send(("stop",))
            except OSError:
                pass
        try:
            process.wait(0.5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2.0)
    finally:
        conn.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)


class Pyttsx3Engine:
    """espeak-ng text-to-speech (``TtsEngine``) with ``workers`` worker processes.

    ``voice`` is an espeak-ng voice name ("" = the language default from ``ESPEAK_VOICES``);
    ``rate_wpm`` the speaking rate. Workers start on first use (``start()`` starts them now).
    ``render`` is thread-safe, returns 22.05 kHz audio, and raises ``EngineError`` on a blank
    text, a bad voice, a timeout after ``render_timeout_s``, or a dead worker.
    """

    name = "pyttsx3"

    def __init__(
        self,
        lang: Lang,
        voice: str = "",
        rate_wpm: int = 160,
        workers: int = 1,
        render_timeout_s: float = 30.0,
        start_timeout_s: float = 60.0,
    ) -> None:
        if lang not in ESPEAK_VOICES:
            raise EngineError(f"no espeak-ng voice for language {lang!r}; expected en, zh or ko")
        if workers < 1:
            raise EngineError(f"workers must be >= 1, got {workers}")
        self.lang = lang
        self.voice_id = voice or ESPEAK_VOICES[lang]
        self.rate_wpm = rate_wpm
        self.render_timeout_s = render_timeout_s
        self._start_timeout_s = start_timeout_s
        self._slots = workers
        # Each slot holds a worker or None (not started yet / discarded after a failure).
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        self._all: list[_Worker] = []
        for _ in range(workers):
            self._idle.put(None)

    def render(self, text: str) -> Rendered:
        """Speak ``text``; blocks until a worker is free and the audio is complete."""
        if not text.strip():
            raise EngineError("nothing to render: text is blank")
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive:
                if worker is not None:
                    log.warning("espeak worker %d died while idle; restarting", worker.pid)
                    self._discard(worker)
                worker = self._spawn()
            try:
                return worker.render(text, self.voice_id, self.rate_wpm, self.render_timeout_s)
            except _WorkerFailed as exc:
                log.warning("espeak worker %d failed: %s; it will be restarted", worker.pid, exc)
                self._discard(worker)
                worker = None
                raise EngineError(f"espeak render failed: {exc}") from exc
        finally:
            self._idle.put(worker)

    def start(self) -> None:
        """Start every worker now, so the first call does not pay the ~1 s process start."""
        taken = [self._idle.get() for _ in range(self._slots)]
        try:
            for i, worker in enumerate(taken):
                if worker is None or not worker.alive:
                    if worker is not None:
                        self._discard(worker)
                    taken[i] = None
                    taken[i] = self._spawn()
        finally:
            for worker in taken:
                self._idle.put(worker)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers started so far and not yet discarded."""
        return [w.pid for w in list(self._all)]

    def close(self) -> None:
        """Stop every worker, waiting for renders in progress. The engine may be used again."""
        taken = [self._idle.get() for _ in range(self._slots)]
        try:
            for worker in taken:
                if worker is not None:
                    self._discard(worker)
        finally:
            for _ in taken:
                self._idle.put(None)

    def __enter__(self) -> Pyttsx3Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> _Worker:
        worker = _Worker(self._start_timeout_s)
        self._all.append(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        if worker in self._all:
            self._all.remove(worker)
        worker.stop()
