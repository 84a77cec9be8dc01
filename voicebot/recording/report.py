"""QA reports: one self-contained HTML page (inline CSS and SVG charts, no scripts) and a CSV.

Everything shown is derived by ``summarize`` from the scorecards, so a test can compare the
page against the same numbers. Every value taken from a session is HTML-escaped.
"""
from __future__ import annotations

import csv
import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from voicebot.recording.qa import CHECK_WEIGHTS, Scorecard

SCORE_BINS = ((0, 49), (50, 69), (70, 79), (80, 89), (90, 99), (100, 100))


@dataclass(frozen=True)
class Summary:
    calls: int
    mean_score: float
    promise_rate: float
    dispositions: tuple[tuple[str, int], ...]
    handoff_reasons: tuple[tuple[str, int], ...]
    score_bins: tuple[tuple[str, int], ...]
    failures: tuple[tuple[str, int], ...]  # per check, calls failing it


def summarize(cards: Sequence[Scorecard]) -> Summary:
    n = len(cards)
    fails = Counter(name for c in cards for name in c.failures)
    bins = tuple((f"{lo}" if lo == hi else f"{lo}-{hi}", sum(lo <= c.score <= hi for c in cards))
                 for lo, hi in SCORE_BINS)
    return Summary(
        calls=n,
        mean_score=sum(c.score for c in cards) / n if n else 0.0,
        promise_rate=sum(c.promise for c in cards) / n if n else 0.0,
        dispositions=tuple(Counter(c.disposition for c in cards).most_common()),
        handoff_reasons=tuple(Counter(r for c in cards for r in c.handoff_reasons).most_common()),
        score_bins=bins,
        failures=tuple((name, fails[name]) for name in CHECK_WEIGHTS if fails[name]),
    )


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]], colour: str = "#3b6ea5") -> str:
    """A horizontal bar chart as inline SVG; each bar carries its label and count as text."""
    e = html.escape
    row_h, label_w, bar_w = 22, 190, 300
    height = 30 + row_h * max(1, len(items))
    top = max((v for _, v in items), default=0) or 1
    parts = [f'<svg id="{e(chart_id)}" class="chart" role="img" width="{label_w + bar_w + 60}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{e(title)}</title><text x="0" y="16" class="chart-title">{e(title)}</text>']
    if not items:
        parts.append('<text x="0" y="40" class="empty">none</text>')
    for i, (label, value) in enumerate(items):
        y = 26 + i * row_h
        w = round(bar_w * value / top)
        parts.append(
            f'<g class="bar" data-label="{e(label)}" data-value="{value}">'
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{e(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{row_h - 6}" fill="{colour}"/>'
            f'<text x="{label_w + w + 4}" y="{y + 14}">{value}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:22px} h2{font-size:17px;margin-top:28px}
.kpis{display:flex;gap:24px} .kpi{border:1px solid #ccc;border-radius:6px;padding:10px 16px}
.kpi b{display:block;font-size:22px}
.charts{display:flex;flex-wrap:wrap;gap:18px} .chart text{font-size:12px} .chart-title{font-weight:bold}
table{border-collapse:collapse;margin-top:8px;font-size:13px} th.check{max-width:90px;font-size:12px} td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
.pass{background:#dff0d8} .fail{background:#f2dede;font-weight:bold} .na{color:#999}
"""


def render_html(cards: Sequence[Scorecard], title: str = "voicebot QA report") -> str:
    """The whole report as one HTML document (no external resources, no JavaScript)."""
    e = html.escape
    s = summarize(cards)
    names = list(CHECK_WEIGHTS)
    head = "".join(f'<th class="check">{e(n.replace("_", " "))}</th>' for n in names)
    rows = []
    for c in sorted(cards, key=lambda c: (c.score, c.call_id)):
        cells = "".join(f'<td class="{c.status(n)}" data-check="{e(n)}" title="{e(d.detail)}">{c.status(n)}</td>'
                        for n, d in ((n, next(x for x in c.checks if x.name == n)) for n in names))
        rows.append(f'<tr class="call" data-call="{e(c.call_id)}"><td>{e(c.call_id)}</td><td>{e(c.started_at[:19].replace("T", " "))}</td>'
                    f'<td>{e(c.disposition)}</td><td class="score">{c.score}</td>'
                    f'<td>{c.duration_ms / 1000:.1f}</td><td>{c.talk_over_ratio:.1%}</td>'
                    f'<td>{c.silence_ratio:.1%}</td>{cells}</tr>')
    details = []
    for c in cards:
        bad = [x for x in c.checks if x.status == "fail"]
        if bad:
            items = "".join(f"<li><b>{e(x.name)}</b>: {e(x.detail)}</li>" for x in bad)
            details.append(f'<li data-call="{e(c.call_id)}">{e(c.call_id)} (score {c.score})<ul>{items}</ul></li>')
    charts = "".join([
        bar_chart("chart-dispositions", "Disposition mix", s.dispositions),
        bar_chart("chart-promise", "Promise to pay", [("promise", sum(c.promise for c in cards)),
                                                      ("no promise", sum(not c.promise for c in cards))], "#4a9a5b"),
        bar_chart("chart-handoffs", "Hand-off reasons", s.handoff_reasons, "#b07a2a"),
        bar_chart("chart-scores", "Score distribution", s.score_bins, "#6a5acd"),
        bar_chart("chart-failures", "Compliance failures (calls)", s.failures, "#b94a48"),
    ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{_CSS}</style></head>
<body><h1>{e(title)}</h1>
<div class="kpis">
<div class="kpi">Calls<b id="summary-calls">{s.calls}</b></div>
<div class="kpi">Mean score<b id="summary-mean-score">{s.mean_score:.1f}</b></div>
<div class="kpi">Promise rate<b id="summary-promise-rate">{s.promise_rate:.0%}</b></div>
<div class="kpi">Calls with a failure<b id="summary-failing">{sum(bool(c.failures) for c in cards)}</b></div>
</div>
<h2>Summary</h2><div class="charts">{charts}</div>
<h2>Scorecards</h2>
<table id="scorecards"><thead><tr><th>call</th><th>started</th><th>disposition</th><th>score</th>
<th>duration s</th><th>talk-over</th><th>silence</th>{head}</tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Failures</h2><ul id="failures">{''.join(details) or '<li>none</li>'}</ul>
</body></html>
"""


def write_csv(cards: Sequence[Scorecard], path: str | Path) -> None:
    """One row per call: id, start, disposition, score, ratios, then each check's status."""
    names = list(CHECK_WEIGHTS)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["call_id", "started_at", "disposition", "score", "duration_ms", "promise",
                    "talk_over_ratio", "silence_ratio", *names])
        for c in cards:
            w.writerow([c.call_id, c.started_at, c.disposition, c.score, c.duration_ms, int(c.promise),
                        f"{c.talk_over_ratio:.4f}", f"{c.silence_ratio:.4f}", *(c.status(n) for n in names)])
