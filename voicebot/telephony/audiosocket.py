"""Asterisk AudioSocket: a TCP byte stream of ``kind u8, length u16 BE, payload`` messages.

Inbound (``receive_bytes`` takes arbitrary TCP reads; a header may be split across reads):
``0x01`` 16-byte binary UUID (also accepted: the 36-character text form) -> ``CallStarted``
(call_id = the UUID string); ``0x10`` s16le 8 kHz and ``0x11``-``0x18`` slin12/16/24/32/44/48/
96/192 -> ``AudioReceived`` at the kind's rate; ``0x03`` one ASCII DTMF digit ->
``DtmfReceived``; ``0x00`` -> ``CallEnded("hangup")``; ``0xff`` -> ``CallEnded("error: 0xNN")``
with the flag byte (0x01 caller hung up, 0x02 frame forwarding, 0x04 memory). Audio before the
UUID is ProtocolError 1008, an unknown kind 1008, a payload larger than ``max_payload_bytes``
1009 (checked as soon as the header is complete). Bytes after the end are ignored. TCP EOF is
the server's to report.

Outbound: audio goes back in the kind and rate of the caller's audio (the constructor's
``rate_hz`` until the first audio frame), as frames of exactly 20 ms (320 bytes at 8 kHz),
header and payload in one ``bytes`` so each goes out in one ``send()`` (older Asterisk misparsed
split headers). Asterisk plays frames the moment they arrive, so the server must pace them
(small ``max_lead_ms``) and, when it has nothing to say, send ``silence_frame()`` at least
every 2 s (the AudioSocket() app hangs up after 2 s without audio). ``ClearAudio`` drops the
remainder (the server drops its queued frames: audio already written cannot be recalled);
``SendMark`` only flushes the padded remainder (no playout confirmation exists);
``Hangup``/``Transfer`` -> ``00 00 00`` (the AudioSocket() app returns and the dialplan
continues with the next priority, e.g. ``Dial(PJSIP/agent)``).
"""
from __future__ import annotations

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
    OutboundCommand,
    PlayAudio,
    SendJson,
    SendMark,
    Transfer,
)
from voicebot.telephony.codec import InboundDecoder, OutboundFramer

__all__ = ["AudioSocketAdapter", "KIND_RATES_HZ", "HANGUP_FRAME"]

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_ERROR = 0xFF
KIND_RATES_HZ: dict[int, int] = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
    0x17: 96000,
    0x18: 192000,
}
_RATE_KINDS = {rate: kind for kind, rate in KIND_RATES_HZ.items()}
HANGUP_FRAME = b"\x00\x00\x00"
_FRAME_MS = 20
_HEADER_BYTES = 3
_DTMF_DIGITS = frozenset("0123456789*#ABCDabcd")


