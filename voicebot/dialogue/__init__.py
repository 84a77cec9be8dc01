"""The dialogue engine and call scripts: pure, text and events in, actions out.

``script_for(lang)`` loads and lints the shipped script ``prompts/<lang>/reminder.toml``;
``Dialogue(script, account, today)`` runs one call; ``is_backchannel`` tells listening noises
from barge-in; ``say_amount``/``say_date`` speak money and dates per language.
"""
from __future__ import annotations

from voicebot.dialogue.account import Account, AccountError, load_account
from voicebot.dialogue.actions import (
    DISPOSITIONS, HANDOFF_REASONS, Action, EndCall, HandOff, Outcome, Say, StateChanged, Understood,
)
from voicebot.dialogue.backchannel import is_backchannel
from voicebot.dialogue.engine import Dialogue, static_segments
from voicebot.dialogue.lint import lint_script
from voicebot.dialogue.script import Script, State, default_prompts_dir, load_script, script_for
from voicebot.dialogue.speech import say_amount, say_date, say_phone

__all__ = [
    "Account", "AccountError", "Action", "DISPOSITIONS", "Dialogue", "EndCall", "HANDOFF_REASONS",
    "HandOff", "Outcome", "Say", "Script", "State", "StateChanged", "Understood",
    "default_prompts_dir", "is_backchannel", "lint_script", "load_account", "load_script",
    "say_amount", "say_date", "say_phone", "script_for", "static_segments",
]
