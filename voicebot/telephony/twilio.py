"""Twilio Media Streams, bidirectional (``<Connect><Stream>``); also SignalWire cXML.

Inbound (all JSON text frames; counters and timestamps are strings):
``connected`` -> nothing; ``start`` -> ``CallStarted`` (call_id = callSid; params =
customParameters plus accountSid, callSid, streamSid); ``media`` -> ``AudioReceived`` (base64
mu-law 8 kHz, or SignalWire L16 16/24 kHz per ``mediaFormat``; any chunk size;
``media.timestamp`` jumps become ``gap_ms``); ``dtmf`` -> ``DtmfReceived``; ``mark`` ->
``MarkPlayed``, or ``MarkCleared`` when the mark was still pending when we sent ``clear``
(Twilio echoes every pending mark on clear, so an echo alone proves nothing); ``stop`` ->
``CallEnded("stop")``, also without a ``start``. Unknown events are ignored (the docs ask for
that); ``media``/``dtmf``/``mark`` before ``start`` are ProtocolError 1008; everything after
``stop`` is ignored.

Outbound: ``PlayAudio`` -> one ``media`` message per 20 ms frame (160 bytes of mu-law at 8 kHz,
or 20 ms of L16 at the SignalWire rate); a remainder shorter than a frame waits for the next
``PlayAudio`` and is padded with silence on ``SendMark``/``Hangup``/``Transfer``.
``SendMark`` -> ``mark``; ``ClearAudio`` -> ``clear`` (remainder dropped, clear generation
bumped). ``Hangup``/``Transfer`` -> only the padded remainder: the server closes the socket
and Twilio runs the TwiML after ``</Connect>`` (a ``<Redirect>`` to the hand-off webhook).
``SendJson`` -> nothing (Twilio answers unknown messages with error 31951). Nothing is sent
before ``start``: we do not know the streamSid yet.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections import deque

from voicebot.errors import ProtocolError
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
    Transfer,
)
from voicebot.telephony.base import get_int, get_object, get_str, parse_json_object, string_params
from voicebot.telephony.codec import BYTES_PER_SAMPLE, Codec, InboundDecoder, OutboundFramer

__all__ = ["TwilioAdapter"]

_FRAME_MS = 20
# Twilio's text frames are small (a 20 ms L16 24 kHz frame is 1.3 kB of base64).
_MAX_TEXT_CHARS = 262_144
_ENCODINGS: dict[str, Codec] = {
    "audio/x-mulaw": "ulaw",
    "audio/mulaw": "ulaw",
    "audio/pcmu": "ulaw",
    "audio/x-alaw": "alaw",
    "audio/pcma": "alaw",
    "audio/x-l16": "l16",
    "audio/l16": "l16",
}


class TwilioAdapter:
    """Sans-I/O state of one Twilio/SignalWire media stream (see module docstring)."""

    peer = "twilio"

    def __init__(self, max_lead_ms: int = 300) -> None:
        self.out_rate_hz = 8000
        self.frame_ms = _FRAME_MS
        self.max_lead_ms = max_lead_ms
        self.started = False
        self.ended = False
        self.stream_sid = ""
        self.call_sid = ""
        self.dropped_before_start = 0
        self.clear_generation = 0
        self._codec: Codec = "ulaw"
        self._decoder = InboundDecoder("ulaw")
        self._framer = OutboundFramer("ulaw", 8000, 160)
        self._pending_marks: deque[tuple[str, int]] = deque()  # (name, generation when sent)
        self._next_timestamp_ms: float | None = None
        self._close_reason: str | None = None

    # ---------------------------------------------------------------- inbound

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        raise ProtocolError(1003, "Twilio media streams carry JSON text frames only")

    def receive_text(self, text: str) -> list[InboundEvent]:
        message = parse_json_object(text, _MAX_TEXT_CHARS)
        event = message.get("event")
        if not isinstance(event, str):
            raise ProtocolError(1007, "message has no string 'event'")
        if self.ended:
            return []
        if event == "connected":
            return []
        if event == "start":
            return self._on_start(message)
        if event == "stop":
            self.ended = True
            self._close_reason = "stop"
            return [CallEnded("stop")]
        if event not in ("media", "dtmf", "mark"):
            return []  # Twilio adds events over time; unknown ones are harmless.
        if not self.started:
            raise ProtocolError(1008, f"{event} before start")
        if event == "media":
            return self._on_media(message)
        if event == "dtmf":
            digit = get_str(get_object(message, "dtmf", "dtmf"), "digit", "dtmf", max_chars=2)
            return [DtmfReceived(digit)]
        name = get_str(get_object(message, "mark", "mark"), "name", "mark", max_chars=256)
        return [self._on_mark_echo(name)]

    def _on_start(self, message: dict[str, object]) -> list[InboundEvent]:
        if self.started:
            raise ProtocolError(1008, "second start on one stream")
        start = get_object(message, "start", "start")
        stream_sid = start.get("streamSid", message.get("streamSid"))
        if not isinstance(stream_sid, str) or not stream_sid or len(stream_sid) > 256:
            raise ProtocolError(1007, "start.streamSid must be a non-empty string")
        call_sid = start.get("callSid", "")
        account_sid = start.get("accountSid", "")
        if not isinstance(call_sid, str) or not isinstance(account_sid, str):
            raise ProtocolError(1007, "start.callSid and start.accountSid must be strings")
        custom = start.get("customParameters", {})
        if not isinstance(custom, dict):
            raise ProtocolError(1007, "start.customParameters must be an object")
        self._configure_media(start.get("mediaFormat"))
        params = string_params(custom)
        params.update({"accountSid": account_sid, "callSid": call_sid, "streamSid": stream_sid})
        self.stream_sid, self.call_sid = stream_sid, call_sid
        self.started = True
        return [
            CallStarted(
                call_id=call_sid or stream_sid,
                rate_hz=self.out_rate_hz,
                params=params,
                peer=self.peer,
            )
        ]

    def _configure_media(self, media_format: object) -> None:
        if media_format is None:
            return  # Twilio's default: mu-law 8 kHz mono.
        if not isinstance(media_format, dict):
            raise ProtocolError(1007, "start.mediaFormat must be an object")
        encoding = media_format.get("encoding", "audio/x-mulaw")
        if not isinstance(encoding, str):
            raise ProtocolError(1007, "mediaFormat.encoding must be a string")
        codec = _ENCODINGS.get(encoding.strip().lower().split(";")[0])
        if codec is None:
            raise ProtocolError(1008, f"unsupported mediaFormat.encoding {encoding[:64]!r}")
        rate_hz = get_int(media_format.get("sampleRate", 8000), "mediaFormat.sampleRate", low=8000, high=48000)
        if codec != "l16" and rate_hz != 8000:
            raise ProtocolError(1008, f"G.711 at {rate_hz} Hz is not supported")
        if rate_hz % 1000:
            raise ProtocolError(1008, f"sample rate {rate_hz} Hz is not a whole number of kHz")
        channels = get_int(media_format.get("channels", 1), "mediaFormat.channels", low=1, high=8)
        if channels != 1:
            raise ProtocolError(1008, "only mono media streams are supported")
        self._codec = codec
        self.out_rate_hz = rate_hz
        self._decoder = InboundDecoder(codec)
        frame_bytes = rate_hz * _FRAME_MS // 1000 * BYTES_PER_SAMPLE[codec]
        self._framer = OutboundFramer(codec, rate_hz, frame_bytes)

    def _on_media(self, message: dict[str, object]) -> list[InboundEvent]:
        media = get_object(message, "media", "media")
        payload = media.get("payload")
        if not isinstance(payload, str):
            raise ProtocolError(1007, "media.payload must be a string")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(1007, "media.payload is not valid base64") from None
        pcm = self._decoder.decode(data)
        duration_ms = len(data) / BYTES_PER_SAMPLE[self._codec] * 1000.0 / self.out_rate_hz
        gap_ms = self._gap_ms(media.get("timestamp"), duration_ms)
        if not pcm:
            return []
        return [AudioReceived(pcm, self.out_rate_hz, "caller", gap_ms)]

    def _gap_ms(self, timestamp: object, duration_ms: float) -> int:
        """Audio Twilio did not send before this chunk (it may send nothing during silence).
        A missing or malformed timestamp gives no information, not an error."""
        try:
            now_ms = get_int(timestamp, "media.timestamp", low=0, high=2**53)
        except ProtocolError:
            return 0
        expected = self._next_timestamp_ms
        self._next_timestamp_ms = now_ms + duration_ms
        if expected is None:
            return 0
        gap = now_ms - expected
        # Timestamps are whole ms while chunks may be fractional ms: ignore rounding.
        return int(round(gap)) if gap >= 2.0 else 0

    def _on_mark_echo(self, name: str) -> InboundEvent:
        for index, (pending, generation) in enumerate(self._pending_marks):
            if pending == name:
                del self._pending_marks[index]
                if generation < self.clear_generation:
                    return MarkCleared(name)
                return MarkPlayed(name)
        return MarkPlayed(name)

    # ---------------------------------------------------------------- outbound

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if not self.started:
            self.dropped_before_start += 1
            return []
        if self.ended:
            return []
        if isinstance(command, PlayAudio):
            return [self._media(frame) for frame in self._framer.push(command.pcm, command.rate_hz)]
        if isinstance(command, SendMark):
            messages: list[str | bytes] = [self._media(frame) for frame in self._framer.flush()]
            self._pending_marks.append((command.name, self.clear_generation))
            messages.append(self._json({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": command.name}}))
            return messages
        if isinstance(command, ClearAudio):
            self._framer.clear()
            self.clear_generation += 1
            return [self._json({"event": "clear", "streamSid": self.stream_sid})]
        if isinstance(command, (Hangup, Transfer)):
            return [self._media(frame) for frame in self._framer.flush()]
        if isinstance(command, SendJson):
            return []
        raise TypeError(f"not an outbound command: {command!r}")

    def take_events(self) -> list[InboundEvent]:
        return []  # Twilio echoes cleared marks itself.

    def close_reason(self) -> str | None:
        return self._close_reason

    def _media(self, frame: bytes) -> str:
        payload = base64.b64encode(frame).decode("ascii")
        return self._json({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})

    @staticmethod
    def _json(obj: dict[str, object]) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
