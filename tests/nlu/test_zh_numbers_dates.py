"""Mandarin number and date parsing (voicebot.nlu.zh_numbers, voicebot.nlu.zh_dates)."""
from __future__ import annotations

from datetime import date

import pytest

from voicebot.nlu.zh import normalise
from voicebot.nlu.zh_dates import find_date
from voicebot.nlu.zh_numbers import find_amount, parse_number

TODAY = date(2026, 11, 28)  # a Saturday, as in the labelled data


@pytest.mark.parametrize(("run", "value"), [
    ("两千五", 2500), ("一万二", 12000), ("三百五十", 350), ("三百五", 350), ("五百", 500),
    ("3000", 3000), ("1万", 10000), ("1万2", 12000), ("一千零五十", 1050), ("十五", 15),
    ("二十", 20), ("两万五千五百", 25500), ("一万五", 15000), ("十万", 100000), ("3千", 3000),
])
def test_parse_number(run: str, value: float) -> None:
    assert parse_number(run) == value


@pytest.mark.parametrize("run", ["五六百", "一二三四"])
def test_parse_number_rejects_ranges_and_digit_strings(run: str) -> None:
    with pytest.raises(ValueError):
        parse_number(run)


@pytest.mark.parametrize(("text", "amount"), [
    ("后天 还 你们 两千五", 2500), ("月底 前 还 一万二", 12000), ("周五 还 三百五十 块", 350),
    ("下 周五 还 五百 元", 500), ("十五号 还 3000块", 3000), ("月底 我 把 1万 还 了", 10000),
    ("我 先 还 一半", None), ("16号 我 发 工资 先 打 6000", 6000), ("欠 你们 三千 我 先 还 一千", 1000),
    ("我 二十号 还 两千 左右", None), ("晚上 8点 以后 打", None), ("分 六 期", None),
    ("一万 块 我 拿 不 出 来 先 还 两千", 2000), ("电话 13812345678", None),
])
def test_find_amount(text: str, amount: float | None) -> None:
    assert find_amount(normalise(text)) == amount


@pytest.mark.parametrize(("text", "iso"), [
    ("明天", "2026-11-29"), ("后天", "2026-11-30"), ("大后天", "2026-12-01"),
    ("周五", "2026-12-04"), ("下周五", "2026-12-04"), ("礼拜五", "2026-12-04"),
    ("星期五", "2026-12-04"), ("礼拜 武", "2026-12-04"), ("这周日", "2026-11-29"),
    ("周一", "2026-11-30"), ("下 礼拜三", "2026-12-02"), ("周 二", "2026-12-01"),
    ("十五号", "2026-12-15"), ("月底", "2026-11-30"), ("下个月十号", "2026-12-10"),
    ("三天后", "2026-12-01"), ("两周后", "2026-12-12"), ("最晚周五", "2026-12-04"),
    ("月底前", "2026-11-30"), ("四天 以后", "2026-12-02"), ("今天 晚上", "2026-11-28"),
    ("12月10号", "2026-12-10"), ("1月3号", "2027-01-03"), ("新年 第一 天", "2027-01-01"),
    ("下周", None), ("发工资的时候", None), ("过几天", None), ("二十号左右", None),
    ("下个月二十号左右", None), ("下周 一定 还", None), ("年前", None), ("周末", None),
])
def test_find_date_future(text: str, iso: str | None) -> None:
    got = find_date(normalise(text), TODAY)
    assert (got.isoformat() if got else None) == iso


@pytest.mark.parametrize(("text", "iso"), [
    ("前天", "2026-11-26"), ("昨天", "2026-11-27"), ("上周三", "2026-11-18"),
    ("礼拜三", "2026-11-25"), ("二十六号", "2026-11-26"), ("27号", "2026-11-27"),
    ("刚才", "2026-11-28"),
])
def test_find_date_past(text: str, iso: str) -> None:
    got = find_date(normalise(text), TODAY, past=True)
    assert got is not None and got.isoformat() == iso


@pytest.mark.parametrize(("text", "amount"), [
    # a trailing 一 that starts the next word (一次 / 一起 / 一下 / 一口气) is not part of the number
    ("元旦 那天 我 把 剩下 的 四万 一次 结清", 40000), ("四万 一起 还", 40000), ("我 还 一千一", 1100),
    ("八千 一 分 不 少", 8000),
    # approximate sums commit to no amount
    ("下 礼拜 我 还 一千 多", None), ("还 你 一千 多 块", None),
    # 分 splitting the sum is no unit: the per-instalment sum counts
    ("每个月 一千 分 半年 还 完", 1000), ("三千 分期", 3000), ("给 你 打 三十 分钟", None),
])
def test_find_amount_new_forms(text: str, amount: float | None) -> None:
    assert find_amount(normalise(text)) == amount


@pytest.mark.parametrize(("text", "iso"), [
    # hours and minutes from now (or ago) fix today
    ("一个 小时 后", "2026-11-28"), ("半 个 钟头 后 再 打", "2026-11-28"), ("二十 分钟 以后", "2026-11-28"),
    ("三个小时以后转你2000", "2026-11-28"),
    # fixed-date holidays, next occurrence
    ("平安夜 之前", "2026-12-24"), ("双十一", "2027-11-11"), ("国庆节", "2027-10-01"), ("情人节", "2027-02-14"),
    # self-corrections take the later day
    ("礼拜 三 呃 礼拜 四 吧 礼拜 四 给 你", "2026-12-03"), ("不是 周三 是 周四", "2026-12-03"),
    ("明天 还 不 了 后天 吧 后天 还 一千", "2026-11-30"), ("周三 不对 周五", "2026-12-04"),
    # 上 ending a place word is no 上周
    ("我 在 工地 上 周五 发 了 钱 就 还", "2026-12-04"),
    # 这就 is now, but 这就是 is no time
    ("我 这 就 去 还", "2026-11-28"), ("这 就是 我 的 全部 了", None),
    # two days without a correction: the first one named
    ("周三 周四 都 行", "2026-12-02"),
])
def test_find_date_new_forms(text: str, iso: str | None) -> None:
    got = find_date(normalise(text), TODAY)
    assert (got.isoformat() if got else None) == iso


@pytest.mark.parametrize(("text", "iso"), [
    ("一 个 钟头 前", "2026-11-28"), ("两 个 小时 前", "2026-11-28"), ("二十四号 那天", "2026-11-24"),
])
def test_find_date_past_new_forms(text: str, iso: str) -> None:
    got = find_date(normalise(text), TODAY, past=True)
    assert got is not None and got.isoformat() == iso
