"""Spoken English numbers and the committed amount.

``find_numbers(tokens)`` reads every number in a token list: "two hundred and fifty" = 250,
colloquial "two fifty" / "five fifty" = 250 / 550, "fifteen hundred" = 1500, "a grand" = 1000,
digits ("250", "$1,100", "2k"), slips before a scale word ("to hundred" = 200), halves before a
scale word ("one and a half grand" = 1500, "a grand and a half" = 1500), and years after "in",
"since", ... ("back in twenty twenty two", "since two thousand and nineteen": flagged ``year``,
never money).
``committed_amount(tokens)`` picks the money the caller commits to, has paid or offers: it
skips counts of time or things ("twenty minutes", "four chunks"), history ("i only borrowed
five hundred"), phone-number runs, bare single digits, and gives up (None) on an
unrecoverable stutter ("to to twenty five"), and adds the pence or cents spoken after the
currency ("eighty five pounds and fifty pence" = 85.5). Word lists live in ``data/en/numbers.toml``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from voicebot.nlu.lexicon import load_data

_DATA = load_data("en", "numbers")
_UNITS: dict[str, int] = _DATA["units"]
_TEENS: dict[str, int] = _DATA["teens"]
_TENS: dict[str, int] = _DATA["tens"]
_SCALES: dict[str, int] = _DATA["scales"]
_ORDINALS: dict[str, int] = _DATA["ordinals"]
_SLIPS: dict[str, int] = _DATA["slips"]
_QUANTIFIERS: dict[str, int] = _DATA["quantifiers"]
_CONTEXT = _DATA["context"]
_CURRENCY = frozenset(_CONTEXT["currency"])
_COUNT_NOUNS = frozenset(_CONTEXT["count_nouns"])
_NON_COMMIT = frozenset(_CONTEXT["non_commit_before"])
_NON_COMMIT_WINDOW: int = _CONTEXT["non_commit_window"]
_MAJOR = frozenset(_CONTEXT["major_currency"])
_MINOR = frozenset(_CONTEXT["minor_currency"])
_YEAR_BEFORE = frozenset(_CONTEXT["year_before"])
_TIME_UNITS = frozenset(_CONTEXT["time_units"])
_HALF_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000, "k": 1000}
_DIGITS = re.compile(r"^\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(k)?$")
_ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A number read from ``tokens[start:end]``; ``ordinal`` for "fifteenth", "twenty second",
    "15th"; ``digit_run`` when it was a string of single digits (phone/card numbers); ``year``
    for a year after "in", "since", ... ("back in twenty twenty two")."""

    start: int
    end: int
    value: float
    ordinal: bool = False
    digit_run: bool = False
    year: bool = False


def _small(tokens: list[str], i: int) -> tuple[int, int, bool] | None:
    """1..99 (or an ordinal up to 31) at ``i``: (value, next index, is_ordinal)."""
    if i >= len(tokens):
        return None
    word = tokens[i]
    if word in _TENS:
        value = _TENS[word]
        if i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt in _UNITS and _UNITS[nxt] > 0 and nxt != "oh":
                return value + _UNITS[nxt], i + 2, False
            if nxt in _ORDINALS and _ORDINALS[nxt] < 10:
                return value + _ORDINALS[nxt], i + 2, True
        return value, i + 1, False
    if word in _TEENS:
        return _TEENS[word], i + 1, False
    if word in _UNITS and word != "oh":
        return _UNITS[word], i + 1, False
    if word in _ORDINALS:
        return _ORDINALS[word], i + 1, True
    return None


