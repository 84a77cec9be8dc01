"""Resolve Mandarin day expressions in normalised text against a reference day.

Contract (conventions of shared/data/README.md, today = Sat 2026-11-28 in the examples):
- 今天/今晚/晚上/刚才 -> today; 明天 +1; 后天 +2; 大后天 +3; 昨天 -1; 前天 -2; 大前天 -3.
- 周X / 星期X / 礼拜X (also 这周X, 下周X) -> the next such weekday strictly after today;
  上周X -> that weekday in the previous calendar week; with ``past=True`` a bare 周X is the
  most recent such weekday before today (礼拜三就还过了 -> 11-25).
- N号 / N日 -> next occurrence of that day of month (or the most recent one when ``past``);
  下个月N号 -> that day next month; M月N号 -> that date (next year when already gone).
- 月底 -> last day of this month, 下个月底 -> of next month; 年底 -> 12-31; 元旦/新年第一天 -> 1 Jan.
- N天后, N周后/N个星期后, N个月后 -> today + N days / weeks / months; 过N个星期 / 再过N周 -> today + N weeks
  (过两天 and 过几天 stay vague).
- Same-day phrases (马上, 现在就, 这就, 等会儿, 待会, 一会儿) -> today on payment lines (``soon``); N小时/钟头/分钟
  后 or 前 (一个小时后, 半个钟头后, 一个钟头前) -> today on any line; 刚 before a payment verb (刚用云闪付交了)
  -> today with ``past``; 这个月N号 -> that day this month.
- Fixed-date holidays, next occurrence: 平安夜 12-24, 圣诞节 12-25, 双十二 12-12, 双十一 11-11, 情人节 2-14,
  劳动节/五一节 5-1, 儿童节 6-1, 国庆节 10-1 (lunar festivals such as 春节 and 中秋 fix no day here).
- A self-correction takes the later day: 礼拜三呃礼拜四 -> Thursday, 不是周三是周四 -> Thursday, 明天还不了
  后天吧 -> the day after tomorrow (a day right after 不是, or followed by a correction or refusal marker
  such as 呃 / 不对 / 不了 before another day, is dropped). 工地上周五: 上 ending a place word is no 上周.
- Without ``past``, a day gone by gives way to a day ahead named on the same line (昨天发的工资
  明天还 -> tomorrow).
- Two days offered as alternatives fix neither: 今天或者明天, 周四还是周五 -> ``None``; 一周三百 is a
  weekly sum, no Wednesday.
- Vague words fix no single day: 下周, 下个月, 过几天, 这两天, 发工资的时候, and anything
  marked approximate (二十号左右, 二十号前后) -> ``None``.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from voicebot.nlu.zh_numbers import parse_number

_WEEKDAY: dict[str, int] = {
    "一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3, "五": 4, "5": 4,
    "六": 5, "6": 5, "日": 6, "天": 6, "7": 6, "末": -1,
}
_NUM = r"[0-9零〇一二两三四五六七八九十]+"
_APPROX = r"(?:左右|前后|上下|的样子|那样|附近|几)"
# A numeral must start at a numeral boundary, or 二十号 would also match as 十号.
_NB = r"(?<![0-9零〇一二两三四五六七八九十百])"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("this_month_day", rf"(?:这个?月|本月)(?P<d>{_NUM})(?:号|日)(?!{_APPROX})"),
        ("month_day", rf"{_NB}(?P<m>{_NUM})月(?P<d>{_NUM})(?:号|日)(?!{_APPROX})"),
        ("christmas", r"圣诞(?:节)?(?!前|左右)"),
        ("double_twelve", r"双十二"),
        ("holiday", r"(?P<h>平安夜|双十一|情人节|劳动节|五一节|儿童节|国庆节?)(?!左右|前后)"),
        ("hours", rf"{_NB}(?:[0-9零一二两三四五六七八九十几半]+(?:个)?(?:半)?(?:小时|钟头)|半(?:个)?(?:小时|钟头)"
                  rf"|[0-9零一二两三四五六七八九十几]+分钟)(?:以|之)?(?:后|前|内|之内)"),
        ("next_month_day",
         rf"下(?:个)?月(?:的)?(?P<d>{_NUM})(?:(?:号|日)(?!{_APPROX})|(?![号日0-9零一二两三四五六七八九十]|{_APPROX}))"),
        ("next_month_end", r"下(?:个)?月(?:底|末)"),
        ("month_end", r"(?:这个?月|本月)?月(?:底|末)|月底"),
        ("year_end", r"年底|年末|今年最后一天"),
        ("new_year", r"元旦|新年第一天|明年第一天|一月一号"),
        ("after_days", rf"{_NB}(?P<n>{_NUM})(?:天|日)(?:以后|之后|后|内|之内)"),
        ("after_weeks", rf"{_NB}(?P<n>{_NUM})(?:个)?(?:周|星期|礼拜)(?:以后|之后|后|内|之内)"),
        ("past_weeks", rf"(?:再)?过(?:了)?(?P<n>{_NUM})(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天1-7])"),
        ("after_months", rf"{_NB}(?P<n>{_NUM})个月(?:以后|之后|后)"),
        ("last_weekday", r"(?<![地路车楼班晚早])上(?:个)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天1-7])"),
        ("weekday", r"(?P<next>下(?:个)?|这(?:个)?|本)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天1-7])(?![定直样般百千万])"),
        ("day_of_month", rf"{_NB}(?<!月)(?P<d>{_NUM})(?:号|日)(?!{_APPROX})(?!线|楼|床|码)"),
        ("day_after_after", r"大后天"),
        ("day_after", r"后天"),
        ("tomorrow", r"明天|明儿|明早|明晚|明日|明个|明一早"),
        ("before_before", r"大前天"),
        ("before_yesterday", r"前天|前日"),
        ("yesterday", r"昨天|昨晚|昨儿|昨日|昨夜"),
        ("today", r"今天|今晚|今儿|今日|今夜|当天|晚上|今早|(?<![天儿日一二三四五六])早上|刚才|刚刚|一小时前|半小时前|下午|中午|上午"),
        ("just", r"(?<![0-9零一二两三四五六七八九十天])刚(?!才|刚)(?=.{0,8}(?:还|转|交|付|打|汇|存|扣))"),
        ("soon", r"现在就|这就(?!是|算|对|行|好|不)|马上(?!要?(?:关机|挂|登机|起飞|下车|上车|到站|开会|上课|进去|出门|没电))|立马|立刻|等会儿?|待会儿?|一会儿|过一会"),
    )
)


_HOLIDAYS: dict[str, tuple[int, int]] = {
    "平安夜": (12, 24), "双十一": (11, 11), "情人节": (2, 14), "劳动节": (5, 1), "五一节": (5, 1),
    "儿童节": (6, 1), "国庆": (10, 1), "国庆节": (10, 1),
}
# Between two days, a correction marker means the later one was meant (礼拜三呃礼拜四).
_CORRECTION_RE = re.compile(r"呃|额|不对|不是|哦不|啊不|噢不|应该是|改成|改到|换成|不了|不行|不成|不方便|没空|来不及")
_NEGATED_BEFORE = ("不是", "不在", "别")  # 不是周三是周四: the first day is the one taken back
# Between two days, an 'or' leaves the choice open (今天或者明天): no single day.
_ALTERNATIVE_RE = re.compile(r"(?:或者|或是|或|还是|要么|要不)(?:是)?")


def _add_months(day: date, months: int, day_of_month: int | None = None) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def _int(text: str) -> int:
    return int(parse_number(text))


def _weekday(today: date, wanted: int, past: bool, prefix: str) -> date:
    if prefix.startswith("下") and past:
        past = False
    if past:
        back = (today.weekday() - wanted) % 7 or 7
        return today - timedelta(days=back)
    ahead = (wanted - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _resolve(name: str, match: re.Match[str], today: date, past: bool) -> date | None:
    groups = match.groupdict()
    if name == "this_month_day":
        day_num = _int(groups["d"])
        last = calendar.monthrange(today.year, today.month)[1]
        return today.replace(day=day_num) if 1 <= day_num <= last else None
    if name in ("christmas", "double_twelve", "holiday"):
        month, day_num = (12, 25) if name == "christmas" else (12, 12) if name == "double_twelve" else _HOLIDAYS[groups["h"]]
        candidate = date(today.year, month, day_num)
        return candidate if candidate >= today or past else date(today.year + 1, month, day_num)
    if name == "month_day":
        month, day_num = _int(groups["m"]), _int(groups["d"])
        if not (1 <= month <= 12 and 1 <= day_num <= 31):
            return None
        candidate = date(today.year, month, min(day_num, calendar.monthrange(today.year, month)[1]))
        if candidate < today and not past:
            candidate = date(today.year + 1, month, day_num)
        return candidate
    if name == "next_month_day":
        day_num = _int(groups["d"])
        return _add_months(today, 1, day_num) if 1 <= day_num <= 31 else None
    if name == "next_month_end":
        nxt = _add_months(today, 1, 1)
        return nxt.replace(day=calendar.monthrange(nxt.year, nxt.month)[1])
    if name == "month_end":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if name == "year_end":
        return date(today.year, 12, 31)
    if name == "new_year":
        return date(today.year + 1, 1, 1)
    if name == "after_days":
        return today + timedelta(days=_int(groups["n"]))
    if name in ("after_weeks", "past_weeks"):
        return today + timedelta(weeks=_int(groups["n"]))
    if name == "after_months":
        return _add_months(today, _int(groups["n"]))
    if name == "last_weekday":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7) + timedelta(days=_WEEKDAY[groups["w"]])
    if name == "weekday":
        return _weekday(today, _WEEKDAY[groups["w"]], past, groups.get("next") or "")
    if name == "day_of_month":
        day_num = _int(groups["d"])
        if not 1 <= day_num <= 31:
            return None
        if past:
            if day_num <= today.day:
                return today.replace(day=day_num)
            prev = _add_months(today, -1, 1)
            return prev.replace(day=min(day_num, calendar.monthrange(prev.year, prev.month)[1]))
        if day_num > today.day:
            return today.replace(day=min(day_num, calendar.monthrange(today.year, today.month)[1]))
        return _add_months(today, 1, day_num)
    offsets = {
        "hours": 0, "just": 0, "day_after_after": 3, "day_after": 2, "tomorrow": 1, "today": 0, "soon": 0,
        "before_before": -3, "before_yesterday": -2, "yesterday": -1,
    }
    return today + timedelta(days=offsets[name])


def find_date(text: str, today: date, past: bool = False, soon: bool = True) -> date | None:
    """The first day that ``text`` fixes, resolved against ``today`` (see module contract).

    ``past`` resolves bare weekdays and days of month backwards (for already-paid lines).
    ``soon=False`` ignores the same-day phrases (马上, 等会儿): "call me back in a while"
    names no day to call on, while "I'll pay in a while" commits to today.
    Raises nothing; returns ``None`` when the words fix no single day.
    """
    hits: list[tuple[int, int, int, date | None]] = []
    taken: list[tuple[int, int]] = []
    for order, (name, pattern) in enumerate(_PATTERNS):
        if (name == "soon" and not soon) or (name == "just" and not past):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            try:
                resolved = _resolve(name, match, today, past)
            except ValueError:
                resolved = None
            hits.append((start, order, end, resolved))
    hits.sort(key=lambda hit: (hit[0], hit[1]))
    days = [(start, end, resolved) for start, _, end, resolved in hits if resolved is not None]
    if not past and any(resolved >= today for _, _, resolved in days):
        # 昨天刚发的工资明天还: a day gone by is the reason, the day ahead the commitment
        days = [day for day in days if day[2] >= today]
    for index, (start, end, resolved) in enumerate(days):
        if (index + 1 < len(days) and days[index + 1][2] != resolved
                and _ALTERNATIVE_RE.fullmatch(text, end, days[index + 1][0])):
            return None  # 今天或者明天: two days offered, none fixed
        if index + 1 < len(days) and days[index + 1][2] != resolved and (
                text[max(0, start - 2):start] in _NEGATED_BEFORE
                or _CORRECTION_RE.search(text, end, days[index + 1][0])):
            continue  # corrected by the next day named
        return resolved
    return None
