"""Resolve the one day an English utterance fixes, against a reference day.

Conventions (shared/data/README.md): Friday / this Friday / next Friday -> the next Friday
strictly after today; "the fifteenth" -> its next occurrence; end of the month -> its last
day; in two weeks -> +14 days; "by friday" takes Friday; next week, payday, the weekend and
"around the 20th" fix no single day (None). With ``past=True`` (already-paid lines) weekdays
and days of the month resolve to their previous occurrence ("on wednesday" -> the Wednesday
before today), and so does a weekday "just gone" ("friday just gone"). "till" / "until" a day
is vague ("skint till christmas") unless time is asked for up to it ("give me till the tenth"
-> that day); a recurring day ("every friday") yields to a fixed start day ("starting this
friday"); "like" after "in" is a filler ("in like an hour"). The first dated expression wins;
two different days joined by "or" are vague. Word lists and phrases live in
``data/en/dates.toml``.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from voicebot.nlu.en_numbers import find_numbers
from voicebot.nlu.lexicon import alternation, load_data

_DATA = load_data("en", "dates")
_WEEKDAYS: list[str] = _DATA["weekdays"]
_WEEKDAY_INDEX = {name: i for i, name in enumerate(_WEEKDAYS)} | {
    alias: _WEEKDAYS.index(full) for alias, full in _DATA["weekday_aliases"].items()}
_MONTH_INDEX = {name: i + 1 for i, name in enumerate(_DATA["months"])}
_RELATIVE: dict[str, int] = _DATA["relative"]
_HOLIDAYS: dict[str, list[int]] = _DATA["holidays"]
_UNIT_DAYS: dict[str, int] = _DATA["unit_days"]
_VAGUE_BEFORE = frozenset(_DATA["vague"]["before"])
_VAGUE_AFTER: list[str] = _DATA["vague"]["after"]
# "till friday" is vague ("skint till christmas") unless someone asks for time up to that day
# ("give me till the tenth", "can you extend it until the eighteenth"): then it is that day.
_UNTIL = frozenset(_DATA["until"]["words"])
_UNTIL_ASK = frozenset(_DATA["until"]["asking"])
# "every friday starting this friday": a recurring day fixes nothing, the start day does.
_RECURRING = frozenset(_DATA["recurring"]["words"])
# "the first part on wednesday": an ordinal that counts things is no day of the month.
_ORDINAL_NOT_BEFORE = frozenset(_DATA["ordinal"]["not_before"])
# "like" is a filler ("in like an hour" = "in an hour"): dropped after these words.
_FILLER_LIKE = re.compile(r"\b(in|within|by|around|about|for|till|until|on) like\b")
# "now" alone is weak evidence: "i can't now but on friday" means Friday.
_WEAK = frozenset({"now", "right now"})


def _alternation(words: list[str]) -> str:
    """Longest first, as a first-character trie (lexicon.alternation: the same matches, each
    distinct first character compared once instead of once per word; speed)."""
    return alternation([re.escape(w) for w in sorted(words, key=len, reverse=True)])


_PHRASES = re.compile(
    r"\b(?P<phrase>" + _alternation(list(_RELATIVE) + list(_HOLIDAYS)) + r")\b"
    r"|\b(?P<eom>(?:the )?(?:end|last day) of (?:the |this )?month|month end|end of month)\b"
    r"|\b(?P<eonm>(?:the )?(?:end|last day) of next month)\b"
    r"|\b(?:in |within )?(?P<qty>a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"couple of|a couple of|\d+) (?P<unit>" + _alternation(list(_UNIT_DAYS)) + r")"
    r"(?P<rel> time| from now| from today|s time|'s time| ago)?\b"
    r"|\bin a (?P<unit1>" + _alternation(list(_UNIT_DAYS)) + r")\b"
    r"|\b(?P<mod>last |this |next |this coming |coming )?(?P<wd>" + _alternation(list(_WEEKDAY_INDEX)) + r")\b"
)
_WEEKDAY_ONLY = re.compile(r"(?:on )?(?:" + _alternation(list(_WEEKDAY_INDEX)) + r")")
_QTY = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
        "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _days_in(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, _days_in(year, month)))


def _day_of_month(today: date, dom: int, past: bool) -> date | None:
    """Next (or, with ``past``, previous) occurrence of day ``dom`` that exists."""
    if not 1 <= dom <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        if dom <= _days_in(year, month):
            candidate = date(year, month, dom)
            if (past and candidate <= today) or (not past and candidate > today):
                return candidate
        step = -1 if past else 1
        month += step
        if month == 0:
            year, month = year - 1, 12
        elif month == 13:
            year, month = year + 1, 1
    return None


def _month_day(today: date, month: int, dom: int, past: bool) -> date | None:
    for year in ((today.year, today.year - 1) if past else (today.year, today.year + 1)):
        if dom <= _days_in(year, month):
            candidate = date(year, month, dom)
            if (past and candidate <= today) or (not past and candidate >= today):
                return candidate
    return None


def _weekday(today: date, index: int, past: bool, mod: str) -> date:
    if past or mod.strip() == "last":
        back = (today.weekday() - index) % 7 or 7
        return today - timedelta(days=back)
    ahead = (index - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _ordinal_dates(tokens: list[str], today: date, past: bool) -> list[tuple[int, int, date | None]]:
    """Days of the month: "the fifteenth", "on the sixteen", "january second", "the 3rd of may".
    Returns (start token, end token, day) triples."""
    found: list[tuple[int, int, date | None]] = []
    for span in find_numbers(tokens):
        if span.digit_run or span.value != int(span.value):
            continue
        dom = int(span.value)
        before = tokens[span.start - 1] if span.start else ""
        after = tokens[span.end] if span.end < len(tokens) else ""
        month = _MONTH_INDEX.get(before)
        start = span.start - 1 if month else span.start
        if month is None and after == "of" and span.end + 1 < len(tokens):
            month = _MONTH_INDEX.get(tokens[span.end + 1])
        if month is None and after in _MONTH_INDEX:
            month = _MONTH_INDEX[after]
        if month is not None:
            found.append((start, span.end, _month_day(today, month, dom, past)))
        elif span.ordinal and after in _ORDINAL_NOT_BEFORE:
            continue
        elif span.ordinal and (before in ("the", "on", "by") or after in ("of",)):
            if after == "of" and span.end + 1 < len(tokens) and tokens[span.end + 1] in ("next", "the"):
                # "the first of next month", "the first of the month"
                nxt = tokens[span.end + 1] == "next"
                target = _add_months(today.replace(day=1), 1 if nxt else 0)
                if not nxt and dom <= today.day:
                    target = _add_months(target, 1)
                if dom <= _days_in(target.year, target.month):
                    found.append((span.start, span.end, target.replace(day=dom)))
                continue
            found.append((span.start, span.end, _day_of_month(today, dom, past)))
        elif not span.ordinal and before == "the" and span.start >= 2 and tokens[span.start - 2] in ("on", "by") \
                and dom <= 31 and after not in ("dollars", "bucks", "quid", "pounds"):
            found.append((span.start, span.end, _day_of_month(today, dom, past)))
    return found


def resolve_date(text: str, today: date, past: bool = False) -> date | None:
    """The single day ``text`` (normalised: lowercase, single spaces) fixes, or None."""
    if " like " in text:
        text = _FILLER_LIKE.sub(r"\1", text)
    tokens = text.split()
    # (char start, char end, day, weak)
    hits: list[tuple[int, int, date | None, bool]] = []
    ordinal_dates = _ordinal_dates(tokens, today, past)
    if ordinal_dates:  # token offsets, only where a day of the month needs them
        offsets = [m.start() for m in re.finditer(r"\S+", text)]
        ends = [m.end() for m in re.finditer(r"\S+", text)]
        for t0, t1, day in ordinal_dates:
            hits.append((offsets[t0], ends[t1 - 1], day, False))
    for m in _PHRASES.finditer(text):
        if any(h[0] <= m.start() < h[1] for h in hits):
            continue
        day: date | None
        if m.group("phrase"):
            phrase = m.group("phrase")
            if phrase in _RELATIVE:
                day = today + timedelta(days=_RELATIVE[phrase])
            elif phrase == "new year" and text[max(0, m.start() - 4):m.start()] == "the ":
                day = None  # "in the new year", "till the new year": a season, not a day
            else:
                month, dom = _HOLIDAYS[phrase]
                day = _month_day(today, month, dom, past)
            hits.append((m.start(), m.end(), day, phrase in _WEAK))
        elif m.group("eom"):
            hits.append((m.start(), m.end(), today.replace(day=_days_in(today.year, today.month)), False))
        elif m.group("eonm"):
            nxt = _add_months(today.replace(day=1), 1)
            hits.append((m.start(), m.end(), nxt.replace(day=_days_in(nxt.year, nxt.month)), False))
        elif m.group("unit") or m.group("unit1"):
            qty_word = m.group("qty") or "a"
            qty = int(qty_word) if qty_word.isdigit() else _QTY.get(qty_word)
            prefix = text[max(0, m.start() - 8):m.start()]
            # "give me two weeks and you'll have it" counts from today like "in two weeks"
            explicit = m.group(0).startswith(("in ", "within ")) or m.group("rel") or prefix.endswith(("in ", "give me ", "gimme "))
            if qty is None or not explicit or m.group(0).startswith("within "):
                hits.append((m.start(), m.end(), None, False))
                continue
            days = qty * _UNIT_DAYS[m.group("unit") or m.group("unit1")]
            sign = -1 if (m.group("rel") or "").strip() == "ago" else 1
            hits.append((m.start(), m.end(), today + timedelta(days=sign * days), False))
        elif m.group("wd"):
            index = _WEEKDAY_INDEX[m.group("wd")]
            tail = text[m.end():]
            gone = tail.startswith(" just gone") or tail.startswith(" that's just gone")
            day = _weekday(today, index, past or gone, m.group("mod") or "")
            # "saturday week" (British): a week after the coming Saturday.
            if not past and not gone and tail.startswith(" week") and not tail.startswith(" weeks"):
                day += timedelta(days=7)
            hits.append((m.start(), m.end(), day, False))
    if not hits:
        return None
    hits.sort()
    # Vague markers make the nearest date no single day.
    resolved: list[tuple[int, int, date | None, bool]] = []
    recurring: list[bool] = []
    for start, end, day, weak in hits:
        before_all = text[max(0, start - 64):start].split()  # the last few words are enough
        if start > 64 and before_all:
            before_all = before_all[1:]  # maybe cut mid-word
        before_words = [w for w in before_all[-3:] if w not in ("the", "on", "like")]
        after_text = text[end:].lstrip()
        vague = bool(before_words) and before_words[-1] in _VAGUE_BEFORE
        if vague and before_words[-1] in _UNTIL and _UNTIL_ASK.intersection(before_all[-6:-1]):
            vague = False  # "give me till the tenth"
        if vague or any(after_text == v or after_text.startswith(v + " ") for v in _VAGUE_AFTER):
            day = None
        resolved.append((start, end, day, weak))
        recurring.append(bool(before_words) and before_words[-1] in _RECURRING)
    # "sixty five every friday starting this friday": the recurring day yields to a fixed one.
    if len(resolved) > 1 and recurring[0] and resolved[0][2] is None:
        later = [h for h, rec in zip(resolved[1:], recurring[1:]) if h[2] is not None and not rec]
        if later:
            resolved = later
    strong = [h for h in resolved if not h[3]] or resolved
    # "wednesday the ninth": the day of the month names the date, the weekday only labels it.
    if len(strong) > 1 and text[strong[0][1]:strong[1][0]].strip() in ("the", "") \
            and _WEEKDAY_ONLY.fullmatch(text[strong[0][0]:strong[0][1]]):
        strong = strong[1:]
    first = strong[0]
    if len(strong) > 1 and first[2] is not None:
        between = text[first[1]:strong[1][0]].split()
        if between == ["or"] and strong[1][2] != first[2]:
            return None
    return first[2]
