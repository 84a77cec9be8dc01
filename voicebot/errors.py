"""The error tree of voicebot. Errors are raised, never returned as None.

    VoicebotError
     ├── ConfigError            bad config file, key or value (CLI exits 2)
     ├── ModelNotFoundError     no Vosk model could be resolved (CLI exits 2)
     ├── AudioFormatError       audio or WAV data we cannot decode
     ├── ScriptError            a call script failed to load or lint (file, line, reason)
     ├── ProtocolError          a peer broke its wire protocol; carries the websocket close
     │                          code (1003/1007/1008/1009) and a reason; ends that call only
     ├── EngineError            ASR/TTS engine failure (worker died, render failed)
     └── StoreError             the call store could not be read or written

A failure ends the call it belongs to (with a reason, and an apology where possible), never the
server.
"""
from __future__ import annotations


class VoicebotError(Exception):
    """Root of every error voicebot raises on purpose."""


class ConfigError(VoicebotError):
    """A config file, key or value is wrong. The message names file, key and what was expected."""


class ModelNotFoundError(VoicebotError):
    """No Vosk model could be found; the message lists where we looked."""


class AudioFormatError(VoicebotError):
    """Audio bytes or a WAV file we cannot decode."""


class ScriptError(VoicebotError):
    """A call script is invalid: carries file, line and reason."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class ProtocolError(VoicebotError):
    """A peer sent something its protocol does not allow.

    ``close_code`` is the websocket close code to answer with (RFC 6455 section 7.4.1):
    1003 unsupported data (binary where text expected, or the reverse), 1007 invalid payload
    data (malformed JSON, bad base64, wrong payload size), 1008 policy violation (unknown
    event, auth), 1009 message too big.
    """

    def __init__(self, close_code: int, reason: str) -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


class EngineError(VoicebotError):
    """An ASR or TTS engine failed (render error, worker process died)."""


class StoreError(VoicebotError):
    """The call store could not be read or written."""
