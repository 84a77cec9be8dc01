"""Structure-aware fuzzing of every telephony adapter's inbound parser and outbound encoder.

Each case starts from a *valid* frame sequence for one peer (Twilio connected/start/media/
mark/dtmf/stop, Asterisk MEDIA_START + audio, an AudioSocket byte stream, ...), mutates it
(valid JSON with wrong types, missing keys, huge numbers, lone surrogates and other unicode;
truncated or invalid base64; random bytes; AudioSocket headers split across reads; binary
where text is expected and the reverse), and feeds it to a fresh adapter through
``receive_text``/``receive_bytes``, interleaved with random outbound commands through ``send``.

The adapter contract (telephony/base.py) says every input either returns events or raises
``ProtocolError``; ``send`` never fails on a well-formed command. Counted per adapter:

* ``inputs``: frames fed (one ``receive_*`` call each) plus ``send`` calls;
* ``crashes``: any other exception (must be 0), with the first few tracebacks;
* ``bad_output``: contract breaches that raised nothing: an event that is not an
  ``InboundEvent``, odd-length pcm, or an outbound ``str`` that cannot be encoded as UTF-8
  (the socket would fail on it);
* ``close_codes``: histogram of ``ProtocolError.close_code`` (a case stops at its first one,
  as the server closes the connection);
* ``inputs_per_s``.

Run: .venv/bin/python benchmarks/fuzz_adapters.py [--n 100000] [--seed 9] [--adapter NAME] [--json]
"""
from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot import events as ev
from voicebot.errors import ProtocolError
from voicebot.telephony.asterisk import AsteriskWsAdapter
from voicebot.telephony.audiofork import AudioForkAdapter
from voicebot.telephony.audiosocket import AudioSocketAdapter
from voicebot.telephony.softphone import SoftphoneAdapter
from voicebot.telephony.twilio import TwilioAdapter
from voicebot.telephony.voskserver import VoskProtocolAdapter

__all__ = ["ADAPTERS", "FuzzResult", "fuzz_adapter", "run_campaign"]

# One step of a case: ("text", str) | ("bytes", bytes) | ("send", OutboundCommand)
Step = tuple[str, Any]

ADAPTERS: dict[str, Callable[[], Any]] = {
    "twilio": TwilioAdapter,
    "audiofork-mono": lambda: AudioForkAdapter(8000, 1),
    "audiofork-stereo": lambda: AudioForkAdapter(16000, 2, "audio_stream"),
    "asterisk": lambda: AsteriskWsAdapter(query_params={"account_id": "A1"}),
    "audiosocket": AudioSocketAdapter,
    "vosk": VoskProtocolAdapter,
    "softphone": SoftphoneAdapter,
}

_INBOUND_TYPES = (
    ev.CallStarted, ev.AudioReceived, ev.DtmfReceived, ev.MarkPlayed, ev.MarkCleared, ev.FlowPaused,
    ev.FlowResumed, ev.TextReceived, ev.ControlReceived, ev.CallEnded,
)

_WEIRD_STRINGS = [
    "", " ", "\x00", "\ud800", "\udfff", "\U0001f4a9", "한국어", "名字", "\u202e", "a" * 5000,
    "1e309", "-1", "NaN", "0x10", "１２３", "9" * 40, "\n\r\t", '"', "\\", "null", "{}", "[]",
]
_DEEP = re.compile(r'"__DEEP_(\d+)__"')
_WEIRD_NUMBERS: list[Any] = [
    0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 10**400, 1.5, -0.0, 1e308, 8000.0, 16000, 0.1,
    float("inf"), float("-inf"), float("nan"), True, False,
]


