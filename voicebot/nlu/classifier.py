"""A small trained intent classifier that backs up the caller rules on unseen wordings.

The rule lexicons (``en.py``, ``zh.py``, ``safety.py``) score ~1.0 on the sets they were tuned
on but miss new wordings of distress and self-harm on every fresh blind set. This module adds
a model that generalises from character shapes instead of listed phrases:

- features: hashed n-grams of the language module's *normalised* text. Mandarin (no spaces):
  character 1-4 grams. English: word uni/bi-grams plus character 3-5 grams (which carry
  morphology and slips: "hurting"/"hurt", "dont"/"don't"). Each distinct n-gram counts once;
  a line's vector is scaled by 1/sqrt(number of n-grams), so long lines do not score higher.
  Buckets are crc32 of the n-gram (identical across processes, unlike Python's ``hash``); the
  model file also carries the table n-gram -> bucket row for the n-grams seen in training, so
  inference is dict look-ups (an unseen n-gram has no trained weight and is skipped).
- model: one-vs-rest logistic regression, one output per intent plus ``critical``; weights
  ship as ``voicebot/nlu/data/<lang>/intent_model.npz`` (trained by ``voicebot.nlu.train``).
- combination (:func:`combine`): the rules stay primary. The model may only *add* the
  recall-critical intents (distress, dispute, request_agent) and ``critical`` when its
  probability clears a threshold chosen by leave-one-file-out cross-validation on the training
  sets, and may replace a rules ``none`` by its top intent when confident. It never removes an
  intent, and never touches amount or date (those stay with the rules).

Pure and numpy-only: text in, probabilities out. The model file is read once per process.
"""
from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import repeat

import numpy as np

from voicebot.errors import ModelNotFoundError
from voicebot.nlu.safety import blank_idioms

LABELS: tuple[str, ...] = (
    "promise_to_pay", "already_paid", "payment_plan", "dispute", "distress", "request_agent",
    "wrong_party", "callback", "refuse", "cease_contact", "affirm", "deny", "ask_info", "none",
    "critical",
)
ADDABLE: tuple[str, ...] = ("distress", "dispute", "request_agent")
BUCKETS = 1 << 18  # hash space; only buckets seen in training are stored
MODEL_FILE = "intent_model.npz"
# Hand-set, not cross-validated: the README's "money tight is a plan, not distress" convention
# means a rules payment_plan line needs a clearly distressed model before distress is added.
PLAN_DISTRESS_MIN = 0.5
PROBABILITY_CACHE = 2048  # distinct normalised lines remembered per process

_CHAR_SPANS = {"en": (3, 5), "zh": (1, 4)}
_WORD = "\x01"  # marks word n-grams; never in normalised text
_BIGRAM = "\x04"


def _slices(length: int, lo: int, hi: int) -> tuple[slice, ...]:
    """Every ``lo``..``hi``-character window of a text of ``length`` characters (cached per
    length, so a line's character n-grams are cut by one C-level ``map`` over these)."""
    return _SLICE_CACHE.get((length, lo, hi)) or _SLICE_CACHE.setdefault(
        (length, lo, hi), tuple(slice(i, i + n) for n in range(lo, hi + 1) for i in range(length - n + 1)))


_SLICE_CACHE: dict[tuple[int, int, int], tuple[slice, ...]] = {}


def ngrams(norm: str, lang: str) -> frozenset[str]:
    """Distinct n-grams of a normalised line (``en.normalise`` / ``zh.normalise`` output).

    English: character 3-5 grams of " text " plus word uni/bi-grams (with sentence ends);
    Mandarin: character 1-4 grams with start/end marks. Raises ValueError for another language."""
    return frozenset(_gram_set(norm, lang))


def _gram_set(norm: str, lang: str) -> set[str]:
    """:func:`ngrams` as a plain set, built with C-level ``map`` calls (the hot path)."""
    span = _CHAR_SPANS.get(lang)
    if span is None:
        raise ValueError(f"no classifier features for language {lang!r}")
    text = f" {norm} " if lang == "en" else f"\x02{norm}\x03"
    grams = set(map(text.__getitem__, _slices(len(text), *span)))
    if lang == "en":
        words = norm.split()
        grams.update(map(_WORD.__add__, words))
        bounded = ["<s>", *words, "</s>"]
        grams.update(map(_BIGRAM.__add__, map(" ".join, zip(bounded, bounded[1:]))))
    return grams


