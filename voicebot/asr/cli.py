"""``voicebot transcribe FILE.wav ...``: one JSON line per file, for checking a model works.

Each line is ``{"file", "text", "words": [{"word", "start", "end", "conf"}], "duration"}``
(seconds). Accepts 16-bit PCM, 8-bit PCM, mu-law and A-law WAV at any rate (8 to 48 kHz
typical); stereo is mixed down to mono. A file that cannot be read is reported on stderr,
the others are still transcribed, and the exit code is 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voicebot.errors import AudioFormatError


def _grammar(text: str) -> list[str]:
    try:
        words = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--grammar must be a JSON list of phrases: {exc}") from None
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise argparse.ArgumentTypeError('--grammar must be a non-empty JSON list of strings, e.g. \'["yes", "no"]\'')
    return words


def transcribe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.wav", help="WAV files (PCM16, mu-law or A-law)")
    parser.add_argument("--model", default=None, help="model path or name (overrides asr.model)")
    parser.add_argument("--grammar", type=_grammar, default=None, metavar="JSON_LIST",
                        help='restrict recognition to these phrases, e.g. \'["네", "예", "아니요"]\'')


def transcribe_main(args: argparse.Namespace) -> int:
    # Imported here so `voicebot --help` never loads libvosk.
    from voicebot.asr.engine import AsrEngine
    from voicebot.asr.models import resolve_model, with_search_options
    from voicebot.audio.pcm import to_mono
    from voicebot.audio.wav import read_wav

    asr = args.config.asr
    model = resolve_model(
        args.model if args.model is not None else asr.model,
        models_dir=Path(asr.models_dir),
        allow_download=asr.allow_download,
    )
    model = with_search_options(model, asr.search_options(), args.config.state_path / "decoder")
    status = 0
    with AsrEngine(model, workers=1, pool_size=1) as engine:
        for name in args.files:
            try:
                audio = read_wav(name)
            except (OSError, AudioFormatError) as exc:
                print(f"voicebot: {name}: {exc}", file=sys.stderr)
                status = 2
                continue
            mono = to_mono(audio.pcm, audio.channels)
            result = engine.transcribe_pcm(mono, audio.rate_hz, args.grammar)
            line = {
                "file": name,
                "text": result.text,
                "words": [{"word": w.word, "start": w.start_s, "end": w.end_s, "conf": round(w.conf, 3)} for w in result.words],
                "duration": round(audio.frames / audio.rate_hz, 3),
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return status
