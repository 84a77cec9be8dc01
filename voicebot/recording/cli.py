"""``voicebot qa``, ``voicebot recover`` and ``voicebot purge`` (``replay`` is added by the
session code). Config is read here only: sessions dir, store url, retention days.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from voicebot.errors import StoreError
from voicebot.recording.format import EVENTS_FILE, list_sessions, read_session
from voicebot.recording.purge import parse_age, purge
from voicebot.recording.qa import DEFAULT_PROHIBITED, QaRules, Scorecard, score_session
from voicebot.recording.recover import recover
from voicebot.recording.report import render_html, summarize, write_csv
from voicebot.recording.store import open_store


def _session_dirs(paths: Sequence[str]) -> list[Path]:
    """Each path is a session directory, or a directory of sessions."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / EVENTS_FILE).is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(list_sessions(p))
        else:
            raise StoreError(f"{p} is neither a session directory nor a directory of sessions")
    return out


def progress(done: int, total: int, stream: TextIO = sys.stderr, width: int = 30) -> None:
    """Redraw a one-line progress bar on ``stream``; ends the line when done == total."""
    filled = width * done // total if total else width
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        stream.write("\n")
    stream.flush()


def qa_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sessions", nargs="+", metavar="SESSION", help="session directories, or directories of them")
    parser.add_argument("--report", default="qa.html", metavar="HTML", help="HTML report to write (default qa.html)")
    parser.add_argument("--csv", metavar="CSV", help="also write one CSV row per call")
    parser.add_argument("--handoff-max-s", type=float, default=10.0, help="seconds allowed from hand-off to transfer")
    parser.add_argument("--prohibited", metavar="FILE", help="prohibited phrases, one per line (default: built-in list)")
    parser.add_argument("--batch", type=int, default=20, help="sessions per progress step")
    parser.add_argument("--fail-under", type=int, default=0, metavar="SCORE",
                        help="exit 1 if any call scores below SCORE (default 0: never)")


def qa_main(args: Any) -> int:
    phrases = DEFAULT_PROHIBITED
    if args.prohibited:
        lines = Path(args.prohibited).read_text(encoding="utf-8").splitlines()
        phrases = tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    rules = QaRules(handoff_max_s=args.handoff_max_s, prohibited_phrases=phrases)
    try:
        dirs = _session_dirs(args.sessions)
    except StoreError as exc:
        print(f"voicebot qa: {exc}", file=sys.stderr)
        return 2
    cards: list[Scorecard] = []
    batch = max(1, args.batch)
    for start in range(0, len(dirs), batch):
        for d in dirs[start:start + batch]:
            try:
                cards.append(score_session(read_session(d), rules))
            except StoreError as exc:
                print(f"\nvoicebot qa: skipped {d}: {exc}", file=sys.stderr)
        progress(min(start + batch, len(dirs)), len(dirs))
    Path(args.report).write_text(render_html(cards), encoding="utf-8")
    if args.csv:
        write_csv(cards, args.csv)
    s = summarize(cards)
    print(f"{s.calls} calls, mean score {s.mean_score:.1f}, promise rate {s.promise_rate:.0%}, "
          f"{sum(bool(c.failures) for c in cards)} with failures; report {args.report}")
    return 1 if any(c.score < args.fail_under for c in cards) else 0


def recover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sessions_dir", nargs="?", metavar="SESSIONS_DIR",
                        help="sessions directory (default: store.sessions_dir from config)")
    parser.add_argument("--no-index", action="store_true", help="repair files only, do not write the store")


def recover_main(args: Any) -> int:
    sessions_dir = args.sessions_dir or args.config.sessions_path
    store = None if args.no_index else open_store(args.config.store_url)
    try:
        ids = recover(sessions_dir, store)
    finally:
        if store is not None:
            store.close()
    for call_id in ids:
        print(f"recovered {call_id} (disposition dropped)")
    print(f"{len(ids)} session(s) recovered in {sessions_dir}")
    return 0


def purge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than", metavar="AGE",
                        help="e.g. 90d, 12w, 48h (default: store.retention_*_days from config)")
    parser.add_argument("--kind", choices=("audio", "transcripts", "all"), default="all")
    parser.add_argument("--sessions-dir", metavar="DIR", help="default: store.sessions_dir from config")


def purge_main(args: Any) -> int:
    cfg = args.config
    sessions_dir = args.sessions_dir or cfg.sessions_path
    plans: list[tuple[Any, str]] = []
    try:
        if args.older_than:
            plans.append((parse_age(args.older_than), args.kind))
        else:
            if args.kind in ("audio", "all"):
                plans.append((parse_age(f"{cfg.store.retention_audio_days}d"), "audio"))
            if args.kind in ("transcripts", "all"):
                plans.append((parse_age(f"{cfg.store.retention_transcript_days}d"), "transcripts"))
    except ValueError as exc:
        print(f"voicebot purge: {exc}", file=sys.stderr)
        return 2
    with open_store(cfg.store_url) as store:
        total = 0
        for age, kind in plans:
            for p in purge(sessions_dir, store, age, kind):
                total += 1
                parts = []
                if p.audio_files:
                    parts.append(f"deleted {', '.join(p.audio_files)} ({p.audio_bytes} bytes)")
                if p.events_masked or p.turns_masked:
                    parts.append(f"masked {p.events_masked} event(s), {p.turns_masked} turn(s)")
                print(f"{p.call_id}: {'; '.join(parts)}")
    print(f"purged {total} session(s) in {sessions_dir}")
    return 0