def bucket(gram: str) -> int:
    """The hash bucket of one n-gram (crc32: identical across processes, unlike ``hash``)."""
    return zlib.crc32(gram.encode("utf-8")) & (BUCKETS - 1)


@dataclass(frozen=True, slots=True, eq=False)
class IntentModel:
    """Trained weights for one language. ``weights[r]`` holds the per-label weights of one hash
    bucket; ``row_of_gram`` maps every n-gram seen in training to its bucket's row (n-grams
    never seen in training have no trained weight, so inference skips hashing them);
    ``thresholds[label]`` is the probability at or above which :func:`combine` adds that label
    (``none``: the confidence needed to replace a rules 'none' by the model's top intent)."""

    lang: str
    labels: tuple[str, ...]
    row_of_gram: dict[str, int]
    weights: np.ndarray
    bias: np.ndarray
    thresholds: dict[str, float]

    def scores(self, norm: str) -> np.ndarray:
        """Per-label probabilities (0..1, in ``labels`` order) for one normalised line.

        The line vector is the sum of its distinct n-grams' buckets scaled by
        1/sqrt(number of distinct n-grams), the same as in training."""
        grams = _gram_set(norm, self.lang)
        count = len(grams)
        # One C-level dict probe per n-gram; -1 marks an n-gram never seen in training.
        rows = np.fromiter(map(self.row_of_gram.get, grams, repeat(-1)), dtype=np.intp, count=count)
        rows = rows[rows >= 0]
        # sorted: a set's order follows the process's string-hash salt, and float sums in a
        # different order differ in the last bit; sorted rows give identical results everywhere.
        rows.sort()
        z = self.weights.take(rows, axis=0).sum(axis=0) * (1.0 / np.sqrt(max(count, 1))) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def probabilities(self, norm: str) -> dict[str, float]:
        """:meth:`scores` keyed by label; deterministic. The last PROBABILITY_CACHE lines are
        remembered (callers repeat "yes", "hello", "okay"); every call returns a fresh dict."""
        return dict(_cached_probabilities(self, norm))  # a copy: the cached one stays intact


@lru_cache(maxsize=PROBABILITY_CACHE)
def _cached_probabilities(model: IntentModel, norm: str) -> dict[str, float]:
    # Keyed by model identity (IntentModel hashes by id: eq=False) so a retrained model in the
    # same process never sees another model's cached figures.
    return dict(zip(model.labels, model.scores(norm).tolist()))


def build_model(lang: str, grams: list[str], gram_rows: np.ndarray, weights: np.ndarray,
                bias: np.ndarray, thresholds: dict[str, float],
                labels: tuple[str, ...] = LABELS) -> IntentModel:
    """An :class:`IntentModel` from arrays (used by loading and by training)."""
    return IntentModel(lang=lang, labels=tuple(labels),
                       row_of_gram=dict(zip(grams, np.asarray(gram_rows).tolist())),
                       weights=np.asarray(weights, dtype=np.float32),
                       bias=np.asarray(bias, dtype=np.float32), thresholds=dict(thresholds))


