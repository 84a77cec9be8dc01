"""Asterisk chan_websocket (``Dial(WebSocket/...)``, ARI externalMedia ``transport=websocket``).

Inbound TEXT frames are control events, either plain text (``EVENT key:value key:value`` or
``EVENT <correlation_id>``; parsed generically because each release added keys) or JSON
(``{"event": ..., ...}``, chosen with ``f(json)``):
* ``MEDIA_START`` -> ``CallStarted``: ``format`` (ulaw, alaw, slin, slin12 ... slin192),
  ``optimal_frame_size``, ``ptime``; call_id = ``channel_id`` (else ``connection_id``);
  params = the query parameters given to the constructor (``v(a=1)`` in the dial string) plus
  ``channel_variables`` (JSON form only) plus connection_id/channel/channel_id.
* ``MEDIA_XOFF``/``MEDIA_XON`` -> ``FlowPaused``/``FlowResumed`` (queue at 900/800 of 1000).
* ``MEDIA_MARK_PROCESSED <id>`` -> ``MarkPlayed``; ``DTMF_END digit:5`` -> ``DtmfReceived``.
* anything else (STATUS, ERROR, QUEUE_DRAINED, MEDIA_BUFFERING_COMPLETED, events added by
  later releases) -> ``ControlReceived(EVENT, fields)``.
BINARY frames are raw codec bytes (ulaw 160 B or slin16 640 B per 20 ms; the last one of a
file can be short). Binary arriving before ``MEDIA_START`` (asterisk#1712, under load) is held
and delivered right after ``CallStarted``, decoded with the announced format (the
constructor's ``default_format`` when ``MEDIA_START`` names none).

Outbound: ``PlayAudio`` -> BINARY messages of exactly ``frames_per_message`` x
``optimal_frame_size`` bytes (the driver throws away bytes after the last whole frame), each
under 65,000 bytes and never fragmented; the remainder waits and is padded with silence on
``SendMark``/``Hangup``. ``SendMark`` -> ``MARK_MEDIA <id>``; ``ClearAudio`` -> ``FLUSH_MEDIA``,
which echoes nothing, so every pending mark becomes a ``MarkCleared`` in ``take_events()`` (a
late ``MEDIA_MARK_PROCESSED`` for such a mark is then ignored); ``Hangup``/``Transfer`` ->
``HANGUP`` (with ``Dial(...,g)`` the dialplan continues, e.g. to ``Queue()``). Commands use
the control format ``MEDIA_START`` arrived in and stay under 128 bytes: mark names that are not
short and plain are replaced on the wire by ``m<N>`` and mapped back on the echo.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Literal, Mapping

from voicebot.errors import ConfigError, ProtocolError
from voicebot.events import (
    AudioReceived,
    CallStarted,
    ClearAudio,
    ControlReceived,
    DtmfReceived,
    FlowPaused,
    FlowResumed,
    Hangup,
    InboundEvent,
    MarkCleared,
    MarkPlayed,
    OutboundCommand,
    PlayAudio,
    SendJson,
    SendMark,
    Transfer,
)
from voicebot.telephony.base import get_int, parse_json_object, string_params
from voicebot.telephony.codec import BYTES_PER_SAMPLE, Codec, InboundDecoder, OutboundFramer

__all__ = ["AsteriskWsAdapter", "FORMATS", "MAX_MESSAGE_BYTES"]

# Asterisk format name -> (codec on the wire, sample rate).
FORMATS: dict[str, tuple[Codec, int]] = {
    "ulaw": ("ulaw", 8000),
    "alaw": ("alaw", 8000),
    "slin": ("l16", 8000),
    "slin12": ("l16", 12000),
    "slin16": ("l16", 16000),
    "slin24": ("l16", 24000),
    "slin32": ("l16", 32000),
    "slin44": ("l16", 44100),
    "slin48": ("l16", 48000),
    "slin96": ("l16", 96000),
    "slin192": ("l16", 192000),
}
# A 96,000-byte message killed the call with 1009 (measured); stay under ~65,531.
MAX_MESSAGE_BYTES = 65_000
_MAX_COMMAND_BYTES = 128  # longer commands are ignored by the driver with a warning
_MAX_TEXT_CHARS = 65_536
_MAX_BINARY_BYTES = 1_048_576
_MAX_EARLY_BYTES = 2_097_152  # audio held before MEDIA_START
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EVENT = re.compile(r"[A-Za-z0-9_]{1,64}")

ControlFormat = Literal["auto", "plain-text", "json"]


class AsteriskWsAdapter:
    """Sans-I/O state of one chan_websocket media connection (see module docstring)."""

    peer = "asterisk"

    def __init__(
        self,
        default_format: str = "ulaw",
        query_params: Mapping[str, str] | None = None,
        *,
        frames_per_message: int = 1,
        max_lead_ms: int = 500,
        control_format: ControlFormat = "auto",
    ) -> None:
        if default_format not in FORMATS:
            raise ConfigError(f"unknown Asterisk format {default_format!r}; expected one of {sorted(FORMATS)}")
        if not isinstance(frames_per_message, int) or frames_per_message < 1:
            raise ConfigError(f"frames_per_message must be >= 1, got {frames_per_message!r}")
        if control_format not in ("auto", "plain-text", "json"):
            raise ConfigError(f"control_format must be auto, plain-text or json, got {control_format!r}")
        self.default_format = default_format
        self.query_params = {str(k): str(v) for k, v in (query_params or {}).items()}
        self.frames_per_message = frames_per_message
        self.control_format: ControlFormat = control_format
        self.format = default_format
        codec, rate_hz = FORMATS[default_format]
        self.out_rate_hz = rate_hz
        self.ptime_ms = 20
        self.optimal_frame_size = rate_hz * 20 // 1000 * BYTES_PER_SAMPLE[codec]
        self.frame_ms = 20 * frames_per_message
        self.max_lead_ms = max_lead_ms
        self.started = False
        self.dropped_before_start = 0
        self._decoder = InboundDecoder(codec)
        self._framer = OutboundFramer(codec, rate_hz, self.optimal_frame_size * frames_per_message)
        self._early_audio = bytearray()
        self._pending_marks: dict[str, str] = {}  # wire id -> mark name, in send order
        self._cleared_ids: set[str] = set()
        self._mark_counter = 0
        self._synthesised: list[InboundEvent] = []

    # ---------------------------------------------------------------- inbound

    def receive_text(self, text: str) -> list[InboundEvent]:
        if len(text) > _MAX_TEXT_CHARS:
            raise ProtocolError(1009, f"control message of {len(text)} characters is too big")
        stripped = text.strip()
        if not stripped:
            raise ProtocolError(1007, "empty control message")
        is_json = stripped[0] == "{"
        if is_json:
            fields = parse_json_object(stripped)
            event = fields.get("event")
            args: list[str] = []
        else:
            event, fields, args = _parse_plain(stripped)
        if not isinstance(event, str) or not _EVENT.fullmatch(event):
            raise ProtocolError(1007, "control message has no valid event name")
        if event == "MEDIA_START":
            return self._on_media_start(fields, is_json)
        if event == "MEDIA_XOFF":
            return [FlowPaused()]
        if event == "MEDIA_XON":
            return [FlowResumed()]
        if event == "MEDIA_MARK_PROCESSED":
            wire_id = args[0] if args else fields.get("correlation_id")
            if not isinstance(wire_id, str) or not wire_id:
                raise ProtocolError(1007, "MEDIA_MARK_PROCESSED without a correlation id")
            return self._on_mark_processed(wire_id)
        if event == "DTMF_END":
            digit = fields.get("digit")
            if not isinstance(digit, str) or not 0 < len(digit) <= 2:
                raise ProtocolError(1007, "DTMF_END without a digit")
            return [DtmfReceived(digit)]
        data: dict[str, object] = dict(fields)
        data.pop("event", None)
        if args:
            data["args"] = args
        return [ControlReceived(event, data)]

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        if len(data) > _MAX_BINARY_BYTES:
            raise ProtocolError(1009, f"binary message of {len(data)} bytes is too big")
        if not self.started:
            if len(self._early_audio) + len(data) > _MAX_EARLY_BYTES:
                raise ProtocolError(1008, "too much audio before MEDIA_START")
            self._early_audio += data
            return []
        return self._audio(data)

    def _audio(self, data: bytes) -> list[InboundEvent]:
        pcm = self._decoder.decode(data)
        if not pcm:
            return []
        return [AudioReceived(pcm, self.out_rate_hz, "caller")]

    def _on_media_start(self, fields: dict[str, object], is_json: bool) -> list[InboundEvent]:
        if self.started:
            raise ProtocolError(1008, "second MEDIA_START")
        fmt = fields.get("format", self.default_format)
        if not isinstance(fmt, str) or fmt not in FORMATS:
            raise ProtocolError(1008, f"unsupported media format {str(fmt)[:32]!r}")
        codec, rate_hz = FORMATS[fmt]
        ptime_ms = get_int(fields.get("ptime", 20), "MEDIA_START ptime", low=1, high=1000)
        sample_bytes = BYTES_PER_SAMPLE[codec]
        default_size = max(1, rate_hz * ptime_ms // 1000) * sample_bytes
        frame_size = get_int(
            fields.get("optimal_frame_size", default_size), "MEDIA_START optimal_frame_size", low=1, high=MAX_MESSAGE_BYTES
        )
        if frame_size % sample_bytes:
            raise ProtocolError(1007, f"optimal_frame_size {frame_size} is not a whole number of samples")
        params = dict(self.query_params)
        variables = fields.get("channel_variables")
        if isinstance(variables, dict):
            params.update(string_params(variables))
        for key in ("connection_id", "channel", "channel_id"):
            value = fields.get(key)
            if isinstance(value, str) and value:
                params[key] = value
        call_id = params.get("channel_id") or params.get("connection_id") or uuid.uuid4().hex
        frames = max(1, min(self.frames_per_message, MAX_MESSAGE_BYTES // frame_size))
        self.format, self.out_rate_hz, self.ptime_ms = fmt, rate_hz, ptime_ms
        self.optimal_frame_size = frame_size
        # Pacing counts whole optimal frames: frame_size bytes last frame_size/bytes-per-ms.
        self.frame_ms = max(1, round(frame_size / sample_bytes * 1000 / rate_hz)) * frames
        self._decoder = InboundDecoder(codec)
        self._framer = OutboundFramer(codec, rate_hz, frame_size * frames)
        if self.control_format == "auto":
            self.control_format = "json" if is_json else "plain-text"
        self.started = True
        events: list[InboundEvent] = [CallStarted(call_id=call_id, rate_hz=rate_hz, params=params, peer=self.peer)]
        if self._early_audio:
            events.extend(self._audio(bytes(self._early_audio)))
            self._early_audio.clear()
        return events

    def _on_mark_processed(self, wire_id: str) -> list[InboundEvent]:
        if wire_id in self._cleared_ids:
            # Already reported as cleared when we flushed; one outcome per mark.
            self._cleared_ids.discard(wire_id)
            return []
        name = self._pending_marks.pop(wire_id, wire_id)
        return [MarkPlayed(name)]

    # ---------------------------------------------------------------- outbound

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if not self.started:
            self.dropped_before_start += 1
            return []
        if isinstance(command, PlayAudio):
            return list(self._framer.push(command.pcm, command.rate_hz))
        if isinstance(command, SendMark):
            messages: list[str | bytes] = list(self._framer.flush())
            wire_id = self._wire_id(command.name)
            self._pending_marks[wire_id] = command.name
            messages.append(self._command("MARK_MEDIA", wire_id))
            return messages
        if isinstance(command, ClearAudio):
            self._framer.clear()
            for wire_id, name in self._pending_marks.items():
                self._synthesised.append(MarkCleared(name))
                self._cleared_ids.add(wire_id)
            self._pending_marks.clear()
            return [self._command("FLUSH_MEDIA")]
        if isinstance(command, (Hangup, Transfer)):
            messages = list(self._framer.flush())
            messages.append(self._command("HANGUP"))
            return messages
        if isinstance(command, SendJson):
            return []
        raise TypeError(f"not an outbound command: {command!r}")

    def take_events(self) -> list[InboundEvent]:
        events, self._synthesised = self._synthesised, []
        return events

    def close_reason(self) -> str | None:
        return None  # Asterisk ends the call by closing the socket.

    def _wire_id(self, name: str) -> str:
        if _PLAIN_ID.fullmatch(name) and name not in self._pending_marks and name not in self._cleared_ids:
            return name
        self._mark_counter += 1
        while f"m{self._mark_counter}" in self._pending_marks or f"m{self._mark_counter}" in self._cleared_ids:
            self._mark_counter += 1
        return f"m{self._mark_counter}"

    def _command(self, name: str, correlation_id: str | None = None) -> str:
        if self.control_format == "json":
            obj = {"command": name}
            if correlation_id is not None:
                obj["correlation_id"] = correlation_id
            text = json.dumps(obj, separators=(",", ":"))
        else:
            text = name if correlation_id is None else f"{name} {correlation_id}"
        assert len(text.encode()) <= _MAX_COMMAND_BYTES, text
        return text


def _parse_plain(text: str) -> tuple[str, dict[str, object], list[str]]:
    """``EVENT k:v k2:v2`` or ``EVENT arg``. ``error_text`` is free text and takes the rest of
    the line; any other word without ``key:`` continues the previous value or, before any key,
    is a positional argument."""
    head, has_free_text, free_text = text.partition(" error_text:")
    tokens = head.split()
    fields: dict[str, object] = {}
    args: list[str] = []
    last_key: str | None = None
    for token in tokens[1:]:
        key, sep, value = token.partition(":")
        if sep and _KEY.fullmatch(key):
            fields[key] = value
            last_key = key
        elif last_key is not None:
            fields[last_key] = f"{fields[last_key]} {token}"
        else:
            args.append(token)
    if has_free_text:
        fields["error_text"] = free_text.strip()
    return tokens[0], fields, args
