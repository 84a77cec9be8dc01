"""Every shipped script walked through its paths with the real NLU (voicebot.nlu.understand):
every state visited, a promise captured, read back and confirmed, nothing about the debt
before verification, and the hand-offs land with the right reason."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

import pytest

from dialogue_testdata import REPO, TODAY
from voicebot.dialogue import Account, Dialogue, EndCall, HandOff, Say, StateChanged, load_account, script_for

# path name -> (caller turns, expected end: disposition or "handoff:<reason>")
PATHS: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "en": {
        "ptp": (("yes speaking", "i will pay two hundred dollars on friday", "yes"), "ptp"),
        "ptp_via_questions": (("who is this", "yes", "how much do i owe", "yes", "i can pay on friday", "no",
                               "no i can only pay fifty", "i can pay two hundred dollars", "yes"), "ptp"),
        "correction": (("yes", "i can pay two hundred dollars", "i can pay on friday", "no that is wrong",
                        "i will pay two hundred dollars on friday", "yes"), "ptp"),
        "policy": (("yes", "i will pay fifty dollars on friday", "yes"), "handoff:promise_outside_policy"),
        "wrong_party": (("no he is not here", "call back tomorrow"), "wrong_party"),
        "paid": (("yes", "i already paid last week", "i paid it on wednesday by card"), "paid"),
        "callback": (("yes", "call me back later", "tomorrow evening"), "callback"),
        "callback_unverified": (("call me back tomorrow",), "callback"),
        "refuse": (("yes", "i am not paying", "no"), "refused"),
        "refuse_unverified": (("i am not interested",), "refused"),
        "cease": (("yes", "stop calling me"), "cease"),
        "no_input": (("", ""), "no_input"),
        "voicemail": (("#voicemail",), "voicemail"),
        "critical": (("yes", "i dont want to live anymore"), "handoff:critical_distress"),
        "distress": (("yes", "i lost my job and my wife is in hospital"), "handoff:distress"),
        "dispute": (("yes", "i never borrowed any money from you"), "handoff:dispute"),
        "agent": (("yes", "i want to talk to a real person"), "handoff:request_agent"),
        "plan": (("yes", "can i pay in installments"), "handoff:payment_plan"),
        "no_match": (("yes", "asdf qwerty", "asdf qwerty"), "handoff:no_match"),
        "refuse_then_help": (("yes", "i am not paying", "yes"), "handoff:payment_plan"),
    },
    "zh": {
        "ptp": (("是的 我是", "我 周五 还 两千", "对"), "ptp"),
        "ptp_via_questions": (("你们 是 谁 啊", "是 我 本人", "还 多少 钱", "对", "我 周五 还", "不 行",
                               "我 能 还 两千", "对 没错"), "ptp"),
        "correction": (("是的", "我 能 还 两千", "我 周五 还", "不对", "周五 还 两千 元", "对"), "ptp"),
        "policy": (("是的", "周五 还 五百", "好 的"), "handoff:promise_outside_policy"),
        "wrong_party": (("他 不在", "明天 再 打 给 我"), "wrong_party"),
        "paid": (("是的", "我 已经 还 了", "我 周三 用 支付宝 还 的"), "paid"),
        "callback": (("是的", "等 会儿 再 打 给 我", "明天 晚上"), "callback"),
        "callback_unverified": (("明天 再 打 给 我",), "callback"),
        "refuse": (("是的", "我 不 还", "不 行"), "refused"),
        "refuse_unverified": (("我 不 还",), "refused"),
        "cease": (("是的", "别 再 给 我 打 电话 了"), "cease"),
        "no_input": (("", ""), "no_input"),
        "voicemail": (("#voicemail",), "voicemail"),
        "critical": (("是的", "活着 没 意思"), "handoff:critical_distress"),
        "distress": (("是的", "我 失业 了 家里 有 病人"), "handoff:distress"),
        "dispute": (("是的", "这 钱 我 没 借 过"), "handoff:dispute"),
        "agent": (("是的", "我 要 找 人工"), "handoff:request_agent"),
        "plan": (("是的", "能不能 分期"), "handoff:payment_plan"),
        "no_match": (("是的", "天气 不错", "天气 不错"), "handoff:no_match"),
    },
    "ko": {
        "ptp": (("네", "내일 오만원 낼게요", "네"), "ptp"),
        "full_amount": (("네", "네", "금요일에 낼게요", "네", "네"), "ptp"),
        "wrong_party": (("아니요", "모르겠어요"), "wrong_party"),
        "cease": (("네", "다시는 전화하지 마세요"), "cease"),
        "no_input": (("", ""), "no_input"),
        "voicemail": (("#voicemail",), "voicemail"),
        "agent": (("네", "상담원 연결해 주세요"), "handoff:request_agent"),
        "critical": (("네", "죽고 싶어요"), "handoff:critical_distress"),
        "dispute": (("네", "저는 돈 빌린 적 없어요"), "handoff:dispute"),
    },
}
DEBT_TEXT = {"en": ("debt", "loan", "owe", "payment", "dollar", "two hundred fifty"),
             "zh": ("欠款", "借款", "还款", "逾期", "两千五百元"),
             "ko": ("대출", "연체", "납부", "상환", "십만 원")}


def need_nlu(lang: str) -> None:
    if importlib.util.find_spec(f"voicebot.nlu.{lang}") is None:
        pytest.skip(f"voicebot.nlu.{lang} not written yet")


def account(lang: str) -> Account:
    return load_account(REPO / "examples" / f"account_{lang}.json")


def walk(lang: str, turns: tuple[str, ...]) -> tuple[Dialogue, list[Any]]:
    d = Dialogue(script_for(lang), account(lang), TODAY)
    actions = d.start()
    for turn in turns:
        if d.finished:
            break
        if turn == "":
            actions += d.on_no_input()
        elif turn == "#voicemail":
            actions += d.on_voicemail()
        else:
            actions += d.on_caller_turn(turn)
    return d, actions


def ending(d: Dialogue, actions: list[Any]) -> str:
    last = actions[-1]
    if isinstance(last, HandOff):
        return f"handoff:{last.reason}"
    assert isinstance(last, EndCall), f"call did not end: state {d.state}"
    return last.disposition


@pytest.mark.parametrize("lang, name", [(lang, name) for lang, paths in PATHS.items() for name in paths])
def test_path(lang: str, name: str) -> None:
    need_nlu(lang)
    turns, expected = PATHS[lang][name]
    d, actions = walk(lang, turns)
    assert ending(d, actions) == expected, [(a.new) for a in actions if isinstance(a, StateChanged)]
    # Nothing about the debt is said until the right party is verified.
    lines = [a for a in actions if isinstance(a, Say)]
    cut = next((i for i, s in enumerate(lines) if s.state == "disclosure"), len(lines))
    for say in lines[:cut]:
        assert not say.mentions_debt, say
        assert not any(w in say.text.lower() for w in DEBT_TEXT[lang]), say.text
    if expected == "ptp":
        out = d.outcome
        assert out.promise_confirmed and out.promise_amount and out.promise_date
        readback = [s for s in lines if s.state == "confirm_promise"][-1]
        assert readback.text.count(str(out.promise_date.day)) >= 1
    if expected in ("wrong_party", "voicemail"):
        assert not any(s.mentions_debt for s in lines)
    if expected == "cease":
        assert d.outcome.opt_out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_state_is_visited(lang: str) -> None:
    need_nlu(lang)
    visited: set[str] = set()
    for turns, _ in PATHS[lang].values():
        _, actions = walk(lang, turns)
        visited |= {a.new for a in actions if isinstance(a, StateChanged)}
    assert set(script_for(lang).states) - visited == set()


def test_ko_promise_with_ne_answers() -> None:
    need_nlu("ko")
    d, actions = walk("ko", ("네", "내일 오만원 낼게요", "네"))
    readback = [a for a in actions if isinstance(a, Say) and a.state == "confirm_promise"][-1]
    assert "11월 29일 일요일에 오만 원" in readback.text
    assert (d.outcome.promise_amount, d.outcome.promise_date.isoformat(), d.outcome.promise_confirmed) == (
        50000.0, "2026-11-29", True)


@pytest.mark.parametrize("lang, turns, disposition", [
    ("en", ["yes speaking", "i will pay two hundred dollars on friday", "yes"], "ptp"),
    ("zh", ["是的 我是", "我 周五 还 两千", "对"], "ptp"),
    ("ko", ["#dtmf 1", "내일 오만원 낼게요", "네"], "ptp"),
])
def test_chat_json(lang: str, turns: list[str], disposition: str) -> None:
    need_nlu(lang)
    run = subprocess.run(
        [sys.executable, "-m", "voicebot", "chat", "--lang", lang, "--account",
         str(REPO / "examples" / f"account_{lang}.json"), "--today", TODAY.isoformat(), "--json"],
        input="\n".join(turns) + "\n", capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(l) for l in run.stdout.splitlines()]
    assert {l["type"] for l in lines} >= {"say", "state", "understood", "outcome"}
    assert lines[0] == {"type": "state", "from": "", "to": "greeting"}
    outcome = lines[-1]
    assert outcome["type"] == "outcome" and outcome["disposition"] == disposition
    assert outcome["promise"]["confirmed"] is True and outcome["handoff_reason"] is None
    says = [l for l in lines if l["type"] == "say"]
    assert says[-1]["state"] == "close_ptp"
    assert any(l["type"] == "understood" and l["intents"] for l in lines)
