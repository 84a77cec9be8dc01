"""Pure audio building blocks: G.711, PCM layout, resampling, WAV files, voice activity.

Nothing here does network or event-loop I/O (a test enforces that no asyncio, websockets,
socket or vosk module is imported); only ``wav`` touches the file system.
"""
from __future__ import annotations

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.audio.pcm import (
    array_to_l16,
    interleave,
    l16_to_array,
    mix,
    rms_dbfs,
    split_stereo,
    to_mono,
)
from voicebot.audio.resample import Resampler, resample_once
from voicebot.audio.vad import Vad, VadEvent
from voicebot.audio.wav import WavAudio, WavWriter, read_wav, repair_wav, write_wav

__all__ = [
    "alaw_decode",
    "alaw_encode",
    "ulaw_decode",
    "ulaw_encode",
    "array_to_l16",
    "interleave",
    "l16_to_array",
    "mix",
    "rms_dbfs",
    "split_stereo",
    "to_mono",
    "Resampler",
    "resample_once",
    "Vad",
    "VadEvent",
    "WavAudio",
    "WavWriter",
    "read_wav",
    "repair_wav",
    "write_wav",
]
