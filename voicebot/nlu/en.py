"""English understanding of recogniser text: caller intents, amount, date, critical; agent flags.

Rules over data (``data/en/intents.toml``): each intent has weighted-free phrase patterns
(regexes at word boundaries); this module holds only the precedence rules between them,
which follow shared/data/README.md:

1. ``critical`` = a self-harm hint not inside a death idiom ("i'd rather die than pay" is
   refuse, "this debt is killing me" is distress); critical always adds ``distress``.
2. A relative reporting the borrower dead / in hospital / in jail is ``wrong_party`` only,
   unless the speaker shows their own distress beyond that event, speaks of it as recent, or
   acts as the borrower (promises, pays, asks for a plan) -- then it is ``distress``.
3. ``promise_to_pay`` needs a commitment not negated ("i won't pay", "you'll never see"); a
   refusal cancels both a promise and a plan ("i'm skint and even if i wasn't i wouldn't pay").
4. ``already_paid`` is vetoed by partial/hypothetical payment ("paid off the principal").
5. ``affirm`` / ``deny`` are whole-utterance answers ("yeah you got him", "no ma'am"),
   plus identity confirmations anywhere ("yes speaking and ...") and a leading "no i ...".
6. Nothing matched -> ``("none",)``; "none" is never combined.
7. ``callback`` words inside a ban or a third party's whereabouts are not a callback ("don't
   ring me again", "he's at work right now"); a bare "no that's not right" is deny, not dispute.
8. A line with no other intent (a ban on calls aside) but a money amount and a day is a
   promise ("two fifty on the tenth", "two hundred on wednesday now stop calling me"); an
   instalment offer with no day ("i can only manage twenty a week") is payment_plan, not also
   a promise, unless a firm promise is worded ("i'll pay ...").
   With a day already past ("forty five pounds last sunday") the bare amount is already_paid.
9. ``payment_plan`` words inside payment history ("i've been paying forty a week") or inside a
   request for time that leads into a promise ("give me till monday and i'll pay") are no plan.

The amount is reported only with promise_to_pay / already_paid / payment_plan; the date only
with those or callback, and already-paid lines (without a promise) resolve past days.
"""
from __future__ import annotations

import re
from datetime import date

from voicebot.nlu import INTENTS, Understanding
from voicebot.nlu.classifier import refine
from voicebot.nlu.en_agent import agent_flags
from voicebot.nlu.en_dates import resolve_date
from voicebot.nlu.en_numbers import committed_amount
from voicebot.nlu.lexicon import alternation, fast_compile, load_data, required_literal, split_unanchored
from voicebot.nlu.safety import assess

__all__ = ["understand", "agent_flags", "normalise"]

_DATA = load_data("en", "intents")
_FILLERS = frozenset(_DATA["normalise"]["fillers"])
_CONTRACTIONS: dict[str, str] = _DATA["normalise"]["contractions"]
_KEEP: dict[str, str] = _DATA["normalise"]["keep_phrases"]
_KEEP_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _KEEP) + r")\b")
_MULTIWORD = {k: v for k, v in _CONTRACTIONS.items() if " " in k}
_SINGLE = {k: v for k, v in _CONTRACTIONS.items() if " " not in k}
# The keys as a first-character trie behind a look-ahead on their first characters (the same
# matches; speed).
_MULTIWORD_RE = fast_compile(r"\b(?:" + alternation([re.escape(k) for k in _MULTIWORD]) + r")\b") if _MULTIWORD else None
_PUNCT = re.compile(r"[^a-z0-9'$,. ]+")
_P: dict[str, list[str]] = _DATA["patterns"]


_CAPTURE = re.compile(r"(?<!\\)\((?!\?)")


def _rx(name: str) -> re.Pattern[str] | None:
    """Any of the patterns, starting at a word start. Normalised text has single spaces, so
    "start of text or after a space" is a word start; unlike a leading ``\\b`` it is not also
    true at word ends, which halves the positions where every alternative is tried (speed)."""
    if not _P[name]:
        return None
    # Capturing groups are made non-capturing (nothing reads them): then the regex engine can
    # skip an alternative on its first character instead of entering it, several times faster.
    # The alternatives are arranged as a first-character trie (lexicon.alternation: the same
    # matches, each distinct first character compared once instead of once per alternative).
    body = alternation([_CAPTURE.sub('(?:', p) for p in _P[name]])
    return re.compile(r"(?<![^ ])(?:" + body + r")\b")


