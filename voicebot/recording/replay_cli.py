"""``voicebot replay``: replay recorded sessions and report how the new run differs, or stream
a recorded caller into a live server as Twilio would (``--to``).

Exit codes: 0 every replayed session is identical (or, with ``--to``, every stream went
through); 1 a regression (state path or outcome differs; with ``--strict`` any difference),
or a stream failed; 2 bad usage/config (raised to ``voicebot.cli``). Config is read here only.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

import numpy as np

from voicebot.errors import StoreError
from voicebot.events import EventType
from voicebot.recording.format import EVENTS_FILE, SessionRecord, list_sessions, read_session
from voicebot.recording.replay import ReplayReport, ReplaySettings, replay_session

TWILIO_FRAME_MS = 20
TWILIO_RATE_HZ = 8000
CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 10.0
HOLD_LEAD_MS = 300  # turn pacing holds the caller audio this far ahead of a recorded speech start
MAX_HOLD_S = 20.0  # ... but for no longer than this per answer (a bot that never goes quiet)
# Account fields a Twilio start's customParameters carry (voicebot.dialogue.Account.from_mapping).
ACCOUNT_PARAMS = ("account_id", "name", "lender", "amount_due", "currency", "due_date", "callback_number",
                  "timezone", "agent_name")  # after "stop": how long the server may take to end the call and close


def replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sessions", nargs="+", metavar="SESSION",
                        help="session directory, or a directory of sessions")
    parser.add_argument("--text", action="store_true",
                        help="replay the recorded transcripts (no ASR): tests NLU and script changes alone")
    parser.add_argument("--model", metavar="M", help="ASR model (default: the one recorded in meta.json)")
    parser.add_argument("--script", metavar="FILE", help="replay against this call script")
    parser.add_argument("--json", action="store_true", help="one JSON report per session per line")
    parser.add_argument("--strict", action="store_true",
                        help="fail on any difference (transcripts, intents, bot lines too)")
    parser.add_argument("--to", metavar="URL",
                        help="instead: stream the caller audio into a live server, e.g. ws://HOST:PORT/twilio")
    parser.add_argument("--pace", choices=("turns", "clock"), default="turns",
                        help="with --to: 'turns' (default) holds each caller utterance until the new server's bot "
                             "has finished the prompts it answered, as long after as in the recording; 'clock' "
                             "plays the caller audio exactly as recorded")


def replay_main(args: argparse.Namespace) -> int:
    try:
        dirs = session_dirs(args.sessions)
    except StoreError as exc:
        print(f"voicebot replay: {exc}", file=sys.stderr)
        return 2
    if args.to:
        return _stream_all(dirs, args.to, getattr(args, "pace", "turns"))
    cfg = args.config
    settings = ReplaySettings(
        min_promise_fraction=cfg.dialogue.min_promise_fraction, latest_promise_days=cfg.dialogue.latest_promise_days,
        max_no_match=cfg.handoff.max_no_match, endpoint_silence_ms=cfg.asr.endpoint_silence_ms,
        vad_threshold_db=cfg.asr.vad_threshold_db, chunk_ms=cfg.asr.chunk_ms)
    scripts = _Scripts(cfg, args.script)
    engines = _Engines(cfg, args.model)
    failed = 0
    reports: list[ReplayReport] = []
    try:
        for d in dirs:
            try:
                record = read_session(d)
            except StoreError as exc:
                print(f"voicebot replay: {exc}", file=sys.stderr)
                failed += 1
                continue
            lang = str(record.meta.get("lang") or "")
            engine = None if args.text else engines.get(str(record.meta.get("model") or ""))
            report = replay_session(record, scripts.get(lang), engine=engine, settings=settings)
            reports.append(report)
            bad = report.regression or (args.strict and bool(report.differences))
            failed += bad
            if args.json:
                print(json.dumps(report.to_json_obj(), ensure_ascii=False), flush=True)
            else:
                print_report(report, sys.stdout)
    finally:
        engines.close()
    if not args.json and len(reports) > 1:
        same = sum(r.identical for r in reports)
        skipped = sum(bool(r.skipped) for r in reports)
        print(f"{len(reports)} sessions: {same} identical, {len(reports) - same - skipped} differ "
              f"({failed} failing), {skipped} skipped")
    return 1 if failed else 0


def session_dirs(paths: Sequence[str]) -> list[Path]:
    """Each path is a session directory, or a directory of sessions."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / EVENTS_FILE).is_file():
            out.append(p)
        elif p.is_dir() and list_sessions(p):
            out.extend(list_sessions(p))
        else:
            raise StoreError(f"{p} is neither a session directory nor a directory of sessions")
    return out


