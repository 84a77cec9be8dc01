"""Pacer: a simulated clock drives the release schedule (no sleeping, no wall clock)."""
from __future__ import annotations

import random

import pytest

from voicebot.telephony.pacing import Pacer


def run_until_empty(pacer: Pacer[int], start_s: float, jitter_s: float = 0.0, seed: int = 1):
    """Wake at each next_due_s (plus random lateness); return [(release_time_s, item)]."""
    rng = random.Random(seed)
    now = start_s
    released: list[tuple[float, int]] = []
    while len(pacer):
        nxt = pacer.next_due_s(now)
        assert nxt is not None
        now = max(now, nxt) + rng.uniform(0.0, jitter_s)
        batch = pacer.due(now)
        assert batch, "waking at next_due_s must release something (no spinning)"
        released.extend((now, item) for item in batch)
    return released


def test_five_minutes_of_frames_do_not_drift() -> None:
    # given 5 minutes of 20 ms frames and a 300 ms lead
    pacer: Pacer[int] = Pacer(frame_ms=20, max_lead_ms=300)
    pacer.push(range(15_000))
    # feed: a clock that wakes exactly when asked
    released = run_until_empty(pacer, start_s=1000.0)
    # assert: order kept, and the last frame goes out at its play time minus the lead
    assert [item for _, item in released] == list(range(15_000))
    last_time = released[-1][0]
    assert abs((last_time - 1000.0) - (300.0 - 0.300)) < 0.001
    # the final frame *ends* playing at 300 s after the anchor
    assert pacer.anchor_s == 1000.0
    assert pacer.frames_sent == 15_000
    assert pacer.underruns == 0


def test_late_wakeups_do_not_accumulate() -> None:
    # given wake-ups up to 15 ms late (a sleep-accumulating pacer would drift ~110 s here)
    pacer: Pacer[int] = Pacer(frame_ms=20, max_lead_ms=300)
    pacer.push(range(15_000))
    released = run_until_empty(pacer, start_s=0.0, jitter_s=0.015, seed=7)
    last_time = released[-1][0]
    assert 299.7 - 0.001 <= last_time <= 299.7 + 0.015 + 0.001
    assert pacer.underruns == 0


def test_never_more_than_max_lead_ahead() -> None:
    pacer: Pacer[int] = Pacer(frame_ms=20, max_lead_ms=300)
    pacer.push(range(1000))
    anchor = 5.0
    released = run_until_empty(pacer, start_s=anchor, jitter_s=0.004, seed=3)
    for when, item in released:
        audio_end_s = anchor + (item + 1) * 0.020
        assert audio_end_s - when <= 0.300 + 1e-9
    # the first burst fills exactly the lead: 15 frames at once
    first_burst = [item for when, item in released if when == released[0][0]]
    assert first_burst == list(range(15))


def test_zero_lead_releases_one_frame_per_tick() -> None:
    pacer: Pacer[str] = Pacer(frame_ms=20, max_lead_ms=0)
    pacer.push(["a", "b", "c"])
    assert pacer.due(10.0) == ["a"]
    assert pacer.next_due_s(10.0) == pytest.approx(10.020)
    assert pacer.due(10.019) == []
    assert pacer.due(10.020) == ["b"]
    assert pacer.due(10.045) == ["c"]


def test_underrun_reanchors_and_is_counted() -> None:
    # given a stream that runs dry mid-utterance (last item released was audio)
    pacer: Pacer[int] = Pacer(frame_ms=20, max_lead_ms=100)
    pacer.push(range(10))
    run_until_empty(pacer, start_s=0.0)
    # feed: more audio arrives 1 s later
    pacer.push(range(10, 20))
    burst = pacer.due(1.0)
    # assert: re-anchored at now, so a fresh lead's worth goes out, not a catch-up burst
    assert burst == [10, 11, 12, 13, 14]
    assert pacer.underruns == 1
    assert pacer.anchor_s == pytest.approx(1.0 - 0.200)


def test_idle_after_a_mark_is_not_an_underrun() -> None:
    pacer: Pacer[object] = Pacer(frame_ms=20, max_lead_ms=100)
    pacer.push(range(10))
    pacer.push_control(["mark-1"])
    released = run_until_empty(pacer, start_s=0.0)  # type: ignore[arg-type]
    # the mark goes out right after the last frame, not one frame later
    assert released[-1][1] == "mark-1"
    assert released[-1][0] == released[-2][0]
    pacer.push(range(10, 12))
    assert pacer.due(5.0) == [10, 11]
    assert pacer.underruns == 0
    assert pacer.frames_sent == 12


def test_clear_drops_queue_and_restarts() -> None:
    pacer: Pacer[int] = Pacer(frame_ms=20, max_lead_ms=40)
    pacer.push(range(100))
    assert pacer.due(0.0) == [0, 1]
    pacer.clear()
    assert len(pacer) == 0
    assert pacer.next_due_s(0.5) is None
    assert pacer.due(0.5) == []
    pacer.push([7, 8, 9])
    assert pacer.due(0.6) == [7, 8]
    assert pacer.underruns == 0


def test_control_waits_behind_audio() -> None:
    pacer: Pacer[str] = Pacer(frame_ms=20, max_lead_ms=20)
    pacer.push(["f1", "f2", "f3"])
    pacer.push_control(["mark"])
    assert pacer.due(0.0) == ["f1"]
    assert pacer.due(0.020) == ["f2"]
    assert pacer.due(0.040) == ["f3", "mark"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Pacer(frame_ms=0, max_lead_ms=10)
    with pytest.raises(ValueError):
        Pacer(frame_ms=20, max_lead_ms=-1)
