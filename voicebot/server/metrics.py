"""Process-wide counters exposed at ``GET /metrics`` in the Prometheus text format (0.0.4)."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Callable


class Metrics:
    """Counters and gauges keyed by (name, labels). Thread-safe: decode threads update it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self._gauges: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}
        self._help: dict[str, tuple[str, str]] = {}

    def describe(self, name: str, kind: str, help_text: str) -> None:
        self._help[name] = (kind, help_text)

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] += value

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters[(name, tuple(sorted(labels.items())))]

    def gauge(self, name: str, fn: Callable[[], dict[tuple[tuple[str, str], ...], float]]) -> None:
        """Register a gauge computed at scrape time: fn() -> {labels: value}."""
        self._gauges[name] = fn

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            items = sorted(self._counters.items())
        seen: set[str] = set()
        for (name, labels), value in items:
            if name not in seen:
                seen.add(name)
                kind, help_text = self._help.get(name, ("counter", name))
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            lines.append(f"{name}{_labels(labels)} {_num(value)}")
        for name, fn in sorted(self._gauges.items()):
            kind, help_text = self._help.get(name, ("gauge", name))
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in sorted(fn().items()):
                lines.append(f"{name}{_labels(labels)} {_num(value)}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + body + "}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
