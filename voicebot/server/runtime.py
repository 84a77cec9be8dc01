"""What every call of one server process shares: the Vosk model, TTS caches, the call script,
the store, the live feed and the metrics. Built once at startup from the config."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from voicebot.config import Config
from voicebot.server.feed import LiveFeed
from voicebot.server.metrics import Metrics
from voicebot.server.ratelimit import FailedLogins

if TYPE_CHECKING:
    from voicebot.session import CallSession

log = logging.getLogger("voicebot.server")

# Typical borrower answers, spoken by our own TTS to warm the free-form recognisers (a
# recogniser's first few utterances cost ~10x the later ones: Kaldi expands its graph lazily).
WARM_SENTENCES = {
    "en": ("yes this is me and i can pay two hundred dollars on friday",
           "i already paid last week can i speak to someone about a payment plan"),
    "zh": ("是的 我 周五 可以 还 两千 块", "我 上周 已经 还 了 能不能 分期 找 个 人工"),
    "ko": ("네 맞아요 저는 금요일에 이십만 원을 낼게요",
           "지난주에 벌써 냈어요 상담원이랑 통화하고 싶어요 분할로 갚아도 되나요"),
}
DEMO_PREFIX = "DEMO-"  # account ids of the built-in demo account (no compliance guards)


@dataclass
class Runtime:
    config: Config
    engine: Any  # voicebot.asr.engine.AsrEngine | None (None: text-only, e.g. some tests)
    lang: str
    model_name: str = ""
    feed: LiveFeed = field(default_factory=LiveFeed)
    metrics: Metrics = field(default_factory=Metrics)
    store: Any = None
    sessions: dict[str, "CallSession"] = field(default_factory=dict)
    tts_executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="tts"))
    _scripts: dict[str, Any] = field(default_factory=dict)
    _caches: dict[tuple[str, int], Any] = field(default_factory=dict)
    _engines: dict[str, Any] = field(default_factory=dict)
    _accounts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    handoff_tasks: set["asyncio.Task[None]"] = field(default_factory=set)
    failed_logins: FailedLogins = field(default_factory=FailedLogins)
    recognizers_warm: bool = False  # set once warm_recognizers() has run (/healthz shows it)
    _free_form_gate: "asyncio.Semaphore | None" = None

    def __post_init__(self) -> None:
        m = self.metrics
        m.describe("voicebot_calls_total", "counter", "calls started, by route")
        m.describe("voicebot_frames_in_total", "counter", "inbound messages, by route")
        m.describe("voicebot_frames_out_total", "counter", "outbound messages, by route")
        m.describe("voicebot_errors_total", "counter", "errors, by kind")
        m.describe("voicebot_decode_seconds_total", "counter", "wall seconds spent finishing utterances")
        m.describe("voicebot_active_calls", "gauge", "active calls, by route")
        m.describe("voicebot_decode_backlog", "gauge", "queued decode jobs, by call")
        m.gauge("voicebot_active_calls", self._active_by_route)
        m.gauge("voicebot_decode_backlog", self._backlog)
        m.describe("voicebot_asr_wait_seconds_total", "counter",
                   "seconds free-speech utterances waited for a decoding place")
        m.describe("voicebot_asr_recognizers", "gauge",
                   "Vosk recognisers: idle in the pool, in use by an utterance, created since start")
        m.gauge("voicebot_asr_recognizers", self._recognizers)
        if self.config.dialogue.accounts_file:
            self._accounts = json.loads(Path(self.config.dialogue.accounts_file).read_text())

    # -- metrics gauges ---------------------------------------------------------------------
    def _active_by_route(self) -> dict[tuple[tuple[str, str], ...], float]:
        out: dict[tuple[tuple[str, str], ...], float] = {}
        for s in list(self.sessions.values()):
            key = (("route", s.route),)
            out[key] = out.get(key, 0) + 1
        return out or {(("route", "all"),): 0}

    def _backlog(self) -> dict[tuple[tuple[str, str], ...], float]:
        out: dict[tuple[tuple[str, str], ...], float] = {}
        for s in list(self.sessions.values()):
            out[(("call_id", s.call_id),)] = sum(li.queue.qsize() for li in s.listeners.values())
        return out or {(("call_id", "none"),): 0}

    def _recognizers(self) -> dict[tuple[tuple[str, str], ...], float]:
        stats = self.engine.pool_stats() if self.engine is not None else {"idle": 0}
        return {(("state", state),): n for state, n in stats.items()}

    # -- scripts, accounts, dialogue --------------------------------------------------------
    def script(self, lang: str) -> Any:
        if lang not in self._scripts:
            from voicebot.dialogue import load_script, script_for

            d = self.config.dialogue
            if d.script and lang == self.lang:
                self._scripts[lang] = load_script(Path(d.script))
            else:
                self._scripts[lang] = script_for(lang, Path(d.prompts_dir) if d.prompts_dir else None, d.profile)
        return self._scripts[lang]

    def account_for(self, params: Mapping[str, str], lang: str) -> Any:
        from voicebot.dialogue import Account

        data: dict[str, Any] = {}
        acct_id = params.get("account_id") or params.get("account")
        if acct_id and acct_id in self._accounts:
            data.update(self._accounts[acct_id])
        # Softphone pages send the account as "account.<key>" entries.
        data.update({k.removeprefix("account."): v for k, v in params.items()
                     if v not in (None, "") and k != "account"})
        if "name" not in data:
            data = {**demo_account(lang), **data}
        data.setdefault("lang", lang)
        return Account.from_mapping(data)

    def new_dialogue(self, account: Any, lang: str, today: date) -> Any:
        from voicebot.dialogue import Dialogue

        d = self.config.dialogue
        return Dialogue(
            self.script(lang), account, today,
            min_promise_fraction=d.min_promise_fraction,
            latest_promise_days=d.latest_promise_days,
            max_no_match=self.config.handoff.max_no_match,
        )

    # -- speech ------------------------------------------------------------------------------
    def tts_engine(self, lang: str) -> Any:
        if lang not in self._engines:
            from voicebot.tts.factory import make_engine

            vc = getattr(self.config.tts, lang)
            self._engines[lang] = make_engine(lang, vc.engine, vc.voice, vc.rate_wpm)
        return self._engines[lang]

    def prompt_cache(self, lang: str, rate_hz: int) -> Any:
        key = (lang, rate_hz)
        if key not in self._caches:
            from voicebot.tts.cache import PromptCache

            self._caches[key] = PromptCache(self.config.tts_cache_path, self.tts_engine(lang), rate_hz)
        return self._caches[key]

    def segment_audio(self, lang: str, segments: Any, rate_hz: int) -> Iterator[Any]:
        """Rendered audio for ``segments`` piece by piece (blocking: step it in an executor),
        so a cached opening can play while a dynamic part is still being rendered."""
        return iter(self.prompt_cache(lang, rate_hz).iter_segments(list(segments)))

    def warm_prompts(self, rate_hz: int = 8000) -> int:
        """Render every static segment of the active script once (startup), return how many."""
        from voicebot.dialogue import static_segments

        texts = static_segments(self.script(self.lang))
        cache = self.prompt_cache(self.lang, rate_hz)
        cache.warm(texts)
        return len(texts)

    def free_form_gate(self) -> "asyncio.Semaphore":
        """At most ``asr.free_form_places()`` free-speech utterances decode at once; a later
        one waits (its audio queues, nothing is lost) and then catches up faster than real
        time. Beyond a few per core, more at once only adds cold recognisers (~3 CPU-s and
        ~50 MB each) without adding throughput. Created in the serving loop on first use."""
        if self._free_form_gate is None:
            self._free_form_gate = asyncio.Semaphore(self.config.asr.free_form_places())
        return self._free_form_gate

    def warm_recognizers(self, count_16k: int = 1) -> int:
        """Pay the pooled free-form recognisers' expensive first utterances (8 kHz: as many as
        may decode at once; 16 kHz: ``count_16k``) with sentences spoken by our own TTS.
        Blocking; run after start-up, off the event loop. Returns how many were warmed."""
        if self.engine is None:
            return 0
        import numpy as np

        from voicebot.audio.resample import resample_once

        tts = self.tts_engine(self.lang)
        rendered = [tts.render(t) for t in WARM_SENTENCES.get(self.lang, WARM_SENTENCES["en"])]
        n = 0
        for rate_hz, count in ((8000, self.config.asr.free_form_places()), (16000, count_16k)):
            pcm = b"".join(resample_once(np.frombuffer(r.pcm, dtype="<i2").astype(np.int16), r.rate_hz, rate_hz)
                           .astype("<i2").tobytes() for r in rendered)
            n += self.engine.warm_free_form(pcm, rate_hz, count)
        self.recognizers_warm = True
        return n

    # -- recording ---------------------------------------------------------------------------
    def open_recorder(self, session: "CallSession") -> Any:
        from voicebot.recording.recorder import Recorder

        channels = tuple(session.started.channels) + ("bot",)
        script = None if session.assist else self.script(session.lang)
        meta = {
            "call_id": session.call_id,
            # Raw here: the recorder masks both and keeps a pseudonymous key for the store.
            "account_id": str(getattr(session.account, "account_id", "") or ""),
            "phone": str(getattr(session.account, "phone", "") or ""),
            "route": session.route,
            "peer": session.started.peer,
            "lang": session.lang,
            "model": self.model_name,
            "script": str(getattr(script, "path", "")) if script is not None else "",
            "script_version": getattr(script, "version", "") if script is not None else "",
            "config_hash": self.config.digest(),
            "call_date": session.today.isoformat(),
            "voicemail": bool(session.started.voicemail),
            # What replay needs to rebuild the call; the borrower's name and ids stay out.
            "account": {k: v for k, v in session.account.to_json_obj().items()
                        if k not in ("account_id", "phone", "name")},
            "policy": {"min_promise_fraction": self.config.dialogue.min_promise_fraction,
                       "latest_promise_days": self.config.dialogue.latest_promise_days,
                       "max_no_match": self.config.handoff.max_no_match},
            "asr": {"endpoint_silence_ms": self.config.asr.endpoint_silence_ms,
                    "segment_silence_ms": self.config.asr.segment_silence_ms,
                    "vad_threshold_db": self.config.asr.vad_threshold_db, "chunk_ms": self.config.asr.chunk_ms},
            "profile": self.config.dialogue.profile,
            "assist": session.assist,
            "started_at_unix": time.time(),
        }
        try:
            return Recorder(self.config.sessions_path, session.call_id, session.rate_hz, channels, meta)
        except Exception as exc:  # recording must never stop a call from being served
            log.error("call %s: recorder failed to open: %s", session.call_id, exc)
            self.metrics.inc("voicebot_errors_total", kind="recorder")
            return None

    def close_recorder(self, session: "CallSession", outcome: dict[str, Any]) -> None:
        rec = session.recorder
        try:
            rec.close(outcome)
        except Exception as exc:
            log.error("call %s: recorder failed to close: %s", session.call_id, exc)
            return
        if self.store is not None:
            try:
                from voicebot.recording.format import read_session

                self.store.record_call(read_session(self.config.sessions_path / session.call_id))
            except Exception as exc:
                log.error("call %s: indexing failed: %s", session.call_id, exc)
                self.metrics.inc("voicebot_errors_total", kind="store")

    # -- compliance guards -----------------------------------------------------------------
    def check_call(self, session: "CallSession") -> Any:
        """Calling window, attempt caps and opt-out for this account, at call start."""
        from datetime import datetime, timezone

        from voicebot.compliance.guards import Attempt, check_call

        c = self.config.compliance
        acct = session.account
        if str(acct.account_id).startswith(DEMO_PREFIX):
            # A demo/test call brought no account: nobody real is being contacted.
            return check_call(self.config.dialogue.profile, datetime.now(timezone.utc), "UTC", [], False,
                              enforce_window=False, enforce_caps=False, enforce_opt_out=False)
        attempts: list[Attempt] = []
        opted_out = False
        if self.store is not None:
            rows = self.store.attempts(account_id=acct.account_id or None, phone=acct.phone or None)
            for r in rows:
                started = datetime.fromisoformat(str(r["started_at"]))
                if started.tzinfo is None:
                    started = started.replace(tzinfo=timezone.utc)
                attempts.append(Attempt(started, bool(r["connected"]), bool(r["conversation"])))
            opted_out = self.store.is_opted_out(account_id=acct.account_id, phone=acct.phone)
        return check_call(self.config.dialogue.profile, datetime.now(timezone.utc), acct.timezone, attempts,
                          opted_out, enforce_window=c.enforce_calling_window,
                          enforce_caps=c.enforce_attempt_caps, enforce_opt_out=c.enforce_opt_out)

    # -- hand-off ----------------------------------------------------------------------------
    def hand_off(self, session: "CallSession", transfer: Any) -> None:
        """Start the out-of-band transfer actions (webhook, REST); the in-band part is the
        adapter's. Delivery outlives the call (the peer often hangs up at once), so the
        runtime owns these tasks and ``drain_handoffs`` awaits them at shutdown."""
        handoff = getattr(self, "handoff_client", None)
        if handoff is not None:
            task = asyncio.get_running_loop().create_task(handoff.transfer(session, transfer))
            self.handoff_tasks.add(task)
            task.add_done_callback(self.handoff_tasks.discard)

    async def drain_handoffs(self, timeout_s: float) -> None:
        if self.handoff_tasks:
            await asyncio.wait(set(self.handoff_tasks), timeout=timeout_s)


def demo_account(lang: str) -> dict[str, Any]:
    """The built-in demo account used when a call brings no account data (softphone, demos)."""
    base = {
        "account_id": DEMO_PREFIX + "0001",
        "amount_due": 250.0,
        "due_date": "2026-11-20",
        "timezone": "UTC",
        "phone": "+15550100",
        "callback_number": "555 0100",
    }
    per_lang = {
        "en": {"name": "Alex Morgan", "lender": "Acme Credit", "currency": "USD"},
        "zh": {"name": "王伟", "lender": "安信金融", "currency": "CNY", "amount_due": 2500.0,
               "callback_number": "400 800 1234"},
        "ko": {"name": "김민준", "lender": "한빛캐피탈", "currency": "KRW", "amount_due": 200000.0,
               "callback_number": "1588 1234"},
    }
    return {**base, **per_lang.get(lang, per_lang["en"]), "lang": lang}
