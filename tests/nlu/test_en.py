"""English NLU: numbers, dates, intents per label, critical, agent flags, CLI round trip."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from voicebot.nlu import agent_flags, understand
from voicebot.nlu.en_dates import resolve_date
from voicebot.nlu.en_numbers import committed_amount

TODAY = date(2026, 11, 28)
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text, amount", [
    ("two hundred and fifty", 250), ("two fifty", 250), ("a grand", 1000), ("fifteen hundred", 1500),
    ("five fifty", 550), ("like sixty five bucks", 65), ("to hundred", 200), ("for hundred", 400),
    ("eleven hundred dollars", 1100), ("a hundred and forty", 140), ("three hundred and seventy five", 375),
    ("two thousand five hundred", 2500), ("$250", 250), ("1,100", 1100), ("2k", 2000), ("a couple hundred", 200),
    ("one twenty", 120), ("twelve fifty", 1250), ("two oh five", 205), ("fifty down today and then twenty five a week", 50),
    ("i only borrowed five hundred", None), ("call oh eight hundred five five five one two", None),
    ("twenty minutes", None), ("half", None), ("in four chunks", None), ("one more time", None),
    ("i can stretch to to twenty five", None), ("on the sixteen", None), ("the twenty second", None),
])
def test_amounts(text: str, amount: float | None) -> None:
    assert committed_amount(text.split()) == (None if amount is None else float(amount))


@pytest.mark.parametrize("text, past, expected", [
    ("tomorrow", False, "2026-11-29"), ("friday", False, "2026-12-04"), ("this friday", False, "2026-12-04"),
    ("next friday", False, "2026-12-04"), ("by friday", False, "2026-12-04"), ("monday", False, "2026-11-30"),
    ("the fifteenth", False, "2026-12-15"), ("end of the month", False, "2026-11-30"),
    ("the last day of the month", False, "2026-11-30"), ("in two weeks", False, "2026-12-12"),
    ("in three days", False, "2026-12-01"), ("in three weeks", False, "2026-12-19"), ("on the sixteen", False, "2026-12-16"),
    ("january second", False, "2027-01-02"), ("the day after christmas", False, "2026-12-26"),
    ("wednesday the second", False, "2026-12-02"), ("the first of next month", False, "2026-12-01"),
    ("next week", False, None), ("payday", False, None), ("around the 20th", False, None),
    ("around the twentieth", False, None), ("friday or monday", False, None), ("for the weekend", False, None),
    ("on wednesday", True, "2026-11-25"), ("on tuesday", True, "2026-11-24"), ("on the twenty second", True, "2026-11-22"),
    ("last night", True, "2026-11-27"), ("like an hour ago", True, "2026-11-28"), ("two days ago", True, "2026-11-26"),
])
def test_dates(text: str, past: bool, expected: str | None) -> None:
    got = resolve_date(text, TODAY, past=past)
    assert (got.isoformat() if got else None) == expected


@pytest.mark.parametrize("text, intents", [
    ("i'll pay two hundred on friday", {"promise_to_pay"}),
    ("i already paid that on wednesday", {"already_paid"}),
    ("can i pay in instalments", {"payment_plan"}),
    ("money's tight right now can i pay a bit less", {"payment_plan"}),
    ("this isn't my loan", {"dispute"}),
    ("i lost my job last month", {"distress"}),
    ("this debt is killing me", {"distress"}),
    ("let me speak to a real person", {"request_agent"}),
    ("you've got the wrong number", {"wrong_party"}),
    ("my dad passed away in march", {"wrong_party"}),
    ("he's in prison", {"wrong_party"}),
    ("i'm driving call me back", {"callback"}),
    ("i'd rather die than pay", {"refuse"}),
    ("you won't get a penny from me", {"refuse"}),
    ("stop calling me", {"cease_contact"}),
    ("yeah that's me", {"affirm"}),
    ("nope", {"deny"}),
    ("how much do i owe", {"ask_info"}),
    ("hello can you hear me", {"none"}),
    ("i won't pay you on friday", {"refuse"}),
])
def test_intents(text: str, intents: set[str]) -> None:
    got = understand(text, "en", TODAY)
    assert set(got.intents) == intents
    assert not got.critical


@pytest.mark.parametrize("text", [
    "i've been looking up ways to end it", "i'm not gonna be around much longer",
    "everyone would be better off without me", "i want to go to sleep and never wake up",
])
def test_critical_always_with_distress(text: str) -> None:
    got = understand(text, "en", TODAY)
    assert got.critical and "distress" in got.intents


def test_promise_carries_amount_and_date() -> None:
    got = understand("um can you put me down for eighty five on tuesday", "en", TODAY)
    assert (got.intents, got.amount, got.date) == (("promise_to_pay",), 85.0, date(2026, 12, 1))


def test_amount_not_reported_for_dispute() -> None:
    got = understand("the loan was for three hundred not three thousand", "en", TODAY)
    assert got.intents == ("dispute",) and got.amount is None


@pytest.mark.parametrize("text, flags", [
    ("this is officer grant from the police and we'll be arresting you", ("threat", "false_representation")),
    ("you're a waste of space", ("abuse",)),
    ("oh you're his flatmate well he's behind on a loan with us", ("third_party_disclosure",)),
    ("the card on file is five four one two seven five three three zero zero nine one", ("privacy",)),
    ("this may be passed to our legal team", ()),
    ("missed payments may be reported to credit bureaus", ()),
    ("could you confirm the last four digits of your card", ()),
    ("my name is sam please ask him to call us back on oh one two three", ()),
])
def test_agent_flags(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text, "en") == flags


def test_cli_round_trip() -> None:
    lines = "i'll pay two fifty on friday\n\nstop calling me\n"
    result = subprocess.run([sys.executable, "-m", "voicebot", "nlu", "--lang", "en", "--today", "2026-11-28"],
                            input=lines, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    assert out[0] == {"text": "i'll pay two fifty on friday", "intents": ["promise_to_pay"], "amount": 250.0,
                      "date": "2026-12-04", "critical": False}
    assert out[1]["intents"] == ["none"]
    assert out[2]["intents"] == ["cease_contact"]
    agent = subprocess.run([sys.executable, "-m", "voicebot", "nlu", "--agent", "--lang", "en"],
                           input="you clown\n", capture_output=True, text=True, cwd=REPO, timeout=60)
    assert json.loads(agent.stdout) == {"text": "you clown", "flags": ["abuse"]}
