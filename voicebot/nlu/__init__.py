"""Language understanding for borrowers (intents, amount, date, critical) and agents
(compliance flags), in English, Mandarin and Korean.

Pure: text in, decisions out. Each language lives in its own module (``en``, ``zh``, ``ko``)
that defines ``understand(text: str, today: date) -> Understanding`` and
``agent_flags(text: str) -> tuple[str, ...]``; language data (lexicons, patterns, number words)
lives under ``voicebot/nlu/data/<lang>/``. The dialogue engine, agent assist and the
``voicebot nlu`` command all call the two functions below.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from types import ModuleType

INTENTS: tuple[str, ...] = (
    "promise_to_pay",
    "already_paid",
    "payment_plan",
    "dispute",
    "distress",
    "request_agent",
    "wrong_party",
    "callback",
    "refuse",
    "cease_contact",
    "affirm",
    "deny",
    "ask_info",
    "none",
)
AGENT_FLAGS: tuple[str, ...] = (
    "threat",
    "abuse",
    "third_party_disclosure",
    "false_representation",
    "privacy",
)
LANGS: tuple[str, ...] = ("en", "zh", "ko")


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a caller turn means. ``intents`` is never empty (``("none",)`` at least);
    ``amount`` is the money committed/paid/offered per instalment; ``date`` is resolved
    against the reference day; ``critical`` implies ``distress`` in ``intents``."""

    text: str
    intents: tuple[str, ...]
    amount: float | None = None
    date: date | None = None
    critical: bool = False

    def to_json_obj(self) -> dict[str, object]:
        return {
            "text": self.text,
            "intents": list(self.intents),
            "amount": self.amount,
            "date": self.date.isoformat() if self.date else None,
            "critical": self.critical,
        }


def _module(lang: str) -> ModuleType:
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGS)}")
    return importlib.import_module(f"voicebot.nlu.{lang}")


def understand(text: str, lang: str, today: date) -> Understanding:
    """Understand one caller utterance (recogniser-style text) in ``lang``."""
    return _module(lang).understand(text, today)  # type: ignore[no-any-return]


def agent_flags(text: str, lang: str) -> tuple[str, ...]:
    """Compliance flags for one human-agent utterance (empty tuple when compliant)."""
    return _module(lang).agent_flags(text)  # type: ignore[no-any-return]
