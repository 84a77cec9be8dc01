"""The Recorder: channel alignment, mix, masking of meta, durability points."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from voicebot.audio.wav import read_wav
from voicebot.errors import AudioFormatError, StoreError
from voicebot.events import EventType, SessionEvent
from voicebot.recording.format import SessionRecord, read_session
from voicebot.recording.recorder import Recorder

from .conftest import BOT_LEVEL, CALLER_LEVEL, RATE_HZ


def _at(pcm: np.ndarray, offset_ms: int) -> int:
    return int(pcm[offset_ms * RATE_HZ // 1000])


def test_caller_and_bot_audio_land_at_their_offsets(make_call: Callable[..., SessionRecord]) -> None:
    # given a synthetic call whose caller speaks 2500-3500 ms and whose bot prompts at 0-2000, 3900-6900 ...
    record = make_call()
    caller = read_wav(record.audio["caller"])
    bot = read_wav(record.audio["bot"])
    assert caller.rate_hz == bot.rate_hz == RATE_HZ and caller.channels == bot.channels == 1
    c, b = np.asarray(caller.pcm), np.asarray(bot.pcm)
    # caller speech exactly inside its intervals, silence elsewhere
    assert _at(c, 2499) == 0 and _at(c, 2500) == CALLER_LEVEL and _at(c, 3499) == CALLER_LEVEL
    assert _at(c, 3500) == 0 and _at(c, 10000) == CALLER_LEVEL and _at(c, 9999) == 0
    assert int(np.count_nonzero(c)) == (1000 + 1500 + 500) * RATE_HZ // 1000
    # bot audio at the time it was sent
    assert _at(b, 0) == BOT_LEVEL and _at(b, 1999) == BOT_LEVEL and _at(b, 2000) == 0
    assert _at(b, 3899) == 0 and _at(b, 3900) == BOT_LEVEL and _at(b, 16599) == BOT_LEVEL
    assert len(b) == 16600 * RATE_HZ // 1000


def test_mix_is_stereo_caller_left_bot_right(make_call: Callable[..., SessionRecord]) -> None:
    record = make_call()
    mix = read_wav(record.audio["mix"])
    assert mix.channels == 2 and mix.rate_hz == RATE_HZ
    left, right = np.asarray(mix.pcm)[:, 0], np.asarray(mix.pcm)[:, 1]
    assert _at(left, 2600) == CALLER_LEVEL and _at(right, 2600) == 0
    assert _at(left, 500) == 0 and _at(right, 500) == BOT_LEVEL
    assert mix.frames == max(read_wav(record.audio["caller"]).frames, read_wav(record.audio["bot"]).frames)


def test_meta_masks_account_and_phone_and_keeps_call_facts(make_call: Callable[..., SessionRecord]) -> None:
    record = make_call()
    meta = json.loads((record.dir / "meta.json").read_text())
    assert meta["account_id"] == "*" * 11 + "4242"
    assert meta["account_key"].startswith("k:") and "0042424242" not in json.dumps(meta)
    assert meta["phone"].endswith("0000") and "555" not in meta["phone"]
    assert meta["script_version"] == "3" and meta["config_hash"] == "abc123def456"
    assert meta["outcome"]["disposition"] == "promise_to_pay"
    assert meta["started_at"] < meta["ended_at"]
    assert meta["duration_ms"] == 16700
    # the transcript stays in events (redaction is for logs)
    finals = [e.data["text"] for e in record.of_type(EventType.FINAL)]
    assert any("4111 1111 1111 1111" in t for t in finals)


def test_late_chunk_is_appended_not_dropped(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "c", RATE_HZ)
    one = np.full(800, 5, np.int16).tobytes()  # 100 ms
    rec.audio("caller", one, 0)
    rec.audio("caller", one, 50)  # claims to start inside the previous chunk
    rec.close({"disposition": "completed"})
    pcm = np.asarray(read_wav(tmp_path / "c" / "caller.wav").pcm)
    assert len(pcm) == 1600 and bool((pcm == 5).all())


def test_sync_makes_audio_and_events_visible_while_live(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "live", RATE_HZ)
    rec.event(SessionEvent(EventType.CALL_STARTED, 0, {"call_id": "live"}))
    rec.audio("caller", np.full(RATE_HZ, 7, np.int16).tobytes(), 0)
    rec.sync()
    live = read_session(tmp_path / "live")
    assert not live.finished and len(live.events) == 1
    assert read_wav(live.audio["caller"]).frames == RATE_HZ
    rec.close({"disposition": "completed"})
    assert read_session(tmp_path / "live").finished


def test_misuse_raises(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "m", RATE_HZ)
    with pytest.raises(StoreError):
        rec.audio("agent", b"\x00\x00", 0)  # not a recorded channel
    with pytest.raises(AudioFormatError):
        rec.audio("caller", b"\x00", 0)
    rec.close({"disposition": "completed"})
    with pytest.raises(StoreError):
        rec.event(SessionEvent(EventType.DTMF, 10, {"digit": "1"}))
    with pytest.raises(StoreError):
        Recorder(tmp_path, "m", RATE_HZ)  # the session exists already