def quantize(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-label int8 weights and their scales (``weights ~= q * scale``), as stored on disk."""
    scale = np.maximum(np.abs(weights).max(axis=0), 1e-9) / 127.0
    return np.round(weights / scale).astype(np.int8), scale.astype(np.float32)


def stored(weights: np.ndarray) -> np.ndarray:
    """``weights`` as they come back from the model file (int8 round trip), float32."""
    q, scale = quantize(np.asarray(weights, dtype=np.float64))
    return q.astype(np.float32) * scale


def compact(grams: list[str], gram_rows: np.ndarray, weights: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Drop weight rows that are all zero (after quantisation) and the n-grams pointing at
    them: they cannot change a score, and dropping them keeps the file and the look-up table
    small. Returns (grams, their new rows, weights)."""
    keep = np.flatnonzero(np.abs(weights).max(axis=1) > 0)
    new_row = np.full(len(weights), -1, dtype=np.int64)
    new_row[keep] = np.arange(len(keep))
    mapped = new_row[np.asarray(gram_rows)]
    kept = np.flatnonzero(mapped >= 0)
    return [grams[i] for i in kept], mapped[kept], weights[keep]


def model_bytes(model: IntentModel) -> bytes:
    """The ``.npz`` serialisation: weights as per-label int8 with float32 scales, n-grams as
    one NUL-separated UTF-8 blob (a numpy string array is fixed-width UTF-32: 4x larger)."""
    buffer = io.BytesIO()
    names = list(model.thresholds)
    q, scale = quantize(model.weights.astype(np.float64))
    blob = "\x00".join(model.row_of_gram).encode("utf-8")
    np.savez_compressed(
        buffer, lang=np.array(model.lang), labels=np.array(model.labels),
        gram_blob=np.frombuffer(blob, dtype=np.uint8),
        gram_rows=np.array(list(model.row_of_gram.values()), dtype=np.int32),
        weights_q=q, weight_scale=scale, bias=model.bias.astype(np.float32),
        threshold_names=np.array(names),
        threshold_values=np.array([model.thresholds[n] for n in names], dtype=np.float64))
    return buffer.getvalue()


def model_from_bytes(blob: bytes) -> IntentModel:
    """Inverse of :func:`model_bytes`. Raises ModelNotFoundError on a malformed file."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            thresholds = dict(zip(data["threshold_names"].tolist(),
                                  data["threshold_values"].astype(float).tolist()))
            grams = data["gram_blob"].tobytes().decode("utf-8").split("\x00")
            weights = data["weights_q"].astype(np.float32) * data["weight_scale"]
            return build_model(str(data["lang"]), grams, data["gram_rows"], weights, data["bias"],
                               thresholds, tuple(data["labels"].tolist()))
    except (KeyError, ValueError, OSError) as exc:
        raise ModelNotFoundError(f"malformed intent model: {exc}") from exc


@lru_cache(maxsize=None)
def load_model(lang: str) -> IntentModel:
    """The shipped model of ``lang`` from package data (cached). Raises ModelNotFoundError when absent."""
    path = resources.files("voicebot.nlu").joinpath("data", lang, MODEL_FILE)
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"no intent model shipped for {lang!r} ({MODEL_FILE})") from exc
    return model_from_bytes(blob)


# A line the rules understood gets a model intent added only at this probability or above,
# and a line the rules found nothing in takes the model's top intent only at REPLACE_NONE_MIN:
# otherwise gibberish ("asdf qwerty") became distress and "我已经还了" paid-and-distressed.
ADD_TO_RULES_MIN = {"distress": 0.45}  # recall first for distress; others below
ADD_TO_RULES_MIN_OTHER = 0.6
REPLACE_NONE_MIN = 0.3


def combine(found: set[str], critical: bool, probs: dict[str, float],
            thresholds: dict[str, float], figurative: bool = False) -> tuple[set[str], bool]:
    """Merge rule intents with model probabilities; returns (intents, critical).

    ``found`` is the rules' intent set (empty or {"none"} for 'none'). The model adds
    ``critical`` (with distress) and the ADDABLE intents at their thresholds; a relative's
    report of the borrower's death/hospital/jail (rules: wrong_party) is not turned into
    distress unless the model finds it critical. When the rules found nothing, the model's top
    intent replaces 'none' if it clears ``thresholds['none']`` and beats 'none' itself.
    ``figurative`` (the line holds a death idiom or everyday "end this call": safety.toml
    [idioms]) leaves the line to the rules, which were written for exactly those. Money being
    tight is a plan, not distress: a rules payment_plan line gets model distress only when the
    model rates distress above payment_plan and at least PLAN_DISTRESS_MIN. Never removes a rule intent."""
    out = set(found) - {"none"}
    if figurative:
        return out, critical
    if probs["critical"] >= thresholds["critical"]:
        critical = True
    for label in ADDABLE:
        # Where the rules already understood the line, the model must be surer to add to it.
        floor = ADD_TO_RULES_MIN.get(label, ADD_TO_RULES_MIN_OTHER)
        need = max(thresholds[label], floor) if out else thresholds[label]
        if probs[label] >= need:
            if label == "distress" and ("wrong_party" in out or (
                    "payment_plan" in out and (probs["payment_plan"] > probs["distress"]
                                               or probs["distress"] < PLAN_DISTRESS_MIN))):
                continue
            out.add(label)
    if critical:
        out.add("distress")
    if not out:
        top = max((lab for lab in probs if lab not in ("none", "critical")), key=probs.__getitem__)
        if probs[top] >= max(thresholds["none"], REPLACE_NONE_MIN) and probs[top] > probs["none"]:
            out.add(top)
    return out, critical


def refine(found: set[str], critical: bool, norm: str, lang: str) -> tuple[set[str], bool]:
    """:func:`combine` with the shipped model of ``lang`` on a normalised line."""
    model = load_model(lang)
    figurative = blank_idioms(norm, lang) != norm
    return combine(found, critical, model.probabilities(norm), model.thresholds, figurative)
