"""English understanding of recogniser text: caller intents, amount, date, critical; agent flags.

Rules over data (``data/en/intents.toml``): each intent has weighted-free phrase patterns
(regexes at word boundaries); this module holds only the precedence rules between them,
which follow shared/data/README.md:

1. ``critical`` = a self-harm hint not inside a death idiom ("i'd rather die than pay" is
   refuse, "this debt is killing me" is distress); critical always adds ``distress``.
2. A relative reporting the borrower dead / in hospital / in jail is ``wrong_party`` only,
   unless the speaker shows their own distress beyond that event, speaks of it as recent, or
   acts as the borrower (promises, pays, asks for a plan) -- then it is ``distress``.
3. ``promise_to_pay`` needs a commitment not negated ("i won't pay", "you'll never see").
4. ``already_paid`` is vetoed by partial/hypothetical payment ("paid off the principal").
5. ``affirm`` / ``deny`` are whole-utterance answers ("yeah you got him", "no ma'am"),
   plus identity confirmations anywhere ("yes speaking and ...") and a leading "no i ...".
6. Nothing matched -> ``("none",)``; "none" is never combined.

The amount is reported only with promise_to_pay / already_paid / payment_plan; the date only
with those or callback, and already-paid lines (without a promise) resolve past days.
"""
from __future__ import annotations

import re
from datetime import date

from voicebot.nlu import INTENTS, Understanding
from voicebot.nlu.en_agent import agent_flags
from voicebot.nlu.en_dates import resolve_date
from voicebot.nlu.en_numbers import committed_amount
from voicebot.nlu.lexicon import compile_any, load_data

__all__ = ["understand", "agent_flags", "normalise"]

_DATA = load_data("en", "intents")
_FILLERS = frozenset(_DATA["normalise"]["fillers"])
_CONTRACTIONS: dict[str, str] = _DATA["normalise"]["contractions"]
_KEEP: dict[str, str] = _DATA["normalise"]["keep_phrases"]
_KEEP_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _KEEP) + r")\b")
_MULTIWORD = {k: v for k, v in _CONTRACTIONS.items() if " " in k}
_SINGLE = {k: v for k, v in _CONTRACTIONS.items() if " " not in k}
_MULTIWORD_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _MULTIWORD) + r")\b") if _MULTIWORD else None
_PUNCT = re.compile(r"[^a-z0-9'$,. ]+")
_P: dict[str, list[str]] = _DATA["patterns"]


def _rx(name: str) -> re.Pattern[str] | None:
    return compile_any(_P[name])


def _whole(name: str) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(f"(?:{p})" for p in _P[name]) + r")")


_SEARCH: dict[str, re.Pattern[str] | None] = {name: _rx(name) for name in (
    "critical", "critical_veto", "distress", "payment_plan", "promise_to_pay", "promise_negation",
    "already_paid", "already_paid_veto", "dispute", "request_agent", "wrong_party",
    "third_person_event", "recent_event", "callback", "refuse", "cease_contact",
    "affirm_anywhere", "deny_leading", "ask_info")}
_WHOLE = {name: _whole(name) for name in ("affirm_whole", "deny_whole", "none_whole")}
_AMOUNT_INTENTS = frozenset({"promise_to_pay", "already_paid", "payment_plan"})
_DATE_INTENTS = _AMOUNT_INTENTS | {"callback"}
_ORDER = {name: i for i, name in enumerate(INTENTS)}


def normalise(text: str) -> str:
    """Lowercase, straighten quotes, drop punctuation and fillers, restore contractions
    ("im" -> "i'm", "gonna" -> "going to"), single spaces."""
    text = text.lower().replace("\u2019", "'").replace("`", "'")
    text = _KEEP_RE.sub(lambda m: _KEEP[m.group(1)], _PUNCT.sub(" ", text))
    words = [w.strip(".,") for w in text.split()]
    words = [_SINGLE.get(w, w) for w in words if w and w not in _FILLERS]
    out = " ".join(words)
    if _MULTIWORD_RE is not None:
        out = _MULTIWORD_RE.sub(lambda m: _MULTIWORD[m.group(1)], out)
    return out


def _spans(name: str, text: str) -> list[tuple[int, int]]:
    rx = _SEARCH[name]
    return [] if rx is None else [m.span() for m in rx.finditer(text) if m.end() > m.start()]


def _inside(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(o[0] <= span[0] and span[1] <= o[1] for o in others)


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < o[1] and o[0] < span[1] for o in others)


def _critical(text: str) -> bool:
    vetoes = _spans("critical_veto", text)
    return any(not _overlaps(s, vetoes) for s in _spans("critical", text))


def _intents(text: str) -> tuple[set[str], bool]:
    found: set[str] = set()
    critical = _critical(text)
    if critical:
        found.add("distress")
    for name in ("dispute", "request_agent", "wrong_party", "callback", "refuse", "cease_contact", "ask_info",
                 "payment_plan"):
        if _spans(name, text):
            found.add(name)
    # 3. promise unless negated at the same place ("i can't pay it all but i'll send fifty").
    negations = _spans("promise_negation", text)
    if any(not _overlaps(s, negations) and not any(n[0] <= s[0] < n[1] + 1 for n in negations)
           for s in _spans("promise_to_pay", text)):
        found.add("promise_to_pay")
    # 4. already paid unless it is partial or hypothetical.
    vetoes = _spans("already_paid_veto", text)
    if any(not _overlaps(s, vetoes) for s in _spans("already_paid", text)):
        found.add("already_paid")
    # 2. relative reporting the borrower's death / hospital / jail.
    distress = _spans("distress", text)
    events = _spans("third_person_event", text)
    if events:
        own_distress = [s for s in distress if not _overlaps(s, events)]
        acts_as_borrower = bool(found & _AMOUNT_INTENTS)
        rest = text
        for a, b in sorted(events, reverse=True):
            rest = rest[:a] + rest[b:]
        recent = bool(_SEARCH["recent_event"] and _SEARCH["recent_event"].search(rest))
        if own_distress or acts_as_borrower or recent:
            found.add("distress")
        else:
            found.add("wrong_party")
    elif distress:
        found.add("distress")
    # 5. answers.
    if _WHOLE["affirm_whole"].fullmatch(text) or _spans("affirm_anywhere", text):
        found.add("affirm")
    if _WHOLE["deny_whole"].fullmatch(text) or _spans("deny_leading", text):
        found.add("deny")
    if "refuse" in found:
        found.discard("promise_to_pay")
    if _WHOLE["none_whole"].fullmatch(text) and not critical:
        return set(), False
    return found, critical


def understand(text: str, today: date) -> Understanding:
    """Understand one English caller turn (recogniser-style text) against ``today``."""
    norm = normalise(text)
    found, critical = _intents(norm)
    amount = committed_amount(norm.split()) if found & _AMOUNT_INTENTS else None
    day = None
    if found & _DATE_INTENTS:
        past = "already_paid" in found and "promise_to_pay" not in found
        day = resolve_date(norm, today, past=past)
    intents = tuple(sorted(found, key=_ORDER.__getitem__)) or ("none",)
    return Understanding(text=text, intents=intents, amount=amount, date=day, critical=critical)
