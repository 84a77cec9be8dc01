"""``/vosk``: the vosk-server websocket ASR protocol, for Asterisk res_speech_vosk, FreeSWITCH
mod_vosk and vosk-server's own clients. One reply per audio message (a partial, or a final
when Kaldi hits an endpoint), none per config; eof -> final then close; reset -> final.
Decoding runs on the shared pool; the model is the process's one model."""
from __future__ import annotations

import logging
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voicebot import events as ev
from voicebot.errors import ProtocolError
from voicebot.server.runtime import Runtime

log = logging.getLogger("voicebot.vosk")


async def serve_vosk(runtime: Runtime, ws: ServerConnection) -> None:
    from voicebot.telephony.voskserver import VoskProtocolAdapter, format_final, format_partial

    engine = runtime.engine
    adapter = VoskProtocolAdapter()
    stream: Any = None
    rate_hz = 8000
    grammar: list[str] | None = None
    with_words = True
    partial = ""
    runtime.metrics.inc("voicebot_calls_total", route="/vosk")

    def final_text(result: Any) -> str:
        words = [{"conf": w.conf, "end": w.end_s, "start": w.start_s, "word": w.word} for w in result.words]
        return format_final(words, result.text, with_words=with_words)

    try:
        async for msg in ws:
            runtime.metrics.inc("voicebot_frames_in_total", route="/vosk")
            try:
                events = adapter.receive_text(msg) if isinstance(msg, str) else adapter.receive_bytes(msg)
            except ProtocolError as exc:
                runtime.metrics.inc("voicebot_errors_total", kind="protocol")
                await ws.close(exc.close_code, exc.reason[:120])
                return
            for e in events:
                if isinstance(e, ev.ControlReceived) and e.kind == "config":
                    rate_hz = int(float(e.data.get("sample_rate", rate_hz)))  # type: ignore[arg-type]
                    pl = e.data.get("phrase_list")
                    grammar = [str(p) for p in pl] if isinstance(pl, list) and pl else grammar
                    with_words = bool(e.data.get("words", True))
                elif isinstance(e, ev.AudioReceived):
                    if stream is None:
                        stream = await engine.run(engine.new_stream, e.rate_hz if e.rate_hz else rate_hz, grammar)
                    results = await engine.run(stream.accept, e.pcm)
                    finals = [r for r in results if r.kind == "final"]
                    for r in results:
                        if r.kind == "partial":
                            partial = r.text
                    if finals:
                        partial = ""
                        reply = final_text(finals[-1])
                    else:
                        reply = format_partial(partial)
                    await ws.send(reply)
                elif isinstance(e, ev.ControlReceived) and e.kind in ("eof", "reset"):
                    if stream is None:
                        await ws.send('{"text": ""}')
                    else:
                        # The client waits on this reply to go on: before other calls' ongoing speech.
                        await ws.send(final_text(await engine.run(stream.finish, urgent=True)))
                        partial = ""
                    if e.kind == "eof":
                        await ws.close(1000, "eof")
                        return
    except ConnectionClosed:
        pass
    finally:
        if stream is not None:
            # Handing the recogniser back finalises it (it decodes what is left): not on the loop.
            engine.executor.submit(stream.close)
