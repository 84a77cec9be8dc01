"""Small peer-side helpers shared by the gateway end-to-end tests (no server code imported)."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def session_events(srv: Any, call_id: str) -> list[dict[str, Any]]:
    """The call's events.jsonl, parsed (one dict per line)."""
    path = Path(srv.runtime.config.sessions_path) / call_id / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def session_dir(srv: Any, call_id: str) -> Path:
    return Path(srv.runtime.config.sessions_path) / call_id


async def wait_until(pred: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(step_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def listening(srv: Any, call_id: str) -> str | None:
    """The dialogue state when the bot has played every prompt and waits for the caller."""
    s = srv.runtime.sessions.get(call_id)
    if s is None or s.dialogue is None or s.dialogue.finished or not s.prompts:
        return None
    if all(p.played or p.interrupted for p in s.prompts.values()) and s.say_queue.empty():
        return str(s.dialogue.state)
    return None


def padded(pcm: np.ndarray, before_s: float, after_s: float, rate_hz: int = 8000) -> np.ndarray:
    return np.concatenate([np.zeros(int(rate_hz * before_s), np.int16), pcm.astype(np.int16),
                           np.zeros(int(rate_hz * after_s), np.int16)])


def frames_of(data: bytes, size: int, fill: bytes) -> list[bytes]:
    """Cut ``data`` into ``size``-byte frames, the last padded with ``fill``."""
    return [data[i:i + size].ljust(size, fill) for i in range(0, len(data), size)]
