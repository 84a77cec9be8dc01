"""Script lint: the checks that stop startup before a bad script reaches a borrower.

Problems found (each a ScriptError with file, line and reason):
- a route, ``next`` or special state naming a state that does not exist; unknown intents,
  dispositions or hand-off reasons; a "say" state without ``next``;
- a state no path from ``start`` (or the no-input / no-match / voicemail entry points) reaches;
- a ``{slot}`` that neither the account, the engine nor the script's ``[slots]`` can fill;
- prohibited language (threats, insults, posing as police/court/lawyer) in any prompt, from
  ``prompts/<lang>/prohibited.toml`` (``[prohibited]`` category -> phrases);
- anything about the debt (a debt slot, ``mentions_debt``, or a word from
  ``[before_verification] debt_words``) in a state that can be spoken before the right party
  is verified (reachable from an entry point without entering a ``verified`` state).
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from voicebot.dialogue.actions import DISPOSITIONS, HANDOFF_REASONS
from voicebot.dialogue.script import SLOT_RE, Script, State, default_prompts_dir
from voicebot.errors import ScriptError
from voicebot.nlu import INTENTS

ACCOUNT_SLOTS: frozenset[str] = frozenset(
    {"name", "first_name", "lender", "amount", "due_date", "callback_number", "agent_name"}
)
ENGINE_SLOTS: frozenset[str] = frozenset({"promise_amount", "promise_date", "min_amount", "latest_date"})
# Route keys besides the NLU intents: events the engine raises itself.
ENGINE_EVENTS: frozenset[str] = frozenset({
    "critical", "callback_dated", "promise_ok", "promise_outside_policy", "promise_need_amount",
    "promise_need_date", "promise_confirmed", "promise_rejected", "captured", "*",
})
PREVIOUS = "@previous"


@lru_cache(maxsize=16)
def _lexicon(path: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """((category, phrase), ...) prohibited anywhere, and the debt words."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError(str(p), 0, "no prohibited-phrase list for this language") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(str(p), 1, f"not valid TOML: {exc}") from None
    prohibited = tuple(
        (category, phrase.lower())
        for category, phrases in raw.get("prohibited", {}).items()
        for phrase in phrases
    )
    debt = tuple(w.lower() for w in raw.get("before_verification", {}).get("debt_words", []))
    if not prohibited or not debt:
        raise ScriptError(str(p), 1, "needs [prohibited] phrases and [before_verification] debt_words")
    return prohibited, debt


def _contains(text: str, phrase: str, lang: str) -> bool:
    text = text.lower()
    if lang == "en":
        # Whole words plus inflections: "pay" catches "payment" but "court" not "courtesy".
        return re.search(rf"(?<![a-z]){re.escape(phrase)}(?:s|es|d|ed|ing|ment|ments)?(?![a-z])", text) is not None
    return phrase.replace(" ", "") in text.replace(" ", "")


def _targets(script: Script, state: State, verified: bool) -> list[str]:
    """Every state ``state`` can lead to (global routes included for asking states;
    ``[global.on_verified]`` only when ``verified`` may hold)."""
    out = list(state.on.values())
    if state.next:
        out.append(state.next)
    if state.kind == "ask":
        out += [t for k, t in script.global_on.items() if k not in state.on]
        if verified:
            out += [t for k, t in script.global_on_verified.items() if k not in state.on]
    return out


def _reach(script: Script, roots: list[str], stop_at_verified: bool) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in script.states]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        state = script.states[name]
        if stop_at_verified and state.verified:
            continue
        seen.add(name)
        todo += [t for t in _targets(script, state, not stop_at_verified) if t in script.states]
    return seen


