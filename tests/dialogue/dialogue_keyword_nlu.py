"""A tiny, real keyword understander for engine unit tests (English only).

Not the product NLU: just enough fixed phrases to drive the engine deterministically while
the real ``voicebot.nlu`` evolves. Same signature as ``voicebot.nlu.understand``."""
from __future__ import annotations

import re
from datetime import date, timedelta

from voicebot.nlu import Understanding

_RULES: tuple[tuple[str, str], ...] = (
    ("critical", r"\bend it all\b|\bdon't want to live\b"),
    ("distress", r"\blost my job\b|\bhospital\b"),
    ("cease_contact", r"\bstop calling\b"),
    ("request_agent", r"\b(real person|agent|human)\b"),
    ("dispute", r"\bdon't owe\b|\bnot my loan\b"),
    ("wrong_party", r"\bwrong number\b|\bnot here\b"),
    ("already_paid", r"\balready paid\b"),
    ("payment_plan", r"\binstal?lments?\b|\bpayment plan\b"),
    ("callback", r"\bcall (me )?back\b"),
    ("refuse", r"\bnot paying\b|\bwon't pay\b"),
    ("ask_info", r"\bhow much\b|\bwho is this\b"),
    ("promise_to_pay", r"\bi'll pay\b|\bi will pay\b|\bi can pay\b"),
    ("deny", r"^no\b|\bnope\b"),
    ("affirm", r"^(yes|yeah|correct|sure)\b"),
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def understand(text: str, lang: str, today: date) -> Understanding:
    t = text.lower().strip()
    critical = re.search(_RULES[0][1], t) is not None
    intents = [name for name, pattern in _RULES[1:] if re.search(pattern, t)]
    if critical:
        intents.insert(0, "distress")
    m = re.search(r"\$?(\d+(?:\.\d+)?)", t)
    amount = float(m.group(1)) if m else None
    day: date | None = None
    if "tomorrow" in t:
        day = today + timedelta(days=1)
    for index, name in enumerate(_WEEKDAYS):
        if name in t:
            day = today + timedelta(days=(index - today.weekday() - 1) % 7 + 1)
    if m := re.search(r"in (\d+) days", t):
        day = today + timedelta(days=int(m.group(1)))
        amount = None if amount == float(m.group(1)) else amount
    return Understanding(text=text, intents=tuple(intents) or ("none",), amount=amount, date=day, critical=critical)
