"""Mandarin number words and money amounts in recogniser-style text.

Pure functions over *normalised* text (spaces removed, see :mod:`voicebot.nlu.zh`).

Contracts:
- :func:`parse_number` turns one numeral run into its value: ``两千五`` -> 2500,
  ``一万二`` -> 12000, ``三百五十`` -> 350, ``一千零五十`` -> 1050, ``1万2`` -> 12000,
  ``3000`` -> 3000. It raises :class:`ValueError` for a run that is not one number
  (``五六百`` is a range, ``一二三四`` is read digit by digit).
- :func:`find_amount` returns the first money amount the caller commits to, or ``None``:
  numbers followed by a unit that is not money (号 点 天 期 个月 年 ...) are skipped, as are
  numbers that follow 借/欠 (what was borrowed or is claimed owed is not a commitment; the
  principal named and then paid is one: 本金三千我周五还 -> 3000), and
  small bare numbers without 块/元, and approximate sums (一千多, 两千左右).
- A trailing 一 that starts the next word is not part of the number: 四万一次结清 -> 40000
  (一次 / 一起 / 一下 / 一口气 / 一把), 八千一分不少 -> 8000.
- 分 after a number is a unit (minutes, points) unless it splits the sum into parts:
  每个月一千分半年还完 -> 1000 (分期, 分N个月, 分半年).
"""
from __future__ import annotations

import re

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "两": 2, "俩": 2, "贰": 2,
    "三": 3, "仨": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS: dict[str, int] = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}

_DIGIT_CHARS = "".join(DIGITS)
_UNIT_CHARS = "".join(SMALL_UNITS) + "".join(BIG_UNITS)
# A numeral run: Arabic digits (with an optional decimal part) and/or Chinese digits and units.
# It must start with a digit or 十 so that adverbs such as 千万 ("by all means") are not numbers.
NUMERAL_RE = re.compile(
    rf"[0-9]+(?:\.[0-9]+)?(?:[{_UNIT_CHARS}](?:[0-9]+|[{_DIGIT_CHARS}{_UNIT_CHARS}]+)?)?"
    rf"|[{_DIGIT_CHARS}十拾][{_DIGIT_CHARS}{_UNIT_CHARS}]*"
)

# What may follow a number for it to be money, and what makes it something else.
_MONEY_AFTER = re.compile(r"^(?:多)?(?:块钱|块|元|圆|rmb|人民币|大洋|米)")
_NOT_MONEY_AFTER = re.compile(
    r"^(?:号|日|点|天|期|个|月|年|岁|周(?:后|以后|之后|内)|次|遍|分(?!期|半年|[0-9一二两三四五六七八九十几]+(?:个月|期|次|年|回))|小时|钟|位|笔|倍|下(?!个?月|个?(?:周|礼拜|星期)|午)|起|直|定|样|部分|半|些|共|"
    r"成|楼|层|口|趟|家|台|辆|套|张|条|份|辈子|阵|会儿|旦|毛|角|礼拜(?![一二三四五六日天1-7])|星期(?![一二三四五六日天1-7])|克|斤|公里|米|秒|声|时|级)"
)
_APPROX_AFTER = re.compile(r"^(?:多)?(?:块钱|块|元)?(?:左右|上下|来块|来|多块|几|出头)|^多(?!少)")
_UNABLE_AFTER = re.compile(r"拿不出|还不起|还不上|不够|太多|太高|^(?:块钱|块|元)?(?:我|俺)?(?:可|真|现在)?没(?:有|那么多)(?!问题)")
_PRINCIPAL_BEFORE = re.compile(r"本金(?:是|这)?$")
# The principal's sum, then a payment by the speaker: 本金三千我周五还, 本金两万下个月还清.
_PAID_AFTER = re.compile(r"^(?:块钱|块|元)?(?:我|俺)?[^不没别]{0,5}(?:还|给|转|打|付|交)(?!不|没)")
_BORROWED_BEFORE = re.compile(r"(?:借了?|欠了?|欠我|欠你们|贷了?|本金|说我欠|就借|只借|借的)$")
_NONZERO = _DIGIT_CHARS.replace("零", "").replace("〇", "")
_RANGE_RE = re.compile(rf"[{_NONZERO}][{_NONZERO}][十百千万]")  # 五六百: a range


