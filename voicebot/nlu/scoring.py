"""Score NLU against labelled JSONL files in the shared data format (see shared/data/README.md).

Caller lines carry ``{"lang", "today", "text", "intents", "amount", "date", "critical"}``;
agent lines carry ``{"lang", "text", "flags"}``. A file may hold either kind or both. Each line
is understood with its own ``lang`` and ``today`` through :mod:`voicebot.nlu`, so any language
module plugs in without changes here.

Figures (all fractions in 0..1; ``None`` when the figure has no denominator in the file):

- ``caller.per_intent[label]``: precision, recall, f1, support (gold count), predicted count.
- ``caller.macro_f1``: mean F1 over labels present in gold *or* predictions.
- ``caller.amount_exact`` / ``caller.date_exact``: on lines whose gold intents contain
  ``promise_to_pay``, the share whose predicted amount (as float) / date (ISO or null) equals gold.
- ``caller.critical_recall`` / ``caller.critical_precision``, ``caller.distress_recall``.
- ``agent.per_flag[flag]``, ``agent.macro_f1`` (flags present in gold or predicted),
  ``agent.compliant_flagged``: share of gold-compliant lines (``flags == []``) given any flag.
- ``caller.mistakes`` / ``agent.mistakes``: the lines that were not fully right, for reading.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from voicebot.nlu import agent_flags, understand

_AMOUNT_TOLERANCE = 1e-6


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _label_table(pairs: list[tuple[set[str], set[str]]]) -> dict[str, dict[str, float]]:
    """Per-label P/R/F1 over (gold, predicted) label sets, for labels seen on either side."""
    labels = sorted({label for gold, pred in pairs for label in gold | pred})
    table: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for gold, pred in pairs if label in gold and label in pred)
        fp = sum(1 for gold, pred in pairs if label not in gold and label in pred)
        fn = sum(1 for gold, pred in pairs if label in gold and label not in pred)
        row: dict[str, float] = _prf(tp, fp, fn)
        row["support"] = tp + fn
        row["predicted"] = tp + fp
        table[label] = row
    return table


def _macro(table: Mapping[str, Mapping[str, float]]) -> float | None:
    return sum(row["f1"] for row in table.values()) / len(table) if table else None


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _same_amount(gold: object, pred: float | None) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    return abs(float(gold) - float(pred)) <= _AMOUNT_TOLERANCE  # type: ignore[arg-type]


def score_caller(lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score caller lines (see module docstring for the figures)."""
    pairs: list[tuple[set[str], set[str]]] = []
    ptp_total = amount_hits = date_hits = 0
    crit_tp = crit_fp = crit_fn = 0
    mistakes: list[dict[str, Any]] = []
    for line in lines:
        today = date.fromisoformat(line["today"]) if line.get("today") else date.today()
        got = understand(line["text"], line.get("lang", "en"), today)
        gold_intents, pred_intents = set(line["intents"]), set(got.intents)
        pairs.append((gold_intents, pred_intents))
        pred_date = got.date.isoformat() if got.date else None
        gold_crit, pred_crit = bool(line.get("critical")), got.critical
        crit_tp += gold_crit and pred_crit
        crit_fp += pred_crit and not gold_crit
        crit_fn += gold_crit and not pred_crit
        wrong: list[str] = []
        if gold_intents != pred_intents:
            wrong.append("intents")
        if gold_crit != pred_crit:
            wrong.append("critical")
        if "promise_to_pay" in gold_intents:
            ptp_total += 1
            if _same_amount(line.get("amount"), got.amount):
                amount_hits += 1
            else:
                wrong.append("amount")
            if line.get("date") == pred_date:
                date_hits += 1
            else:
                wrong.append("date")
        if wrong:
            mistakes.append({
                "id": line.get("id"), "text": line["text"], "wrong": wrong,
                "gold": {"intents": sorted(gold_intents), "amount": line.get("amount"),
                         "date": line.get("date"), "critical": gold_crit},
                "got": {"intents": sorted(pred_intents), "amount": got.amount,
                        "date": pred_date, "critical": pred_crit},
            })
    table = _label_table(pairs)
    distress = table.get("distress")
    return {
        "lines": len(pairs),
        "per_intent": table,
        "macro_f1": _macro(table),
        "exact_intents": _share(sum(1 for g, p in pairs if g == p), len(pairs)),
        "distress_recall": distress["recall"] if distress and distress["support"] else None,
        "promise_lines": ptp_total,
        "amount_exact": _share(amount_hits, ptp_total),
        "date_exact": _share(date_hits, ptp_total),
        "critical_recall": _share(crit_tp, crit_tp + crit_fn),
        "critical_precision": _share(crit_tp, crit_tp + crit_fp),
        "mistakes": mistakes,
    }


