"""Load language data files shipped under ``voicebot/nlu/data/<lang>/``.

Data (lexicons, patterns, number words) is TOML so linguists can review it like prose; code
only interprets it. Files are read once per process and cached, so per-utterance calls cost
nothing. A missing or malformed file is a packaging bug and raises at import time of the
language module, not mid-call.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def load_data(lang: str, name: str) -> dict[str, Any]:
    """Parse ``voicebot/nlu/data/<lang>/<name>.toml``. Raises FileNotFoundError/TOMLDecodeError."""
    path = resources.files("voicebot.nlu").joinpath("data", lang, f"{name}.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def compile_any(patterns: list[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``patterns`` (each a regex over normalised text, matched at
    word boundaries). ``None`` when the list is empty, so callers can skip the search."""
    if not patterns:
        return None
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")


_MAX_FIRST = 2000  # a first-character class larger than this is no faster than none


def _first_of_seq(items: list[tuple[object, object]]) -> set[int] | None:
    """Code points a match of the parsed sequence can start with; None when unknown or when
    the sequence can match the empty string (then any position may match)."""
    found: set[int] = set()
    for op, av in items:
        first, nullable = _first_of_item(op, av)
        if first is None:
            return None
        found |= first
        if not nullable:
            return found
    return None  # every item may be empty


def _first_of_item(op: object, av: object) -> tuple[set[int] | None, bool]:
    """(first code points, can be empty) of one parsed regex item; (None, _) when unknown."""
    from re import _constants as c  # the parser's own opcodes (CPython re internals)

    if op is c.LITERAL:
        return {av}, False  # type: ignore[arg-type]
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return set(), True  # zero-width: constrains, never consumes
    if op is c.IN:
        chars: set[int] = set()
        for kind, value in av:  # type: ignore[union-attr]
            if kind is c.LITERAL:
                chars.add(value)
            elif kind is c.RANGE and value[1] - value[0] < _MAX_FIRST:
                chars.update(range(value[0], value[1] + 1))
            else:
                return None, False  # NEGATE, CATEGORY, huge ranges
        return chars, False
    if op is c.SUBPATTERN:
        first = _first_of_seq(list(av[3]))  # type: ignore[index]
        return (first, False) if first is not None else (None, False)
    if op is c.BRANCH:
        chars = set()
        for alternative in av[1]:  # type: ignore[index]
            first = _first_of_seq(list(alternative))
            if first is None:
                return None, False
            chars |= first
        return chars, False
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, _high, body = av  # type: ignore[misc]
        first = _first_of_seq(list(body))
        return first, low == 0
    return None, False


def fast_compile(pattern: str) -> re.Pattern[str]:
    """``re.compile(pattern)`` that rejects hopeless start positions early.

    Python's regex engine tries every alternative of a big alternation at every position of
    the text. When the characters a match can start with are computable from the pattern, the
    pattern is prefixed by a lookahead on that character class, so a position no alternative
    can start at is rejected by one class test. Matches are unchanged (the lookahead is a
    necessary condition of any match); patterns it cannot analyse compile as they are."""
    from re import _compiler, _parser

    if "(?i" in pattern:
        return re.compile(pattern)  # first characters below are case-sensitive
    try:
        parsed = _parser.parse(pattern)
        if _compiler._get_literal_prefix(parsed, 0)[0] or _compiler._get_charset_prefix(parsed, 0):
            return re.compile(pattern)  # the engine already skips positions in C
        first = _first_of_seq(list(parsed))
    except (re.error, TypeError, ValueError, IndexError, AttributeError):
        first = None
    if not first or len(first) > _MAX_FIRST:
        return re.compile(pattern)
    klass = "".join(re.escape(chr(code)) for code in sorted(first))
    return re.compile(f"(?=[{klass}])(?:{pattern})")
