"""Korean understanding (voicebot.nlu.ko): intents, Sino-Korean amounts, dates."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voicebot.nlu import understand
from voicebot.nlu.ko import agent_flags, parse_korean_number
from voicebot.nlu.scoring import load_jsonl, score_lines

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(("text", "value"), [
    ("오만", 50000), ("10만", 100000), ("십만", 100000), ("삼십만", 300000), ("50000", 50000),
    ("만오천", 15000), ("이십오만", 250000), ("백만", 1000000), ("천", 1000),
])
def test_parse_korean_number(text: str, value: float) -> None:
    assert parse_korean_number(text) == value


@pytest.mark.parametrize(("text", "intent"), [
    ("네", "affirm"), ("예", "affirm"), ("맞아요", "affirm"), ("그래요", "affirm"), ("응", "affirm"),
    ("아니요", "deny"), ("아니에요", "deny"), ("아닙니다", "deny"),
    ("상담원 연결해 주세요", "request_agent"), ("사람 바꿔 주세요", "request_agent"),
    ("잘못 거셨어요", "wrong_party"), ("회사에서 잘렸어요", "distress"), ("빌린 적 없어요", "dispute"),
    ("이미 갚았어요", "already_paid"), ("나중에 전화 주세요", "callback"), ("안 갚아요", "refuse"),
    ("전화하지 마세요", "cease_contact"), ("내일 갚을게요", "promise_to_pay"),
])
def test_each_intent(text: str, intent: str) -> None:
    assert intent in understand(text, "ko", TODAY).intents


@pytest.mark.parametrize(("text", "amount", "iso"), [
    ("내일 오만원 갚을게요", 50000, "2026-11-29"),
    ("모레 10만원 보낼게요", 100000, "2026-11-30"),
    ("금요일에 십만 원 낼게요", 100000, "2026-12-04"),
    ("다음 주 금요일에 삼십만원 갚겠습니다", 300000, "2026-12-04"),
    ("15일에 50000원 입금할게요", 50000, "2026-12-15"),
    ("월말에 갚을게요", None, "2026-11-30"),
])
def test_promise_amount_and_date(text: str, amount: float | None, iso: str) -> None:
    got = understand(text, "ko", TODAY)
    assert "promise_to_pay" in got.intents
    assert got.amount == amount and got.date is not None and got.date.isoformat() == iso


def test_critical() -> None:
    got = understand("죽고 싶어요", "ko", TODAY)
    assert got.critical and "distress" in got.intents


def test_agent_flags_lexicon() -> None:
    assert agent_flags("경찰에 신고해서 체포되게 할 거예요") == ("threat",)
    assert agent_flags("안녕하세요 상환 안내 전화입니다") == ()


def test_own_korean_set() -> None:
    scores = score_lines(load_jsonl(Path(__file__).parent / "data" / "ko_caller.jsonl"))["caller"]
    assert scores["macro_f1"] >= 0.9 and scores["amount_exact"] >= 0.9 and scores["date_exact"] >= 0.9
