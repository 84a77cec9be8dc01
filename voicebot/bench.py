"""``voicebot bench``: N concurrent real-time calls against a real server; latency and load figures.

By default (``--spawn``) it starts ``voicebot serve`` as a subprocess on 127.0.0.1 port 0 with a
temporary state dir and times startup-to-ready (the ``--ready-file`` appearing). For each N of
``--calls`` it keeps N calls up for ``--duration`` seconds over ``/twilio`` (20 ms mu-law frames
paced by the clock; a call the bot ends is redialled), then, with ``--vosk-url``, N streams of
the same speech over the vosk-server protocol (0.2 s chunks, lock-step) for the same time.

Definitions (docs/performance.md has the reasoning):
- end of speech (EoS) = stream start + index of the utterance's last voiced sample / 8000 on the
  client's monotonic clock: when the caller stopped talking, whatever the chunk size.
- EoS -> final (/twilio): the server's ``final`` event (events.jsonl ``offset_ms``) mapped to the
  client clock with the call's t0 = min over its prompts of (first frame arrival - prompt_start
  offset): a late bound, so latencies are never flattered (``align_ms`` = its width above the
  client's start-sent time). (/vosk): arrival of the first non-empty final reply after EoS.
- voice-to-voice: EoS of an answer given while the bot was quiet -> first bot frame on the wire.
- jitter: stdev of inter-arrival gaps inside a prompt, after its first 16 frames (the allowed
  300 ms lead arrives as a burst); underrun: such a gap > 60 ms; late: a frame arriving after a
  simulated playout buffer (Twilio-like, marks echoed when played out) ran dry mid-prompt.
- CPU%/RSS: the server process tree (/proc stat + status), sampled every 0.5 s.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.audio.g711 import ulaw_encode
from voicebot.audio.resample import resample_once
from voicebot.audio.wav import read_wav

RATE_HZ = 8000
FRAME_S = 0.02
FRAME_BYTES = 160
VOSK_CHUNK_S = 0.2
LEAD_FRAMES = 16
UNDERRUN_GAP_S = 0.06
SPEECH_SHARE = 0.4
ANSWERS = ("네", "금요일에 오만 원 낼게요", "아니요", "다음 주 월요일까지 이십만 원 보내 드릴게요")
INTERJECTIONS = ("잠시만요 지금 무슨 말씀이세요", "지금은 돈이 없어서 월급날에 갚을게요", "네 알겠습니다")
# What a borrower adds after the first phrase of an answer, after a short pause (0.30-0.45 s:
# shorter than the endpoint, so the turn goes on, and around the segment silence, so some
# pauses close a segment mid-turn): rambling answers are what fill ~40% of a real call.
# None of them is a hand-off cue (distress, dispute, a request for a person): calls go on.
FOLLOW_ONS = ("제가 지금 밖이라서 자세히는 못 봤어요", "그래도 최대한 빨리 해 볼게요", "월급날이 이십오일이라서요",
              "문자로 계좌 좀 보내 주세요")
PAUSE_S = (0.30, 0.45)


# -- speech -------------------------------------------------------------------------------------
def render_speech(tmp: Path) -> dict[str, np.ndarray]:
    """espeak-ng Korean, 8 kHz int16, leading/trailing silence trimmed (so EoS is the voice's end)."""
    out: dict[str, np.ndarray] = {}
    for i, text in enumerate(dict.fromkeys(ANSWERS + INTERJECTIONS + FOLLOW_ONS)):
        path = tmp / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True, capture_output=True)
        wav = read_wav(path)
        pcm = np.asarray(resample_once(wav.pcm if wav.pcm.ndim == 1 else wav.pcm[:, 0], wav.rate_hz, RATE_HZ))
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
        out[text] = pcm[loud[0]:loud[-1] + 1].astype(np.int16)
    return out


def utterance(speech: dict[str, np.ndarray], text: str, rng: random.Random) -> tuple[np.ndarray, float]:
    """``text`` as spoken in a turn, and its seconds of voice: a bare yes/no stays short (it
    answers a yes/no question); anything longer gets 1-2 follow-on phrases after short pauses,
    as borrowers ramble on."""
    parts = [speech[text]]
    if text not in ("네", "아니요"):
        for _ in range(rng.choice((1, 1, 2, 2))):
            parts += [np.zeros(int(rng.uniform(*PAUSE_S) * RATE_HZ), np.int16), speech[rng.choice(FOLLOW_ONS)]]
    return np.concatenate(parts), sum(len(x) for x in parts[::2]) / RATE_HZ


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))], 1)


def summary(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "max": pct(ms, 100)}


# -- the server process -------------------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        try:
            kids = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
        except OSError:
            kids = []
        pids.extend(int(k) for k in kids)
        i += 1
    return pids