def _group(tokens: list[str], i: int) -> tuple[int, int] | None:
    """Below a thousand: "two hundred and fifty", "fifteen hundred", "a hundred and forty",
    "two fifty" (colloquial hundreds), "two oh five". Returns (value, next index)."""
    n = len(tokens)
    if i < n and tokens[i] in ("a", "an") and i + 1 < n and tokens[i + 1] == "hundred":
        value, j = 100, i + 2
    elif i < n and tokens[i] == "hundred":
        value, j = 100, i + 1
    elif i < n and tokens[i] in _SLIPS and i + 1 < n and tokens[i + 1] in ("hundred", "thousand", "grand"):
        if tokens[i + 1] != "hundred":
            return _SLIPS[tokens[i]], i + 1
        value, j = _SLIPS[tokens[i]] * 100, i + 2
    else:
        small = _small(tokens, i)
        if small is None or small[2]:
            return None
        value, j, _ = small
        if j < n and tokens[j] == "hundred":
            value, j = value * 100, j + 1
        elif value < 100 and j < n:
            # Colloquial hundreds: "five fifty" = 550, "two oh five" = 205, "twelve fifty" = 1250.
            if tokens[j] == "oh" and j + 1 < n and tokens[j + 1] in _UNITS:
                return value * 100 + _UNITS[tokens[j + 1]], j + 2
            nxt = _small(tokens, j)
            if nxt is not None and not nxt[2] and nxt[0] >= 10 and (value < 10 or tokens[j] in _TENS):
                if value >= 10 and j == i + 1 and tokens[i] in _TENS and tokens[j] in _TENS:
                    return value, j  # "twenty fifty" is too odd to trust as 2050 ("twenty seven fifty" = 2750)
                return value * 100 + nxt[0], nxt[1]
            return value, j
        else:
            return value, j
    # After "hundred": optional "and" plus 1..99 -- but not a count of time right after it
    # ("three hundred two days ago" is 300, then "two days ago").
    k = j + 1 if j < n and tokens[j] == "and" else j
    rest = _small(tokens, k)
    if rest is not None and not rest[2]:
        if k == j and rest[1] < n and tokens[rest[1]] in _TIME_UNITS:
            return value, j
        return value + rest[0], rest[1]
    return value, j


def _parse_at(tokens: list[str], i: int) -> NumberSpan | None:
    n = len(tokens)
    word = tokens[i]
    match = _DIGITS.match(word)
    if match:
        value = float(match.group(1).replace(",", "") + ("." + match.group(2) if match.group(2) else ""))
        j = i + 1
        if match.group(3):
            value *= 1000
        elif j < n and tokens[j] in _SCALES:
            value *= _SCALES[tokens[j]]
            j += 1
        return NumberSpan(i, j, value)
    match = _ORDINAL_DIGITS.match(word)
    if match:
        return NumberSpan(i, i + 1, float(match.group(1)), ordinal=True)
    if word in ("a", "an") and i + 1 < n and tokens[i + 1] in ("grand", "thousand", "k"):
        if tokens[i + 2:i + 5] == ["and", "a", "half"]:
            return NumberSpan(i, i + 5, 1500.0)  # "a grand and a half"
        # "a thousand two hundred" / "a thousand and fifty" continue like "one thousand ...".
        k = i + 3 if i + 2 < n and tokens[i + 2] == "and" else i + 2
        more = _group(tokens, k) if tokens[i + 1] == "thousand" and k < n else None
        if more is not None:
            return NumberSpan(i, more[1], 1000.0 + more[0])
        return NumberSpan(i, i + 2, 1000.0)
    if word in ("a", "an") and i + 1 < n and tokens[i + 1] in _QUANTIFIERS:
        j = i + 2 + (i + 2 < n and tokens[i + 2] == "of")
        if j < n and tokens[j] in _SCALES:
            return NumberSpan(i, j + 1, float(_QUANTIFIERS[tokens[i + 1]] * _SCALES[tokens[j]]))
        return None
    small = _small(tokens, i)
    if small is not None and small[2]:
        return NumberSpan(i, small[1], float(small[0]), ordinal=True)
    group = _group(tokens, i)
    if group is None:
        return None
    value, j = group
    if tokens[j:j + 3] == ["and", "a", "half"] and j + 3 < n and tokens[j + 3] in _HALF_SCALES:
        # "one and a half grand" = 1500, "two and a half thousand" = 2500
        return NumberSpan(i, j + 4, (value + 0.5) * _HALF_SCALES[tokens[j + 3]])
    if j < n and tokens[j] in ("thousand", "grand", "k"):
        value *= 1000
        j += 1
        k = j + 1 if j < n and tokens[j] == "and" else j
        more = _group(tokens, k) if k < n else None
        if more is not None:
            value += more[0]
            j = more[1]
    return NumberSpan(i, j, float(value))


# Every word _parse_at can start a number with (besides digits and "$"): a word outside this
# set is skipped without parsing (most words of a line; parsing them was the hot path).
_STARTERS = frozenset({"a", "an", "hundred", *_SLIPS, *_TENS, *_TEENS, *_UNITS, *_ORDINALS})


def find_numbers(tokens: list[str]) -> list[NumberSpan]:
    """Every number in ``tokens``, left to right, non-overlapping. A run of four or more
    single-digit words ("oh eight hundred five five five") is one ``digit_run`` span."""
    return list(_numbers(tuple(tokens)))


