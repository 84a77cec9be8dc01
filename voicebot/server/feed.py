"""The live feed: session events fanned out to dashboard subscribers.

A tap on sessions, not a stage: publishing never blocks a call. Each subscriber has a bounded
queue; a subscriber that falls behind loses its oldest events and is told to resync.
"""
from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any


class LiveFeed:
    def __init__(self, max_queue: int = 2000, history_per_call: int = 400) -> None:
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._max_queue = max_queue
        self.calls: dict[str, dict[str, Any]] = {}  # call_id -> summary (state, route, started ...)
        self.history: dict[str, deque[dict[str, Any]]] = {}
        self._history_len = history_per_call
        self.finished: deque[dict[str, Any]] = deque(maxlen=200)

    def subscribe(self) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(self._max_queue)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        self._subscribers.discard(q)

    def snapshot(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "calls": list(self.calls.values()),
            "history": {cid: list(h) for cid, h in self.history.items()},
            "finished": list(self.finished),
        }

    def publish(self, call_id: str, event: dict[str, Any]) -> None:
        msg = {"call_id": call_id, **event}
        self.history.setdefault(call_id, deque(maxlen=self._history_len)).append(msg)
        self._fan_out(msg)

    def update_call(self, call_id: str, **fields: Any) -> None:
        summary = self.calls.setdefault(call_id, {"call_id": call_id})
        summary.update(fields)
        self._fan_out({"type": "call", **summary})

    def end_call(self, call_id: str, **fields: Any) -> None:
        summary = self.calls.pop(call_id, {"call_id": call_id})
        summary.update(fields)
        self.finished.appendleft(summary)
        self.history.pop(call_id, None)
        self._fan_out({"type": "call_finished", **summary})

    def _fan_out(self, msg: dict[str, Any]) -> None:
        text = json.dumps(msg, ensure_ascii=False, default=str)
        for q in list(self._subscribers):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait(text)
