"""Mandarin wording families found in the mistakes on the spent zh_blind8 / zh_blind5 sets and, further
down, on the spent zh_blind9 / zh_blind6 agent sets.

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


# --- families from the spent zh_blind9 caller / zh_blind6 agent sets ---

@pytest.mark.parametrize("text", [
    # hurting oneself, outright or feared
    "我 这 几天 一直 想 伤害 我 自己", "我 又 自残 了", "胳膊 上 全是 我 自己 割 的 口子",
    "我 怕 自己 忍不住 做 傻事", "我 控制 不住 就 想 打 自己",
    # losing control, a danger to oneself, unwanted thoughts
    "我 感觉 我 现在 非常 危险", "我 快 控制 不住 自己 了", "我 怕 我 会 做出 什么 事 来",
    "脑子 里 老有 个 念头 挥 不 走", "我 现在 满脑子 都是 不好 的 念头",
    # the speaker's death paying the debt
    "等 我 没 了 保险 的 钱 够 还 你们", "我 人 不在 了 以后 赔偿金 会 还 你们", "我 这 条 命 拿去 抵 债 吧",
    "保单 的 受益人 我 已经 改 成 我 儿子 了",
    # giving things away, entrusting dependants
    "我 的 东西 全部 都 送人 了", "家里 的 狗 我 托付 给 朋友 了",
    # soon nothing will matter
    "马上 就 什么 都 不 重要 了", "不久 以后 就 不用 你们 再 催 了",
])
def test_self_harm_families_are_critical(text: str) -> None:
    got = understand(text, "zh", TODAY)
    assert got.critical and "distress" in got.intents


@pytest.mark.parametrize(("text", "intents"), [
    ("这 笔 利息 真 要 我 命 了", ("distress",)),  # a figure of speech: distress, not critical
    ("老子 死 也 不 还", ("refuse",)),
    ("我 是 她 女儿 这 几天 在 帮 她 办 丧事", ("wrong_party",)),  # a relative's report
    ("我 在 帮 他 料理 后事 他 的 账 我 不 清楚", ("wrong_party",)),
    ("开车 呢 高速 上 很 危险 晚点 打", ("callback",)),
    ("等 车险 理赔 下来 保险 的 钱 就 还 你们", ("promise_to_pay",)),
])
def test_death_words_in_everyday_use_are_not_critical(text: str, intents: tuple[str, ...]) -> None:
    got = understand(text, "zh", TODAY)
    assert not got.critical and got.intents == intents


@pytest.mark.parametrize(("text", "intents"), [
    # questions about being overdue, interest, proof of payment; who is calling
    ("后天 还 三千 会 不会 算 逾期 啊", ("promise_to_pay", "ask_info")),
    ("能 不 能 给 我 出 一 份 结清 证明", ("ask_info",)),
    ("你 究竟 是 哪 里 的", ("ask_info",)),
    ("该不会 是 诈骗 吧 我 怎么 知道 你们 是 正规 的", ("ask_info",)),
    # never overdue, a promise by the service desk, not mine, complained to the regulator
    ("我 开通 了 自动 还款 从来 没 逾期", ("dispute",)),
    ("上次 客服 答应 了 不 收 违约金", ("dispute",)),
    ("凭什么 算 我 头上", ("dispute",)),
    ("再 打 我 就 投诉 到 银保监", ("cease_contact",)),  # a threat to complain is a plea to stop
    # cannot talk now; call me at a named time
    ("这会儿 讲 不 了", ("callback",)),
    ("礼拜三 晚上 打 给 我", ("callback",)),
    ("你们 天天 打 我 烦 不 烦", ("cease_contact",)),
    # refusals, denials
    ("凭什么 给 你 钱", ("refuse",)),
    ("我 没 收到 过 任何 短信", ("deny",)),
    ("明天 恐怕 不行", ("deny",)),
    # a bill named inside a complaint of hardship is no question
    ("账单 越来越 多 我 真的 扛 不 住 了", ("distress",)),
])
def test_blind9_intent_families(text: str, intents: tuple[str, ...]) -> None:
    assert understand(text, "zh", TODAY).intents == tuple(i for i in _ORDER if i in intents)


@pytest.mark.parametrize("text", ["我 早 就 投诉 到 消协 了", "我 已经 投诉 到 人民银行 了"])
def test_a_complaint_already_made_to_the_regulator_is_a_dispute(text: str) -> None:
    # the rules' verdict; the model may add distress to such lines (trained figures, not a rule)
    got = understand(text, "zh", TODAY)
    assert "dispute" in got.intents and not got.critical


@pytest.mark.parametrize(("text", "intents", "amount", "day"), [
    ("嗯 对 就 礼拜一 三千", ("promise_to_pay", "affirm"), 3000, date(2026, 11, 30)),  # a read-back confirmed
    ("明天 先 还 八百 然后 每 个 礼拜 还 八百", ("payment_plan",), 800, date(2026, 11, 29)),  # first instalment
    ("月底 先 打 三千 剩下 的 每 个 月 还 一千", ("promise_to_pay", "payment_plan"), 3000, date(2026, 11, 30)),
    ("一 周 两百 行 吗", ("payment_plan",), 200, None),  # a weekly sum, no Wednesday
    ("先 还 一部分 剩下 的 年后 再 说", ("payment_plan",), None, None),
    ("工资 到 了 明天 或者 后天 还 两千", ("promise_to_pay",), 2000, None),  # two days: none fixed
    ("后天 还 伞千", ("promise_to_pay",), 3000, date(2026, 11, 30)),  # 伞 heard for 三
    ("周五 还 两千舞百", ("promise_to_pay",), 2500, date(2026, 12, 4)),  # 舞 heard for 五
])
def test_blind9_amounts_and_days(text: str, intents: tuple[str, ...], amount: float | None, day: date | None) -> None:
    got = understand(text, "zh", TODAY)
    assert (got.intents, got.amount, got.date) == (tuple(i for i in _ORDER if i in intents), amount, day)


@pytest.mark.parametrize(("text", "flags"), [
    ("你 的 家人 我们 会 挨个 通知", ("threat",)),
    ("你 肯定 不想 让 你 同事 知道 吧", ("threat",)),
    ("再 不 还 我 马上 给 你 老婆 打 电话", ("threat",)),
    ("欠钱 不 还 的 没 好 下场", ("threat",)),
    ("少 说 废话", ("abuse",)),
    ("你 这个 人 真 没用", ("abuse",)),
    ("别 拿 生病 当 借口 骗 鬼 呢", ("abuse",)),
    ("你 爸 的 贷款 逾期 了", ("third_party_disclosure",)),
    ("我们 是 催收 公司 的 麻烦 你 告诉 他 一声", ("third_party_disclosure",)),
    ("我们 配合 公安 调查 你 的 案子", ("false_representation",)),
    ("法院 已经 判 了 你 输", ("false_representation",)),
    ("再 拖 就 等 着 收 传票", ("threat",)),  # a lawsuit threatened, nobody posing as the court
    ("法院 判决 的 事情 我们 这边 不 清楚", ()),
    ("这个 链接 没用 的话 我 再 发 一个", ()),
])
def test_blind6_agent_families(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text) == flags


_ORDER = ("promise_to_pay", "already_paid", "payment_plan", "dispute", "distress", "request_agent",
          "wrong_party", "callback", "refuse", "cease_contact", "affirm", "deny", "ask_info", "none")


# Families from the mistakes on zh_blind17 (ninth session). New wordings, not that set's lines.

@pytest.mark.parametrize("text", ["等 过 完 这个 月 你们 就 不用 再 催 了 我 想好 了",
                                  "过 了 明天 就 不 需要 你们 再 打 了"])
def test_no_more_calls_after_a_near_day_is_critical(text: str) -> None:
    assert understand(text, "zh", TODAY).critical


def test_no_more_calls_after_a_day_with_the_debt_paid_is_not_critical() -> None:
    assert not understand("过 了 这 周 你们 就 不用 再 打 了 我 发 工资 就 还 清", "zh", TODAY).critical


def test_living_on_a_parents_pension_is_no_entrusting_goodbye() -> None:
    got = understand("我 要 照顾 生病 的 我 妈 家里 就 靠 我 爸 的 退休金 过日子", "zh", TODAY)
    assert not got.critical and "distress" in got.intents


def test_entrusting_the_family_is_still_critical() -> None:
    assert understand("家里 以后 就 靠 你们 了 我 撑 不 下去 了", "zh", TODAY).critical


@pytest.mark.parametrize("text", ["我 妈 前年 就 过世 了", "我 老公 好几年前 就 走了 你们 找 错 人 了"])
def test_a_long_ago_death_of_the_borrower_is_wrong_party(text: str) -> None:
    got = understand(text, "zh", TODAY)
    assert "wrong_party" in got.intents and "distress" not in got.intents


def test_a_flat_disagreement_is_deny() -> None:
    assert understand("我 不 同意", "zh", TODAY).intents == ("deny",)


def test_a_down_payment_then_a_dated_second_part_is_promise_and_plan() -> None:
    got = understand("最近 周转 不开 我 先 还 八百 月底 再 还 八百 可以 吗", "zh", TODAY)
    assert {"promise_to_pay", "payment_plan"} <= set(got.intents) and got.amount == 800


def test_a_down_payment_then_monthly_instalments_is_the_plan() -> None:
    got = understand("下 周一 先 还 一千 然后 每个 月 还 一千", "zh", TODAY)
    assert "payment_plan" in got.intents and "promise_to_pay" not in got.intents


# Families from the mistakes on zh_blind18 / the zh_blind19 agent set (ninth session). New wordings.

@pytest.mark.parametrize("text, amount, day", [
    ("两千 五 二十号 之前 打 给 你们", 2500, "2026-12-20"),  # a spaced sum before a day is not 两千五二十
    ("二 十 号 我 还 三 千", 3000, "2026-12-20"),  # a day spoken digit by digit stays one day
    ("一万 下个月 五号 一次性 结清", 10000, "2026-12-05"),
    ("六百 礼拜三 给 你", 600, "2026-12-02"),
    ("八千 我 没有 先 还 一千 后天", 1000, "2026-11-30"),
])
def test_sums_next_to_days_and_refused_totals(text: str, amount: int, day: str) -> None:
    got = understand(text, "zh", TODAY)
    assert "promise_to_pay" in got.intents and got.amount == amount and str(got.date) == day


@pytest.mark.parametrize("text, intents, day", [
    ("昨儿 我 让 我 儿子 帮 我 转 的 五百", ("already_paid",), "2026-11-27"),
    ("我 要是 明天 还 了 能 不 能 不 上 征信", ("ask_info",), None),
    ("按 一 能 转 人工 吗", ("request_agent",), None),
    ("下 礼拜一 再 来 电话 吧", ("callback",), "2026-11-30"),
    ("莫得", ("deny",), None),
])
def test_dialect_days_hypotheticals_and_transfers(text: str, intents: tuple[str, ...], day: str | None) -> None:
    got = understand(text, "zh", TODAY)
    assert got.intents == intents and (str(got.date) if got.date else None) == day


def test_a_call_threatened_with_a_complaint_is_no_callback() -> None:
    assert "callback" not in understand("再 打 电话 我 就 报警", "zh", TODAY).intents


def test_the_money_arriving_on_a_day_is_a_promise() -> None:
    got = understand("我 马上 登机 了 款 明天 肯定 到", "zh", TODAY)
    assert "promise_to_pay" in got.intents and str(got.date) == "2026-11-29"


def test_a_slow_system_is_an_idiom_not_a_death_word() -> None:
    assert not understand("这 app 慢 死 了 给 我 转 人工", "zh", TODAY).critical


def test_a_widow_paying_herself_is_distress_not_wrong_party() -> None:
    got = understand("我 老公 上个月 走 了 我 自己 慢慢 还 月底 先 还 三百", "zh", TODAY)
    assert "distress" in got.intents and "wrong_party" not in got.intents and "promise_to_pay" in got.intents


@pytest.mark.parametrize("text, flags", [
    ("这 不是 刑事 案件 不会 有 警察 来 找 您", ()),
    ("您 工资 是 二十 号 发 的话 还款日 可以 往后 挪", ()),
    ("你 他妈 别 跟 我 扯", ("abuse",)),
    ("你 工资 是 六千 五 我们 这边 都 有", ("privacy",)),
])
def test_blind19_agent_families(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text) == flags
