"""Mandarin language understanding: caller intents, amount, date, critical; agent flags.

Rules plus lexicons. The lexicons are data (``voicebot/nlu/data/zh/caller.toml`` and
``agent.toml``); this module holds only the logic that combines them:

1. normalise: lower-case, drop spaces and punctuation, repair known recogniser slips
   (礼拜武 -> 礼拜五, 换钱 -> 还钱); a spaced copy is kept for leading-token checks.
2. every intent's patterns run over the normalised text; ``promise_to_pay``, ``refuse``,
   ``callback`` and ``ask_info`` matches are cancelled by a nearby "block" pattern
   (能不能先还 is a request, not a promise; 别再打 is not a callback).
3. cross-intent rules: critical implies distress, and a critical line keeps only distress, a
   request for a person, a plea to stop calling and a dated promise about money; a caller.toml
   critical hint whose nearest subject is someone else (我表哥想不开自杀了) is no hint; a relative
   reporting the borrower dead, in hospital or in jail is wrong_party only; already_paid beats
   promise_to_pay unless a future cue remains (a bare weekday or date with 就...了 is a payment
   made, 三十号我把一万五还了 a promise); bare time words (待会儿, 改天) are a callback only on
   lines that are not about paying; a plan asked for cancels the promise (十号再还行不行), a dated
   part payment cancels the plan (后天还一半); hardship with no request is distress, not a plan;
   fee complaints beside a plan request and insults beside a refusal are no dispute; a
   rhetorical 弄啥嘞 next to content is no question; a mix-up beside a wrong-number report is no
   dispute (搞错了吧我不姓李); the bill named in a complaint is no question; a question about the bot
   or the hotline (你是机器人吗, 客服电话是多少) asks, it requests no person; a plan's first day
   (从十五号开始每月还八百) and a first instalment (先还一千然后每个月还一千, but not a down payment before the
   rest: 先转一千剩下的每个月还五百) are no separate promise; distress the model put in place of 'none' must be
   sure (see _unless_sure_distress); 'none' only when nothing else fired.
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
from voicebot.nlu.classifier import agent_model_flags, distress_threshold, load_model, refine
from voicebot.nlu.lexicon import alternation, fast_compile
from voicebot.nlu.safety import about_the_speaker, assess
from voicebot.nlu.zh_dates import find_date
from voicebot.nlu.zh_numbers import find_amount

DATA_DIR = Path(__file__).parent / "data" / "zh"
_PUNCT_RE = re.compile(r"[\s,，.。?？!！、;；:：\"“”'‘’()（）…~～\-—]+")
_PARTICLES_RE = re.compile(r"(?:的|呀|啊|呢|吧|嘞|哈|哦|了|啦|嘛|么)+$")
_LEAD_FILLERS_RE = re.compile(r"^(?:(?:那个|呃|哎|喂|啊|哦|额|嗯|就是)\s)+")
_QUESTION_END_RE = re.compile(r"(?:吗|么|不|没|呢)$")
_BLOCK_REACH = 5  # characters before a match in which a block pattern cancels it
# Hand-set, not cross-validated (see _unless_sure_distress): on the spent sets true distress that
# only the model found scored >= 2.3x its 'none', everyday short lines <= 2.1x.
DISTRESS_OVER_NONE = 2.0
_PAY_INTENTS = frozenset({"promise_to_pay", "already_paid", "payment_plan"})
_DATED_INTENTS = _PAY_INTENTS | {"callback"}
_RHETORICAL_WITH = frozenset({"refuse", "already_paid", "promise_to_pay", "dispute", "cease_contact"})


@dataclass(frozen=True, slots=True)
class _CallerLexicon:
    slips: tuple[tuple[str, str], ...]
    fillers: re.Pattern[str]
    affirm_full: re.Pattern[str]
    affirm_lead: re.Pattern[str]
    self_pays: re.Pattern[str]
    deny_full: re.Pattern[str]
    deny_lead: re.Pattern[str]
    intents: tuple[tuple[str, re.Pattern[str]], ...]
    blocks: dict[str, re.Pattern[str]]
    relative_event: re.Pattern[str]
    future_cue: re.Pattern[str]
    day_cue: re.Pattern[str]
    future_ba: re.Pattern[str]
    past_cue: re.Pattern[str]
    plan_request: re.Pattern[str]
    plan_weak: re.Pattern[str]
    plan_period: re.Pattern[str]
    plan_as_dispute: re.Pattern[str]
    plan_partial: re.Pattern[str]
    plan_deferral: re.Pattern[str]
    plan_when: re.Pattern[str]
    dispute_fee: re.Pattern[str]
    dispute_insult: re.Pattern[str]
    callback_soft: re.Pattern[str]
    ask_rhetorical: re.Pattern[str]
    agent_question: re.Pattern[str]
    ask_nouns: re.Pattern[str]
    dispute_mixup: re.Pattern[str]
    plan_start: re.Pattern[str]
    plan_instalment: re.Pattern[str]
    plan_down_payment: re.Pattern[str]
    affirm_strong: re.Pattern[str]
    contact_words: re.Pattern[str]
    money_words: re.Pattern[str]
    by_name: dict[str, re.Pattern[str]]
    critical: re.Pattern[str]
    idioms: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _AgentLexicon:
    flags: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...]
    addressee_owes: re.Pattern[str]
    third_party_addressee: re.Pattern[str]
    debt_word: re.Pattern[str]


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    """One regex matching what any of ``patterns`` matches (the same match at every position),
    arranged as a first-character trie: see voicebot.nlu.lexicon.alternation."""
    return fast_compile(alternation(patterns))


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
        (name, _alternation(patterns + [intents["relative_event"]] if name == "wrong_party" else patterns))
        for name, patterns in intents.items()
        if isinstance(patterns, list)
    )
    return _CallerLexicon(
        slips=tuple(slips),
        fillers=re.compile(data["normalise"]["fillers"]),
        affirm_full=re.compile(data["affirm"]["full"]),
        affirm_lead=re.compile(data["affirm"]["lead"]),
        self_pays=re.compile(data["intents"]["self_pays"]),
        deny_full=re.compile(data["deny"]["full"]),
        deny_lead=re.compile(data["deny"]["lead"]),
        intents=compiled,
        blocks={name: fast_compile(pattern) for name, pattern in blocks.items()},
        relative_event=fast_compile(intents["relative_event"]),
        future_cue=fast_compile(intents["future_cue"]),
        day_cue=fast_compile(intents["day_cue"]),
        future_ba=fast_compile(intents["future_ba"]),
        past_cue=fast_compile(intents["past_cue"]),
        plan_request=fast_compile(intents["plan_request"]),
        plan_weak=fast_compile(intents["plan_weak"]),
        plan_period=fast_compile(intents["plan_period"]),
        plan_as_dispute=fast_compile(intents["plan_as_dispute"]),
        plan_partial=fast_compile(intents["plan_partial"]),
        plan_deferral=fast_compile(intents["plan_deferral"]),
        plan_when=fast_compile(intents["plan_when"]),
        dispute_fee=fast_compile(intents["dispute_fee"]),
        dispute_insult=fast_compile(intents["dispute_insult"]),
        callback_soft=fast_compile(intents["callback_soft"]),
        ask_rhetorical=fast_compile(intents["ask_rhetorical"]),
        agent_question=fast_compile(intents["agent_question"]),
        ask_nouns=fast_compile(intents["ask_nouns"]),
        dispute_mixup=fast_compile(intents["dispute_mixup"]),
        plan_start=fast_compile(intents["plan_start"]),
        plan_instalment=fast_compile(intents["plan_instalment"]),
        plan_down_payment=fast_compile(intents["plan_down_payment"]),
        affirm_strong=re.compile(data["affirm"]["strong_lead"]),
        contact_words=re.compile(data["critical"]["contact_words"]),
        money_words=re.compile(data["critical"]["money_words"]),
        by_name=dict(compiled),
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


_NUMERAL_CHARS = frozenset("0123456789零〇一二两三四五六七八九十百千万")


def _numbers_norm(text: str, norm: str) -> str:
    """``norm`` for reading the amount and the day: where the recogniser put a space between a
    sum and a day of the month (三千 五 十五号), a '|' keeps them apart (三千五|十五号), so the sum
    is not read as 3055 and the day stays a day. ``norm`` itself when there is no such place."""
    tokens = _spaced(text).split()
    if len(tokens) < 2 or not any(("号" in t or "日" in t) for t in tokens):
        return norm
    out = [tokens[0]]
    for i, tok in enumerate(tokens[1:], 1):
        if tok[0] in _NUMERAL_CHARS and ("号" in tok[:4] or "日" in tok[:4]) and _ends_in_a_sum(tokens[:i]):
            out.append("|")
        out.append(tok)
    return normalise("".join(out))  # '|' is no punctuation to normalise()


def _ends_in_a_sum(tokens: list[str]) -> bool:
    """Whether the numeral tokens at the end of ``tokens`` make a sum with a unit (三千 五, 一万二),
    not a lone digit that the day continues (二 十号)."""
    run = []
    for tok in reversed(tokens):
        if not tok or any(ch not in _NUMERAL_CHARS for ch in tok):
            break
        run.append(tok)
    return any(unit in tok for tok in run for unit in "百千万")


def _spaced(text: str) -> str:
    return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())


def _fires(name: str, pattern: re.Pattern[str], norm: str, lex: _CallerLexicon) -> bool:
    first = pattern.search(norm)
    if first is None:
        return False
    block = lex.blocks.get(name)
    if block is None or block.search(norm) is None:
        return True  # no block anywhere in the line: no window to check
    for match in pattern.finditer(norm, first.start()):
        window = norm[max(0, match.start() - _BLOCK_REACH):match.end()]
        if not block.search(window):
            return True
    return False


def _critical_hint(norm: str, lex: _CallerLexicon) -> bool:
    """A caller.toml [critical] hint about the speaker: one whose nearest subject before it is
    someone else (我表哥想不开自杀了, 我朋友跳楼了) reports a death, it is no hint (distress only).
    The subject test is the safety layer's (its [subjects] and [fallback] people)."""
    text = lex.idioms.sub("#", norm)
    return about_the_speaker(text, "zh", lex.critical.finditer(text))


