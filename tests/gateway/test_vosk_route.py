"""``/vosk``: the vosk-server websocket protocol, driven the way vosk-server's own test clients
and res_speech_vosk drive it (lock-step send/recv, 3200-byte chunks, legacy ``{"eof" : 1}``)."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import scaled
from tests.gateway.wire import padded

pytestmark = pytest.mark.slow

CHUNK_BYTES = 3200  # 200 ms of 8 kHz s16le, what vosk-server's clients and mod_vosk send
PARTIAL_KEYS = {"partial"}
FINAL_KEYS = ({"text"}, {"result", "text"})
WORD_KEYS = {"conf", "end", "start", "word"}


def _check_shape(reply: str) -> dict[str, Any]:
    obj = json.loads(reply)
    assert isinstance(obj, dict)
    keys = set(obj)
    assert keys == PARTIAL_KEYS or keys in FINAL_KEYS, reply
    if "result" in obj:
        assert obj["result"] and all(set(w) == WORD_KEYS for w in obj["result"]), reply
        assert all(isinstance(w["start"], float) and w["end"] >= w["start"] for w in obj["result"])
    return obj


async def _lockstep(url: str, pcm: bytes, config: str | None, eof: str) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    """Send config (if any), then each chunk followed by exactly one recv, then eof.
    Returns (per-chunk replies, eof reply, close code)."""
    replies: list[dict[str, Any]] = []
    async with connect(url) as ws:
        if config is not None:
            await ws.send(config)
        for i in range(0, len(pcm), CHUNK_BYTES):
            await ws.send(pcm[i:i + CHUNK_BYTES])
            replies.append(_check_shape(await asyncio.wait_for(ws.recv(), scaled(20))))
        # Had the config been answered, every reply would be one late and one would still be
        # queued after the eof reply, so the recv below would not see the close.
        await ws.send(eof)
        eof_reply = _check_shape(await asyncio.wait_for(ws.recv(), scaled(20)))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), scaled(10))
        code = ws.close_code
    return replies, eof_reply, code


def _finals(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if "text" in r]


def test_lockstep_client_with_phrase_list_gets_ne(start_server: Any, espeak: Any) -> None:
    srv = start_server(lang="ko")
    pcm = padded(espeak("네", "ko", 8000), 0.3, 1.0).tobytes()
    n_chunks = -(-len(pcm) // CHUNK_BYTES)
    config = json.dumps({"config": {"sample_rate": 8000, "phrase_list": ["네", "예", "아니요"]}}, ensure_ascii=False)
    replies, eof_reply, code = asyncio.run(_lockstep(srv.url("/vosk"), pcm, config, '{"eof" : 1}'))
    assert len(replies) == n_chunks  # exactly one reply per binary message
    texts = [t for t in _finals(replies) + [eof_reply["text"]] if t]
    assert texts == ["네"], (replies, eof_reply)
    assert "text" in eof_reply  # eof is answered with a final, never a partial
    assert code == 1000
    assert srv.runtime.metrics.value("voicebot_frames_in_total", route="/vosk") >= n_chunks + 2


def test_client_without_config_is_decoded_at_8000(start_server: Any, espeak: Any) -> None:
    """res_speech_vosk and mod_vosk send no config: the server must assume 8000 Hz.
    Without a phrase list espeak Korean is not reliably recognised, so the check is on timing:
    word times from an 8 kHz decode lie inside the 8 kHz audio's duration and cover its speech;
    a 16 kHz misreading would squeeze them into the first half."""
    srv = start_server(lang="ko")
    speech = espeak("안녕하세요 고객님 감사합니다", "ko", 8000)
    pcm = padded(speech, 0.3, 1.0).tobytes()
    duration_s = len(pcm) / 2 / 8000
    replies, eof_reply, code = asyncio.run(_lockstep(srv.url("/vosk"), pcm, None, '{"eof":1}'))
    assert len(replies) == -(-len(pcm) // CHUNK_BYTES)
    assert code == 1000
    finals = [r for r in replies + [eof_reply] if r.get("result")]
    assert finals, (replies, eof_reply)
    last_end_s = max(w["end"] for r in finals for w in r["result"])
    speech_end_s = 0.3 + len(speech) / 8000
    assert speech_end_s * 0.75 <= last_end_s <= duration_s + 0.05, (last_end_s, speech_end_s)


def test_compact_eof_and_reset(start_server: Any, espeak: Any) -> None:
    srv = start_server(lang="ko")
    pcm = padded(espeak("아니요", "ko", 8000), 0.2, 0.2).tobytes()

    async def run() -> tuple[list[str], Any]:
        texts: list[str] = []
        async with connect(srv.url("/vosk")) as ws:
            await ws.send(json.dumps({"config": {"phrase_list": ["네", "예", "아니요"]}}, ensure_ascii=False))
            for _ in range(2):  # reset finishes the utterance and the stream goes on
                for i in range(0, len(pcm), CHUNK_BYTES):
                    await ws.send(pcm[i:i + CHUNK_BYTES])
                    texts.append(_check_shape(await asyncio.wait_for(ws.recv(), scaled(20))).get("text", ""))
                await ws.send('{"reset" : 1}')
                texts.append(_check_shape(await asyncio.wait_for(ws.recv(), scaled(20)))["text"])
            await ws.send('{"eof":1}')
            texts.append(_check_shape(await asyncio.wait_for(ws.recv(), scaled(20)))["text"])
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), scaled(10))
            return texts, ws.close_code

    texts, code = asyncio.run(run())
    assert [t for t in texts if t] == ["아니요", "아니요"], texts
    assert code == 1000


@pytest.mark.parametrize("frame", ['{"hello": 1}', "not json at all", '["eof"]'])
def test_text_that_is_not_config_eof_or_reset_closes(start_server: Any, frame: str) -> None:
    srv = start_server(lang="ko")

    async def run() -> Any:
        async with connect(srv.url("/vosk")) as ws:
            await ws.send(b"\x00\x00" * 800)
            _check_shape(await asyncio.wait_for(ws.recv(), scaled(20)))
            await ws.send(frame)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), scaled(10))
            return ws.close_code

    assert asyncio.run(run()) in (1007, 1008)
    assert srv.runtime.metrics.value("voicebot_errors_total", kind="protocol") == 1
