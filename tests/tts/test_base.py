"""Rendered, to_rate and join: joins are click-free, trimmed, and resampled."""
from __future__ import annotations

import numpy as np
import pytest

from voicebot.errors import AudioFormatError
from voicebot.tts.base import Rendered, join, shape_part, to_rate


def _max_step(rendered: Rendered) -> int:
    samples = rendered.samples().astype(np.int32)
    return int(np.max(np.abs(np.diff(samples)))) if len(samples) > 1 else 0


def _tone(freq_hz: float, duration_s: float, rate_hz: int, amplitude: float, silence_s: float) -> Rendered:
    """A tone cut off abruptly at its loudest point, framed by silence (like an engine's output)."""
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    tone = amplitude * np.cos(2 * np.pi * freq_hz * t)
    pad = np.zeros(int(silence_s * rate_hz))
    samples = np.concatenate([pad, tone, pad]).astype("<i2")
    return Rendered(samples.tobytes(), rate_hz)


def test_rendered_duration_and_validation() -> None:
    assert Rendered(b"\x00\x00" * 8000, 8000).duration_s == 1.0
    with pytest.raises(AudioFormatError):
        Rendered(b"\x00", 8000)
    with pytest.raises(AudioFormatError):
        Rendered(b"", 0)


def test_to_rate_resamples_keeping_duration() -> None:
    tone = _tone(300, 1.0, 22050, 8000, 0.0)
    down = to_rate(tone, 8000)
    assert down.rate_hz == 8000
    assert down.duration_s == pytest.approx(1.0, abs=0.002)
    assert to_rate(tone, 22050) is tone


def test_join_of_nothing_is_empty_and_of_one_is_just_resampled() -> None:
    assert join([], 8000) == Rendered(b"", 8000)
    tone = _tone(300, 0.5, 22050, 8000, 0.3)
    assert join([tone], 8000) == to_rate(tone, 8000)


@pytest.mark.parametrize("rates_hz", [(8000, 8000, 8000), (22050, 16000, 8000)])
def test_join_has_no_clicks_between_abruptly_cut_tones(rates_hz: tuple[int, int, int]) -> None:
    # Each tone starts and ends at full amplitude: joined naively, every join is a step of
    # ~amplitude (silence -> peak), far bigger than the steps inside a low tone.
    parts = [
        _tone(200, 0.5, rates_hz[0], 12000, 0.0),
        _tone(250, 0.4, rates_hz[1], 20000, 0.0),
        _tone(100, 0.3, rates_hz[2], 9000, 0.0),
    ]
    converted = [to_rate(p, 8000) for p in parts]
    inner = max(_max_step(c) for c in converted)
    naive = Rendered(b"".join(c.pcm for c in converted), 8000)
    assert _max_step(naive) > inner  # the test can fail
    assert _max_step(join(parts, 8000)) <= inner
    assert _max_step(join(parts, 8000, fade_ms=0)) > inner


def test_join_has_no_clicks_between_real_speech(
    espeak_renders: dict[str, Rendered], piper_render: Rendered
) -> None:
    parts = [espeak_renders["ko"], piper_render, espeak_renders["zh"], espeak_renders["en"]]
    for rate_hz in (8000, 16000):
        converted = [to_rate(p, rate_hz) for p in parts]
        joined = join(parts, rate_hz)
        boundaries = np.cumsum([shape_part(c, i == 0, i == 3).samples().size for i, c in enumerate(converted)])
        samples = joined.samples().astype(np.int32)
        inner = max(_max_step(c) for c in converted)
        # Every step around each join point is no bigger than the steps inside the parts.
        for boundary in boundaries[:-1]:
            window = samples[max(0, boundary - 2000) : boundary + 2000]
            assert int(np.max(np.abs(np.diff(window)))) <= inner


def test_join_replaces_inner_silence_with_one_short_pause() -> None:
    a = _tone(440, 0.5, 8000, 10000, 1.0)  # 1 s of silence either side
    b = _tone(300, 0.5, 8000, 10000, 1.0)
    joined = join([a, b], 8000, pause_ms=200)
    # Outer silence stays (1 s + 1 s), inner 2 s shrinks to ~0.2 s plus 20 ms margins.
    assert joined.duration_s == pytest.approx(1.0 + 0.5 + 0.2 + 0.04 + 0.5 + 1.0, abs=0.03)
    samples = joined.samples()
    assert np.all(samples[:7990] == 0)  # leading silence of the first part is untouched


def test_shaped_parts_concatenate_to_the_join() -> None:
    parts = [_tone(440, 0.3, 8000, 10000, 0.2), _tone(300, 0.3, 8000, 10000, 0.2), _tone(200, 0.3, 8000, 10000, 0.2)]
    shaped = [shape_part(p, i == 0, i == 2) for i, p in enumerate(parts)]
    assert b"".join(s.pcm for s in shaped) == join(parts, 8000).pcm


def test_all_silent_inner_part_does_not_break_the_join() -> None:
    silent = Rendered(b"\x00\x00" * 4000, 8000)
    tone = _tone(440, 0.3, 8000, 10000, 0.1)
    joined = join([tone, silent, tone], 8000, pause_ms=100)
    assert joined.duration_s < 2 * tone.duration_s + 0.3