# ----------------------------------------------------------------------------------------------
# Mutators
# ----------------------------------------------------------------------------------------------


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if r < 0.25:
        return rng.choice(_WEIRD_STRINGS)
    if r < 0.5:
        return rng.choice(_WEIRD_NUMBERS)
    if r < 0.6:
        return None
    if r < 0.7 and depth < 3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if r < 0.8 and depth < 3:
        return {rng.choice(_WEIRD_STRINGS[:12]) or "k": _random_value(rng, depth + 1) for _ in range(rng.randrange(3))}
    if r < 0.85:
        return f"__DEEP_{rng.choice((50, 500, 5000, 100_000))}__"  # expanded by _dumps
    return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(1, 20)))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _mutate_obj(rng: random.Random, obj: Any) -> Any:
    """A deep copy of ``obj`` with one to three structural mutations."""
    obj = json.loads(json.dumps(obj))
    for _ in range(rng.randrange(1, 4)):
        paths = list(_paths(obj))
        if not paths:
            return _random_value(rng)
        path = rng.choice(paths)
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        op = rng.random()
        if op < 0.3 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.8:
            parent[key] = _random_value(rng)
        elif isinstance(parent, dict):
            parent[rng.choice(_WEIRD_STRINGS) or "x"] = _random_value(rng)
        else:
            parent.append(_random_value(rng))
    return obj


def _dumps(rng: random.Random, obj: Any) -> str:
    # allow_nan emits NaN/Infinity, which Python's json accepts back; ensure_ascii=True turns
    # lone surrogates into \\ud800 escapes (valid JSON text that decodes to an unencodable str).
    text = json.dumps(obj, ensure_ascii=rng.random() < 0.7)
    # Deeply nested arrays, spliced in as text (json.dumps itself would recurse too deep).
    return _DEEP.sub(lambda m: "[" * int(m.group(1)) + "0" + "]" * int(m.group(1)), text)


def _mutate_text(rng: random.Random, text: str) -> str:
    r = rng.random()
    if not text or r < 0.2:
        return rng.randbytes(rng.randrange(0, 64)).decode("latin-1")
    if r < 0.45:
        return text[: rng.randrange(len(text))]
    if r < 0.6:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(['"', "}", "{", ",", "\\", "\x00", "\ud800", "]"]) + text[i + 1:]
    if r < 0.7:
        return text * rng.randrange(2, 5)
    if r < 0.8:
        return " \n\t" + text + "\n"
    if r < 0.97:
        return text.upper()
    return "x" * rng.choice((70_000, 300_000, 1_100_000))  # over each adapter's text limit


def _mutate_b64(rng: random.Random, payload: str) -> str:
    r = rng.random()
    if r < 0.3:
        return payload[: rng.randrange(len(payload) + 1)]  # truncated
    if r < 0.5:
        i = rng.randrange(len(payload) + 1)
        return payload[:i] + rng.choice("!*-_ =\n.") + payload[i:]
    if r < 0.6:
        return payload.rstrip("=")
    if r < 0.7:
        return base64.b64encode(rng.randbytes(rng.randrange(0, 4000))).decode()
    if r < 0.8:
        return base64.urlsafe_b64encode(rng.randbytes(rng.randrange(1, 400))).decode()
    if r < 0.9:
        return "=" * rng.randrange(1, 9)
    return "A" * rng.choice((262_144, 400_000))


def _audio_bytes(rng: random.Random, max_len: int = 1400) -> bytes:
    r = rng.random()
    if r < 0.1:
        return b""
    if r < 0.2:
        return rng.randbytes(1)
    if r < 0.21:
        return rng.randbytes(rng.choice((1_048_577, 4_194_305)))  # just over the binary limits
    return rng.randbytes(rng.randrange(1, max_len))


def _random_command(rng: random.Random) -> ev.OutboundCommand:
    r = rng.random()
    if r < 0.45:
        n = rng.choice((0, 1, 7, 80, 160, 333, 1600))
        rate = rng.choice((8000, 16000, 22050, 24000, 44100))
        return ev.PlayAudio(rng.randbytes(2 * n), rate)
    if r < 0.6:
        return ev.SendMark(rng.choice(["p1-greeting", "m", "a b", "x" * 300, "한국", "m1", "p2"]))
    if r < 0.7:
        return ev.ClearAudio()
    if r < 0.8:
        return ev.Hangup(rng.choice(["completed", "한국", ""]))
    if r < 0.9:
        return ev.Transfer(rng.choice(["+15550100", "sip:agent@pbx"]), "technical_error",
                           {"verified": True, "x": rng.choice(["名字", 1, None, [1]])})
    return ev.SendJson(rng.choice(['{"a":1}', '{"text":"네"}', "plain"]))


