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
    # pence / cents after the currency, halves before a scale word, years after "in"
    ("eighty five pounds and fifty pence", 85.5), ("forty five dollars fifty cents", 45.5), ("twelve pounds fifty", 12.5),
    ("one and a half grand", 1500), ("a grand and a half", 1500), ("two and a half thousand", 2500),
    ("i paid them back in twenty twenty two", None), ("since two thousand and nineteen", None),
    ("in twenty nineteen i paid fifty", 50), ("i'll put in two thousand", 2000), ("four hundred goes out friday", 400),
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
    # time asked for up to a day is that day; a state lasting until it is not
    ("gimme till tomorrow arvo", False, "2026-11-29"), ("can you give me till the tenth", False, "2026-12-10"),
    ("can you extend my deadline until the eighteenth", False, "2026-12-18"), ("i'm skint till christmas", False, None),
    ("could we hold off till the new year", False, None),
    ("in like an hour", False, "2026-11-28"), ("by end of day", False, "2026-11-28"),
    ("i put it on friday just gone", False, "2026-11-27"),
    ("sixty five every friday starting this friday", False, "2026-12-04"), ("fifty every friday", False, None),
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


# Blind sets: written to the shared/data README conventions without looking at the rules,
# scored before tuning (figures in the helper report). Set 1 drove the first round of general
# fixes, sets 2-4 were each written fresh and scored frozen before the next round, so the later
# ones are the better estimate of unseen performance. Here they guard against regressions.
BLIND = Path(__file__).resolve().parent / "data"
CALLER_TARGETS = {"macro_f1": 0.90, "distress_recall": 0.97, "critical_recall": 1.0,
                  "critical_precision": 0.8, "amount_exact": 0.93, "date_exact": 0.93}


@pytest.mark.parametrize("name", ["en_blind_caller", "en_blind2_caller", "en_blind3_caller", "en_blind4_caller"])
def test_blind_caller_targets(name: str) -> None:
    from voicebot.nlu.scoring import score_file
    scores = score_file(BLIND / f"{name}.jsonl")["caller"]
    assert scores["lines"] >= 60
    for figure, target in CALLER_TARGETS.items():
        assert scores[figure] is None or scores[figure] >= target, (figure, scores[figure], scores["mistakes"][:5])


@pytest.mark.parametrize("name", ["en_blind_agent", "en_blind2_agent", "en_blind3_agent", "en_blind4_agent"])
def test_blind_agent_targets(name: str) -> None:
    from voicebot.nlu.scoring import score_file
    scores = score_file(BLIND / f"{name}.jsonl")["agent"]
    assert scores["lines"] >= 20
    assert scores["macro_f1"] >= 0.85, scores["mistakes"][:5]
    assert scores["compliant_flagged"] <= 0.05, scores["mistakes"][:5]


@pytest.mark.parametrize("text, intents, amount, day", [
    ("two fifty on the tenth", {"promise_to_pay"}, 250.0, "2026-12-10"),  # bare amount + day
    ("i can only manage twenty a week", {"payment_plan"}, 20.0, None),  # instalment offer, no promise
    ("don't ring me again", {"cease_contact"}, None, None),  # ban, not a callback
    ("this is his wife he's at work right now", {"wrong_party"}, None, None),
    ("no that's not right", {"deny"}, None, None),
    ("i'll send three hundred on wednesday the ninth", {"promise_to_pay"}, 300.0, "2026-12-09"),
    ("i'll pay a thousand two hundred on saturday week", {"promise_to_pay"}, 1200.0, "2026-12-12"),
    ("would you accept a hundred a month until it's paid off", {"payment_plan"}, 100.0, None),
    ("ill pay it tomorrow", {"promise_to_pay"}, None, "2026-11-29"),
    ("my son's in hospital he can't talk", {"wrong_party"}, None, None),
    ("you're killing me with these calls stop ringing", {"cease_contact"}, None, None),
    # round 9 (en_blind8 classes)
    ("okay fine two hundred on wednesday now stop calling me", {"cease_contact", "promise_to_pay"}, 200.0, "2026-12-02"),
    ("my sister took care of it for me on tuesday", {"already_paid"}, None, "2026-11-24"),
    ("i gave three hundred in cash to one of your collectors on thursday", {"already_paid"}, 300.0, "2026-11-26"),
    ("paid ninety on the twentieth through the app", {"already_paid"}, 90.0, "2026-11-20"),
    ("i'll have every penny paid up by the twenty third", {"promise_to_pay"}, None, "2026-12-23"),
    ("i'm skint and even if i wasn't i wouldn't pay you", {"refuse"}, None, None),
    ("you can wait till hell freezes over", {"refuse"}, None, None),
    ("i'd sooner starve in the street than give you a penny", {"refuse"}, None, None),
    ("i settled this with another collection agency years ago", {"already_paid", "dispute"}, None, None),
    ("the baby's crying give me a second", {"none"}, None, None),
    ("the car died and the repairs wiped me out can i skip this month", {"payment_plan"}, None, None),
    ("my brother overdosed last month and we're all in bits", {"distress"}, None, None),
    ("i'm killing myself doing overtime but you'll get your two hundred on the third", {"promise_to_pay"}, 200.0, "2026-12-03"),
    ("give me till monday and i'll pay the two hundred", {"promise_to_pay"}, 200.0, "2026-11-30"),
    ("this isn't gary it's his brother", {"wrong_party"}, None, None),
    ("yup that's my date of birth", {"affirm"}, None, None),
    ("agent agent", {"request_agent"}, None, None),
])
def test_general_rules(text: str, intents: set[str], amount: float | None, day: str | None) -> None:
    got = understand(text, "en", TODAY)
    assert (set(got.intents), got.amount, got.date.isoformat() if got.date else None) == (intents, amount, day)
    assert not got.critical


