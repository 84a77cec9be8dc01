"""Compliance guards checked at call start: calling window, attempt caps, opt-out registry.

Pure: facts in (profile, the borrower's local time, earlier attempts, opt-out status), a
decision out. Each refusal names the rule, so the call record says why a call was blocked.

Profiles (collections-practice.md):
- ``us`` (FDCPA / Regulation F): calls only 08:00-21:00 borrower-local; more than 7 attempts
  in 7 days, or any call within 7 days after a conversation, is presumed harassing.
- ``cn`` (2018 convention, 2025 standard): no contact 22:00-08:00 borrower-local; at most 3
  connected calls per borrower per day, at most 6 attempts per number per day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    window_start: time
    window_end: time
    max_attempts: int  # in attempts_window
    attempts_window: timedelta
    max_connected_per_day: int | None = None
    quiet_after_conversation: timedelta | None = None


PROFILES: dict[str, Profile] = {
    "us": Profile("us", time(8, 0), time(21, 0), 7, timedelta(days=7),
                  quiet_after_conversation=timedelta(days=7)),
    "cn": Profile("cn", time(8, 0), time(22, 0), 6, timedelta(days=1), max_connected_per_day=3),
}


@dataclass(frozen=True, slots=True)
class Attempt:
    """An earlier contact attempt about this account (from the store)."""

    started_at: datetime  # aware, UTC
    connected: bool
    conversation: bool


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str = ""  # e.g. "calling_window", "attempt_cap", "quiet_after_conversation", "opt_out"
    detail: str = ""


def local_time(now_utc: datetime, tz_name: str) -> datetime:
    try:
        tz = ZoneInfo(tz_name) if tz_name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    return now_utc.astimezone(tz)


def check_call(
    profile_name: str,
    now_utc: datetime,
    tz_name: str,
    attempts: Sequence[Attempt],
    opted_out: bool,
    *,
    enforce_window: bool = True,
    enforce_caps: bool = True,
    enforce_opt_out: bool = True,
) -> Decision:
    """May we call this borrower now? Rules are checked in the order a regulator would."""
    profile = PROFILES[profile_name]
    if enforce_opt_out and opted_out:
        return Decision(False, "opt_out", "the borrower asked us to stop contacting them")
    if enforce_window:
        local = local_time(now_utc, tz_name)
        if not (profile.window_start <= local.time() < profile.window_end):
            return Decision(False, "calling_window",
                            f"{local:%H:%M} {tz_name or 'UTC'} is outside "
                            f"{profile.window_start:%H:%M}-{profile.window_end:%H:%M} ({profile.name})")
    if enforce_caps:
        recent = [a for a in attempts if now_utc - a.started_at < profile.attempts_window]
        if len(recent) >= profile.max_attempts:
            return Decision(False, "attempt_cap",
                            f"{len(recent)} attempts in the last {profile.attempts_window.days} day(s) "
                            f"(max {profile.max_attempts})")
        if profile.quiet_after_conversation is not None:
            talked = [a for a in attempts if a.conversation and now_utc - a.started_at < profile.quiet_after_conversation]
            if talked:
                return Decision(False, "quiet_after_conversation",
                                f"a conversation took place {talked[-1].started_at:%Y-%m-%d}; "
                                f"no call within {profile.quiet_after_conversation.days} days after it")
        if profile.max_connected_per_day is not None:
            local_day = local_time(now_utc, tz_name).date()
            connected_today = [a for a in attempts if a.connected
                               and local_time(a.started_at, tz_name).date() == local_day]
            if len(connected_today) >= profile.max_connected_per_day:
                return Decision(False, "connected_cap",
                                f"{len(connected_today)} connected calls today (max {profile.max_connected_per_day})")
    return Decision(True)