@lru_cache(maxsize=64)
def _numbers(words: tuple[str, ...]) -> tuple[NumberSpan, ...]:
    """:func:`find_numbers`, remembered for the last few lines: the amount and the date of a
    line read the same numbers."""
    tokens = list(words)
    spans: list[NumberSpan] = []
    i, n = 0, len(tokens)
    while i < n:
        word = tokens[i]
        if word not in _STARTERS and not word[:1].isdigit() and word[:1] != "$":
            i += 1
            continue
        j = i
        while j < n and tokens[j] in _UNITS:
            j += 1
        if j - i >= 4:
            spans.append(NumberSpan(i, j, float("nan"), digit_run=True))
            i = j
            continue
        span = _year_at(tokens, i) if i and tokens[i - 1] in _YEAR_BEFORE else None
        if span is None:
            span = _parse_at(tokens, i)
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end
    return tuple(spans)


def _year_at(tokens: list[str], i: int) -> NumberSpan | None:
    """A spoken year at ``i`` (the caller checked the word before): "twenty twenty two",
    "twenty nineteen", "two thousand and twenty", "2022"."""
    n, word = len(tokens), tokens[i]
    if word == "twenty" and i + 1 < n and (tokens[i + 1] in _TEENS or tokens[i + 1] in ("twenty", "thirty")):
        small = _small(tokens, i + 1)
        if small is not None and not small[2]:
            return NumberSpan(i, small[1], 2000.0 + small[0], year=True)
    if word == "two" or word[:1].isdigit():
        # "two thousand and twenty", "2022"; a bare "two thousand" stays money ("put in two thousand")
        span = _parse_at(tokens, i)
        if span is not None and not span.ordinal and 2001 <= span.value <= 2039 and span.value == int(span.value):
            return NumberSpan(span.start, span.end, span.value, year=True)
    return None


def _is_money(tokens: list[str], span: NumberSpan, spans: list[NumberSpan]) -> bool:
    if span.ordinal or span.digit_run or span.year:
        return False
    after = tokens[span.end] if span.end < len(tokens) else ""
    if after in _COUNT_NOUNS and not (after == "goes" and tokens[span.end + 1:span.end + 2] in (["out"], ["through"], ["over"])):
        return False  # "in two goes", but "four hundred goes out friday" is money
    if after == "ordinal" or (after in _ORDINALS and span.value < 10):
        return False
    before = tokens[max(0, span.start - _NON_COMMIT_WINDOW):span.start]
    if any(word in _NON_COMMIT for word in before):
        return False
    if span.start >= 2 and tokens[span.start - 1] in ("the", "on") and span.value <= 31 and after not in _CURRENCY:
        return False  # "on the sixteen" is a day of the month
    if span.value < 10 and after not in _CURRENCY:
        return False  # bare "one", "two": "one more time", "give me two secs"
    neighbours = [s for s in spans if s is not span and (s.end == span.start or s.start == span.end)]
    return not any(s.digit_run for s in neighbours)


def committed_amount(tokens: list[str]) -> float | None:
    """The first number in ``tokens`` that reads as money the caller commits to (or paid, or
    offers per instalment); None when there is none or the first candidate is an
    unrecoverable slip."""
    spans = find_numbers(tokens)
    for span in spans:
        if not _is_money(tokens, span, spans):
            continue
        # "to to twenty five": a doubled digit homophone before the number could be "two
        # twenty five" or "to twenty five"; the value can't be recovered.
        s = span.start
        if s >= 2 and tokens[s - 1] in _SLIPS and tokens[s - 2] in _SLIPS:
            return None
        return span.value + _minor_units(tokens, span, spans)
    return None


def _minor_units(tokens: list[str], span: NumberSpan, spans: list[NumberSpan]) -> float:
    """Pence or cents spoken after the currency word of ``span``: "eighty five pounds and fifty
    pence", "forty five dollars fifty cents", "twelve pounds fifty" (0.5); else 0."""
    j = span.end
    if j >= len(tokens) or tokens[j] not in _MAJOR:
        return 0.0
    k = j + 2 if j + 1 < len(tokens) and tokens[j + 1] == "and" else j + 1
    minor = next((s for s in spans if s.start == k), None)
    if minor is None or minor.ordinal or minor.digit_run or minor.year or not 1 <= minor.value <= 99:
        return 0.0
    after = tokens[minor.end] if minor.end < len(tokens) else ""
    if after in _MINOR or (k == j + 1 and (after == "" or after not in _COUNT_NOUNS and after not in _CURRENCY)):
        return minor.value / 100
    return 0.0
