"""Korean language understanding (not scored; the Korean call script relies on it).

Lexicon-driven (``voicebot/nlu/data/ko/caller.toml``): each intent fires when one of its
patterns matches the normalised text (spaces and punctuation removed). Amounts read Arabic
or Sino-Korean numerals before 원 (오만원 = 50000, 삼십만 원 = 300000, 만 오천원 = 15000,
10만원 = 100000). Dates: 오늘, 내일, 모레, 글피, 어제, 그저께, X요일 / 이번 주 / 다음 주 X요일
(the next such weekday after today), N일 / 다음 달 N일, 월말, N일 후, 일주일 후, N주 후.
"""
from __future__ import annotations

import calendar
import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from voicebot.nlu import AGENT_FLAGS, Understanding

DATA_DIR = Path(__file__).parent / "data" / "ko"
_PUNCT_RE = re.compile(r"[\s,.?!~…\"'()]+")
_KO_NUM = "영공일이삼사오육륙칠팔구십백천만억"
_AMOUNT_RE = re.compile(rf"([0-9][0-9,]*(?:\.[0-9]+)?[십백천만억]*|[{_KO_NUM}]+)원")
_WEEKDAYS = {"월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6}
_PAY_INTENTS = frozenset({"promise_to_pay", "already_paid", "payment_plan"})


@dataclass(frozen=True, slots=True)
class _Lexicon:
    digits: dict[str, int]
    units: dict[str, int]
    intents: tuple[tuple[str, re.Pattern[str]], ...]
    critical: re.Pattern[str]
    agent: tuple[tuple[str, re.Pattern[str]], ...]


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    with open(DATA_DIR / "caller.toml", "rb") as fh:
        data = tomllib.load(fh)
    return _Lexicon(
        digits=dict(data["numbers"]["digits"]),
        units=dict(data["numbers"]["units"]),
        intents=tuple((name, _alternation(p)) for name, p in data["intents"].items()),
        critical=_alternation(data["intents"]["critical"]),
        agent=tuple((flag, _alternation(data["agent"][flag])) for flag in AGENT_FLAGS),
    )


def parse_korean_number(text: str) -> float:
    """Value of an Arabic or Sino-Korean numeral (``삼십만`` -> 300000, ``10만`` -> 100000).

    Raises ValueError for text that is not a numeral."""
    lex = _lexicon()
    text = text.replace(",", "")
    match = re.match(r"[0-9]+(?:\.[0-9]+)?", text)
    total = 0.0
    section = 0.0
    digit: float | None = float(match.group()) if match else None
    for ch in text[match.end() if match else 0:]:
        if ch in lex.digits:
            digit = float(lex.digits[ch])
        elif ch in ("십", "백", "천"):
            section += (1.0 if digit is None else digit) * lex.units[ch]
            digit = None
        elif ch in ("만", "억"):
            block = section + (digit or 0.0)
            total += (block or 1.0) * lex.units[ch]
            section, digit = 0.0, None
        else:
            raise ValueError(f"not a Korean numeral: {text!r}")
    return total + section + (digit or 0.0)


def find_amount(norm: str) -> float | None:
    """First amount in won in normalised text, or None."""
    for match in _AMOUNT_RE.finditer(norm):
        try:
            return parse_korean_number(match.group(1))
        except ValueError:
            continue
    return None


def _next_weekday(today: date, wanted: int, past: bool) -> date:
    if past:
        return today - timedelta(days=(today.weekday() - wanted) % 7 or 7)
    return today + timedelta(days=(wanted - today.weekday()) % 7 or 7)


def find_date(norm: str, today: date, past: bool = False) -> date | None:
    """The day fixed by normalised Korean text (see module docstring), or None."""
    last_day = calendar.monthrange(today.year, today.month)[1]
    num = rf"[0-9]+|[{_KO_NUM}]+"
    if match := re.search(rf"({num})(?:일|주)(?:후|뒤|이내)", norm):
        unit_days = 7 if norm[match.end(1)] == "주" else 1
        try:
            return today + timedelta(days=int(parse_korean_number(match.group(1))) * unit_days)
        except ValueError:
            return None
    if "일주일후" in norm or "일주일뒤" in norm:
        return today + timedelta(days=7)
    if "월말" in norm or "말일" in norm:
        return today.replace(day=last_day)
    if match := re.search(r"([월화수목금토일])요일", norm):
        return _next_weekday(today, _WEEKDAYS[match.group(1)], past)
    if match := re.search(rf"(다음달)?({num})일(?!주)", norm):
        try:
            day_num = int(parse_korean_number(match.group(2)))
        except ValueError:
            day_num = 0
        if 1 <= day_num <= 31:
            if match.group(1) or (day_num <= today.day and not past):
                nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                return nxt.replace(day=min(day_num, calendar.monthrange(nxt.year, nxt.month)[1]))
            if past and day_num > today.day:
                return None
            return today.replace(day=day_num)
    for word, offset in (("글피", 3), ("모레", 2), ("내일", 1), ("그저께", -2), ("그제", -2),
                         ("어제", -1), ("오늘", 0), ("이따", 0), ("아까", 0)):
        if word in norm:
            return today + timedelta(days=offset)
    return None


def understand(text: str, today: date) -> Understanding:
    """Understand one Korean caller utterance against ``today``."""
    lex = _lexicon()
    norm = _PUNCT_RE.sub("", text.lower())
    intents = {name for name, pattern in lex.intents if name != "critical" and pattern.search(norm)}
    critical = bool(lex.critical.search(norm))
    if critical:
        intents.add("distress")
    if "already_paid" in intents:
        intents.discard("promise_to_pay")
    if "refuse" in intents:
        intents.discard("promise_to_pay")
    if "affirm" in intents and "deny" in intents:
        intents.discard("affirm")
    if "wrong_party" in intents:
        intents.discard("distress")
    if not intents:
        intents.add("none")
    amount = find_amount(norm) if intents & _PAY_INTENTS else None
    when = None
    if intents & (_PAY_INTENTS | {"callback"}):
        when = find_date(norm, today, past="already_paid" in intents)
    return Understanding(text=text, intents=tuple(sorted(intents)), amount=amount, date=when,
                         critical=critical)


def agent_flags(text: str) -> tuple[str, ...]:
    """Compliance flags for one Korean agent utterance (simple lexicon)."""
    norm = _PUNCT_RE.sub("", text.lower())
    return tuple(flag for flag, pattern in _lexicon().agent if pattern.search(norm))
