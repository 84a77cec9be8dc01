"""Recall-leaning safety layer: self-harm hints (critical) and distress, any language.

Rule lexicons written line by line miss new wordings of the same idea (活不长了, 药都攒好了,
"not gonna be around"). This layer scores *categories* of cue instead, composed from data in
``voicebot/nlu/data/<lang>/safety.toml``:

1. idioms are blanked first (烦死了, 死都不还, "this debt is killing me"), so death words used
   figuratively never reach the cue scorer.
2. every ``[[critical.cue]]`` category (wish to die, ending, short life, no point living,
   being a burden, disappearing, medicine stockpiling, height, water, endless sleep, farewell,
   will, method, joining the dead, ...) has a ``weight``; a match scores its weight, plus
   ``self_bonus`` when a first-person subject sits within ``window_chars`` before or after it,
   plus ``context_bonus`` when a hopelessness ``context`` pattern occurs anywhere in the line.
   A cue may carry ``requires`` (a pattern that must occur in the line, e.g. a bereavement for
   "go and find him") and ``unless`` (a pattern that vetoes it nearby, e.g. fishing by a river).
3. a cue whose nearest preceding subject is a third person (他, 我朋友, "my neighbour") and
   not the speaker is skipped (a person named as an object -- ``subjects.third_object``: 给孩子,
   对不起我妈, "tell my kids" -- is not a subject): it reports someone else, it is not a hint about the caller --
   unless the cue's own words name the speaker (你们再也找不到我: 你们 is addressed, not the subject).
4. the line is critical when the best cue reaches ``threshold``; it is distress when critical
   or when a ``[distress]`` pattern matches the idiom-blanked line.
5. recall-first fallback (``[fallback]``): scored cues still miss new wordings, so a line no
   cue made critical is critical anyway when a broad ``hints`` pattern (death, ending, leaving
   the world, pills, jumping, rope, burden, goodbyes, no way out, ...) matches the idiom-blanked
   line and neither an ``explain`` pattern within ``window_chars`` of it (an everyday use: 累死,
   "dying to", "deadline", 负担不起) nor a third-person subject before it (他死了, "my dad died")
   accounts for it. Reported as the cue ``fallback``.

Thresholds lean to recall on purpose: a critical or distress line routes the caller to a
person, so a false alarm costs a transfer while a miss can cost far more.

Pure: text in, verdict out. Input is the language module's normalised text (Mandarin without
spaces; English lower-case words). Data files are read once per process.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from voicebot.nlu.lexicon import alternation, fast_compile, load_data, word_start_alternation


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    """``critical`` implies ``distress``. ``score`` is the best cue's score (0 when none);
    ``cues`` names the categories that scored, best first, for logs and hand-off context;
    ``figurative`` is true when the line holds an [idioms] phrase (烦死了, "killing me")."""

    critical: bool
    distress: bool
    score: float
    cues: tuple[str, ...]
    figurative: bool = False


@dataclass(frozen=True, slots=True)
class _Cue:
    name: str
    weight: float
    pattern: re.Pattern[str]
    requires: re.Pattern[str] | None
    unless: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class _Rules:
    idioms: re.Pattern[str] | None
    self_subject: re.Pattern[str]
    third_subject: re.Pattern[str] | None
    third_object: re.Pattern[str] | None
    context: re.Pattern[str] | None
    cues: tuple[_Cue, ...]
    any_cue: re.Pattern[str] | None
    distress: re.Pattern[str] | None
    threshold: float
    self_bonus: float
    context_bonus: float
    window_chars: int
    fallback_hints: re.Pattern[str] | None
    fallback_explain: re.Pattern[str] | None
    fallback_window: int
    fallback_third: re.Pattern[str] | None


def _any(patterns: list[str] | str | None) -> re.Pattern[str] | None:
    """One regex for a pattern or list of patterns; ``None`` when there are none.

    When every pattern starts at a word boundary (English data), the union is tried only at
    the start of the text and after a space (normalised text has single spaces), which skips
    most positions without entering the alternation: several times faster."""
    if not patterns:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]
    if all(p.lstrip("(?:").startswith("\\b") for p in patterns):
        return fast_compile(f"(?<![^ ])(?:{word_start_alternation(patterns)})")
    return fast_compile(alternation(patterns))


@lru_cache(maxsize=None)
def _rules(lang: str) -> _Rules:
    data = load_data(lang, "safety")
    crit = data["critical"]
    cues = tuple(
        _Cue(name=c["name"], weight=float(c["weight"]), pattern=re.compile(_required(c)),
             requires=_any(c.get("requires")), unless=_any(c.get("unless")))
        for c in crit["cue"]
    )
    fallback = data.get("fallback", {})
    self_subject = _any(data["subjects"]["self"])
    if self_subject is None:
        raise ValueError(f"{lang}/safety.toml: subjects.self must not be empty")
    return _Rules(
        idioms=_any(data["idioms"]["patterns"]),
        self_subject=self_subject,
        third_subject=_any(data["subjects"].get("third")),
        third_object=_any(data["subjects"].get("third_object")),
        context=_any(crit.get("context")),
        cues=cues,
        # One scan of the union finds the common, harmless line (no cue at all) without a scan
        # per cue: the loop in assess() runs only when something matched.
        any_cue=_any_cue(crit["cue"], cues),
        distress=_any(data["distress"]["patterns"]),
        threshold=float(crit["threshold"]),
        self_bonus=float(crit["self_bonus"]),
        context_bonus=float(crit["context_bonus"]),
        window_chars=int(crit["window_chars"]),
        fallback_hints=_any(fallback.get("hints")),
        fallback_explain=_any(fallback.get("explain")),
        fallback_window=int(fallback.get("window_chars", 0)),
        fallback_third=_any(fallback.get("third", data["subjects"].get("third"))),
    )


def _any_cue(data: list[dict[str, object]], cues: tuple[_Cue, ...]) -> re.Pattern[str] | None:
    """A regex that matches somewhere in a line exactly when some cue's pattern does (only
    ``search`` is asked of it). When every cue is word-start anchored, or none is, that is the
    union of all their patterns under one anchoring -- one trie, not a cue per branch."""
    lists = [[c["patterns"]] if isinstance(c["patterns"], str) else list(c["patterns"]) for c in data]  # type: ignore[arg-type]
    anchored = [all(p.lstrip("(?:").startswith("\\b") for p in ps) for ps in lists]
    if all(anchored) or not any(anchored):
        return _any([p for ps in lists for p in ps])
    return _any([c.pattern.pattern for c in cues])


def _required(cue: dict[str, object]) -> str:
    pattern = _any(cue["patterns"])  # type: ignore[arg-type]
    if pattern is None:
        raise ValueError(f"safety cue {cue.get('name')!r} has no patterns")
    return pattern.pattern


def _last_end(pattern: re.Pattern[str] | None, text: str) -> int:
    """End offset of the last match of ``pattern`` in ``text``; -1 when none."""
    if pattern is None:
        return -1
    end = -1
    for match in pattern.finditer(text):
        end = match.end()
    return end


def _about_someone_else(rules: _Rules, before: str, third_subject: re.Pattern[str] | None = None) -> bool:
    """True when the nearest subject before a cue is a third person (``third_subject``, default
    the [subjects] one), not the speaker."""
    third = _last_end(third_subject or rules.third_subject, before)
    return third >= 0 and third > _last_end(rules.self_subject, before)


def _mask_objects(rules: _Rules, text: str) -> str:
    """``text`` with people named as objects masked out, same length (offsets line up), so the
    subject checks only see people who act."""
    return rules.third_object.sub(lambda m: "#" * len(m.group()), text) if rules.third_object is not None else text


def _reports_someone_else(rules: _Rules, subjects: str, match: re.Match[str]) -> bool:
    """A broad hint at ``match`` whose nearest subject within ``window_chars`` before it is a
    third person (the [fallback] ones) and whose own words do not name the speaker."""
    before = subjects[max(0, match.start() - rules.window_chars):match.start()]
    return _about_someone_else(rules, before, rules.fallback_third) and not rules.self_subject.search(match.group())


def about_the_speaker(text: str, lang: str, hints: Iterator[re.Match[str]]) -> bool:
    """Whether any of ``hints`` (matches in ``text``, a normalised line with idioms blanked, found
    by another layer: Mandarin caller.toml [critical]) is about the speaker, by the subject test
    the fallback uses (step 5): 我表哥想不开自杀了 reports a death, it is no hint."""
    rules = _rules(lang)
    subjects: str | None = None
    for match in hints:
        if subjects is None:
            subjects = _mask_objects(rules, text)
        if not _reports_someone_else(rules, subjects, match):
            return True
    return False


def blank_idioms(norm: str, lang: str) -> str:
    """``norm`` with every idiom of ``lang`` replaced by '#' (so cues cannot span it)."""
    rules = _rules(lang)
    return rules.idioms.sub("#", norm) if rules.idioms is not None else norm


def _fallback(rules: _Rules, text: str, subjects: str) -> bool:
    """True when a broad hint in ``text`` (idioms blanked) is explained by nothing nearby and
    is not about someone else (step 5 of the module contract)."""
    hints = rules.fallback_hints
    if hints is None:
        return False
    reach = rules.fallback_window
    explain = rules.fallback_explain
    for match in hints.finditer(text):
        start, end = match.start(), match.end()
        if explain is not None and explain.search(text, max(0, start - reach), min(len(text), end + reach)):
            continue
        if _reports_someone_else(rules, subjects, match):
            continue
        return True
    return False


@lru_cache(maxsize=2048)
def assess(norm: str, lang: str) -> SafetyVerdict:
    """Score one normalised caller line of ``lang`` for self-harm hints and distress.

    Pure, so the last 2048 verdicts are remembered (callers repeat "yes", "hello").
    Raises FileNotFoundError when ``lang`` has no ``safety.toml`` (a packaging bug)."""
    rules = _rules(lang)
    text = blank_idioms(norm, lang)
    subjects = _mask_objects(rules, text)
    scores: dict[str, float] = {}
    if rules.any_cue is not None and rules.any_cue.search(text) is not None:
        _score_cues(rules, text, subjects, scores)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best = ranked[0][1] if ranked else 0.0
    critical = best >= rules.threshold
    names = tuple(name for name, _ in ranked)
    if not critical and _fallback(rules, text, subjects):
        critical, names = True, ("fallback", *names)
    distress = critical or (rules.distress is not None and rules.distress.search(text) is not None)
    return SafetyVerdict(critical=critical, distress=distress, score=best, cues=names,
                         figurative=text != norm)


def _score_cues(rules: _Rules, text: str, subjects: str, scores: dict[str, float]) -> None:
    """Best score per cue category into ``scores`` (steps 2-3 of the module contract)."""
    context = rules.context is not None and rules.context.search(text) is not None
    reach = rules.window_chars
    for cue in rules.cues:
        if cue.requires is not None and not cue.requires.search(text):
            continue
        for match in cue.pattern.finditer(text):
            start, end = match.start(), match.end()
            before = subjects[max(0, start - reach):start]
            if cue.unless is not None and cue.unless.search(text, max(0, start - reach), min(len(text), end + reach)):
                continue
            if _about_someone_else(rules, before) and not rules.self_subject.search(match.group()):
                continue  # "他不想活了" reports him; "你们再也找不到我" is still the speaker
            score = cue.weight
            if (rules.self_subject.search(before) or rules.self_subject.search(match.group())
                    or rules.self_subject.search(text, end, end + reach)):
                score += rules.self_bonus
            if context:
                score += rules.context_bonus
            scores[cue.name] = max(scores.get(cue.name, 0.0), score)