def _lean(name: str) -> tuple[tuple[str, ...], re.Pattern[str] | None] | None:
    """For a pattern with alternatives that may start with any character ("\\w*ty a week", tried
    at every word start, most of the pattern's cost): the literal each of them needs (" a "),
    and the pattern without them (None: nothing left). Where a line holds none of those
    literals, those alternatives cannot match, so the lean pattern finds exactly the same
    matches. None when there are no such alternatives or one of them needs no literal."""
    anchored, anywhere = split_unanchored([_CAPTURE.sub('(?:', p) for p in _P[name]])
    needs = tuple(required_literal(a) for a in anywhere)
    if not anywhere or not all(needs):
        return None
    return needs, re.compile(r"(?<![^ ])(?:" + alternation(anchored) + r")\b") if anchored else None


def _whole(name: str) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(f"(?:{p})" for p in _P[name]) + r")")


_SEARCH: dict[str, re.Pattern[str] | None] = {name: _rx(name) for name in (
    "critical", "critical_veto", "distress", "payment_plan", "payment_plan_veto", "promise_to_pay", "promise_negation",
    "already_paid", "already_paid_veto", "dispute", "request_agent", "wrong_party",
    "third_person_event", "recent_event", "callback", "refuse", "cease_contact",
    "affirm_anywhere", "deny_leading", "ask_info", "promise_strong", "bare_past")}
_LEAN = {name: lean for name in _SEARCH if (lean := _lean(name)) is not None}
_WHOLE = {name: _whole(name) for name in ("affirm_whole", "deny_whole", "none_whole")}
# Patterns that match in few lines, screened by one regex of all their alternatives: where it
# finds nothing, none of them can match (each is the same word-start anchored alternation),
# so one search stands for ten. Where it finds something, each is searched as before.
_RARE = frozenset({"critical", "request_agent", "wrong_party", "third_person_event", "refuse",
                   "cease_contact", "affirm_anywhere", "deny_leading", "ask_info", "callback"})
_RARE_RX = re.compile(r"(?<![^ ])(?:" + alternation(
    [_CAPTURE.sub('(?:', p) for name in sorted(_RARE) for p in _P[name]]) + r")\b")
_PER_PERIOD = re.compile(r"\b(?:(?:a|per|every|each) (?:week|month|fortnight)|weekly|monthly|fortnightly)\b")
# "i can't pay it all but two fifty on friday": a promise after the refusal of the whole.
_BUT = re.compile(r"\b(but|though|although|however|except)\b")
_KEEP_WHEN_CRITICAL = frozenset({"distress", "request_agent", "cease_contact", "promise_to_pay"})
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
        out = _MULTIWORD_RE.sub(lambda m: _MULTIWORD[m.group()], out)
    return out


def _regex(name: str, text: str) -> re.Pattern[str] | None:
    """The regex of pattern ``name`` for ``text``: its lean form where that is exact (_lean)."""
    if name not in _LEAN:
        return _SEARCH[name]
    needs, lean = _LEAN[name]
    return _SEARCH[name] if any(need in text for need in needs) else lean