def proc_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds used so far, RSS MiB) of ``pid`` and its descendants."""
    cpu_s, rss_kb = 0.0, 0
    tick = os.sysconf("SC_CLK_TCK")
    for p in _tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu_s += (int(stat[11]) + int(stat[12])) / tick
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return cpu_s, rss_kb / 1024


@dataclass
class Sampler:
    """Samples the server tree every 0.5 s; ``window`` gives CPU% and RSS over a time range."""

    pid: int
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (t, cpu_s, rss_mb)

    async def run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), *proc_sample(self.pid)))
            await asyncio.sleep(0.5)

    def window(self, t_from: float, t_to: float) -> dict[str, Any]:
        w = [s for s in self.samples if t_from <= s[0] <= t_to]
        if len(w) < 2:
            return {"cpu_pct_mean": None, "cpu_pct_max": None, "rss_mb_max": None, "rss_mb_median": None}
        cpu = [(b[1] - a[1]) / (b[0] - a[0]) * 100 for a, b in zip(w, w[1:])]
        rss = [x[2] for x in w]
        return {"cpu_pct_mean": round((w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0]) * 100, 1),
                "cpu_pct_max": round(max(cpu), 1),
                "rss_mb_max": round(max(rss), 1), "rss_mb_median": round(statistics.median(rss), 1)}


def spawn_server(tmp: Path, config: Any, max_calls: int, warm: bool) -> tuple[subprocess.Popen[bytes], int, float]:
    """Start ``voicebot serve`` on port 0; return (process, ws port, seconds to ready)."""
    asr = config.asr
    cfg = tmp / "bench.toml"
    cfg.write_text(
        f'[server]\nhost = "127.0.0.1"\nstate_dir = "{tmp / "var"}"\nmax_calls = {max_calls}\n'
        f'[asr]\nmodel = {json.dumps(asr.model)}\nmodels_dir = {json.dumps(asr.models_dir)}\n'
        f"decode_workers = {asr.decode_workers}\nchunk_ms = {asr.chunk_ms}\n"
        f"free_form_recognizers = {asr.free_form_recognizers}\n"
        f"endpoint_silence_ms = {asr.endpoint_silence_ms}\nsegment_silence_ms = {asr.segment_silence_ms}\n"
        f"vad_threshold_db = {asr.vad_threshold_db}\n"
        f"max_active = {asr.max_active}\nbeam = {asr.beam}\nlattice_beam = {asr.lattice_beam}\n"
        # Every bench call dials the same demo account at any hour: caps and windows would refuse them.
        "[compliance]\nenforce_calling_window = false\nenforce_attempt_caps = false\n")
    ready = tmp / "ready"
    cmd = [sys.executable, "-m", "voicebot", "--config", str(cfg), "serve", "--port", "0",
           "--audiosocket-port", "0", "--ready-file", str(ready)] + ([] if warm else ["--no-warm"])
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"))
    while not (ready.exists() and ready.read_text().strip()):
        if proc.poll() is not None:
            tail = (tmp / "server.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"voicebot bench: server exited ({proc.returncode}):\n" + "\n".join(tail))
        time.sleep(0.02)
    return proc, int(ready.read_text().split()[0]), time.monotonic() - t0


def machine_busy_s() -> float:
    """CPU-seconds the whole machine has spent busy since boot (/proc/stat, all cores)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def settle(max_s: float = 240.0, busy_frac: float = 0.25) -> float:
    """Wait until the machine is mostly idle (busy < ``busy_frac`` of its cores over 1 s), so a
    phase does not start while an endpoint still decodes the previous phase's backlog (the
    reference vosk-server goes on decoding queued audio after its clients hang up). Returns
    the seconds waited."""
    t0 = time.monotonic()
    cores = os.cpu_count() or 1
    while time.monotonic() - t0 < max_s:
        b0 = machine_busy_s()
        await asyncio.sleep(1.0)
        if machine_busy_s() - b0 < busy_frac * cores:
            break
    return round(time.monotonic() - t0, 1)


