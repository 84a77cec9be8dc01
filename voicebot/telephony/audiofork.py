"""FreeSWITCH mod_audio_fork (drachtio, jambonz ``listen``) and mod_audio_stream (amigniter).

The module connects to us after ``uuid_audio_fork <uuid> start <url> <mono|mixed|stereo> <rate>
[metadata]``; it sends no format header, so rate and channel count come from our own start
command (the constructor). jambonz puts ``sampleRate``/``mixType`` in its first frame; those
are honoured when ``trust_metadata_format`` is on.

Inbound:
* the first TEXT frame is the metadata, any UTF-8: a JSON object becomes ``params`` (strings
  kept, other values as JSON text), anything else becomes ``{"metadata": text}``. call_id is
  the metadata's ``uuid``/``callSid``/``call_id``/``callId``/``channel_id``, else a new UUID.
* BINARY frames are s16le at ``rate_hz`` of **variable length**; in stereo left is the caller
  and right is what the caller hears (``agent``). A partial sample is held for the next frame.
  Binary before any text frame starts the call with empty params (the metadata is optional).
* A zero-length BINARY frame is ``graceful-shutdown``: ``CallEnded("graceful_shutdown")``.
* Later TEXT frames (``send_text``, ``stop <text>``) become ``ControlReceived("text")``,
  except jambonz DTMF (``{"event":"dtmf","dtmf":"5"}``) and jambonz mark echoes
  (``{"type":"mark","data":{"name","event":"playout"|"cleared"}}``).

Outbound (text JSON only; the module drops binary frames):
* ``PlayAudio`` -> ``playAudio`` (audio_fork) or ``streamAudio`` (audio_stream), raw s16le at
  ``out_rate_hz``, split so each message stays under the module's 650 KB receive buffer. The
  module writes a file and fires an event; the ESL side plays it. Each PlayAudio is resampled
  as a whole (it becomes its own file), so there is no remainder between commands.
* ``ClearAudio`` -> ``killAudio`` (mod_audio_stream has none: it fires ``::json`` and the ESL
  side runs ``uuid_break``); ``Transfer`` -> ``transfer`` with target, reason, summary;
  ``Hangup`` -> ``disconnect`` (an event only; ESL hangs up); ``SendJson`` -> sent as is;
  ``SendMark`` -> nothing: there is no playout confirmation.
"""
from __future__ import annotations

import base64
import json
import uuid
from typing import Literal