class AudioSocketAdapter:
    """Sans-I/O state of one AudioSocket TCP connection (see module docstring)."""

    peer = "audiosocket"

    def __init__(self, rate_hz: int = 8000, *, max_payload_bytes: int = 16_384, max_lead_ms: int = 40) -> None:
        if rate_hz not in _RATE_KINDS:
            raise ConfigError(f"AudioSocket rate_hz must be one of {sorted(_RATE_KINDS)}, got {rate_hz!r}")
        if not 1 <= max_payload_bytes <= 65_535:
            raise ConfigError(f"max_payload_bytes must be 1..65535, got {max_payload_bytes!r}")
        self.rate_hz = rate_hz
        self.max_payload_bytes = max_payload_bytes
        self.out_rate_hz = rate_hz
        self.frame_ms = _FRAME_MS
        self.max_lead_ms = max_lead_ms
        self.started = False
        self.ended = False
        self.call_id = ""
        self.dropped_before_start = 0
        self._buffer = bytearray()
        self._in_kind: int | None = None
        self._decoder = InboundDecoder("l16")
        self._out_kind = _RATE_KINDS[rate_hz]
        self._framer = self._new_framer(rate_hz)
        self._close_reason: str | None = None

    # ---------------------------------------------------------------- inbound

    def receive_text(self, text: str) -> list[InboundEvent]:
        raise ProtocolError(1003, "AudioSocket is a binary stream")

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        if self.ended:
            return []
        self._buffer += data
        events: list[InboundEvent] = []
        while len(self._buffer) >= _HEADER_BYTES:
            kind = self._buffer[0]
            length = int.from_bytes(self._buffer[1:3], "big")
            if length > self.max_payload_bytes:
                raise ProtocolError(1009, f"AudioSocket payload of {length} bytes (kind 0x{kind:02x}) is too big")
            if kind not in KIND_RATES_HZ and kind not in (KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_ERROR):
                raise ProtocolError(1008, f"unknown AudioSocket kind 0x{kind:02x}")
            if len(self._buffer) < _HEADER_BYTES + length:
                break
            payload = bytes(self._buffer[_HEADER_BYTES : _HEADER_BYTES + length])
            del self._buffer[: _HEADER_BYTES + length]
            events.extend(self._message(kind, payload))
            if self.ended:
                self._buffer.clear()
                break
        return events

    def _message(self, kind: int, payload: bytes) -> list[InboundEvent]:
        if kind in KIND_RATES_HZ:
            return self._audio(kind, payload)
        if kind == KIND_UUID:
            return [self._start(payload)]
        if kind == KIND_DTMF:
            digit = payload.decode("ascii", errors="replace")
            if len(payload) != 1 or digit not in _DTMF_DIGITS:
                raise ProtocolError(1007, f"bad AudioSocket DTMF payload {payload[:8]!r}")
            return [DtmfReceived(digit)]
        self.ended = True
        if kind == KIND_HANGUP:
            self._close_reason = "hangup"
        else:
            flags = payload[0] if payload else 0
            self._close_reason = f"error: 0x{flags:02x}"
        return [CallEnded(self._close_reason)]

    def _start(self, payload: bytes) -> CallStarted:
        if self.started:
            raise ProtocolError(1008, "second AudioSocket UUID")
        try:
            if len(payload) == 16:
                call_uuid = uuid.UUID(bytes=payload)
            elif len(payload) == 36:
                call_uuid = uuid.UUID(payload.decode("ascii"))
            else:
                raise ValueError(f"{len(payload)} bytes")
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(1007, f"AudioSocket UUID payload of {len(payload)} bytes is not a UUID") from None
        self.call_id = str(call_uuid)
        self.started = True
        return CallStarted(call_id=self.call_id, rate_hz=self.rate_hz, params={"uuid": self.call_id}, peer=self.peer)

    def _audio(self, kind: int, payload: bytes) -> list[InboundEvent]:
        if not self.started:
            raise ProtocolError(1008, "audio before the AudioSocket UUID")
        rate_hz = KIND_RATES_HZ[kind]
        if kind != self._in_kind:
            self._in_kind = kind
            self._decoder = InboundDecoder("l16")
            if kind != self._out_kind:
                # Answer in the caller's rate: that is what the channel was set up with.
                self._out_kind = kind
                self.out_rate_hz = rate_hz
                self._framer = self._new_framer(rate_hz)
        pcm = self._decoder.decode(payload)
        if not pcm:
            return []
        return [AudioReceived(pcm, rate_hz, "caller")]

    # ---------------------------------------------------------------- outbound

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if not self.started:
            self.dropped_before_start += 1
            return []
        if isinstance(command, PlayAudio):
            return [self._frame(payload) for payload in self._framer.push(command.pcm, command.rate_hz)]
        if isinstance(command, SendMark):
            return [self._frame(payload) for payload in self._framer.flush()]
        if isinstance(command, ClearAudio):
            self._framer.clear()
            return []
        if isinstance(command, (Hangup, Transfer)):
            messages: list[str | bytes] = [self._frame(payload) for payload in self._framer.flush()]
            messages.append(HANGUP_FRAME)
            return messages
        if isinstance(command, SendJson):
            return []
        raise TypeError(f"not an outbound command: {command!r}")

    def silence_frame(self) -> bytes:
        """One 20 ms silent audio frame at the outbound rate (keepalive)."""
        return self._frame(self._framer.silence_frame())

    def take_events(self) -> list[InboundEvent]:
        return []

    def close_reason(self) -> str | None:
        return self._close_reason

    def _frame(self, payload: bytes) -> bytes:
        return bytes((self._out_kind,)) + len(payload).to_bytes(2, "big") + payload

    @staticmethod
    def _new_framer(rate_hz: int) -> OutboundFramer:
        return OutboundFramer("l16", rate_hz, rate_hz * _FRAME_MS // 1000 * 2)
