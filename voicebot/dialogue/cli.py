"""``voicebot check`` (lint call scripts) and ``voicebot chat`` (run a script with typed turns).

chat reads one caller turn per line from stdin: an empty line is silence (no-input),
``#dtmf 1`` a key press, ``#voicemail`` an answering machine; end of input is a hang-up.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from voicebot.dialogue.account import load_account
from voicebot.dialogue.actions import Action, EndCall, HandOff, Say, StateChanged, Understood
from voicebot.dialogue.engine import Dialogue
from voicebot.dialogue.lint import lint_script
from voicebot.dialogue.script import PROFILES, Script, default_prompts_dir, load_script, parse_script, script_for
from voicebot.errors import ScriptError

_LANGS = ("en", "zh", "ko")


def check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=_LANGS, help="lint only the shipped script of this language")
    parser.add_argument("files", nargs="*", metavar="FILE", help="script files (default: every shipped script)")


def check_main(args: argparse.Namespace) -> int:
    """Lint each script under every profile; print "ok" or one line per problem. Exit 1 on any."""
    prompts_dir = Path(args.config.dialogue.prompts_dir or default_prompts_dir())
    if args.files:
        paths = [Path(f) for f in args.files]
    else:
        paths = [prompts_dir / lang / "reminder.toml" for lang in ((args.lang,) if args.lang else _LANGS)]
    failed = False
    for path in paths:
        problems: list[ScriptError] = []
        versions = ""
        for profile in PROFILES:
            try:
                script = parse_script(path.read_text(encoding="utf-8"), str(path), profile)
                problems += [p for p in lint_script(script, prompts_dir) if str(p) not in {str(q) for q in problems}]
                versions = script.version
            except FileNotFoundError:
                problems.append(ScriptError(str(path), 0, "no such script file"))
                break
            except ScriptError as exc:
                if str(exc) not in {str(q) for q in problems}:
                    problems.append(exc)
        if problems:
            failed = True
            for problem in problems:
                print(f"error {problem}")
        else:
            print(f"ok {path} (version {versions})")
    return 1 if failed else 0


def chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=_LANGS, help="script language (default: config, account, en)")
    parser.add_argument("--account", required=True, metavar="ACCOUNT.json", help="account JSON file")
    parser.add_argument("--today", type=date.fromisoformat, help="reference day YYYY-MM-DD (default: today)")
    parser.add_argument("--script", metavar="FILE", help="script file (default: the shipped one)")
    parser.add_argument("--profile", choices=PROFILES, help="disclosure profile (default: config)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def chat_main(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    cfg = args.config.dialogue
    account = load_account(args.account)
    lang = args.lang or cfg.lang or account.lang or "en"
    profile = args.profile or cfg.profile
    prompts_dir = cfg.prompts_dir or None
    script: Script
    if args.script or cfg.script:
        script = load_script(args.script or cfg.script, profile, prompts_dir)
    else:
        script = script_for(lang, prompts_dir, profile)
    dialogue = Dialogue(
        script, account, args.today or date.today(),
        min_promise_fraction=cfg.min_promise_fraction,
        latest_promise_days=cfg.latest_promise_days,
        max_no_match=args.config.handoff.max_no_match,
    )
    out = stdout or sys.stdout
    emit = _emit_json if args.json else _emit_text
    for action in dialogue.start():
        emit(action, out)
    for raw in stdin or sys.stdin:
        if dialogue.finished:
            break
        line = raw.rstrip("\n")
        if line.strip() == "":
            actions = dialogue.on_no_input()
        elif line.startswith("#dtmf"):
            actions = dialogue.on_dtmf(line[len("#dtmf"):].strip())
        elif line.strip() == "#voicemail":
            actions = dialogue.on_voicemail()
        else:
            actions = dialogue.on_caller_turn(line)
        for action in actions:
            emit(action, out)
    outcome = dialogue.on_hangup()
    obj = outcome.to_json_obj()
    if args.json:
        out.write(json.dumps({"type": "outcome", **obj}, ensure_ascii=False) + "\n")
    else:
        out.write(f"== outcome: {json.dumps(obj, ensure_ascii=False)}\n")
    out.flush()
    return 0


def _emit_json(action: Action, out: TextIO) -> None:
    obj: dict[str, object] | None = None
    if isinstance(action, Say):
        obj = {"type": "say", "state": action.state, "text": action.text}
    elif isinstance(action, StateChanged):
        obj = {"type": "state", "from": action.old, "to": action.new}
    elif isinstance(action, Understood):
        u = action.understanding
        obj = {"type": "understood", "text": u.text, "intents": list(u.intents), "amount": u.amount,
               "date": u.date.isoformat() if u.date else None}
    elif isinstance(action, HandOff):
        obj = {"type": "handoff", "reason": action.reason}
    if obj is not None:
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()


def _emit_text(action: Action, out: TextIO) -> None:
    if isinstance(action, Say):
        out.write(f"bot [{action.state}]: {action.text}\n")
    elif isinstance(action, StateChanged):
        out.write(f"-- {action.old or '(start)'} -> {action.new}\n")
    elif isinstance(action, Understood):
        u = action.understanding
        extra = "".join(f" {k}={v}" for k, v in (("amount", u.amount), ("date", u.date)) if v is not None)
        out.write(f"   understood: {','.join(u.intents)}{extra}{' CRITICAL' if u.critical else ''}\n")
    elif isinstance(action, HandOff):
        out.write(f"== hand-off: {action.reason}\n")
    elif isinstance(action, EndCall):
        out.write(f"== end: {action.disposition}\n")
    out.flush()