def metrics(http_base: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"{http_base}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


async def wait_warm(http_base: str, timeout_s: float = 120.0) -> float | None:
    """Seconds until ``/healthz`` says the recognisers are warm (None: it never did)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        try:
            body = json.loads(urllib.request.urlopen(f"{http_base}/healthz", timeout=5).read())
        except OSError:
            body = {}
        if body.get("recognizers_warm"):
            return round(time.monotonic() - t0, 2)
        await asyncio.sleep(0.25)
    return None


# -- one /twilio call ---------------------------------------------------------------------------
@dataclass
class Utt:
    text: str
    t_start: float
    t_eos: float
    answer: bool  # spoken while the bot was quiet, after a prompt


@dataclass
class CallLog:
    call_id: str
    t_start_sent: float = 0.0
    utts: list[Utt] = field(default_factory=list)
    media_t: list[float] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (previous arrival, arrival) in prompts
    late_frames: int = 0
    segment_first: dict[int, float] = field(default_factory=dict)  # prompt seq -> first frame arrival
    sent: int = 0
    received: int = 0
    send_late: int = 0
    speech_s: float = 0.0
    close_code: int | None = None
    close_reason: str = ""


async def twilio_call(url: str, call_id: str, speech: dict[str, np.ndarray], stop_at: float,
                      rng: random.Random) -> CallLog:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    log = CallLog(call_id)
    frames: list[tuple[bytes, int]] = []  # queued speech: (payload, voiced samples in frame)
    st = {"playout_end": 0.0, "seg_frames": 0, "seg_open": False, "last_media": 0.0, "last_mark": 0.0,
          "outstanding": 0, "prompts_done": 0, "speaking": False, "first_answer": True}
    seg_start_t: list[float] = []
    ws = await connect(url, max_size=2**22, compression=None)
    sid = "MZ" + call_id
    await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {
        "streamSid": sid, "accountSid": "AC0", "callSid": call_id, "tracks": ["inbound"],
        "customParameters": {"lang": "ko"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
    log.t_start_sent = ts0 = time.monotonic()
    log.sent = 2
    silence = base64.b64encode(b"\xff" * FRAME_BYTES).decode()
    head = '{"event":"media","streamSid":"%s","sequenceNumber":"%d","media":{"track":"inbound","chunk":"%d",' \
           '"timestamp":"%d","payload":"%s"}}'

    def say(text: str, answer: bool) -> None:
        pcm, voiced = utterance(speech, text, rng)
        if time.monotonic() + len(pcm) / RATE_HZ + 2.5 > stop_at:
            return  # its final could not arrive before we hang up: it would count as missed
        data = ulaw_encode(pcm)
        n = len(pcm)
        for i in range(0, len(data), FRAME_BYTES):
            frames.append((data[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff"), min(FRAME_BYTES, n - i)))
        st["speaking"] = True
        log.utts.append(Utt(text, 0.0, 0.0, answer))
        log.speech_s += voiced

    async def sender() -> None:
        k = 0
        while time.monotonic() < stop_at:
            k += 1
            due = ts0 + k * FRAME_S  # frame k-1 covers audio [(k-1)*20, k*20) ms; sent once spoken
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if time.monotonic() - due > FRAME_S:
                log.send_late += 1
            if frames:
                payload, voiced = frames.pop(0)
                u = log.utts[-1]
                if u.t_start == 0.0:
                    u.t_start = due - FRAME_S
                if not frames:
                    u.t_eos = due - FRAME_S + voiced / RATE_HZ
                    st["speaking"] = False
                b64 = base64.b64encode(payload).decode()
            else:
                b64 = silence
            await ws.send(head % (sid, k + 1, k, (k - 1) * 20, b64))
            log.sent += 1

    async def echo_mark(name: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        st["outstanding"] -= 1
        st["last_mark"] = time.monotonic()
        st["prompts_done"] += 1
        try:
            await ws.send(json.dumps({"event": "mark", "streamSid": sid, "sequenceNumber": "0",
                                      "mark": {"name": name}}))
            log.sent += 1
        except ConnectionClosed:
            pass

    async def reader() -> None:
        async for raw in ws:
            t = time.monotonic()
            log.received += 1
            msg = json.loads(raw)
            kind = msg.get("event")
            if kind == "media":
                if st["seg_frames"] == 0:
                    seg_start_t.append(t)
                if not st["seg_open"]:
                    st["seg_open"] = True
                    st["outstanding"] += 1
                elif st["seg_frames"] >= LEAD_FRAMES:
                    log.gaps.append((st["last_media"], t))
                if st["seg_frames"] > 0 and t > st["playout_end"]:
                    log.late_frames += 1
                st["seg_frames"] += 1
                st["last_media"] = t
                st["playout_end"] = max(t, st["playout_end"]) + FRAME_S
                log.media_t.append(t)
            elif kind == "mark":
                name = msg["mark"]["name"]
                if st["seg_frames"] and seg_start_t:
                    log.segment_first[int(name.split("-")[0][1:])] = seg_start_t[-1]
                if not st["seg_open"]:
                    st["outstanding"] += 1
                st["seg_frames"], st["seg_open"] = 0, False
                asyncio.create_task(echo_mark(name, st["playout_end"]))
            elif kind == "clear":
                st["playout_end"] = t
                st["seg_frames"] = 0

    async def borrower() -> None:
        answered_at = 0
        pause_s = rng.uniform(0.5, 1.0)
        while time.monotonic() < stop_at - 1.0:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if st["speaking"]:
                continue
            last_eos = log.utts[-1].t_eos if log.utts else ts0
            bot_busy = st["outstanding"] > 0 or now < st["playout_end"] + 0.1
            if not bot_busy:
                quiet_s = now - max(st["playout_end"], st["last_mark"])
                # A prompt that ended while the borrower talked over it is answered after a pause
                # too, not straight on (that would run two utterances together).
                if st["prompts_done"] > answered_at and quiet_s >= pause_s and now - last_eos >= pause_s:
                    text = ANSWERS[0] if st["first_answer"] else rng.choice(ANSWERS)
                    st["first_answer"] = False
                    answered_at = st["prompts_done"]
                    say(text, answer=True)
                    pause_s = rng.uniform(0.5, 1.0)
                elif st["prompts_done"] == answered_at and log.utts and now - last_eos >= 1.5 + pause_s:
                    say(rng.choice(ANSWERS[1:]), answer=False)  # the bot said nothing: speak again
            elif log.speech_s < SPEECH_SHARE * (now - ts0) and now - last_eos > 1.5 and st["prompts_done"] >= 2 \
                    and now - st["last_media"] < 0.1 and st["seg_frames"] > 75:
                # Past greeting and verification, a borrower behind on talk time talks over a
                # prompt (1.5 s in).
                say(rng.choice(INTERJECTIONS), answer=False)

    tasks = [asyncio.create_task(c) for c in (sender(), reader(), borrower())]
    # Until the duration is up, or the server ends the call (the reader returns) or breaks it.
    await asyncio.wait(tasks[:2], timeout=max(0.0, stop_at - time.monotonic()) + 0.5,
                       return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await ws.close()
    log.close_code, log.close_reason = ws.close_code, ws.close_reason or ""
    return log


async def loop_stalls(stalls: list[tuple[float, float]]) -> None:
    """Record (start, end) of every stall > 30 ms of this client's own event loop."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.01)
        if time.monotonic() - t > 0.04:
            stalls.append((t + 0.01, time.monotonic()))


async def twilio_phase(ws_base: str, n: int, duration_s: float, speech: dict[str, np.ndarray],
                       tag: str, stalls: list[tuple[float, float]], stagger_s: float = 0.0) -> list[CallLog]:
    """N lines dialling /twilio until ``duration_s`` ends; line i first dials ``stagger_s * i / n``
    seconds in (0: all at once, so identical prompts line every caller's answers up)."""
    stop_at = time.monotonic() + duration_s
    logs: list[CallLog] = []
    monitor = asyncio.create_task(loop_stalls(stalls))

    async def line(i: int) -> None:
        rng, k = random.Random(i), 0
        await asyncio.sleep(stagger_s * i / n)
        while time.monotonic() < stop_at - 3.0:  # a call the bot ended is redialled
            log = await twilio_call(f"{ws_base}/twilio", f"CA-{tag}-{i}-{k}", speech, stop_at, rng)
            logs.append(log)
            k += 1
            if not log.media_t:
                await asyncio.sleep(1.0)  # refused or broken: don't hammer the server

    await asyncio.gather(*(line(i) for i in range(n)))
    monitor.cancel()
    return logs


def read_events(sessions: Path, call_id: str) -> list[dict[str, Any]]:
    path = sessions / call_id / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def analyse_twilio(logs: list[CallLog], sessions: Path | None, stalls: list[tuple[float, float]]) -> dict[str, Any]:
    eos_final: list[float] = []
    endpoint_final: list[float] = []
    v2v: list[float] = []
    align: list[float] = []
    slowest: list[tuple[Any, ...]] = []  # (ms, call, audio start ms, audio EoS ms, text, answer)
    missed = 0
    for log in logs:
        utts = [u for u in log.utts if u.t_eos]
        for i, u in enumerate(utts):
            nxt = utts[i + 1].t_start if i + 1 < len(utts) else float("inf")
            after = [t for t in log.media_t if t >= u.t_eos]
            if u.answer and after and after[0] < nxt and after[0] - u.t_eos < 10:
                v2v.append(after[0] - u.t_eos)
        events = read_events(sessions, log.call_id) if sessions else []
        starts = {e["seq"]: e["offset_ms"] for e in events if e["type"] == "prompt_start"}
        bounds = [log.segment_first[s] - starts[s] / 1000 for s in log.segment_first if s in starts]
        if not bounds:
            continue
        t0 = max(min(bounds), log.t_start_sent)
        align.append(t0 - log.t_start_sent)
        finals = [(t0 + e["offset_ms"] / 1000, e) for e in events if e["type"] == "final"
                  and e.get("channel") == "caller" and e.get("text")]
        ends = [t0 + e["offset_ms"] / 1000 for e in events if e["type"] == "speech_end"]
        for u in utts:
            # Match by position in the call's audio (server audio_ms counts inbound samples, which
            # is the client's stream time): a late final still belongs to its utterance.
            a_start, a_eos = (u.t_start - log.t_start_sent) * 1000, (u.t_eos - log.t_start_sent) * 1000
            hit = [t for t, e in finals if a_start - 1000 <= e.get("audio_ms", -1) <= a_eos]
            if not hit:
                missed += 1
                continue
            eos_final.append(hit[-1] - u.t_eos)
            slowest.append((round((hit[-1] - u.t_eos) * 1000), log.call_id, round(a_start), round(a_eos), u.text,
                            u.answer))
            ep = [t for t in ends if u.t_start <= t <= hit[-1]]
            if ep:  # the last speech end before the final: a turn with pauses has several
                endpoint_final.append(hit[-1] - ep[-1])
    spans = [g for log in logs for g in log.gaps]
    gaps = [b - a for a, b in spans]
    under = [(a, b) for a, b in spans if b - a > UNDERRUN_GAP_S]
    # An underrun while this client's own loop stalled may be the client's doing, not the server's.
    client_side = sum(1 for a, b in under if any(s0 < b and s1 > a for s0, s1 in stalls))
    total_s = sum((log.media_t[-1] - log.t_start_sent) if log.media_t else 0 for log in logs)
    return {
        "calls": len(logs),
        "utterances": sum(len(log.utts) for log in logs),
        "speech_share": round(sum(log.speech_s for log in logs) / total_s, 2) if total_s else None,
        "eos_final_ms": summary(eos_final), "missed_finals": missed,
        "slowest": sorted(slowest, reverse=True)[:5],
        "endpoint_final_ms": summary(endpoint_final),
        "v2v_ms": summary(v2v),
        "align_ms": summary(align),
        "jitter_ms": round(statistics.pstdev(gaps) * 1000, 2) if len(gaps) > 1 else None,
        "gap_max_ms": round(max(gaps) * 1000, 1) if gaps else None,
        "underruns": len(under), "underruns_client_stalled": client_side, "steady_frames": len(gaps),
        "client_stalls": len(stalls), "client_stall_max_ms": round(max((b - a for a, b in stalls), default=0) * 1000, 1),
        "late_frames": sum(log.late_frames for log in logs),
        "client_late_sends": sum(log.send_late for log in logs),
        "refused": sum(1 for log in logs if log.close_code == 1013),
        "close_reasons": dict(Counter(log.close_reason or str(log.close_code) for log in logs)),
        "_sent": sum(log.sent for log in logs), "_received": sum(log.received for log in logs),
    }


# -- vosk-server protocol streams ----------------------------------------------------------------
async def vosk_stream(url: str, speech: dict[str, np.ndarray], duration_s: float, rng: random.Random) -> dict[str, Any]:
    """One lock-step stream: pauses and utterances (~40% speech) sent in real-time 0.2 s chunks."""
    from websockets.asyncio.client import connect

    parts: list[np.ndarray] = []
    spans: list[tuple[float, float, float]] = []  # (start_s, eos_s, voiced_s) in stream time
    pos = 0
    texts = list(ANSWERS + INTERJECTIONS)
    while pos < duration_s * RATE_HZ:
        # The same turns as the /twilio borrowers; between them half the time a 1.5-3 s pause, else
        # 5-10 s (where the bot's prompt would play): ~40% speech, and pauses the endpointer can miss.
        utt, voiced = utterance(speech, rng.choice(texts), rng)
        gap = np.zeros(int(rng.uniform(*rng.choice(((1.5, 3.0), (5.0, 10.0)))) * RATE_HZ), np.int16)
        parts += [gap, utt]
        spans.append(((pos + len(gap)) / RATE_HZ, (pos + len(gap) + len(utt)) / RATE_HZ, voiced))
        pos += len(gap) + len(utt)
    pcm = np.concatenate(parts + [np.zeros(2 * RATE_HZ, np.int16)])[: int(duration_s * RATE_HZ)].tobytes()
    spans = [s for s in spans if s[1] * RATE_HZ * 2 <= len(pcm)]
    step = int(VOSK_CHUNK_S * RATE_HZ) * 2
    finals: list[tuple[float, float, float]] = []  # (arrival, first word's start, last word's end), stream s

    def take(reply: dict[str, Any]) -> None:
        if reply.get("text"):
            words = reply.get("result") or [{"start": -1.0, "end": -1.0}]
            finals.append((time.monotonic() - ts0, float(words[0]["start"]), float(words[-1]["end"])))

    lag_max = 0.0
    async with connect(url, max_size=2**22, compression=None) as ws:
        await ws.send(json.dumps({"config": {"sample_rate": RATE_HZ}}))
        ts0 = time.monotonic()
        for k, i in enumerate(range(0, len(pcm), step)):
            due = ts0 + (i + step) / 2 / RATE_HZ
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            lag_max = max(lag_max, time.monotonic() - due)
            await ws.send(pcm[i:i + step])
            take(json.loads(await ws.recv()))
        await ws.send('{"eof" : 1}')
        take(json.loads(await ws.recv()))
    return {**match_finals(spans, finals), "lag_max_s": lag_max, "speech_s": sum(v for _, _, v in spans)}


def match_finals(spans: list[tuple[float, float, float]],
                 finals: list[tuple[float, float, float]]) -> dict[str, Any]:
    """Each utterance's transcript is complete when the last final whose words overlap it arrives
    (by audio position, however late): latency = that arrival - EoS. A final whose words began in
    an earlier utterance merged the two (the endpointer missed the pause between them); an
    utterance no final's words overlap was missed (nothing recognised)."""
    lat: list[float] = []
    missed = merged = 0
    prev_eos = -1e9
    for start, eos, _ in spans:
        hit = [(t, a) for t, a, b in finals if a <= eos + 0.3 and b >= start - 0.3]
        if hit:
            lat.append(hit[-1][0] - eos)
            merged += hit[-1][1] < prev_eos
        else:
            missed += 1
        prev_eos = eos
    return {"lat": lat, "missed": missed, "merged": merged}


async def vosk_phase(url: str, n: int, duration_s: float, speech: dict[str, np.ndarray],
                     stagger_s: float = 0.0) -> dict[str, Any]:
    async def delayed(i: int) -> dict[str, Any]:
        await asyncio.sleep(stagger_s * i / n)  # the same spread of starts as the /twilio phase
        return await vosk_stream(url, speech, duration_s, random.Random(100 + i))

    got = await asyncio.gather(*(delayed(i) for i in range(n)), return_exceptions=True)
    runs = [r for r in got if isinstance(r, dict)]
    if not runs:
        return {"streams": n, "failed_streams": n, "eos_final_ms": summary([]), "missed_finals": 0,
                "merged": 0, "utterances": 0, "client_lag_max_ms": None, "speech_share": None}
    lat = [x for r in runs for x in r["lat"]]
    return {"streams": n, "failed_streams": n - len(runs), "eos_final_ms": summary(lat),
            "missed_finals": sum(r["missed"] for r in runs), "merged": sum(r["merged"] for r in runs),
            "utterances": sum(len(r["lat"]) + r["missed"] for r in runs),
            "client_lag_max_ms": round(max(r["lag_max_s"] for r in runs) * 1000, 1),
            "speech_share": round(sum(r["speech_s"] for r in runs) / (n * duration_s), 2)}


# -- the command ---------------------------------------------------------------------------------
def bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", default="1,4,8,12", help="concurrent calls, comma-separated (default 1,4,8,12)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per N (default 30)")
    parser.add_argument("--settle", type=float, default=240.0, metavar="S",
                        help="before each phase wait up to S seconds for the machine to go idle "
                        "(an endpoint may still be decoding the last phase's backlog; default 240, 0 = no wait)")
    parser.add_argument("--stagger", type=float, default=0.0, metavar="S",
                        help="spread the N calls' first dial over S seconds (default 0: all at once)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="drive a running server, e.g. ws://127.0.0.1:8765 "
                       "(no CPU/RSS unless --pid; no EoS->final unless --state-dir)")
    where.add_argument("--spawn", action="store_true", help="start `voicebot serve` here (default)")
    parser.add_argument("--pid", type=int, help="with --server: sample this process for CPU/RSS")
    parser.add_argument("--state-dir", help="with --server: its state_dir, to read session events")
    parser.add_argument("--vosk-url", metavar="URL", help="also drive a vosk-server-protocol endpoint; "
                        "'self' = the spawned server's /vosk")
    parser.add_argument("--no-warm", action="store_true", help="spawn the server with --no-warm")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--work-dir", help="keep speech, server log and session events here (default: a temp dir)")


def bench_main(args: argparse.Namespace) -> int:
    try:
        ns = [int(x) for x in str(args.calls).split(",") if x.strip()]
    except ValueError:
        print("voicebot bench: --calls takes numbers like 1,4,8", file=sys.stderr)
        return 2
    if not ns or min(ns) < 1 or args.duration < 5:
        print("voicebot bench: --calls must be >= 1 and --duration >= 5", file=sys.stderr)
        return 2
    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        report = asyncio.run(_bench(args, ns, Path(args.work_dir).resolve()))
    else:
        with tempfile.TemporaryDirectory(prefix="voicebot-bench-") as tmp_name:
            report = asyncio.run(_bench(args, ns, Path(tmp_name)))
    report["rss_slope"] = rss_slopes(report)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report)
    return 0


