"""The Vosk engine on real espeak-ng Korean speech: grammar decoding in every phone format,
free-form timings, streaming partials, stream reuse, grammar switching, concurrency."""
from __future__ import annotations

import asyncio
import dataclasses
import threading

import numpy as np
import pytest

from tests.asr.samples import FORMATS, GRAMMAR, PAD_S, Speech
from voicebot.asr.engine import AsrEngine, AsrResult
from voicebot.asr.models import ResolvedModel
from voicebot.errors import AudioFormatError, EngineError

FORMAT_NAMES = [f for f, _, _ in FORMATS]


def pcm_bytes(s: Speech) -> bytes:
    return s.pcm.astype("<i2").tobytes()


def chunks(data: bytes, rate_hz: int, ms: int = 20) -> list[bytes]:
    step = rate_hz * ms // 1000 * 2
    return [data[i : i + step] for i in range(0, len(data), step)]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("key", ["ne", "aniyo"])
def test_grammar_recognises_yes_and_no_exactly(engine: AsrEngine, speech: dict[str, Speech], key: str, fmt: str) -> None:
    s = speech[f"{key}_{fmt}"]
    result = engine.transcribe_pcm(s.pcm, s.rate_hz, GRAMMAR)
    assert result.kind == "final"
    assert result.text == s.text
    assert [w.word for w in result.words] == [s.text]
    word = result.words[0]
    assert 0 <= word.start_s < word.end_s <= s.duration_s
    assert 0 < word.conf <= 1


