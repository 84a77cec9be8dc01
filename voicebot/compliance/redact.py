"""Mask personal data in free text: card numbers, Chinese resident ID numbers, phone
numbers, e-mail addresses, and long runs of spoken digits (English, Mandarin, Korean).

Contract: ``redact(text)`` returns text of the same shape with the sensitive characters
replaced by ``*``; the last 4 digits of cards, ID numbers, phones and spoken digit runs are
kept so an agent can still say "the card ending 1234". Text with nothing sensitive comes back
unchanged. Pure and thread-safe.
"""
from __future__ import annotations

import hashlib
import re

MASK = "*"
KEEP_LAST = 4

# Lookarounds use ASCII classes, not \w: Chinese text puts digits right after CJK letters.
# 13-19 digits, single spaces or dashes allowed between digits (card numbers as typed/said).
_CARD_RE = re.compile(r"(?<![A-Za-z0-9_])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9_])")
# GB 11643-1999: 17 digits + check character (digit or X).
_CNID_RE = re.compile(r"(?<![A-Za-z0-9_])\d{17}[\dXx](?![A-Za-z0-9_])")
_EMAIL_RE = re.compile(r"(?<![\w.+-])([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)")
# Phone candidates: optional +, digits with separators; the digit count is checked after.
_PHONE_RE = re.compile(r"(?<![A-Za-z0-9_*])(\+?\(?\d[\d ().-]{5,20}\d)(?![A-Za-z0-9_*])")
_DATE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")

# Spoken digits. "oh" is a common way to say zero in card and phone numbers.
_EN_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
# Mandarin: 幺 is the telephone reading of 1; 两 appears in spoken numbers; 〇/零 zero.
_ZH_DIGITS = "零〇幺一二两三四五六七八九"
# Korean Sino-Korean digits and 공 (zero in phone/card numbers).
_KO_DIGITS = "공영일이삼사오육칠팔구"
_SPOKEN_MIN = 13

_EN_WORD = "(?:" + "|".join(sorted(_EN_DIGITS, key=len, reverse=True)) + ")"
_EN_RUN_RE = re.compile(
    rf"(?<![A-Za-z]){_EN_WORD}(?:[\s,.-]+{_EN_WORD}){{{_SPOKEN_MIN - 1},}}(?![A-Za-z])",
    re.IGNORECASE,
)
_CJK_RUN_RE = re.compile(
    rf"[{_ZH_DIGITS}](?:[\s,，、]*[{_ZH_DIGITS}]){{{_SPOKEN_MIN - 1},}}"
    rf"|(?<![가-힣])[{_KO_DIGITS}](?:[\s,]*[{_KO_DIGITS}]){{{_SPOKEN_MIN - 1},}}(?![가-힣])"
)


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check used by payment cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CNID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CNID_CHECK = "10X98765432"


def cn_id_ok(value: str) -> bool:
    """True when ``value`` is an 18-character Chinese resident ID with a valid check
    character (ISO 7064 MOD 11-2 as used by GB 11643-1999)."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _CNID_WEIGHTS))
    return _CNID_CHECK[total % 11] == value[17].upper()


def _mask_keep_last(text: str, keep: int = KEEP_LAST) -> str:
    """Replace every digit-like unit but the last ``keep`` with MASK; separators stay."""
    chars = list(text)
    positions = [i for i, c in enumerate(chars) if c.isdigit() or c in "Xx"]
    for i in positions[: max(0, len(positions) - keep)]:
        chars[i] = MASK
    return "".join(chars)


def _mask_cards(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return _mask_keep_last(raw)
        return raw

    return _CARD_RE.sub(sub, text)


def _mask_cn_ids(text: str) -> str:
    return _CNID_RE.sub(lambda m: _mask_keep_last(m.group(0)) if cn_id_ok(m.group(0)) else m.group(0), text)


def _mask_phones(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        raw = m.group(1)
        if _DATE_RE.fullmatch(raw.strip()):
            return raw  # promise dates must survive redaction
        n = sum(c.isdigit() for c in raw)
        plain_number = re.fullmatch(r"\d+(?:\.\d+)?", raw) is not None
        if plain_number and not 10 <= n <= 15:
            return raw  # amounts and counts, not phones
        if 7 <= n <= 15:
            return _mask_keep_last(raw)
        return raw

    return _PHONE_RE.sub(sub, text)


def _mask_emails(text: str) -> str:
    return _EMAIL_RE.sub(lambda m: m.group(1)[:1] + MASK * 3 + "@" + m.group(2), text)


def _mask_spoken(text: str) -> str:
    def sub_en(m: re.Match[str]) -> str:
        words = list(re.finditer(_EN_WORD, m.group(0), re.IGNORECASE))
        out = m.group(0)
        for w in reversed(words[: len(words) - KEEP_LAST]):
            out = out[: w.start()] + MASK * len(w.group(0)) + out[w.end():]
        return out

    def sub_cjk(m: re.Match[str]) -> str:
        chars = list(m.group(0))
        idx = [i for i, c in enumerate(chars) if c in _ZH_DIGITS or c in _KO_DIGITS]
        for i in idx[: len(idx) - KEEP_LAST]:
            chars[i] = MASK
        return "".join(chars)

    return _CJK_RUN_RE.sub(sub_cjk, _EN_RUN_RE.sub(sub_en, text))


def redact(text: str) -> str:
    """Mask cards (Luhn-checked), Chinese ID numbers (checksum), phones, e-mails and runs of
    13 or more spoken digits; keep the last 4 digits of each. Order matters: the checked
    patterns run before the looser phone pattern so a card is never half-masked as a phone."""
    if not text:
        return text
    out = _mask_cn_ids(text)
    out = _mask_cards(out)
    out = _mask_emails(out)
    out = _mask_phones(out)
    return _mask_spoken(out)


def mask_account(acct_id: str) -> str:
    """``"1234567890"`` -> ``"******7890"``: keep the last 4 characters, mask the rest.
    Ids of 4 characters or fewer are masked entirely."""
    if len(acct_id) <= KEEP_LAST:
        return MASK * len(acct_id)
    return MASK * (len(acct_id) - KEEP_LAST) + acct_id[-KEEP_LAST:]


KEY_PREFIX = "k:"


def pseudonym(value: str) -> str:
    """A stable pseudonymous key for an account id or phone number (``k:`` + 16 hex of
    SHA-256), so stores can link calls to one account without holding the raw id.
    Idempotent: a value that is already a key is returned unchanged; "" stays ""."""
    if not value or value.startswith(KEY_PREFIX):
        return value
    normal = re.sub(r"[\s().-]", "", value)
    return KEY_PREFIX + hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]
