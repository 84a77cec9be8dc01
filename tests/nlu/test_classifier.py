"""The trained intent classifier (voicebot/nlu/classifier.py) and its combination with the rules.

en_blind5_caller.jsonl and zh_blind4_caller.jsonl were written before the model was trained and
are never read by voicebot.nlu.train; the figures asserted on them are what rules+classifier
achieved when first scored (rules alone in brackets): en macro-F1 0.940 (0.876), distress recall
0.963 (0.722), critical recall 0.818 (0.500), critical precision 0.857 (0.846); zh macro-F1 0.914
(0.896), distress recall 0.981 (0.827), critical recall 0.958 (0.708), critical precision 1.0.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import voicebot.nlu.en as en_module
import voicebot.nlu.zh as zh_module
from voicebot.nlu import classifier
from voicebot.nlu.scoring import load_jsonl, score_lines
from voicebot.nlu.train import HELD_OUT, OWN_DATA, TRAIN_FILES, load_corpus, train

REPO = Path(__file__).resolve().parents[2]
BLIND = {"en": OWN_DATA / "en_blind5_caller.jsonl", "zh": OWN_DATA / "zh_blind4_caller.jsonl"}
NORMALISE = {"en": en_module.normalise, "zh": zh_module.normalise}
# Floors from the spent sets, re-measured after the English safety hook (safety.py): en
# macro-F1 0.938 (was 0.940: the wider idiom list leaves a few more lines to the rules), critical
# recall 0.909 (was 0.818).
ACHIEVED = {
    "en": {"macro_f1": 0.93, "distress_recall": 0.96, "critical_recall": 0.90, "critical_precision": 0.85,
           "amount_exact": 1.0, "date_exact": 1.0},
    "zh": {"macro_f1": 0.91, "distress_recall": 0.98, "critical_recall": 0.95, "critical_precision": 1.0,
           "amount_exact": 1.0, "date_exact": 1.0},
}


# Fresh sets written before the English safety hook and the zh cue additions, never trained or
# tuned on, scored once afterwards (rules+classifier+safety; rules+classifier without the new
# cues in brackets): en macro-F1 0.911 (0.900), distress recall 0.981 (0.926), critical recall
# 1.0 (0.583), critical precision 0.923; zh macro-F1 0.824 (0.824), distress recall 0.940,
# critical recall 0.676 (0.647), critical precision 0.885. The en set and the en cues had the
# same author, so its figures are optimistic. Regression floors, not targets.
FRESH = {"en": OWN_DATA / "en_blind6_caller.jsonl", "zh": OWN_DATA / "zh_blind5_caller.jsonl"}
FRESH_FLOORS = {
    "en": {"macro_f1": 0.9, "distress_recall": 0.98, "critical_recall": 1.0, "critical_precision": 0.92},
    "zh": {"macro_f1": 0.82, "distress_recall": 0.94, "critical_recall": 0.67, "critical_precision": 0.88},
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fresh_blind_set_floors(lang: str) -> None:
    lines = load_jsonl(FRESH[lang])
    assert len(lines) >= 100 and sum(1 for line in lines if line["critical"]) >= 30
    both = score_lines(lines)["caller"]
    for figure, floor in FRESH_FLOORS[lang].items():
        assert both[figure] >= floor, (figure, both[figure])


def _blind_norms(lang: str) -> list[str]:
    return [NORMALISE[lang](line["text"]) for line in load_jsonl(BLIND[lang])]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_model_loads_from_package_data(lang: str) -> None:
    model = classifier.load_model(lang)
    assert model.lang == lang and model.labels == classifier.LABELS
    assert model.weights.shape == (model.weights.shape[0], len(classifier.LABELS))
    assert set(model.thresholds) == {"critical", "none", *classifier.ADDABLE}
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())
    path = REPO / "voicebot" / "nlu" / "data" / lang / classifier.MODEL_FILE
    assert path.stat().st_size < 5_000_000


def test_unsupported_language_is_an_error() -> None:
    with pytest.raises(ValueError):
        classifier.ngrams("hello", "ko")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_predictions_are_deterministic_across_processes(lang: str) -> None:
    norms = _blind_norms(lang)[:30]
    here = [classifier.load_model(lang).probabilities(n) for n in norms]
    assert here == [classifier.load_model(lang).probabilities(n) for n in norms]
    code = ("import json,sys; from voicebot.nlu.classifier import load_model; m=load_model(sys.argv[1]); "
            "print(json.dumps([m.probabilities(n) for n in json.loads(sys.stdin.read())]))")
    env = dict(os.environ, PYTHONHASHSEED="12345")  # string hashing differs; buckets must not
    out = subprocess.run([sys.executable, "-c", code, lang], input=json.dumps(norms), env=env,
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    assert json.loads(out.stdout) == here


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_reproduces_the_shipped_model(lang: str) -> None:
    if not all(p.exists() for p in TRAIN_FILES[lang]):
        pytest.skip("training files (shared/data beside the repo) are absent")
    shipped = classifier.load_model(lang)
    retrained, _ = train(lang, thresholds=shipped.thresholds)  # CV for thresholds is slow; fit only
    norms = _blind_norms(lang)
    a = np.array([shipped.scores(n) for n in norms])
    b = np.array([retrained.scores(n) for n in norms])
    assert np.abs(a - b).max() < 1e-2  # float16 storage rounds the shipped weights
    for n in norms:
        rules: set[str] = set()
        assert classifier.combine(rules, False, shipped.probabilities(n), shipped.thresholds) == \
            classifier.combine(rules, False, retrained.probabilities(n), retrained.thresholds)


def test_training_never_reads_the_blind_sets() -> None:
    assert {p.name for files in TRAIN_FILES.values() for p in files}.isdisjoint(HELD_OUT)
    with pytest.raises(ValueError):
        load_corpus("en", (BLIND["en"],))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_blind_set_figures(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = load_jsonl(BLIND[lang])
    assert len(lines) >= 150
    both = score_lines(lines)["caller"]
    for figure, floor in ACHIEVED[lang].items():
        assert both[figure] >= floor, (figure, both[figure])
    module = en_module if lang == "en" else zh_module
    monkeypatch.setattr(module, "refine", lambda found, critical, norm, lang: (set(found), critical))
    rules = score_lines(lines)["caller"]
    assert both["macro_f1"] > rules["macro_f1"]
    assert both["distress_recall"] > rules["distress_recall"]
    assert both["critical_recall"] > rules["critical_recall"]


THRESHOLDS = {"critical": 0.4, "distress": 0.4, "dispute": 0.3, "request_agent": 0.2, "none": 0.5}


def _probs(**given: float) -> dict[str, float]:
    return {label: given.get(label, 0.0) for label in classifier.LABELS}


def test_combine_adds_but_never_removes() -> None:
    got, critical = classifier.combine({"promise_to_pay"}, False, _probs(distress=0.9), THRESHOLDS)
    assert got == {"promise_to_pay", "distress"} and not critical
    got, critical = classifier.combine({"refuse"}, False, _probs(), THRESHOLDS)
    assert got == {"refuse"} and not critical


def test_combine_critical_implies_distress_and_idioms_stay_with_rules() -> None:
    got, critical = classifier.combine(set(), False, _probs(critical=0.6), THRESHOLDS)
    assert critical and got == {"distress"}
    got, critical = classifier.combine({"distress"}, False, _probs(critical=0.9, dispute=0.9), THRESHOLDS,
                                       figurative=True)
    assert got == {"distress"} and not critical


def test_combine_guards_wrong_party_and_money_tight() -> None:
    got, _ = classifier.combine({"wrong_party"}, False, _probs(distress=0.9), THRESHOLDS)
    assert got == {"wrong_party"}
    got, _ = classifier.combine({"payment_plan"}, False, _probs(distress=0.45, payment_plan=0.3), THRESHOLDS)
    assert got == {"payment_plan"}


def test_combine_replaces_none_only_when_confident() -> None:
    assert classifier.combine(set(), False, _probs(callback=0.7, none=0.2), THRESHOLDS)[0] == {"callback"}
    assert classifier.combine(set(), False, _probs(callback=0.3, none=0.2), THRESHOLDS)[0] == set()
    assert classifier.combine(set(), False, _probs(callback=0.6, none=0.8), THRESHOLDS)[0] == set()


def test_ngrams_follow_the_documented_features() -> None:
    chars = {" hi yo "[i:i + n] for n in (3, 4, 5) for i in range(len(" hi yo ") - n + 1)}
    words = {"\x01hi", "\x01yo", "\x04<s> hi", "\x04hi yo", "\x04yo </s>"}
    assert classifier.ngrams("hi yo", "en") == frozenset(chars | words)
    marked = "\x02你好\x03"
    assert classifier.ngrams("你好", "zh") == frozenset(
        marked[i:i + n] for n in (1, 2, 3, 4) for i in range(len(marked) - n + 1))


def test_probability_cache_hands_out_independent_equal_copies() -> None:
    model = classifier.load_model("en")
    norm = "i can't cope with any of this"
    first = model.probabilities(norm)
    first["critical"] = -1.0  # a caller mutating its copy must not reach the cache
    again = model.probabilities(norm)
    assert again == dict(zip(model.labels, model.scores(norm).tolist()))
    assert again["critical"] >= 0.0