def rss_slopes(report: dict[str, Any]) -> list[dict[str, Any]]:
    """RSS added per extra call between consecutive N (peak RSS difference / call difference)."""
    runs = [(r["n"], r["twilio"].get("rss_mb_max")) for r in report.get("runs", ())]
    runs = [(n, rss) for n, rss in runs if rss is not None]
    return [{"from_n": a, "to_n": b, "mb_per_call": round((rb - ra) / (b - a), 2)}
            for (a, ra), (b, rb) in zip(runs, runs[1:]) if b > a]


async def _bench(args: argparse.Namespace, ns: list[int], tmp: Path) -> dict[str, Any]:
    speech = render_speech(tmp)
    report: dict[str, Any] = {"command": " ".join(["voicebot"] + sys.argv[1:]), "cores": os.cpu_count(),
                              "loadavg_start": os.getloadavg(), "stagger_s": args.stagger, "endpoint_silence_ms":
                              args.config.asr.endpoint_silence_ms,
                              "segment_silence_ms": args.config.asr.segment_silence_ms,
                              "startup_s": None, "idle_rss_mb": None}
    proc: subprocess.Popen[bytes] | None = None
    sessions: Path | None = None
    spawns = 0

    def spawn() -> tuple[str, int | None]:
        nonlocal proc, sessions, spawns
        work = tmp / f"server{spawns}"
        work.mkdir()
        spawns += 1
        proc, port, startup_s = spawn_server(work, args.config, max(ns) + 4, not args.no_warm)
        report.setdefault("startup_s", round(startup_s, 2))
        sessions = work / "var" / "sessions"
        return f"ws://127.0.0.1:{port}", proc.pid

    def died(phase: str, n: int) -> bool:
        if proc is None or proc.poll() is None:
            return False
        log = (tmp / f"server{spawns - 1}" / "server.log").read_text(errors="replace").strip().splitlines()
        report.setdefault("server_crashes", []).append(
            {"n": n, "phase": phase, "returncode": proc.returncode,
             "log_tail": [x for x in log if "VoskAPI" not in x and "connection " not in x][-3:]})
        return True

    if args.server:
        ws_base, pid = args.server.rstrip("/"), args.pid
        sessions = Path(args.state_dir) / "sessions" if args.state_dir else None
    else:
        report.pop("startup_s")
        ws_base, pid = spawn()
    sampler = Sampler(pid) if pid else None
    sampling = asyncio.create_task(sampler.run()) if sampler else None
    try:
        # Calls start once the recognisers are warm (a one-off cost of a fresh process, reported
        # apart), so idle RSS includes the warm pool and RSS per call is what calls add.
        report["warm_after_ready_s"] = None if args.no_warm else await wait_warm("http" + ws_base[2:])
        t_idle = time.monotonic()
        await asyncio.sleep(2.5)
        if sampler:
            report["idle_rss_mb"] = sampler.window(t_idle, time.monotonic())["rss_mb_median"]
        report["runs"] = []
        for n in ns:
            settled_s = await settle(args.settle)
            run: dict[str, Any] = {"n": n, "loadavg": os.getloadavg(), "settle_s": settled_s}
            http_base = "http" + ws_base[2:]
            before = metrics(http_base)
            t_from = time.monotonic()
            busy0 = machine_busy_s()
            stalls: list[tuple[float, float]] = []
            logs = await twilio_phase(ws_base, n, args.duration, speech, f"n{n}", stalls, args.stagger)
            t_to = time.monotonic()
            busy = machine_busy_s() - busy0
            await asyncio.sleep(1.5)
            tw = analyse_twilio(logs, sessions, stalls)
            sent, received = tw.pop("_sent"), tw.pop("_received")
            if died("twilio", n):
                # Keep what the calls measured before the crash; restart for the next phase.
                tw["server_crashed"] = True
                if sampler:
                    tw.update(sampler.window(t_from + 2.0, t_to))
                    dead = [t for t, _, rss in sampler.samples if t >= t_from and rss == 0]
                    tw["crashed_after_s"] = round(dead[0] - t_from, 1) if dead else None
                    sampling.cancel()  # type: ignore[union-attr]
                ws_base, pid = spawn()
                sampler = Sampler(pid) if pid else None
                sampling = asyncio.create_task(sampler.run()) if sampler else None
                await asyncio.sleep(2.5)
            else:
                after = metrics(http_base)
                key_in, key_out = 'voicebot_frames_in_total{route="/twilio"}', 'voicebot_frames_out_total{route="/twilio"}'
                tw["inbound_lost"] = int(sent - (after.get(key_in, 0) - before.get(key_in, 0)))
                tw["outbound_lost"] = int((after.get(key_out, 0) - before.get(key_out, 0)) - received)
                # Recognisers alive after the phase (each free-form one holds ~100 MB once used)
                # and how long free speech waited for a decoding place: where RSS and lag go.
                tw["recognizers"] = {k.split('"')[1]: int(v) for k, v in after.items()
                                     if k.startswith("voicebot_asr_recognizers{")}
                tw["asr_wait_s"] = round(after.get("voicebot_asr_wait_seconds_total", 0)
                                         - before.get("voicebot_asr_wait_seconds_total", 0), 2)
                if sampler:
                    tw.update(sampler.window(t_from + 2.0, t_to))
                    if report["idle_rss_mb"] is not None and tw["rss_mb_max"] is not None:
                        tw["rss_per_call_mb"] = round((tw["rss_mb_max"] - report["idle_rss_mb"]) / n, 2)
                    if tw.get("cpu_pct_mean") is not None:
                        # Everything but the server (this client, and whatever else runs): noise.
                        machine_pct = 100 * busy / (t_to - t_from)
                        tw["other_cpu_pct"] = round(max(0.0, machine_pct - tw["cpu_pct_mean"]), 1)
            run["twilio"] = tw
            if args.vosk_url:
                vosk_url = f"{ws_base}/vosk" if args.vosk_url == "self" else args.vosk_url
                run["vosk_settle_s"] = await settle(args.settle)
                t_from = time.monotonic()
                run["vosk"] = await vosk_phase(vosk_url, n, args.duration, speech, args.stagger)
                if sampler and vosk_url.startswith(ws_base):
                    run["vosk"].update(sampler.window(t_from + 2.0, time.monotonic()))
                await asyncio.sleep(1.0)
                if died("vosk", n):
                    run["vosk"]["server_crashed"] = True
                    if sampling:
                        sampling.cancel()
                    ws_base, pid = spawn()
                    sampler = Sampler(pid) if pid else None
                    sampling = asyncio.create_task(sampler.run()) if sampler else None
                    await asyncio.sleep(2.5)
            report["runs"].append(run)
    finally:
        if sampling:
            sampling.cancel()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    report["loadavg_end"] = os.getloadavg()
    return report


