"""Money, dates and phone numbers written the way each language speaks them.

TTS engines read "$250.50" or "12/04" unreliably, so prompts carry these values as words:
en "two hundred fifty dollars and fifty cents", "Friday, December 4th"; zh "两千五百元",
"12月4日星期五"; ko "이십만 원", "12월 4일 금요일". Pure functions, no I/O.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))
_EN_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_EN_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_WEEKDAYS = "一二三四五六日"
_KO_DIGITS = ("", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_KO_WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")

# (major unit, minor unit) per currency and language; unknown currencies fall back to the code.
_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {"USD": ("dollar", "cent"), "CNY": ("yuan", "fen"), "KRW": ("won", ""),
           "EUR": ("euro", "cent"), "GBP": ("pound", "penny")},
    "zh": {"USD": ("美元", "美分"), "CNY": ("元", ""), "KRW": ("韩元", ""),
           "EUR": ("欧元", "欧分"), "GBP": ("英镑", "便士")},
    "ko": {"USD": ("달러", "센트"), "CNY": ("위안", ""), "KRW": ("원", ""),
           "EUR": ("유로", "센트"), "GBP": ("파운드", "펜스")},
}
_LANGS = ("en", "zh", "ko")


def _split_money(amount: float) -> tuple[int, int]:
    """Whole units and hundredths, rounded half-up on the decimal value (0.5 cents -> 1)."""
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    cents = int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return cents // 100, cents % 100


def _check_lang(lang: str) -> None:
    if lang not in _LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(_LANGS)}")


# ------------------------------------------------------------------------------ English


def en_number(n: int) -> str:
    """Cardinal in words, American style without "and": 250 -> "two hundred fifty"."""
    if n < 0:
        raise ValueError(f"negative number {n}")
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_EN_ONES[hundreds]} hundred" + (f" {en_number(rest)}" if rest else "")
    for scale, word in _EN_SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{en_number(high)} {word}" + (f" {en_number(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _en_ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _en_amount(whole: int, cents: int, currency: str) -> str:
    major, minor = _UNITS["en"].get(currency, (currency, ""))
    # "penny" is the only irregular plural we need.
    def plural(word: str, n: int) -> str:
        if n == 1 or word in ("yuan", "won", "fen") or word == currency:
            return word
        return "pence" if word == "penny" else word + "s"

    if cents and not minor:
        # Currencies without a spoken minor unit here: say the decimal ("ten point five yuan").
        return f"{en_number(whole)} point {' '.join(_EN_ONES[int(d)] for d in f'{cents:02d}'.rstrip('0'))} {plural(major, 2)}"
    parts = []
    if whole or not cents:
        parts.append(f"{en_number(whole)} {plural(major, whole)}")
    if cents:
        parts.append(f"{en_number(cents)} {plural(minor, cents)}")
    return " and ".join(parts)


# ------------------------------------------------------------------------------ Mandarin


def _zh_under_10000(n: int, leading: bool) -> str:
    """0 < n < 10000. 两 for a leading 2 before 百/千 (两百, 两千五百), 二 elsewhere."""
    out = []
    zero_pending = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = (n // value) % 10
        if digit == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        if digit == 2 and unit in ("千", "百") :
            out.append("两")
        elif digit == 1 and unit == "十" and not out and leading:
            pass  # 十五, not 一十五, at the start of a number
        else:
            out.append(_ZH_DIGITS[digit])
        out.append(unit)
    return "".join(out)


def zh_number(n: int) -> str:
    """Cardinal in Chinese numerals: 200 -> 两百, 2500 -> 两千五百, 12000 -> 一万两千."""
    if n < 0:
        raise ValueError(f"negative number {n}")
    if n == 0:
        return "零"
    groups = []
    for unit in ("亿", "万", ""):
        size = {"亿": 100_000_000, "万": 10_000, "": 1}[unit]
        groups.append(((n // size) % (10_000 if unit != "亿" else 10**8), unit))
    out = []
    for index, (value, unit) in enumerate(groups):
        if value == 0:
            continue
        if out and value < 1000:
            out.append("零")
        text = _zh_under_10000(value, leading=not out) if value < 10_000 else zh_number(value)
        if unit in ("万", "亿") and text == "二":
            text = "两"
        out.append(text + unit)
    return "".join(out)


def _zh_amount(whole: int, cents: int, currency: str) -> str:
    major, minor = _UNITS["zh"].get(currency, (currency, ""))
    if currency == "CNY":
        text = ("两" if whole == 2 else zh_number(whole)) + "元" if whole or not cents else ""
        jiao, fen = divmod(cents, 10)
        if jiao:
            text += _ZH_DIGITS[jiao] + "角"
        if fen:
            text += ("零" if whole and not jiao else "") + _ZH_DIGITS[fen] + "分"
        return text
    text = zh_number(whole) + major if whole or not cents else ""
    if cents:
        text += zh_number(cents) + (minor or major)
    return text


# ------------------------------------------------------------------------------ Korean


def _ko_under_10000(n: int) -> str:
    """0 < n < 10000, Sino-Korean; a bare 1 before 천/백/십 is dropped (천, 백, 십)."""
    out = []
    for value, unit in ((1000, "천"), (100, "백"), (10, "십"), (1, "")):
        digit = (n // value) % 10
        if digit == 0:
            continue
        out.append(("" if digit == 1 and unit else _KO_DIGITS[digit]) + unit)
    return "".join(out)


def ko_number(n: int) -> str:
    """Sino-Korean cardinal grouped by 만: 200000 -> 이십만, 12345 -> 만 이천삼백사십오."""
    if n < 0:
        raise ValueError(f"negative number {n}")
    if n == 0:
        return "영"
    out = []
    for unit, size in (("억", 100_000_000), ("만", 10_000), ("", 1)):
        value = (n // size) % 10_000 if unit != "억" else n // size
        if value == 0:
            continue
        text = _ko_under_10000(value) if value < 10_000 else ko_number(value)
        # 만 alone, never 일만 (Korean says 만 원, 만 이천 원); 억 keeps 일 (일억).
        if unit == "만" and value == 1:
            text = ""
        out.append(text + unit)
    return " ".join(out)


def _ko_amount(whole: int, cents: int, currency: str) -> str:
    major, minor = _UNITS["ko"].get(currency, (currency, ""))
    text = f"{ko_number(whole)} {major}" if whole or not cents else ""
    if cents and minor:
        text = (text + " " if text else "") + f"{ko_number(cents)} {minor}"
    elif cents:
        text = f"{ko_number(whole)} 점 {' '.join(_KO_DIGITS[int(d)] or '영' for d in f'{cents:02d}'.rstrip('0'))} {major}"
    return text


# ------------------------------------------------------------------------------ public


def say_amount(amount: float, currency: str, lang: str) -> str:
    """Money as words in ``lang``: (200, USD, en) -> "two hundred dollars";
    (2500, CNY, zh) -> "两千五百元"; (200000, KRW, ko) -> "이십만 원". Cents are rounded
    half-up. Raises ValueError for a negative amount or an unsupported language."""
    _check_lang(lang)
    whole, cents = _split_money(amount)
    currency = currency.upper()
    if lang == "en":
        return _en_amount(whole, cents, currency)
    if lang == "zh":
        return _zh_amount(whole, cents, currency)
    return _ko_amount(whole, cents, currency)


def say_date(day: date, lang: str) -> str:
    """A calendar day as spoken, year omitted: en "Friday, December 4th", zh "12月4日星期五",
    ko "12월 4일 금요일". Raises ValueError for an unsupported language."""
    _check_lang(lang)
    weekday = day.weekday()
    if lang == "en":
        return f"{_EN_WEEKDAYS[weekday]}, {_EN_MONTHS[day.month - 1]} {_en_ordinal(day.day)}"
    if lang == "zh":
        return f"{day.month}月{day.day}日星期{_ZH_WEEKDAYS[weekday]}"
    return f"{day.month}월 {day.day}일 {_KO_WEEKDAYS[weekday]}"


def say_phone(number: str, lang: str) -> str:
    """A phone number read digit by digit, groups separated by commas so TTS pauses there
    ("1-800-555-0100" -> "1, 8 0 0, 5 5 5, 0 1 0 0"). Digits stay numerals: every engine
    reads a lone numeral as its digit in the voice's language."""
    _check_lang(lang)
    groups = []
    for chunk in number.replace("(", " ").replace(")", " ").replace("-", " ").replace(".", " ").split():
        digits = [c for c in chunk if c.isdigit()]
        if digits:
            groups.append(" ".join(digits))
    if not groups:
        raise ValueError(f"no digits in phone number {number!r}")
    sep = "，" if lang == "zh" else ", "
    return sep.join(groups)
