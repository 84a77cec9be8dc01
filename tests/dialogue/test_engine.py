"""Engine behaviour on the shipped English script, driven by a small keyword understander."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from dialogue_testdata import TODAY
from dialogue_keyword_nlu import understand
from voicebot.dialogue import (
    Account, AccountError, Dialogue, EndCall, HandOff, Say, StateChanged, Understood, is_backchannel,
    script_for,
)

DEBT_WORDS = ("debt", "loan", "owe", "overdue", "balance", "payment", "dollar", "due", "Northwind Credit loan")


def make(account: Account, **kw: object) -> Dialogue:
    return Dialogue(script_for("en"), account, TODAY, understand=understand, **kw)  # type: ignore[arg-type]


def says(actions: list) -> list[Say]:
    return [a for a in actions if isinstance(a, Say)]


def talk(d: Dialogue, *turns: str) -> list:
    actions = d.start()
    for turn in turns:
        if turn == "":
            actions += d.on_no_input()
        elif turn.startswith("#dtmf "):
            actions += d.on_dtmf(turn.split()[1])
        else:
            actions += d.on_caller_turn(turn)
    return actions


def assert_no_debt(lines: list[Say], account: Account) -> None:
    for say in lines:
        assert not say.mentions_debt, say
        lowered = say.text.lower()
        assert not any(w.lower() in lowered for w in DEBT_WORDS), say.text
        assert "two hundred fifty" not in lowered


def test_promise_captured_read_back_and_confirmed(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "yes this is me", "I'll pay $200 on friday", "yes")
    lines = says(actions)
    verified_at = next(i for i, s in enumerate(lines) if s.state == "disclosure")
    assert_no_debt(lines[:verified_at], account_en)
    assert [s.state for s in lines[:2]] == ["greeting", "verify"]
    readback = next(s for s in lines if s.state == "confirm_promise")
    assert "two hundred dollars on Friday, December 4th" in readback.text
    assert isinstance(actions[-1], EndCall) and actions[-1].disposition == "ptp"
    assert "1, 8 0 0, 5 5 5, 0 1 0 0" in lines[-1].text  # closes with the callback number
    out = d.outcome
    assert (out.disposition, out.promise_amount, out.promise_date, out.promise_confirmed, out.verified) == (
        "ptp", 200.0, date(2026, 12, 4), True, True)
    assert d.finished and d.on_caller_turn("hello") == []


def test_disclosures_are_not_interruptible_and_segments_mark_slots(account_en: Account) -> None:
    lines = says(talk(make(account_en), "yes"))
    greeting, verify, disclosure, reminder = lines[:4]
    assert greeting.disclosure and not greeting.interruptible and "recorded" in greeting.text
    assert disclosure.disclosure and not disclosure.interruptible
    assert "This is an attempt to collect a debt" in disclosure.text  # US profile
    assert reminder.mentions_debt and "two hundred fifty dollars and fifty cents" in reminder.text
    assert verify.segments == (("Am I speaking with Jordan Miller?", False),)
    assert ("This call is recorded for quality purposes.", True) in greeting.segments
    assert "".join(t for t, _ in disclosure.segments).replace(" ", "") == disclosure.text.replace(" ", "")


def test_cn_profile_has_no_us_debt_collector_line(account_en: Account) -> None:
    d = Dialogue(script_for("en", profile="cn"), account_en, TODAY, understand=understand)
    disclosure = next(s for s in says(d.start() + d.on_caller_turn("yes")) if s.state == "disclosure")
    assert "collect a debt" not in disclosure.text


def test_wrong_party_never_hears_about_the_debt(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "sorry wrong number", "call back tomorrow")
    assert_no_debt(says(actions), account_en)
    assert [a.new for a in actions if isinstance(a, StateChanged)][-2:] == ["wrong_party", "close_wrong_party"]
    assert d.outcome.disposition == "wrong_party" and not d.verified
    assert d.outcome.callback_at == TODAY + timedelta(days=1)


def test_ask_info_before_and_after_verification(account_en: Account) -> None:
    d = make(account_en)
    before = says(talk(d, "who is this"))
    assert_no_debt(before, account_en)
    assert "only discuss" in before[-2].text and before[-1].state == "verify"
    after = says(d.on_caller_turn("yes") + d.on_caller_turn("how much is it"))
    info = next(s for s in after if s.state == "info")
    assert "two hundred fifty dollars and fifty cents" in info.text
    assert after[-1].state == "ask_payment"  # back to the question it interrupted


def test_cease_records_opt_out(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "yes", "stop calling me")
    assert isinstance(actions[-1], EndCall) and actions[-1].disposition == "cease"
    assert d.outcome.opt_out and d.outcome.disposition == "cease"


def test_voicemail_message_is_limited_content(account_en: Account) -> None:
    d = make(account_en)
    d.start()
    actions = d.on_voicemail()
    message = says(actions)[-1]
    assert message.text == "This is a message for Jordan Miller. Please call us back at 1, 8 0 0, 5 5 5, 0 1 0 0. Thank you."
    assert not message.mentions_debt and "Northwind" not in message.text
    assert actions[-1] == EndCall("voicemail") and d.outcome.disposition == "voicemail"


@pytest.mark.parametrize("turns, reason, disposition", [
    (("yes", "I lost my job"), "distress", "hardship"),
    (("yes", "I don't owe you anything"), "dispute", "dispute"),
    (("yes", "let me talk to a real person"), "request_agent", "handoff"),
    (("yes", "can I pay in installments"), "payment_plan", "plan_requested"),
    (("no I don't owe anything",), "dispute", "dispute"),
])
def test_handoffs(account_en: Account, turns: tuple[str, ...], reason: str, disposition: str) -> None:
    d = make(account_en)
    actions = talk(d, *turns)
    handoff = actions[-1]
    assert isinstance(handoff, HandOff) and handoff.reason == reason
    assert isinstance(actions[-2], Say) and actions[-2].state.startswith("handoff_")  # line, then transfer
    assert d.outcome.disposition == disposition and d.outcome.handoff_reason == reason
    assert ("amount_due" in handoff.summary) == d.verified
    assert handoff.summary["last_turns"][-2]["text"] == turns[-1]


def test_critical_is_one_caring_line_then_handoff_even_before_verification(account_en: Account) -> None:
    d = make(account_en)
    d.start()
    actions = d.on_caller_turn("I just want to end it all")
    assert [type(a) for a in actions] == [Understood, StateChanged, Say, HandOff]
    assert actions[-1].reason == "critical_distress" and "amount_due" not in actions[-1].summary
    assert not actions[2].mentions_debt and len(actions[2].segments) <= 2


def test_promise_outside_policy_offers_a_person(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "yes", "I'll pay $200 in 30 days")
    offer = says(actions)[-1]
    assert offer.state == "offer_agent_policy"
    assert "one hundred twenty-five dollars and twenty-five cents" in offer.text  # 0.5 x 250.50
    assert "Saturday, December 12th" in offer.text  # today + 14 days
    actions = d.on_caller_turn("yes")
    assert isinstance(actions[-1], HandOff) and actions[-1].reason == "promise_outside_policy"
    assert actions[-1].summary["promise"] == {"amount": 200.0, "date": "2026-12-28", "confirmed": False}


def test_too_small_then_corrected_promise(account_en: Account) -> None:
    d = make(account_en)
    talk(d, "yes", "I'll pay $20 on friday")
    assert d.state == "offer_agent_policy"
    d.on_caller_turn("no")
    assert d.state == "ask_payment_again"
    d.on_caller_turn("I can pay $150 on monday")
    assert d.state == "confirm_promise"
    d.on_caller_turn("yes")
    assert (d.outcome.promise_amount, d.outcome.promise_date, d.outcome.promise_confirmed) == (150.0, date(2026, 11, 30), True)


def test_date_only_promise_asks_for_amount_and_yes_means_full(account_en: Account) -> None:
    d = make(account_en)
    lines = says(talk(d, "yes", "I'll pay on friday"))
    assert lines[-1].state == "ask_promise_amount" and "Friday, December 4th" in lines[-1].text
    lines = says(d.on_caller_turn("yes"))
    assert "two hundred fifty dollars and fifty cents on Friday, December 4th" in lines[-1].text
    assert d.outcome.promise_amount == 250.5


def test_readback_denied_then_corrected(account_en: Account) -> None:
    d = make(account_en)
    talk(d, "yes", "I'll pay $200 on friday", "no")
    assert d.state == "ask_payment_again" and d.outcome.promise_amount is None
    lines = says(d.on_caller_turn("I'll pay $180 on monday"))
    assert "one hundred eighty dollars on Monday, November 30th" in lines[-1].text


def test_no_input_reprompts_then_closes(account_en: Account) -> None:
    d = make(account_en)
    d.start()
    first = d.on_no_input()
    assert says(first)[0].state == "verify" and "press 1" in says(first)[0].text
    second = d.on_no_input()
    assert second[-1] == EndCall("no_input") and d.outcome.disposition == "no_input"
    assert_no_debt(says(second), d.account)


def test_no_match_rephrases_then_hands_off(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "yes", "purple elephants")
    assert says(actions)[-1].prompt_id == "ask_payment.reprompt1"
    actions = d.on_caller_turn("more purple elephants")
    assert isinstance(actions[-1], HandOff) and actions[-1].reason == "no_match"


def test_max_no_match_is_configurable(account_en: Account) -> None:
    d = make(account_en, max_no_match=3)
    talk(d, "yes", "purple", "elephants")
    assert not d.finished and d.state == "ask_payment"


def test_dtmf_answers(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "#dtmf 1")
    assert d.verified and any(isinstance(a, Understood) and a.understanding.intents == ("affirm",) for a in actions)
    actions = d.on_dtmf("0")
    assert isinstance(actions[-1], HandOff) and actions[-1].reason == "request_agent"


def test_unknown_dtmf_is_a_no_match(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "#dtmf 7")
    assert says(actions)[-1].prompt_id == "verify.reprompt1" and not d.verified


def test_grammar_and_timeout_follow_the_state(account_en: Account) -> None:
    d = make(account_en)
    d.start()
    assert d.grammar() is not None and "yes" in d.grammar()
    assert d.no_input_timeout_s() == 6.0
    d.on_caller_turn("yes")
    assert d.state == "ask_payment" and d.grammar() is None


def test_already_paid_callback_and_refuse_paths(account_en: Account) -> None:
    d = make(account_en)
    talk(d, "yes", "I already paid", "on tuesday by card")
    assert d.outcome.disposition == "paid" and "payment details" in d.outcome.notes
    d = make(account_en)
    talk(d, "yes", "can you call me back on monday")
    assert d.outcome.disposition == "callback" and d.outcome.callback_at == date(2026, 11, 30)
    d = make(account_en)
    talk(d, "yes", "I'm not paying", "no")
    assert d.outcome.disposition == "refused"


def test_hangup_is_dropped_unless_decided(account_en: Account) -> None:
    d = make(account_en)
    talk(d, "yes")
    assert d.on_hangup().disposition == "dropped"
    d = make(account_en)
    talk(d, "yes", "I'll pay $200 on friday", "yes")
    assert d.on_hangup().disposition == "ptp"


def test_going_round_in_circles_hands_off(account_en: Account) -> None:
    d = make(account_en)
    actions = talk(d, "yes", *["how much is it"] * 4)
    assert isinstance(actions[-1], HandOff)


def test_start_twice_and_turn_before_start_are_errors(account_en: Account) -> None:
    d = make(account_en)
    with pytest.raises(RuntimeError):
        d.on_caller_turn("yes")
    d.start()
    with pytest.raises(RuntimeError):
        d.start()


def test_account_from_string_parameters() -> None:
    account = Account.from_mapping({
        "account_id": "A1", "name": "Sam Lee", "lender": "Acme", "amount_due": "1,200.00",
        "currency": "usd", "due_date": "2026-11-01", "callback_number": "555-0100", "agent_name": "Max",
    })
    assert account.amount_due == 1200.0 and account.currency == "USD" and account.extra == {"agent_name": "Max"}
    d = Dialogue(script_for("en"), account, TODAY, understand=understand)
    assert "this is Max" in says(d.start())[0].text
    with pytest.raises(AccountError, match="amount_due"):
        Account.from_mapping({**account.to_json_obj(), "amount_due": "lots"})
    with pytest.raises(AccountError, match="due_date"):
        Account.from_mapping({**account.to_json_obj(), "due_date": "tomorrow"})
    with pytest.raises(AccountError, match="lender"):
        Account.from_mapping({k: v for k, v in account.to_json_obj().items() if k != "lender"})


@pytest.mark.parametrize("text, lang, expected", [
    ("uh-huh", "en", True), ("mm", "en", True), ("yeah yeah okay", "en", True),
    ("yes I'll pay friday", "en", False), ("", "en", False),
    ("嗯", "zh", True), ("嗯 嗯 对", "zh", True), ("我周五还", "zh", False),
    ("네네", "ko", True), ("네 네", "ko", True), ("내일 오만원 낼게요", "ko", False),
])
def test_is_backchannel(text: str, lang: str, expected: bool) -> None:
    assert is_backchannel(text, lang) is expected


def test_partial_answer_complete_only_when_it_answers_whole(account_en: Account) -> None:
    # The real NLU: a yes, or a promise with both amount and date, lets the turn end early;
    # half a promise, distress and a dispute never do.
    d = Dialogue(script_for("en"), account_en, TODAY)
    assert not d.answer_complete("yes")  # not started
    d.start()
    assert d.answer_complete("yes that's me")
    assert d.answer_complete("i can pay two hundred dollars on friday")
    assert not d.answer_complete("i can pay two hundred dollars")
    assert not d.answer_complete("i can't go on like this i lost my job")
    assert not d.answer_complete("i never took out this loan")
    assert not d.answer_complete("   ")
