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
    return re.compile(r"\b(?:" + alternation(patterns) + r")\b")  # the same regex, as a trie


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


# --- Ordered alternations as a first-character trie (speed; matches unchanged) -------------
#
# Python's regex engine tries the alternatives of ``a|b|c`` one after another at every start
# position; an alternative that begins with a literal character is rejected after one
# comparison, but with a hundred alternatives that is still a hundred comparisons per position.
# :func:`alternation` rewrites the ordered alternation so alternatives sharing a first
# character sit behind that one character ("kill myself|killing it|end it" ->
# "k(?:ill(?: myself|ing it))|e(?:nd it)"): the engine compares each distinct first character
# once, then only the alternatives that can still match. It is the same regex:
# ``c(?:x|y)`` is ``cx|cy``, ``(?:x|y)z`` is ``xz|yz`` for a backtracking engine (ordered
# choice), and at a position holding character c only the alternatives that can start with c
# can match, so they are kept in their original order among themselves; an alternative whose
# first characters cannot be read off ("\w*ty a week", "(?:very )?sad") is kept whole, in
# order, in every branch it may start in, and once more at the end.

_SPECIAL = frozenset("\\.^$*+?{}[]()|#")
_QUANTIFIER = frozenset("?*+{")
_TRIE_DEPTH = 6  # characters factored out at most (deeper levels gain nothing measurable)
_TRIE_SPREAD = 64  # a group distributed over the rest of its alternative yields at most this many


def _skip_class(pattern: str, i: int) -> int:
    """Index just past the character class opening at ``pattern[i] == '['``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ']' is literal
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    if j >= len(pattern):
        raise ValueError("unterminated character class")
    return j + 1


def _top_level(pattern: str) -> tuple[list[str], int]:
    """(top-level alternatives of ``pattern`` up to an unmatched ')', index of that ')' or the
    end)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:i])
    return parts, i


def _heads(alternative: str) -> list[tuple[str, str]] | None:
    """The alternative as an ordered list of (first literal character, rest), or None when its
    first character is not a plain literal (then it is kept whole). A leading non-capturing
    group without a quantifier is distributed over the rest first."""
    if not alternative:
        return None
    ch = alternative[0]
    if ch not in _SPECIAL:
        if alternative[1:2] and alternative[1] in _QUANTIFIER:
            return None
        return [(ch, alternative[1:])]
    if not alternative.startswith("(?:"):
        return None
    inner, close = _top_level(alternative[3:])
    close += 3
    if close >= len(alternative) or alternative[close] != ")":
        raise ValueError("unbalanced group")
    rest = alternative[close + 1:]
    if rest[:1] and rest[0] in _QUANTIFIER:
        return None
    if len(inner) > _TRIE_SPREAD:
        return None
    out: list[tuple[str, str]] = []
    for branch in inner:
        heads = _heads(branch + rest)
        if heads is None:
            return None  # keep the whole alternative rather than a partial spread
        out += heads
        if len(out) > _TRIE_SPREAD:
            return None
    return out


def _first_chars(alternative: str) -> set[str] | None:
    from re import _parser

    first = _first_of_seq(list(_parser.parse(alternative)))
    return None if first is None or len(first) > _MAX_FIRST else {chr(c) for c in first}


def _trie(alternatives: list[str], depth: int) -> str:
    if len(alternatives) < 2 or depth >= _TRIE_DEPTH:
        return "|".join(f"(?:{a})" for a in alternatives)
    # A run of alternatives that all begin with \b shares it: \bx|\by is \b(?:x|y), and the
    # rest of each may then have a literal first character to branch on.
    bounded = [a.startswith("\\b") and a[2:3] not in _QUANTIFIER for a in alternatives]
    if any(bounded):
        runs: list[tuple[bool, list[str]]] = []
        for alternative, flag in zip(alternatives, bounded):
            if not runs or runs[-1][0] != flag:
                runs.append((flag, []))
            runs[-1][1].append(alternative[2:] if flag else alternative)
        return "|".join(("\\b(?:" + _trie(run, depth) + ")") if flag else _trie(run, depth)
                        for flag, run in runs)
    # Items in order: (char, rest, None) for a literal head, (None, whole, first chars) otherwise.
    items: list[tuple[str | None, str, set[str] | None]] = []
    for alternative in alternatives:
        heads = _heads(alternative)
        if heads is None:
            items.append((None, alternative, _first_chars(alternative)))
        else:
            items += [(ch, rest, None) for ch, rest in heads]
    chars: list[str] = []
    for ch, _text, first in items:
        for c in ([ch] if ch is not None else sorted(first or ())):
            if c not in chars:
                chars.append(c)
    out: list[str] = []
    only_kept: dict[tuple[int, ...], list[str]] = {}  # chars no literal head starts with
    for c in chars:
        # Every item that may start with c, in order; a kept-whole item may also match at
        # other characters, so a branch holding one is guarded by a look-ahead for c.
        seq = [(i, item) for i, item in enumerate(items)
               if item[0] == c or (item[0] is None and (item[2] is None or c in item[2]))]
        if all(item[0] is None for _, item in seq):
            only_kept.setdefault(tuple(i for i, _ in seq), []).append(c)
            continue
        parts: list[str] = []
        run: list[str] = []
        for _, (ch, text, _first) in seq:
            if ch == c:
                run.append(text)
                continue
            if run:
                parts.append(re.escape(c) + "(?:" + _trie(run, depth + 1) + ")")
                run = []
            parts.append(f"(?:{text})")
        if run:
            parts.append(re.escape(c) + "(?:" + _trie(run, depth + 1) + ")")
        out.append(parts[0] if len(parts) == 1 else f"(?={re.escape(c)})(?:" + "|".join(parts) + ")")
    for indices, group in only_kept.items():
        klass = "".join(re.escape(c) for c in group)
        out.append(f"(?=[{klass}])(?:" + "|".join(f"(?:{items[i][1]})" for i in indices) + ")")
    anywhere = [f"(?:{text})" for ch, text, first in items if ch is None and first is None]
    if anywhere:
        guard = f"(?![{''.join(re.escape(c) for c in chars)}])" if chars else ""
        out.append(guard + "(?:" + "|".join(anywhere) + ")")
    return "|".join(out)


