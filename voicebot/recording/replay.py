"""Replay a recorded call through ASR -> NLU -> dialogue again and compare with the live run.

Contract of ``replay_session(record, script, engine=...)``:

* **Inputs.** The caller's side of the call is rebuilt from the recording: key presses
  (``dtmf`` events), silences the live session acted on (``no_input``: a ``say`` whose
  prompt id ends in ``.no_input``, or a batch of state changes that no caller turn, key or
  call start caused), typed turns (caller ``final`` events without words), and speech.
  With an ``engine`` the speech comes from ``caller.wav``, cut exactly as the live
  ``voicebot.session.ChannelListener`` cuts it (VAD over 20 ms frames, 300 ms pre-roll,
  ``chunk_ms`` pieces, an utterance ends at VAD speech end) and decoded on one recogniser
  stream whose grammar is the dialogue's at each utterance's speech start. Utterances are
  transcript segments (``segment_silence_ms``); as live, segments less than the rest of the
  endpoint silence apart form one turn, unless the state has a grammar or the words already
  answer whole. Without an engine (``--text``) the recorded caller finals are the turns
  (consecutive spoken finals with nothing answering them in between form one).
* **Clock.** Utterances are placed on the session clock by the offset between the recorded
  ``speech_start``/``speech_end`` events' ``offset_ms`` and their ``audio_ms``, so they
  interleave with key presses and silences as they did live. An utterance still open when
  the audio ends gave no final live (the call was over) and is dropped here too.
* **Dialogue.** A fresh ``Dialogue(script, account, call date)`` gets the inputs in time
  order; a turn after the dialogue finished is transcribed but not understood (as live).
  The outcome is the dialogue's, or ``on_hangup()``'s when it had not finished.
* **Comparison.** Differences in the state path or the outcome (disposition, promise,
  hand-off reason, opt-out, callback date, verified) are regressions; differences in
  transcripts, intents and bot lines are reported only. The compliance gate's pseudo state
  ``compliance_check`` is not part of the path (replay does not re-run the gate).

What the recording does not hold is assumed and said in ``ReplayReport.notes``: the account
(the demo account of ``voicebot.server.runtime.demo_account`` unless meta has ``account``),
the call date (meta ``call_date``, else the local date of ``started_at_unix``), the dialogue
policy (meta ``policy``, else ``ReplaySettings``) and the ASR segmentation settings (meta
``asr``, else ``ReplaySettings``). Blocking: Vosk runs in the calling thread.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from voicebot.dialogue import Account, AccountError, Dialogue, Say, Script, StateChanged, Understood
from voicebot.events import EventType, SessionEvent
from voicebot.recording.format import SessionRecord

PREROLL_MS = 300  # voicebot.session.PREROLL_MS
FRAME_MS = 20  # the listener's VAD frame, and the inbound chunk of Twilio-like peers
GATE_STATE = "compliance_check"  # the session's pseudo state for the call-start compliance gate
OUTCOME_KEYS = ("disposition", "promise.amount", "promise.date", "promise.confirmed", "promise.currency",
                "handoff_reason", "opt_out", "callback_at", "verified")
Mode = Literal["audio", "text"]
InputKind = Literal["utterance", "text", "dtmf", "no_input"]


@dataclass(frozen=True)
class ReplaySettings:
    """What shapes a replay besides script and recording; defaults are the config defaults.
    Meta ``policy`` / ``asr`` objects (same key names) override these per session."""

    min_promise_fraction: float = 0.5
    latest_promise_days: int = 14
    max_no_match: int = 2
    endpoint_silence_ms: int = 500  # silence that ends a caller turn
    # Silence that ends a transcript segment; 0 = the endpoint (recordings made before
    # segments existed have no such key and were cut at the endpoint).
    segment_silence_ms: int = 0
    vad_threshold_db: float = -42.0
    chunk_ms: int = 160  # audio handed to the recogniser in pieces of at least this length

    @property
    def segment_ms(self) -> int:
        from voicebot.config import segment_ms

        return segment_ms(self.segment_silence_ms, self.endpoint_silence_ms)

    def with_meta(self, meta: Mapping[str, Any]) -> "ReplaySettings":
        known = set(asdict(self))
        over = {k: v for section in ("policy", "asr") if isinstance(meta.get(section), Mapping)
                for k, v in meta[section].items() if k in known}
        return replace(self, **over)


@dataclass(frozen=True)
class Utterance:
    """One VAD segment of the caller channel. ``feeds`` are the exact pieces the live
    listener handed the recogniser (pre-roll first, possibly empty); samples count from
    the start of caller.wav; ``*_reported_sample`` is where the VAD announced the boundary."""

    start_sample: int
    end_sample: int
    start_reported_sample: int
    end_reported_sample: int
    feeds: tuple[bytes, ...]


@dataclass(frozen=True)
class CallerInput:
    """One thing the caller did, at ``offset_ms`` on the session clock. ``text`` is the turn
    (kind text) or the key (kind dtmf); utterances carry audio and their speech-start time."""

    kind: InputKind
    offset_ms: int
    text: str = ""
    utterance: Utterance | None = None
    start_ms: int = 0
    parts: tuple[str, ...] = ()  # a text turn's recorded finals, when it had several


@dataclass(frozen=True)
class Run:
    """What one run of a call did, in the terms replay compares."""

    transcripts: tuple[str, ...]
    intents: tuple[tuple[str, ...], ...]
    states: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]  # (prompt_id, text) of each bot line
    outcome: Mapping[str, Any]

    def to_json_obj(self) -> dict[str, Any]:
        return {"transcripts": list(self.transcripts), "intents": [list(i) for i in self.intents],
                "states": list(self.states), "lines": [list(x) for x in self.lines], "outcome": dict(self.outcome)}


@dataclass(frozen=True)
class Difference:
    """One way the replay differs. ``aspect``: transcript, intents, lines, states, outcome."""

    aspect: str
    regression: bool
    detail: str

    def to_json_obj(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "regression": self.regression, "detail": self.detail}


@dataclass(frozen=True)
class ReplayReport:
    """The replay of one session. ``skipped`` says why a session could not be replayed
    (then ``replayed`` is None); ``notes`` say what replay had to assume."""

    session: str
    call_id: str
    mode: Mode
    recorded: Run
    replayed: Run | None
    differences: tuple[Difference, ...] = ()
    notes: tuple[str, ...] = ()
    skipped: str = ""

    @property
    def regression(self) -> bool:
        return any(d.regression for d in self.differences)

    @property
    def identical(self) -> bool:
        return not self.skipped and not self.differences

    def to_json_obj(self) -> dict[str, Any]:
        return {"session": self.session, "call_id": self.call_id, "mode": self.mode,
                "identical": self.identical, "regression": self.regression, "skipped": self.skipped or None,
                "differences": [d.to_json_obj() for d in self.differences], "notes": list(self.notes),
                "recorded": self.recorded.to_json_obj(),
                "replayed": self.replayed.to_json_obj() if self.replayed is not None else None}


# -- the recorded side ----------------------------------------------------------------------

def _caller(e: SessionEvent) -> bool:
    return str(e.data.get("channel") or "caller") == "caller"


def _is_gate(e: SessionEvent) -> bool:
    return e.data.get("to") == GATE_STATE or "allowed" in e.data


def recorded_run(record: SessionRecord) -> Run:
    """The live run as recorded in events.jsonl (the last ``outcome`` event wins, else meta)."""
    ev = record.events
    outcomes = [e.data for e in ev if e.type == EventType.OUTCOME]
    return Run(
        transcripts=tuple(str(e.data.get("text", "")) for e in ev if e.type == EventType.FINAL and _caller(e)),
        intents=tuple(tuple(e.data.get("intents") or ()) for e in ev if e.type == EventType.UNDERSTOOD and _caller(e)),
        states=tuple(str(e.data.get("to")) for e in ev if e.type == EventType.STATE_CHANGE and not _is_gate(e)),
        lines=tuple((str(e.data.get("prompt_id")), str(e.data.get("text", ""))) for e in ev if e.type == EventType.SAY),
        outcome=dict(outcomes[-1] if outcomes else record.meta.get("outcome") or {}),
    )


def recorded_inputs(record: SessionRecord, with_speech: bool) -> list[CallerInput]:
    """Key presses, acted-on silences and (``with_speech``: every, else only typed) caller
    finals, in the order the live session handled them. See the module doc for no-input."""
    inputs: list[CallerInput] = []
    started = False
    caused = False  # the previous event was something a state-change batch answers
    open_turn = False  # the last input is a spoken final nothing has answered yet
    for e in record.events:
        t = e.type
        if t == EventType.STATE_CHANGE and _is_gate(e):
            continue
        if t == EventType.FINAL and _caller(e):
            spoken = bool(e.data.get("words"))
            if with_speech or not spoken:
                text = str(e.data.get("text", ""))
                if spoken and open_turn:  # a later segment of the same turn
                    last = inputs.pop()
                    parts = (last.parts or (last.text,)) + (text,)
                    inputs.append(CallerInput("text", e.offset_ms, " ".join(parts), parts=parts))
                else:
                    inputs.append(CallerInput("text", e.offset_ms, text))
                open_turn = spoken
        elif t == EventType.DTMF:
            inputs.append(CallerInput("dtmf", e.offset_ms, str(e.data.get("digit", ""))))
        elif t == EventType.STATE_CHANGE:
            if started and not caused:
                inputs.append(CallerInput("no_input", e.offset_ms))
            started = True
        elif t == EventType.SAY and str(e.data.get("prompt_id", "")).endswith(".no_input"):
            inputs.append(CallerInput("no_input", e.offset_ms))
        caused = t in (EventType.UNDERSTOOD, EventType.DTMF, EventType.STATE_CHANGE, EventType.HANDOFF) \
            and (t != EventType.UNDERSTOOD or _caller(e))
        if t not in (EventType.FINAL, EventType.PARTIAL, EventType.SPEECH_START, EventType.SPEECH_END) \
                or (t == EventType.FINAL and not _caller(e)):
            open_turn = False
    return inputs


def started_in_voicemail(record: SessionRecord, script: Script) -> bool:
    """The live dialogue opened with ``on_voicemail`` (meta ``voicemail``, else its first state)."""
    if "voicemail" in record.meta:
        return bool(record.meta["voicemail"])
    first = next((e for e in record.events if e.type == EventType.STATE_CHANGE and not _is_gate(e)), None)
    return first is not None and first.data.get("to") == script.voicemail_state


# -- the caller audio -----------------------------------------------------------------------

def segment_caller_audio(pcm: np.ndarray, rate_hz: int, settings: ReplaySettings) -> list[Utterance]:
    """Cut caller audio into the utterances the live listener would have decoded (fed in
    20 ms chunks, as Twilio delivers it). Utterances still open at the end are dropped."""
    from voicebot.audio.vad import Vad

    vad = Vad(rate_hz, frame_ms=FRAME_MS, threshold_db=settings.vad_threshold_db,
              hangover_ms=settings.segment_ms)
    step = rate_hz * FRAME_MS // 1000
    chunk_samples = rate_hz * settings.chunk_ms // 1000
    max_pre = rate_hz * PREROLL_MS // 1000
    preroll: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    feeds: list[bytes] = []
    out: list[Utterance] = []
    start = start_rep = 0
    in_speech = False
    samples = np.asarray(pcm, dtype=np.int16)
    for pos in range(0, len(samples), step):
        arr = samples[pos:pos + step]
        seen = pos + len(arr)
        events = vad.process(arr)
        # The order below mirrors ChannelListener.push: starts, then buffer, then ends.
        for e in events:
            if e.kind == "speech_start":
                in_speech, start, start_rep = True, e.sample, seen
                feeds = [np.concatenate(preroll).tobytes() if preroll else b""]
                preroll = []
        if in_speech:
            pending.append(arr)
            if sum(len(a) for a in pending) >= chunk_samples:
                feeds.append(np.concatenate(pending).tobytes())
                pending = []
        else:
            preroll.append(arr)
            while preroll and sum(len(a) for a in preroll) - len(preroll[0]) >= max_pre:
                preroll.pop(0)
        for e in events:
            if e.kind == "speech_end":
                if pending:
                    feeds.append(np.concatenate(pending).tobytes())
                    pending = []
                in_speech = False
                out.append(Utterance(start, e.sample, start_rep, seen, tuple(feeds)))
    return out


def _clock_shift_ms(record: SessionRecord, kind: EventType) -> int | None:
    """Median session-clock minus audio-clock time of the recorded caller VAD events."""
    shifts = [e.offset_ms - int(e.data["audio_ms"]) for e in record.events  # type: ignore[call-overload]
              if e.type == kind and _caller(e) and isinstance(e.data.get("audio_ms"), int)]
    return int(statistics.median(shifts)) if shifts else None


def speech_inputs(record: SessionRecord, settings: ReplaySettings) -> list[CallerInput]:
    """The caller's utterances from caller.wav, placed on the session clock."""
    from voicebot.audio.wav import read_wav

    path = record.audio.get("caller")
    if path is None:
        return []
    wav = read_wav(path)
    pcm = wav.pcm if wav.pcm.ndim == 1 else wav.pcm[:, 0]
    rate = wav.rate_hz
    start_shift = _clock_shift_ms(record, EventType.SPEECH_START)
    end_shift = _clock_shift_ms(record, EventType.SPEECH_END)
    out = []
    for u in segment_caller_audio(pcm, rate, settings):
        start_ms = u.start_sample * 1000 // rate + start_shift if start_shift is not None \
            else u.start_reported_sample * 1000 // rate
        end_ms = u.end_sample * 1000 // rate + end_shift if end_shift is not None \
            else u.end_reported_sample * 1000 // rate
        out.append(CallerInput("utterance", max(end_ms, start_ms + 1), utterance=u, start_ms=start_ms))
    return out


