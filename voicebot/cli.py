"""The ``voicebot`` command: one subcommand per job, each implemented beside its package.

Each entry of ``COMMANDS`` names a module that defines ``<name>_arguments(parser)`` and
``<name>_main(args) -> int``; modules are imported only when their command runs, so
``voicebot nlu`` never loads Vosk. ``args.config`` holds the loaded ``Config``.
Exit codes: 0 ok, 1 a check or regression failed, 2 bad usage/config/model missing.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from voicebot.config import load_config
from voicebot.errors import ConfigError, ModelNotFoundError, ScriptError

# command -> (module, function prefix, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("voicebot.server.app", "serve", "run the telephony gateway and dashboard"),
    "transcribe": ("voicebot.asr.cli", "transcribe", "transcribe WAV files, one JSON line each"),
    "check": ("voicebot.dialogue.cli", "check", "lint the call scripts"),
    "chat": ("voicebot.dialogue.cli", "chat", "run a call script with typed caller turns"),
    "nlu": ("voicebot.nlu.cli", "nlu", "understand utterances from stdin, one JSON line each"),
    "nlu-eval": ("voicebot.nlu.cli", "nlu_eval", "score NLU on a labelled JSONL file"),
    "replay": ("voicebot.recording.replay_cli", "replay", "replay recorded sessions and report differences"),
    "qa": ("voicebot.recording.cli", "qa", "score recorded sessions and write a QA report"),
    "recover": ("voicebot.recording.cli", "recover", "repair recordings of calls cut off by a crash"),
    "purge": ("voicebot.recording.cli", "purge", "delete audio and mask transcripts past retention"),
    "bench": ("voicebot.bench", "bench", "drive concurrent real-time calls and print latency figures"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description=__doc__.splitlines()[0])
    parser.add_argument("--config", metavar="FILE", help="TOML config file (default: built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, prefix, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module, _prefix=prefix)
        # Arguments are added lazily in main(), once we know which command runs.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # First pass: find the command; second pass: parse with that command's own arguments.
    # Help for a command needs that command's arguments, which are added after this pass.
    first_pass = argv
    if any(a in ("-h", "--help") for a in argv) and any(a in COMMANDS for a in argv):
        first_pass = [a for a in argv if a not in ("-h", "--help")]
    known, _ = parser.parse_known_args(first_pass)
    module = importlib.import_module(known._module)
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    getattr(module, f"{known._prefix}_arguments")(sub_action.choices[known.command])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from voicebot.compliance.logfilter import RedactingFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    try:
        args.config = load_config(args.config)
        return int(getattr(module, f"{known._prefix}_main")(args) or 0)
    except (ConfigError, ModelNotFoundError, ScriptError) as exc:
        print(f"voicebot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
