"""``voicebot nlu`` and ``voicebot nlu-eval``.

``voicebot nlu --lang en|zh|ko [--today YYYY-MM-DD] [--agent]`` reads one utterance per stdin
line and writes one JSON line per input line (blank lines included, so outputs stay aligned
with inputs): ``{"text", "intents", "amount", "date", "critical"}`` or, with ``--agent``,
``{"text", "flags"}``. Output is flushed per line so it can drive a pipe interactively.

``voicebot nlu-eval FILE.jsonl [FILE ...] [--json] [--min-... X]`` prints the scoring report;
exit 0, or 1 when a figure is outside a given threshold.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import TextIO

from voicebot.nlu import LANGS, agent_flags, understand
from voicebot.nlu.scoring import THRESHOLDS, check_thresholds, format_report, score_file


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def nlu_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGS, default="en", help="utterance language (default en)")
    parser.add_argument("--today", type=_iso_date, default=None,
                        help="reference day for resolving dates (default: the local date)")
    parser.add_argument("--agent", action="store_true",
                        help="treat lines as human-agent speech and print compliance flags")


def run_nlu(lang: str, today: date, agent: bool, source: TextIO, sink: TextIO) -> None:
    """Understand each line of ``source`` and write one JSON line per input line to ``sink``."""
    for raw in source:
        text = raw.rstrip("\r\n")
        if agent:
            obj: dict[str, object] = {"text": text, "flags": list(agent_flags(text, lang))}
        else:
            obj = understand(text, lang, today).to_json_obj()
        sink.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sink.flush()


def nlu_main(args: argparse.Namespace) -> int:
    run_nlu(args.lang, args.today or date.today(), args.agent, sys.stdin, sys.stdout)
    return 0


def nlu_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.jsonl", help="labelled data file(s)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--show-mistakes", type=int, default=0, metavar="N",
                        help="list up to N wrongly understood lines per section")
    for option, (_section, figure, kind) in THRESHOLDS.items():
        parser.add_argument("--" + option.replace("_", "-"), type=float, default=None, metavar="X",
                            help=f"exit 1 if {figure} is {'below' if kind == 'min' else 'above'} X")


def nlu_eval_main(args: argparse.Namespace) -> int:
    limits = {option: getattr(args, option) for option in THRESHOLDS}
    all_scores = []
    failures: list[str] = []
    for path in args.files:
        scores = score_file(path)
        all_scores.append(scores)
        failures += [f"{path}: {msg}" for msg in check_thresholds(scores, limits)]
    if args.json:
        print(json.dumps(all_scores if len(all_scores) > 1 else all_scores[0],
                         ensure_ascii=False, indent=1))
    else:
        print("\n\n".join(format_report(s, args.show_mistakes) for s in all_scores))
    for msg in failures:
        print(f"below target: {msg}", file=sys.stderr)
    return 1 if failures else 0