def print_report(report: ReplayReport, out: TextIO) -> None:
    """The human-readable report of one session."""
    if report.skipped:
        status = f"skipped: {report.skipped}"
    elif report.identical:
        rep = report.replayed
        assert rep is not None
        status = (f"identical ({report.mode} replay: {len(rep.transcripts)} caller turn(s), "
                  f"{len(rep.states)} states, outcome {rep.outcome.get('disposition')})")
    else:
        status = "REGRESSION" if report.regression else "differs (no regression)"
    print(f"{report.call_id}: {status}", file=out)
    for d in report.differences:
        print(f"  {'!' if d.regression else '~'} {d.detail}", file=out)
    for n in report.notes:
        print(f"  note: {n}", file=out)


class _Scripts:
    """The script each language replays against: --script, else as the server picks it."""

    def __init__(self, cfg: Any, override: str | None) -> None:
        from voicebot.dialogue import load_script

        self.cfg = cfg
        self.override = load_script(Path(override), cfg.dialogue.profile) if override else None
        self.cache: dict[str, Any] = {}

    def get(self, lang: str) -> Any:
        from voicebot.dialogue import load_script, script_for

        if self.override is not None:
            return self.override
        if lang not in self.cache:
            d = self.cfg.dialogue
            if d.script and d.lang in ("", lang):
                self.cache[lang] = load_script(Path(d.script), d.profile)
            else:
                self.cache[lang] = script_for(lang, Path(d.prompts_dir) if d.prompts_dir else None, d.profile)
        return self.cache[lang]


class _Engines:
    """One AsrEngine per model, loaded on first use (--model wins over meta's model)."""

    def __init__(self, cfg: Any, override: str | None) -> None:
        self.cfg = cfg
        self.override = override
        self.cache: dict[str, Any] = {}

    def get(self, recorded: str) -> Any:
        from voicebot.asr.engine import AsrEngine
        from voicebot.asr.models import resolve_model

        spec = self.override or recorded or self.cfg.asr.model
        if spec not in self.cache:
            a = self.cfg.asr
            model = resolve_model(spec, Path(a.models_dir), a.allow_download)
            self.cache[spec] = AsrEngine(model, workers=1, pool_size=1, warm_rates_hz=[])
        return self.cache[spec]

    def close(self) -> None:
        for e in self.cache.values():
            e.close()


# -- streaming into a live server ------------------------------------------------------------