def _ms(d: dict[str, Any]) -> str:
    return f"{d['p50']}/{d['p95']}/{d['max']} (n={d['n']})"


def print_report(r: dict[str, Any]) -> None:
    la = lambda v: "/".join(f"{x:.2f}" for x in v)  # noqa: E731
    print(f"voicebot bench: {r['cores']} cores, load average {la(r['loadavg_start'])} at start, "
          f"{la(r['loadavg_end'])} at end; endpoint_silence_ms={r['endpoint_silence_ms']}, "
          f"segment_silence_ms={r.get('segment_silence_ms')}")
    print(f"startup to ready: {r['startup_s']} s; recognisers warm {r.get('warm_after_ready_s')} s later; "
          f"idle RSS: {r['idle_rss_mb']} MiB")
    for sl in r.get("rss_slope", ()):
        print(f"RSS added per call from N={sl['from_n']} to N={sl['to_n']}: {sl['mb_per_call']} MiB")
    for c in r.get("server_crashes", []):
        print(f"server crash: N={c['n']} {c['phase']} phase, exit {c['returncode']}; log: {c['log_tail']}")
    for run in r["runs"]:
        t = run["twilio"]
        print(f"\nN={run['n']} (load {la(run['loadavg'])}, after {run.get('settle_s')} s settling): {t['calls']} calls, {t['utterances']} utterances, "
              f"speech share {t['speech_share']}")
        print(f"  /twilio EoS->final ms p50/p95/max: {_ms(t['eos_final_ms'])}, missed {t['missed_finals']}")
        print(f"  /twilio endpoint->final ms p50/p95/max: {_ms(t['endpoint_final_ms'])}")
        print(f"  voice-to-voice ms p50/p95/max: {_ms(t['v2v_ms'])}")
        print(f"  t0 alignment width ms p50/p95/max: {_ms(t['align_ms'])}")
        print(f"  outbound jitter {t['jitter_ms']} ms, max gap {t['gap_max_ms']} ms, underruns {t['underruns']} "
              f"({t['underruns_client_stalled']} while the client stalled) of {t['steady_frames']} steady frames, late (playout ran dry) {t['late_frames']}")
        if t.get("server_crashed"):
            print(f"  SERVER CRASHED after {t.get('crashed_after_s')} s of this phase (restarted for the next)")
        print(f"  frames lost in/out {t.get('inbound_lost')}/{t.get('outbound_lost')}, client late sends "
              f"{t['client_late_sends']}, client loop stalls {t['client_stalls']} (max {t['client_stall_max_ms']} ms), "
              f"refused calls {t['refused']}")
        print(f"  call endings: {t['close_reasons']}")
        if "recognizers" in t:
            print(f"  recognisers after the phase: {t['recognizers']}; free speech waited {t['asr_wait_s']} s "
                  "in all for a decoding place")
        if t.get("cpu_pct_mean") is not None:
            print(f"  server CPU% mean/max {t['cpu_pct_mean']}/{t['cpu_pct_max']} (everything else {t.get('other_cpu_pct')}), "
                  f"RSS max {t['rss_mb_max']} MiB, "
                  f"RSS per extra call {t.get('rss_per_call_mb')} MiB")
        if "vosk" in run:
            v = run["vosk"]
            print(f"  /vosk   (after {run.get('vosk_settle_s')} s settling) EoS->final ms p50/p95/max: {_ms(v['eos_final_ms'])}, missed {v['missed_finals']}, "
                  f"merged into the next {v.get('merged')} of {v.get('utterances')}, speech share {v['speech_share']}, "
                  f"client lag max {v['client_lag_max_ms']} ms, failed streams {v['failed_streams']}" +
                  (" SERVER CRASHED" if v.get("server_crashed") else "") +
                  (f", server CPU% mean {v['cpu_pct_mean']}" if v.get("cpu_pct_mean") is not None else ""))
