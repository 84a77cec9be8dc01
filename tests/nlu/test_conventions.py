"""Conventions the team agreed where shared/data/README.md is silent (today is Saturday 2026-11-28).

Dates: "in a week" / 一个星期后 = +7, 三个礼拜以后 = +21, 下礼拜六 = Saturday next week, "before/by
<day>" (周二之前) = that day, same-day phrases (马上, 等会儿, "right now") = today, already-paid
"last sunday" = the most recent past Sunday. Amounts: ASR slips read as meant (三白 = 300),
vague amounts (几千) are null. Distress that is not critical: a third party's suicide,
antidepressants, not affording food, family illness / hospital.
"""
from __future__ import annotations

from datetime import date

import pytest

from voicebot.nlu import understand
from voicebot.nlu.zh_numbers import find_amount

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(("text", "lang", "day"), [
    ("i'll pay it in a week", "en", "2026-12-05"),
    ("一个 星期 后 给 你们 转 八百", "zh", "2026-12-05"),
    ("三个 礼拜 以后 一次性 结清", "zh", "2026-12-19"),
    ("两 个 礼拜 以后 还 三千", "zh", "2026-12-12"),
    ("下礼拜六 还 两千", "zh", "2026-12-05"),
    ("周二 之前 把 一千二 打 过去", "zh", "2026-12-01"),
    ("我 马上 转 三百", "zh", "2026-11-28"),
    ("我 现在 就 用 支付宝 还 三百", "zh", "2026-11-28"),
    ("这个 月 三十号 还 2000", "zh", "2026-11-30"),
    ("圣诞节 那天 九千 全部 还 清", "zh", "2026-12-25"),
    ("i paid last sunday", "en", "2026-11-22"),
])
def test_agreed_dates(text: str, lang: str, day: str) -> None:
    result = understand(text, lang, TODAY)
    assert result.date is not None and result.date.isoformat() == day, result


@pytest.mark.parametrize(("text", "amount"), [
    ("礼拜二还三白", 300.0),          # slip read as meant
    ("最晚周五七百到账", 700.0),      # the weekday's digit is not part of the amount
    ("礼拜五九百九十九凑个整", 999.0),
    ("十五号一万二一次性结清", 12000.0),
    ("二十号八千一分不少", 8000.0),   # 一分不少 is an idiom, not 8100
    ("先还几千吧月底", None),         # vague
])
def test_zh_amount_conventions(text: str, amount: float | None) -> None:
    from voicebot.nlu.zh import normalise
    assert find_amount(normalise(text)) == amount


@pytest.mark.parametrize(("text", "lang"), [
    ("my mate took his own life last month and i'm all over the place", "en"),
    ("i'm on antidepressants and these calls make it worse", "en"),
    ("i can't even afford food this week", "en"),
    ("my mum's in hospital i've been there all week", "en"),
    ("我 在 吃 抗抑郁 的 药", "zh"),
    ("我 老婆 生病 住院 了", "zh"),
])
def test_distress_not_critical(text: str, lang: str) -> None:
    result = understand(text, lang, TODAY)
    assert "distress" in result.intents and not result.critical, result


@pytest.mark.parametrize(("text", "intent"), [
    ("i think somebody's been using my details", "dispute"),
    ("hang on i cancelled that within the cooling off period", "dispute"),
    ("i'm revoking consent for you to call this number", "cease_contact"),
    ("honestly mate chase me all you like you're getting zilch", "refuse"),
    ("sorry i'm just the babysitter", "wrong_party"),
    ("will this go on my credit file", "ask_info"),
])
def test_en_intent_classes(text: str, intent: str) -> None:
    assert intent in understand(text, "en", TODAY).intents


def test_en_idiom_deaths_not_critical() -> None:
    assert not understand("that deal's dead i'm not paying anything", "en", TODAY).critical
    assert not understand("grandma's dying in a hospice so i can't deal with this right now", "en", TODAY).critical
