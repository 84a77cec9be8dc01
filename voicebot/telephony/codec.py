"""Wire audio <-> ``pcm`` for the adapters: inbound decoding and outbound framing.

``InboundDecoder`` turns a peer's codec bytes (G.711 or s16le) into ``pcm``, holding back an
odd trailing byte of L16 until the next chunk (FreeSWITCH and Asterisk cut frames anywhere).

``OutboundFramer`` turns ``PlayAudio`` pcm at any rate into the peer's codec at its rate, cut
into frames of exactly ``frame_bytes``. It is stateful per call: one streaming resampler
(chunk borders cannot click) and a remainder shorter than one frame, carried to the next
push. ``flush`` ends an utterance: it drains the resampler and pads the last frame with the
codec's silence. ``clear`` drops both (barge-in).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.audio.pcm import array_to_l16, l16_to_array
from voicebot.audio.resample import Resampler
from voicebot.errors import AudioFormatError

__all__ = ["Codec", "SILENCE_BYTE", "BYTES_PER_SAMPLE", "InboundDecoder", "OutboundFramer", "pcm_to_array"]

Codec = Literal["ulaw", "alaw", "l16"]

# The byte that decodes to 0: mu-law 0xFF (G.711 positive zero), A-law 0xD5, L16 0x00.
SILENCE_BYTE: dict[Codec, bytes] = {"ulaw": b"\xff", "alaw": b"\xd5", "l16": b"\x00"}
BYTES_PER_SAMPLE: dict[Codec, int] = {"ulaw": 1, "alaw": 1, "l16": 2}


def pcm_to_array(pcm: bytes) -> npt.NDArray[np.int16]:
    """s16le bytes to int16 samples; AudioFormatError on an odd byte count."""
    return l16_to_array(pcm, "little")


class InboundDecoder:
    """Decode one inbound stream of ``codec`` bytes to pcm (s16le mono bytes)."""

    def __init__(self, codec: Codec) -> None:
        self.codec: Codec = codec
        self._carry = b""

    def decode(self, data: bytes) -> bytes:
        """Return the pcm for ``data``; an odd L16 byte waits for the next call."""
        if self.codec == "ulaw":
            return array_to_l16(ulaw_decode(data))
        if self.codec == "alaw":
            return array_to_l16(alaw_decode(data))
        joined = self._carry + data
        whole = len(joined) - len(joined) % 2
        self._carry = joined[whole:]
        return joined[:whole]


class OutboundFramer:
    """pcm at any rate -> ``codec`` bytes at ``out_rate_hz`` in frames of ``frame_bytes``."""

    def __init__(self, codec: Codec, out_rate_hz: int, frame_bytes: int) -> None:
        if frame_bytes <= 0 or frame_bytes % BYTES_PER_SAMPLE[codec]:
            raise AudioFormatError(f"frame_bytes={frame_bytes} is not a whole number of {codec} samples")
        self.codec: Codec = codec
        self.out_rate_hz = out_rate_hz
        self.frame_bytes = frame_bytes
        self._resampler: Resampler | None = None
        self._pending = bytearray()

    @property
    def pending_bytes(self) -> int:
        """Encoded bytes waiting for a full frame."""
        return len(self._pending)

    def push(self, pcm: bytes, rate_hz: int) -> list[bytes]:
        """Convert ``pcm`` (s16le mono at ``rate_hz``) and return every complete frame."""
        if not isinstance(rate_hz, int) or isinstance(rate_hz, bool) or rate_hz <= 0:
            raise AudioFormatError(f"rate_hz must be a positive integer, got {rate_hz!r}")
        samples = pcm_to_array(pcm)
        if self._resampler is not None and self._resampler.in_rate_hz != rate_hz:
            # A new source rate starts a new stream; keep the old stream's tail.
            self._pending += self._encode(self._resampler.flush())
            self._resampler = None
        if self._resampler is None:
            self._resampler = Resampler(rate_hz, self.out_rate_hz)
        self._pending += self._encode(self._resampler.process(samples))
        return self._take_frames()

    def flush(self) -> list[bytes]:
        """End the utterance: drain the resampler, pad the last frame with silence."""
        if self._resampler is not None:
            self._pending += self._encode(self._resampler.flush())
            self._resampler = None
        frames = self._take_frames()
        if self._pending:
            missing = self.frame_bytes - len(self._pending)
            frames.append(bytes(self._pending) + SILENCE_BYTE[self.codec] * missing)
            self._pending.clear()
        return frames

    def clear(self) -> None:
        """Drop the remainder and the resampler state (barge-in)."""
        self._resampler = None
        self._pending.clear()

    def silence_frame(self) -> bytes:
        """One frame of the codec's silence."""
        return SILENCE_BYTE[self.codec] * self.frame_bytes

    def _encode(self, samples: npt.NDArray[np.int16]) -> bytes:
        if self.codec == "ulaw":
            return ulaw_encode(samples)
        if self.codec == "alaw":
            return alaw_encode(samples)
        return array_to_l16(samples)

    def _take_frames(self) -> list[bytes]:
        size = self.frame_bytes
        count = len(self._pending) // size
        if count == 0:
            return []
        data = bytes(self._pending[: count * size])
        del self._pending[: count * size]
        return [data[i * size : (i + 1) * size] for i in range(count)]
