"""Train the intent classifier (voicebot/nlu/classifier.py) from labelled caller lines.

Run: ``python -m voicebot.nlu.train --lang en`` (writes ``voicebot/nlu/data/en/intent_model.npz``
and prints the cross-validation figures); ``--agent`` trains the agent flag model
(``agent_model.npz``, see the section near the end). numpy only, deterministic: full-batch Adam from zero
weights over a fixed file order, so the same files give the same weights on the same machine.
``SEED`` fixes the only arbitrary choice left (the order lines are stacked in).

Training files are the labelled caller sets the rules were developed on (TRAIN_FILES), the
spent blind sets (``en_blind5/6/7/8_caller``, ``zh_blind4/5/6/7/8/9_caller``: each was scored once and
its figures seen, and the rules were then tuned on its mistakes, so they no longer measure
anything unseen) and ``{en,zh}_train_extra.jsonl``
(written for training: indirect self-harm hints, distress, disputes, agent requests, plans and
idiom hard negatives). The check sets in HELD_OUT are never read here: ``en_check9_caller`` and
``zh_check8_caller`` were written before the last tuning round and measure its result;
``en_check8`` / ``zh_check7`` are older (spent) regression checks for the model alone.

Thresholds (how sure the model must be before it adds an intent) come from leave-one-file-out
cross-validation: each file is predicted by a model trained on the others, which mimics a new
blind set. For each addable label the threshold is the lowest probability at which the
out-of-fold precision stays at or above its floor at every higher threshold too (recall-leaning,
floors in PRECISION_FLOORS); 'none' replacement needs the out-of-fold top intent to be right at
least NONE_ACCURACY of the time.
"""
from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.nlu.classifier import (ADDABLE, AGENT_LABELS, AGENT_MODEL_FILE, LABELS, MODEL_FILE, IntentModel,
                                     build_model, compact, gram_ids, model_bytes, stored)