from voicebot.audio.pcm import array_to_l16, l16_to_array, split_stereo
from voicebot.audio.resample import resample_once
from voicebot.errors import ConfigError, ProtocolError
from voicebot.events import (
    AudioReceived,
    CallEnded,
    CallStarted,
    ClearAudio,
    ControlReceived,
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
from voicebot.telephony.base import MAX_TEXT_CHARS, UNPACED_LEAD_MS, loads_utf8, string_params
from voicebot.telephony.codec import pcm_to_array

__all__ = ["AudioForkAdapter", "Dialect", "MAX_MESSAGE_BYTES"]

Dialect = Literal["audio_fork", "audio_stream"]

# mod_audio_fork MAX_RECV_BUF_SIZE = 65*1024*10; stay well below it.
MAX_MESSAGE_BYTES = 640_000
# Raw bytes per message: base64 grows 4/3, plus a few hundred bytes of JSON.
_MAX_RAW_BYTES = (MAX_MESSAGE_BYTES - 1024) // 4 * 3 // 2 * 2
_MAX_BINARY_BYTES = 4 * 1024 * 1024
# Rates both modules write as raw files (.r8 ... .r64); others fall back to .r16 or fail.
_PLAY_RATES_HZ = (8000, 16000, 24000, 32000, 48000, 64000)
_MAX_PARAMS = 1024
_CALL_ID_KEYS = ("uuid", "callSid", "call_id", "callId", "channel_id")


class AudioForkAdapter:
    """Sans-I/O state of one mod_audio_fork / mod_audio_stream connection."""

    peer = "audiofork"

    def __init__(
        self,
        rate_hz: int = 8000,
        channels: int = 1,
        dialect: Dialect = "audio_fork",
        *,
        trust_metadata_format: bool = True,
    ) -> None:
        if not isinstance(rate_hz, int) or not 8000 <= rate_hz <= 192_000:
            raise ConfigError(f"audio fork rate_hz must be 8000..192000, got {rate_hz!r}")
        if channels not in (1, 2):
            raise ConfigError(f"audio fork channels must be 1 or 2, got {channels!r}")
        if dialect not in ("audio_fork", "audio_stream"):
            raise ConfigError(f"audio fork dialect must be audio_fork or audio_stream, got {dialect!r}")
        self.rate_hz = rate_hz
        self.channels = channels
        self.dialect: Dialect = dialect
        self.trust_metadata_format = trust_metadata_format
        self.out_rate_hz = self._play_rate(rate_hz)
        self.frame_ms = 20
        self.max_lead_ms = UNPACED_LEAD_MS
        self.started = False
        self.ended = False
        self.dropped_before_start = 0
        self._carry = b""
        self._close_reason: str | None = None

    # ---------------------------------------------------------------- inbound

    def receive_text(self, text: str) -> list[InboundEvent]:
        if len(text) > MAX_TEXT_CHARS:
            raise ProtocolError(1009, f"text message of {len(text)} characters is too big")
        if self.ended:
            return []
        if not self.started:
            return [self._start(text)]
        return [self._later_text(text)]

    def receive_bytes(self, data: bytes) -> list[InboundEvent]:
        if len(data) > _MAX_BINARY_BYTES:
            raise ProtocolError(1009, f"binary message of {len(data)} bytes is too big")
        if self.ended:
            return []
        events: list[InboundEvent] = []
        if not self.started:
            events.append(self._start(None))
        if not data:
            # graceful-shutdown: "flush your final results, then close".
            self.ended = True
            self._close_reason = "graceful_shutdown"
            events.append(CallEnded("graceful_shutdown"))
            return events
        joined = self._carry + data
        frame_bytes = 2 * self.channels
        whole = len(joined) - len(joined) % frame_bytes
        self._carry = joined[whole:]
        if whole == 0:
            return events
        if self.channels == 1:
            events.append(AudioReceived(joined[:whole], self.rate_hz, "caller"))
            return events
        left, right = split_stereo(l16_to_array(joined[:whole]))
        events.append(AudioReceived(array_to_l16(left), self.rate_hz, "caller"))
        events.append(AudioReceived(array_to_l16(right), self.rate_hz, "agent"))
        return events

    def _start(self, metadata: str | None) -> CallStarted:
        params: dict[str, str] = {}
        call_id = ""
        if metadata is not None:
            parsed: object = None
            try:
                parsed = loads_utf8(metadata)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict) and len(parsed) <= _MAX_PARAMS:
                params = string_params(parsed, max_items=_MAX_PARAMS)
                for key in _CALL_ID_KEYS:
                    value = parsed.get(key)
                    if isinstance(value, str) and 0 < len(value) <= 256:
                        call_id = value
                        break
                if self.trust_metadata_format:
                    self._format_from_metadata(parsed)
            else:
                params = {"metadata": metadata}
        self.started = True
        channels: tuple[Literal["caller", "agent"], ...] = ("caller", "agent") if self.channels == 2 else ("caller",)
        return CallStarted(
            call_id=call_id or uuid.uuid4().hex,
            rate_hz=self.rate_hz,
            channels=channels,
            params=params,
            peer=self.peer,
        )

    def _format_from_metadata(self, metadata: dict[str, object]) -> None:
        """jambonz ``listen`` announces its own format in the first frame."""
        rate = metadata.get("sampleRate")
        if isinstance(rate, int) and not isinstance(rate, bool) and 8000 <= rate <= 192_000:
            self.rate_hz = rate
            self.out_rate_hz = self._play_rate(rate)
        mix = metadata.get("mixType")
        if mix in ("mono", "mixed"):
            self.channels = 1
        elif mix == "stereo":
            self.channels = 2

    def _later_text(self, text: str) -> InboundEvent:
        parsed: object = None
        if text[:1] == "{":
            try:
                parsed = loads_utf8(text)
            except (ValueError, RecursionError):
                parsed = None
        if isinstance(parsed, dict):
            digit = parsed.get("dtmf")
            if parsed.get("event") == "dtmf" and isinstance(digit, str) and 0 < len(digit) <= 2:
                return DtmfReceived(digit)
            data = parsed.get("data")
            if parsed.get("type") == "mark" and isinstance(data, dict):
                name, kind = data.get("name"), data.get("event")
                if isinstance(name, str) and name:
                    return MarkCleared(name) if kind == "cleared" else MarkPlayed(name)
        return ControlReceived("text", {"text": text})

    # ---------------------------------------------------------------- outbound

    def send(self, command: OutboundCommand) -> list[str | bytes]:
        if isinstance(command, PlayAudio):
            samples = pcm_to_array(command.pcm)
            if not command.pcm:
                return []
            pcm = array_to_l16(resample_once(samples, command.rate_hz, self.out_rate_hz))
            return [self._play_message(pcm[i : i + _MAX_RAW_BYTES]) for i in range(0, len(pcm), _MAX_RAW_BYTES)]
        if isinstance(command, SendMark):
            return []
        if isinstance(command, ClearAudio):
            return [_json({"type": "killAudio"})]
        if isinstance(command, Transfer):
            data = {"target": command.target, "reason": command.reason, "summary": dict(command.summary)}
            return [_json({"type": "transfer", "data": data})]
        if isinstance(command, Hangup):
            return [_json({"type": "disconnect"})]
        if isinstance(command, SendJson):
            return [command.payload]
        raise TypeError(f"not an outbound command: {command!r}")

    def take_events(self) -> list[InboundEvent]:
        return []

    def close_reason(self) -> str | None:
        return self._close_reason

    def _play_message(self, pcm: bytes) -> str:
        content = base64.b64encode(pcm).decode("ascii")
        if self.dialect == "audio_fork":
            data: dict[str, object] = {"audioContentType": "raw", "sampleRate": self.out_rate_hz, "audioContent": content}
            return _json({"type": "playAudio", "data": data})
        data = {"audioDataType": "raw", "sampleRate": self.out_rate_hz, "audioData": content}
        return _json({"type": "streamAudio", "data": data})

    @staticmethod
    def _play_rate(rate_hz: int) -> int:
        return rate_hz if rate_hz in _PLAY_RATES_HZ else 16000


def _json(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
