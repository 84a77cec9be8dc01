"""Mandarin language understanding: caller intents, amount, date, critical; agent flags.

Rules plus lexicons. The lexicons are data (``voicebot/nlu/data/zh/caller.toml`` and
``agent.toml``); this module holds only the logic that combines them:

1. normalise: lower-case, drop spaces and punctuation, repair known recogniser slips
   (礼拜武 -> 礼拜五, 换钱 -> 还钱); a spaced copy is kept for leading-token checks.
2. every intent's patterns run over the normalised text; ``promise_to_pay``, ``refuse``,
   ``callback`` and ``ask_info`` matches are cancelled by a nearby "block" pattern
   (能不能先还 is a request, not a promise; 别再打 is not a callback).
3. cross-intent rules: critical implies distress; a relative reporting the borrower dead,
   in hospital or in jail is wrong_party only; already_paid beats promise_to_pay unless a
   future cue remains; 'none' only when nothing else fired.
4. amount only for promise/paid/plan lines, date for those and callbacks (past days for
   already_paid lines).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from voicebot.nlu import AGENT_FLAGS, Understanding
from voicebot.nlu.classifier import refine
from voicebot.nlu.lexicon import fast_compile
from voicebot.nlu.safety import assess
from voicebot.nlu.zh_dates import find_date
from voicebot.nlu.zh_numbers import find_amount

DATA_DIR = Path(__file__).parent / "data" / "zh"
_PUNCT_RE = re.compile(r"[\s,，.。?？!！、;；:：\"“”'‘’()（）…~～\-—]+")
_PARTICLES_RE = re.compile(r"(?:的|呀|啊|呢|吧|嘞|哈|哦|了|啦|嘛|么)+$")
_LEAD_FILLERS_RE = re.compile(r"^(?:(?:那个|呃|哎|喂|啊|哦|额|嗯|就是)\s)+")
_QUESTION_END_RE = re.compile(r"(?:吗|么|不|没|呢)$")
_BLOCK_REACH = 5  # characters before a match in which a block pattern cancels it
_PAY_INTENTS = frozenset({"promise_to_pay", "already_paid", "payment_plan"})
_DATED_INTENTS = _PAY_INTENTS | {"callback"}


@dataclass(frozen=True, slots=True)
class _CallerLexicon:
    slips: tuple[tuple[str, str], ...]
    fillers: re.Pattern[str]
    affirm_full: re.Pattern[str]
    affirm_lead: re.Pattern[str]
    deny_full: re.Pattern[str]
    deny_lead: re.Pattern[str]
    intents: tuple[tuple[str, re.Pattern[str]], ...]
    blocks: dict[str, re.Pattern[str]]
    relative_event: re.Pattern[str]
    future_cue: re.Pattern[str]
    past_cue: re.Pattern[str]
    plan_request: re.Pattern[str]
    critical: re.Pattern[str]
    idioms: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _AgentLexicon:
    flags: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...]
    addressee_owes: re.Pattern[str]
    third_party_addressee: re.Pattern[str]
    debt_word: re.Pattern[str]


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    return fast_compile("|".join(f"(?:{p})" for p in patterns))


@lru_cache(maxsize=1)
def _caller_lexicon() -> _CallerLexicon:
    with open(DATA_DIR / "caller.toml", "rb") as fh:
        data = tomllib.load(fh)
    intents = data["intents"]
    slips = sorted(((a, b) for a, b in data["normalise"]["slips"]), key=lambda ab: -len(ab[0]))
    blocks = {
        "promise_to_pay": intents["promise_block"],
        "refuse": intents["refuse_block"],
        "callback": intents["callback_block"],
        "ask_info": intents["ask_block"],
        "already_paid": intents["already_block"],
    }
    compiled = tuple(
        (name, _alternation(patterns))
        for name, patterns in intents.items()
        if isinstance(patterns, list)
    )
    return _CallerLexicon(
        slips=tuple(slips),
        fillers=re.compile(data["normalise"]["fillers"]),
        affirm_full=re.compile(data["affirm"]["full"]),
        affirm_lead=re.compile(data["affirm"]["lead"]),
        deny_full=re.compile(data["deny"]["full"]),
        deny_lead=re.compile(data["deny"]["lead"]),
        intents=compiled,
        blocks={name: fast_compile(pattern) for name, pattern in blocks.items()},
        # The last wrong_party pattern is the "relative reports an event" family.
        relative_event=re.compile(intents["wrong_party"][-1]),
        future_cue=re.compile(intents["future_cue"]),
        past_cue=re.compile(intents["past_cue"]),
        plan_request=re.compile(intents["plan_request"]),
        critical=_alternation(data["critical"]["patterns"]),
        idioms=fast_compile(data["critical"]["idioms"]),
    )


@lru_cache(maxsize=1)
def _agent_lexicon() -> _AgentLexicon:
    with open(DATA_DIR / "agent.toml", "rb") as fh:
        data = tomllib.load(fh)
    flags = []
    for flag in AGENT_FLAGS:
        allow = data["allow"].get(flag, "")
        flags.append((flag, _alternation(data["flags"][flag]), re.compile(allow) if allow else None))
    return _AgentLexicon(flags=tuple(flags), addressee_owes=re.compile(data["addressee_owes"]),
                         third_party_addressee=re.compile(data["third_party_addressee"]),
                         debt_word=re.compile(data["debt_word"]))


def normalise(text: str) -> str:
    """Lower-case, remove spaces and punctuation, repair known slips (see caller.toml)."""
    norm = _PUNCT_RE.sub("", text.lower())
    for heard, meant in _caller_lexicon().slips:
        if heard in norm:
            norm = norm.replace(heard, meant)
    return norm


def _spaced(text: str) -> str:
    return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())


def _fires(name: str, pattern: re.Pattern[str], norm: str, lex: _CallerLexicon) -> bool:
    block = lex.blocks.get(name)
    for match in pattern.finditer(norm):
        if block is None:
            return True
        window = norm[max(0, match.start() - _BLOCK_REACH):match.end()]
        if not block.search(window):
            return True
    return False


def _short_answers(norm: str, spaced: str, lex: _CallerLexicon) -> set[str]:
    core = _PARTICLES_RE.sub("", lex.fillers.sub("", norm)) or norm
    found: set[str] = set()
    if lex.affirm_full.match(core) or lex.affirm_full.match(norm):
        found.add("affirm")
    elif lex.deny_full.match(core) or lex.deny_full.match(norm):
        found.add("deny")
    else:
        lead = _LEAD_FILLERS_RE.sub("", spaced)
        if lex.affirm_lead.match(lead) and not _QUESTION_END_RE.search(norm):
            found.add("affirm")
        elif lex.deny_lead.match(lead):
            found.add("deny")
    return found


def understand(text: str, today: date) -> Understanding:
    """Understand one Mandarin caller utterance (recogniser-style) against ``today``."""
    lex = _caller_lexicon()
    norm = normalise(text)
    spaced = _spaced(text)
    intents: set[str] = set()
    for name, pattern in lex.intents:
        if _fires(name, pattern, norm, lex):
            intents.add(name)
    safety = assess(norm, "zh")  # recall-leaning cue layer (voicebot/nlu/safety.py)
    critical = bool(lex.critical.search(lex.idioms.sub("#", norm))) or safety.critical
    if safety.distress:
        intents.add("distress")
    if critical:
        intents.add("distress")
    if "wrong_party" in intents and lex.relative_event.search(norm) and not critical:
        intents.discard("distress")
    if {"already_paid", "promise_to_pay"} <= intents:
        if not lex.future_cue.search(norm):
            intents.discard("promise_to_pay")
        elif not lex.past_cue.search(norm):
            intents.discard("already_paid")  # 月底我把八千都还了: a future day, not a payment made
    if {"refuse", "payment_plan"} <= intents and not lex.plan_request.search(norm):
        intents.discard("payment_plan")  # 没钱不还: a refusal, not a request for a plan
    if "dispute" in intents and lex.blocks["ask_info"].search(norm):
        intents.discard("ask_info")  # 罚息是怎么来的我不同意: an objection, not a question
    if "wrong_party" in intents:
        intents.discard("ask_info")  # 我是她妈有啥事: a third party, not the borrower asking
    if "refuse" in intents and "promise_to_pay" in intents and "payment_plan" not in intents:
        intents.discard("promise_to_pay")
    if ({"payment_plan", "promise_to_pay"} <= intents and lex.plan_request.search(norm)
            and find_date(norm, today) is None):
        intents.discard("promise_to_pay")  # 能不能打个折我一次还清: a plan request, no promise
    short = _short_answers(norm, spaced, lex)
    if short and len(norm) <= 4:
        # A bare 对/不是 is an answer; longer lines keep their content intents as well.
        intents = {i for i in intents if i not in ("ask_info", "refuse", "dispute")}
    if "ask_info" in intents or "refuse" in intents or critical:
        short.discard("affirm" if "ask_info" in intents else "deny")
        if critical or "refuse" in intents:
            short.discard("deny")
        if critical:
            short.discard("affirm")  # 我就是家里的累赘: a statement about oneself, not a yes
    intents |= short
    if "affirm" in intents and "deny" in intents:
        intents.discard("affirm")
    if "wrong_party" in intents:
        intents.discard("deny")  # 不是他本人我是他弟弟: the 'no' is the wrong-party report
    intents, critical = refine(intents, critical, norm, "zh")  # trained model adds recall (classifier.py)
    if not intents:
        intents.add("none")
    amount = find_amount(norm) if intents & _PAY_INTENTS else None
    when = None
    if intents & _DATED_INTENTS:
        past = "already_paid" in intents and "promise_to_pay" not in intents
        when = find_date(norm, today, past=past, soon=bool(intents & _PAY_INTENTS))
    ordered = tuple(name for name in _ORDER if name in intents)
    return Understanding(text=text, intents=ordered, amount=amount, date=when, critical=critical)


_ORDER = (
    "promise_to_pay", "already_paid", "payment_plan", "dispute", "distress", "request_agent",
    "wrong_party", "callback", "refuse", "cease_contact", "affirm", "deny", "ask_info", "none",
)


def agent_flags(text: str) -> tuple[str, ...]:
    """Compliance flags for one Mandarin agent utterance, in AGENT_FLAGS order."""
    norm = _PUNCT_RE.sub("", text.lower())
    lex = _agent_lexicon()
    found: list[str] = []
    for flag, pattern, allow in lex.flags:
        if pattern.search(norm) and not (allow is not None and allow.search(norm)):
            found.append(flag)
    if ("third_party_disclosure" not in found and lex.third_party_addressee.search(norm)
            and lex.debt_word.search(norm)):
        tpd_allow = dict((f, a) for f, _, a in lex.flags)["third_party_disclosure"]
        if tpd_allow is None or not tpd_allow.search(norm):
            found.append("third_party_disclosure")
            found.sort(key=AGENT_FLAGS.index)
    if "third_party_disclosure" in found and "threat" in found and lex.addressee_owes.search(norm):
        # 你欠我们钱 ... 我告诉你老婆: the listener is the borrower, so telling family is
        # the threat, not a disclosure to a third party.
        found.remove("third_party_disclosure")
    return tuple(found)
