"""Load language data files shipped under ``voicebot/nlu/data/<lang>/``.

Data (lexicons, patterns, number words) is TOML so linguists can review it like prose; code
only interprets it. Files are read once per process and cached, so per-utterance calls cost
nothing. A missing or malformed file is a packaging bug and raises at import time of the
language module, not mid-call.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def load_data(lang: str, name: str) -> dict[str, Any]:
    """Parse ``voicebot/nlu/data/<lang>/<name>.toml``. Raises FileNotFoundError/TOMLDecodeError."""
    path = resources.files("voicebot.nlu").joinpath("data", lang, f"{name}.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def compile_any(patterns: list[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``patterns`` (each a regex over normalised text, matched at
    word boundaries). ``None`` when the list is empty, so callers can skip the search."""
    if not patterns:
        return None
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")
