"""The vosk-server websocket ASR protocol (alphacep/vosk-server ``asr_server.py``), server side.

Lets PBX modules written for vosk-server (Asterisk ``res_speech_vosk``, FreeSWITCH ``mod_vosk``)
and the vosk sample clients use our server as their ASR.

Inbound:
* a TEXT frame containing ``config`` -> ``ControlReceived("config", {sample_rate, words,
  max_alternatives, phrase_list})`` with the connection's effective settings (multi-line JSON
  is fine; ``model`` is ignored: vosk-server would swap the process-wide model). As in
  vosk-server, a config after audio has started does not change the audio rate.
* any JSON object with ``eof`` -> ``ControlReceived("eof")`` (answer the final result, then
  close); with ``reset`` -> ``ControlReceived("reset")`` (answer the final result, go on). Any
  spacing is accepted, not only the legacy ``{"eof" : 1}``.
* other text: not JSON 1007, JSON without config/eof/reset 1008.
* BINARY = s16le mono at ``sample_rate`` (default 8000: res_speech_vosk sends no config) ->
  ``AudioReceived``; an odd trailing byte waits for the next frame.
``CallStarted`` (rate = the configured sample rate) is emitted before the first audio, eof or
reset. Every audio message must get exactly one reply (partial or final); the session builds
it with ``format_partial``/``format_final`` and sends it as ``SendJson``.

Outbound: ``SendJson`` -> its payload; everything else -> nothing (the server closes).

The formatting functions reproduce vosk-api's ``json.h`` output byte for byte (checked against
vosk 0.3.45 with the Korean model): pretty-printed, keys sorted, floats as ``%f``, non-ASCII
text raw, and the compact special cases ``{"text": ""}`` and
``{"alternatives" : [{"text": "", "confidence" : 1.0}] }``.
"""
from __future__ import annotations

import uuid
from typing import Mapping, Sequence

from voicebot.errors import ProtocolError
from voicebot.events import (
    AudioReceived,
    CallStarted,
    ControlReceived,
    InboundEvent,
    OutboundCommand,
    SendJson,
)
from voicebot.telephony.base import get_int, get_object, parse_json_object
from voicebot.telephony.codec import InboundDecoder

__all__ = [
    "VoskProtocolAdapter",
    "format_partial",
    "format_final",
    "format_alternatives",
    "EMPTY_FINAL",
    "EMPTY_ALTERNATIVES",
]

EMPTY_FINAL = '{"text": ""}'
EMPTY_ALTERNATIVES = '{"alternatives" : [{"text": "", "confidence" : 1.0}] }'
_MAX_BINARY_BYTES = 1_048_576  # vosk-server's websockets max_size (1 MiB)
_MAX_PHRASES = 10_000
_TAB = "  "


