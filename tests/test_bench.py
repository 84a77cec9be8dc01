"""``voicebot bench`` end to end: it spawns the real server, drives a real call and prints figures.

No speed is asserted (machines are noisy); only that the run happened and reported every figure.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, scaled

pytestmark = pytest.mark.slow


def test_bench_one_call_reports_every_figure() -> None:
    # --no-warm: static-prompt warming is not needed for one short call and keeps startup short.
    out = subprocess.run(
        [sys.executable, "-m", "voicebot", "bench", "--calls", "1", "--duration", "8", "--no-warm", "--json",
         "--stagger", "1", "--settle", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=scaled(120),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    for key in ("cores", "loadavg_start", "loadavg_end", "startup_s", "idle_rss_mb", "endpoint_silence_ms", "runs",
                "warm_after_ready_s", "rss_slope"):
        assert key in report, key
    assert report["startup_s"] > 0 and report["idle_rss_mb"] > 0
    assert report["stagger_s"] == 1 and report["warm_after_ready_s"] is None  # --no-warm: not waited for
    assert [r["n"] for r in report["runs"]] == [1]
    tw = report["runs"][0]["twilio"]
    for key in ("eos_final_ms", "endpoint_final_ms", "v2v_ms", "align_ms"):
        assert set(tw[key]) == {"n", "p50", "p95", "max"}, key
    assert 0 <= report["runs"][0]["settle_s"] <= 4.5
    for key in ("jitter_ms", "underruns", "late_frames", "inbound_lost", "outbound_lost", "cpu_pct_mean", "other_cpu_pct",
                "rss_mb_max", "rss_per_call_mb", "speech_share", "missed_finals"):
        assert key in tw, key
    # The call really happened: the bot's greeting arrived paced (8 s is shorter than the greeting,
    # so the borrower may not have answered yet) and the server process was sampled while it worked.
    assert tw["calls"] >= 1 and tw["utterances"] >= 0 and "server_crashed" not in tw
    assert tw["steady_frames"] > 100 and tw["jitter_ms"] is not None
    assert tw["cpu_pct_mean"] > 0 and tw["rss_mb_max"] >= report["idle_rss_mb"] * 0.9
    assert tw["refused"] == 0


def test_bench_rejects_bad_calls_list() -> None:
    out = subprocess.run([sys.executable, "-m", "voicebot", "bench", "--calls", "four"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--calls" in out.stderr


def test_vosk_matching_tells_merged_from_missed() -> None:
    from voicebot.bench import match_finals

    # Three utterances; the endpointer merged the first two into one final (its words run from
    # the first into the second), and nothing was recognised of the third.
    spans = [(1.0, 2.0, 1.0), (4.0, 5.0, 1.0), (8.0, 9.0, 1.0)]
    finals = [(6.6, 1.05, 4.9)]
    got = match_finals(spans, finals)
    assert got["missed"] == 1 and got["merged"] == 1
    assert [round(x, 2) for x in got["lat"]] == [4.6, 1.6]  # the first waited for the merged final
    # Split as spoken: each final covers its own utterance; latency from its own EoS.
    got = match_finals(spans, [(2.4, 1.05, 1.95), (5.5, 4.1, 4.9), (9.3, 8.0, 8.95)])
    assert set(got) == {"lat", "missed", "merged"} and got["missed"] == got["merged"] == 0
    assert [round(x, 2) for x in got["lat"]] == [0.4, 0.5, 0.3]
