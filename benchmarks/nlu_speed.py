"""Utterances per second of NLU on one core: caller understanding (en, zh) and agent flags.

Run: .venv/bin/python benchmarks/nlu_speed.py [--seconds 3]

Two figures per language, because the pure per-line functions remember recent lines:
- warm: the labelled caller lines passed again and again (every verdict is a cache hit after
  the first pass; what a call with repeated "yes" / "hello" sees);
- never-seen: every line is new to the process -- a labelled line with a distinct
  lead-in word and tail (not fillers the normaliser drops), each passed once, so no per-line
  cache can answer it. This is the figure the issue's >= 5,000/s target is judged on.
Rates are per second of this process's CPU time (``time.process_time``), so other work on a
shared machine slows the run down but does not lower the figure much.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from voicebot.nlu import agent_flags, understand

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "nlu" / "data"
TODAY = date(2026, 11, 28)
# Words that survive normalisation, so each combination is a distinct normalised line.
LEADS = {
    "en": ["look", "right", "honestly", "so", "well", "listen", "okay so", "see", "anyway", "yeah well",
           "the thing is", "i mean", "to be fair", "basically", "now", "hey", "sorry", "hi there"],
    "zh": ["那个", "就是", "我 说", "你 听 我 说", "其实", "说 实话", "这样 吧", "反正", "哎呀", "怎么 说 呢",
           "然后", "你 知道 吗", "我 跟 你 讲", "老实 讲", "是 这样", "喂 你好", "唉", "对 了"],
}
TAILS = {
    "en": ["", "mate", "to be honest", "you know", "really", "okay", "alright then", "and that's it",
           "thanks", "if that's alright", "yeah", "cheers", "sorry", "as well", "to be fair", "then"],
    "zh": ["", "啊", "吧", "真的", "就 这样", "好 吧", "你 看", "行 不 行", "知道 吧", "嗯", "呗", "哈",
           "是 吧", "然后", "反正", "你们 看 着 办"],
}


def _texts(pattern: str) -> list[str]:
    lines: list[str] = []
    for path in sorted(DATA.glob(pattern)):
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                lines.append(json.loads(raw)["text"])
    return lines


def _never_seen(base: list[str], lang: str) -> Iterator[str]:
    """Distinct lines, each yielded once: every (lead, base line, tail) combination, shuffled."""
    combos = list(itertools.product(range(len(LEADS[lang])), range(len(base)), range(len(TAILS[lang]))))
    random.Random(5).shuffle(combos)
    for lead, line, tail in combos:
        yield " ".join(part for part in (LEADS[lang][lead], base[line], TAILS[lang][tail]) if part)


def _rate_warm(fn: Callable[[str], object], texts: list[str], seconds: float) -> float:
    for text in texts:  # first pass fills the caches
        fn(text)
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / (time.process_time() - cpu)


def _rate_cold(fn: Callable[[str], object], lines: Iterator[str], seconds: float) -> tuple[float, int]:
    batch = [next(lines) for _ in range(200)]
    fn(batch[0])  # load data files and models outside the timing
    done, start, spent = 0, time.perf_counter(), 0.0
    while time.perf_counter() - start < seconds:
        spent -= time.process_time()
        for text in batch:
            fn(text)
        spent += time.process_time()
        done += len(batch)
        batch = [next(lines) for _ in range(200)]  # StopIteration if the pool runs dry
    return done / spent, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    for lang in ("en", "zh"):
        base = sorted(set(_texts(f"{lang}_*caller*.jsonl")))

        def caller(text: str, lang: str = lang) -> object:
            return understand(text, lang, TODAY)

        warm = _rate_warm(caller, base, args.seconds)
        cold, count = _rate_cold(caller, _never_seen(base, lang), args.seconds)
        print(f"{lang} caller understand: warm {warm:,.0f}/s over {len(base)} lines; "
              f"never-seen {cold:,.0f}/s over {count:,} distinct lines")
        agent = sorted(set(_texts(f"{lang}_*agent*.jsonl")))
        rate = _rate_warm(lambda t, lang=lang: agent_flags(t, lang), agent, args.seconds)
        print(f"{lang} agent flags:       {rate:,.0f}/s over {len(agent)} lines (no per-line cache)")


if __name__ == "__main__":
    main()