def _stream_all(dirs: list[Path], url: str, pace: str = "turns") -> int:
    from websockets.exceptions import WebSocketException

    failed = 0
    for d in dirs:
        try:
            call_id = asyncio.run(stream_session(read_session(d), url, pace=pace))
        except (OSError, TimeoutError, StoreError, WebSocketException) as exc:
            print(f"voicebot replay: {d}: could not stream to {url}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(call_id, flush=True)
    return 1 if failed else 0


def caller_ulaw(record: SessionRecord) -> bytes:
    """The recorded caller channel as 8 kHz mu-law (what a Twilio stream carries)."""
    from voicebot.audio.g711 import ulaw_encode
    from voicebot.audio.resample import resample_once
    from voicebot.audio.wav import read_wav

    path = record.audio.get("caller")
    if path is None:
        raise StoreError(f"{record.dir} has no caller.wav")
    wav = read_wav(path)
    pcm = wav.pcm if wav.pcm.ndim == 1 else wav.pcm[:, 0]
    if wav.rate_hz != TWILIO_RATE_HZ:
        pcm = resample_once(pcm, wav.rate_hz, TWILIO_RATE_HZ)
    return ulaw_encode(np.asarray(pcm, dtype=np.int16))


@dataclass(frozen=True, slots=True)
class TurnHold:
    """Where turn pacing may hold or skip the recorded caller audio: the caller's utterance
    that starts at ``speech_ms`` (caller audio time) answered ``marks`` prompts (playout marks
    between the previous utterance's start, ``after_ms``, and this one) and began ``quiet_ms``
    after the last of them ended. The stream plays the audio up to ``at_ms`` (a little before
    the speech) only once the live bot has sent as many marks since ``after_ms`` and then been
    quiet for ``quiet_ms``; recorded silence before ``at_ms`` is skipped if it is ready sooner."""

    after_ms: int
    at_ms: int
    marks: int
    quiet_ms: int


def turn_holds(record: SessionRecord) -> list[TurnHold]:
    """The holds for turn pacing (``stream_session(pace="turns")``). Utterances that were not
    an answer to a finished prompt (the caller spoke over the bot, spoke twice in a row, or
    pressed a key in between) get none: their audio keeps its recorded distance from the
    previous utterance."""
    starts = [(int(e.data.get("audio_ms", e.offset_ms)), e.offset_ms) for e in record.events
              if e.type == EventType.SPEECH_START and e.data.get("channel", "caller") == "caller"]
    ends = [int(e.data.get("audio_ms", e.offset_ms)) for e in record.events
            if e.type == EventType.SPEECH_END and e.data.get("channel", "caller") == "caller"]
    marks = [e.offset_ms for e in record.events if e.type == EventType.MARK]
    prompt_starts = [e.offset_ms for e in record.events if e.type == EventType.PROMPT_START]
    keys = [e.offset_ms for e in record.events if e.type == EventType.DTMF]
    holds: list[TurnHold] = []
    prev_start = prev_end = 0
    for i, (audio_ms, at_server_ms) in enumerate(starts):
        window = [m for m in marks if prev_start < m <= at_server_ms]
        spoken_over = window and any(window[-1] < p <= at_server_ms for p in prompt_starts)
        keyed = any(prev_start < k <= at_server_ms for k in keys)
        if window and not spoken_over and not keyed:
            at_ms = max(prev_end, audio_ms - HOLD_LEAD_MS)
            holds.append(TurnHold(prev_start, at_ms, len(window), max(0, at_ms - window[-1])))
        prev_start = audio_ms
        prev_end = max(prev_end, next((e for e in ends if e > audio_ms), audio_ms))
    return holds


class _Peer:
    """What the streamer has seen of the server's side: bot audio and playout marks."""

    __slots__ = ("marks", "last_mark", "last_media")

    def __init__(self) -> None:
        self.marks = 0
        self.last_mark = self.last_media = -1.0

    def ready(self, base: int, hold: TurnHold, now: float) -> bool:
        return (self.marks - base >= hold.marks and self.last_mark >= self.last_media
                and now - self.last_mark >= hold.quiet_ms / 1000)


async def stream_session(
    record: SessionRecord,
    url: str,
    *,
    call_id: str | None = None,
    params: Mapping[str, str] | None = None,
    close_timeout_s: float = CLOSE_TIMEOUT_S,
    pace: str = "turns",
    max_hold_s: float = MAX_HOLD_S,
) -> str:
    """Play ``record``'s caller channel into a live server in real time as Twilio Media
    Streams would: ``connected``, ``start`` (customParameters: meta ``lang``, the fields of
    meta ``account``, meta ``params``, then ``params``), 20 ms mu-law ``media`` frames paced by the loop clock (no
    drift: frame *k* leaves at t0 + 20k ms), recorded key presses as ``dtmf`` at their
    offsets, every mark the server sends echoed at once, ``stop`` when the audio ends (or
    earlier if the server closes). Returns the call id used (``callSid``).

    ``pace="clock"`` plays the caller audio exactly as recorded. ``pace="turns"`` (what a
    replay against a changed server needs: its prompts may be longer, or rendered later)
    holds each answer until the new bot has finished the prompts it answers (see
    ``turn_holds``), sending silence meanwhile (at most ``max_hold_s`` per answer), and skips
    recorded silence when the bot is done sooner. Key presses stay at their place in the audio."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    frame_bytes = TWILIO_RATE_HZ * TWILIO_FRAME_MS // 1000
    audio = caller_ulaw(record)
    call_id = call_id or f"{record.call_id}-replay-{uuid.uuid4().hex[:6]}"
    stream_sid = f"MZ{uuid.uuid4().hex}"
    custom = {"lang": str(record.meta.get("lang") or "")}
    account = record.meta.get("account")
    if isinstance(account, Mapping):  # the same account, so the new call takes the same turns
        custom.update({k: str(account[k]) for k in ACCOUNT_PARAMS if account.get(k) not in (None, "")})
        custom.setdefault("account_id", str(record.meta.get("account_id") or "replay"))
    if isinstance(record.meta.get("params"), Mapping):
        custom.update({str(k): str(v) for k, v in record.meta["params"].items()})
    custom.update(params or {})
    custom = {k: v for k, v in custom.items() if v}
    dtmf = sorted((e.offset_ms, str(e.data.get("digit", ""))) for e in record.events if e.type == EventType.DTMF)
    if pace not in ("turns", "clock"):
        raise ValueError(f"pace must be 'turns' or 'clock', not {pace!r}")
    holds = turn_holds(record) if pace == "turns" else []
    peer = _Peer()
    silence = b"\xff" * frame_bytes
    async with connect(url, open_timeout=CONNECT_TIMEOUT_S, max_size=2**22) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({
            "event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
            "start": {"streamSid": stream_sid, "accountSid": "ACreplay", "callSid": call_id,
                      "tracks": ["inbound"], "customParameters": custom,
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": TWILIO_RATE_HZ, "channels": 1}},
        }))

        async def echo_marks() -> None:
            try:
                async for raw in ws:
                    msg = json.loads(raw)
                    if isinstance(msg, dict) and msg.get("event") == "media":
                        peer.last_media = loop.time()
                    if isinstance(msg, dict) and msg.get("event") == "mark":
                        peer.marks, peer.last_mark = peer.marks + 1, loop.time()
                        # Twilio echoes a mark when playback reaches it; we "play" as we receive.
                        await ws.send(json.dumps({"event": "mark", "sequenceNumber": "0",
                                                  "streamSid": stream_sid, "mark": msg.get("mark", {})}))
            except ConnectionClosed:
                pass

        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(echo_marks())
        try:
            seq, t0 = 2, loop.time()
            pos = 0  # caller audio sent so far, in bytes (= samples)
            pending = list(holds)
            base: int | None = None  # marks seen when the audio passed pending[0].after_ms
            held_since: float | None = None
            k = -1
            while pos < len(audio):
                k += 1
                if reader.done():
                    break  # the server ended the call (hang-up, transfer)
                pos_ms, now, frame = pos * 1000 // TWILIO_RATE_HZ, loop.time(), None
                if pending and base is None and pos_ms >= pending[0].after_ms:
                    base = peer.marks
                if pending and base is not None:
                    h = pending[0]
                    if peer.ready(base, h, now):  # the bot is done: the answer may start
                        if pos_ms < h.at_ms:  # sooner than recorded: skip the recorded silence
                            pos, pos_ms = h.at_ms * TWILIO_RATE_HZ // 1000, h.at_ms
                        pending.pop(0)
                        base = held_since = None
                    elif pos_ms >= h.at_ms:  # not done yet: hold the answer, send silence
                        held_since = now if held_since is None else held_since
                        if now - held_since < max_hold_s:
                            frame = silence
                        else:
                            pending.pop(0)
                            base = held_since = None
                while dtmf and dtmf[0][0] <= pos_ms and frame is None:
                    digit = dtmf.pop(0)[1]
                    await ws.send(json.dumps({"event": "dtmf", "streamSid": stream_sid, "sequenceNumber": str(seq),
                                              "dtmf": {"track": "inbound_track", "digit": digit}}))
                    seq += 1
                if frame is None:
                    frame = audio[pos:pos + frame_bytes].ljust(frame_bytes, b"\xff")
                    pos += frame_bytes
                await ws.send(json.dumps({
                    "event": "media", "sequenceNumber": str(seq), "streamSid": stream_sid,
                    "media": {"track": "inbound", "chunk": str(k + 1), "timestamp": str(k * TWILIO_FRAME_MS),
                              "payload": base64.b64encode(frame).decode()},
                }))
                seq += 1
                await asyncio.sleep(max(0.0, t0 + (k + 1) * TWILIO_FRAME_MS / 1000 - loop.time()))
            if not reader.done():
                await ws.send(json.dumps({"event": "stop", "sequenceNumber": str(seq), "streamSid": stream_sid,
                                          "stop": {"accountSid": "ACreplay", "callSid": call_id}}))
                await asyncio.wait_for(asyncio.shield(reader), close_timeout_s)
        except (ConnectionClosed, TimeoutError):
            pass  # the server closed first, or took too long to: either way the stream is over
        finally:
            reader.cancel()
    return call_id


__all__ = ["TurnHold", "caller_ulaw", "turn_holds", "print_report", "replay_arguments", "replay_main", "session_dirs", "stream_session"]
