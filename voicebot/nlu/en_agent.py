"""Compliance flags for a human agent's English utterance (agent-assist mode).

Flags (shared/data/README.md): threat, abuse, third_party_disclosure, false_representation,
privacy. Patterns live in ``data/en/agent.toml``. A flag fires on a pattern match that no
``compliant`` match of the same flag overlaps ("we won't contact your employer"); third-party
disclosure needs both a listener who is not the borrower and a mention of the debt, and is
cleared by any compliant phrase on the line ("i'm not able to discuss the account with anyone
other than the customer"); a threat to tell someone about the listener's own debt ("i'll ring
your mother and tell her about this loan") is a threat, not a disclosure. Reading out a long run of digits (card, ID numbers) is privacy
unless the line is about the last four digits. The trained agent model
(``classifier.agent_model_flags``) then adds flags the patterns missed, except where a compliant
pattern of that flag matches.
"""
from __future__ import annotations

import re

from voicebot.nlu.classifier import agent_model_flags
from voicebot.nlu.lexicon import compile_any, load_data

_DATA = load_data("en", "agent")
_ORDER = ("threat", "abuse", "third_party_disclosure", "false_representation", "privacy")
_CAPTURE = re.compile(r"(?<!\\)\((?!\?)")


def _compile(patterns: list[str]) -> re.Pattern[str] | None:
    """compile_any with capturing groups made non-capturing (nothing reads them): a leading
    group can then be spread into the first-character trie instead of being tried whole at
    every word boundary (several times faster on long lists)."""
    return compile_any([_CAPTURE.sub("(?:", p) for p in patterns])


_PATTERNS = {flag: _compile(_DATA[flag]["patterns"]) for flag in _ORDER}
_COMPLIANT = {flag: _compile(_DATA[flag]["compliant"]) for flag in _ORDER}
_LISTENER = _compile(_DATA["third_party_disclosure"]["listener"])
_OWN_DEBT = _compile(_DATA["third_party_disclosure"]["own_debt"])
_THIRD_DEBTOR = _compile(_DATA["third_party_disclosure"]["third_debtor"])
_SPOKEN_DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d|[a-z])"
# Eight or more spoken digits/letters in a row (with at least six digits): a card or ID number.
_DIGIT_RUN = re.compile(r"\b(?:" + _SPOKEN_DIGIT + r" ){7,}" + _SPOKEN_DIGIT + r"\b")
_DIGIT_WORD = re.compile(r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)\b")


def normalise(text: str) -> str:
    """The text the agent patterns and the agent model read: lowercase words, single spaces."""
    text = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def _fires(flag: str, text: str) -> bool:
    rx = _PATTERNS[flag]
    if rx is None:
        return False
    compliant = _COMPLIANT[flag]
    spans = [m.span() for m in compliant.finditer(text)] if compliant else []
    return any(not any(m.start() < b and a < m.end() for a, b in spans) for m in rx.finditer(text))


def agent_flags(text: str) -> tuple[str, ...]:
    """Flags for one agent utterance, in the canonical order; ``()`` when compliant."""
    norm = normalise(text)
    flags: set[str] = {flag for flag in ("threat", "abuse", "false_representation", "privacy") if _fires(flag, norm)}
    tpd = _DATA["third_party_disclosure"]
    compliant = _COMPLIANT["third_party_disclosure"]
    threat_to_borrower = "threat" in flags and _OWN_DEBT is not None and bool(_OWN_DEBT.search(norm)) \
        and not (_THIRD_DEBTOR is not None and _THIRD_DEBTOR.search(norm))
    if _LISTENER is not None and _LISTENER.search(norm) and _fires("third_party_disclosure", norm) \
            and not (compliant and compliant.search(norm)) and tpd and not threat_to_borrower:
        flags.add("third_party_disclosure")
    if "privacy" not in flags:
        for run in _DIGIT_RUN.finditer(norm):
            if len(_DIGIT_WORD.findall(run.group(0))) >= 6 and not (
                    _COMPLIANT["privacy"] and _COMPLIANT["privacy"].search(norm)):
                flags.add("privacy")
    for flag in agent_model_flags(norm, "en", flags):
        if flag == "third_party_disclosure" and (threat_to_borrower or (compliant and compliant.search(norm))):
            continue
        if _COMPLIANT[flag] is not None and _COMPLIANT[flag].search(norm):
            continue
        flags.add(flag)
    return tuple(flag for flag in _ORDER if flag in flags)
