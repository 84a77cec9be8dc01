"""The browser softphone page: our own protocol, JSON control plus binary s16le audio.

Inbound TEXT (JSON objects with ``type``):
* ``{"type":"start","call_id"?, "lang"?, "account"?: {...}, "rate_hz"?}`` -> ``CallStarted``
  (call_id given or generated; params ``lang`` and ``account`` (the account object as JSON
  text) plus each account field as ``account.<key>``); must come first.
* ``{"type":"start", ..., "mode": "assist"}`` starts a live-assist call (caller and agent
  channels, the bot stays silent); ``{"type":"text","text":...,"channel"?: "caller"|"agent"}``
  -> ``TextReceived`` (typed turn instead of speech; "agent" only in assist mode);
  ``{"type":"dtmf","digit":"5"}`` -> ``DtmfReceived``; ``{"type":"played","name":...}`` ->
  ``MarkPlayed`` (the page echoes our ``mark`` when playback reaches it);
  ``{"type":"hangup"}`` -> ``CallEnded("hangup")``, also before ``start``.
* unknown ``type`` 1008; anything other than ``start``/``hangup`` before ``start`` 1008.
Inbound BINARY: s16le mono at ``rate_hz`` (16 kHz unless ``start`` says otherwise).

Outbound: ``PlayAudio`` -> BINARY s16le at ``out_rate_hz`` (= the page's rate) in 20 ms frames;
``SendMark`` -> ``{"type":"mark","name"}`` after the padded remainder; ``ClearAudio`` ->
``{"type":"clear"}``: the page drops queued audio and marks *without* echoing them, so the
pending marks come back as ``MarkCleared`` from ``take_events()``; ``SendJson`` -> the payload
as is; ``Hangup`` -> ``{"type":"hangup","reason"}``; ``Transfer`` ->
``{"type":"transfer","target","reason","summary"}``.
"""
from __future__ import annotations

import json
import uuid

from voicebot.errors import ConfigError, ProtocolError
from voicebot.events import (
    AudioReceived,
    CallEnded,
    CallStarted,
    ClearAudio,
    DtmfReceived,
    Hangup,
    InboundEvent,
    MarkCleared,
    MarkPlayed,
    OutboundCommand,
    PlayAudio,
    SendJson,
    SendMark,
    TextReceived,
    Transfer,
)
from voicebot.telephony.base import get_int, get_str, parse_json_object, string_params
from voicebot.telephony.codec import InboundDecoder, OutboundFramer

__all__ = ["SoftphoneAdapter"]

_FRAME_MS = 20
_MAX_TEXT_CHARS = 65_536
_MAX_BINARY_BYTES = 1_048_576
_MAX_TURN_CHARS = 2000