class VoskProtocolAdapter:
    """Sans-I/O state of one vosk-server protocol connection (see module docstring)."""

    peer = "vosk"

    def __init__(self, sample_rate_hz: int = 8000, *, words: bool = True, max_alternatives: int = 0) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.words = words
        self.max_alternatives = max_alternatives
        self.phrase_list: list[str] | None = None
        self.out_rate_hz = sample_rate_hz
        self.frame_ms = 20
        self.max_lead_ms = 0
        self.started = False
        self.ended = False
        self._decoder = InboundDecoder("l16")
        self._close_reason: str | None = None

    def receive_text(self, text: str) -> list[InboundEvent]:
        if self.ended:
            return []
        message = parse_json_object(text)
        # vosk-server: `if 'config' in message` on the raw text; we look at the parsed keys.
        if "config" in message:
            return [self._on_config(get_object(message, "config", "message"))]
        if "eof" in message:
            events = self._start_events()
            self.ended = True
            self._close_reason = "eof"
            return [*events, ControlReceived("eof")]
        if "reset" in message:
            return [*self._start_events(), ControlReceived("reset")]
        raise ProtocolError(1008, "text message is neither config, eof nor reset")

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        if len(data) > _MAX_BINARY_BYTES:
            raise ProtocolError(1009, f"binary message of {len(data)} bytes is too big")
        if self.ended:
            return []
        events = self._start_events()
        pcm = self._decoder.decode(data)
        # One reply per audio message: emit the event even when it holds no whole sample.
        events.append(AudioReceived(pcm, self.sample_rate_hz, "caller"))
        return events

    def _on_config(self, config: dict[str, object]) -> ControlReceived:
        if "sample_rate" in config and not self.started:
            rate = get_int(config["sample_rate"], "config.sample_rate", low=1000, high=192_000)
            self.sample_rate_hz = self.out_rate_hz = rate
        if "words" in config:
            self.words = bool(config["words"])  # vosk-server: bool(jobj['words'])
        if "max_alternatives" in config:
            self.max_alternatives = get_int(config["max_alternatives"], "config.max_alternatives", low=0, high=1000)
        if "phrase_list" in config:
            phrases = config["phrase_list"]
            if not isinstance(phrases, list) or len(phrases) > _MAX_PHRASES:
                raise ProtocolError(1007, "config.phrase_list must be a list of strings")
            if not all(isinstance(p, str) for p in phrases):
                raise ProtocolError(1007, "config.phrase_list must be a list of strings")
            self.phrase_list = list(phrases)  # type: ignore[arg-type]  # checked just above
        data: dict[str, object] = {
            "sample_rate": self.sample_rate_hz,
            "words": self.words,
            "max_alternatives": self.max_alternatives,
            "phrase_list": self.phrase_list,
        }
        return ControlReceived("config", data)

    def _start_events(self) -> list[InboundEvent]:
        if self.started:
            return []
        self.started = True
        params = {"sample_rate": str(self.sample_rate_hz)}
        return [CallStarted(call_id=uuid.uuid4().hex, rate_hz=self.sample_rate_hz, params=params, peer=self.peer)]

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if isinstance(command, SendJson):
            return [command.payload]
        return []

    def take_events(self) -> list[InboundEvent]:
        return []

    def close_reason(self) -> str | None:
        return self._close_reason


# ------------------------------------------------------------------------------------------
# Replies, shaped exactly as vosk-api's json.h prints them
# ------------------------------------------------------------------------------------------


def format_partial(text: str) -> str:
    """``PartialResult()``: ``{\\n  "partial" : "..."\\n}``."""
    return _dump({"partial": text}, 1)


def format_final(words: Sequence[Mapping[str, object]], text: str, with_words: bool = True) -> str:
    """``Result()``/``FinalResult()``. ``words`` items have ``conf``, ``end``, ``start`` (seconds,
    floats) and ``word``; with ``with_words`` they go in ``result``. Nothing recognised is the
    compact ``{"text": ""}``."""
    if not text:
        return EMPTY_FINAL
    if with_words and words:
        entries = [
            {"conf": _float(w, "conf"), "end": _float(w, "end"), "start": _float(w, "start"), "word": str(w["word"])}
            for w in words
        ]
        return _dump({"result": entries, "text": text}, 1)
    return _dump({"text": text}, 1)


def format_alternatives(alternatives: Sequence[tuple[str, float, Sequence[Mapping[str, object]]]]) -> str:
    """Final result with ``max_alternatives > 0``: ``(text, confidence, words)`` per hypothesis,
    best first; words carry ``start``/``end``/``word`` only (no per-word conf)."""
    if not alternatives or all(not text for text, _, _ in alternatives):
        return EMPTY_ALTERNATIVES
    entries = []
    for text, confidence, words in alternatives:
        result = [{"end": _float(w, "end"), "start": _float(w, "start"), "word": str(w["word"])} for w in words]
        entries.append({"confidence": float(confidence), "result": result, "text": text})
    return _dump({"alternatives": entries}, 1)


def _float(word: Mapping[str, object], key: str) -> float:
    value = word[key]
    if not isinstance(value, (int, float)):
        raise TypeError(f"word {key} must be a number, got {value!r}")
    return float(value)


def _dump(value: object, depth: int) -> str:
    """SimpleJSON's ``dump``: objects one key per line (sorted), arrays inline."""
    if isinstance(value, dict):
        pad = _TAB * depth
        body = ",\n".join(f'{pad}"{_escape(str(k))}" : {_dump(v, depth + 1)}' for k, v in sorted(value.items()))
        return "{\n" + body + "\n" + _TAB * (depth - 1) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v, depth + 1) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:f}"  # std::to_string(double) is "%f"
    if isinstance(value, int):
        return str(value)
    return '"' + _escape(str(value)) + '"'


def _escape(text: str) -> str:
    # json.h json_escape: only these seven are escaped; everything else (UTF-8) is raw.
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\b", "\\b")
        .replace("\f", "\\f")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
