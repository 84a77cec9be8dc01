"""Redaction of cards, Chinese ID numbers, phones, e-mails and spoken digit runs."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicebot.compliance.redact import cn_id_ok, luhn_ok, mask_account, pseudonym, redact


@pytest.mark.parametrize("text,expected", [
    ("card 4111 1111 1111 1111 ok", "card **** **** **** 1111 ok"),
    ("card 4111-1111-1111-1111.", "card ****-****-****-1111."),
    ("卡号4111111111111111。", "卡号************1111。"),
    ("amex 378282246310005", "amex ***********0005"),  # 15 digits
    ("id 11010519491231002X here", "id **************002X here"),
    ("身份证号11010519491231002x", "身份证号**************002x"),
    ("call +1 (555) 123-4567 or 555-1234", "call +* (***) ***-4567 or ***-1234"),
    ("电话13812345678", "电话*******5678"),
    ("mail john.doe@example.com now", "mail j***@example.com now"),
])
def test_masks_and_keeps_last_four(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "I will pay 250 on 2026-12-04",
    "I can pay $1500.00 on 12/04/2026",
    "order 12345, three items",
    "card 4111 1111 1111 1112 fails Luhn",  # 16 digits, not a card and too long for a phone
    "id 110105194912310021 bad checksum but 18 digits",
    "",
])
def test_leaves_non_sensitive_text_alone(text: str) -> None:
    assert redact(text) == text


def test_spoken_digit_runs_en_zh_ko() -> None:
    en = "my card is four one one one one one one one one one one one one one one one thanks"
    out = redact(en)
    assert out.endswith("one one one one thanks") and out.count("one") == 4 and "four" not in out
    assert redact("幺三八一二三四五六七八九零一二") == "*" * 11 + "九零一二"
    assert redact("号码是 四 一 一 一 一 一 一 一 一 一 一 一 一 一 一 一") .count("*") == 12
    assert redact("카드 사일일일일일일일일일일일일일일일").endswith("*" * 12 + "일일일일")
    # fewer than 13 spoken digits are not a card or ID
    short = "one two three four five six seven eight nine ten"
    assert redact(short) == short
    assert redact("someone to talk to, oh no") == "someone to talk to, oh no"


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert cn_id_ok("11010519491231002X") and not cn_id_ok("110105194912310021")


def test_mask_account_and_pseudonym() -> None:
    assert mask_account("ACCT-0042424242") == "*" * 11 + "4242"
    assert mask_account("123") == "***"
    key = pseudonym("+1 555 123 0000")
    assert key == pseudonym("+15551230000") and key.startswith("k:") and pseudonym(key) == key
    assert pseudonym("") == "" and pseudonym("ACCT-1") != pseudonym("ACCT-2")


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.sampled_from([" ", "-", ""]),
       st.text(alphabet="abc ", max_size=5))
def test_any_valid_card_is_masked_to_last_four(prefix: str, sep: str, filler: str) -> None:
    card = _luhn_complete(prefix)
    spaced = sep.join(card[i:i + 4] for i in range(0, len(card), 4))
    out = redact(f"x{filler} {spaced} y")
    digits = re.sub(r"\D", "", out)
    assert digits == card[-4:], (spaced, out)
