"""Prompt cache: static prompts are rendered once, kept as WAV files on disk and in memory.

A call script's fixed sentences (greeting, disclosure, closing) never change between calls,
so they are rendered at startup (``warm``) and played from cache; only dynamic parts (names,
amounts, dates) are rendered during the call. The key is the sha256 of everything that
changes the audio: text, engine name, voice id, speaking rate and output rate; a change of
any of them simply misses and renders again. Files are written to a temporary name and
renamed, so a crash never leaves a half-written entry under a real key; an unreadable entry is
re-rendered and overwritten.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

from voicebot.errors import AudioFormatError, EngineError
from voicebot.tts.base import (
    DEFAULT_FADE_MS,
    DEFAULT_PAUSE_MS,
    Rendered,
    TtsEngine,
    shape_part,
    to_rate,
)

log = logging.getLogger(__name__)

Segment = tuple[str, bool]
"""(text, cacheable): cacheable text is a static prompt, the rest is rendered per call."""


class PromptCache:
    """Rendered prompts for one engine at ``out_rate_hz``, on disk under ``cache_dir``.

    Thread-safe. ``get`` never calls the engine for a text it has already rendered with the
    same engine, voice and rate, even in a new process. ``memory_items`` bounds the in-memory
    LRU layer over the files.
    """

    def __init__(
        self,
        cache_dir: Path,
        engine: TtsEngine,
        out_rate_hz: int,
        memory_items: int = 256,
        pause_ms: int = DEFAULT_PAUSE_MS,
        fade_ms: float = DEFAULT_FADE_MS,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.engine = engine
        self.out_rate_hz = out_rate_hz
        self.pause_ms = pause_ms
        self.fade_ms = fade_ms
        self._memory_items = memory_items
        self._memory: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create TTS cache directory {self.cache_dir}: {exc}") from exc

    def key(self, text: str) -> str:
        """The cache key of ``text`` for this engine, voice, speaking rate and output rate."""
        material = [text, self.engine.name, self.engine.voice_id, self.engine.rate_wpm, self.out_rate_hz]
        return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode("utf-8")).hexdigest()

    def path(self, text: str) -> Path:
        """Where the WAV of ``text`` lives (whether or not it exists yet)."""
        return self.cache_dir / f"{self.key(text)}.wav"

    def get(self, text: str) -> Rendered:
        """``text`` at ``out_rate_hz``: from memory, else from disk, else rendered and stored."""
        key = self.key(text)
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                return hit
        path = self.cache_dir / f"{key}.wav"
        rendered: Rendered | None = None
        if path.exists():
            try:
                rendered = _read_wav(path, self.out_rate_hz)
            except AudioFormatError as exc:
                log.warning("re-rendering unreadable TTS cache entry %s: %s", path.name, exc)
        if rendered is None:
            rendered = to_rate(self.engine.render(text), self.out_rate_hz)
            _write_wav_atomically(path, rendered)
        self._remember(key, rendered)
        return rendered

    def contains(self, text: str) -> bool:
        """True when ``text`` is cached in memory or on disk (no rendering)."""
        key = self.key(text)
        with self._lock:
            if key in self._memory:
                return True
        return (self.cache_dir / f"{key}.wav").exists()

    def warm(self, texts: Iterable[str]) -> int:
        """Render every text not cached yet; returns how many were rendered. Use at startup."""
        rendered = 0
        for text in dict.fromkeys(texts):
            if not self.contains(text):
                self.get(text)
                rendered += 1
        return rendered

    def iter_segments(self, segments: list[Segment]) -> Iterator[Rendered]:
        """Yield each segment's audio, shaped for joining, as soon as it is ready.

        Cacheable segments come from the cache, the others are rendered when the iterator
        reaches them, so a caller can play a cached first part while the next is rendering.
        Concatenating everything yielded gives exactly ``render_segments(segments)``.
        """
        last = len(segments) - 1
        for i, (text, cacheable) in enumerate(segments):
            part = self.get(text) if cacheable else to_rate(self.engine.render(text), self.out_rate_hz)
            yield shape_part(part, i == 0, i == last, self.pause_ms, self.fade_ms)

    def render_segments(self, segments: list[Segment]) -> Rendered:
        """All segments joined into one utterance at ``out_rate_hz`` (see ``base.join``)."""
        pcm = b"".join(part.pcm for part in self.iter_segments(segments))
        return Rendered(pcm, self.out_rate_hz)

    def _remember(self, key: str, rendered: Rendered) -> None:
        with self._lock:
            self._memory[key] = rendered
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)


def _read_wav(path: Path, rate_hz: int) -> Rendered:
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            pcm = wav.readframes(wav.getnframes())
            complete = len(pcm) == wav.getnframes() * wav.getsampwidth() * wav.getnchannels()
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioFormatError(f"{path}: {exc}") from exc
    if shape != (1, 2, rate_hz):
        raise AudioFormatError(f"{path}: expected mono 16-bit {rate_hz} Hz, got {shape}")
    if not complete or not pcm:
        raise AudioFormatError(f"{path}: truncated")
    return Rendered(pcm, rate_hz)


def _write_wav_atomically(path: Path, rendered: Rendered) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as file:
            with wave.open(file, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(rendered.rate_hz)
                wav.writeframes(rendered.pcm)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise EngineError(f"cannot write TTS cache entry {path}: {exc}") from exc