def test_free_form_long_sentence_has_ordered_timings(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    s = speech["long_16k_l16"]
    result = engine.transcribe_pcm(s.pcm, s.rate_hz)
    assert len(result.words) >= 3
    assert result.text == " ".join(w.word for w in result.words)
    starts = [w.start_s for w in result.words]
    assert starts == sorted(starts)
    for w in result.words:
        assert 0 <= w.start_s <= w.end_s <= s.duration_s + 0.01
    # Speech begins after the leading pad and ends before the trailing one.
    assert result.words[-1].end_s > s.duration_s / 2
    assert result.words[0].start_s >= PAD_S - 0.15
    assert any(w.word not in GRAMMAR for w in result.words)  # really free-form


def test_streaming_gives_partials_before_each_final_with_stream_times(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    s = speech["aniyo_8k_l16"]
    gap = np.zeros(s.rate_hz, dtype=np.int16)  # 1 s of silence lets Vosk find an endpoint
    audio = np.concatenate([s.pcm, gap, s.pcm, gap]).astype("<i2").tobytes()
    results: list[AsrResult] = []
    with engine.new_stream(s.rate_hz, GRAMMAR) as stream:
        for chunk in chunks(audio, s.rate_hz):
            results += stream.accept(chunk)
        last = stream.finish()
    kinds = [r.kind for r in results]
    assert kinds.count("final") == 2, kinds
    first_final = kinds.index("final")
    assert "partial" in kinds[:first_final]
    assert "partial" in kinds[first_final + 1 :]
    assert all(r.text == "아니요" for r in results)
    assert last.text == "" and last.words == ()
    (w1,), (w2,) = (r.words for r in results if r.kind == "final")
    period_s = s.duration_s + 1.0
    # The second utterance is the same audio one period later: same times, shifted.
    assert w2.start_s == pytest.approx(w1.start_s + period_s, abs=0.1)
    assert w2.end_s <= 2 * period_s


def test_finish_keeps_stream_usable_and_times_counting(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    s = speech["ne_16k_l16"]
    with engine.new_stream(s.rate_hz, GRAMMAR) as stream:
        stream.accept(pcm_bytes(s))
        first = stream.finish()
        stream.accept(pcm_bytes(s))
        second = stream.finish()
    assert first.text == second.text == "네"
    assert second.words[0].start_s == pytest.approx(first.words[0].start_s + s.duration_s, abs=0.1)


def test_reused_recognisers_restart_times_at_zero(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    # Every stream takes a pooled recogniser that has already decoded earlier streams;
    # its words must still count from this stream's start.
    s = speech["aniyo_16k_l16"]
    starts = []
    for _ in range(3):
        with engine.new_stream(s.rate_hz, GRAMMAR) as stream:
            stream.accept(pcm_bytes(s))
            starts.append(stream.finish().words[0].start_s)
    assert max(starts) - min(starts) < 0.1
    assert starts[0] < s.duration_s


def test_set_grammar_applies_to_the_next_utterance(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    long, yes = speech["long_16k_l16"], speech["ne_16k_l16"]
    with engine.new_stream(16000) as stream:
        stream.accept(pcm_bytes(long))
        stream.set_grammar(GRAMMAR)  # mid-utterance: waits for the final
        free = stream.finish()
        stream.accept(pcm_bytes(yes))
        constrained = stream.finish()
        stream.set_grammar(None)
        stream.accept(pcm_bytes(long))
        free_again = stream.finish()
    assert any(w.word not in GRAMMAR for w in free.words)
    assert constrained.text == "네"
    assert constrained.words[0].start_s > long.duration_s
    assert any(w.word not in GRAMMAR for w in free_again.words)
    assert free_again.words[0].start_s > long.duration_s + yes.duration_s


def test_async_run_uses_the_decode_executor(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    s = speech["aniyo_8k_ulaw"]

    async def main() -> tuple[str, AsrResult]:
        stream = engine.new_stream(s.rate_hz, GRAMMAR)
        try:
            name = await engine.run(lambda: threading.current_thread().name)
            await engine.run(stream.accept, pcm_bytes(s))
            return name, await engine.run(stream.finish)
        finally:
            stream.close()

    name, result = asyncio.run(main())
    assert name.startswith("asr")
    assert result.text == "아니요"


def test_parallel_streams_match_sequential_results(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    inputs = [speech[k] for k in ("ne_8k_ulaw", "aniyo_16k_l16", "ne_8k_l16", "aniyo_8k_ulaw")]
    sequential = [engine.transcribe_pcm(s.pcm, s.rate_hz, GRAMMAR) for s in inputs]
    futures = [engine.executor.submit(engine.transcribe_pcm, s.pcm, s.rate_hz, GRAMMAR) for s in inputs]
    parallel = [f.result(timeout=60) for f in futures]
    assert [r.text for r in parallel] == [s.text for s in inputs]
    # Each utterance starts on a fresh feature pipeline, but a pooled recogniser's lazily
    # built graph numbers its states in the order it met them, which can move Kaldi's
    # tie-breaks and so a word's (MBR-averaged) start by a frame or so.
    for p, q in zip(parallel, sequential):
        assert [w.word for w in p.words] == [w.word for w in q.words]
        for a, b in zip(p.words, q.words):
            assert abs(a.start_s - b.start_s) <= 0.1 and abs(a.end_s - b.end_s) <= 0.1


def test_engine_upsamples_itself_when_the_model_forbids_it(ko_model: ResolvedModel, speech: dict[str, Speech]) -> None:
    strict = dataclasses.replace(ko_model, allow_upsample=False)
    with AsrEngine(strict, workers=1, pool_size=0) as eng:
        stream = eng.new_stream(8000, GRAMMAR)
        assert stream.decode_rate_hz == 16000
        s = speech["aniyo_8k_ulaw"]
        stream.accept(pcm_bytes(s))
        result = stream.finish()
        stream.close()
    assert result.text == "아니요"
    assert 0 < result.words[0].start_s < result.words[0].end_s <= s.duration_s


def test_kaldi_upsamples_when_the_model_allows(engine: AsrEngine) -> None:
    with engine.new_stream(8000) as stream:
        assert stream.decode_rate_hz == 8000
    with engine.new_stream(48000) as stream:
        assert stream.decode_rate_hz == 16000  # higher rates are always converted by us


def test_bad_input_is_refused(engine: AsrEngine) -> None:
    stream = engine.new_stream(16000)
    with pytest.raises(AudioFormatError):
        stream.accept(b"\x00\x00\x00")
    stream.close()
    with pytest.raises(EngineError):
        stream.accept(b"\x00\x00")
    stream.close()  # idempotent
    with pytest.raises(ValueError):
        engine.new_stream(16000, [])
    with pytest.raises(AudioFormatError):
        engine.new_stream(0)
    with pytest.raises(AudioFormatError):
        engine.transcribe_pcm(np.zeros((10, 2), dtype=np.int16), 16000)


def test_silence_and_empty_input_give_an_empty_final(engine: AsrEngine) -> None:
    assert engine.transcribe_pcm(np.zeros(0, dtype=np.int16), 8000) == AsrResult("final", "", ())
    assert engine.transcribe_pcm(np.zeros(16000, dtype=np.int16), 16000, GRAMMAR).words == ()


def test_recognisers_belong_to_utterances_not_streams(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    # Six calls that take turns speaking need one free-form recogniser, not six: each stream
    # hands its recogniser back at the end of every utterance, and times still count from
    # each stream's own start although the recogniser heard other streams in between.
    s = speech["long_8k_l16"]
    before = engine.pool_stats()
    streams = [engine.new_stream(s.rate_hz) for _ in range(6)]
    try:
        for stream in streams:
            stream.accept(pcm_bytes(s))
            assert engine.pool_stats()["in_use"] == before["in_use"] + 1
            stream.finish()
            assert engine.pool_stats()["in_use"] == before["in_use"]
        second = [(stream.accept(pcm_bytes(s)), stream.finish())[1] for stream in streams]
    finally:
        for stream in streams:
            stream.close()
    after = engine.pool_stats()
    assert after["created_free"] == before["created_free"]  # all served from the warm pool
    assert after["in_use"] == before["in_use"]
    for result in second:
        assert result.words and result.words[0].start_s >= s.duration_s - 0.1


def test_a_call_cut_off_mid_word_leaves_nothing_for_the_next_call(engine: AsrEngine, speech: dict[str, Speech]) -> None:
    # A caller hangs up while saying 예; the recogniser goes back to the pool and the next
    # call's answer (네) is decoded on it. Before recognisers were finalised on release, Kaldi
    # decoded the first caller's undecoded frames at the start of the second answer: "예 네".
    grammar = ["예", "아니요", "네"]  # its own pool key: the second stream must get the first's recogniser
    ye, ne = speech["ye_8k_ulaw"], speech["ne_8k_ulaw"]
    pad = int(PAD_S * ye.rate_hz)
    cut = pcm_bytes(ye)[: (pad + int((ye.pcm.size - 2 * pad) * 0.85)) * 2]  # 85 % into the word
    first = engine.new_stream(ye.rate_hz, grammar)
    for chunk in chunks(cut, ye.rate_hz):
        first.accept(chunk)
    first.close()  # mid-utterance, no finish()
    created = engine.pool_stats()["created_grammar"]
    with engine.new_stream(ne.rate_hz, grammar) as second:
        second.accept(pcm_bytes(ne))
        result = second.finish()
    assert engine.pool_stats()["created_grammar"] == created  # it was the same recogniser
    assert result.text == "네", result.text



def test_urgent_jobs_start_before_waiting_ordinary_ones(engine: AsrEngine) -> None:
    # Both decode places are taken; three jobs wait: two ordinary (another call's next chunk),
    # then one urgent (an utterance's final). The first free place goes to the urgent one.
    started: list[str] = []
    gates = [threading.Event(), threading.Event()]

    async def main() -> None:
        blockers = [asyncio.ensure_future(engine.run(g.wait, 30)) for g in gates]
        while engine._running < engine.workers:
            await asyncio.sleep(0.01)
        jobs = [asyncio.ensure_future(engine.run(started.append, name, urgent=name.startswith("urgent")))
                for name in ("chunk 1", "chunk 2", "urgent final")]
        cancelled = asyncio.ensure_future(engine.run(started.append, "cancelled", urgent=True))
        while len(engine._waiting) < 4:
            await asyncio.sleep(0.01)
        cancelled.cancel()
        gates[0].set()  # one place frees: the rest run one after another on it
        await asyncio.gather(*jobs)
        gates[1].set()
        await asyncio.gather(*blockers)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        # No place was lost to the cancelled waiter: both run at once again.
        both = [threading.Event(), threading.Event()]
        pair = [asyncio.ensure_future(engine.run(lambda me=me, other=other: (me.set(), other.wait(10))[1]))
                for me, other in ((both[0], both[1]), (both[1], both[0]))]
        assert all(await asyncio.gather(*pair))

    asyncio.run(main())
    assert started == ["urgent final", "chunk 1", "chunk 2"]


def test_engines_share_the_process_model(engine: AsrEngine, ko_model: ResolvedModel) -> None:
    # Loading costs ~2 s and ~530 MB: a second engine on the same directory reuses the model.
    with AsrEngine(ko_model, workers=1, pool_size=0) as other:
        assert other._vosk_model is engine._vosk_model


def test_a_recogniser_fed_past_its_budget_is_retired(ko_model: ResolvedModel, speech: dict[str, Speech],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Word times count from a recogniser's creation in floats that coarsen as they grow: one
    # fed past the budget is not pooled again, and the next utterance gets a fresh one whose
    # words still count from the stream's start. (An engine of its own, so that no other test
    # has fed its recognisers; the model is the shared one.)
    from voicebot.asr import engine as engine_module

    s = speech["aniyo_16k_l16"]
    monkeypatch.setattr(engine_module, "RETIRE_AFTER_SAMPLES", len(s.pcm) * 5 // 2)
    with AsrEngine(ko_model, workers=1, pool_size=1, warm_rates_hz=()) as eng:
        with eng.new_stream(s.rate_hz, GRAMMAR) as stream:
            stream.accept(pcm_bytes(s))
            first = stream.finish()  # fed once: under the budget, pooled again
            stream.accept(pcm_bytes(s))
            stream.accept(pcm_bytes(s))
            stream.finish()  # fed three times: retired
            stream.accept(pcm_bytes(s))
            third = stream.finish()
        stats = eng.pool_stats()
    assert stats["retired"] == 1 and stats["created_grammar"] == 2  # the first and its replacement
    assert first.text == third.text == "아니요"
    assert abs((third.words[0].start_s - 3 * s.duration_s) - first.words[0].start_s) < 0.1


def test_search_options_reach_kaldi(engine: AsrEngine, ko_model: ResolvedModel, speech: dict[str, Speech],
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    # asr.max_active / beam: Vosk reads them from the model directory, so the engine loads an
    # overlay of it. A search this narrow keeps the grammar answer and changes free-form output.
    from voicebot.asr import engine as engine_module
    from voicebot.asr.models import with_search_options

    narrow = with_search_options(ko_model, {"max-active": 100, "beam": 2.0}, tmp_path_factory.mktemp("decoder"))
    s, long = speech["aniyo_8k_l16"], speech["long_8k_l16"]
    try:
        with AsrEngine(narrow, workers=1, pool_size=0, warm_rates_hz=()) as eng:
            assert eng._vosk_model is not engine._vosk_model
            assert eng.transcribe_pcm(s.pcm, s.rate_hz, GRAMMAR).text == "아니요"
            narrow_text = eng.transcribe_pcm(long.pcm, long.rate_hz).text
    finally:
        engine_module._MODELS.pop(str(narrow.path.resolve()), None)  # ~530 MB: not kept for the run
    assert narrow_text != engine.transcribe_pcm(long.pcm, long.rate_hz).text
