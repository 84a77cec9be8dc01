"""One call: adapter <-> ASR <-> NLU <-> dialogue <-> TTS, with the recorder and live feed as taps.

Data moves one way per direction. Inbound: the connection feeds adapter events to
``CallSession.handle``; audio goes to a per-channel ``ChannelListener`` (VAD gating + a Vosk
stream decoded off the loop); finals go to the dialogue (bot mode) or to NLU and the
compliance monitor (assist mode). Outbound: dialogue actions -> TTS (off the loop) ->
``Outbound`` (paced frames + marks) -> socket. Barge-in is an inbound event answered with a
clear. Every observable step becomes a ``SessionEvent`` for the recorder and the dashboard.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import numpy as np

from voicebot import events as ev
from voicebot.config import segment_ms
from voicebot.events import EventType, SessionEvent

if TYPE_CHECKING:
    from voicebot.server.runtime import Runtime

log = logging.getLogger("voicebot.session")

# Session events the softphone page shows (the dashboard gets all of them over /feed).
SOFTPHONE_EVENTS = frozenset({
    EventType.PARTIAL, EventType.FINAL, EventType.SAY, EventType.STATE_CHANGE, EventType.UNDERSTOOD,
    EventType.HANDOFF, EventType.TRANSFER, EventType.OUTCOME, EventType.BARGE_IN,
    EventType.COMPLIANCE_WARNING, EventType.SUGGESTION, EventType.CALL_ENDED,
})
READBACK_STATE = "confirm_promise"  # the script state that reads a promise back
# Peers that echo a mark when playback reaches it (Twilio mark, Asterisk MEDIA_MARK_PROCESSED,
# the softphone page). For the others, audio sent at real-time pace counts as heard.
PEERS_CONFIRMING_MARKS = frozenset({"twilio", "asterisk", "softphone"})
PREROLL_MS = 300
# Trailing silence beyond this is held back from the recogniser: Kaldi finalises an utterance
# without it, and decoding the rest of the endpoint silence (500 ms) was ~15% of the decode
# work. Held audio is fed after all if the caller speaks again before the endpoint.
TRAILING_FEED_MS = 200
SHORT_ANSWER_HANGOVER_MS = 250  # trailing silence that ends a yes/no-style answer
LISTENER_DRAIN_S = 5.0
VOICEMAIL_WATCH_S = 40
VOICEMAIL_MONOLOGUE_S = 2.5
BARGE_IN_CONFIRM_MS = 120
HANGUP_DRAIN_TIMEOUT_S = 15.0


@dataclass
class _Prompt:
    seq: int
    say: Any  # voicebot.dialogue.Say
    mark: str
    sent_frames: int = 0
    done_sending: bool = False
    played: bool = False
    interrupted: bool = False
    started_ms: int | None = None


class ChannelListener:
    """VAD-gated streaming recognition of one channel of a call.

    Silence is not fed to Kaldi: the VAD keeps a short pre-roll while idle and opens a
    recogniser stream at speech onset; speech end (VAD hangover) finishes the utterance, so
    the final comes soon after the caller stops instead of after Kaldi's own endpointer delay.

    A transcript *segment* ends after ``segment_silence_ms`` of silence and its final is
    published at once (the dashboard, the recording); the caller's *turn* ends only once
    ``endpoint_silence_ms`` have passed with no new speech, and then the dialogue gets every
    segment of the turn as one text. So a caller who pauses mid-sentence is not answered
    half-way, and finals still come ~250 ms after the voice stops. Short answers (the state
    has a grammar) and partials that already answer whole end both at once, after
    ``SHORT_ANSWER_HANGOVER_MS``.
    """

    def __init__(self, session: "CallSession", channel: ev.Channel, rate_hz: int) -> None:
        from voicebot.audio.vad import Vad

        cfg = session.runtime.config.asr
        self.session = session
        self.channel = channel
        self.rate_hz = rate_hz
        self.endpoint_ms = cfg.endpoint_silence_ms
        self.segment_ms = segment_ms(cfg.segment_silence_ms, cfg.endpoint_silence_ms)
        self.vad = Vad(rate_hz, frame_ms=20, threshold_db=cfg.vad_threshold_db, hangover_ms=self.segment_ms)
        # Segments of the caller's turn so far, waiting for the turn to end (bot mode only).
        self.turn_parts: list[str] = []
        self.turn_timer: asyncio.TimerHandle | None = None
        self.turn_complete = False  # this segment already answers whole: no merge window
        self.chunk_samples = rate_hz * cfg.chunk_ms // 1000
        self.preroll: deque[np.ndarray] = deque()
        self.preroll_samples = 0
        self.pending: list[np.ndarray] = []
        self.pending_samples = 0
        self.held: list[np.ndarray] = []  # trailing silence not (yet) fed, see TRAILING_FEED_MS
        self.samples_seen = 0
        self.stream: Any = None
        # Where the utterance being decoded began: set from its "start" item, since push()
        # may be into the next utterance by the time this one's final is out.
        self.decoding_start_sample = 0
        self.fed_s = 0.0  # seconds fed to the current stream before this utterance
        self.utt_fed_start_s = 0.0
        self.last_partial = ""
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.in_speech = False
        self.gated = False  # holds one of the runtime's free-form decoding places
        self.speech_samples = 0  # caller speech so far (for voicemail detection)
        self._speech_from = 0
        self.beeps: Any = None
        if channel == "caller" and not session.assist:
            from voicebot.audio.tone import BeepDetector

            self.beeps = BeepDetector(rate_hz)

    # Called on the event loop for every inbound chunk: cheap numpy work only.
    def push(self, pcm: bytes) -> None:
        arr = np.frombuffer(pcm, dtype="<i2")
        self.samples_seen += len(arr)
        vad_events = self.vad.process(arr)
        if self.beeps is not None:
            self._watch_for_voicemail(arr, vad_events)
        for e in vad_events:
            if e.kind == "speech_start":
                # A short answer (the state has a grammar) ends sooner than free speech.
                short = self.session.grammar_for(self.channel) is not None
                self.vad.set_hangover_ms(min(SHORT_ANSWER_HANGOVER_MS, self.segment_ms) if short else self.segment_ms)
                self.turn_complete = short
                if self.turn_timer is not None:  # the caller goes on: the turn is not over
                    self.turn_timer.cancel()
                    self.turn_timer = None
                self.in_speech = True
                self.queue.put_nowait(("start", (e.sample, list(self.preroll))))
                self.preroll.clear()
                self.preroll_samples = 0
                self.session.on_speech_start(self.channel, e.sample * 1000 // self.rate_hz)
        if self.in_speech:
            if self.vad.trailing_silence_ms > TRAILING_FEED_MS:
                self.held.append(arr)
                if self.pending:  # decode the tail now, while the endpoint silence runs out
                    self._flush_pending()
            else:
                if self.held:  # speech resumed: the pause goes to the recogniser after all
                    self.pending += self.held
                    self.pending_samples += sum(len(a) for a in self.held)
                    self.held = []
                self.pending.append(arr)
                self.pending_samples += len(arr)
            if self.pending_samples >= self.chunk_samples:
                self._flush_pending()
        else:
            self.preroll.append(arr)
            self.preroll_samples += len(arr)
            max_pre = self.rate_hz * PREROLL_MS // 1000
            while self.preroll and self.preroll_samples - len(self.preroll[0]) >= max_pre:
                self.preroll_samples -= len(self.preroll.popleft())
        for e in vad_events:
            if e.kind == "speech_end":
                self._flush_pending()
                self.held = []
                self.in_speech = False
                # When the turn may end: the rest of the endpoint silence from now, unless
                # this segment already answers whole.
                wait_ms = 0 if self.turn_complete else self.endpoint_ms - self.segment_ms
                self.queue.put_nowait(("end", (e.sample, time.monotonic() + wait_ms / 1000)))
                self.session.on_speech_end(self.channel, e.sample * 1000 // self.rate_hz)

    def _watch_for_voicemail(self, arr: np.ndarray, vad_events: list[Any]) -> None:
        """An answering machine: a monologue of at least VOICEMAIL_MONOLOGUE_S within the first
        VOICEMAIL_WATCH_S of the call, then a beep. Stops watching after that window."""
        for e in vad_events:
            if e.kind == "speech_start":
                self._speech_from = e.sample
            elif e.kind == "speech_end":
                self.speech_samples += e.sample - self._speech_from
        if self.samples_seen > VOICEMAIL_WATCH_S * self.rate_hz:
            self.beeps = None
            return
        spoken = self.speech_samples + (self.samples_seen - self._speech_from if self.in_speech else 0)
        if spoken < (VOICEMAIL_MONOLOGUE_S - 1.0) * self.rate_hz:
            # No beep can count yet, so skip the FFT (it was half the event loop's CPU with
            # 8 calls); start a second early so a beep that ends the monologue is seen whole.
            self.beeps.skip(len(arr))
            return
        hits = self.beeps.process(arr)
        if hits and spoken >= VOICEMAIL_MONOLOGUE_S * self.rate_hz:
            self.beeps = None
            self.session.on_voicemail_beep(hits[0] * 1000 // self.rate_hz)

    def text_turn(self, text: str) -> None:
        self.queue.put_nowait(("text", text))

    def close(self) -> None:
        if self.in_speech:
            self._flush_pending()
            self.queue.put_nowait(("end", (self.samples_seen, 0.0)))
        self.queue.put_nowait(("close", None))

    def _flush_pending(self) -> None:
        if self.pending:
            self.queue.put_nowait(("audio", np.concatenate(self.pending).tobytes()))
            self.pending, self.pending_samples = [], 0

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # a decoder failure ends recognition on this channel, not the call
            log.error("call %s: ASR failed on %s: %s", self.session.call_id, self.channel, exc)
            self.session.emit(EventType.ERROR, kind="asr", channel=self.channel, message=str(exc))
            self.session.runtime.metrics.inc("voicebot_errors_total", kind="asr")
            self.session.technical_handoff("asr")

    async def _run(self) -> None:
        engine = self.session.runtime.engine
        try:
            while True:
                kind, data = await self.queue.get()
                if kind == "close":
                    self._deliver_turn()
                    return
                if kind == "text":
                    self._deliver_turn()
                    await self.session.on_final(self.channel, str(data), [], self.samples_seen * 1000 // self.rate_hz)
                    continue
                if engine is None:
                    continue
                if kind == "start":
                    grammar = self.session.grammar_for(self.channel)
                    if grammar is None and not self.gated:
                        await self._wait_for_place()
                    if self.stream is None:
                        self.stream = await engine.run(engine.new_stream, self.rate_hz, grammar)
                    else:
                        await engine.run(self.stream.set_grammar, grammar)
                    self.utt_fed_start_s = self.fed_s
                    self.last_partial = ""
                    self.decoding_start_sample = max(0, data[0] - sum(len(a) for a in data[1]))
                    preroll = data[1]
                    if preroll:
                        await self._feed(np.concatenate(preroll).tobytes())
                elif kind == "audio":
                    if self.stream is not None:
                        await self._feed(data)
                elif kind == "end" and self.stream is not None:
                    t0 = time.monotonic()
                    result = await engine.run(self.stream.finish, urgent=True)
                    self.session.runtime.metrics.inc("voicebot_decode_seconds_total", time.monotonic() - t0)
                    self._leave_place()
                    await self._final(result)
                    self._turn_may_end(data[1])
        finally:
            if self.stream is not None:
                # close() waits for a decode still running on the pool: do it there.
                self.session.runtime.engine.executor.submit(self.stream.close)
            self._leave_place()

    async def _wait_for_place(self) -> None:
        """Wait for a free-form decoding place (Runtime.free_form_gate); audio queues meanwhile."""
        gate = self.session.runtime.free_form_gate()
        t0 = time.monotonic()
        await gate.acquire()
        self.gated = True
        self.session.runtime.metrics.inc("voicebot_asr_wait_seconds_total", time.monotonic() - t0)

    def _leave_place(self) -> None:
        if self.gated:
            self.gated = False
            self.session.runtime.free_form_gate().release()

    async def _feed(self, pcm: bytes) -> None:
        engine = self.session.runtime.engine
        self.fed_s += len(pcm) / 2 / self.rate_hz
        # Once the caller is quiet, what is left of the utterance is what its final waits for.
        results = await engine.run(self.stream.accept, pcm, urgent=not self.in_speech or self.vad.trailing_silence_ms > 0)
        for r in results:
            if r.kind == "partial":
                if r.text and r.text != self.last_partial:
                    self.last_partial = r.text
                    self.session.on_partial(self.channel, r.text)
                    if self.in_speech and not self.turn_complete and \
                            self.session.answer_complete(self.channel, " ".join(self.turn_parts + [r.text])):
                        # The words so far already answer: end the turn after a short pause.
                        self.vad.set_hangover_ms(min(SHORT_ANSWER_HANGOVER_MS, self.segment_ms))
                        self.turn_complete = True
            else:
                await self._final(r)

    async def _final(self, result: Any) -> None:
        utt_ms = self.decoding_start_sample * 1000 // self.rate_hz
        words = [
            {
                "word": w.word,
                "start_ms": utt_ms + int((w.start_s - self.utt_fed_start_s) * 1000),
                "end_ms": utt_ms + int((w.end_s - self.utt_fed_start_s) * 1000),
                "conf": round(float(w.conf), 3),
            }
            for w in result.words
        ]
        self.utt_fed_start_s = self.fed_s
        self.last_partial = ""
        text = result.text.strip()
        if not text:
            return
        if not self.merges_turns():
            await self.session.on_final(self.channel, text, words, utt_ms)
            return
        self.session.emit_final(self.channel, text, words, utt_ms)
        self.turn_parts.append(text)

    def merges_turns(self) -> bool:
        """Whether finals wait for the end of the caller's turn before the dialogue sees them:
        the caller channel of a bot-run call, when segments are shorter than turns."""
        return self.channel == "caller" and self.session.dialogue is not None and self.segment_ms < self.endpoint_ms

    def _turn_may_end(self, due: float) -> None:
        """A segment ended: hand the turn over at ``due`` (time.monotonic) unless speech resumes."""
        if not self.turn_parts or self.in_speech:
            return  # nothing to hand over, or the caller already goes on (its end re-arms)
        if self.turn_timer is not None:
            self.turn_timer.cancel()
            self.turn_timer = None
        delay = due - time.monotonic()
        if delay > 0:
            self.turn_timer = asyncio.get_running_loop().call_later(delay, self._deliver_turn)
        else:
            self._deliver_turn()

    def _deliver_turn(self) -> None:
        if self.turn_timer is not None:
            self.turn_timer.cancel()
            self.turn_timer = None
        if not self.turn_parts:
            return
        text, self.turn_parts = " ".join(self.turn_parts), []
        self.session.on_turn(self.channel, text)


AGENT_JOIN_MS = 1500  # agent segments this close belong to one line for compliance (see _agent_turn)


class CallSession:
    """One call's state. ``handle`` takes adapter events; ``run`` owns the call's tasks."""

    def __init__(
        self,
        runtime: "Runtime",
        adapter: Any,
        route: str,
        started: ev.CallStarted,
        send_wire: Callable[[str | bytes], Awaitable[None]],
    ) -> None:
        from voicebot.server.outbound import Outbound

        self.runtime = runtime
        self.adapter = adapter
        self.route = route
        self.started = started
        self.call_id = started.call_id
        self.rate_hz = started.rate_hz
        self.t0 = time.monotonic()
        self.assist = "agent" in started.channels
        self.lang = started.params.get("lang") or runtime.lang
        if self.lang not in ("en", "zh", "ko"):
            self.lang = runtime.lang
        # AudioSocket hangs up after 2 s without audio in either direction: keep it alive.
        keepalive = getattr(adapter, "silence_frame", None)
        self.outbound = Outbound(send_wire, adapter.frame_ms, adapter.max_lead_ms,
                                 idle_frame=(lambda: [keepalive()]) if keepalive else None)
        self.listeners = {ch: ChannelListener(self, ch, self.rate_hz) for ch in started.channels}
        self.prompts: dict[int, _Prompt] = {}
        self.prompt_seq = 0
        self.playing: _Prompt | None = None
        self.say_queue: asyncio.Queue[Any] = asyncio.Queue()
        self.ending: str | None = None  # "hangup" | "transfer"
        self.handoff: Any = None
        self.done = asyncio.Event()
        self.end_reason = "peer_hangup"
        self.no_input_task: asyncio.Task[None] | None = None
        self.barge_task: asyncio.Task[None] | None = None
        self.promise: dict[str, Any] = {}
        # The agent's previous segment in assist mode: (text, end_ms, flags raised for it).
        self.agent_prev: tuple[str, int, frozenset[str]] | None = None
        self.dialogue: Any = None
        self.blocked: Any = None  # compliance Decision when the call may not go ahead
        self.account: Any = runtime.account_for(started.params, self.lang)
        self.today = date.today()  # the call date the dialogue uses (recorded for replay)
        self.in_samples: dict[str, int] = {}  # inbound samples per channel, gaps included
        self.recorder = runtime.open_recorder(self)
        if not self.assist:
            self.dialogue = runtime.new_dialogue(self.account, self.lang, self.today)

    # -- clock and taps ----------------------------------------------------------------------
    def now_ms(self) -> int:
        return int((time.monotonic() - self.t0) * 1000)

    def emit(self, type_: EventType, **data: Any) -> None:
        event = SessionEvent(type_, self.now_ms(), data)
        if self.recorder is not None:
            self.recorder.event(event)
        obj = event.to_json_obj()
        self.runtime.feed.publish(self.call_id, obj)
        if self.adapter.peer == "softphone" and type_ in SOFTPHONE_EVENTS:
            self.outbound.put_urgent(self.adapter.send(ev.SendJson(json.dumps(obj, ensure_ascii=False, default=str))))

    # -- lifecycle ---------------------------------------------------------------------------
    async def run(self, inbound: Callable[[], Awaitable[None]]) -> None:
        """Run the call until the peer hangs up or we end it. ``inbound`` reads the socket."""
        self.emit(EventType.CALL_STARTED, route=self.route, peer=self.started.peer, rate_hz=self.rate_hz,
                  channels=list(self.started.channels), lang=self.lang, assist=self.assist)
        self.runtime.feed.update_call(self.call_id, route=self.route, peer=self.started.peer, lang=self.lang,
                                      state=self.dialogue.state if self.dialogue else "assist",
                                      started_at=time.time(), assist=self.assist)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.outbound.run())
                listening = [tg.create_task(listener.run()) for listener in self.listeners.values()]
                tg.create_task(self._speaker())
                reader = tg.create_task(self._read(inbound))
                await self.done.wait()
                reader.cancel()
                for listener in self.listeners.values():
                    listener.close()
                # Let each listener finish its utterance (its final is part of the record) and
                # stop using its recogniser before anything is cancelled: cancelling while a
                # decode thread still feeds the recogniser would free it under that thread.
                await asyncio.wait(listening, timeout=LISTENER_DRAIN_S)
                self.say_queue.put_nowait(None)
                raise _CallOver()
        except* _CallOver:
            pass
        finally:
            await self._finish()

    async def _read(self, inbound: Callable[[], Awaitable[None]]) -> None:
        try:
            await inbound()
        finally:
            if not self.done.is_set():
                self.end("peer_hangup")

    def end(self, reason: str) -> None:
        if not self.done.is_set():
            self.end_reason = reason
            self.done.set()

    async def _finish(self) -> None:
        for t in (self.no_input_task, self.barge_task):
            if t is not None:
                t.cancel()
        outcome: dict[str, Any] = {}
        if self.blocked is not None:
            outcome = {"disposition": "blocked", "blocked_rule": self.blocked.rule,
                       "blocked_detail": self.blocked.detail}
            self.emit(EventType.OUTCOME, **outcome)
        elif self.dialogue is not None:
            out = self.dialogue.outcome if self.dialogue.finished else self.dialogue.on_hangup()
            outcome = out.to_json_obj()
            outcome["promise"]["currency"] = getattr(self.account, "currency", "")
            self.emit(EventType.OUTCOME, **outcome)
        else:
            outcome = {"disposition": "handoff" if self.handoff else "assist", "promise": self.promise or None}
        self.emit(EventType.CALL_ENDED, reason=self.end_reason)
        await self.outbound.flush_urgent()  # the softphone page sees the outcome too
        self.runtime.feed.end_call(self.call_id, disposition=outcome.get("disposition"), reason=self.end_reason,
                                   ended_at=time.time())
        if self.recorder is not None:
            # Closing drains the writer and writes mix.wav: blocking work, off the loop.
            await asyncio.to_thread(self.runtime.close_recorder, self, outcome)

    # -- inbound events ------------------------------------------------------------------------
    def handle(self, event: object) -> None:
        match event:
            case ev.AudioReceived(pcm=pcm, channel=channel, gap_ms=gap_ms):
                listener = self.listeners.get(channel)
                if gap_ms:
                    self.emit(EventType.AUDIO_GAP, channel=channel, gap_ms=gap_ms)
                    self.in_samples[channel] = self.in_samples.get(channel, 0) + gap_ms * self.rate_hz // 1000
                pos = self.in_samples.get(channel, 0)
                self.in_samples[channel] = pos + len(pcm) // 2
                if self.recorder is not None:
                    self.recorder.audio(channel, pcm, pos * 1000 // self.rate_hz)
                if listener is not None:
                    listener.push(pcm)
            case ev.TextReceived(text=text, channel=channel):
                listener = self.listeners.get(channel) or self.listeners.get("caller")
                if listener is not None:
                    listener.text_turn(text)
            case ev.DtmfReceived(digit=digit):
                self.emit(EventType.DTMF, digit=digit)
                if self.dialogue is not None and not self.ending:
                    self._apply(self.dialogue.on_dtmf(digit))
            case ev.MarkPlayed(name=name):
                self._mark_echo(name, played=True)
            case ev.MarkCleared(name=name):
                self._mark_echo(name, played=False)
            case ev.FlowPaused():
                self.outbound.set_paused(True)
            case ev.FlowResumed():
                self.outbound.set_paused(False)
            case ev.CallEnded(reason=reason):
                self.end(reason)
            case ev.ControlReceived(kind=kind):
                if kind in ("hangup",):
                    self.end("peer_hangup")
            case _:
                pass

    def start_dialogue(self) -> None:
        if self.dialogue is not None:
            decision = self.runtime.check_call(self)
            self.emit(EventType.STATE_CHANGE, **{"from": "", "to": "compliance_check", "verified": False,
                                                 "allowed": decision.allowed, "rule": decision.rule})
            if not decision.allowed:
                log.info("call %s blocked by %s: %s", self.call_id, decision.rule, decision.detail)
                self.blocked = decision
                self.dialogue = None
                self.ending = "hangup"
                self.say_queue.put_nowait(_EndMarker())
                return
            answered_by = self.started.params.get("AnsweredBy", "")
            if self.started.voicemail or answered_by.startswith(("machine", "fax")):
                self.emit(EventType.STATE_CHANGE, **{"from": "", "to": "voicemail_detected", "verified": False,
                                                     "by": "pbx"})
                self._apply(self.dialogue.on_voicemail())
            else:
                self._apply(self.dialogue.start())

    def answer_complete(self, channel: str, partial: str) -> bool:
        """A caller partial that already answers the bot's question (see DialogueEngine)."""
        return channel == "caller" and self.dialogue is not None and self.dialogue.answer_complete(partial)

    def grammar_for(self, channel: str) -> list[str] | None:
        if channel == "caller" and self.dialogue is not None and not self.dialogue.finished:
            g = self.dialogue.grammar()
            return list(g) if g else None
        return None

    def on_speech_start(self, channel: str, offset_ms: int) -> None:
        self.emit(EventType.SPEECH_START, channel=channel, audio_ms=offset_ms)
        if channel != "caller":
            return
        if self.no_input_task is not None:
            self.no_input_task.cancel()
            self.no_input_task = None
        p = self.playing
        if p is not None and not p.played and not p.interrupted and p.say.interruptible:
            if self.barge_task is None or self.barge_task.done():
                self.barge_task = asyncio.get_running_loop().create_task(self._confirm_barge_in(p))

    def on_voicemail_beep(self, audio_ms: int) -> None:
        """A monologue then a beep: an answering machine is recording. Stop whatever is playing
        and leave only the limited-content message (no debt)."""
        if self.dialogue is None or self.dialogue.finished or self.ending:
            return
        self.emit(EventType.STATE_CHANGE, **{"from": self.dialogue.state, "to": "voicemail_detected",
                                             "verified": False, "by": "beep", "audio_ms": audio_ms})
        if self.playing is not None and not self.playing.played:
            self.barge_in(self.playing)
        self._apply(self.dialogue.on_voicemail())

    def on_speech_end(self, channel: str, offset_ms: int) -> None:
        self.emit(EventType.SPEECH_END, channel=channel, audio_ms=offset_ms)

    async def _confirm_barge_in(self, p: _Prompt) -> None:
        await asyncio.sleep(BARGE_IN_CONFIRM_MS / 1000)
        listener = self.listeners.get("caller")
        if listener is None or not listener.in_speech or p.played or p.interrupted:
            return
        from voicebot.dialogue import is_backchannel

        if listener.last_partial and is_backchannel(listener.last_partial, self.lang):
            return
        self.barge_in(p)

    def barge_in(self, p: _Prompt) -> None:
        dropped = self.outbound.clear_audio()
        p.interrupted = True
        for wire in self.adapter.send(ev.ClearAudio()):
            self.outbound.put_control([wire])
        self._take_adapter_events()
        self.emit(EventType.BARGE_IN, prompt_id=p.say.prompt_id, seq=p.seq)
        self.emit(EventType.PROMPT_INTERRUPTED, prompt_id=p.say.prompt_id, seq=p.seq,
                  dropped_prompts=sorted(int(t) for t in dropped if isinstance(t, int)))
        for seq in dropped:
            q = self.prompts.get(seq) if isinstance(seq, int) else None
            if q is not None:
                q.interrupted = True

    def on_partial(self, channel: str, text: str) -> None:
        self.emit(EventType.PARTIAL, channel=channel, text=text)

    async def on_final(self, channel: str, text: str, words: list[dict[str, Any]], offset_ms: int) -> None:
        """A final that is also a whole turn (typed turns, agent lines, assist mode)."""
        self.emit_final(channel, text, words, offset_ms)
        self.on_turn(channel, text, (int(words[0]["start_ms"]), int(words[-1]["end_ms"])) if words else None)

    def emit_final(self, channel: str, text: str, words: list[dict[str, Any]], offset_ms: int) -> None:
        self.emit(EventType.FINAL, channel=channel, text=text, words=words, audio_ms=offset_ms)

    def on_turn(self, channel: str, text: str, span_ms: tuple[int, int] | None = None) -> None:
        """What was said in one turn (one or more finals) goes to the dialogue or assist;
        ``span_ms`` is its audio (first word start, last word end) when it is one final."""
        if channel == "agent":
            self._agent_turn(text, span_ms)
            return
        if self.dialogue is None:
            self._assist_caller_turn(text)
            return
        if self.ending or self.dialogue.finished:
            return
        self._apply(self.dialogue.on_caller_turn(text))

    def technical_handoff(self, component: str) -> None:
        """An engine failed mid-call: pass the caller to a person rather than go silent.
        The engine restarts its worker for the next call (TTS) or the next utterance (ASR)."""
        if self.ending or self.dialogue is None or self.dialogue.finished:
            return
        from voicebot import dialogue as dl

        summary = {"verified": self.dialogue.verified, "state": self.dialogue.state, "error": component}
        while not self.say_queue.empty():  # lines not yet spoken are moot now
            self.say_queue.get_nowait()
        self._apply([dl.HandOff("technical_error", summary)])

    def _agent_turn(self, text: str, span_ms: tuple[int, int] | None = None) -> None:
        """Flag what the agent said. Spoken lines arrive a segment at a time (a final after
        each 300 ms pause), and a breach can straddle two ("we'll be calling" / "your employer
        about this"): a segment that starts within AGENT_JOIN_MS of the previous one's end is
        judged on its own and joined to it, and flags the previous segment did not already
        raise are warned with the joined text."""
        from voicebot.nlu import agent_flags

        lang = self.lang if self.lang in ("en", "zh") else "en"
        flags = frozenset(agent_flags(text, lang))
        shown, prev = text, self.agent_prev
        if prev is not None and span_ms is not None and span_ms[0] - prev[1] <= AGENT_JOIN_MS:
            joined = f"{prev[0]} {text}"
            more = frozenset(agent_flags(joined, lang)) - prev[2] - flags
            if more:
                flags, shown = flags | more, joined
        self.agent_prev = (text, span_ms[1], flags) if span_ms is not None else None
        if flags:
            self.emit(EventType.COMPLIANCE_WARNING, channel="agent", text=shown, flags=sorted(flags))

    def _assist_caller_turn(self, text: str) -> None:
        from voicebot.nlu import understand

        u = understand(text, self.lang, self.today)
        self.emit(EventType.UNDERSTOOD, channel="caller", **u.to_json_obj())
        if u.amount is not None:
            self.promise["amount"] = u.amount
        if u.date is not None:
            self.promise["date"] = u.date.isoformat()
        if self.promise:
            self.runtime.feed.update_call(self.call_id, promise=dict(self.promise))
        if u.critical or "distress" in u.intents:
            self.emit(EventType.SUGGESTION, reason="distress", critical=u.critical,
                      text="Stop collection talk; acknowledge, offer the hardship route and support resources.")
        elif "dispute" in u.intents:
            self.emit(EventType.SUGGESTION, reason="dispute",
                      text="Stop collection talk; record the dispute and offer a written review.")

    # -- dialogue actions ----------------------------------------------------------------------
    def _apply(self, actions: list[Any]) -> None:
        from voicebot import dialogue as dl

        for a in actions:
            if isinstance(a, dl.Say):
                self.say_queue.put_nowait(a)
            elif isinstance(a, dl.StateChanged):
                self.emit(EventType.STATE_CHANGE, **{"from": a.old, "to": a.new, "verified": self.dialogue.verified})
                self.runtime.feed.update_call(self.call_id, state=a.new, verified=self.dialogue.verified)
            elif isinstance(a, dl.Understood):
                u = a.understanding
                self.emit(EventType.UNDERSTOOD, channel="caller", **u.to_json_obj())
                if u.amount is not None or u.date is not None:
                    if u.amount is not None:
                        self.promise["amount"] = u.amount
                    if u.date is not None:
                        self.promise["date"] = u.date.isoformat()
                    self.runtime.feed.update_call(self.call_id, promise=dict(self.promise))
                self.runtime.feed.update_call(self.call_id, intents=list(u.intents))
            elif isinstance(a, dl.HandOff):
                self.handoff = a
                self.handoff_ms = self.now_ms()
                self.emit(EventType.HANDOFF, reason=a.reason, summary=dict(a.summary))
                self.runtime.feed.update_call(self.call_id, handoff={"reason": a.reason, "summary": dict(a.summary)})
                self.ending = "transfer"
                self.say_queue.put_nowait(_EndMarker())
            elif isinstance(a, dl.EndCall):
                if not self.ending:
                    self.ending = "hangup"
                    self.say_queue.put_nowait(_EndMarker())

    async def _speaker(self) -> None:
        """Render each Say off the loop and queue its frames; then a mark per prompt."""
        while True:
            say = await self.say_queue.get()
            if say is None:
                return
            if isinstance(say, _EndMarker):
                await self._drain_then_end()
                return
            await self._speak(say)

    async def _speak(self, say: Any) -> None:
        self.prompt_seq += 1
        p = _Prompt(self.prompt_seq, say, mark=f"p{self.prompt_seq}-{say.prompt_id}")
        self.prompts[p.seq] = p
        self.emit(EventType.SAY, prompt_id=say.prompt_id, state=say.state, text=say.text,
                  mentions_debt=say.mentions_debt, disclosure=say.disclosure, interruptible=say.interruptible, seq=p.seq,
                  readback=say.state == READBACK_STATE)
        frame_samples = self.rate_hz * self.adapter.frame_ms // 1000
        first = True
        loop = asyncio.get_running_loop()
        end = object()
        try:
            parts = self.runtime.segment_audio(self.lang, say.segments, self.rate_hz)
            while not p.interrupted:
                rendered = await loop.run_in_executor(self.runtime.tts_executor, next, parts, end)
                if rendered is end:
                    break
                pcm = rendered.pcm
                step = frame_samples * 2
                for i in range(0, len(pcm), step):
                    chunk = pcm[i:i + step]
                    wire = self.adapter.send(ev.PlayAudio(chunk, self.rate_hz))
                    on_sent = self._frame_sent(p, chunk, first)
                    first = False
                    self.outbound.put_frame(wire, tag=p.seq, on_sent=on_sent)
        except Exception as exc:  # a TTS failure ends this prompt, not the call
            log.error("call %s: TTS failed for prompt %s: %s", self.call_id, say.prompt_id, exc)
            self.emit(EventType.ERROR, kind="tts", message=str(exc))
            self.runtime.metrics.inc("voicebot_errors_total", kind="tts")
            self.technical_handoff("tts")
        mark_wire = self.adapter.send(ev.SendMark(p.mark))
        self._take_adapter_events()
        confirmed = self.adapter.peer in PEERS_CONFIRMING_MARKS
        self.outbound.put_control(mark_wire, tag=p.mark, on_sent=lambda: self._prompt_sent(p, confirmed))

    def _frame_sent(self, p: _Prompt, chunk: bytes, first: bool) -> Callable[[], None]:
        def done() -> None:
            if first:
                p.started_ms = self.now_ms()
                self.playing = p
                self.emit(EventType.PROMPT_START, prompt_id=p.say.prompt_id, seq=p.seq)
                self.runtime.metrics.inc("voicebot_prompts_started_total")
            p.sent_frames += 1
            if self.recorder is not None:
                self.recorder.audio("bot", chunk, self.now_ms())
        return done

    def _prompt_sent(self, p: _Prompt, has_mark: bool) -> None:
        p.done_sending = True
        if not p.interrupted:
            self.emit(EventType.PROMPT_END, prompt_id=p.say.prompt_id, seq=p.seq, frames=p.sent_frames)
        if not has_mark:
            # Peers without playout marks: sent at real-time pace means heard (within the lead).
            asyncio.get_running_loop().call_later(self.adapter.max_lead_ms / 1000, self._mark_echo, p.mark, True)

    def _mark_echo(self, name: str, played: bool) -> None:
        self.emit(EventType.MARK, name=name, played=played)
        p = next((q for q in self.prompts.values() if q.mark == name), None)
        if p is None or p.played:
            return
        if played and not p.interrupted:
            p.played = True
            self.emit(EventType.PROMPT_PLAYED, prompt_id=p.say.prompt_id, seq=p.seq,
                      disclosure=p.say.disclosure)
        else:
            p.interrupted = True
        if self.playing is p:
            self.playing = None
        self._arm_no_input()

    def _arm_no_input(self) -> None:
        if self.dialogue is None or self.ending or self.dialogue.finished:
            return
        if any(not q.played and not q.interrupted for q in self.prompts.values()) or not self.say_queue.empty():
            return
        listener = self.listeners.get("caller")
        if listener is not None and listener.in_speech:
            return
        if self.no_input_task is not None:
            self.no_input_task.cancel()
        self.no_input_task = asyncio.get_running_loop().create_task(self._no_input(self.dialogue.no_input_timeout_s()))

    async def _no_input(self, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)
        self.no_input_task = None
        if not self.ending and self.dialogue is not None and not self.dialogue.finished:
            self._apply(self.dialogue.on_no_input())

    def _take_adapter_events(self) -> None:
        take = getattr(self.adapter, "take_events", None)
        if take is not None:
            for e in take():
                self.handle(e)

    async def _drain_then_end(self) -> None:
        """Wait until every prompt has played (mark echoed) or timed out, then act."""
        deadline = time.monotonic() + HANGUP_DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            if all(p.played or p.interrupted for p in self.prompts.values()) and self.outbound.idle:
                break
            await asyncio.sleep(0.02)
        if self.ending == "transfer" and self.handoff is not None:
            transfer = ev.Transfer(self.runtime.config.handoff.agent_number, self.handoff.reason,
                                   dict(self.handoff.summary))
            wire = self.adapter.send(transfer)
            for w in wire:
                self.outbound.put_control([w])
            self.emit(EventType.TRANSFER, reason=self.handoff.reason, target=transfer.target,
                      trigger_to_transfer_ms=self.now_ms() - self.handoff_ms)
            self.runtime.hand_off(self, transfer)
        else:
            for w in self.adapter.send(ev.Hangup("completed")):
                self.outbound.put_control([w])
        while not self.outbound.idle:
            await asyncio.sleep(0.01)
        self.end("transfer" if self.ending == "transfer" else "completed")


class _CallOver(Exception):
    pass


class _EndMarker:
    pass


__all__ = ["CallSession", "ChannelListener"]