SEED = 20261128
PACKAGE_DIR = Path(__file__).resolve().parent
REPO = PACKAGE_DIR.parents[1]
OWN_DATA = REPO / "tests" / "nlu" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"
TRAIN_FILES: dict[str, tuple[Path, ...]] = {
    "en": (SHARED_DATA / "nlu_dev_en.jsonl", OWN_DATA / "en_caller.jsonl",
           OWN_DATA / "en_blind_caller.jsonl", OWN_DATA / "en_blind2_caller.jsonl",
           OWN_DATA / "en_blind3_caller.jsonl", OWN_DATA / "en_blind4_caller.jsonl",
           OWN_DATA / "en_blind5_caller.jsonl", OWN_DATA / "en_blind6_caller.jsonl",
           OWN_DATA / "en_blind7_caller.jsonl", OWN_DATA / "en_blind8_caller.jsonl",
           OWN_DATA / "en_blind10_caller.jsonl", OWN_DATA / "en_train_extra.jsonl"),
    "zh": (SHARED_DATA / "nlu_dev_zh.jsonl", OWN_DATA / "zh_caller.jsonl", OWN_DATA / "zh_heldout.jsonl",
           OWN_DATA / "zh_blind_caller.jsonl", OWN_DATA / "zh_blind2_caller.jsonl",
           OWN_DATA / "zh_blind3_caller.jsonl", OWN_DATA / "zh_blind4_caller.jsonl",
           OWN_DATA / "zh_blind5_caller.jsonl", OWN_DATA / "zh_blind6_caller.jsonl",
           OWN_DATA / "zh_blind7_caller.jsonl", OWN_DATA / "zh_blind8_caller.jsonl",
           OWN_DATA / "zh_blind9_caller.jsonl", OWN_DATA / "zh_train_extra.jsonl"),
}
# Never trained on: en_check9 / zh_check8, written before the blind7/blind6 tuning round and
# scored once at its end; en_check8 / zh_check7 (spent, but kept out of training so that
# tests/nlu/test_classifier.py's model-alone regression checks still see lines it never fitted).
# en_blind8 / zh_blind7 (and the en_blind6 / zh_blind4 agent sets) were written by an engineer
# who never saw this code or its data and scored once (en 0.834, zh 0.854 macro-F1); spent since,
# and trained on. en_blind9 / zh_blind8 (en_blind7 / zh_blind5 agent), written blind in the fifth
# session from the data README and domain doc alone, were scored before and after its tuning
# round (en 0.899 -> 0.925, zh 0.899 -> 0.943); en_blind9 stays held out. zh_blind8 (and the
# zh_blind5 agent set) are spent since the Mandarin round that tuned on their mistakes by class,
# and trained on; zh_check8 still measures that round. zh_blind9 (and the zh_blind6 agent set), scored
# blind once (zh 0.890 macro-F1, critical recall 0.842), are spent since the next Mandarin round tuned on
# their mistakes by class (self-injury, losing control, death paying the debt, giving away, 'soon it won't
# matter' safety families; instalments, overdue questions, regulator complaints), and trained on.
# en_blind13 / zh_blind12, written blind in the seventh session, were scored once on the shipped rules
# and models (en 0.944, zh 0.970 macro-F1) and are untouched (their mistakes unread); the en_blind11 /
# zh_blind9 agent sets written with them are spent since the agent round that tuned on them.
# en_blind14 / zh_blind13 (eighth session) were scored once (en 0.924, zh 0.925 macro-F1; zh critical recall
# 0.909) and are spent since the round on their safety and cease-contact mistakes; not yet trained on.
# en_blind17 / zh_blind16, written after that round and scored once (en 0.901 macro-F1, distress recall 0.939,
# critical 1.0 / 0.929; zh 0.918, distress 0.971, critical recall 0.846 / 0.846), are spent since a safety round on
# their critical misses and false alarms and the next English round (a caller's own bereavement or a child
# in intensive care read as a relative's report). Not yet trained on.
# en_blind18 / zh_blind17, written blind at the end of the eighth session, were scored once on its final code
# (en 0.938 macro-F1, distress recall 0.967, critical 0.9 / 1.0, date 0.941; zh 0.911, distress 0.966, critical
# 0.9 / 0.818); spent since the ninth session's round on their mistakes (a sole carer, a relative's old loss,
# "nobody here to open it", no more calls after a day, a down payment inside a split), and kept out of
# training only so that the retrain comparison below stays reproducible. Retraining with the eighth session's
# four spent caller sets added (en_blind14/17, zh_blind13/16) changed nothing that mattered on the held-out
# sets (en_check9 0.980 -> 0.956, en_blind9 0.935 -> 0.938, the rest equal; zh equal to 0.002), so the shipped
# models were kept.
# en_blind19 / zh_blind18 (and the en_blind20 / zh_blind19 agent sets), written blind in the ninth session after
# its round and scored once on it: en 0.974 macro-F1, distress 1.0, critical 1.0 / 0.917, amount 0.949, date 0.974
# (every target met); zh 0.858, distress 0.967, critical 1.0 / 0.833, amount 0.900, date 0.850. en_blind19 was
# not tuned on (its mistakes were listed once by a regression script, not acted on); zh_blind18 and the zh_blind19
# agent set are spent since the Mandarin round on their mistakes (in-sample 0.956 / agent 0.930, 1.8 % flagged).
# en_blind21 / zh_blind20 (and the zh_blind21 agent set), written blind during that round and scored once on its
# final code (38bb34f): en 0.902 macro-F1, distress recall 0.871, critical 0.8 / 0.889, amount 0.925, date 0.900;
# zh 0.844, distress 0.906, critical 0.909 / 0.909, amount 0.975, date 0.900; zh agent 0.846 / 3.6 % flagged.
# Untouched: their mistakes unread, for the next round.
HELD_OUT = ("en_check9_caller.jsonl", "zh_check8_caller.jsonl", "en_check8_caller.jsonl", "zh_check7_caller.jsonl",
            "en_blind9_caller.jsonl", "en_blind13_caller.jsonl", "zh_blind12_caller.jsonl",
            "en_blind18_caller.jsonl", "zh_blind17_caller.jsonl", "en_blind19_caller.jsonl", "zh_blind18_caller.jsonl",
            "en_blind21_caller.jsonl", "zh_blind20_caller.jsonl")
# critical stays at 0.85: a 0.8 floor (CV thresholds en 0.31 -> 0.28, zh 0.38 -> 0.33) added
# only false alarms once rules + safety cues were in front of the model (in-sample critical
# precision en_blind4 0.75, zh_blind2 0.96; spent zh_blind4 1.0 -> 0.885, recall unchanged).
# critical 0.95 since the extra training lines: the safety fallback (safety.toml [fallback]) now
# carries critical recall, and at 0.85 the model (CV threshold 0.39) called short everyday lines
# critical (我的快递到了 0.43, "i've paid everything off" 0.48; in-sample precision 0.7-0.9).
# distress 0.85 (was 0.75): on en_blind7 the model added 4 true distress lines and ~30 false ones
# (short everyday lines: "i'm in a meeting", "the line's really bad"); those classes of true
# distress (bereavement, job loss, repossession, antidepressants) now sit in the rule lexicons.
PRECISION_FLOORS = {"critical": 0.95, "distress": 0.85, "dispute": 0.7, "request_agent": 0.75}
NONE_ACCURACY = 0.8
L2 = 1e-3
STEPS = 300
LEARNING_RATE = 0.05
GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


