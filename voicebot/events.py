"""The event vocabulary of voicebot: the one place call events and commands are named.

Inbound facts are past tense (``CallStarted``, ``AudioReceived``); outbound commands are
imperative (``PlayAudio``, ``ClearAudio``, ``Hangup``). Vendor field names never leave their
adapter: an adapter turns wire frames into these events and these commands into wire frames.

Audio inside events is always ``pcm``: signed 16-bit little-endian mono bytes at ``rate_hz``.
Offsets are milliseconds from call start (``offset_ms``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Mapping

Channel = Literal["caller", "agent", "bot"]


# --------------------------------------------------------------------------------------------
# Inbound: what the peer told us (adapter.receive_* returns these)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The peer announced a call. ``params`` carries account data and custom parameters
    (Twilio customParameters, audio-fork metadata, query string) as strings."""

    call_id: str
    rate_hz: int  # rate of the PCM the adapter will deliver in AudioReceived
    channels: tuple[Channel, ...] = ("caller",)
    params: Mapping[str, str] = field(default_factory=dict)
    peer: str = ""  # e.g. "twilio", "audiofork", "asterisk", "audiosocket", "softphone"
    voicemail: bool = False  # the PBX says this is an answering machine


@dataclass(frozen=True, slots=True)
class AudioReceived:
    """A chunk of inbound audio, already decoded to s16le mono at ``rate_hz``."""

    pcm: bytes
    rate_hz: int
    channel: Channel = "caller"
    gap_ms: int = 0  # audio the peer did not send before this chunk (timestamp gap)


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    digit: str


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """The peer confirmed playback reached the mark named ``name``."""

    name: str


@dataclass(frozen=True, slots=True)
class MarkCleared:
    """The mark ``name`` was echoed after a clear: its audio was dropped, not played."""

    name: str


@dataclass(frozen=True, slots=True)
class FlowPaused:
    """The peer asks us to stop sending media (Asterisk MEDIA_XOFF)."""


@dataclass(frozen=True, slots=True)
class FlowResumed:
    """The peer may take media again (Asterisk MEDIA_XON)."""


@dataclass(frozen=True, slots=True)
class TextReceived:
    """A typed turn (softphone text box, chat mode) standing in for recognised speech."""

    text: str
    channel: Channel = "caller"


@dataclass(frozen=True, slots=True)
class ControlReceived:
    """A peer message that matters to the session but is not audio (e.g. softphone hangup
    button, vosk-protocol config/eof/reset). ``kind`` is a short name, ``data`` its fields."""

    kind: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The peer ended the call (Twilio stop, hang-up frame, socket closed)."""

    reason: str = "peer_hangup"


InboundEvent = (
    CallStarted
    | AudioReceived
    | DtmfReceived
    | MarkPlayed
    | MarkCleared
    | FlowPaused
    | FlowResumed
    | TextReceived
    | ControlReceived
    | CallEnded
)


# --------------------------------------------------------------------------------------------
# Outbound: what we tell the peer (adapter.send(command) turns these into wire messages)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlayAudio:
    """Queue ``pcm`` (s16le mono at ``rate_hz``) for playback. The adapter converts it to
    the peer's codec and rate (stateful resampler per call)."""

    pcm: bytes
    rate_hz: int


@dataclass(frozen=True, slots=True)
class SendMark:
    """Ask the peer to tell us when playback reaches this point."""

    name: str


@dataclass(frozen=True, slots=True)
class ClearAudio:
    """Drop everything queued for playback at once (barge-in)."""


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "completed"


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the call to a person. ``target`` is an agent number, SIP URI or queue name."""

    target: str
    reason: str
    summary: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendJson:
    """A JSON message for peers that take one (softphone events, vosk-protocol results).
    ``payload`` is sent as given (already serialised text)."""

    payload: str


OutboundCommand = PlayAudio | SendMark | ClearAudio | Hangup | Transfer | SendJson


# --------------------------------------------------------------------------------------------
# Session events: what the recorder, dashboard feed and logs observe (events.jsonl "type")
# --------------------------------------------------------------------------------------------


class EventType(StrEnum):
    CALL_STARTED = "call_started"
    AUDIO_GAP = "audio_gap"
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"
    PARTIAL = "partial"
    FINAL = "final"
    UNDERSTOOD = "understood"  # intents + entities of a caller turn
    STATE_CHANGE = "state_change"
    PROMPT_START = "prompt_start"
    PROMPT_END = "prompt_end"  # all audio of the prompt was sent
    PROMPT_PLAYED = "prompt_played"  # the peer confirmed playout (mark echo)
    PROMPT_INTERRUPTED = "prompt_interrupted"
    BARGE_IN = "barge_in"
    MARK = "mark"
    DTMF = "dtmf"
    SAY = "say"  # the text of a bot line
    HANDOFF = "handoff"
    TRANSFER = "transfer"
    COMPLIANCE_WARNING = "compliance_warning"
    SUGGESTION = "suggestion"
    ERROR = "error"
    OUTCOME = "outcome"
    CALL_ENDED = "call_ended"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One line of events.jsonl: ``type``, milliseconds from call start, and its fields."""

    type: EventType
    offset_ms: int
    data: Mapping[str, object] = field(default_factory=dict)

    def to_json_obj(self) -> dict[str, object]:
        return {"type": str(self.type), "offset_ms": self.offset_ms, **self.data}
