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
    ("你 躲 到 哪 我们 都 找 不 到 你 吗 别 做梦 了", ("threat",)),
    ("不 接 电话 是 吧 那 就 天天 打", ("threat",)),
    ("你 的 案子 月底 就 开庭", ("threat",)),
    ("我们 已经 把 你 的 逾期 情况 通知 了 你 的 同事", ("third_party_disclosure",)),
    ("你 脑子 坏 了 吧", ("abuse",)),
    ("三十 岁 的 人 了 还 这样", ("abuse",)),
    ("我 是 人民 银行 的 工作人员", ("false_representation",)),
    ("你 住 的 是 东方 小区 吧 门牌号 我 这里 都 有", ("privacy",)),
    # a threat to post it in a group is the threat alone, not a disclosure yet
    ("再 不 还 就 发 到 你 同学 群 里", ("threat",)),
    ("您 的 账单 还 有 三 天 到期 请 按时 还款", ()),
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


@pytest.mark.parametrize(("text", "intents"), [
    # a weekday or day with 就 ... 了 / 过去了 is a payment made; a 把 clause ahead is a promise
    ("周二 那天 就 转 过去 了", ("already_paid",)),
    ("星期一 就 还 了 一千 块 了", ("already_paid",)),
    ("三十号 我 把 一万五 还 了", ("promise_to_pay",)),
    ("等 我 把 车 卖 了 就 把 三万 还 了", ("promise_to_pay",)),
    # a bare time word on a payment line is when the money comes, not a callback
    ("待会儿 我 用 微信 还 二百", ("promise_to_pay",)),
    ("改天 吧", ("callback",)),
    # a plan asked for keeps no promise; a dated part payment is the promise itself
    ("可不可以 等 我 发 了 工资 再 还", ("payment_plan",)),
    ("十五号 再 还 行 不 行", ("payment_plan",)),
    ("后天 先 还 一半", ("promise_to_pay",)),
    # fee complaints next to a plan request are its reason; alone they are a dispute
    ("利息 高 得 离谱 能 不能 减 一点", ("payment_plan",)),
    ("你们 这 罚息 简直 是 抢钱", ("dispute",)),
    # hardship without a request is distress only
    ("我 住院 一 个 月 了 哪 有 钱 还", ("distress",)),
    # numbers that belong to someone else
    ("这 是 单位 前台 的 座机", ("wrong_party",)),
    ("这 号 以前 是 我 哥 的 现在 我 在 用", ("wrong_party",)),
    ("我 爸 前年 就 过世 了 这 卡 是 他 的", ("wrong_party",)),
    # refusals and their rhetoric
    ("不 还", ("refuse",)),
    ("免谈", ("refuse",)),
    ("弄 啥 嘞 俺 说 了 不 还", ("refuse",)),
    # the caller's own yes survives a question after it; impatience next to 别再打 is no yes
    ("是 本人 你 是 哪 里", ("affirm", "ask_info")),
    ("行 行 行 周五 还 你们 别 再 打 了", ("promise_to_pay", "cease_contact")),
    ("不 许 再 打 我 单位 电话", ("cease_contact",)),
])
def test_rule_classes(text: str, intents: tuple[str, ...]) -> None:
    assert understand(text, "zh", TODAY).intents == intents


@pytest.mark.parametrize("text", ["我 表哥 前 阵子 想 不 开 自杀 了 我 到 现在 都 缓 不 过来",
                                  "我 舅舅 跳楼 走 的 我 现在 一 听 电话 就 发抖",
                                  "我 老板 会 骂 死 我 的",
                                  "这 破 车 又 熄火 了 死 在 半路 上"])
def test_someone_elses_death_and_figures_of_speech_are_not_critical(text: str) -> None:
    assert not understand(text, "zh", TODAY).critical


@pytest.mark.parametrize("text", ["我 胳膊 上 又 多 了 几 道 口子", "我 刚 把 刀 放 下 找 个 人 陪 我 说 说 话"])
def test_wounds_and_weapons_are_critical(text: str) -> None:
    got = understand(text, "zh", TODAY)
    assert got.critical and "distress" in got.intents


def test_critical_line_keeps_only_distress_and_a_request_for_a_person() -> None:
    got = understand("反正 我 也 撑 不 了 多久 了 你们 爱 咋 咋 地", "zh", TODAY)
    assert got.critical and got.intents == ("distress",)