# ----------------------------------------------------------------------------------------------
# Valid sequences per peer, then mutated
# ----------------------------------------------------------------------------------------------


def _twilio_case(rng: random.Random) -> list[Step]:
    sid = "MZ" + uuid.UUID(int=rng.getrandbits(128)).hex
    fmt = rng.choice([
        None,
        {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        {"encoding": "audio/x-l16", "sampleRate": 16000, "channels": 1},
        {"encoding": "audio/x-alaw", "sampleRate": "8000", "channels": "1"},
    ])
    start: dict[str, Any] = {"streamSid": sid, "accountSid": "AC1", "callSid": "CA1", "tracks": ["inbound"],
                             "customParameters": {"lang": "ko", "account_id": "A1"}}
    if fmt is not None:
        start["mediaFormat"] = fmt
    msgs: list[dict[str, Any]] = [
        {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        {"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": start},
    ]
    for i in range(rng.randrange(1, 5)):
        payload = base64.b64encode(rng.randbytes(rng.choice((160, 320, 640, 7)))).decode()
        msgs.append({"event": "media", "sequenceNumber": str(i + 2), "streamSid": sid,
                     "media": {"track": "inbound", "chunk": str(i), "timestamp": str(i * 20), "payload": payload}})
    msgs.append({"event": "mark", "streamSid": sid, "mark": {"name": "p1-greeting"}})
    msgs.append({"event": "dtmf", "streamSid": sid, "dtmf": {"track": "inbound_track", "digit": "5"}})
    msgs.append({"event": "stop", "streamSid": sid, "stop": {"accountSid": "AC1", "callSid": "CA1"}})
    steps: list[Step] = []
    for m in msgs:
        r = rng.random()
        if r < 0.12:
            steps.append(("text", _dumps(rng, _mutate_obj(rng, m))))
        elif r < 0.17:
            steps.append(("text", _mutate_text(rng, json.dumps(m))))
        elif r < 0.25 and m["event"] == "media":
            m = json.loads(json.dumps(m))
            m["media"]["payload"] = _mutate_b64(rng, m["media"]["payload"])
            steps.append(("text", json.dumps(m)))
        elif r < 0.27:
            steps.append(("bytes", json.dumps(m).encode()))
        else:
            steps.append(("text", json.dumps(m)))
    return steps


def _audiofork_case(rng: random.Random) -> list[Step]:
    meta: Any = {"uuid": str(uuid.UUID(int=rng.getrandbits(128))), "callSid": "CA1", "sampleRate": 16000,
                 "mixType": rng.choice(["mono", "stereo", "mixed"]), "lang": "ko"}
    steps: list[Step] = []
    r = rng.random()
    if r < 0.3:
        steps.append(("text", _dumps(rng, _mutate_obj(rng, meta))))
    elif r < 0.45:
        steps.append(("text", _mutate_text(rng, json.dumps(meta))))
    elif r < 0.85:
        steps.append(("text", json.dumps(meta)))
    for _ in range(rng.randrange(1, 6)):
        r = rng.random()
        if r < 0.7:
            steps.append(("bytes", _audio_bytes(rng)))
        elif r < 0.8:
            steps.append(("text", json.dumps({"event": "dtmf", "dtmf": rng.choice(["5", 5, "", "123", None])})))
        elif r < 0.9:
            steps.append(("text", _dumps(rng, _mutate_obj(rng, {"type": "mark", "data": {"name": "p1", "event": "playout"}}))))
        else:
            steps.append(("text", _mutate_text(rng, "stop bye")))
    return steps


_AST_PLAIN = ("MEDIA_START connection_id:abc channel:WebSocket/x-1 channel_id:1700.1 format:{fmt} "
              "optimal_frame_size:{size} ptime:20")


def _asterisk_case(rng: random.Random) -> list[Step]:
    fmt, size = rng.choice([("ulaw", 160), ("slin16", 640), ("alaw", 160), ("slin", 320)])
    steps: list[Step] = []
    if rng.random() < 0.5:
        start = _AST_PLAIN.format(fmt=fmt, size=size)
        r = rng.random()
        if r < 0.2:
            tokens = start.split()
            i = rng.randrange(1, len(tokens))
            key = tokens[i].split(":")[0]
            tokens[i] = f"{key}:{rng.choice(_WEIRD_STRINGS[:20])}".replace(" ", "")
            start = " ".join(tokens)
        elif r < 0.3:
            start = _mutate_text(rng, start)
    else:
        obj = {"event": "MEDIA_START", "connection_id": "abc", "channel": "WebSocket/x-1", "channel_id": "1700.1",
               "format": fmt, "optimal_frame_size": size, "ptime": 20,
               "channel_variables": {"lang": "ko", "account_id": "A1"}}
        start = _dumps(rng, _mutate_obj(rng, obj)) if rng.random() < 0.3 else json.dumps(obj)
    if rng.random() < 0.15:
        steps.append(("bytes", _audio_bytes(rng)))  # early audio (asterisk#1712)
    steps.append(("text", start))
    for _ in range(rng.randrange(1, 6)):
        r = rng.random()
        if r < 0.5:
            steps.append(("bytes", _audio_bytes(rng)))
        else:
            line = rng.choice([
                "MEDIA_XOFF", "MEDIA_XON", "MEDIA_MARK_PROCESSED p1-greeting", "MEDIA_MARK_PROCESSED",
                "DTMF_END digit:5", "DTMF_END digit:", "STATUS queue_length:3 xon_level:800",
                "ERROR error_text:boom bad thing", '{"event":"DTMF_END","digit":5}',
                '{"event":"MEDIA_MARK_PROCESSED","correlation_id":7}', "QUEUE_DRAINED", "", "   ",
            ])
            if rng.random() < 0.3:
                line = _mutate_text(rng, line)
            steps.append(("text", line))
    return steps


def _as_msg(kind: int, payload: bytes) -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(2, "big") + payload


def _audiosocket_case(rng: random.Random) -> list[Step]:
    u = uuid.UUID(int=rng.getrandbits(128))
    msgs = [_as_msg(0x01, u.bytes if rng.random() < 0.8 else str(u).encode())]
    for _ in range(rng.randrange(1, 6)):
        r = rng.random()
        if r < 0.6:
            msgs.append(_as_msg(rng.choice((0x10, 0x10, 0x12, 0x16)), rng.randbytes(rng.choice((320, 640, 3, 0)))))
        elif r < 0.75:
            msgs.append(_as_msg(0x03, rng.choice((b"5", b"#", b"", b"55", b"\xff"))))
        elif r < 0.85:
            msgs.append(_as_msg(rng.randrange(256), rng.randbytes(rng.randrange(0, 50))))
        else:
            msgs.append(rng.randbytes(rng.randrange(1, 40)))  # garbage on the stream
    if rng.random() < 0.5:
        msgs.append(_as_msg(rng.choice((0x00, 0xFF)), rng.choice((b"", b"\x01", b"\x04"))))
    stream = bytearray(b"".join(msgs))
    if rng.random() < 0.3:  # flip a few bytes anywhere, headers included
        for _ in range(rng.randrange(1, 4)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
    if rng.random() < 0.1:
        stream[1:3] = (0xFFFF).to_bytes(2, "big")
    # Arbitrary TCP read boundaries: headers split across reads.
    steps: list[Step] = []
    i = 0
    while i < len(stream):
        n = rng.choice((1, 2, 3, 4, rng.randrange(1, 700)))
        steps.append(("bytes", bytes(stream[i:i + n])))
        i += n
    if rng.random() < 0.05:
        steps.insert(rng.randrange(len(steps) + 1), ("text", "hello"))
    return steps


def _vosk_case(rng: random.Random) -> list[Step]:
    config = {"config": {"sample_rate": 16000, "words": 1, "max_alternatives": 0, "phrase_list": ["네", "아니요"]}}
    steps: list[Step] = []
    r = rng.random()
    if r < 0.35:
        steps.append(("text", _dumps(rng, _mutate_obj(rng, config))))
    elif r < 0.45:
        steps.append(("text", _mutate_text(rng, json.dumps(config, indent=2))))
    elif r < 0.85:
        steps.append(("text", json.dumps(config)))
    for _ in range(rng.randrange(1, 6)):
        steps.append(("bytes", _audio_bytes(rng)))
    tail = rng.choice(['{"eof" : 1}', '{"reset": 1}', '{"eof": null}', '{"other": 1}', "eof", "[1]", "", None])
    if tail is not None:
        steps.append(("text", tail))
    return steps


def _softphone_case(rng: random.Random) -> list[Step]:
    start: dict[str, Any] = {"type": "start", "call_id": "web-1", "lang": "ko", "rate_hz": 16000,
                             "account": {"account_id": "A1", "name": "김", "amount_due": 1000},
                             "mode": rng.choice(["bot", "assist"])}
    steps: list[Step] = []
    r = rng.random()
    if r < 0.3:
        steps.append(("text", _dumps(rng, _mutate_obj(rng, start))))
    elif r < 0.4:
        steps.append(("text", _mutate_text(rng, json.dumps(start))))
    else:
        steps.append(("text", json.dumps(start)))
    later = [
        {"type": "text", "text": "네", "channel": "caller"},
        {"type": "text", "text": "hello", "channel": "agent"},
        {"type": "dtmf", "digit": "5"},
        {"type": "played", "name": "p1-greeting"},
        {"type": "hangup"},
    ]
    for _ in range(rng.randrange(1, 6)):
        r = rng.random()
        if r < 0.45:
            steps.append(("bytes", _audio_bytes(rng)))
        elif r < 0.65:
            steps.append(("text", _dumps(rng, _mutate_obj(rng, rng.choice(later)))))
        elif r < 0.7:
            steps.append(("text", _mutate_text(rng, json.dumps(rng.choice(later)))))
        else:
            steps.append(("text", json.dumps(rng.choice(later))))
    return steps


CASES: dict[str, Callable[[random.Random], list[Step]]] = {
    "twilio": _twilio_case,
    "audiofork-mono": _audiofork_case,
    "audiofork-stereo": _audiofork_case,
    "asterisk": _asterisk_case,
    "audiosocket": _audiosocket_case,
    "vosk": _vosk_case,
    "softphone": _softphone_case,
}


# ----------------------------------------------------------------------------------------------
# The campaign
# ----------------------------------------------------------------------------------------------


@dataclass
class FuzzResult:
    adapter: str
    inputs: int = 0
    cases: int = 0
    crashes: int = 0
    bad_output: int = 0
    unencodable: int = 0
    unencodable_examples: list[str] = field(default_factory=list)
    close_codes: Counter[int] = field(default_factory=Counter)
    event_kinds: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # first few crashes / bad outputs
    seconds: float = 0.0

    @property
    def inputs_per_s(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def to_json_obj(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "inputs": self.inputs, "cases": self.cases, "crashes": self.crashes,
                "bad_output": self.bad_output, "unencodable": self.unencodable,
                "unencodable_examples": self.unencodable_examples, "close_codes": dict(sorted(self.close_codes.items())),
                "event_kinds": dict(sorted(self.event_kinds.items())), "inputs_per_s": round(self.inputs_per_s),
                "seconds": round(self.seconds, 2), "examples": self.examples}


def _check_events(events: object, result: FuzzResult, where: str) -> None:
    if not isinstance(events, list):
        _bad(result, f"{where}: returned {type(events).__name__}, not a list")
        return
    for e in events:
        if not isinstance(e, _INBOUND_TYPES):
            _bad(result, f"{where}: not an InboundEvent: {e!r:.200}")
            continue
        result.event_kinds[type(e).__name__] += 1
        if isinstance(e, ev.AudioReceived) and (len(e.pcm) % 2 or e.rate_hz <= 0):
            _bad(result, f"{where}: AudioReceived with {len(e.pcm)} bytes at {e.rate_hz} Hz")
        if not isinstance(e, ev.AudioReceived):
            _utf8(_strings(e), result, f"{where}: {type(e).__name__}")


def _strings(value: object) -> str:
    """Every string inside an event (fields, params, data), joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) or hasattr(value, "items"):
        return "".join(_strings(k) + _strings(v) for k, v in value.items())  # type: ignore[union-attr]
    if isinstance(value, (list, tuple)):
        return "".join(_strings(v) for v in value)
    slots = getattr(type(value), "__slots__", ())
    return "".join(_strings(getattr(value, s)) for s in slots if not isinstance(getattr(value, s), bytes))


def _utf8(text: str, result: FuzzResult, where: str) -> None:
    """Peer text that cannot become UTF-8 (lone surrogates from JSON escapes) breaks whatever
    writes it: the websocket send, events.jsonl, a session directory name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        result.unencodable += 1
        if len(result.unencodable_examples) < 3:
            result.unencodable_examples.append(f"{where}: {exc}")


def _bad(result: FuzzResult, message: str) -> None:
    result.bad_output += 1
    if len(result.examples) < 5:
        result.examples.append(message)


def _step_repr(step: Step) -> str:
    return f"{step[0]} {step[1]!r:.160}"


def fuzz_adapter(name: str, n: int, seed: int) -> FuzzResult:
    """Feed at least ``n`` inputs to fresh ``name`` adapters; deterministic for a given seed."""
    rng = random.Random(f"{seed}:{name}")
    make, make_case = ADAPTERS[name], CASES[name]
    result = FuzzResult(name)
    t0 = time.perf_counter()
    while result.inputs < n:
        adapter = make()
        steps = make_case(rng)
        # Outbound commands interleaved anywhere (before start they must be dropped quietly).
        for _ in range(rng.randrange(0, 3)):
            steps.insert(rng.randrange(len(steps) + 1), ("send", _random_command(rng)))
        result.cases += 1
        for step in steps:
            result.inputs += 1
            kind, value = step
            try:
                if kind == "send":
                    wire = adapter.send(value)
                    if not isinstance(wire, list) or not all(isinstance(w, (str, bytes)) for w in wire):
                        _bad(result, f"send({value!r:.80}) returned {wire!r:.120}")
                    for w in wire:
                        if isinstance(w, str):
                            _utf8(w, result, f"send({type(value).__name__}) output")
                    _check_events(adapter.take_events(), result, "take_events")
                elif kind == "text":
                    # A websocket text frame is valid UTF-8, so a lone surrogate can only
                    # arrive as a JSON escape: send it in that form.
                    text = value.encode("utf-8", "backslashreplace").decode("utf-8")
                    _check_events(adapter.receive_text(text), result, "receive_text")
                else:
                    _check_events(adapter.receive_bytes(value), result, "receive_bytes")
            except ProtocolError as exc:
                result.close_codes[exc.close_code] += 1
                if exc.close_code not in (1003, 1007, 1008, 1009):
                    _bad(result, f"close code {exc.close_code} for {_step_repr(step)}")
                break
            except Exception:
                result.crashes += 1
                if len(result.examples) < 5:
                    result.examples.append(f"{_step_repr(step)}\n{traceback.format_exc(limit=4)}")
                break
    result.seconds = time.perf_counter() - t0
    return result


def run_campaign(n: int, seed: int, names: list[str] | None = None) -> list[FuzzResult]:
    return [fuzz_adapter(name, n, seed) for name in (names or list(ADAPTERS))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="inputs per adapter")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--adapter", action="append", choices=list(ADAPTERS), help="only these (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.adapter or list(ADAPTERS):
        r = fuzz_adapter(name, args.n, args.seed)
        results.append(r)
        if not args.json:
            codes = " ".join(f"{c}:{k}" for c, k in sorted(r.close_codes.items()))
            print(f"{name:17} inputs={r.inputs:7d} cases={r.cases:6d} crashes={r.crashes} bad_output={r.bad_output} "
                  f"unencodable={r.unencodable} "
                  f"codes[{codes}] {r.inputs_per_s:,.0f} inputs/s", flush=True)
            for ex in r.examples + r.unencodable_examples:
                print("   ", ex.replace("\n", "\n    "))
    if args.json:
        print(json.dumps([r.to_json_obj() for r in results], ensure_ascii=False, indent=1))
    return 1 if any(r.crashes or r.bad_output for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
