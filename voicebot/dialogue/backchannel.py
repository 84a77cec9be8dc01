"""Backchannels: "uh-huh", "mm", "嗯", "네네" said while the bot speaks are listening
noises, not barge-in. Word lists are data: ``prompts/<lang>/backchannel.toml``."""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from voicebot.dialogue.script import default_prompts_dir

_PUNCT = re.compile(r"[\s.,!?;:…~'\"。，！？、…～]+")
_MAX_UNITS = 4  # "yeah yeah okay" is listening; a longer run is someone talking


@lru_cache(maxsize=8)
def _words(lang: str, prompts_dir: str) -> tuple[frozenset[str], tuple[str, ...]]:
    path = Path(prompts_dir) / lang / "backchannel.toml"
    try:
        words = tomllib.loads(path.read_text(encoding="utf-8"))["words"]
    except FileNotFoundError:
        raise ValueError(f"no backchannel list for language {lang!r} at {path}") from None
    phrases = frozenset(w.lower() for w in words)
    # Longest first so "嗯嗯" is taken whole before "嗯".
    units = tuple(sorted({_PUNCT.sub("", w.lower()) for w in words}, key=len, reverse=True))
    return phrases, units


def is_backchannel(text: str, lang: str, prompts_dir: str | Path | None = None) -> bool:
    """True when ``text`` is only listening noises in ``lang`` (e.g. "uh-huh", "mm okay",
    "嗯嗯", "네 네"), so a prompt playing should continue. Empty text is not a backchannel."""
    phrases, units = _words(lang, str(prompts_dir or default_prompts_dir()))
    lowered = text.lower().strip()
    if lowered in phrases:
        return True
    rest = _PUNCT.sub("", lowered).replace("-", "")
    if not rest:
        return False
    count = 0
    while rest:
        unit = next((u.replace("-", "") for u in units if u and rest.startswith(u.replace("-", ""))), "")
        if not unit:
            return False
        rest = rest[len(unit):]
        count += 1
        if count > _MAX_UNITS:
            return False
    return True