# -- the replay -----------------------------------------------------------------------------

def call_date(meta: Mapping[str, Any]) -> tuple[date, str]:
    """The date the live dialogue used, and a note when it had to be guessed."""
    if meta.get("call_date"):
        return date.fromisoformat(str(meta["call_date"])), ""
    if isinstance(meta.get("started_at_unix"), (int, float)):
        day = datetime.fromtimestamp(float(meta["started_at_unix"])).date()
        return day, f"call date {day} taken from started_at_unix (local time; meta has no call_date)"
    if meta.get("started_at"):
        day = datetime.fromisoformat(str(meta["started_at"])).date()
        return day, f"call date {day} taken from started_at (UTC; meta has no call_date)"
    return date.today(), "call date unknown: using today"


def replay_account(meta: Mapping[str, Any], lang: str) -> tuple[Account, str]:
    """The account for the replay: meta ``account`` over the server's demo account for
    ``lang`` (as ``Runtime.account_for`` fills a call without a name), and a note."""
    from voicebot.server.runtime import demo_account

    data = dict(meta["account"]) if isinstance(meta.get("account"), Mapping) else {}
    note = "" if data else "account: the demo account (meta.json records no account fields)"
    if "name" not in data:
        data = {**demo_account(lang), **data}
    data.setdefault("account_id", str(meta.get("account_id") or "replay"))  # masked in meta; only a label here
    data.setdefault("lang", lang)
    return Account.from_mapping(data), note