class SoftphoneAdapter:
    """Sans-I/O state of one browser softphone connection (see module docstring)."""

    peer = "softphone"

    def __init__(self, rate_hz: int = 16000, *, max_lead_ms: int = 300) -> None:
        if not isinstance(rate_hz, int) or not 8000 <= rate_hz <= 48000:
            raise ConfigError(f"softphone rate_hz must be 8000..48000, got {rate_hz!r}")
        self.rate_hz = rate_hz
        self.out_rate_hz = rate_hz
        self.frame_ms = _FRAME_MS
        self.max_lead_ms = max_lead_ms
        self.started = False
        self.ended = False
        self.assist = False  # start.mode == "assist": caller + agent channels, bot silent
        self.call_id = ""
        self.dropped_before_start = 0
        self._decoder = InboundDecoder("l16")
        self._framer = self._new_framer(rate_hz)
        self._pending_marks: list[str] = []
        self._cleared: set[str] = set()
        self._synthesised: list[InboundEvent] = []
        self._close_reason: str | None = None

    # ---------------------------------------------------------------- inbound

    def receive_text(self, text: str) -> list[InboundEvent]:
        message = parse_json_object(text, _MAX_TEXT_CHARS)
        kind = message.get("type")
        if not isinstance(kind, str):
            raise ProtocolError(1007, "message has no string 'type'")
        if self.ended:
            return []
        if kind == "hangup":
            self.ended = True
            self._close_reason = "hangup"
            return [CallEnded("hangup")]
        if kind == "start":
            return [self._start(message)]
        if kind not in ("text", "dtmf", "played"):
            raise ProtocolError(1008, f"unknown message type {kind[:32]!r}")
        if not self.started:
            raise ProtocolError(1008, f"{kind[:32]} before start")
        if kind == "text":
            value = message.get("text")
            if not isinstance(value, str) or len(value) > _MAX_TURN_CHARS:
                raise ProtocolError(1007, f"text must be a string of at most {_MAX_TURN_CHARS} characters")
            channel = message.get("channel", "caller")
            if channel not in ("caller", "agent") or (channel == "agent" and not self.assist):
                raise ProtocolError(1007, 'text.channel must be "caller", or "agent" in an assist-mode call')
            return [TextReceived(value, channel)]  # type: ignore[arg-type]
        if kind == "dtmf":
            return [DtmfReceived(get_str(message, "digit", "dtmf", max_chars=2))]
        name = get_str(message, "name", "played", max_chars=256)
        if name in self._cleared:
            self._cleared.discard(name)  # already reported as cleared
            return []
        if name in self._pending_marks:
            self._pending_marks.remove(name)
        return [MarkPlayed(name)]

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        if len(data) > _MAX_BINARY_BYTES:
            raise ProtocolError(1009, f"binary message of {len(data)} bytes is too big")
        if self.ended:
            return []
        if not self.started:
            raise ProtocolError(1008, "audio before start")
        pcm = self._decoder.decode(data)
        return [AudioReceived(pcm, self.rate_hz, "caller")] if pcm else []

    def _start(self, message: dict[str, object]) -> CallStarted:
        if self.started:
            raise ProtocolError(1008, "second start")
        call_id = message.get("call_id")
        if call_id is None:
            call_id = uuid.uuid4().hex
        elif not isinstance(call_id, str) or not 0 < len(call_id) <= 128:
            raise ProtocolError(1007, "start.call_id must be a string of 1..128 characters")
        params: dict[str, str] = {}
        lang = message.get("lang")
        if lang is not None:
            params["lang"] = get_str(message, "lang", "start", max_chars=16)
        account = message.get("account")
        if account is not None:
            if not isinstance(account, dict):
                raise ProtocolError(1007, "start.account must be an object")
            params.update({f"account.{k}": v for k, v in string_params(account).items()})
            params["account"] = json.dumps(account, ensure_ascii=False, separators=(",", ":"))
        if "rate_hz" in message:
            rate_hz = get_int(message["rate_hz"], "start.rate_hz", low=8000, high=48000)
            self.rate_hz = self.out_rate_hz = rate_hz
            self._framer = self._new_framer(rate_hz)
        mode = message.get("mode", "bot")
        if mode not in ("bot", "assist"):
            raise ProtocolError(1007, 'start.mode must be "bot" or "assist"')
        self.assist = mode == "assist"
        self.call_id = call_id
        self.started = True
        channels = ("caller", "agent") if self.assist else ("caller",)
        return CallStarted(call_id=call_id, rate_hz=self.rate_hz, channels=channels, params=params, peer=self.peer)

    # ---------------------------------------------------------------- outbound

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if not self.started:
            self.dropped_before_start += 1
            return []
        if self.ended and not isinstance(command, SendJson):
            return []  # after hang-up the page may still be told how the call ended
        if isinstance(command, PlayAudio):
            return list(self._framer.push(command.pcm, command.rate_hz))
        if isinstance(command, SendMark):
            messages: list[str | bytes] = list(self._framer.flush())
            self._pending_marks.append(command.name)
            messages.append(_json({"type": "mark", "name": command.name}))
            return messages
        if isinstance(command, ClearAudio):
            self._framer.clear()
            self._synthesised.extend(MarkCleared(name) for name in self._pending_marks)
            self._cleared.update(self._pending_marks)
            self._pending_marks.clear()
            return [_json({"type": "clear"})]
        if isinstance(command, SendJson):
            return [command.payload]
        if isinstance(command, Hangup):
            return [_json({"type": "hangup", "reason": command.reason})]
        if isinstance(command, Transfer):
            return [
                _json(
                    {"type": "transfer", "target": command.target, "reason": command.reason, "summary": dict(command.summary)}
                )
            ]
        raise TypeError(f"not an outbound command: {command!r}")

    def take_events(self) -> list[InboundEvent]:
        events, self._synthesised = self._synthesised, []
        return events

    def close_reason(self) -> str | None:
        return self._close_reason

    @staticmethod
    def _new_framer(rate_hz: int) -> OutboundFramer:
        return OutboundFramer("l16", rate_hz, rate_hz * _FRAME_MS // 1000 * 2)


def _json(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
