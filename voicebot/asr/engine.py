"""The Vosk speech recogniser: one loaded model, a warm pool of recognisers, per-call streams.

Threading contract: ``AsrEngine`` is shared by every call; its pool is guarded by a lock.
A ``RecognizerStream`` belongs to one call and its methods block (they run Kaldi), so the
session calls them through ``await engine.run(stream.accept, pcm)``, one at a time per stream.
The Vosk binding releases the GIL while decoding, so streams on different executor threads
decode in parallel.

Vosk facts this module relies on (vosk 0.3.45, measured):

* A recogniser's word times count from the recogniser's creation, across ``FinalResult()``
  and ``Reset()``; so each pooled recogniser carries how many samples it was ever fed, and a
  stream shifts times by that to count from its own start.
* ``SetGrammar`` on a recogniser that is mid-utterance aborts the whole process
  (KaldiFatalError), and switching a recogniser to free-form with ``SetGrammar("[]")`` makes
  its next free-form utterance cost ~1.5 CPU-s instead of ~0.25. So this module never calls
  it: a stream changing grammar returns its recogniser to the pool and takes one of the new
  kind (grammar recognisers cost < 1 ms to create; free-form ones come back warm).
* Grammars must be ``json.dumps(words, ensure_ascii=False)``.
* ``Reset()`` keeps the feature pipeline: frames computed but not yet decoded, and the online
  i-vector, carry into the recogniser's next utterance. A recogniser reset mid-word and handed
  to another call decoded that word at the start of the other caller's answer (measured:
  "예" cut at 70-100 % of its length, then "네" on the same recogniser, gave "예 네").
  ``FinalResult()`` instead decodes everything and marks the recogniser finalised, and its
  next ``AcceptWaveform`` builds a new pipeline and decoder; the lookahead graph cache lives
  on the recogniser, so warm ones stay warm (same CPU per audio-second, measured). So a
  recogniser goes back to the pool only finalised (``_Slot.finalise``), never reset.

A stream holds a recogniser only while an utterance is being decoded and hands it back to the
pool at the utterance's end (an endpoint, ``finish()`` or a grammar change). So the engine needs
as many free-form recognisers as there are utterances in flight at once, not one per call: with
callers speaking ~40% of the time that is a fraction of the calls, every recogniser stays warm
(the pool is last-in first-out), and memory does not grow with each call. Every utterance
starts on a fresh feature pipeline (see ``_Slot.finalise``): nothing one caller said reaches
another caller's transcript, and no caller's i-vector adaptation carries to the next (the
cost: it adapts within an utterance, not across a call's utterances). What does carry is the
recogniser's lazily built graph, whose state numbering follows what it has decoded; that can
move Kaldi's tie-breaks, so a word time may differ by a frame between recognisers.
"""
from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence, TypeVar

import numpy as np
import numpy.typing as npt
import vosk

from voicebot.asr.models import ResolvedModel
from voicebot.audio.resample import Resampler, resample_once
from voicebot.errors import AudioFormatError, EngineError, ModelNotFoundError

