"""``voicebot serve``: websocket call routes, HTTP routes and the AudioSocket TCP port.

One host:port serves every websocket route (by path) and plain HTTP (healthz, metrics,
dashboard, softphone page); AudioSocket has its own TCP port. Each connection is one call,
handled by ``voicebot.server.calls``; a failure there ends that call, never the server.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from voicebot.config import Config
from voicebot.server import calls, http
from voicebot.server.runtime import Runtime

log = logging.getLogger("voicebot.server")

# Subprotocols we echo when the peer offers them (never pick one it did not offer).
SUBPROTOCOLS = ("audio.drachtio.org", "audio.jambonz.org", "media", "ws")


@dataclass
class Listening:
    ws_port: int
    audiosocket_port: int
    server: Server
    tcp: asyncio.Server | None


def _select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
    for p in offered:
        if p in SUBPROTOCOLS:
            return p
    return None


def tls_context(config: Config) -> ssl.SSLContext | None:
    if not (config.server.tls_cert and config.server.tls_key):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.server.tls_cert, config.server.tls_key)
    return ctx


def _mask_library_logs() -> None:
    """websockets logs request lines and headers at debug level: mask credentials there."""
    from voicebot.compliance.logfilter import RedactingFilter

    for name in ("websockets.server", "websockets.protocol", "websockets"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())


async def start(runtime: Runtime, reuse_port: bool = False) -> Listening:
    """Start every listener; return the bound ports (useful with port 0). ``reuse_port``
    lets several worker processes share one port (SO_REUSEPORT: the kernel spreads new
    connections across them)."""
    cfg = runtime.config.server
    tls = tls_context(runtime.config)
    _mask_library_logs()

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        return await http.process_request(runtime, connection, request)

    server = await serve(
        lambda ws: calls.websocket_handler(runtime, ws),
        cfg.host,
        cfg.port,
        process_request=process_request,
        select_subprotocol=_select_subprotocol,
        max_size=cfg.max_message_bytes,
        ping_interval=cfg.ping_interval_s or None,
        ssl=tls,
        compression="deflate",
        server_header="voicebot",
        reuse_port=reuse_port,
    )
    ws_port = server.sockets[0].getsockname()[1] if cfg.port == 0 else cfg.port
    tcp = await asyncio.start_server(
        lambda r, w: calls.audiosocket_handler(runtime, r, w), cfg.host, cfg.audiosocket_port,
        reuse_port=reuse_port,
    )
    as_port = tcp.sockets[0].getsockname()[1]
    log.info("listening on %s://%s:%d (websocket + HTTP), AudioSocket tcp %s:%d",
             "wss" if tls else "ws", cfg.host, ws_port, cfg.host, as_port)
    return Listening(ws_port, as_port, server, tcp)


async def stop(runtime: Runtime, listening: Listening, drain_timeout_s: float) -> None:
    """Stop accepting calls, let active ones finish up to the timeout, then end them."""
    listening.server.close(close_connections=False)
    if listening.tcp is not None:
        listening.tcp.close()
    deadline = asyncio.get_running_loop().time() + drain_timeout_s
    while runtime.sessions and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    for s in list(runtime.sessions.values()):
        s.end("server_shutdown")
    while runtime.sessions and asyncio.get_running_loop().time() < deadline + 5:
        await asyncio.sleep(0.05)
    listening.server.close()
    await listening.server.wait_closed()
    await runtime.drain_handoffs(runtime.config.handoff.webhook_timeout_s * (runtime.config.handoff.webhook_retries + 1))


def build_runtime(config: Config, model_spec: str | None = None) -> Runtime:
    """Resolve the model, load it once, pick language and script; log the choices."""
    from voicebot.asr.engine import AsrEngine
    from voicebot.asr.models import resolve_model, with_search_options

    model = resolve_model(model_spec if model_spec is not None else config.asr.model,
                          Path(config.asr.models_dir), config.asr.allow_download)
    model = with_search_options(model, config.asr.search_options(), config.state_path / "decoder")
    lang = config.dialogue.lang or (model.lang if model.lang in ("en", "zh", "ko") else "en")
    engine = AsrEngine(model, workers=config.asr.decode_workers,
                       pool_size=max(8, config.asr.free_form_places()))
    runtime = Runtime(config, engine, lang, model_name=model.name)
    script = runtime.script(lang)
    log.info("model %s (%s, %d Hz, from %s at %s); language %s; script %s (version %s)",
             model.name, model.lang, model.sample_rate_hz, model.source, model.path, lang,
             script.path, script.version)
    _open_store(runtime)
    return runtime


def _open_store(runtime: Runtime) -> None:
    from voicebot.recording.store import open_store

    runtime.config.state_path.mkdir(parents=True, exist_ok=True)
    runtime.store = open_store(runtime.config.store_url)


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", type=int, help="override server.port")
    parser.add_argument("--audiosocket-port", type=int, help="override server.audiosocket_port")
    parser.add_argument("--model", help="override asr.model")
    parser.add_argument("--no-warm", action="store_true", help="don't pre-render static prompts or warm the recognisers")
    parser.add_argument("--ready-file", help="write 'ws_port audiosocket_port' here once listening")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the ports via SO_REUSEPORT (each loads the model)")


def serve_main(args: argparse.Namespace) -> int:
    import dataclasses

    config: Config = args.config
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port),
                                   ("audiosocket_port", args.audiosocket_port)) if v is not None}
    if overrides:
        config = dataclasses.replace(config, server=dataclasses.replace(config.server, **overrides))
    if args.workers > 1:
        return _supervise(args, config)
    runtime = build_runtime(config, args.model)
    reuse = os.environ.get("VOICEBOT_REUSE_PORT") == "1"
    return asyncio.run(_serve(runtime, warm=not args.no_warm, ready_file=args.ready_file, reuse_port=reuse))


def _supervise(args: argparse.Namespace, config: Config) -> int:
    """Run ``--workers`` copies of ``voicebot serve`` on the same ports (SO_REUSEPORT),
    forward SIGTERM/SIGINT to them, and exit with the worst exit code."""
    import subprocess
    import sys

    if config.server.port == 0 or config.server.audiosocket_port == 0:
        print("voicebot: --workers needs fixed ports (port 0 would give each worker its own)", file=sys.stderr)
        return 2
    argv = [sys.executable, "-m", "voicebot"] + (["--config", config.source] if config.source != "<defaults>" else [])
    argv += ["serve", "--port", str(config.server.port), "--audiosocket-port", str(config.server.audiosocket_port),
             "--host", config.server.host]
    if args.model:
        argv += ["--model", args.model]
    if args.no_warm:
        argv.append("--no-warm")
    env = {**os.environ, "VOICEBOT_REUSE_PORT": "1"}
    procs = [subprocess.Popen(argv + (["--ready-file", f"{args.ready_file}.{i}"] if args.ready_file else []), env=env)
             for i in range(args.workers)]

    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    log.info("supervising %d workers on port %d", len(procs), config.server.port)
    if args.ready_file:
        import time

        while not all(Path(f"{args.ready_file}.{i}").exists() for i in range(len(procs))):
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
        dead = [(i, p.returncode) for i, p in enumerate(procs) if p.poll() is not None]
        if dead:
            # Not ready: a worker that died while starting would leave its share of the port
            # to the others and the caller believing every worker serves.
            log.error("worker(s) exited before ready (index, exit code): %s; stopping the others", dead)
            forward(signal.SIGTERM, None)
        else:
            Path(args.ready_file).write_text(f"{config.server.port} {config.server.audiosocket_port}\n")
    codes = [p.wait() for p in procs]
    return max(codes)


async def _serve(runtime: Runtime, warm: bool, ready_file: str | None, reuse_port: bool = False) -> int:
    from voicebot.handoff import HandoffClient

    runtime.handoff_client = HandoffClient(runtime.config)  # type: ignore[attr-defined]
    if warm:
        loop = asyncio.get_running_loop()
        n = await loop.run_in_executor(runtime.tts_executor, runtime.warm_prompts, 8000)
        log.info("static prompts ready (%d cached)", n)
    listening = await start(runtime, reuse_port=reuse_port)
    # Ready now; recognisers pay their costly first utterances in the background meanwhile.
    warming = asyncio.get_running_loop().run_in_executor(None, runtime.warm_recognizers if warm else int)
    warming.add_done_callback(lambda f: log.info("recognisers warmed: %s", f.result() if not f.exception()
                                                 else f"failed: {f.exception()}"))
    if ready_file:
        Path(ready_file).write_text(f"{listening.ws_port} {listening.audiosocket_port}\n")
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    await stop_event.wait()
    log.info("shutting down: draining %d active calls", len(runtime.sessions))
    await stop(runtime, listening, runtime.config.server.drain_timeout_s)
    await asyncio.wait([warming])  # a failed warm-up was logged; it does not fail shutdown
    log.info("stopped")
    return 0
