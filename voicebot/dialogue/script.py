"""Call scripts: states, prompts and routes as TOML data (``prompts/<lang>/reminder.toml``).

A script has a ``version``, a ``lang``, a ``start`` state, the states that end a call on
no-input / repeated no-match / voicemail, ``[slots]`` constants (e.g. ``agent_name``),
``[global.on]`` routes every asking state falls back to (``[global.on_verified]`` first, once
the right party is verified), ``[global.dtmf]`` keys, and
``[states.<name>]`` tables:

    kind            "ask" (wait for the caller), "say" (speak, go to ``next``),
                    "end" (speak, end with ``disposition``), "handoff" (speak, transfer, ``reason``)
    prompt          text with {slots}; or a table by profile: { default = "...", us = "..." }
    reprompt        rephrasing(s) for no-match (string or list; same profile rule)
    no_input_prompt what to say after silence (default: the first reprompt, else the prompt)
    on              intent or engine event -> state ("*" catches any understood turn)
    next            for "say": the following state ("@previous": the asking state we came from)
    capture         "promise" | "promise_amount" | "confirm" | "callback" | "paid"
    verified        entering this state means the right party is confirmed
    interruptible, disclosure, mentions_debt, opt_out, grammar, dtmf, no_input_timeout_s,
    max_no_input, max_visits

Shipped scripts live in the repository's ``prompts/`` directory, found as
``<voicebot package>/../prompts`` (the editable/source install layout); pass ``prompts_dir``
when they live elsewhere. Loading lints the script (``voicebot.dialogue.lint``); any problem
raises ScriptError(file, line, reason).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from voicebot.errors import ScriptError

PROFILES: tuple[str, ...] = ("us", "cn")
KINDS: tuple[str, ...] = ("ask", "say", "end", "handoff")
CAPTURES: tuple[str, ...] = ("", "promise", "promise_amount", "confirm", "callback", "paid")
# Slots whose values reveal the debt: a prompt using one mentions the debt.
DEBT_SLOTS: frozenset[str] = frozenset(
    {"amount", "due_date", "promise_amount", "promise_date", "min_amount", "latest_date"}
)
_STATE_KEYS = frozenset({
    "kind", "prompt", "reprompt", "no_input_prompt", "on", "next", "capture", "verified",
    "interruptible", "disclosure", "mentions_debt", "opt_out", "disposition", "reason", "grammar",
    "dtmf", "no_input_timeout_s", "max_no_input", "max_visits",
})
_TOP_KEYS = frozenset({
    "version", "lang", "name", "start", "no_input_state", "no_match_state", "voicemail_state",
    "defaults", "slots", "global", "states",
})
SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def default_prompts_dir() -> Path:
    """``prompts/`` beside the ``voicebot`` package (repository checkout or editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "prompts"


@dataclass(frozen=True)
class State:
    name: str
    kind: str
    prompt: str
    reprompts: tuple[str, ...] = ()
    no_input_prompt: str = ""
    on: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    next: str = ""
    capture: str = ""
    verified: bool = False
    interruptible: bool = True
    disclosure: bool = False
    mentions_debt: bool = False
    opt_out: bool = False
    disposition: str = ""
    reason: str = ""
    grammar: tuple[str, ...] | None = None
    dtmf: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    no_input_timeout_s: float = 6.0
    max_no_input: int = 2
    max_visits: int = 3

    def texts(self) -> tuple[tuple[str, str], ...]:
        """(field name, template) for every line this state can speak."""
        out = [("prompt", self.prompt)]
        out += [("reprompt", r) for r in self.reprompts]
        if self.no_input_prompt:
            out.append(("no_input_prompt", self.no_input_prompt))
        return tuple(out)


@dataclass(frozen=True)
class Script:
    path: str
    lang: str
    version: str
    profile: str
    start: str
    no_input_state: str
    no_match_state: str
    voicemail_state: str
    states: Mapping[str, State]
    global_on: Mapping[str, str]
    global_on_verified: Mapping[str, str]
    global_dtmf: Mapping[str, str]
    slots: Mapping[str, str]
    text: str = field(repr=False, default="")  # the TOML source, for line numbers

    def line_of(self, *keys: str) -> int:
        return key_line(self.text, keys)


def key_line(text: str, keys: tuple[str, ...] | list[str]) -> int:
    """Best-effort 1-based line where the dotted key path ``keys`` is defined in TOML
    ``text`` (header tables, dotted keys and inline tables); the line of the longest
    defined prefix when the key itself is not found; 1 when nothing matches."""
    target = list(keys)
    header: list[str] = []
    best_line, best_len = 1, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if m:
            header = _split_key(m.group(1))
            path = header
        else:
            m = re.match(r'^((?:"[^"]*"|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|[A-Za-z0-9_\-]+))*)\s*=', line)
            if not m:
                continue
            path = header + _split_key(m.group(1))
            rest = line[m.end():]
            # Inline table on this line: look for the remaining key inside it.
            if path == target[: len(path)] and len(path) < len(target) and rest.lstrip().startswith("{"):
                remaining = target[len(path)]
                if re.search(rf'(^|[{{,\s]){re.escape(remaining)}\s*=|"{re.escape(remaining)}"\s*=', rest):
                    return number
        if path == target:
            return number
        if path == target[: len(path)] and len(path) > best_len:
            best_line, best_len = number, len(path)
    return best_line


def _split_key(key: str) -> list[str]:
    return [p.strip().strip('"') for p in re.findall(r'"[^"]*"|[^.]+', key)]


def _by_profile(value: Any, profile: str, path: str, text: str, keys: list[str]) -> Any:
    """A value that may be a table keyed by profile (``default`` required)."""
    if isinstance(value, dict):
        unknown = set(value) - set(PROFILES) - {"default"}
        if unknown:
            raise ScriptError(path, key_line(text, keys), f"unknown profile {sorted(unknown)[0]!r} (expected default, us, cn)")
        if profile in value:
            return value[profile]
        if "default" not in value:
            raise ScriptError(path, key_line(text, keys), f"no text for profile {profile!r} and no default")
        return value["default"]
    return value


def _expect(value: Any, kind: type | tuple[type, ...], path: str, text: str, keys: list[str], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScriptError(path, key_line(text, keys), f"{'.'.join(keys)}: expected {what}")
    return value


def _str_map(value: Any, path: str, text: str, keys: list[str]) -> Mapping[str, str]:
    _expect(value, dict, path, text, keys, "a table of strings")
    for k, v in value.items():
        _expect(v, str, path, text, keys + [k], "a string")
    return MappingProxyType(dict(value))


def _parse_state(name: str, raw: Any, defaults: Mapping[str, Any], profile: str, path: str, text: str) -> State:
    keys = ["states", name]
    _expect(raw, dict, path, text, keys, "a table")
    for k in raw:
        if k not in _STATE_KEYS:
            raise ScriptError(path, key_line(text, keys + [k]), f"state {name}: unknown key {k!r}")
    kind = raw.get("kind", "ask")
    if kind not in KINDS:
        raise ScriptError(path, key_line(text, keys + ["kind"]), f"state {name}: kind must be one of {', '.join(KINDS)}")
    if "prompt" not in raw:
        raise ScriptError(path, key_line(text, keys), f"state {name}: no prompt")
    prompt = _expect(_by_profile(raw["prompt"], profile, path, text, keys + ["prompt"]), str, path, text, keys + ["prompt"], "a string")
    reprompt = _by_profile(raw.get("reprompt", []), profile, path, text, keys + ["reprompt"])
    reprompts = (reprompt,) if isinstance(reprompt, str) else tuple(reprompt)
    for r in reprompts:
        _expect(r, str, path, text, keys + ["reprompt"], "a string or list of strings")
    no_input = _expect(_by_profile(raw.get("no_input_prompt", ""), profile, path, text, keys + ["no_input_prompt"]), str, path, text, keys + ["no_input_prompt"], "a string")
    capture = raw.get("capture", "")
    if capture not in CAPTURES:
        raise ScriptError(path, key_line(text, keys + ["capture"]), f"state {name}: capture must be one of {', '.join(c for c in CAPTURES if c)}")
    grammar = raw.get("grammar")
    if grammar is not None:
        _expect(grammar, list, path, text, keys + ["grammar"], "a list of strings")
        for g in grammar:
            _expect(g, str, path, text, keys + ["grammar"], "a list of strings")
        grammar = tuple(grammar)
    flags = {}
    for flag in ("verified", "interruptible", "disclosure", "mentions_debt", "opt_out"):
        if flag in raw:
            flags[flag] = _expect(raw[flag], bool, path, text, keys + [flag], "true or false")
    used_slots = {s for _, t in [("p", prompt), *(("r", r) for r in reprompts), ("n", no_input)] for s in SLOT_RE.findall(t)}
    mentions_debt = flags.pop("mentions_debt", False) or bool(used_slots & DEBT_SLOTS)
    timeout_s = _expect(raw.get("no_input_timeout_s", defaults.get("no_input_timeout_s", 6.0)), (int, float), path, text, keys + ["no_input_timeout_s"], "a number of seconds")
    numbers = {}
    for k in ("max_no_input", "max_visits"):
        numbers[k] = _expect(raw.get(k, defaults.get(k, {"max_no_input": 2, "max_visits": 3}[k])), int, path, text, keys + [k], "an integer")
        if numbers[k] < 1:
            raise ScriptError(path, key_line(text, keys + [k]), f"state {name}: {k} must be >= 1")
    return State(
        name=name,
        kind=kind,
        prompt=prompt,
        reprompts=reprompts,
        no_input_prompt=no_input,
        on=_str_map(raw.get("on", {}), path, text, keys + ["on"]),
        next=_expect(raw.get("next", ""), str, path, text, keys + ["next"], "a state name"),
        capture=capture,
        mentions_debt=mentions_debt,
        disposition=_expect(raw.get("disposition", ""), str, path, text, keys + ["disposition"], "a string"),
        reason=_expect(raw.get("reason", ""), str, path, text, keys + ["reason"], "a string"),
        grammar=grammar,
        dtmf=_str_map(raw.get("dtmf", {}), path, text, keys + ["dtmf"]),
        no_input_timeout_s=float(timeout_s),
        max_no_input=numbers["max_no_input"],
        max_visits=numbers["max_visits"],
        **flags,
    )


def parse_script(text: str, path: str, profile: str = "us") -> Script:
    """Build a Script from TOML ``text`` without linting. Raises ScriptError on bad form."""
    if profile not in PROFILES:
        raise ScriptError(path, 1, f"unknown profile {profile!r} (expected {', '.join(PROFILES)})")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ScriptError(path, int(m.group(1)) if m else 1, f"not valid TOML: {exc}") from None
    for k in raw.get("global", {}) if isinstance(raw.get("global"), dict) else ():
        if k not in ("on", "on_verified", "dtmf"):
            raise ScriptError(path, key_line(text, ["global", k]), f"unknown key global.{k}")
    for k in raw:
        if k not in _TOP_KEYS:
            raise ScriptError(path, key_line(text, [k]), f"unknown top-level key {k!r}")
    for k in ("version", "lang", "start", "no_input_state", "no_match_state", "voicemail_state"):
        if k not in raw:
            raise ScriptError(path, 1, f"missing top-level key {k!r}")
        _expect(raw[k], str, path, text, [k], "a string")
    defaults = _expect(raw.get("defaults", {}), dict, path, text, ["defaults"], "a table")
    glob = _expect(raw.get("global", {}), dict, path, text, ["global"], "a table")
    states_raw = _expect(raw.get("states", {}), dict, path, text, ["states"], "a table of states")
    if not states_raw:
        raise ScriptError(path, 1, "no states")
    states = {name: _parse_state(name, body, defaults, profile, path, text) for name, body in states_raw.items()}
    return Script(
        path=path,
        lang=raw["lang"],
        version=raw["version"],
        profile=profile,
        start=raw["start"],
        no_input_state=raw["no_input_state"],
        no_match_state=raw["no_match_state"],
        voicemail_state=raw["voicemail_state"],
        states=MappingProxyType(states),
        global_on=_str_map(glob.get("on", {}), path, text, ["global", "on"]),
        global_on_verified=_str_map(glob.get("on_verified", {}), path, text, ["global", "on_verified"]),
        global_dtmf=_str_map(glob.get("dtmf", {}), path, text, ["global", "dtmf"]),
        slots=_str_map(raw.get("slots", {}), path, text, ["slots"]),
        text=text,
    )


def load_script(path: str | Path, profile: str = "us", prompts_dir: str | Path | None = None) -> Script:
    """Read, parse and lint a script file. The prohibited-phrase lists come from
    ``<prompts_dir>/<script lang>/prohibited.toml`` (default: the shipped prompts dir).
    Raises ScriptError(file, line, reason) for the first problem found."""
    from voicebot.dialogue.lint import lint_script

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise ScriptError(str(p), 0, "no such script file") from None
    script = parse_script(text, str(p), profile)
    problems = lint_script(script, prompts_dir)
    if problems:
        raise problems[0]
    return script


def script_for(lang: str, prompts_dir: str | Path | None = None, profile: str = "us") -> Script:
    """The shipped first-stage script ``<prompts_dir>/<lang>/reminder.toml``, loaded and linted."""
    base = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    return load_script(base / lang / "reminder.toml", profile, base)