def _spans(name: str, text: str, skip: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Non-empty matches of pattern ``name``; none when ``name`` is in ``skip`` (the caller
    has proved it cannot match)."""
    if name in skip:
        return []
    rx = _regex(name, text)
    # Most patterns match nothing in most lines: one search() answers that for less than
    # finditer() and a list; the spans are listed only when there is a match.
    if rx is None or rx.search(text) is None:
        return []
    return [m.span() for m in rx.finditer(text) if m.end() > m.start()]


def _has(name: str, text: str, skip: frozenset[str] = frozenset()) -> bool:
    """``bool(_spans(name, text, skip))``, without listing the spans."""
    if name in skip:
        return False
    rx = _regex(name, text)
    if rx is None:
        return False
    m = rx.search(text)
    return m is not None and (m.end() > m.start() or bool(_spans(name, text)))


def _inside(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(o[0] <= span[0] and span[1] <= o[1] for o in others)


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < o[1] and o[0] < span[1] for o in others)


def _critical(text: str, skip: frozenset[str] = frozenset()) -> bool:
    hits = _spans("critical", text, skip)
    if not hits:  # the veto search is skipped on the common, harmless line
        return False
    vetoes = _spans("critical_veto", text)
    return any(not _overlaps(s, vetoes) for s in hits)


def _intents(text: str) -> tuple[set[str], bool]:
    found: set[str] = set()
    skip = _RARE if _RARE_RX.search(text) is None else frozenset()
    critical = _critical(text, skip)
    if critical:
        found.add("distress")
    blockers: list[tuple[int, int]] = []
    for name in ("dispute", "request_agent", "wrong_party", "refuse", "cease_contact", "ask_info"):
        if name in ("wrong_party", "cease_contact"):
            spans = _spans(name, text, skip)
            if spans:
                found.add(name)
                blockers += spans
        elif _has(name, text, skip):
            found.add(name)
    # 9. plan words inside payment history or a request for time before a promise are no plan.
    if _has("payment_plan", text):
        plan_vetoes = _spans("payment_plan_veto", text)
        if not plan_vetoes or any(not _inside(s, plan_vetoes) for s in _spans("payment_plan", text)):
            found.add("payment_plan")
    # "don't ring me again", "he's at work right now": the callback words belong to a ban or
    # to a third party's whereabouts, not to a request to ring back.
    if any(not _overlaps(s, blockers) for s in _spans("callback", text, skip)):
        found.add("callback")
    # 3. promise unless negated at the same place ("i can't pay it all but i'll send fifty").
    promises = _spans("promise_to_pay", text)
    negations = _spans("promise_negation", text) if promises else []
    if any(not _overlaps(s, negations) and not any(n[0] <= s[0] < n[1] + 1 for n in negations)
           for s in promises):
        found.add("promise_to_pay")
    # 4. already paid unless it is partial or hypothetical.
    paid = _spans("already_paid", text)
    vetoes = _spans("already_paid_veto", text) if paid else []
    if any(not _overlaps(s, vetoes) for s in paid):
        found.add("already_paid")
    # 2. relative reporting the borrower's death / hospital / jail.
    distress = _spans("distress", text)
    events = _spans("third_person_event", text, skip)
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
    if _WHOLE["affirm_whole"].fullmatch(text) or _has("affirm_anywhere", text, skip):
        found.add("affirm")
    if _WHOLE["deny_whole"].fullmatch(text):
        found.add("deny")
        found.discard("dispute")  # a bare "no that's not right" answers a question
    elif _has("deny_leading", text, skip):
        found.add("deny")
    if "refuse" in found:  # a refusal is neither a promise nor a plan ("i'm skint and i wouldn't pay anyway")
        found.discard("promise_to_pay")
        found.discard("payment_plan")
    if _WHOLE["none_whole"].fullmatch(text) and not critical:
        return set(), False
    return found, critical


def understand(text: str, today: date) -> Understanding:
    """Understand one English caller turn (recogniser-style text) against ``today``."""
    norm = normalise(text)
    found, critical = _intents(norm)
    if not critical and assess(norm, "en").critical:  # recall-leaning cue layer (safety.py)
        found, critical = (found - {"none"}) | {"distress"}, True
    tokens = norm.split()
    if not found - {"affirm", "cease_contact", "ask_info"}:
        # A bare amount with a day ("two fifty on the tenth", "twelve hundred by wednesday")
        # answers "how much and when": a promise even without a verb, also when the caller
        # adds "and stop calling me" ("fine two hundred on wednesday now stop ringing").
        negated = _spans("promise_negation", norm)
        if negated and not _BUT.search(norm, negated[-1][1]):
            pass  # "i can't pay a hundred now": an amount and a day, refused
        elif committed_amount(tokens) is not None and resolve_date(norm, today) is not None:
            # ... unless the day is behind us ("forty five pounds last sunday"): a payment made.
            found.add("already_paid" if _SEARCH["bare_past"].search(norm) else "promise_to_pay")  # type: ignore[union-attr]
    found, critical = refine(found, critical, norm, "en")  # trained model adds recall (classifier.py)
    if critical:
        # A self-harm hint outweighs the rest ("you won't need to call again after this weekend"
        # is no callback): distress, a wish for a person, a plea to stop and a promise stay.
        found &= _KEEP_WHEN_CRITICAL
    amount = committed_amount(tokens) if found & _AMOUNT_INTENTS else None
    day = None
    if found & _DATE_INTENTS:
        past = "already_paid" in found and "promise_to_pay" not in found
        day = resolve_date(norm, today, past=past)
    if day is None and {"promise_to_pay", "payment_plan"} <= found and _PER_PERIOD.search(norm) \
            and not _SEARCH["promise_strong"].search(norm):  # type: ignore[union-attr]
        # "i can only manage twenty a week" offers an instalment; it fixes no payment.
        found.discard("promise_to_pay")
    intents = tuple(sorted(found, key=_ORDER.__getitem__)) or ("none",)
    return Understanding(text=text, intents=intents, amount=amount, date=day, critical=critical)
