"""The fast paths (benchmarks/nlu_speed.py) give exactly the results of the plain ones.

- lexicon.alternation / word_start_alternation: the first-character trie matches what the plain
  ordered alternation matches, with the same spans, on every position;
- classifier._fast_features: the same distinct n-gram count and model rows as gram_ids() +
  searchsorted, so IntentModel.scores() is bit-identical.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from voicebot.nlu import classifier, en, lexicon

DATA = Path(__file__).parent / "data"


def _lines() -> list[str]:
    texts = [json.loads(raw)["text"] for path in sorted(DATA.glob("en_*caller*.jsonl"))
             for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]
    norms = sorted({en.normalise(t) for t in texts})
    rng = random.Random(11)
    words = sorted({w for n in norms for w in n.split()})
    # Shuffled words (new neighbours) and short nonsense words (n-grams spanning three words).
    norms += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(600)]
    norms += [" ".join("".join(rng.choice("abeiost'") for _ in range(rng.randint(1, 3)))
                       for _ in range(rng.randint(1, 8))) for _ in range(600)]
    return norms


LINES = _lines()


def _spans(rx: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in rx.finditer(text)]


@pytest.mark.parametrize("name", sorted(en._P))
def test_intent_trie_matches_plain_alternation(name: str) -> None:
    patterns = [en._CAPTURE.sub("(?:", p) for p in en._P[name]]
    if not patterns:
        return
    plain = re.compile(r"(?<![^ ])(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")
    trie = re.compile(r"(?<![^ ])(?:" + lexicon.alternation(patterns) + r")\b")
    assert [_spans(trie, t) for t in LINES] == [_spans(plain, t) for t in LINES]


def test_alternation_keeps_order_and_edge_cases() -> None:
    cases = [
        ["ab", "a", "abc"],                      # first alternative wins, not the longest
        ["(?:x|y)z", "xq", "(?:very )?sad", "\\w*ty a week", ""],
        ["\\bon\\b", "\\bone", "o(?=n)", "(?<!n)one"],
        ["a(b)c", "abd"],                        # capturing group: joined as it is
    ]
    texts = ["abc", "ab", "a", "xz xq yz", "very sad sad", "fifty a week", "on one", "none one", "abd abc"]
    for patterns in cases:
        plain = re.compile("|".join(f"(?:{p})" for p in patterns))
        trie = re.compile(lexicon.alternation(patterns))
        for text in texts:
            assert _spans(trie, text) == _spans(plain, text), (patterns, text)


def test_word_start_alternation_drops_only_redundant_boundaries() -> None:
    patterns = ["\\bkill(?:ing)? myself\\b|\\bend it\\b", "\\b'cause\\b", "\\b(?:no|any) way out\\b"]
    plain = re.compile("(?<![^ ])(?:" + "|".join(f"(?:{p})" for p in patterns) + ")")
    trie = re.compile("(?<![^ ])(?:" + lexicon.word_start_alternation(patterns) + ")")
    for text in LINES + ["'cause i said so", "x 'cause", "no way out", "killing myself"]:
        assert _spans(trie, text) == _spans(plain, text), text


def test_fast_features_equal_gram_ids() -> None:
    model = classifier.load_model("en")
    for norm in [n for n in LINES if n] + ["a", "a b", "i i i", "x y z w"]:
        fast = classifier._fast_features(model, norm)
        assert fast is not None, norm
        grams = classifier.gram_ids(norm, "en")
        at = model.ids.searchsorted(grams)
        np.minimum(at, len(model.ids) - 1, out=at)
        rows = at[model.ids[at] == grams]
        assert fast[0] == len(grams) and fast[1].tolist() == rows.tolist(), norm


@pytest.mark.parametrize("norm", ["", " lead", "trail ", "two  spaces", "café au lait"])
def test_fast_features_leave_odd_text_to_gram_ids(norm: str) -> None:
    assert classifier._fast_features(classifier.load_model("en"), norm) is None
    assert classifier._fast_features(classifier.load_model("zh"), "你好") is None


def test_py_id_is_gram_id() -> None:
    for gram in ["abc", "i'll", "\x01word", "\x04two words", " x ", "$1,000"]:
        kind = {"\x01": 1, "\x04": 2}.get(gram[:1], 0)
        body = gram[1:] if kind else gram
        assert classifier._py_id(body, kind) == classifier.gram_id(gram)