@pytest.mark.parametrize("text, intents", [
    ("i've been paying thirty a week since may", {"already_paid"}),  # payment history, no plan
    ("i'm skint and even if i wasn't i wouldn't pay you", {"refuse"}),  # a refusal is no plan
    ("give me till monday and i'll pay the two hundred", {"promise_to_pay"}),
    ("i have a plan to end my life", {"distress"}),
])
def test_plan_vetoes_in_rules(text: str, intents: set[str]) -> None:
    from voicebot.nlu.en import _intents, normalise
    assert _intents(normalise(text))[0] == intents


@pytest.mark.parametrize("text", [
    "i won't be around by the time that's due", "i've been stockpiling my medication",
    "nobody would miss me if i was dead", "i'm thinking of ending it tonight",
    "i don't feel safe with myself tonight", "i just want the pain to stop for good",
    "you can collect it from my estate soon enough", "i don't think i'll make it to christmas",
])
def test_indirect_self_harm_is_critical(text: str) -> None:
    got = understand(text, "en", TODAY)
    assert got.critical and "distress" in got.intents


@pytest.mark.parametrize("text, flags", [
    ("can you tell your husband his loan is three months overdue", ("third_party_disclosure",)),
    ("this message is from the county court bailiff service", ("false_representation",)),
    ("okay i'll leave you my name it's dan and the number is oh one six one four nine six zero", ()),
    ("expect a visit from our guys", ("threat",)),
    # a threat to tell the borrower's family about their own debt is a threat, not a disclosure
    ("i'll ring your mother tonight and tell her about this loan", ("threat",)),
    ("i'm calling your office because mr smith has an unpaid debt with us", ("third_party_disclosure",)),
    ("i'm calling your workplace because you haven't paid your loan", ("threat",)),
    ("i work for the government debt recovery department", ("false_representation",)),
    ("your benefits will be stopped once we report this", ("threat",)),
    # legal action as already decided, enforcement on its way, veiled warnings
    ("we've been told to start court proceedings on monday", ()),
    ("i'm instructed to issue proceedings against you tomorrow", ("threat",)),
    ("the officers have a warrant and they're on their way to you", ("threat",)),
    ("pay up today or things get really ugly", ("threat",)),
    ("i bet your husband would be very interested to hear about this", ("threat",)),
    ("we'll be ringing your references this afternoon", ("threat",)),
    # sarcasm and contempt
    ("honestly can you even read a bank statement", ("abuse",)),
    ("crying won't make your arrears go away", ("abuse",)),
    ("must be nice going on holiday while you ignore us", ("abuse",)),
    # a threat to tell a relative about the borrower's own debt stays a threat only
    ("i'll tell your dad that you still owe us eight hundred", ("threat",)),
    # a callback number left with a third party is compliant, not privacy
    ("he can ring back on oh one two three four five six seven eight nine", ()),
    # a firm deadline said politely is compliant
    ("we need the payment by friday or we may pass the account to our legal team", ()),
])
def test_agent_general_rules(text: str, flags: tuple[str, ...]) -> None:
    assert agent_flags(text, "en") == flags


@pytest.mark.parametrize("text", [
    "i have to take my tablets now call me later", "i am going to jump on a call", "my boss will kill me",
    "i want to end this call", "what is the point of calling me every day", "you're killing me with these calls",
    "i'd sooner die in a ditch than give you a cent", "you won't see another penny from me",
    "i'm killing myself working double shifts", "i'd kill for a day off",
])
def test_everyday_wording_is_not_critical(text: str) -> None:
    assert not understand(text, "en", TODAY).critical
