"""PromptCache: disk + memory caching, warming, segment joining and streaming."""
from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.tts.base import Rendered, TtsEngine, join, to_rate
from voicebot.tts.cache import PromptCache
from voicebot.tts.pyttsx3_engine import Pyttsx3Engine


class CountingEngine:
    """Wraps a real engine and records every text it is asked to render."""

    def __init__(self, inner: TtsEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.voice_id = inner.voice_id
        self.rate_wpm = inner.rate_wpm
        self.rendered: list[str] = []

    def render(self, text: str) -> Rendered:
        self.rendered.append(text)
        return self.inner.render(text)


@pytest.fixture
def counting(espeak_engines: dict[str, Pyttsx3Engine]) -> CountingEngine:
    return CountingEngine(espeak_engines["ko"])


def test_hit_returns_identical_bytes_without_rendering(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000)
    first = cache.get("네, 알겠습니다.")
    assert first.rate_hz == 8000 and first.duration_s > 0.2
    second = cache.get("네, 알겠습니다.")
    assert second.pcm == first.pcm
    assert counting.rendered == ["네, 알겠습니다."]
    assert cache.path("네, 알겠습니다.").is_file()


def test_entries_survive_a_new_cache_instance(tmp_path: Path, counting: CountingEngine) -> None:
    first = PromptCache(tmp_path, counting, out_rate_hz=8000).get("안녕하세요")
    reopened = PromptCache(tmp_path, counting, out_rate_hz=8000)
    assert reopened.contains("안녕하세요")
    assert reopened.get("안녕하세요").pcm == first.pcm
    assert counting.rendered == ["안녕하세요"]
    assert [p.suffix for p in tmp_path.iterdir()] == [".wav"]  # no temp files left behind


def test_key_covers_output_rate_and_speaking_rate(tmp_path: Path, counting: CountingEngine) -> None:
    PromptCache(tmp_path, counting, out_rate_hz=8000).get("네")
    wide = PromptCache(tmp_path, counting, out_rate_hz=16000).get("네")
    assert wide.rate_hz == 16000
    counting.rate_wpm = 120
    PromptCache(tmp_path, counting, out_rate_hz=8000).get("네")
    assert counting.rendered == ["네", "네", "네"]


def test_warm_renders_only_missing_texts(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000)
    cache.get("하나")
    assert cache.warm(["하나", "둘", "셋", "둘"]) == 2
    assert counting.rendered == ["하나", "둘", "셋"]
    assert cache.warm(["하나", "둘", "셋"]) == 0


def test_corrupt_entry_is_rerendered(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000)
    cache.path("네").write_bytes(b"RIFF garbage")
    assert cache.get("네").duration_s > 0.2
    assert counting.rendered == ["네"]
    assert PromptCache(tmp_path, counting, out_rate_hz=8000).get("네").duration_s > 0.2
    assert counting.rendered == ["네"]


def test_memory_layer_is_bounded_but_disk_still_serves(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000, memory_items=1)
    a = cache.get("하나")
    cache.get("둘")
    assert cache.get("하나").pcm == a.pcm
    assert counting.rendered == ["하나", "둘"]


def test_segments_join_cached_and_dynamic_parts(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000)
    segments = [("안녕하세요", True), ("김민수", False), ("고객님", True)]
    joined = cache.render_segments(segments)
    assert counting.rendered == ["안녕하세요", "김민수", "고객님"]
    cached = [cache.get("안녕하세요"), cache.get("고객님")]
    assert joined.rate_hz == 8000
    assert joined.duration_s > sum(c.duration_s for c in cached)
    again = cache.render_segments(segments)
    assert counting.rendered == ["안녕하세요", "김민수", "고객님", "김민수"]  # only the dynamic part
    assert again.duration_s == pytest.approx(joined.duration_s, rel=0.05)


def test_iter_segments_yields_cached_part_before_rendering_dynamic(tmp_path: Path, counting: CountingEngine) -> None:
    cache = PromptCache(tmp_path, counting, out_rate_hz=8000)
    cache.warm(["안녕하세요"])
    segments = [("안녕하세요", True), ("김민수 고객님", False)]
    parts = cache.iter_segments(segments)
    first = next(parts)
    assert first.duration_s > 0.2
    assert counting.rendered == ["안녕하세요"]  # the dynamic part has not been asked for yet
    second = next(parts)
    assert counting.rendered == ["안녕하세요", "김민수 고객님"]
    with pytest.raises(StopIteration):
        next(parts)
    dynamic = to_rate(counting.inner.render("김민수 고객님"), 8000)
    expected = join([cache.get("안녕하세요"), dynamic], 8000)
    assert abs(len(first.pcm) + len(second.pcm) - len(expected.pcm)) < 0.05 * len(expected.pcm)
