"""``voicebot qa`` end to end: CLI run, CSV, and the HTML report rendered in headless Chromium."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from voicebot.recording.format import SessionRecord
from voicebot.recording.qa import CHECK_WEIGHTS, score_session
from voicebot.recording.report import render_html, summarize

from .conftest import good_call_steps

ROOT = Path(__file__).resolve().parents[2]
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def three_calls(make_call: Callable[..., SessionRecord]) -> list[SessionRecord]:
    return [
        make_call("good"),
        make_call("early", good_call_steps(verify_first=False)),
        make_call("handoff", good_call_steps(handoff=(12000, 13000)), outcome={"disposition": "handoff"}),
    ]


def _run_qa(sessions_dir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicebot", "qa", str(sessions_dir), "--report", str(out / "qa.html"),
                           "--csv", str(out / "qa.csv"), "--batch", "2", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_qa_cli_writes_csv_and_report_with_progress(three_calls: list[SessionRecord], tmp_path: Path) -> None:
    sessions = three_calls[0].dir.parent
    proc = _run_qa(sessions, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[" in proc.stderr and "3/3" in proc.stderr and "2/3" in proc.stderr  # batches of 2
    assert "3 calls" in proc.stdout
    rows = {r["call_id"]: r for r in csv.DictReader(open(tmp_path / "qa.csv", encoding="utf-8"))}
    assert rows["good"]["score"] == "100" and rows["early"]["verified_before_debt"] == "fail"
    assert rows["handoff"]["handoff_timely"] == "pass" and rows["handoff"]["disposition"] == "handoff"
    assert list(rows["good"])[-len(CHECK_WEIGHTS):] == list(CHECK_WEIGHTS)
    html = (tmp_path / "qa.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # --fail-under turns a low score into exit code 1
    assert _run_qa(sessions, tmp_path, "--fail-under", "90").returncode == 1


def test_report_escapes_session_text(make_call: Callable[..., SessionRecord]) -> None:
    card = score_session(make_call("<img src=x onerror=alert(1)>"))
    html = render_html([card])
    assert "<img src=x" not in html and "&lt;img src=x" in html


@pytest.mark.browser
def test_report_renders_in_headless_chromium(three_calls: list[SessionRecord], tmp_path: Path) -> None:
    if not Path(CHROMEDRIVER).exists() or shutil.which("chromium") is None:
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    cards = [score_session(r) for r in three_calls]
    summary = summarize(cards)
    report = tmp_path / "qa.html"
    report.write_text(render_html(cards), encoding="utf-8")
    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--window-size=1400,1400"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get(report.as_uri())
        assert driver.find_element(By.ID, "summary-calls").text == "3"
        assert driver.find_element(By.ID, "summary-mean-score").text == f"{summary.mean_score:.1f}"
        assert driver.find_element(By.ID, "summary-promise-rate").text == "100%"
        assert driver.find_element(By.ID, "summary-failing").text == "1"
        shown = {r.get_attribute("data-call"): int(r.find_element(By.CSS_SELECTOR, ".score").text)
                 for r in driver.find_elements(By.CSS_SELECTOR, "#scorecards tr.call")}
        assert shown == {c.call_id: c.score for c in cards} and shown["good"] == 100 and shown["early"] < 100
        failed = driver.find_element(By.CSS_SELECTOR, 'tr[data-call="early"] td[data-check="verified_before_debt"]')
        assert failed.text == "fail" and "fail" in failed.get_attribute("class")
        # the charts are real SVG with the same counts
        bars = {b.get_attribute("data-label"): int(b.get_attribute("data-value"))
                for b in driver.find_elements(By.CSS_SELECTOR, "#chart-dispositions g.bar")}
        assert bars == dict(summary.dispositions) == {"promise_to_pay": 2, "handoff": 1}
        fails = {b.get_attribute("data-label"): int(b.get_attribute("data-value"))
                 for b in driver.find_elements(By.CSS_SELECTOR, "#chart-failures g.bar")}
        assert fails == {"verified_before_debt": 1}
        handoffs = driver.find_elements(By.CSS_SELECTOR, "#chart-handoffs g.bar")
        assert [h.get_attribute("data-label") for h in handoffs] == ["distress"]
        rect = driver.find_element(By.CSS_SELECTOR, "#chart-dispositions g.bar rect")
        assert rect.size["width"] > 0  # laid out, not just present
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(artifacts / "qa_report.png"))
    finally:
        driver.quit()