def score_agent(lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score agent lines (those with a ``flags`` field)."""
    pairs: list[tuple[set[str], set[str]]] = []
    mistakes: list[dict[str, Any]] = []
    for line in lines:
        got = set(agent_flags(line["text"], line.get("lang", "en")))
        gold = set(line["flags"])
        pairs.append((gold, got))
        if gold != got:
            mistakes.append({"id": line.get("id"), "text": line["text"],
                             "gold": sorted(gold), "got": sorted(got)})
    table = _label_table(pairs)
    compliant = [pred for gold, pred in pairs if not gold]
    return {
        "lines": len(pairs),
        "per_flag": table,
        "macro_f1": _macro(table),
        "compliant_lines": len(compliant),
        "compliant_flagged": _share(sum(1 for pred in compliant if pred), len(compliant)),
        "mistakes": mistakes,
    }


def score_lines(lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score a mix of caller and agent lines; a section is present only if the file has such lines."""
    caller: list[Mapping[str, Any]] = []
    agent: list[Mapping[str, Any]] = []
    for line in lines:
        (agent if "flags" in line else caller).append(line)
    scores: dict[str, Any] = {}
    if caller:
        scores["caller"] = score_caller(caller)
    if agent:
        scores["agent"] = score_agent(agent)
    return scores


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file (UTF-8, blank lines ignored). Raises ValueError naming the bad line."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                rows.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def score_file(path: str | Path) -> dict[str, Any]:
    """Score one labelled JSONL file; returns ``{"file", "caller"?, "agent"?}``."""
    scores = score_lines(load_jsonl(path))
    scores["file"] = str(path)
    return scores


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def format_report(scores: Mapping[str, Any], show_mistakes: int = 0) -> str:
    """Human-readable report of :func:`score_file` output; lists up to ``show_mistakes`` errors."""
    out: list[str] = [f"file: {scores.get('file', '-')}"]
    caller = scores.get("caller")
    if caller:
        out.append(f"caller lines: {caller['lines']}")
        out.append(f"  {'intent':<16} {'prec':>6} {'rec':>6} {'f1':>6} {'gold':>5} {'pred':>5}")
        for label, row in caller["per_intent"].items():
            out.append(f"  {label:<16} {_fmt(row['precision']):>6} {_fmt(row['recall']):>6} "
                       f"{_fmt(row['f1']):>6} {int(row['support']):>5} {int(row['predicted']):>5}")
        out.append(f"  macro-F1            {_fmt(caller['macro_f1'])}")
        out.append(f"  exact intent sets   {_fmt(caller['exact_intents'])}")
        out.append(f"  distress recall     {_fmt(caller['distress_recall'])}")
        out.append(f"  critical recall     {_fmt(caller['critical_recall'])}")
        out.append(f"  critical precision  {_fmt(caller['critical_precision'])}")
        out.append(f"  amount exact (ptp)  {_fmt(caller['amount_exact'])}  "
                   f"over {caller['promise_lines']} promise_to_pay lines")
        out.append(f"  date exact (ptp)    {_fmt(caller['date_exact'])}")
        for m in caller["mistakes"][:show_mistakes]:
            out.append(f"  x {m['id']}: {m['text']!r} {','.join(m['wrong'])}: "
                       f"gold={m['gold']} got={m['got']}")
    agent = scores.get("agent")
    if agent:
        out.append(f"agent lines: {agent['lines']}")
        out.append(f"  {'flag':<24} {'prec':>6} {'rec':>6} {'f1':>6} {'gold':>5} {'pred':>5}")
        for label, row in agent["per_flag"].items():
            out.append(f"  {label:<24} {_fmt(row['precision']):>6} {_fmt(row['recall']):>6} "
                       f"{_fmt(row['f1']):>6} {int(row['support']):>5} {int(row['predicted']):>5}")
        out.append(f"  macro-F1                 {_fmt(agent['macro_f1'])}")
        out.append(f"  compliant lines flagged  {_fmt(agent['compliant_flagged'])}  "
                   f"of {agent['compliant_lines']}")
        for m in agent["mistakes"][:show_mistakes]:
            out.append(f"  x {m['id']}: {m['text']!r} gold={m['gold']} got={m['got']}")
    return "\n".join(out)


# (figure path, threshold kind) for each --min/--max option of ``voicebot nlu-eval``.
THRESHOLDS: dict[str, tuple[str, str, str]] = {
    "min_macro_f1": ("caller", "macro_f1", "min"),
    "min_distress_recall": ("caller", "distress_recall", "min"),
    "min_critical_recall": ("caller", "critical_recall", "min"),
    "min_critical_precision": ("caller", "critical_precision", "min"),
    "min_amount_exact": ("caller", "amount_exact", "min"),
    "min_date_exact": ("caller", "date_exact", "min"),
    "min_agent_macro_f1": ("agent", "macro_f1", "min"),
    "max_compliant_flagged": ("agent", "compliant_flagged", "max"),
}


def check_thresholds(scores: Mapping[str, Any], limits: Mapping[str, float | None]) -> list[str]:
    """Return one message per figure outside its limit. Figures absent from the file
    (no such section, or no denominator) are not checked."""
    failures: list[str] = []
    for option, limit in limits.items():
        if limit is None:
            continue
        section, figure, kind = THRESHOLDS[option]
        value = scores.get(section, {}).get(figure)
        if value is None:
            continue
        if (kind == "min" and value < limit) or (kind == "max" and value > limit):
            failures.append(f"{section} {figure} {value:.3f} {'<' if kind == 'min' else '>'} {limit}")
    return failures