def _still(lex: _CallerLexicon, name: str, cue: re.Pattern[str], norm: str) -> bool:
    """Whether intent ``name``'s patterns still match ``norm`` with ``cue`` blanked out."""
    return lex.by_name[name].search(cue.sub("#", norm)) is not None


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
    critical = safety.critical or _critical_hint(norm, lex)
    if safety.distress:
        intents.add("distress")
    if critical:
        intents.add("distress")
    if {"wrong_party", "promise_to_pay", "distress"} <= intents and lex.self_pays.search(norm):
        # 我老公车祸没了我一个人慢慢还十五号先还五百: the bereaved speaker pays the debt herself, so she
        # is the borrower in distress, not a relative reporting the borrower's death (as in English).
        intents.discard("wrong_party")
    elif "wrong_party" in intents and lex.relative_event.search(norm) and not critical:
        intents.discard("distress")
    if {"already_paid", "promise_to_pay"} <= intents:
        future = lex.future_cue.search(norm) is not None
        past = lex.past_cue.search(norm) is not None
        if not future:
            if not past and lex.day_cue.search(norm) and lex.future_ba.search(norm):
                intents.discard("already_paid")  # 三十号我把一万五还了: a day ahead
            else:
                intents.discard("promise_to_pay")  # 星期一就还了一千块了, 这周一就还了: done
        elif not past:
            intents.discard("already_paid")  # 月底我把八千都还了: a future day, not a payment made
    if "callback" not in intents and not intents & _PAY_INTENTS and _fires("callback", lex.callback_soft, norm, lex):
        intents.add("callback")  # 改天吧, 待会儿: a later call; 等会儿我还三百五 is a payment time
    if {"refuse", "payment_plan"} <= intents and not lex.plan_request.search(norm):
        intents.discard("payment_plan")  # 没钱不还: a refusal, not a request for a plan
    if "payment_plan" in intents and "dispute" in intents and lex.plan_as_dispute.search(norm):
        intents.discard("payment_plan")  # 说好的免息现在又收利息: a promise taken back
    if ({"distress", "payment_plan"} <= intents and not lex.plan_request.search(norm)
            and (critical or not lex.plan_period.search(norm))
            and not lex.by_name["payment_plan"].search(lex.plan_weak.sub("#", norm))):
        intents.discard("payment_plan")  # 连饭都吃不上了哪有钱还: hardship, no plan asked for
    if ({"dispute", "payment_plan"} <= intents and lex.plan_request.search(norm)
            and not _still(lex, "dispute", lex.dispute_fee, norm)):
        intents.discard("dispute")  # 利息太高了能不能少点: the reason for the request
    if {"dispute", "refuse"} <= intents and not _still(lex, "dispute", lex.dispute_insult, norm):
        intents.discard("dispute")  # 死也不还你们这黑心钱: an insult inside a refusal
    if ("ask_info" in intents and intents & _RHETORICAL_WITH
            and not lex.by_name["ask_info"].search(lex.ask_rhetorical.sub("#", norm))):
        intents.discard("ask_info")  # 弄啥嘞俺说了不还就是不还, 弄啥嘞俺早就还清了: rhetorical
    if "dispute" in intents and lex.blocks["ask_info"].search(norm):
        intents.discard("ask_info")  # 罚息是怎么来的我不同意: an objection, not a question
    if "wrong_party" in intents:
        intents.discard("ask_info")  # 我是她妈有啥事: a third party, not the borrower asking
        if "dispute" in intents and not _still(lex, "dispute", lex.dispute_mixup, norm):
            intents.discard("dispute")  # 搞错了吧我不姓李: the mix-up is the wrong-number report
    if "ask_info" in intents and intents & {"dispute", "request_agent"} and not _still(lex, "ask_info", lex.ask_nouns, norm):
        intents.discard("ask_info")  # 账单上的数不对我要找客服核对: the bill named, nothing asked
    if "request_agent" in intents and not _still(lex, "request_agent", lex.agent_question, norm):
        intents.discard("request_agent")  # 你是机器人吗, 客服电话是多少: a question, no person asked for
        intents.add("ask_info")
    if "refuse" in intents and "promise_to_pay" in intents and "payment_plan" not in intents:
        intents.discard("promise_to_pay")
    if {"payment_plan", "promise_to_pay"} <= intents:
        if (lex.plan_deferral.search(norm) or not _still(lex, "promise_to_pay", lex.plan_start, norm)
                or (lex.plan_instalment.search(norm) and not lex.plan_down_payment.search(norm))):
            # 十号再还行不行: a later day asked for; 从十五号开始每月还八百: the plan's first day;
            # 下周一先还一千然后每个月还一千: the first instalment is part of the plan (先转一千剩下的每个月
            # 还五百 keeps both: a down payment, then the rest in instalments)
            intents.discard("promise_to_pay")
        elif lex.plan_request.search(norm):
            if find_date(norm, today) is None:
                intents.discard("promise_to_pay")  # 能不能打个折我一次还清: a plan request, no promise
        elif (not _still(lex, "payment_plan", lex.plan_partial, lex.plan_weak.sub("#", norm))
              and (lex.plan_when.search(norm) or find_date(norm, today) is not None)):
            intents.discard("payment_plan")  # 后天还一半, 明天还不了后天还一千: the promise itself
    if critical:
        # A self-harm hint outweighs the rest: keep distress, a wish for a person, a plea to stop the
        # calls and a dated promise about money (明天我把钱都还了反正以后也用不着了), nothing else.
        keep = {"distress", "request_agent"}
        if "cease_contact" in intents and lex.contact_words.search(norm):
            keep.add("cease_contact")
        if "promise_to_pay" in intents and lex.money_words.search(norm) and find_date(norm, today) is not None:
            keep.add("promise_to_pay")
        intents &= keep
    short = _short_answers(norm, spaced, lex)
    if short and len(norm) <= 4 and not ("ask_info" in intents and lex.affirm_strong.match(_LEAD_FILLERS_RE.sub("", spaced))):
        # A bare 对/不是 is an answer; longer lines keep their content intents as well (对呀咋了).
        intents = {i for i in intents if i not in ("ask_info", "refuse", "dispute")}
    if "ask_info" in intents or "refuse" in intents or critical:
        if not ("ask_info" in intents and lex.affirm_strong.match(_LEAD_FILLERS_RE.sub("", spaced))):
            short.discard("affirm" if "ask_info" in intents else "deny")  # 是本人有啥事 keeps its yes
        if critical or "refuse" in intents:
            short.discard("deny")
        if critical:
            short.discard("affirm")  # 我就是家里的累赘: a statement about oneself, not a yes
    if "cease_contact" in intents and not lex.affirm_full.match(norm):
        short.discard("affirm")  # 行行行 ... 你们别再打了: impatience, not agreement
    intents |= short
    if "affirm" in intents and "deny" in intents:
        intents.discard("affirm")
    if "wrong_party" in intents or ("dispute" in intents and lex.by_name["dispute"].match(norm)):
        intents.discard("deny")  # 不是他本人我是他弟弟, 不是我借的: the 'no' is the report itself
    understood = bool(intents)
    intents, critical = refine(intents, critical, norm, "zh")  # trained model adds recall (classifier.py)
    if not understood and intents == {"distress"} and not critical:
        intents = _unless_sure_distress(norm)
    if not intents:
        intents.add("none")
    numbers = _numbers_norm(text, norm) if intents & (_PAY_INTENTS | _DATED_INTENTS) else norm
    amount = find_amount(numbers) if intents & _PAY_INTENTS else None
    when = None
    if intents & _DATED_INTENTS:
        past = "already_paid" in intents and "promise_to_pay" not in intents
        when = find_date(numbers, today, past=past, soon=bool(intents & _PAY_INTENTS))
    ordered = tuple(name for name in _ORDER if name in intents)
    return Understanding(text=text, intents=ordered, amount=amount, date=when, critical=critical)