def alternation(patterns: list[str]) -> str:
    """Regex text matching exactly what ``"|".join(f"(?:{p})" for p in patterns)`` matches,
    with the same match at every position, arranged as a first-character trie (faster: see
    above). Patterns with inline flags, back-references or capturing groups are joined as they
    are (capturing groups would be renumbered)."""
    plain = "|".join(f"(?:{p})" for p in patterns)
    if any(re.search(r"\(\?[aiLmsux#>-]|\(\?P|\\\d", p) or re.search(r"(?<!\\)\((?!\?)", p.replace("\\\\", ""))
           for p in patterns):
        return plain
    try:
        flat = [branch for p in patterns for branch in _branches(p)]
        out = _trie(flat, 0)
        re.compile(out)
    except (re.error, ValueError, TypeError, IndexError, AttributeError, RecursionError):
        return plain
    return out


def _branches(pattern: str) -> list[str]:
    """Top-level alternatives of ``pattern`` (``(?:a|b)|c`` is ``a|b|c``)."""
    parts, end = _top_level(pattern)
    if end != len(pattern):
        raise ValueError("unbalanced ')'")
    return parts


def split_unanchored(patterns: list[str]) -> tuple[list[str], list[str]]:
    """The top-level alternatives of ``patterns``, in order: (those whose first characters can
    be read off, those that may start with any character -- "\\w*ty a week", which the trie
    keeps whole and the regex engine tries at every start position). Raises ValueError on
    unbalanced parentheses."""
    anchored: list[str] = []
    anywhere: list[str] = []
    for branch in (b for p in patterns for b in _branches(p)):
        (anywhere if _first_chars(branch) is None else anchored).append(branch)
    return anchored, anywhere


def required_literal(pattern: str) -> str:
    """The longest run of literal characters at the top level of ``pattern``: text that every
    match of it contains ("\\w*ty a (?:week|month)" -> " a "); "" when there is none."""
    from re import _constants as c, _parser  # the parser's own opcodes (CPython re internals)

    parsed = _parser.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        return ""
    best = run = ""
    for op, av in parsed:
        run = run + chr(av) if op is c.LITERAL else ""  # type: ignore[arg-type]
        best = max(best, run, key=len)
    return best


def word_start_alternation(patterns: list[str]) -> str:
    """:func:`alternation` of ``patterns`` for use right after ``(?<![^ ])`` (a match starts
    at the start of the text or after a space): there, a leading ``\\b`` before what can only
    start with a word character always holds, so it is dropped and the alternative joins the
    trie under its first character."""
    if any(re.search(r"\(\?[aiLmsux#>-]|\(\?P|\\\d", p) or re.search(r"(?<!\\)\((?!\?)", p.replace("\\\\", ""))
           for p in patterns):
        return alternation(patterns)
    try:
        flat = [branch for p in patterns for branch in _branches(p)]
        out: list[str] = []
        for branch in flat:
            if branch.startswith("\\b") and not branch.startswith("\\b\\b"):
                first = _first_chars(branch[2:]) if branch[2:] else None
                if first is not None and all(_WORD.match(c) for c in first):
                    branch = branch[2:]
            out.append(branch)
    except (re.error, ValueError, TypeError, IndexError, AttributeError, RecursionError):
        return alternation(patterns)
    return alternation(out)


_WORD = re.compile(r"\w")
