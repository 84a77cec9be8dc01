"""Run ``voicebot nlu-eval`` as a subprocess on labelled files and hold the targets there.

One parameter per file: adding a language is one line in FILES.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
OWN_DATA = Path(__file__).resolve().parent / "data"

CALLER_TARGETS = {"macro_f1": 0.90, "distress_recall": 0.97, "critical_recall": 1.0,
                  "critical_precision": 0.8, "amount_exact": 0.93, "date_exact": 0.93}
AGENT_TARGETS = {"macro_f1": 0.85}
MAX_COMPLIANT_FLAGGED = 0.05

FILES = [
    SHARED_DATA / "nlu_dev_en.jsonl",
    SHARED_DATA / "agent_dev_en.jsonl",
    OWN_DATA / "en_caller.jsonl",
    OWN_DATA / "en_agent.jsonl",
    SHARED_DATA / "nlu_dev_zh.jsonl",
    SHARED_DATA / "agent_dev_zh.jsonl",
    OWN_DATA / "zh_caller.jsonl",
    OWN_DATA / "zh_agent.jsonl",
    # Fresh agent check sets, written before the last agent-lexicon round and scored once after.
    OWN_DATA / "en_check_agent.jsonl",
    OWN_DATA / "zh_check_agent.jsonl",
    # Blind sets of the eighth session, scored once and then tuned on (spent): their families must stay fixed.
    OWN_DATA / "en_blind14_caller.jsonl",
    OWN_DATA / "zh_blind13_caller.jsonl",
    OWN_DATA / "en_blind17_caller.jsonl",
    OWN_DATA / "zh_blind16_caller.jsonl",
    OWN_DATA / "en_blind15_agent.jsonl",
    OWN_DATA / "zh_blind14_agent.jsonl",
    # Blind caller sets written at the end of the eighth session, scored once (en 0.938, zh 0.911), tuned on in the ninth.
    OWN_DATA / "en_blind18_caller.jsonl",
    OWN_DATA / "zh_blind17_caller.jsonl",
    # Ninth-session blind sets, scored once (zh caller 0.858, zh agent 0.911 / 5.4 % flagged), then tuned on.
    OWN_DATA / "zh_blind18_caller.jsonl",
    OWN_DATA / "zh_blind19_agent.jsonl",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicebot", "nlu-eval", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_targets_met(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"labelled data {path} is absent (expected beside the repo in shared/data)")
    result = _run(str(path), "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    if "caller" in scores:
        for figure, target in CALLER_TARGETS.items():
            value = scores["caller"][figure]
            assert value is None or value >= target, f"{figure} {value} < {target}"
    if "agent" in scores:
        for figure, target in AGENT_TARGETS.items():
            assert scores["agent"][figure] >= target
        assert scores["agent"]["compliant_flagged"] <= MAX_COMPLIANT_FLAGGED


def test_report_and_threshold_exit_code(tmp_path: Path) -> None:
    given = tmp_path / "one.jsonl"
    given.write_text(json.dumps({"id": "x", "lang": "en", "today": "2026-11-28", "text": "i'll pay fifty tomorrow",
                                 "intents": ["refuse"], "amount": 50.0, "date": "2026-11-29", "critical": False}) + "\n")
    report = _run(str(given))
    assert report.returncode == 0
    assert "macro-F1" in report.stdout and "promise_to_pay" in report.stdout
    failing = _run(str(given), "--min-macro-f1", "0.9")
    assert failing.returncode == 1
    assert "macro_f1" in failing.stderr
