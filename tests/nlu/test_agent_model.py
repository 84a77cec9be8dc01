"""The trained agent flag model (classifier.agent_model_flags) and how the agent rules use it.

en_blind16_agent / zh_blind15_agent (AGENT_HELD_OUT) were written blind after the model and the
eighth-session agent round, are never trained on, and were scored once; the floors below are
those figures, and the model must add to the rules there (the reason it exists).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import voicebot.nlu.en_agent as en_agent
import voicebot.nlu.zh as zh_module
from voicebot.nlu import agent_flags, classifier
from voicebot.nlu.scoring import load_jsonl, score_lines
from voicebot.nlu.train import (AGENT_HELD_OUT, OWN_DATA, agent_normaliser, agent_train_files, load_agent_corpus,
                                train_agent)

REPO = Path(__file__).resolve().parents[2]
HELD_OUT = {"en": OWN_DATA / "en_blind16_agent.jsonl", "zh": OWN_DATA / "zh_blind15_agent.jsonl"}
MODULE = {"en": en_agent, "zh": zh_module}
# Rules alone: en macro-F1 0.897, compliant lines flagged 3.3 %; zh 0.850, 0 %. Scored first with
# the model free to add to flagged lines (en 0.935, zh 0.946), then, after the unit-test families
# showed wrong second flags, with AGENT_ADD_TO_FLAGGED_MIN as shipped: en 0.928, zh 0.940, flagged
# compliant lines unchanged. Regression floors.
HELD_OUT_FLOORS = {"en": {"macro_f1": 0.92}, "zh": {"macro_f1": 0.93}}
MAX_COMPLIANT_FLAGGED = {"en": 0.034, "zh": 0.0}


def _model(lang: str) -> classifier.IntentModel:
    return classifier.load_model(lang, classifier.AGENT_MODEL_FILE)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_agent_model_loads_from_package_data(lang: str) -> None:
    model = _model(lang)
    assert model.lang == lang and model.labels == classifier.AGENT_LABELS
    assert model.weights.shape[1] == len(classifier.AGENT_LABELS)
    assert set(model.thresholds) == set(classifier.AGENT_LABELS)
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())
    assert (REPO / "voicebot" / "nlu" / "data" / lang / classifier.AGENT_MODEL_FILE).stat().st_size < 300_000


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_agent_training_reproduces_the_shipped_model(lang: str) -> None:
    if not all(p.exists() for p in agent_train_files(lang)):
        pytest.skip("training files (shared/data beside the repo) are absent")
    shipped = _model(lang)
    retrained, _ = train_agent(lang, thresholds=shipped.thresholds)  # fit only: CV is slow
    norm = agent_normaliser(lang)
    norms = [norm(line["text"]) for line in load_jsonl(HELD_OUT[lang])]
    a = np.array([shipped.scores(n) for n in norms])
    b = np.array([retrained.scores(n) for n in norms])
    assert np.abs(a - b).max() < 1e-2
    thresholds = np.array([shipped.thresholds[f] for f in shipped.labels])
    assert ((a >= thresholds) == (b >= thresholds)).mean() > 0.99


def test_agent_training_never_reads_the_held_out_sets() -> None:
    for lang in ("en", "zh"):
        names = {p.name for p in agent_train_files(lang)}
        assert names.isdisjoint(AGENT_HELD_OUT)
        assert f"{lang}_agent.jsonl" in names and f"agent_dev_{lang}.jsonl" in names
        with pytest.raises(ValueError):
            load_agent_corpus(lang, (HELD_OUT[lang],))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_held_out_figures_and_the_model_adds_to_the_rules(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = load_jsonl(HELD_OUT[lang])
    assert len(lines) >= 100
    both = score_lines(lines)["agent"]
    for figure, floor in HELD_OUT_FLOORS[lang].items():
        assert both[figure] >= floor, (figure, both[figure])
    assert both["compliant_flagged"] <= MAX_COMPLIANT_FLAGGED[lang]
    monkeypatch.setattr(MODULE[lang], "agent_model_flags", lambda norm, lang, found=frozenset(): set())
    rules = score_lines(lines)["agent"]
    assert both["macro_f1"] > rules["macro_f1"]


@pytest.mark.parametrize(("lang", "vetoed", "added"), [
    # a threat word in a lawful sentence (the threat compliant patterns match) vs a plain line
    ("en", "we don't send the police round for this kind of thing", "well that is your decision then"),
    ("zh", "按 规定 我们 不能 找 您 的 亲戚 朋友 要 钱", "那 就 这样 吧 你 自己 看 着 办"),
])
def test_compliant_patterns_veto_model_flags(lang: str, vetoed: str, added: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MODULE[lang], "agent_model_flags", lambda norm, lang, found=frozenset(): {"threat"} - set(found))
    assert "threat" not in agent_flags(vetoed, lang)
    assert agent_flags(added, lang) == ("threat",)
    monkeypatch.setattr(MODULE[lang], "agent_model_flags", lambda norm, lang, found=frozenset(): set())
    assert agent_flags(added, lang) == ()


def test_model_disclosure_yields_to_a_threat_about_the_borrowers_own_debt(monkeypatch: pytest.MonkeyPatch) -> None:
    # "i'll ring your mother about your debt" is a threat to the borrower, not a disclosure,
    # whichever part (rules or model) proposes the disclosure.
    line = "pay today or i'll ring your mother and tell her about your debt"
    assert agent_flags(line, "en") == ("threat",)
    monkeypatch.setattr(en_agent, "agent_model_flags", lambda norm, lang, found=frozenset(): {"third_party_disclosure"} - set(found))
    assert agent_flags(line, "en") == ("threat",)


def test_agent_model_flags_follow_the_thresholds() -> None:
    model = _model("en")
    norm = en_agent.normalise("you worthless idiot you'll be sat in a cell before the new year")
    probs = model.probabilities(norm)
    assert classifier.agent_model_flags(norm, "en") == {f for f in model.labels if probs[f] >= model.thresholds[f]}
