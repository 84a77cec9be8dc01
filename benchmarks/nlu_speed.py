"""Utterances per second of English NLU on one core (caller understanding and agent flags).

Run: .venv/bin/python benchmarks/nlu_speed.py [--seconds 3]
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from voicebot.nlu import agent_flags, understand

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "nlu" / "data"


def _rate(fn, texts: list[str], seconds: float) -> float:  # type: ignore[no-untyped-def]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    caller = [json.loads(l)["text"] for l in (DATA / "en_caller.jsonl").read_text().splitlines() if l.strip()]
    agent = [json.loads(l)["text"] for l in (DATA / "en_agent.jsonl").read_text().splitlines() if l.strip()]
    today = date(2026, 11, 28)
    rate = _rate(lambda t: understand(t, "en", today), caller, args.seconds)
    print(f"en caller understand: {rate:,.0f} utterances/s over {len(caller)} distinct lines")
    rate = _rate(lambda t: agent_flags(t, "en"), agent, args.seconds)
    print(f"en agent flags:       {rate:,.0f} utterances/s over {len(agent)} distinct lines")


if __name__ == "__main__":
    main()
