"""QA scorecards computed from sessions written by the real Recorder."""
from __future__ import annotations

from typing import Callable

import pytest

from voicebot.events import EventType as T
from voicebot.recording.format import SessionRecord
from voicebot.recording.qa import CHECK_WEIGHTS, QaRules, score_session

from .conftest import good_call_steps

ALWAYS = sum(w for n, w in CHECK_WEIGHTS.items() if n != "handoff_timely")  # weights of a call without hand-off


def test_good_call_scores_100(make_call: Callable[..., SessionRecord]) -> None:
    card = score_session(make_call())
    assert card.score == 100, card.checks
    assert card.status("verified_before_debt") == "pass"
    assert card.status("disclosures_played") == "pass"
    assert card.status("promise_confirmed") == "pass"
    assert card.status("handoff_timely") == "na"
    assert card.status("calling_window") == "pass" and card.status("attempt_caps") == "pass"
    assert card.disposition == "promise_to_pay" and card.promise and card.duration_ms == 16700
    # speech from the events: caller 3000 ms, bot 11000 ms, no overlap, 2700 ms of silence
    assert card.metrics["caller_speech_ms"] == 3000 and card.metrics["bot_speech_ms"] == 11000
    assert card.talk_over_ratio == 0.0
    assert card.silence_ratio == pytest.approx(2700 / 16700)


def test_amount_before_verification_fails_that_check(make_call: Callable[..., SessionRecord]) -> None:
    card = score_session(make_call("early", good_call_steps(verify_first=False)))
    assert card.status("verified_before_debt") == "fail"
    assert "amount_due@7000ms" in next(c.detail for c in card.checks if c.name == "verified_before_debt")
    assert card.failures == ("verified_before_debt",)
    assert card.score == round(100 * (ALWAYS - 25) / ALWAYS)  # 72


def test_interrupted_disclosure_and_unconfirmed_promise(make_call: Callable[..., SessionRecord]) -> None:
    steps = [s for s in good_call_steps() if not (s[1] == T.PROMPT_PLAYED and s[2]["prompt_id"] == "mini_miranda")]
    steps.append((5000, T.PROMPT_INTERRUPTED, {"prompt_id": "mini_miranda", "played_ms": 1100}))
    steps = [(at, k, {**d, "promise": {**d["promise"], "confirmed": False}} if k == T.OUTCOME else d)
             for at, k, d in steps]
    card = score_session(make_call("bad", sorted(steps, key=lambda s: s[0])))
    assert card.status("disclosures_played") == "fail" and card.status("promise_confirmed") == "fail"
    assert card.score == round(100 * (ALWAYS - 15 - 10) / ALWAYS)
    # the interruption shortened the bot's speech: 3000 -> 1100 ms for that prompt
    assert card.metrics["bot_speech_ms"] == 11000 - 1900


@pytest.mark.parametrize("transfer_at,status", [(13000, "pass"), (25000, "fail"), (None, "fail")])
def test_handoff_must_transfer_within_limit(make_call: Callable[..., SessionRecord], transfer_at: int | None,
                                            status: str) -> None:
    steps = good_call_steps(handoff=(12000, transfer_at))
    if transfer_at and transfer_at > 16700:  # keep the call alive until the late transfer
        steps = [s for s in steps if s[1] != T.CALL_ENDED] + [(transfer_at + 100, T.CALL_ENDED, {"reason": "transferred"})]
    if transfer_at is None:
        steps.append((30000, T.CALL_ENDED, {"reason": "peer_hangup"}))
    card = score_session(make_call(f"h{transfer_at}", sorted(steps, key=lambda s: s[0])), QaRules(handoff_max_s=5))
    assert card.status("handoff_timely") == status
    assert card.handoff_reasons == ("distress",)


def test_prohibited_language_by_bot_agent_or_warning(make_call: Callable[..., SessionRecord]) -> None:
    steps = good_call_steps() + [
        (15500, T.FINAL, {"channel": "agent", "text": "We will tell your employer about this"}),
    ]
    card = score_session(make_call("agent-bad", sorted(steps, key=lambda s: s[0])))
    assert card.status("no_prohibited_language") == "fail"
    assert "agent said 'tell your employer'" in next(c.detail for c in card.checks if c.name == "no_prohibited_language")
    steps = good_call_steps() + [(15500, T.COMPLIANCE_WARNING, {"rule": "threat", "speaker": "bot", "text": "x"})]
    assert score_session(make_call("warn", sorted(steps, key=lambda s: s[0]))).status("no_prohibited_language") == "fail"
    # a custom list catches a phrase the default list does not know
    card = score_session(make_call("custom"), QaRules(prohibited_phrases=("goodbye",)))
    assert card.status("no_prohibited_language") == "fail"


def test_talk_over_and_silence_ratios(make_call: Callable[..., SessionRecord]) -> None:
    # the caller talks over the whole 2 s greeting
    steps = good_call_steps() + [(0, T.SPEECH_START, {"channel": "caller"}), (2000, T.SPEECH_END, {"channel": "caller"})]
    card = score_session(make_call("over", sorted(steps, key=lambda s: s[0])), QaRules(max_talk_over_ratio=0.1))
    assert card.talk_over_ratio == pytest.approx(2000 / 16700)
    assert card.status("talk_over") == "fail"
    assert score_session(make_call("quiet"), QaRules(max_silence_ratio=0.1)).status("silence") == "fail"


def test_calling_window_and_caps_from_meta(make_call: Callable[..., SessionRecord]) -> None:
    card = score_session(make_call("late", meta={"call_window_ok": False, "attempt_caps_ok": None}))
    assert card.status("calling_window") == "fail" and card.status("attempt_caps") == "na"