class _Runner:
    """Feeds inputs to a Dialogue and notes what it does."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.d = dialogue
        self.transcripts: list[str] = []
        self.intents: list[tuple[str, ...]] = []
        self.states: list[str] = []
        self.lines: list[tuple[str, str]] = []

    def apply(self, actions: Sequence[Any]) -> None:
        for a in actions:
            if isinstance(a, StateChanged):
                self.states.append(a.new)
            elif isinstance(a, Understood):
                self.intents.append(tuple(a.understanding.intents))
            elif isinstance(a, Say):
                self.lines.append((a.prompt_id, a.text))

    def turn(self, text: str, parts: Sequence[str] = ()) -> None:
        self.transcripts.extend(parts or (text,))
        if not self.d.finished:
            self.apply(self.d.on_caller_turn(text))

    def run(self, currency: str) -> Run:
        out = (self.d.outcome if self.d.finished else self.d.on_hangup()).to_json_obj()
        out["promise"]["currency"] = currency  # type: ignore[index]
        return Run(tuple(self.transcripts), tuple(self.intents), tuple(self.states), tuple(self.lines), out)


def replay_session(
    record: SessionRecord,
    script: Script,
    *,
    engine: Any = None,
    settings: ReplaySettings = ReplaySettings(),
) -> ReplayReport:
    """Replay ``record`` against ``script``: from caller audio with ``engine`` (an
    ``voicebot.asr.engine.AsrEngine``), else from the recorded transcripts. See module doc."""
    mode: Mode = "audio" if engine is not None else "text"
    recorded = recorded_run(record)
    base = dict(session=str(record.dir), call_id=record.call_id, mode=mode, recorded=recorded)
    lang = str(record.meta.get("lang") or "")
    gate = next((e for e in record.events if e.type == EventType.STATE_CHANGE and "allowed" in e.data), None)
    if record.meta.get("assist"):
        return ReplayReport(**base, replayed=None, skipped="agent-assist session: no dialogue to replay")
    if gate is not None and not gate.data.get("allowed"):
        return ReplayReport(**base, replayed=None, skipped=f"call blocked by compliance rule {gate.data.get('rule')!r}")
    purged = record.meta.get("purged") if isinstance(record.meta.get("purged"), Mapping) else {}
    if engine is not None and ("caller" not in record.audio or purged.get("audio")):
        return ReplayReport(**base, replayed=None, skipped="no caller audio (purged?): try --text")
    if engine is None and purged.get("transcripts"):
        return ReplayReport(**base, replayed=None, skipped="transcripts were purged")
    if lang != script.lang:
        return ReplayReport(**base, replayed=None, skipped=f"session language {lang!r} but script {script.path} is {script.lang!r}")
    settings = settings.with_meta(record.meta)
    today, date_note = call_date(record.meta)
    try:
        account, account_note = replay_account(record.meta, lang)
    except AccountError as exc:
        return ReplayReport(**base, replayed=None, skipped=f"meta.json account is unusable: {exc}")
    notes = [n for n in (account_note, date_note) if n]
    if not record.finished:
        notes.append("session has no outcome (live, or cut off by a crash): recorded outcome is empty")
    if record.meta.get("script_version") and record.meta.get("script_version") != script.version:
        notes.append(f"script version {script.version} (recorded {record.meta.get('script_version')})")
    dialogue = Dialogue(script, account, today, min_promise_fraction=settings.min_promise_fraction,
                        latest_promise_days=settings.latest_promise_days, max_no_match=settings.max_no_match)
    runner = _Runner(dialogue)
    runner.apply(dialogue.on_voicemail() if started_in_voicemail(record, script) else dialogue.start())
    inputs = recorded_inputs(record, with_speech=engine is None)
    if engine is not None:
        inputs += speech_inputs(record, settings)
    _drive(runner, inputs, engine, int(record.meta.get("rate_hz") or record.schema.get("rate_hz") or 8000),
           settings.endpoint_silence_ms - settings.segment_ms)
    replayed = runner.run(account.currency)
    diffs = compare_runs(recorded, replayed, transcripts=engine is not None)
    return ReplayReport(**base, replayed=replayed, differences=diffs, notes=tuple(notes))


def _drive(runner: _Runner, inputs: list[CallerInput], engine: Any, rate_hz: int, merge_ms: int = 0) -> None:
    """Feed the inputs in session-clock order. Spoken segments wait for their turn to end,
    as live (ChannelListener): the next segment starting less than ``merge_ms`` after one
    ended (audio clock) continues the turn, unless the state had a grammar when it started
    or the words so far already answer whole."""
    # Speech starts are events too: the grammar is the dialogue's when the caller starts talking.
    timeline: list[tuple[int, int, str, CallerInput]] = []
    for i, inp in enumerate(inputs):
        if inp.kind == "utterance":
            timeline.append((inp.start_ms, i, "start", inp))
        timeline.append((inp.offset_ms, i, inp.kind, inp))
    timeline.sort(key=lambda x: (x[0], x[1]))
    stream: Any = None
    finals: dict[int, list[str]] = {}
    short: dict[int, bool] = {}
    parts: list[str] = []  # segments of the turn in progress
    open_until: int | None = None  # audio sample before which a new segment continues the turn

    def deliver() -> None:
        nonlocal parts, open_until
        if parts:
            runner.turn(" ".join(parts), tuple(parts))
        parts, open_until = [], None

    try:
        for _, i, kind, inp in timeline:
            d = runner.d
            if kind == "start":
                assert inp.utterance is not None
                if open_until is None or inp.utterance.start_reported_sample >= open_until:
                    deliver()
                grammar = None if d.finished else d.grammar()
                grammar = list(grammar) if grammar else None
                short[i] = grammar is not None
                if stream is None:
                    stream = engine.new_stream(rate_hz, grammar)
                else:
                    stream.set_grammar(grammar)
                finals[i] = [r.text for piece in inp.utterance.feeds if piece
                             for r in stream.accept(piece) if r.kind == "final"]
            elif kind == "utterance":
                assert inp.utterance is not None
                texts = [t for t in (t.strip() for t in finals.pop(i, []) + [stream.finish().text]) if t]
                short_answer = short.pop(i, False)
                if merge_ms <= 0:  # no turn merging live either: every final was a turn
                    for text in texts:
                        runner.turn(text)
                    continue
                parts += texts
                if short_answer or (parts and not d.finished and d.answer_complete(" ".join(parts))):
                    deliver()
                elif parts:
                    open_until = inp.utterance.end_reported_sample + merge_ms * rate_hz // 1000
            else:
                deliver()
                if kind == "text":
                    if inp.text.strip():
                        runner.turn(inp.text.strip(), inp.parts)
                elif not runner.d.finished:
                    runner.apply(d.on_dtmf(inp.text) if kind == "dtmf" else d.on_no_input())
        deliver()
    finally:
        if stream is not None:
            stream.close()


# -- comparison -----------------------------------------------------------------------------

def _flat(outcome: Mapping[str, Any]) -> dict[str, Any]:
    promise = outcome.get("promise")
    if isinstance(promise, list):  # the format allows a list of promises; compare the last
        promise = promise[-1] if promise else {}
    flat = {k: outcome.get(k) for k in OUTCOME_KEYS if not k.startswith("promise.")}
    flat.update({f"promise.{k}": (promise or {}).get(k) for k in ("amount", "date", "confirmed", "currency")})
    return flat


def _seq_diffs(aspect: str, label: str, rec: Sequence[Any], rep: Sequence[Any], limit: int = 8) -> list[Difference]:
    out = []
    for i in range(max(len(rec), len(rep))):
        a = rec[i] if i < len(rec) else None
        b = rep[i] if i < len(rep) else None
        if a != b:
            what = (f"recorded {a!r}, replayed {b!r}" if a is not None and b is not None
                    else f"only recorded: {a!r}" if a is not None else f"only replayed: {b!r}")
            out.append(Difference(aspect, False, f"{label} #{i + 1}: {what}"))
    if len(out) > limit:
        out = out[:limit] + [Difference(aspect, False, f"... and {len(out) - limit} more {label} differences")]
    return out


def compare_runs(recorded: Run, replayed: Run, *, transcripts: bool = True) -> tuple[Difference, ...]:
    """Differences between two runs; state path and outcome ones are regressions."""
    out: list[Difference] = []
    if transcripts:
        out += _seq_diffs("transcript", "utterance", recorded.transcripts, replayed.transcripts)
    out += _seq_diffs("intents", "turn", [list(i) for i in recorded.intents], [list(i) for i in replayed.intents])
    if recorded.states != replayed.states:
        n = next((i for i, (a, b) in enumerate(zip(recorded.states, replayed.states)) if a != b),
                 min(len(recorded.states), len(replayed.states)))
        out.append(Difference("states", True, f"state path differs from step {n + 1}: recorded "
                              f"{' > '.join(recorded.states)}; replayed {' > '.join(replayed.states)}"))
    a, b = _flat(recorded.outcome), _flat(replayed.outcome)
    for key in OUTCOME_KEYS:
        if a.get(key) != b.get(key):
            out.append(Difference("outcome", True, f"outcome {key}: recorded {a.get(key)!r}, replayed {b.get(key)!r}"))
    out += _seq_diffs("lines", "bot line", recorded.lines, replayed.lines)
    return tuple(out)


__all__ = [
    "CallerInput", "Difference", "ReplayReport", "ReplaySettings", "Run", "Utterance", "call_date",
    "compare_runs", "recorded_inputs", "recorded_run", "replay_account", "replay_session",
    "segment_caller_audio", "speech_inputs", "started_in_voicemail",
]
