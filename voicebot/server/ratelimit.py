"""Failed-login rate limiting per remote address."""
from __future__ import annotations


class FailedLogins:
    """Rate limit for wrong tokens: after ``limit`` failures within ``window_s`` from one
    address, further attempts get 429 until the window has passed."""

    def __init__(self, limit: int = 10, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}

    def blocked(self, addr: str, now: float) -> bool:
        recent = [t for t in self._failures.get(addr, []) if now - t < self.window_s]
        self._failures[addr] = recent
        return len(recent) >= self.limit

    def failed(self, addr: str, now: float) -> None:
        self._failures.setdefault(addr, []).append(now)
        if len(self._failures) > 10_000:  # bound memory under a spray of addresses
            self._failures.pop(next(iter(self._failures)))