__all__ = ["AsrEngine", "AsrResult", "RecognizerStream", "Word", "grammar_key"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Audio goes to Kaldi in pieces of at most this length: Vosk reports one endpoint per
# AcceptWaveform call, so a long buffer fed whole would merge utterances.
_CHUNK_S = 0.2
# Idle recognisers are kept per (rate, grammar), up to pool_size each, for at most this many
# distinct keys: a call script uses a handful of grammars, each reused on every call.
_MAX_POOL_KEYS = 16
# A pooled recogniser's word times count from its creation (see the module doc) and Vosk hands
# them over as floats whose resolution falls as they grow (float32 holds every sample count only
# up to 2**24). A recogniser fed more than this (2.3 h at 8 kHz, 70 min at 16 kHz; a week of a
# busy server otherwise) is retired instead of going back to the pool, so word times stay exact
# to the millisecond however long the server runs; its replacement is made on demand.
RETIRE_AFTER_SAMPLES = 1 << 26

# vosk.Model per model directory, shared by every engine in the process: a model is read-only
# once loaded (recognisers on any thread share it), costs ~2 s and ~530 MB to load, and the
# process serves one model (tests and tools that make several engines load it once).
_MODELS: dict[str, vosk.Model] = {}
_MODELS_LOCK = threading.Lock()


def _load_model(path: Path) -> vosk.Model:
    key = str(path.resolve())
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = vosk.Model(key)
        return _MODELS[key]


@dataclass(frozen=True)
class Word:
    word: str
    start_s: float  # seconds from the stream start
    end_s: float  # seconds from the stream start
    conf: float  # Vosk's word posterior, 0..1


@dataclass(frozen=True)
class AsrResult:
    kind: Literal["partial", "final"]
    text: str  # words joined by spaces; "" when nothing was recognised
    words: tuple[Word, ...] = ()  # finals only; partials carry text alone


def grammar_key(words: Sequence[str] | None) -> str | None:
    """The Vosk grammar string for ``words`` (None = free-form). Phrases may hold spaces."""
    if words is None:
        return None
    if isinstance(words, str):
        raise TypeError("grammar must be a list of phrases, not a string")
    phrases = [w.strip() for w in words]
    if not phrases or not all(phrases):
        raise ValueError(f"grammar needs at least one non-empty phrase, got {list(words)!r}")
    return json.dumps(phrases, ensure_ascii=False)


class _Slot:
    """One pooled Kaldi recogniser at a fixed rate, with its current grammar."""

    def __init__(self, rec: vosk.KaldiRecognizer, rate_hz: int, grammar: str | None) -> None:
        self.rec = rec
        self.rate_hz = rate_hz
        self.grammar = grammar
        self.fed_samples = 0  # every sample ever fed: Vosk's time base (see module doc)
        # Vosk's state as this module last left it: "ready" (new or finalised: the next audio
        # starts a fresh pipeline), "running" (mid-utterance) or "endpoint" (after Result()).
        self.state = "ready"

    def accept(self, chunk: bytes) -> bool:
        endpoint = bool(self.rec.AcceptWaveform(chunk))
        self.fed_samples += len(chunk) // 2
        self.state = "running"
        return endpoint

    def result(self) -> str:
        """The final at a Kaldi endpoint (the pipeline still holds the undecoded tail)."""
        self.state = "endpoint"
        return str(self.rec.Result())

    def final_result(self) -> str:
        """Decode everything fed and end the utterance; the next audio starts afresh."""
        raw = str(self.rec.FinalResult())
        self.state = "ready"
        return raw

    def finalise(self) -> None:
        """Leave the recogniser with nothing of its last utterance: no undecoded frames, no
        adaptation. After an endpoint Vosk ignores FinalResult() until it is fed again, so it
        is fed nothing first (which only re-opens the decoder)."""
        if self.state == "endpoint":
            self.rec.AcceptWaveform(b"")
            self.state = "running"
        if self.state == "running":
            self.final_result()


_WARM_AT_START = 4  # free-form recognisers made per rate at start-up (60-130 ms each)


class AsrEngine:
    """Loads one ``vosk.Model`` and hands out ``RecognizerStream``s.

    ``workers`` bounds the decode thread pool (0 = one per CPU core); ``pool_size`` is how
    many idle recognisers are kept warm per (rate, grammar) (free-form ones cost ~60 ms of
    CPU to create, grammar ones well under 1 ms). ``pool_size`` free-form ones are created
    up front for each of ``warm_rates_hz`` (None = the model's rate, plus 8000 Hz when Kaldi
    decodes telephone audio directly). Raises ``EngineError`` if Vosk cannot load the model.
    """

    def __init__(
        self,
        model: ResolvedModel,
        workers: int = 0,
        pool_size: int = 8,
        warm_rates_hz: Sequence[int] | None = None,
    ) -> None:
        if workers < 0 or pool_size < 0:
            raise ValueError("workers and pool_size must be >= 0")
        if not model.path.is_dir():
            raise ModelNotFoundError(f"Vosk model directory {model.path} does not exist; see models/README.md")
        vosk.SetLogLevel(-1)
        try:
            self._vosk_model = _load_model(model.path)
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise EngineError(f"Vosk could not load the model in {model.path}: {exc}") from exc
        self.model = model
        self.pool_size = pool_size
        self.workers = workers or os.cpu_count() or 1
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="asr")
        self._lock = threading.Lock()
        # run() admits at most `workers` jobs to the executor; the rest wait here, urgent first
        # (see run). Entries: (priority, order, loop, waiter future). Guarded by _sched_lock.
        self._sched_lock = threading.Lock()
        self._running = 0
        self._waiting: list[tuple[int, int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._idle: dict[tuple[int, str | None], list[_Slot]] = {}
        self._oov_checked: set[str] = set()
        self._created: dict[str, int] = {"free": 0, "grammar": 0, "retired": 0}
        self._in_use = 0
        if warm_rates_hz is None:
            warm_rates_hz = [model.sample_rate_hz]
            if model.allow_upsample and model.sample_rate_hz > 8000:
                warm_rates_hz.append(8000)  # telephone calls, which Kaldi decodes at 8 kHz
        for rate_hz in warm_rates_hz:
            for _ in range(min(pool_size, _WARM_AT_START)):
                slot = self._create(self._decode_rate(rate_hz), None)
                with self._lock:
                    self._keep(slot)

    # -- public API ---------------------------------------------------------------------

    def _decode_rate(self, rate_hz: int) -> int:
        """The rate Kaldi is fed for input at ``rate_hz`` (see RecognizerStream)."""
        model_hz = self.model.sample_rate_hz
        if rate_hz > model_hz or (rate_hz < model_hz and not self.model.allow_upsample):
            return model_hz
        return rate_hz

    def new_stream(self, rate_hz: int, grammar: Sequence[str] | None = None) -> RecognizerStream:
        """A stream for s16le mono audio at ``rate_hz``. Cheap: no Kaldi work happens until
        the first ``accept`` (which runs in the executor)."""
        if rate_hz <= 0:
            raise AudioFormatError(f"rate_hz must be positive, got {rate_hz}")
        return RecognizerStream(self, rate_hz, grammar_key(grammar))

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run the blocking ``fn(*args)`` on the decode executor.

        Jobs start in order of arrival, except that ``urgent`` ones go before every waiting
        ordinary one: the end of an utterance (its last audio once the caller is quiet, and
        its final) is what end-of-speech -> final latency waits for, while another call's
        next chunk of ongoing speech can wait a few tens of ms. One stream's jobs are awaited
        one at a time by their caller, so their order is never changed."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] | None = None
        with self._sched_lock:
            if self._running < self.workers and not self._waiting:
                self._running += 1
            else:
                waiter = loop.create_future()
                heapq.heappush(self._waiting, (0 if urgent else 1, next(self._order), loop, waiter))
        if waiter is not None:
            try:
                await waiter  # resolved by _admit_next: the place is ours
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._admit_next()  # handed a place while being cancelled: pass it on
                raise
        try:
            return await loop.run_in_executor(self.executor, functools.partial(fn, *args))
        finally:
            self._admit_next()

    def _admit_next(self) -> None:
        """A job ended: give its place to the first waiter still waiting, else free it."""
        with self._sched_lock:
            while self._waiting:
                _, _, loop, waiter = heapq.heappop(self._waiting)
                if waiter.done():  # cancelled while waiting (its loop may be shutting down)
                    continue
                try:
                    loop.call_soon_threadsafe(self._hand_place, waiter)
                except RuntimeError:  # that loop is closed: nobody waits there any more
                    continue
                return
            self._running -= 1

    def _hand_place(self, waiter: asyncio.Future[None]) -> None:
        """On the waiter's loop: wake it, or, if it was cancelled meanwhile, pass the place on."""
        if waiter.done():
            self._admit_next()
        else:
            waiter.set_result(None)

    def warm_free_form(self, pcm: bytes, rate_hz: int, count: int) -> int:
        """Decode ``pcm`` (speech, s16le at ``rate_hz``) once on ``count`` idle free-form
        recognisers and return them to the pool. A free-form recogniser's first utterance
        costs ~1.5 CPU-s and later ones ~0.25, so paying it here (in the background after
        start-up) keeps the first calls from stalling each other. Blocking; decodes on the
        engine's executor, so call it from another thread. Returns how many it warmed."""
        decode_hz = self._decode_rate(rate_hz)
        samples = np.frombuffer(pcm, dtype="<i2")
        if decode_hz != rate_hz:
            samples = resample_once(samples.astype(np.int16), rate_hz, decode_hz)
        data = samples.astype("<i2").tobytes()
        step = int(decode_hz * _CHUNK_S) * 2
        slots = [self._acquire(decode_hz, None) for _ in range(count)]

        def warm(slot: _Slot) -> None:
            for i in range(0, len(data), step):
                slot.accept(data[i : i + step])
            slot.final_result()

        try:  # on the decode threads, in parallel; so never call this from one of them
            list(self.executor.map(warm, slots))
        finally:
            for slot in slots:
                self._release(slot)
        return len(slots)

    def transcribe_pcm(
        self, pcm: npt.NDArray[np.int16] | bytes, rate_hz: int, grammar: Sequence[str] | None = None
    ) -> AsrResult:
        """Decode a whole mono buffer (blocking). Returns one final whose words cover every
        utterance, times in seconds from the buffer start."""
        samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, (bytes, bytearray)) else np.asarray(pcm)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise AudioFormatError(f"transcribe_pcm needs mono int16 samples, got {samples.dtype} {samples.shape}")
        data = samples.astype("<i2", copy=False).tobytes()
        step = max(2, int(rate_hz * _CHUNK_S) * 2)
        stream = self.new_stream(rate_hz, grammar)
        try:
            finals = [r for i in range(0, len(data), step) for r in stream.accept(data[i : i + step]) if r.kind == "final"]
            finals.append(stream.finish())
        finally:
            stream.close()
        words = tuple(w for r in finals for w in r.words)
        return AsrResult("final", " ".join(r.text for r in finals if r.text), words)

    def pool_stats(self) -> dict[str, int]:
        """Recognisers created so far (free-form / grammar), retired (fed past
        ``RETIRE_AFTER_SAMPLES``), idle in the pool and in use by an utterance right now
        (``/metrics`` and the benchmark read this)."""
        with self._lock:
            idle = sum(len(v) for v in self._idle.values())
            return {"created_free": self._created["free"], "created_grammar": self._created["grammar"],
                    "retired": self._created["retired"],
                    "idle": idle, "in_use": self._in_use}

    def close(self) -> None:
        """Stop the executor (waiting for running decodes) and drop the idle recognisers."""
        self.executor.shutdown(wait=True)
        with self._lock:
            self._idle.clear()

    def __enter__(self) -> AsrEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pool ----------------------------------------------------------------------------

    def _create(self, rate_hz: int, grammar: str | None) -> _Slot:
        try:
            if grammar is None:
                rec = vosk.KaldiRecognizer(self._vosk_model, rate_hz)
            else:
                self._warn_oov(grammar)
                rec = vosk.KaldiRecognizer(self._vosk_model, rate_hz, grammar)
        except Exception as exc:
            raise EngineError(f"Vosk could not create a recogniser at {rate_hz} Hz: {exc}") from exc
        rec.SetWords(True)
        with self._lock:
            self._created["free" if grammar is None else "grammar"] += 1
        return _Slot(rec, rate_hz, grammar)

    def _acquire(self, rate_hz: int, grammar: str | None) -> _Slot:
        """An idle recogniser for exactly (rate, grammar), else a new one.

        A recogniser is never switched between free-form and a grammar with SetGrammar:
        measured here, the first utterance decoded free-form after such a switch costs
        ~1.5 CPU-s instead of ~0.25 (Kaldi rebuilds its lookahead state per recogniser), and
        so does a new free-form recogniser's first utterance. Free-form recognisers therefore
        stay free-form and come back warm through the pool; grammar ones are cheap to make.
        """
        with self._lock:
            self._in_use += 1
            exact = self._idle.get((rate_hz, grammar))
            if exact:
                return exact.pop()
        try:
            return self._create(rate_hz, grammar)
        except BaseException:
            with self._lock:
                self._in_use -= 1
            raise

    def _release(self, slot: _Slot) -> None:
        try:
            slot.finalise()
        except Exception:  # a recogniser Vosk cannot finalise is not put back
            log.exception("dropping a recogniser that failed to finalise")
            with self._lock:
                self._in_use -= 1
            return
        with self._lock:
            self._in_use -= 1
            self._keep(slot)

    def _keep(self, slot: _Slot) -> None:
        """Put an idle recogniser in the pool (caller holds ``_lock``)."""
        key = (slot.rate_hz, slot.grammar)
        slots = self._idle.pop(key, [])
        self._idle[key] = slots  # dict order = least recently released key first
        if slot.fed_samples >= RETIRE_AFTER_SAMPLES:
            self._created["retired"] += 1
        elif len(slots) < self.pool_size:
            slots.append(slot)
        while len(self._idle) > _MAX_POOL_KEYS:
            del self._idle[next(iter(self._idle))]

    def _warn_oov(self, grammar: str) -> None:
        if grammar in self._oov_checked:
            return
        self._oov_checked.add(grammar)
        tokens = {t for phrase in json.loads(grammar) for t in phrase.split()}
        missing = sorted(t for t in tokens if self._vosk_model.vosk_model_find_word(t) < 0)
        if missing:
            log.warning("grammar words not in the model's vocabulary (Vosk ignores them): %s", missing)


class RecognizerStream:
    """Recognition of one continuous audio stream (one call leg). Blocking methods; see the
    module doc. Word times are seconds from the first sample given to ``accept``."""

    def __init__(self, engine: AsrEngine, rate_hz: int, grammar: str | None) -> None:
        self._engine = engine
        self.rate_hz = rate_hz
        # Kaldi upsamples by itself when the model's mfcc.conf allows it (phone audio then
        # stays 8 kHz end to end); otherwise we upsample. Higher rates we always convert
        # ourselves: a model without --allow-downsample makes Kaldi abort the process.
        self.decode_rate_hz = engine._decode_rate(rate_hz)
        self._resampler = Resampler(rate_hz, self.decode_rate_hz) if self.decode_rate_hz != rate_hz else None
        self._grammar = grammar
        self._pending: tuple[str | None] | None = None  # grammar for the next utterance
        self._slot: _Slot | None = None
        self._fed = 0  # samples given to Kaldi in this stream, at decode_rate_hz
        self._shift = 0  # add to a Vosk sample time to get a stream sample time
        self._in_utterance = False
        self._partial = ""
        self._closed = False
        # One caller at a time: a close (or grammar change) from one thread while a decode
        # thread is inside Kaldi would hand the recogniser back to the pool mid-use.
        self._use = threading.Lock()

    def accept(self, pcm: bytes) -> list[AsrResult]:
        """Feed s16le mono audio; return a partial when the partial text changed and a final
        for each endpoint Vosk detected (finals with no words are not reported)."""
        with self._use:
            return self._accept(pcm)

    def _accept(self, pcm: bytes) -> list[AsrResult]:
        self._check_open()
        if len(pcm) % 2:
            raise AudioFormatError(f"pcm must be whole 16-bit samples, got {len(pcm)} bytes")
        samples = np.frombuffer(pcm, dtype="<i2")
        if self._resampler is not None:
            samples = self._resampler.process(samples.astype(np.int16))
        return self._feed(samples.astype("<i2", copy=False).tobytes())

    def finish(self) -> AsrResult:
        """End the current utterance and return its final (possibly empty). The stream stays
        usable; later word times keep counting from the stream start."""
        with self._use:
            return self._finish()

    def _finish(self) -> AsrResult:
        self._check_open()
        results: list[AsrResult] = []
        if self._resampler is not None:
            results += self._feed(self._resampler.flush().astype("<i2").tobytes())
        if self._slot is not None:  # else no audio since the last endpoint: nothing to finalise
            results.append(self._final(self._slot.final_result()))
        self._end_utterance()
        finals = [r for r in results if r.kind == "final"]
        return AsrResult("final", " ".join(r.text for r in finals if r.text), tuple(w for r in finals for w in r.words))

    def set_grammar(self, words: Sequence[str] | None) -> None:
        """Use ``words`` (None = free-form) from the next utterance on; applied at once when
        no utterance is in progress."""
        with self._use:
            self._check_open()
            self._pending = (grammar_key(words),)
            if not self._in_utterance:
                self._apply_pending()

    def close(self) -> None:
        """Return the recogniser to the engine's pool. Idempotent; waits for a decode in
        progress on another thread."""
        with self._use:
            if self._closed:
                return
            self._closed = True
            slot, self._slot = self._slot, None
        if slot is not None:
            self._engine._release(slot)

    def __enter__(self) -> RecognizerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError("recogniser stream is closed")

    def _ensure_slot(self) -> _Slot:
        if self._slot is None:
            slot = self._engine._acquire(self.decode_rate_hz, self._grammar)
            self._shift = self._fed - slot.fed_samples
            self._slot = slot
        return self._slot

    def _feed(self, data: bytes) -> list[AsrResult]:
        out: list[AsrResult] = []
        if not data:
            return out
        step = max(2, int(self.decode_rate_hz * _CHUNK_S) * 2)
        for i in range(0, len(data), step):
            chunk = data[i : i + step]
            slot = self._ensure_slot()
            try:
                endpoint = slot.accept(chunk)
            except Exception as exc:
                raise EngineError(f"Vosk failed to decode audio: {exc}") from exc
            self._fed += len(chunk) // 2
            self._in_utterance = True
            if endpoint:
                final = self._final(slot.result())
                self._end_utterance()
                if final.text:
                    out.append(final)
            else:
                partial = json.loads(slot.rec.PartialResult()).get("partial", "")
                if partial and partial != self._partial:
                    out.append(AsrResult("partial", partial))
                self._partial = partial
        return out

    def _final(self, raw: str) -> AsrResult:
        obj = json.loads(raw)
        rate = float(self.decode_rate_hz)
        shift_s = self._shift / rate
        words = tuple(
            Word(w["word"], round(w["start"] + shift_s, 3), round(w["end"] + shift_s, 3), float(w.get("conf", 1.0)))
            for w in obj.get("result", ())
        )
        text = obj.get("text", "") or " ".join(w.word for w in words)
        return AsrResult("final", text, words)

    def _end_utterance(self) -> None:
        """Hand the recogniser back (Vosk has reset it); the next utterance takes one again."""
        self._in_utterance = False
        self._partial = ""
        slot, self._slot = self._slot, None
        if slot is not None:
            self._engine._release(slot)
        self._apply_pending()

    def _apply_pending(self) -> None:
        if self._pending is None:
            return
        (grammar,) = self._pending
        self._pending = None
        if grammar != self._grammar:
            self._grammar = grammar
            slot, self._slot = self._slot, None
            if slot is not None:  # set between utterances with a recogniser still held
                self._engine._release(slot)
