"""English wording families found in the mistakes on the spent en_blind10 set.

Each case is a new wording of a family, not a line from that set: the rules must cover the
family (intents.toml, safety.toml, numbers.toml), not the one line that exposed it.
"""
from __future__ import annotations

from datetime import date

import pytest

from voicebot.nlu import understand

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize("text", [
    "i'm honestly not safe at the moment", "i really am not safe tonight", "i don't feel very safe on my own tonight",
    "i'm not sure i can keep myself safe", "i think i'm a danger to myself", "i can't trust myself right now",
    "i'm terrified i'll hurt myself", "i'm worried i'll do something drastic tonight",
])
def test_not_safe_from_oneself_is_critical(text: str) -> None:
    got = understand(text, "en", TODAY)
    assert got.critical and "distress" in got.intents


@pytest.mark.parametrize("text", [
    "is it safe to give my card number over the phone", "i don't trust myself with cards so cut it up",
    "i'm not safe to drive while talking ring me later", "this debt is killing me", "i'd rather die than pay you",
])
def test_safety_words_about_payments_or_idioms_are_not_critical(text: str) -> None:
    assert not understand(text, "en", TODAY).critical


@pytest.mark.parametrize("text", ["my daughter's locked up at the moment", "she's doing time so she can't pay",
                                  "he won't be out until twenty twenty eight"])
def test_relative_in_custody_is_wrong_party(text: str) -> None:
    assert understand(text, "en", TODAY).intents == ("wrong_party",)


@pytest.mark.parametrize("text", ["what's my remaining balance", "will paying this hurt my credit",
                                  "could you waive the late fees", "can i have a receipt for that",
                                  "is this some kind of scam"])
def test_account_questions_are_ask_info(text: str) -> None:
    assert "ask_info" in understand(text, "en", TODAY).intents


@pytest.mark.parametrize("text", ["you lot keep claiming i haven't paid", "those are made up charges",
                                  "i complained to the financial ombudsman already", "i never missed a single payment"])
def test_dispute_families(text: str) -> None:
    assert "dispute" in understand(text, "en", TODAY).intents


@pytest.mark.parametrize("text", ["quit phoning me", "i'll be reporting you if you ring back"])
def test_cease_contact_families(text: str) -> None:
    assert "cease_contact" in understand(text, "en", TODAY).intents


def test_fifth_slip_resolves() -> None:
    got = understand("i'll pay sixty on the fith", "en", TODAY)
    assert got.amount == 60 and str(got.date) == "2026-12-05"


def test_question_after_a_bare_amount_and_day_keeps_the_promise() -> None:
    got = understand("three hundred on monday will that stop the interest", "en", TODAY)
    assert {"promise_to_pay", "ask_info"} <= set(got.intents) and got.amount == 300
