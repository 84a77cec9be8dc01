"""The adapter contract shared by every telephony peer, plus strict parse guards.

An adapter is a sans-I/O protocol core for one peer (Twilio, FreeSWITCH audio fork, Asterisk
chan_websocket, Asterisk AudioSocket, vosk-server clients, the browser softphone). The server
owns the socket; it hands every inbound frame to ``receive_text``/``receive_bytes`` and writes
whatever ``send`` returns, in order. Nothing here touches the network or the clock.

Contract of every adapter (``Adapter`` below):

* ``receive_text``/``receive_bytes`` return the ``InboundEvent`` list for one frame (or one TCP
  read for AudioSocket). For *any* input they either return events or raise
  ``ProtocolError(close_code, reason)``; no other exception type escapes. Codes: 1003 binary
  where text is expected or the reverse, 1007 malformed JSON/base64/field type/payload size,
  1008 an event out of sequence or a forbidden one, 1009 a message too big.
  Unknown but harmless fields are ignored.
* ``send(command)`` returns the wire messages for one ``OutboundCommand``, in order. The
  messages returned for a ``PlayAudio`` are *audio frames*: each one carries exactly
  ``frame_ms`` of audio, so the server paces them with ``pacing.Pacer`` (at most
  ``max_lead_ms`` ahead of real time). Messages returned for any other command are *control
  messages*: queue them behind the audio already queued, with no duration
  (``Pacer.push_control``). A ``SendMark``/``Hangup`` may start with one last audio frame padded
  with silence (the remainder flush); treating it as control only moves it up by one frame.
  Adapters whose ``max_lead_ms`` is ``UNPACED_LEAD_MS`` (FreeSWITCH audio fork: whole
  utterances go into files) need no pacing at all.
* Commands given before the peer has started the call (Twilio ``start``, Asterisk
  ``MEDIA_START``, AudioSocket UUID, softphone ``start``) return ``[]`` and are counted in
  ``dropped_before_start``: the peer cannot take them yet (Twilio needs the streamSid).
* ``take_events()`` returns events the adapter synthesised while sending, then forgets them.
  Today: ``MarkCleared`` for marks pending when ``ClearAudio`` was sent, on peers that never
  echo cleared marks (Asterisk ``FLUSH_MEDIA``, softphone ``clear``). Call it after ``send``.
* ``close_reason()`` is the reason of the ``CallEnded`` the adapter emitted, or ``None``.
* Marks: Twilio, Asterisk and the softphone confirm playout. The audio fork and AudioSocket
  have no playout confirmation; ``SendMark`` returns ``[]`` (audio fork) or only the padded
  remainder (AudioSocket), and the server should take "the paced send of everything before
  the mark has completed" as the best proof of playout.

``PlayAudio.pcm`` must hold whole s16le samples; an odd byte count raises ``AudioFormatError``
(it is a bug in our own pipeline, not peer input).
"""
from __future__ import annotations

import json
from typing import Mapping, Protocol

from voicebot.errors import ProtocolError
from voicebot.events import InboundEvent, OutboundCommand

__all__ = [
    "Adapter",
    "UNPACED_LEAD_MS",
    "MAX_TEXT_CHARS",
    "parse_json_object",
    "loads_utf8",
    "get_object",
    "get_str",
    "get_int",
    "string_params",
]

# max_lead_ms of adapters whose outbound audio is a file per message, not a paced stream.
UNPACED_LEAD_MS = 86_400_000

# Largest text frame any adapter accepts (the server's websocket max_size should match).
MAX_TEXT_CHARS = 1_048_576


class Adapter(Protocol):
    """One call's protocol state for one telephony peer (see the module docstring)."""

    peer: str  # "twilio", "audiofork", "asterisk", "audiosocket", "vosk", "softphone"
    out_rate_hz: int  # rate the peer wants outbound audio at (final once started is True)
    frame_ms: int  # duration of one outbound audio frame, for pacing
    max_lead_ms: int  # how far ahead of real time the server may send audio
    started: bool  # CallStarted has been emitted

    def receive_text(self, text: str) -> list[InboundEvent]: ...

    def receive_bytes(self, data: bytes) -> list[InboundEvent]: ...

    def send(self, command: OutboundCommand) -> list[str | bytes]: ...

    def take_events(self) -> list[InboundEvent]: ...

    def close_reason(self) -> str | None: ...


def loads_utf8(text: str) -> object:
    """json.loads that also refuses lone surrogates (a ``\\ud800`` escape decodes to a
    string that cannot be written back as UTF-8); raises ValueError like json.loads."""
    value = json.loads(text)
    if "\\u" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a JSON string holds a lone UTF-16 surrogate") from None
    return value


def parse_json_object(text: str, max_chars: int = MAX_TEXT_CHARS) -> dict[str, object]:
    """Parse one JSON object from a text frame; ProtocolError 1009 if longer than
    ``max_chars``, 1007 if it is not JSON or not an object."""
    if len(text) > max_chars:
        raise ProtocolError(1009, f"text message of {len(text)} characters is too big")
    try:
        value = loads_utf8(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(1007, f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(1007, f"expected a JSON object, got {type(value).__name__}")
    return value


def get_object(obj: Mapping[str, object], key: str, where: str) -> dict[str, object]:
    """``obj[key]``, which must be a JSON object (1007 otherwise)."""
    value = obj.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(1007, f"{where}.{key} must be an object")
    return value


def get_str(obj: Mapping[str, object], key: str, where: str, *, max_chars: int = 4096) -> str:
    """``obj[key]``, which must be a non-empty string of at most ``max_chars`` (1007)."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolError(1007, f"{where}.{key} must be a non-empty string")
    if len(value) > max_chars:
        raise ProtocolError(1007, f"{where}.{key} is longer than {max_chars} characters")
    return value


def get_int(value: object, where: str, *, low: int, high: int) -> int:
    """An integer given as a JSON number or a decimal string (peers send both), within
    ``[low, high]``; 1007 otherwise. Floats must be whole (vosk sends 16000.0)."""
    number: int
    if isinstance(value, bool):
        raise ProtocolError(1007, f"{where} must be a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and 0 < len(value) <= 12 and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ProtocolError(1007, f"{where} must be an integer")
    if not low <= number <= high:
        raise ProtocolError(1007, f"{where}={number} is outside {low}..{high}")
    return number


def string_params(obj: Mapping[str, object], *, max_items: int = 256) -> dict[str, str]:
    """Flatten a JSON object into ``CallStarted.params``: strings stay as they are, other
    values become their compact JSON text. Too many entries is 1007."""
    if len(obj) > max_items:
        raise ProtocolError(1007, f"more than {max_items} parameters")
    params: dict[str, str] = {}
    for key, value in obj.items():
        if isinstance(value, str):
            params[str(key)] = value
        else:
            try:
                params[str(key)] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            except (ValueError, RecursionError):
                raise ProtocolError(1007, f"parameter {key!r} cannot be represented") from None
    return params
