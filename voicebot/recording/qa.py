"""Score a recorded session against the collections-practice QA checks.

Pure: a ``SessionRecord`` and ``QaRules`` in, a ``Scorecard`` out. Each check is ``pass``,
``fail`` or ``na`` (nothing to judge, e.g. no promise was made); the score is the weighted
share of passed checks among those that apply, 0-100 (100 when none applies).

Checks (event fields are defined in docs/recording-format.md):

* ``verified_before_debt``: no ``say`` with ``mentions_debt`` before a ``state_change``
  with ``verified: true`` (privacy red line: the debt is told to the borrower only).
* ``disclosures_played``: every ``say`` with ``disclosure: true`` is followed by a
  ``prompt_played`` of its ``prompt_id`` and not a ``prompt_interrupted``.
* ``promise_confirmed``: a promise in the outcome was read back (a ``say`` with
  ``readback: true``) and ``confirmed`` by the borrower.
* ``handoff_timely``: every ``handoff`` is followed by a ``transfer`` within
  ``handoff_max_s``.
* ``no_prohibited_language``: no ``compliance_warning`` event, and no prohibited phrase in
  the bot's ``say`` text or the agent's ``final`` text.
* ``talk_over``/``silence``: overlap of bot and caller speech, and time when nobody
  speaks, as shares of the call, under their limits.
* ``calling_window``/``attempt_caps``: meta ``call_window_ok``/``attempt_caps_ok``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from voicebot.events import EventType, SessionEvent
from voicebot.recording.format import SessionRecord

Status = Literal["pass", "fail", "na"]

# A small default list; deployments pass their own (per language and jurisdiction).
DEFAULT_PROHIBITED: tuple[str, ...] = (
    "arrest", "jail", "prison", "police will", "sue you today", "we will hurt", "idiot", "stupid",
    "deadbeat", "ruin your", "tell your family", "tell your employer",
    "坐牢", "抓你", "警察", "打死", "废物", "骗子", "告诉你家人", "通知你单位",
)

CHECK_WEIGHTS: dict[str, int] = {
    "verified_before_debt": 25,
    "no_prohibited_language": 20,
    "disclosures_played": 15,
    "promise_confirmed": 10,
    "handoff_timely": 10,
    "calling_window": 5,
    "attempt_caps": 5,
    "talk_over": 5,
    "silence": 5,
}


@dataclass(frozen=True)
class QaRules:
    handoff_max_s: float = 10.0
    prohibited_phrases: tuple[str, ...] = DEFAULT_PROHIBITED
    max_talk_over_ratio: float = 0.10
    max_silence_ratio: float = 0.60


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class Scorecard:
    call_id: str
    score: int
    checks: tuple[CheckResult, ...]
    disposition: str = ""
    started_at: str = ""
    duration_ms: int = 0
    promise: bool = False
    handoff_reasons: tuple[str, ...] = ()
    talk_over_ratio: float = 0.0
    silence_ratio: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)

    def status(self, name: str) -> Status:
        return next(c.status for c in self.checks if c.name == name)

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if c.status == "fail")


Interval = tuple[int, int]


def _merge(intervals: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _total(intervals: Sequence[Interval]) -> int:
    return sum(e - s for s, e in intervals)


def _overlap(a: Sequence[Interval], b: Sequence[Interval]) -> int:
    total = 0
    for s1, e1 in a:
        for s2, e2 in b:
            total += max(0, min(e1, e2) - max(s1, s2))
    return total


def speech_intervals(events: Sequence[SessionEvent], channel: str, end_ms: int) -> list[Interval]:
    """Merged speech intervals of ``channel`` from speech_start/speech_end events; a start
    without an end lasts until ``end_ms``."""
    out: list[Interval] = []
    open_at: int | None = None
    for ev in events:
        if ev.data.get("channel", "caller") != channel:
            continue
        if ev.type == EventType.SPEECH_START and open_at is None:
            open_at = ev.offset_ms
        elif ev.type == EventType.SPEECH_END and open_at is not None:
            out.append((open_at, ev.offset_ms))
            open_at = None
    if open_at is not None:
        out.append((open_at, end_ms))
    return _merge(out)


def bot_intervals(events: Sequence[SessionEvent], end_ms: int) -> list[Interval]:
    """When the bot was audible: each prompt_start until its prompt_interrupted, else its
    prompt_played (the peer confirmed playout), else start + duration_ms, else prompt_end."""
    out: list[Interval] = []
    for i, ev in enumerate(events):
        if ev.type != EventType.PROMPT_START:
            continue
        pid = ev.data.get("prompt_id")
        stop: int | None = None
        ends: dict[EventType, int] = {}
        for later in events[i + 1:]:
            if later.data.get("prompt_id") != pid:
                continue
            if later.type == EventType.PROMPT_START:
                break
            if later.type in (EventType.PROMPT_INTERRUPTED, EventType.PROMPT_PLAYED, EventType.PROMPT_END):
                ends.setdefault(later.type, later.offset_ms)
        if EventType.PROMPT_INTERRUPTED in ends:
            stop = ends[EventType.PROMPT_INTERRUPTED]
        elif EventType.PROMPT_PLAYED in ends:
            stop = ends[EventType.PROMPT_PLAYED]
        elif isinstance(ev.data.get("duration_ms"), (int, float)):
            stop = ev.offset_ms + int(ev.data["duration_ms"])  # type: ignore[arg-type]
        else:
            stop = ends.get(EventType.PROMPT_END, end_ms)
        out.append((ev.offset_ms, min(stop, end_ms)))
    return _merge(out)


def _promise(record: SessionRecord) -> dict[str, Any] | None:
    promise = (record.meta.get("outcome") or {}).get("promise")
    for ev in record.of_type(EventType.OUTCOME):
        promise = ev.data.get("promise") or promise
    if isinstance(promise, list):
        promise = promise[-1] if promise else None
    return dict(promise) if promise else None


def score_session(record: SessionRecord, rules: QaRules = QaRules()) -> Scorecard:
    """The scorecard of one session; see the module docstring for the checks."""
    events = list(record.events)
    end_ms = max([int(record.meta.get("duration_ms") or 0), *(e.offset_ms for e in events)], default=0)
    checks: list[CheckResult] = []

    # Right party verified before any debt detail.
    verified_at: int | None = None
    early: list[str] = []
    debt_mentions = 0
    for ev in events:
        if ev.type == EventType.STATE_CHANGE and ev.data.get("verified") and verified_at is None:
            verified_at = ev.offset_ms
        elif ev.type == EventType.SAY and ev.data.get("mentions_debt"):
            debt_mentions += 1
            if verified_at is None:
                early.append(f"{ev.data.get('prompt_id', '?')}@{ev.offset_ms}ms")
    if early:
        checks.append(CheckResult("verified_before_debt", "fail", "debt mentioned before verification: " + ", ".join(early)))
    elif debt_mentions:
        checks.append(CheckResult("verified_before_debt", "pass", f"verified at {verified_at}ms"))
    else:
        checks.append(CheckResult("verified_before_debt", "na", "debt never mentioned"))

    # Disclosures played in full.
    missing: list[str] = []
    disclosures = 0
    for i, ev in enumerate(events):
        if ev.type != EventType.SAY or not ev.data.get("disclosure"):
            continue
        disclosures += 1
        pid = ev.data.get("prompt_id")
        fate = next((later.type for later in events[i + 1:]
                     if later.data.get("prompt_id") == pid
                     and later.type in (EventType.PROMPT_PLAYED, EventType.PROMPT_INTERRUPTED)), None)
        if fate != EventType.PROMPT_PLAYED:
            missing.append(f"{pid} ({'interrupted' if fate else 'not confirmed'})")
    checks.append(CheckResult("disclosures_played", "na" if not disclosures else "fail" if missing else "pass",
                              "; ".join(missing) or f"{disclosures} disclosure(s) played"))

    # Promise read back and confirmed.
    promise = _promise(record)
    if promise is None:
        checks.append(CheckResult("promise_confirmed", "na", "no promise"))
    else:
        read_back = any(e.data.get("readback") for e in record.of_type(EventType.SAY))
        ok = read_back and bool(promise.get("confirmed"))
        checks.append(CheckResult("promise_confirmed", "pass" if ok else "fail",
                                  f"read back: {read_back}, confirmed: {bool(promise.get('confirmed'))}"))

    # Hand-off honoured in time.
    transfers = [e.offset_ms for e in record.of_type(EventType.TRANSFER)]
    handoffs = record.of_type(EventType.HANDOFF)
    late: list[str] = []
    limit_ms = int(rules.handoff_max_s * 1000)
    judged = 0
    for ev in handoffs:
        after = [t for t in transfers if t >= ev.offset_ms]
        if after:
            judged += 1
            if after[0] - ev.offset_ms > limit_ms:
                late.append(f"{ev.data.get('reason', '?')}: {after[0] - ev.offset_ms}ms")
        elif end_ms - ev.offset_ms > limit_ms:
            judged += 1
            late.append(f"{ev.data.get('reason', '?')}: no transfer")
    checks.append(CheckResult("handoff_timely", "na" if not judged else "fail" if late else "pass",
                              "; ".join(late) or (f"{judged} hand-off(s) within {rules.handoff_max_s:g}s" if judged else "no hand-off")))

    # No prohibited language by bot or agent.
    found = [f"warning {e.data.get('rule', '?')} ({e.data.get('speaker', '?')})"
             for e in record.of_type(EventType.COMPLIANCE_WARNING)]
    phrases = [p.casefold() for p in rules.prohibited_phrases if p]
    for ev in events:
        is_bot = ev.type == EventType.SAY
        is_agent = ev.type == EventType.FINAL and ev.data.get("channel") == "agent"
        if is_bot or is_agent:
            text = str(ev.data.get("text", "")).casefold()
            found += [f"{'bot' if is_bot else 'agent'} said {p!r}" for p in phrases if p in text]
    checks.append(CheckResult("no_prohibited_language", "fail" if found else "pass", "; ".join(found)))

    # Talk-over and silence.
    caller = speech_intervals(events, "caller", end_ms)
    agent = speech_intervals(events, "agent", end_ms)
    bot = bot_intervals(events, end_ms)
    talk_over = _overlap(caller, bot) / end_ms if end_ms else 0.0
    silence = (end_ms - _total(_merge([*caller, *agent, *bot]))) / end_ms if end_ms else 0.0
    checks.append(CheckResult("talk_over", "pass" if talk_over <= rules.max_talk_over_ratio else "fail",
                              f"{talk_over:.1%} of the call"))
    checks.append(CheckResult("silence", "pass" if silence <= rules.max_silence_ratio else "fail",
                              f"{silence:.1%} of the call"))

    for name, key in (("calling_window", "call_window_ok"), ("attempt_caps", "attempt_caps_ok")):
        value = record.meta.get(key)
        checks.append(CheckResult(name, "na" if value is None else "pass" if value else "fail",
                                  "" if value is None else f"{key}={bool(value)}"))

    applicable = [c for c in checks if c.status != "na"]
    weight = sum(CHECK_WEIGHTS[c.name] for c in applicable)
    passed = sum(CHECK_WEIGHTS[c.name] for c in applicable if c.status == "pass")
    score = round(100 * passed / weight) if weight else 100
    outcome = record.meta.get("outcome") or {}
    return Scorecard(
        call_id=record.call_id, score=score, checks=tuple(checks),
        disposition=str(outcome.get("disposition", "")) or "unknown",
        started_at=str(record.meta.get("started_at", "")), duration_ms=end_ms,
        promise=promise is not None, handoff_reasons=tuple(str(e.data.get("reason", "")) for e in handoffs),
        talk_over_ratio=talk_over, silence_ratio=silence,
        metrics={"caller_speech_ms": _total(caller), "bot_speech_ms": _total(bot),
                 "agent_speech_ms": _total(agent), "debt_mentions": debt_mentions},
    )
