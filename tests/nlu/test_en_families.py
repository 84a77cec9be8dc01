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


# Families from the mistakes on en_blind18 (ninth session). New wordings, not that set's lines.

@pytest.mark.parametrize("text", [
    "i don't think there'll be anyone here to read your next letter",
    "there won't be anybody left to answer this phone soon",
    "by next month nobody will be here to open the post",
])
def test_nobody_left_to_receive_the_next_bill_is_critical(text: str) -> None:
    got = understand(text, "en", TODAY)
    assert got.critical and got.intents == ("distress",)


def test_nobody_home_because_of_a_holiday_is_not_critical() -> None:
    assert not understand("there won't be anybody here to answer next week we're away on holiday", "en", TODAY).critical


def test_critical_line_drops_a_callback_reading() -> None:
    got = understand("no need to ring me back after friday i've decided", "en", TODAY)
    assert got.critical and "callback" not in got.intents


@pytest.mark.parametrize("text", ["she's in hospital i'm just her lodger", "he died last year i'm just his cousin",
                                  "this is his son my dad sadly passed away in the summer"])
def test_relative_reporting_an_old_event_is_wrong_party(text: str) -> None:
    assert understand(text, "en", TODAY).intents == ("wrong_party",)


def test_a_recent_loss_is_still_distress() -> None:
    assert "distress" in understand("my mum just passed away", "en", TODAY).intents


@pytest.mark.parametrize("text", ["my wife's in a hospice and i'm her sole carer",
                                  "i'm caring for my dad full time and i can't work"])
def test_a_sole_carer_is_distress(text: str) -> None:
    assert "distress" in understand(text, "en", TODAY).intents


@pytest.mark.parametrize("text, amount, day", [
    ("could i pay fifty now and fifty on the twentieth", 50, "2026-12-20"),
    ("money's tight so can i send eighty today and another eighty next friday", 80, "2026-11-28"),
])
def test_a_first_part_paid_now_is_a_promise_inside_a_plan(text: str, amount: int, day: str) -> None:
    got = understand(text, "en", TODAY)
    assert {"promise_to_pay", "payment_plan"} <= set(got.intents) and got.amount == amount


@pytest.mark.parametrize("text", ["i've no idea how i'm going to pay the rent this month",
                                  "i honestly don't know what i'm gonna do about the car loan"])
def test_not_knowing_how_to_pay_is_no_promise(text: str) -> None:
    assert "promise_to_pay" not in understand(text, "en", TODAY).intents


def test_an_ordinal_that_counts_is_no_day_of_the_month() -> None:
    got = understand("i can send the second instalment of two hundred on thursday", "en", TODAY)
    assert str(got.date) == "2026-12-03"
    assert str(understand("i'll pay it on the second", "en", TODAY).date) == "2026-12-02"


def test_no_way_i_owe_is_a_dispute_not_a_refusal() -> None:
    got = understand("no way i owe you that much it's all made up fees", "en", TODAY)
    assert "dispute" in got.intents and "refuse" not in got.intents


def test_yes_fine_before_a_promise_is_also_a_yes() -> None:
    got = understand("yes sure monday i'll send the sixty", "en", TODAY)
    assert {"affirm", "promise_to_pay"} <= set(got.intents)
