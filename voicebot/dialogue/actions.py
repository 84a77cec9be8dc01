"""What the dialogue engine tells the session, and the outcome it records.

The session plays every ``Say`` in order; after ``EndCall`` it plays what remains and hangs
up; after ``HandOff`` it plays the hand-off line and transfers. ``StateChanged`` and
``Understood`` are facts for the recorder and dashboard.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Mapping

from voicebot.nlu import Understanding

HANDOFF_REASONS: tuple[str, ...] = (
    "critical_distress", "distress", "dispute", "request_agent", "payment_plan",
    "promise_outside_policy", "no_match", "abuse",
)
DISPOSITIONS: tuple[str, ...] = (
    "ptp", "paid", "plan_requested", "dispute", "hardship", "wrong_party", "callback", "refused",
    "cease", "no_input", "voicemail", "handoff", "dropped",
)


@dataclass(frozen=True)
class Say:
    """One bot line. ``segments`` splits ``text`` into sentences, each flagged True when it
    is the same on every call (safe to cache as audio) or False when it carries per-call slot
    values. ``interruptible`` False means barge-in must not cut it (disclosures);
    ``mentions_debt`` True means it must never reach anyone but the verified borrower."""

    prompt_id: str
    state: str
    text: str
    segments: tuple[tuple[str, bool], ...]
    interruptible: bool
    disclosure: bool
    mentions_debt: bool


@dataclass(frozen=True)
class StateChanged:
    old: str
    new: str


@dataclass(frozen=True)
class Understood:
    """The NLU result for a caller turn (speech, typed text or a DTMF key)."""

    understanding: Understanding


@dataclass(frozen=True)
class HandOff:
    """Transfer to a person. ``summary`` is JSON-ready: verified, amount_due (only when
    verified), promise so far, last turns, flags."""

    reason: str
    summary: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class EndCall:
    disposition: str


Action = Say | StateChanged | Understood | HandOff | EndCall


@dataclass(frozen=True)
class Outcome:
    """What the call achieved. ``disposition`` is "" while undecided (one of DISPOSITIONS
    otherwise); ``callback_at`` is the day the caller asked to be called back, when one day
    was named; ``notes`` is a short human-readable log of what the caller told us."""

    disposition: str = ""
    promise_amount: float | None = None
    promise_date: date | None = None
    promise_confirmed: bool = False
    handoff_reason: str = ""
    opt_out: bool = False
    callback_at: date | None = None
    notes: str = ""
    verified: bool = False

    def to_json_obj(self) -> dict[str, object]:
        return {
            "disposition": self.disposition,
            "promise": {
                "amount": self.promise_amount,
                "date": self.promise_date.isoformat() if self.promise_date else None,
                "confirmed": self.promise_confirmed,
            },
            "handoff_reason": self.handoff_reason or None,
            "opt_out": self.opt_out,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
            "notes": self.notes,
            "verified": self.verified,
        }
