"""The dialogue engine: walks a call script turn by turn. Pure: no I/O, no clock.

Events in (start, caller turn, DTMF key, silence, voicemail, hang-up), actions out
(``Say``, ``StateChanged``, ``Understood``, ``HandOff``, ``EndCall``). Routing of a caller
turn in an asking state, first match wins:

1. urgent intents in this order: critical, distress, cease_contact, request_agent, dispute,
   wrong_party, already_paid, payment_plan (state route, else ``[global.on]``);
2. the state's capture (promise pieces -> promise_ok / promise_outside_policy /
   promise_need_amount / promise_need_date; confirm -> promise_confirmed / promise_rejected;
   callback / paid details -> captured);
3. callback with a day (callback_dated), then callback, promise_to_pay, refuse, ask_info,
   deny, affirm, none; then "*";
4. otherwise no-match: rephrase, and the ``max_no_match``-th consecutive miss in a state
   goes to the script's no-match state (a hand-off). Silence works the same way with the
   state's ``max_no_input`` and the no-input state.

A promise is inside policy when ``today <= date <= today + latest_promise_days`` and
``amount >= min_promise_fraction * amount_due``.
"""
from __future__ import annotations

import math
import re
from collections import Counter, deque
from datetime import date, timedelta
from types import MappingProxyType
from typing import Callable

from voicebot import nlu
from voicebot.dialogue.account import Account
from voicebot.dialogue.actions import Action, EndCall, HandOff, Outcome, Say, StateChanged, Understood
from voicebot.dialogue.lint import PREVIOUS
from voicebot.dialogue.script import DEBT_SLOTS, SLOT_RE, Script, State
from voicebot.dialogue.speech import say_amount, say_date, say_phone
from voicebot.nlu import Understanding

UnderstandFn = Callable[[str, str, date], Understanding]

URGENT: tuple[str, ...] = (
    "critical", "distress", "cease_contact", "request_agent", "dispute", "wrong_party",
    "already_paid", "payment_plan",
)
ORDINARY: tuple[str, ...] = ("promise_to_pay", "refuse", "ask_info", "deny", "affirm", "none")
_HANDOFF_DISPOSITION = {
    "dispute": "dispute", "distress": "hardship", "critical_distress": "hardship",
    "payment_plan": "plan_requested",
}
# Sentence ends: western punctuation followed by space, or CJK full-width punctuation.
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|(?<=[。？！])")
_MAX_HOPS = 20
# Intents that answer a question whole: a partial holding one may end the turn early.
_COMPLETE_INTENTS = frozenset({"affirm", "deny", "request_agent", "wrong_party", "already_paid",
                               "cease_contact", "refuse", "callback"})


def static_segments(script: Script) -> list[str]:
    """Every slot-free sentence any prompt of ``script`` can speak: the audio worth rendering
    once at startup (the same split as ``Say.segments``)."""
    out: set[str] = set()
    for state in script.states.values():
        for _field, template in state.texts():
            for sentence in _SENTENCE_END.split(template or ""):
                if sentence.strip() and SLOT_RE.search(sentence) is None:
                    out.add(sentence.strip())
    return sorted(out)


