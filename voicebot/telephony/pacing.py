"""Clock-driven release of outbound frames, shared by the server's per-call writer loop.

Peers play what we send at real-time speed. Some queue a lot (Twilio, Asterisk
chan_websocket), some play frames the moment they arrive (AudioSocket), and all of them make
barge-in late if we run far ahead. The ``Pacer`` releases each frame shortly before its play
time and never lets the audio already released run more than ``max_lead_ms`` ahead of real
time.

Timing model: the stream is anchored at a wall-clock time ``anchor_s``; frame *k* plays at
``anchor_s + start_ms[k] / 1000``, where ``start_ms`` is the integer sum of the durations
queued before it. Times are therefore computed from the frame count, never by accumulating
sleeps, so a 5-minute call does not drift. A frame is *due* once its end lies within
``max_lead_ms`` of now. If the queue ran dry and a frame's play time is more than one frame
in the past, the stream is re-anchored at now (the peer's buffer has emptied; sending a
burst to "catch up" would only add latency).

Control messages (marks, clears, hang-ups) are pushed with ``push_control``: they have no
duration and are released as soon as everything queued before them has been released.

``underruns`` counts re-anchors where the previous stream ended in an audio frame, i.e. the
audio ran out mid-utterance. A stream that ended with a control message (the mark after an
utterance) simply went idle, which is not an underrun.

Pure: the caller passes ``now_s`` (e.g. ``loop.time()``); nothing here reads a clock.
"""
from __future__ import annotations

from collections import deque
from typing import Generic, Iterable, TypeVar

__all__ = ["Pacer"]

T = TypeVar("T")

_EPSILON_MS = 1e-6


class Pacer(Generic[T]):
    """Per-call release schedule for outbound frames (see module docstring)."""

    def __init__(self, frame_ms: int, max_lead_ms: int) -> None:
        if frame_ms <= 0:
            raise ValueError(f"frame_ms must be positive, got {frame_ms}")
        if max_lead_ms < 0:
            raise ValueError(f"max_lead_ms must be >= 0, got {max_lead_ms}")
        self.frame_ms = frame_ms
        self.max_lead_ms = max_lead_ms
        self.frames_sent = 0
        self.underruns = 0
        self._queue: deque[tuple[T, int, int]] = deque()  # (item, start_ms, duration_ms)
        self._scheduled_ms = 0  # end of the last queued item, ms after the anchor
        self._anchor_s: float | None = None
        self._last_released_audio = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def anchor_s(self) -> float | None:
        """Wall-clock time at which offset 0 of the current stream plays."""
        return self._anchor_s

    def push(self, frames: Iterable[T], duration_ms: int | None = None) -> None:
        """Queue audio frames of ``duration_ms`` each (default ``frame_ms``)."""
        duration = self.frame_ms if duration_ms is None else duration_ms
        if duration < 0:
            raise ValueError(f"duration_ms must be >= 0, got {duration}")
        for frame in frames:
            self._queue.append((frame, self._scheduled_ms, duration))
            self._scheduled_ms += duration

    def push_control(self, messages: Iterable[T]) -> None:
        """Queue messages that take no playback time, in order behind the audio."""
        self.push(messages, 0)

    def clear(self) -> None:
        """Drop everything queued; the next push starts a fresh stream (not an underrun)."""
        self._queue.clear()
        self._scheduled_ms = 0
        self._anchor_s = None
        self._last_released_audio = False

    def due(self, now_s: float) -> list[T]:
        """Release, in order, every queued item whose send time has come."""
        released: list[T] = []
        while self._queue:
            item, start_ms, duration = self._queue[0]
            self._maybe_reanchor(now_s, start_ms)
            assert self._anchor_s is not None
            # The epsilon absorbs float rounding of now - anchor (otherwise a clock that wakes
            # exactly at next_due_s could find nothing due and spin).
            elapsed_ms = (now_s - self._anchor_s) * 1000.0 + _EPSILON_MS
            # Due when the frame's end is within the lead, or (for a frame longer than the
            # lead) once its start has come.
            if start_ms + duration > elapsed_ms + self.max_lead_ms and start_ms > elapsed_ms:
                break
            self._queue.popleft()
            released.append(item)
            if duration > 0:
                self.frames_sent += 1
                self._last_released_audio = True
            else:
                self._last_released_audio = False
        return released

    def next_due_s(self, now_s: float) -> float | None:
        """Wall-clock time the next queued item becomes due (``<= now_s`` means now);
        ``None`` when nothing is queued."""
        if not self._queue:
            return None
        _, start_ms, duration = self._queue[0]
        if self._anchor_s is None or self._late(now_s, start_ms):
            return now_s
        lead_ready_s = self._anchor_s + (start_ms + duration - self.max_lead_ms) / 1000.0
        start_s = self._anchor_s + start_ms / 1000.0
        return min(lead_ready_s, start_s)

    def _late(self, now_s: float, start_ms: int) -> bool:
        assert self._anchor_s is not None
        return (now_s - self._anchor_s) * 1000.0 > start_ms + self.frame_ms

    def _maybe_reanchor(self, now_s: float, start_ms: int) -> None:
        if self._anchor_s is None:
            self._anchor_s = now_s - start_ms / 1000.0
            return
        if self._late(now_s, start_ms):
            if self._last_released_audio:
                self.underruns += 1
            self._anchor_s = now_s - start_ms / 1000.0