@dataclass(frozen=True, slots=True)
class Corpus:
    """Normalised lines, their label matrix (n x len(LABELS), 0/1) and source file index."""

    norms: tuple[str, ...]
    targets: np.ndarray
    groups: np.ndarray


def normaliser(lang: str) -> Any:
    """The language module's ``normalise`` (the same text the runtime hook passes)."""
    return importlib.import_module(f"voicebot.nlu.{lang}").normalise


def _read_corpus(files: tuple[Path, ...], held_out: tuple[str, ...], lang: str, field: str,
                 norm: Any, target: Any) -> Corpus:
    """Lines of ``lang`` carrying ``field`` from ``files``: normalised by ``norm``, labelled by
    ``target(item)``, grouped by file and stacked in SEED's order. Raises ValueError if a file
    named in ``held_out`` is passed (FileNotFoundError if one is missing)."""
    norms: list[str] = []
    rows: list[Any] = []
    groups: list[int] = []
    for g, path in enumerate(files):
        if path.name in held_out:
            raise ValueError(f"{path.name} is a held-out blind set; never train on it")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if field not in item or item.get("lang") != lang:
                continue
            norms.append(norm(item["text"]))
            rows.append(target(item))
            groups.append(g)
    order = np.random.default_rng(SEED).permutation(len(norms))
    return Corpus(norms=tuple(norms[i] for i in order), targets=np.array(rows)[order],
                  groups=np.array(groups)[order])


def _caller_target(item: dict[str, Any]) -> np.ndarray:
    y = np.zeros(len(LABELS))
    for intent in item["intents"]:
        y[LABELS.index(intent)] = 1.0
    y[LABELS.index("critical")] = 1.0 if item.get("critical") else 0.0
    return y


def load_corpus(lang: str, files: tuple[Path, ...] | None = None) -> Corpus:
    """Caller lines of ``files`` (default TRAIN_FILES[lang]). Raises FileNotFoundError if one is
    missing and ValueError if a held-out blind set is passed."""
    return _read_corpus(files or TRAIN_FILES[lang], HELD_OUT, lang, "intents", normaliser(lang), _caller_target)


Fitted = tuple[np.ndarray, np.ndarray, np.ndarray]