class Dialogue:
    """One call's conversation. Not thread-safe; one instance per call.

    ``understand`` turns a caller's words into an Understanding (default: the NLU for the
    script's language). Public attributes: ``state`` (current state name), ``verified``
    (right party confirmed), ``finished`` (EndCall/HandOff emitted or hung up)."""

    def __init__(
        self,
        script: Script,
        account: Account,
        today: date,
        *,
        min_promise_fraction: float = 0.5,
        latest_promise_days: int = 14,
        max_no_match: int = 2,
        understand: UnderstandFn = nlu.understand,
    ) -> None:
        if not 0 <= min_promise_fraction <= 1:
            raise ValueError(f"min_promise_fraction must be 0..1, got {min_promise_fraction}")
        if latest_promise_days < 0 or max_no_match < 1:
            raise ValueError("latest_promise_days must be >= 0 and max_no_match >= 1")
        self.script = script
        self.account = account
        self.today = today
        self.lang = script.lang
        self.min_amount = math.ceil(account.amount_due * min_promise_fraction * 100) / 100
        self.latest_date = today + timedelta(days=latest_promise_days)
        self.max_no_match = max_no_match
        self._understand = understand
        self.state = ""
        self.verified = False
        self.finished = False
        self._started = False
        self._no_match = 0
        self._no_input = 0
        self._visits: Counter[str] = Counter()
        self._last_ask = ""
        self._turns: deque[tuple[str, str]] = deque(maxlen=8)
        self._flags: set[str] = set()
        self._notes: list[str] = []
        self._disposition = ""
        self._handoff_reason = ""
        self._opt_out = False
        self._callback_at: date | None = None
        self._promise_amount: float | None = None
        self._promise_date: date | None = None
        self._promise_confirmed = False

    # ------------------------------------------------------------------ public API

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            disposition=self._disposition,
            promise_amount=self._promise_amount,
            promise_date=self._promise_date,
            promise_confirmed=self._promise_confirmed,
            handoff_reason=self._handoff_reason,
            opt_out=self._opt_out,
            callback_at=self._callback_at,
            notes="; ".join(self._notes),
            verified=self.verified,
        )

    def start(self) -> list[Action]:
        """The opening lines. Call once, before anything else."""
        if self._started:
            raise RuntimeError("dialogue already started")
        self._started = True
        return self._go(self.script.start)

    def on_caller_turn(self, text: str) -> list[Action]:
        """A final transcript or typed turn. Blank text is ignored (no actions)."""
        self._check_started()
        text = text.strip()
        if self.finished or not text:
            return []
        return self._turn(self._understand(text, self.lang, self.today), text)

    def answer_complete(self, partial: str) -> bool:
        """Whether a partial transcript already holds a whole answer (a yes or no, a promise
        with both amount and date, a request for a person...), so the turn may end after a
        short silence instead of the full endpoint. Never for distress or a dispute: those
        callers are let finish."""
        if not self._started or self.finished or not partial.strip():
            return False
        u = self._understand(partial, self.lang, self.today)
        if u.critical or {"distress", "dispute"} & set(u.intents):
            return False
        if "promise_to_pay" in u.intents:
            return u.amount is not None and u.date is not None
        return bool(_COMPLETE_INTENTS & set(u.intents))

    def on_dtmf(self, digit: str) -> list[Action]:
        """A key press, read as the intent the state (or ``[global.dtmf]``) maps it to."""
        self._check_started()
        if self.finished:
            return []
        state = self.script.states[self.state]
        intent = state.dtmf.get(digit) or self.script.global_dtmf.get(digit) or "none"
        return self._turn(Understanding(text=f"dtmf:{digit}", intents=(intent,)), f"[dtmf {digit}]")

    def on_no_input(self) -> list[Action]:
        """The caller said nothing for ``no_input_timeout_s()``."""
        self._check_started()
        state = self.script.states[self.state]
        if self.finished or state.kind != "ask":
            return []
        self._no_input += 1
        if self._no_input >= state.max_no_input:
            self._notes.append("no answer")
            return self._go(self.script.no_input_state)
        template = state.no_input_prompt or (state.reprompts[0] if state.reprompts else state.prompt)
        return [self._say(state, template, f"{state.name}.no_input")]

    def on_voicemail(self) -> list[Action]:
        """An answering machine picked up: leave the limited-content message and end. May open
        the call (the PBX's answering-machine detection said so before anything was said)."""
        self._started = True
        if self.finished:
            return []
        return self._go(self.script.voicemail_state)

    def on_hangup(self) -> Outcome:
        """The caller hung up. Disposition "dropped" unless already decided."""
        if not self.finished:
            self.finished = True
            if not self._disposition:
                self._disposition = "ptp" if self._promise_confirmed else "dropped"
        return self.outcome

    def grammar(self) -> list[str] | None:
        """Short answers expected in the current state (for grammar recognition), or None."""
        state = self.script.states.get(self.state)
        if state is None or state.kind != "ask" or state.grammar is None or self.finished:
            return None
        return list(state.grammar)

    def no_input_timeout_s(self) -> float:
        state = self.script.states.get(self.state)
        return state.no_input_timeout_s if state is not None else 6.0

    # ------------------------------------------------------------------ routing

    def _check_started(self) -> None:
        if not self._started:
            raise RuntimeError("call start() first")

    def _turn(self, u: Understanding, text: str) -> list[Action]:
        self._turns.append(("caller", text))
        self._flags.update(i for i in u.intents if i != "none")
        if u.critical:
            self._flags.add("critical")
        self._no_input = 0
        actions: list[Action] = [Understood(u)]
        state = self.script.states[self.state]
        if state.kind == "ask":
            actions += self._route(state, u)
        return actions

    def _target(self, state: State, key: str) -> str:
        if key in state.on:
            return state.on[key]
        if self.verified and key in self.script.global_on_verified:
            return self.script.global_on_verified[key]
        return self.script.global_on.get(key, "")

    def _route(self, state: State, u: Understanding) -> list[Action]:
        present = set(u.intents) | ({"critical", "distress"} if u.critical else set())
        if state.capture == "confirm" and "deny" in present:
            # "No, that's wrong" to a read-back corrects the promise; the next question (asked
            # again) still routes a real dispute to a person.
            present.discard("dispute")
        for key in URGENT:
            if key in present and (target := self._target(state, key)):
                if target == state.name and state.capture:
                    continue  # "I paid on Wednesday" while asked how they paid: the answer, not a new topic
                self._note(key, u)
                return self._go(target)
        if state.capture:
            event = self._capture(state, u, present)
            if event and (target := self._target(state, event)):
                return self._go(target)
        if "callback" in present:
            for key in ("callback_dated", "callback") if u.date else ("callback",):
                if target := self._target(state, key):
                    self._note("callback", u)
                    return self._go(target)
        for key in ORDINARY:
            if key in present and (target := self._target(state, key)):
                self._note(key, u)
                return self._go(target)
        if "*" in state.on:
            return self._go(state.on["*"])
        return self._miss(state)

    def _miss(self, state: State) -> list[Action]:
        self._no_match += 1
        if self._no_match >= self.max_no_match:
            self._notes.append("not understood")
            return self._go(self.script.no_match_state)
        template = state.reprompts[(self._no_match - 1) % len(state.reprompts)] if state.reprompts else state.prompt
        return [self._say(state, template, f"{state.name}.reprompt{self._no_match}")]

    def _capture(self, state: State, u: Understanding, present: set[str]) -> str:
        if state.capture == "callback":
            if u.date:
                self._callback_at = u.date
            self._notes.append(f"call back: {u.date.isoformat() if u.date else u.text}")
            return "captured"
        if state.capture == "paid":
            detail = ", ".join(x for x in (u.date.isoformat() if u.date else "", f"{u.amount:g}" if u.amount else "") if x)
            self._notes.append(f"payment details: {detail or u.text}")
            return "captured"
        has_piece = u.amount is not None or u.date is not None
        if has_piece and ("promise_to_pay" in present or present <= {"none", "affirm", "deny"}):
            if u.amount is not None:
                self._promise_amount = u.amount
            if u.date is not None:
                self._promise_date = u.date
            self._promise_confirmed = False
            return self._promise_event()
        if state.capture == "promise_amount" and "affirm" in present and "deny" not in present:
            self._promise_amount = self.account.amount_due
            return self._promise_event()
        if state.capture == "confirm":
            if "affirm" in present and "deny" not in present:
                self._promise_confirmed = True
                self._disposition = "ptp"
                self._notes.append(f"promise confirmed: {self._promise_amount:g} on {self._promise_date}")
                return "promise_confirmed"
            if "deny" in present:
                self._promise_amount = self._promise_date = None
                return "promise_rejected"
        if "promise_to_pay" in present:
            return self._promise_event()
        return ""

    def _promise_event(self) -> str:
        if self._promise_date is None:
            return "promise_need_date"
        if self._promise_amount is None:
            return "promise_need_amount"
        if not (self.today <= self._promise_date <= self.latest_date) or self._promise_amount < self.min_amount:
            self._notes.append(f"promise outside policy: {self._promise_amount:g} on {self._promise_date}")
            return "promise_outside_policy"
        return "promise_ok"

    def _note(self, key: str, u: Understanding) -> None:
        if key == "callback" and u.date:
            self._callback_at = u.date
        if key in ("already_paid", "dispute", "distress", "payment_plan", "refuse", "cease_contact", "wrong_party", "critical"):
            self._notes.append(key.replace("_", " "))

    # ------------------------------------------------------------------ states and lines

    def _go(self, name: str) -> list[Action]:
        actions: list[Action] = []
        for _ in range(_MAX_HOPS):
            if name == PREVIOUS:
                name = self._last_ask or self.script.start
            state = self.script.states[name]
            self._visits[name] += 1
            if state.kind == "ask" and self._visits[name] > state.max_visits:
                self._notes.append(f"going round in circles at {name}")
                name = self.script.no_match_state
                continue
            actions.append(StateChanged(self.state, name))
            self.state = name
            self._no_match = 0
            self._no_input = 0
            self.verified = self.verified or state.verified
            self._opt_out = self._opt_out or state.opt_out
            actions.append(self._say(state, state.prompt, f"{name}.prompt"))
            if state.kind == "say":
                name = state.next
                continue
            if state.kind == "ask":
                self._last_ask = name
            elif state.kind == "end":
                self.finished = True
                self._disposition = state.disposition
                actions.append(EndCall(state.disposition))
            else:
                self.finished = True
                self._handoff_reason = state.reason
                self._disposition = state.disposition or _HANDOFF_DISPOSITION.get(state.reason, "handoff")
                actions.append(HandOff(state.reason, self._summary(state.reason)))
            return actions
        raise RuntimeError(f"script {self.script.path} loops through say states at {name}")

    def _slots(self) -> dict[str, str]:
        a, lang = self.account, self.lang
        slots = {**self.script.slots, **a.extra}
        slots.update(
            name=a.name,
            first_name=a.name.split()[0] if lang == "en" and a.name.split() else a.name,
            lender=a.lender,
            amount=say_amount(a.amount_due, a.currency, lang),
            due_date=say_date(a.due_date, lang),
            callback_number=say_phone(a.callback_number, lang),
            min_amount=say_amount(self.min_amount, a.currency, lang),
            latest_date=say_date(self.latest_date, lang),
            promise_amount=say_amount(self._promise_amount, a.currency, lang) if self._promise_amount is not None else "",
            promise_date=say_date(self._promise_date, lang) if self._promise_date else "",
        )
        return slots

    def _say(self, state: State, template: str, prompt_id: str) -> Say:
        slots = self._slots()
        segments: list[tuple[str, bool]] = []
        for sentence in _SENTENCE_END.split(template):
            text = SLOT_RE.sub(lambda m: slots.get(m.group(1), ""), sentence).strip()
            if text:
                segments.append((text, SLOT_RE.search(sentence) is None))
        text = ("" if self.lang == "zh" else " ").join(t for t, _ in segments)
        self._turns.append(("bot", text))
        return Say(
            prompt_id=prompt_id,
            state=state.name,
            text=text,
            segments=tuple(segments),
            interruptible=state.interruptible,
            disclosure=state.disclosure,
            mentions_debt=state.mentions_debt or bool(set(SLOT_RE.findall(template)) & DEBT_SLOTS),
        )

    def _summary(self, reason: str) -> MappingProxyType[str, object]:
        summary: dict[str, object] = {
            "reason": reason,
            "account_id": self.account.account_id,
            "verified": self.verified,
            "state": self._last_ask,
            "promise": {
                "amount": self._promise_amount,
                "date": self._promise_date.isoformat() if self._promise_date else None,
                "confirmed": self._promise_confirmed,
            },
            "last_turns": [{"who": who, "text": text} for who, text in self._turns],
            "flags": sorted(self._flags),
            "notes": list(self._notes),
        }
        if self.verified:
            summary.update(amount_due=self.account.amount_due, currency=self.account.currency,
                           due_date=self.account.due_date.isoformat())
        return MappingProxyType(summary)