def _unless_sure_distress(norm: str) -> set[str]:
    """Distress that replaced a rules 'none' as the model's top intent stays only when the model is
    sure of it: at its distress threshold, or at least DISTRESS_OVER_NONE times its 'none'. The
    shared combination takes any top intent that beats 'none' (我没接到: distress 0.37, none 0.36),
    and short unknown Mandarin lines ("我" + a verb + 了) lean to distress; true distress the
    rules miss sits far above 'none' (这段时间我精神状态很差: 0.42 vs 0.18). Empty set = 'none'."""
    model = load_model("zh")
    probs = model.probabilities(norm)
    sure = probs["distress"] >= distress_threshold(model, "zh") or probs["distress"] >= DISTRESS_OVER_NONE * probs["none"]
    return {"distress"} if sure else set()


_ORDER = (
    "promise_to_pay", "already_paid", "payment_plan", "dispute", "distress", "request_agent",
    "wrong_party", "callback", "refuse", "cease_contact", "affirm", "deny", "ask_info", "none",
)


def agent_normalise(text: str) -> str:
    """The text the agent patterns and the agent model read: lowercase, no spaces or punctuation."""
    return _PUNCT_RE.sub("", text.lower())


def agent_flags(text: str) -> tuple[str, ...]:
    """Compliance flags for one Mandarin agent utterance, in AGENT_FLAGS order: the patterns of
    agent.toml, then what the trained agent model adds (``classifier.agent_model_flags``) where
    no allowed phrase of that flag is on the line."""
    norm = agent_normalise(text)
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
    allowed = {flag: allow for flag, _, allow in lex.flags}
    for flag in agent_model_flags(norm, "zh", set(found)):
        allow = allowed.get(flag)
        if allow is not None and allow.search(norm):
            continue
        if flag == "third_party_disclosure" and "threat" in found and lex.addressee_owes.search(norm):
            continue
        found.append(flag)
    return tuple(sorted(found, key=AGENT_FLAGS.index))
