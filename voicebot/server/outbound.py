"""The outbound writer of one call: paced audio frames and control messages, in order.

Timing is the ``Pacer``'s (telephony/pacing.py): frame times come from the frame count on a
per-call clock, never from accumulated sleeps, and audio never runs more than the adapter's
``max_lead_ms`` ahead of real time. Control messages (marks, clears, hang-ups) leave as soon
as everything queued before them has left, so a mark always follows the audio it marks.
This module adds the I/O: the task that sleeps until the next item is due and writes it,
barge-in clearing, and Asterisk-style flow control (XOFF/XON).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable

from voicebot.telephony.pacing import Pacer

Wire = str | bytes


@dataclass(slots=True, eq=False)
class _Item:
    wire: list[Wire]
    audio: bool
    tag: object = None  # prompt sequence number for audio; mark name for marks
    on_sent: Callable[[], None] | None = None


class Outbound:
    def __init__(
        self,
        send: Callable[[Wire], Awaitable[None]],
        frame_ms: int,
        max_lead_ms: int,
        clock: Callable[[], float] = time.monotonic,
        idle_frame: Callable[[], list[Wire]] | None = None,
        idle_every_s: float = 0.5,
    ) -> None:
        self._send = send
        self._idle_frame = idle_frame  # sent every idle_every_s while nothing else is queued
        self._idle_every_s = idle_every_s
        self._clock = clock
        self.pacer: Pacer[_Item] = Pacer(frame_ms, max_lead_ms)
        self._pending: deque[_Item] = deque()  # what the pacer holds, in order
        self._urgent: deque[Wire] = deque()  # out-of-band messages (softphone events): no pacing
        self._wakeup = asyncio.Event()
        self.paused = False
        self.messages_sent = 0

    # -- producers ---------------------------------------------------------------------------
    def put_frame(self, wire: list[Wire], tag: object = None, on_sent: Callable[[], None] | None = None) -> None:
        item = _Item(wire, True, tag, on_sent)
        self._pending.append(item)
        self.pacer.push([item])
        self._wakeup.set()

    def put_control(self, wire: list[Wire], tag: object = None, on_sent: Callable[[], None] | None = None) -> None:
        item = _Item(wire, False, tag, on_sent)
        self._pending.append(item)
        self.pacer.push_control([item])
        self._wakeup.set()

    def put_urgent(self, wire: list[Wire]) -> None:
        """Send ahead of queued media, e.g. live transcript events to the softphone page."""
        self._urgent.extend(wire)
        self._wakeup.set()

    async def flush_urgent(self) -> None:
        """Send what is left of the out-of-band messages (after the writer task stopped)."""
        try:
            while self._urgent:
                await self._send(self._urgent.popleft())
        except Exception:  # the peer may be gone already; nothing more to tell it
            self._urgent.clear()

    def clear_audio(self) -> set[object]:
        """Drop every queued audio frame at once (barge-in); keep queued control messages.
        Returns the tags of the dropped frames."""
        dropped = {i.tag for i in self._pending if i.audio}
        controls = [i for i in self._pending if not i.audio]
        self.pacer.clear()
        self._pending = deque(controls)
        self.pacer.push_control(controls)
        self._wakeup.set()
        return dropped

    @property
    def idle(self) -> bool:
        return not self._pending and not self._urgent

    @property
    def frames_sent(self) -> int:
        return self.pacer.frames_sent

    @property
    def underruns(self) -> int:
        return self.pacer.underruns

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._wakeup.set()

    # -- the writer task ---------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            while self._urgent:
                await self._send(self._urgent.popleft())
                self.messages_sent += 1
            if not self.paused:
                for item in self.pacer.due(self._clock()):
                    self._pending.popleft()
                    for w in item.wire:
                        await self._send(w)
                        self.messages_sent += 1
                    if item.on_sent is not None:
                        item.on_sent()
            nxt = None if self.paused else self.pacer.next_due_s(self._clock())
            if nxt is None:
                if self._idle_frame is None or self.paused:
                    await self._wakeup.wait()
                    continue
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                    # lands as the wait ends, and the writer then outlives its call.
                    async with asyncio.timeout(self._idle_every_s):
                        await self._wakeup.wait()
                except TimeoutError:
                    for w in self._idle_frame():
                        await self._send(w)
                        self.messages_sent += 1
                continue
            wait = nxt - self._clock()
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
