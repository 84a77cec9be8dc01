from __future__ import annotations

from datetime import date

import pytest

from voicebot.dialogue import say_amount, say_date, say_phone


@pytest.mark.parametrize("amount, currency, lang, words", [
    (200, "USD", "en", "two hundred dollars"),
    (250.5, "USD", "en", "two hundred fifty dollars and fifty cents"),
    (1, "USD", "en", "one dollar"),
    (0.01, "USD", "en", "one cent"),
    (1250, "USD", "en", "one thousand two hundred fifty dollars"),
    (1_000_000, "USD", "en", "one million dollars"),
    (42, "USD", "en", "forty-two dollars"),
    (200, "CNY", "zh", "两百元"),
    (2500, "CNY", "zh", "两千五百元"),
    (12000, "CNY", "zh", "一万两千元"),
    (105, "CNY", "zh", "一百零五元"),
    (15, "CNY", "zh", "十五元"),
    (110, "CNY", "zh", "一百一十元"),
    (2, "CNY", "zh", "两元"),
    (250.5, "CNY", "zh", "两百五十元五角"),
    (3.05, "CNY", "zh", "三元零五分"),
    (200_000, "KRW", "ko", "이십만 원"),
    (50_000, "KRW", "ko", "오만 원"),
    (10_000, "KRW", "ko", "만 원"),
    (12_345, "KRW", "ko", "만 이천삼백사십오 원"),
    (1_230_000, "KRW", "ko", "백이십삼만 원"),
    (100_000_000, "KRW", "ko", "일억 원"),
])
def test_say_amount(amount: float, currency: str, lang: str, words: str) -> None:
    assert say_amount(amount, currency, lang) == words


def test_say_amount_rounds_half_up_and_rejects_bad_input() -> None:
    assert say_amount(0.125, "USD", "en") == "thirteen cents"
    with pytest.raises(ValueError):
        say_amount(-1, "USD", "en")
    with pytest.raises(ValueError):
        say_amount(1, "USD", "fr")


@pytest.mark.parametrize("day, lang, words", [
    (date(2026, 12, 4), "en", "Friday, December 4th"),
    (date(2026, 12, 1), "en", "Tuesday, December 1st"),
    (date(2026, 12, 22), "en", "Tuesday, December 22nd"),
    (date(2026, 12, 13), "en", "Sunday, December 13th"),
    (date(2026, 12, 4), "zh", "12月4日星期五"),
    (date(2026, 11, 29), "zh", "11月29日星期日"),
    (date(2026, 12, 4), "ko", "12월 4일 금요일"),
])
def test_say_date(day: date, lang: str, words: str) -> None:
    assert say_date(day, lang) == words


def test_say_phone_groups_digits() -> None:
    assert say_phone("1-800-555-0100", "en") == "1, 8 0 0, 5 5 5, 0 1 0 0"
    assert say_phone("400-800-1234", "zh") == "4 0 0，8 0 0，1 2 3 4"
    with pytest.raises(ValueError):
        say_phone("call us", "en")
