"""Mandarin wording families found in the mistakes on the spent zh_blind8 / zh_blind5 sets.

Each case is a new wording of a family, not a line from those sets: the rules must cover the
family (caller.toml, safety.toml, agent.toml), not the one line that exposed it.
"""
from __future__ import annotations

from datetime import date

import pytest

from voicebot.nlu import understand
from voicebot.nlu.zh import agent_flags

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize("text", ["过 了 这 周 你们 就 联系 不 上 我 了", "明天 以后 你们 就 找 不 着 我 了",
                                  "过 了 今晚 这个 号 就 没 人 接 了"])
def test_out_of_reach_from_a_near_day_is_critical(text: str) -> None:
    got = understand(text, "zh", TODAY)
    assert got.critical and got.intents == ("distress",)


def test_out_of_reach_for_an_everyday_reason_is_not_critical() -> None:
    assert not understand("明天 我 出差 你们 联系 不 上 我", "zh", TODAY).critical


@pytest.mark.parametrize(("text", "intents"), [
    # the account closed or the loan cancelled
    ("那 张 卡 我 早 就 销户 了", ("dispute",)),
    ("犹豫期 里 就 撤销 了 这 笔 借款", ("dispute",)),
    # charged again after paying; a fee above the principal
    ("已经 还 了 怎么 又 收 我 罚息", ("already_paid", "dispute")),
    ("违约金 比 本金 还 高", ("dispute",)),
    # someone else's name; a mix-up beside it is the report, not a dispute
    ("我 不 姓 赵", ("wrong_party",)),
    ("搞 错 了 吧 我 不 姓 孙", ("wrong_party",)),
    # the borrower in hospital and unable to take the call
    ("我 妈 在 医院 抢救 呢 接 不 了 电话", ("wrong_party",)),
    ("我 爸 住院 了 我 天天 跑 医院", ("distress",)),
    # "I never said that"; "it was my husband" is no yes
    ("我 可 没 说 过 这种 话", ("deny",)),
    ("是 我 老公 拿 我 身份证 借 的", ("dispute",)),
    # crude dismissals
    ("还 你 个 大头鬼", ("refuse",)),
    # questions about the bot, the hotline, the account: no request for a person
    ("你 是 机器人 吧", ("ask_info",)),
    ("客服 电话 是 多少", ("ask_info",)),
    ("还 到 哪 个 账户", ("ask_info",)),
    ("你 是 机器人 吧 给 我 转 人工", ("request_agent",)),
    # the debt ruining the speaker is distress
    ("这 笔 钱 把 我 一辈子 都 毁 了", ("distress",)),
])
def test_families(text: str, intents: tuple[str, ...]) -> None:
    assert understand(text, "zh", TODAY).intents == intents


@pytest.mark.parametrize(("text", "intents", "amount", "day"), [
    ("从 下 个 月 十号 开始 每 月 还 六百", ("payment_plan",), 600, date(2026, 12, 10)),  # a plan's first day
    ("过 两 个 礼拜 还 三千", ("promise_to_pay",), 3000, date(2026, 12, 12)),  # in N weeks
    ("礼拜 屋 还 一千", ("promise_to_pay",), 1000, date(2026, 12, 4)),  # 屋 heard for 五
    ("本金 四千 我 月底 还", ("promise_to_pay",), 4000, date(2026, 11, 30)),  # the principal, then paid
])
def test_amounts_and_days(text: str, intents: tuple[str, ...], amount: float, day: date) -> None:
    got = understand(text, "zh", TODAY)
    assert (got.intents, got.amount, got.date) == (intents, amount, day)


@pytest.mark.parametrize("text", ["我 没 接 到", "我 在 等 红绿灯"])
def test_short_everyday_lines_are_not_distress(text: str) -> None:
    assert understand(text, "zh", TODAY).intents == ("none",)


@pytest.mark.parametrize(("text", "flags"), [
    ("你 的 车 我们 明天 就 拉 走", ("threat",)),
    ("让 你 在 村里 混 不 下去", ("threat",)),
    ("你 还 配 当 妈", ("abuse",)),
    ("你 作为 她 家人 得 负责", ("third_party_disclosure",)),
    ("告诉 你 那个 老公 赶紧 还钱", ("third_party_disclosure",)),
    ("税务局 的 找 你", ("false_representation",)),
    ("你 卡 里 余额 还 有 三百", ("privacy",)),
    ("他 欠 了 一屁股 债", ("third_party_disclosure",)),  # an idiom, no profanity
    ("请 您 确认 账户 余额 充足", ()),
    ("您 可以 联系 家人 一起 商量 还款", ()),
    ("如果 您 压力 太 大 请 拨打 心理 援助 热线", ()),
])
def test_agent_families(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text) == flags
