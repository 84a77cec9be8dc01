"""Script lint: shipped scripts pass; each kind of problem stops loading with file and line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dialogue_testdata import REPO
from voicebot.dialogue import default_prompts_dir, load_script, script_for
from voicebot.errors import ScriptError

EN = REPO / "prompts" / "en" / "reminder.toml"


@pytest.mark.parametrize("lang", ["en", "zh", "ko"])
@pytest.mark.parametrize("profile", ["us", "cn"])
def test_shipped_scripts_load(lang: str, profile: str) -> None:
    script = script_for(lang, profile=profile)
    assert script.lang == lang and script.version and script.start == "greeting"
    assert {s.reason for s in script.states.values() if s.kind == "handoff"} >= {
        "critical_distress", "distress", "dispute", "request_agent", "payment_plan", "promise_outside_policy", "no_match"}
    assert default_prompts_dir() == REPO / "prompts"


def broken(tmp_path: Path, old: str, new: str, lang: str = "en") -> tuple[Path, int]:
    """A copy of the shipped script with one edit; returns its path and the edited line."""
    text = (REPO / "prompts" / lang / "reminder.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path = tmp_path / "reminder.toml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if new.splitlines()[0] in l)
    return path, line


@pytest.mark.parametrize("lang, old, new, reason", [
    ("en", 'prompt = "Of course. I\'ll connect you with a colleague now. Please stay on the line."',
     'prompt = "Pay now or the police will arrest you."', "prohibited language (threat): 'arrest'"),
    ("en", 'prompt = "I understand. Thank you for your time. Goodbye."',
     'prompt = "You deadbeat. Goodbye."', "prohibited language (insult)"),
    ("zh", 'prompt = "好的，我马上为您转接人工客服，请稍等。"',
     'prompt = "我们是法院的，马上还钱。"', "prohibited language (impersonation): '法院'"),
    ("ko", 'prompt = "네, 상담원을 바로 연결해 드리겠습니다. 잠시만 기다려 주세요."',
     'prompt = "안 내시면 고소하겠습니다."', "prohibited language (threat): '고소'"),
    ("en", 'deny = "close_refused", refuse = "close_refused"',
     'deny = "close_nowhere", refuse = "close_refused"', "unknown state 'close_nowhere'"),
    ("en", 'prompt = "Thank you. We\'ll call you back then. Goodbye."',
     'prompt = "Thank you. We\'ll call you at {home_address}. Goodbye."', "slot {home_address} cannot be filled"),
    ("en", 'prompt = "Am I speaking with {name}?"',
     'prompt = "Am I speaking with {name} about {amount}?"', "before verification"),
    ("en", 'prompt = "I\'m sorry for the trouble. Is there a better time to reach {name}?"',
     'prompt = "Sorry. Is there a better time to reach {name} about the loan?"', "says 'loan' before verification"),
    ("en", 'prompt = "This is a message for {name}. Please call us back at {callback_number}. Thank you."',
     'prompt = "This is a message for {name} from {lender}. Please call us back at {callback_number}."', "voicemail may carry only"),
])
def test_lint_finds_problem_with_file_and_line(tmp_path: Path, lang: str, old: str, new: str, reason: str) -> None:
    path, line = broken(tmp_path, old, new, lang)
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    assert caught.value.path == str(path)
    assert reason in caught.value.reason
    assert caught.value.line == line


def test_lint_finds_unreachable_state(tmp_path: Path) -> None:
    path, line = broken(tmp_path, "[states.close_no_input]", '[states.orphan]\nprompt = "Hello?"\n\n[states.close_no_input]')
    with pytest.raises(ScriptError, match="orphan is unreachable") as caught:
        load_script(path)
    assert caught.value.line == line


def test_check_command_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "voicebot", "check"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("ok ") == 3
    path, line = broken(tmp_path, 'prompt = "I understand. Thank you for your time. Goodbye."', 'prompt = "Stupid. Goodbye."')
    bad = subprocess.run([sys.executable, "-m", "voicebot", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert f"{path}:{line}: state close_unverified: prohibited language (insult): 'stupid'" in bad.stdout