def _parse_section(text: str) -> int:
    """Value of a run below 万 made of Chinese digits and 十/百/千 (``三百五`` -> 350)."""
    total = 0
    digit: int | None = None
    last_unit = 0
    for ch in text:
        if ch in DIGITS:
            if digit is not None and digit != 0:
                raise ValueError(f"two digits in a row in {text!r}")
            digit = DIGITS[ch]
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
            last_unit = unit
        else:
            raise ValueError(f"not a numeral character: {ch!r}")
    if digit is not None:
        # 两千五 means 2500: a trailing digit counts in the unit below the last one,
        # unless a 零 came in between (一千零五 = 1005).
        if last_unit >= 100 and "零" not in text and "〇" not in text:
            total += digit * (last_unit // 10)
        else:
            total += digit
    return total


def _parse_chinese(text: str) -> int:
    for big_char, big in sorted(BIG_UNITS.items(), key=lambda kv: -kv[1]):
        if big_char in text:
            head, _, tail = text.partition(big_char)
            head_value = _parse_chinese(head) if head else 1
            if tail and all(ch in DIGITS for ch in tail) and len(tail) == 1 and tail not in "零〇":
                return head_value * big + DIGITS[tail] * (big // 10)  # 一万二 = 12000
            return head_value * big + (_parse_chinese(tail) if tail else 0)
    if len(text) > 1 and all(ch in DIGITS for ch in text):
        raise ValueError(f"digit-by-digit reading is not one number: {text!r}")
    return _parse_section(text)


def parse_number(run: str) -> float:
    """Value of one numeral run (Arabic, Chinese or mixed such as ``1万2`` or ``3千``)."""
    if not run:
        raise ValueError("empty numeral run")
    if _RANGE_RE.search(run):
        raise ValueError(f"a range, not one number: {run!r}")
    match = re.match(r"[0-9]+(?:\.[0-9]+)?", run)
    if match is None:
        return float(_parse_chinese(run))
    value = float(match.group())
    rest = run[match.end():]
    if not rest:
        return value
    unit_char = rest[0]
    unit = BIG_UNITS.get(unit_char) or SMALL_UNITS.get(unit_char)
    if unit is None:
        raise ValueError(f"digits followed by {unit_char!r} in {run!r}")
    tail = rest[1:]
    if not tail:
        return value * unit
    if tail.isdigit() and len(tail) == 1:
        return value * unit + int(tail) * unit // 10  # 1万2 = 12000
    if tail.isdigit():
        return value * unit + int(tail)
    return value * unit + _parse_chinese(tail)


def find_numbers(text: str) -> list[tuple[int, int, float]]:
    """Every parseable numeral run in ``text`` as ``(start, end, value)``.

    A run that does not parse as one number is retried without the weekday digit it starts
    with (周五七百 -> 七百) and then cut back from its end (一万二一次性 -> 一万二); a trailing 一
    before 分不少 / 分也不少 belongs to the idiom (八千一分不少 -> 八千)."""
    found: list[tuple[int, int, float]] = []
    for match in NUMERAL_RE.finditer(text):
        start, end = match.span()
        if end - start > 1 and text[end - 1] == "一" and (
                text[end:end + 3] in _ONE_FEN or text[end:end + 1] in _ONE_NEXT_WORD):
            end -= 1
        if (text[start - 1:start] in _WEEKDAY_MARKS and start > 0 and end - start > 1
                and text[start + 1] not in _UNITS_AFTER_DAY):
            start += 1  # the weekday's own digit (一周三百: 三百 a weekly sum, no Wednesday)
        for cut in range(end, start, -1):
            try:
                found.append((start, cut, parse_number(text[start:cut])))
                break
            except ValueError:
                continue
    return found


_WEEKDAY_MARKS = frozenset("周拜期")  # 周五 / 礼拜五 / 星期五: the digit after them is a day
_UNITS_AFTER_DAY = frozenset("百千万")  # ... unless a unit follows it at once (一周三百, 每礼拜两千)
_ONE_FEN = frozenset({"分不少", "分也不", "分都不", "分钱也", "分钱都"})
_ONE_NEXT_WORD = frozenset("次起下口把")  # 一次 / 一起 / 一下 / 一口气 / 一把: the 一 starts the next word


def find_amount(text: str) -> float | None:
    """First committed money amount in normalised ``text`` (see module contract)."""
    for start, end, value in find_numbers(text):
        run = text[start:end]
        after = text[end:end + 4]
        before = text[max(0, start - 4):start]
        principal_paid = _PRINCIPAL_BEFORE.search(before) is not None and _PAID_AFTER.match(text[end:end + 10])
        if _BORROWED_BEFORE.search(before) and not principal_paid:
            continue
        if _APPROX_AFTER.match(text[end:end + 6]) or _UNABLE_AFTER.search(text[end:end + 8]):
            continue  # 两千左右 is no commitment; 一万块我拿不出来 names what cannot be paid
        if principal_paid:
            return value
        if _MONEY_AFTER.match(after):
            return value
        if _NOT_MONEY_AFTER.match(after):
            continue
        if run.isdigit() and len(run) >= 7:
            continue  # a phone or account number, not money
        if value >= 100 or (value >= 10 and re.search(r"[还打转给付交凑]$", before)):
            return value
    return None
