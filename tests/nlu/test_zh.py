"""Mandarin caller intents and agent flags (voicebot.nlu.zh), plus the accuracy targets."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voicebot.nlu import understand
from voicebot.nlu.scoring import load_jsonl, score_lines
from voicebot.nlu.zh import agent_flags

TODAY = date(2026, 11, 28)
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
OWN = Path(__file__).parent / "data"


@pytest.mark.parametrize(("text", "intent"), [
    ("我 明天 就 还 两千五", "promise_to_pay"),
    ("前天 我 转 了 两千 过去", "already_paid"),
    ("最近 手头 紧 能 不能 分 期", "payment_plan"),
    ("周转 不开 能 不能 缓 两 天", "payment_plan"),
    ("这 笔 钱 不是 我 借 的", "dispute"),
    ("我 失业 了 老婆 又 住院", "distress"),
    ("我 爸 去世 了 我 现在 很 乱", "distress"),
    ("帮 我 转 人工", "request_agent"),
    ("你 打错 了", "wrong_party"),
    ("我 在 开车 晚 点 再 说", "callback"),
    ("老子 死 都 不 还", "refuse"),
    ("别 再 给 我 打 电话 了", "cease_contact"),
    ("是 的", "affirm"),
    ("不 是", "deny"),
    ("一共 欠 多少", "ask_info"),
    ("喂 听 得 见 吗", "none"),
])
def test_each_intent(text: str, intent: str) -> None:
    assert intent in understand(text, "zh", TODAY).intents


@pytest.mark.parametrize("text", ["活着 没 意思", "我 不 想 活 了", "真 的 没 什么 好 留恋 的 了",
                                  "我 想 从 楼上 跳 下去"])
def test_critical_hints_are_critical_distress(text: str) -> None:
    got = understand(text, "zh", TODAY)
    assert got.critical and "distress" in got.intents


@pytest.mark.parametrize("text", ["老子 死 都 不 还", "打死 我 也 不 还", "烦 死 了 你们 天天 打"])
def test_death_idioms_are_not_critical(text: str) -> None:
    assert not understand(text, "zh", TODAY).critical


def test_relative_reporting_hospital_is_wrong_party_only() -> None:
    assert understand("他 住院 了 手机 在 我 这儿", "zh", TODAY).intents == ("wrong_party",)


def test_money_tight_is_plan_not_distress() -> None:
    got = understand("我 最近 手头 紧", "zh", TODAY)
    assert "payment_plan" in got.intents and "distress" not in got.intents


def test_promise_carries_amount_and_date() -> None:
    got = understand("下 礼拜二 一定 还 你 三千 块", "zh", TODAY)
    assert got.intents == ("promise_to_pay",)
    assert got.amount == 3000 and got.date == date(2026, 12, 1)


def test_none_is_never_combined() -> None:
    got = understand("呃 呃", "zh", TODAY)
    assert got.intents == ("none",) and got.amount is None and got.date is None


@pytest.mark.parametrize(("text", "flags"), [
    ("我们 这边 是 刑警 队 的", ("false_representation",)),
    ("你 的 身份证 号码 我 这 有 五 一 零 一 零 七 一 九 九 二 一 一 零 八 七 七 六 五", ("privacy",)),
    ("你 真 是 个 废物", ("abuse",)),
    ("明天 我们 的 人 就 去 你 家 把 电视 搬 走", ("threat",)),
    ("您 是 她 父亲 吧 您 女儿 从 八月 开始 就 没 还 过 款", ("third_party_disclosure",)),
    ("长期 不 还 的 账户 有 可能 走 诉讼 程序 我们 会 提前 书面 告知", ()),
    ("为了 核实 身份 请 告诉 我 您 身份证 的 后四位", ()),
    ("可能 会 上报 征信", ()),
    ("那 麻烦 您 转告 他 给 我们 回 个 电话 我 姓 刘", ()),
])
def test_agent_flags(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text) == flags


CALLER_TARGETS = {"macro_f1": 0.90, "distress_recall": 0.97, "critical_recall": 1.0,
                  "critical_precision": 0.8, "amount_exact": 0.93, "date_exact": 0.93}


@pytest.mark.parametrize("path", [SHARED / "nlu_dev_zh.jsonl", OWN / "zh_caller.jsonl",
                                  OWN / "zh_blind_caller.jsonl"],
                         ids=["dev", "own", "blind"])
def test_caller_targets(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not present")
    scores = score_lines(load_jsonl(path))["caller"]
    for figure, floor in CALLER_TARGETS.items():
        assert scores[figure] >= floor, (figure, scores[figure])


@pytest.mark.parametrize("path", [SHARED / "agent_dev_zh.jsonl", OWN / "zh_agent.jsonl",
                                  OWN / "zh_blind_agent.jsonl", OWN / "zh_blind2_agent.jsonl"],
                         ids=["dev", "own", "blind", "blind2"])
def test_agent_targets(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not present")
    scores = score_lines(load_jsonl(path))["agent"]
    assert scores["macro_f1"] >= 0.85
    assert scores["compliant_flagged"] <= 0.05


# zh_blind2_caller.jsonl was written after the tuning on zh_blind_caller.jsonl; unseen it scored
# macro-F1 0.818, distress recall 0.646, critical recall 0.50. The safety layer
# (voicebot/nlu/safety.py) was then designed from the categories of its misses, so blind2 is no
# longer unseen: it now scores macro-F1 0.842, distress and critical recall 1.0, critical
# precision 1.0. These are regression floors; the honest unseen estimate is zh_blind3
# (tests/nlu/test_safety.py).
BLIND2_FLOORS = {"macro_f1": 0.84, "distress_recall": 1.0, "critical_recall": 1.0,
                 "critical_precision": 1.0, "amount_exact": 0.93, "date_exact": 0.93}


def test_blind2_caller_floors() -> None:
    scores = score_lines(load_jsonl(OWN / "zh_blind2_caller.jsonl"))["caller"]
    for figure, floor in BLIND2_FLOORS.items():
        assert scores[figure] >= floor, (figure, scores[figure])