def lint_script(script: Script, prompts_dir: str | Path | None = None) -> list[ScriptError]:
    """Every problem in ``script`` (empty list when it is fit to run)."""
    errors: list[ScriptError] = []
    path, line = script.path, script.line_of

    def err(keys: tuple[str, ...], reason: str) -> None:
        errors.append(ScriptError(path, line(*keys), reason))

    if script.lang not in ("en", "zh", "ko"):
        err(("lang",), f"lang must be en, zh or ko, got {script.lang!r}")
        return errors
    for key in ("start", "no_input_state", "no_match_state", "voicemail_state"):
        if getattr(script, key) not in script.states:
            err((key,), f"{key} names unknown state {getattr(script, key)!r}")
    route_keys = set(INTENTS) | ENGINE_EVENTS
    for table, routes in (("on", script.global_on), ("on_verified", script.global_on_verified)):
        for key, target in routes.items():
            if key not in route_keys:
                err(("global", table, key), f"global route on unknown intent or event {key!r}")
            if target not in script.states:
                err(("global", table, key), f"global route {key} -> unknown state {target!r}")
    for digit, intent in script.global_dtmf.items():
        if intent not in INTENTS:
            err(("global", "dtmf", digit), f"DTMF {digit} maps to unknown intent {intent!r}")

    slots_known = ACCOUNT_SLOTS | ENGINE_SLOTS | set(script.slots)
    base = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    prohibited, debt_words = _lexicon(str(base / script.lang / "prohibited.toml"))

    for name, state in script.states.items():
        keys = ("states", name)
        for key, target in state.on.items():
            if key not in route_keys:
                err(keys + ("on", key), f"state {name}: route on unknown intent or event {key!r}")
            if target not in script.states:
                err(keys + ("on", key), f"state {name}: route {key} -> unknown state {target!r}")
        for digit, intent in state.dtmf.items():
            if intent not in INTENTS:
                err(keys + ("dtmf", digit), f"state {name}: DTMF {digit} maps to unknown intent {intent!r}")
        if state.kind == "say":
            if not state.next:
                err(keys, f"state {name}: a say state needs next")
            elif state.next != PREVIOUS and state.next not in script.states:
                err(keys + ("next",), f"state {name}: next -> unknown state {state.next!r}")
        elif state.next:
            err(keys + ("next",), f"state {name}: only say states take next")
        if state.kind == "end" and state.disposition not in DISPOSITIONS:
            err(keys + ("disposition",), f"state {name}: disposition must be one of {', '.join(DISPOSITIONS)}")
        if state.kind == "handoff" and state.reason not in HANDOFF_REASONS:
            err(keys + ("reason",), f"state {name}: reason must be one of {', '.join(HANDOFF_REASONS)}")
        if state.kind == "handoff" and state.disposition and state.disposition not in DISPOSITIONS:
            err(keys + ("disposition",), f"state {name}: unknown disposition {state.disposition!r}")
        for field_name, template in state.texts():
            fkeys = keys + (field_name,)
            for slot in SLOT_RE.findall(template):
                if slot not in slots_known:
                    err(fkeys, f"state {name}: slot {{{slot}}} cannot be filled from account data")
            if "{" in SLOT_RE.sub("", template) or "}" in SLOT_RE.sub("", template):
                err(fkeys, f"state {name}: malformed slot in {field_name}")
            for category, phrase in prohibited:
                if _contains(template, phrase, script.lang):
                    err(fkeys, f"state {name}: prohibited language ({category}): {phrase!r}")

    roots = [script.start, script.no_input_state, script.no_match_state, script.voicemail_state]
    reachable = _reach(script, roots, stop_at_verified=False)
    for name in script.states:
        if name not in reachable:
            err(("states", name), f"state {name} is unreachable")
    for name in sorted(_reach(script, roots, stop_at_verified=True)):
        state = script.states[name]
        if state.mentions_debt:
            err(("states", name, "prompt"), f"state {name}: mentions the debt but can be spoken before verification")
            continue
        for field_name, template in state.texts():
            words = [w for w in debt_words if _contains(SLOT_RE.sub("", template), w, script.lang)]
            if words:
                err(("states", name, field_name), f"state {name}: says {words[0]!r} before verification")
    # Voicemail content is limited (name and callback number) whatever else the script does.
    vm = script.states.get(script.voicemail_state)
    if vm is not None:
        extra = set(SLOT_RE.findall(vm.prompt)) - {"name", "first_name", "callback_number", "agent_name"}
        if extra or vm.mentions_debt:
            err(("states", vm.name, "prompt"), f"voicemail may carry only name and callback number, not {sorted(extra)}")
        if vm.kind != "end":
            err(("states", vm.name, "kind"), "the voicemail state must be an end state")
    return errors