def fit(norms: tuple[str, ...], targets: np.ndarray, lang: str) -> Fitted:
    """One-vs-rest logistic regression over n-gram ids; returns (sorted ids seen, weights
    ids x labels, bias)."""
    line_grams = [gram_ids(n, lang) for n in norms]
    every = np.concatenate(line_grams)
    vocab, cols = np.unique(every, return_inverse=True)
    lengths = np.array([len(g) for g in line_grams])
    vals = np.repeat(1.0 / np.sqrt(lengths), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    row_of_nnz = np.repeat(np.arange(len(norms)), lengths)
    by_col = np.argsort(cols, kind="stable")
    col_starts = np.searchsorted(cols[by_col], np.arange(len(vocab)))
    n, k = targets.shape
    pos = targets.sum(axis=0)
    pos_weight = np.clip(np.sqrt((n - pos) / np.maximum(pos, 1.0)), 1.0, 5.0)
    sample_w = np.where(targets > 0, pos_weight, 1.0) / n
    w = np.zeros((len(vocab), k))
    b = np.zeros(k)
    params = [w, b]
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        z = np.add.reduceat(w[cols] * vals[:, None], starts) + b
        p = 1.0 / (1.0 + np.exp(-z))
        g = (p - targets) * sample_w
        contrib = (g[row_of_nnz] * vals[:, None])[by_col]
        grads = [np.add.reduceat(contrib, col_starts) + L2 * w, g.sum(axis=0)]
        for i, grad in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad * grad
            m_hat = m[i] / (1 - beta1 ** step)
            v_hat = v[i] / (1 - beta2 ** step)
            params[i] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    return vocab, w, b


def predict(model: IntentModel, norms: tuple[str, ...], labels: tuple[str, ...] = LABELS) -> np.ndarray:
    """Probability matrix (lines x ``labels``) of ``model`` on normalised lines."""
    order = [model.labels.index(lab) for lab in labels]
    return np.array([model.scores(n)[order] for n in norms]).reshape(len(norms), len(labels))


def out_of_fold(corpus: Corpus, lang: str, labels: tuple[str, ...] = LABELS) -> np.ndarray:
    """Leave-one-file-out probabilities: each file scored by a model trained on the others."""
    probs = np.zeros(corpus.targets.shape)
    for g in np.unique(corpus.groups):
        train = np.flatnonzero(corpus.groups != g)
        test = np.flatnonzero(corpus.groups == g)
        ids, w, b = fit(tuple(corpus.norms[i] for i in train), corpus.targets[train], lang)
        model = build_model(lang, ids, w, b, {}, labels)
        probs[test] = predict(model, tuple(corpus.norms[i] for i in test), labels)
    return probs


def _lowest_stable(values: list[tuple[float, float | None]], floor: float) -> float:
    """Lowest threshold from which every higher threshold's figure (None = no prediction)
    stays >= floor; 0.99 when even the highest fails."""
    chosen = 0.99
    for t, figure in sorted(values, reverse=True):
        if figure is not None and figure < floor:
            break
        chosen = t
    return chosen


def _precision_threshold(probs: np.ndarray, targets: np.ndarray, floor: float) -> float:
    """The lowest GRID threshold from which one label's out-of-fold precision stays >= floor."""
    curve = []
    for t in GRID:
        hit = probs >= t
        curve.append((float(t), float(targets[hit].mean()) if hit.any() else None))
    return _lowest_stable(curve, floor)


def choose_thresholds(probs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Recall-leaning thresholds from out-of-fold probabilities (see module docstring)."""
    thresholds = {label: _precision_threshold(probs[:, LABELS.index(label)], targets[:, LABELS.index(label)],
                                              PRECISION_FLOORS[label]) for label in ("critical", *ADDABLE)}
    intents = [j for j, lab in enumerate(LABELS) if lab not in ("none", "critical")]
    top = np.array(intents)[probs[:, intents].argmax(axis=1)]
    top_p = probs[np.arange(len(probs)), top]
    beats_none = top_p > probs[:, LABELS.index("none")]
    right = targets[np.arange(len(probs)), top] > 0
    curve = []
    for t in GRID:
        hit = (top_p >= t) & beats_none
        curve.append((float(t), float(right[hit].mean()) if hit.any() else None))
    thresholds["none"] = _lowest_stable(curve, NONE_ACCURACY)
    return thresholds


def cv_report(probs: np.ndarray, targets: np.ndarray, thresholds: dict[str, float],
              labels: tuple[str, ...] = LABELS, reported: tuple[str, ...] = ("critical", *ADDABLE)) -> dict[str, Any]:
    """Model-alone out-of-fold precision/recall per ``reported`` label (columns in ``labels``
    order) at the chosen thresholds."""
    report: dict[str, Any] = {}
    for label in reported:
        j = labels.index(label)
        hit = probs[:, j] >= thresholds[label]
        gold = targets[:, j] > 0
        tp = int((hit & gold).sum())
        report[label] = {"threshold": thresholds[label], "support": int(gold.sum()),
                         "precision": round(tp / max(int(hit.sum()), 1), 3),
                         "recall": round(tp / max(int(gold.sum()), 1), 3)}
    return report


def train(lang: str, files: tuple[Path, ...] | None = None,
          thresholds: dict[str, float] | None = None) -> tuple[IntentModel, dict[str, Any]]:
    """Train on ``files``; thresholds by leave-one-file-out CV unless given. Returns the model
    and a report (CV figures; empty when thresholds were given)."""
    corpus = load_corpus(lang, files)
    report: dict[str, Any] = {"lines": len(corpus.norms)}
    if thresholds is None:
        probs = out_of_fold(corpus, lang)
        thresholds = choose_thresholds(probs, corpus.targets)
        report["cv"] = cv_report(probs, corpus.targets, thresholds)
    ids, w, b = fit(corpus.norms, corpus.targets, lang)
    # The weights as the model file stores them (int8), minus rows that quantise to zero:
    # the trained model and the shipped one then score identically.
    ids, w = compact(ids, stored(w))
    model = build_model(lang, ids, w, b, thresholds)
    report["thresholds"] = thresholds
    return model, report


# --- The agent flag model (classifier.agent_model_flags) ------------------------------------
#
# Trained on every labelled agent file in tests/nlu/data (the spent blind sets, the check sets,
# the hand-written ones) plus the shared dev file, except the fresh sets in AGENT_HELD_OUT. A flag
# is added at the lowest threshold from which the out-of-fold (leave-one-file-out) precision
# stays >= AGENT_PRECISION_FLOOR. Chosen before the fresh en_blind15 / zh_blind14 sets were
# scored, from the sets before them with the rules as they were before their rounds (0.8: en
# compliant lines flagged 4.4 % -> 24 %; 0.9: 11 %; 0.95: unchanged at 4.4 %, macro-F1 0.830 -> 0.847,
# zh 0.794 -> 0.895 with 0 % -> 2.2 % flagged).
AGENT_PRECISION_FLOOR = 0.95
# en_blind16 / zh_blind15: written blind in the eighth session after the agent model and the
# round on en_blind15 / zh_blind14, scored once; never trained on.
# en_blind20 / zh_blind19: written blind in the ninth session and scored once (en 0.907 macro-F1, 1.8 % of
# compliant lines flagged; zh 0.911, 5.4 %); not trained on.
AGENT_HELD_OUT = ("en_blind16_agent.jsonl", "zh_blind15_agent.jsonl", "en_blind20_agent.jsonl", "zh_blind19_agent.jsonl",
                  "zh_blind21_agent.jsonl")


def agent_train_files(lang: str) -> tuple[Path, ...]:
    """The agent files the agent model of ``lang`` trains on (see above)."""
    own = sorted(p for p in OWN_DATA.glob(f"{lang}_*agent*.jsonl") if p.name not in AGENT_HELD_OUT)
    return (SHARED_DATA / f"agent_dev_{lang}.jsonl", *own)


def agent_normaliser(lang: str) -> Any:
    """The normalisation the language's ``agent_flags`` reads (the model sees the same text)."""
    if lang == "en":
        return importlib.import_module("voicebot.nlu.en_agent").normalise
    return importlib.import_module(f"voicebot.nlu.{lang}").agent_normalise


def load_agent_corpus(lang: str, files: tuple[Path, ...] | None = None) -> Corpus:
    """Agent lines of ``files`` (default agent_train_files(lang)) with their flags as targets.
    Raises ValueError if a held-out set is passed."""
    return _read_corpus(files or agent_train_files(lang), AGENT_HELD_OUT, lang, "flags", agent_normaliser(lang),
                        lambda item: [1.0 if flag in item["flags"] else 0.0 for flag in AGENT_LABELS])


def train_agent(lang: str, files: tuple[Path, ...] | None = None,
                thresholds: dict[str, float] | None = None) -> tuple[IntentModel, dict[str, Any]]:
    """The agent flag model of ``lang``; thresholds by leave-one-file-out CV unless given."""
    corpus = load_agent_corpus(lang, files)
    report: dict[str, Any] = {"lines": len(corpus.norms)}
    if thresholds is None:
        probs = out_of_fold(corpus, lang, AGENT_LABELS)
        thresholds = {flag: _precision_threshold(probs[:, j], corpus.targets[:, j], AGENT_PRECISION_FLOOR)
                      for j, flag in enumerate(AGENT_LABELS)}
        report["cv"] = cv_report(probs, corpus.targets, thresholds, AGENT_LABELS, AGENT_LABELS)
        pred = probs >= np.array([thresholds[f] for f in AGENT_LABELS])
        compliant = ~(corpus.targets > 0).any(axis=1)
        report["cv"]["compliant_flagged"] = round(float(pred[compliant].any(axis=1).mean()), 3)
    ids, w, b = fit(corpus.norms, corpus.targets, lang)
    ids, w = compact(ids, stored(w))
    report["thresholds"] = thresholds
    return build_model(lang, ids, w, b, thresholds, AGENT_LABELS), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(TRAIN_FILES), required=True)
    parser.add_argument("--agent", action="store_true", help="train the agent flag model instead")
    parser.add_argument("--out", type=Path, default=None, help="default: the packaged model file")
    args = parser.parse_args(argv)
    model, report = train_agent(args.lang) if args.agent else train(args.lang)
    out = args.out or PACKAGE_DIR / "data" / args.lang / (AGENT_MODEL_FILE if args.agent else MODEL_FILE)
    out.write_bytes(model_bytes(model))
    print(json.dumps(report, indent=1))
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(model.ids):,} n-grams)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
