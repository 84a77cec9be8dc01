"""Configuration: frozen dataclasses loaded once from TOML.

Every key has a default, so ``voicebot serve`` runs with no file at all. Loading rejects
unknown keys, wrong types and bad values before anything starts, with one message naming the
file, the key and what was expected (``ConfigError``; the CLI exits 2). Secrets may come from
the environment instead of the file: see ``ENV_SECRETS``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from voicebot.errors import ConfigError

LANGS = ("en", "zh", "ko")


def _check(pred: Callable[[Any], bool], expected: str) -> dict[str, Any]:
    return {"check": pred, "expected": expected}


def _port(v: int) -> bool:
    return 0 <= v <= 65535


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8765, metadata=_check(_port, "a port number 0-65535"))
    audiosocket_port: int = field(default=8766, metadata=_check(_port, "a port number 0-65535"))
    state_dir: str = "./var"
    token: str = ""  # pbx role token; env VOICEBOT_TOKEN
    agent_token: str = ""  # dashboard role token; env VOICEBOT_AGENT_TOKEN
    admin_token: str = ""  # replay/QA/purge role token; env VOICEBOT_ADMIN_TOKEN
    tls_cert: str = ""
    tls_key: str = ""
    max_calls: int = field(default=12, metadata=_check(lambda v: v >= 1, "an integer >= 1"))
    max_message_bytes: int = field(
        default=1 << 20, metadata=_check(lambda v: 1024 <= v <= 64 << 20, "1 KiB to 64 MiB")
    )
    ping_interval_s: float = field(default=0.0, metadata=_check(lambda v: v >= 0, ">= 0 (0 = off)"))
    drain_timeout_s: float = field(default=30.0, metadata=_check(lambda v: v >= 0, ">= 0"))
    inbound_timeout_s: float = field(default=60.0, metadata=_check(lambda v: v >= 0, ">= 0 (0 = never)"))
    overload_action: str = field(
        default="refuse",
        metadata=_check(lambda v: v in ("refuse", "handoff"), '"refuse" or "handoff"'),
    )


def segment_ms(segment_silence_ms: int, endpoint_silence_ms: int) -> int:
    """The silence that ends a transcript segment: ``segment_silence_ms``, where 0 means the
    turn's endpoint, and never longer than the endpoint (the listener and replay agree on it)."""
    return min(segment_silence_ms or endpoint_silence_ms, endpoint_silence_ms)


@dataclass(frozen=True)
class AsrConfig:
    model: str = ""  # path, name under models/, package name, or vosk model name; "" = auto
    models_dir: str = "./models"
    decode_workers: int = field(default=0, metadata=_check(lambda v: v >= 0, ">= 0 (0 = one per core)"))
    free_form_recognizers: int = field(
        default=4, metadata=_check(lambda v: 0 <= v <= 256, "0 (auto) to 256")
    )
    chunk_ms: int = field(default=160, metadata=_check(lambda v: 20 <= v <= 1000, "20 to 1000"))
    endpoint_silence_ms: int = field(
        default=500, metadata=_check(lambda v: 100 <= v <= 5000, "100 to 5000")
    )
    segment_silence_ms: int = field(
        default=250, metadata=_check(lambda v: v == 0 or 100 <= v <= 5000, "0 or 100 to 5000")
    )
    vad_threshold_db: float = field(
        default=-42.0, metadata=_check(lambda v: -90 <= v <= 0, "-90 to 0 dBFS")
    )
    allow_download: bool = False
    # Kaldi's search, overriding the model's conf/model.conf (0 = the model's own value): a
    # narrower search costs less CPU per audio second (docs/performance.md has the trade).
    max_active: int = field(default=0, metadata=_check(lambda v: v == 0 or 100 <= v <= 50000, "0 or 100 to 50000"))
    beam: float = field(default=0.0, metadata=_check(lambda v: v == 0 or 1 <= v <= 40, "0 or 1 to 40"))
    lattice_beam: float = field(default=0.0, metadata=_check(lambda v: v == 0 or 0.1 <= v <= 20, "0 or 0.1 to 20"))

    def free_form_places(self) -> int:
        """Free-speech utterances decoded at once: ``free_form_recognizers``, or with 0, as many
        live streams as the decode threads keep up with: one stream costs ~0.21-0.26 CPU-s per
        audio second here, so 4 per decode thread (8 on 2 cores)."""
        return self.free_form_recognizers or 4 * (self.decode_workers or os.cpu_count() or 1)

    def search_options(self) -> dict[str, float]:
        """The decoder options set here, keyed as in conf/model.conf (see asr.models)."""
        opts = {"max-active": self.max_active, "beam": self.beam, "lattice-beam": self.lattice_beam}
        return {k: v for k, v in opts.items() if v}


@dataclass(frozen=True)
class VoiceConfig:
    engine: str = field(
        default="auto", metadata=_check(lambda v: v in ("auto", "pyttsx3", "piper"), '"auto", "pyttsx3" or "piper"')
    )
    voice: str = ""  # espeak voice name / piper voice id; "" = language default
    rate_wpm: int = field(default=160, metadata=_check(lambda v: 60 <= v <= 400, "60 to 400"))


@dataclass(frozen=True)
class TtsConfig:
    cache_dir: str = ""  # "" = <state_dir>/tts-cache
    en: VoiceConfig = VoiceConfig()
    zh: VoiceConfig = VoiceConfig()
    ko: VoiceConfig = VoiceConfig()


@dataclass(frozen=True)
class DialogueConfig:
    lang: str = field(default="", metadata=_check(lambda v: v in ("",) + LANGS, '"", "en", "zh" or "ko"'))
    script: str = ""  # path to a script TOML; "" = prompts/<lang>/reminder.toml
    prompts_dir: str = ""  # "" = the prompts/ shipped with voicebot
    profile: str = field(default="us", metadata=_check(lambda v: v in ("us", "cn"), '"us" or "cn"'))
    no_input_timeout_s: float = field(default=6.0, metadata=_check(lambda v: v > 0, "> 0"))
    latest_promise_days: int = field(default=14, metadata=_check(lambda v: v >= 0, ">= 0"))
    min_promise_fraction: float = field(
        default=0.5, metadata=_check(lambda v: 0 <= v <= 1, "0 to 1")
    )
    accounts_file: str = ""  # JSON file of accounts keyed by account id


@dataclass(frozen=True)
class HandoffConfig:
    agent_number: str = ""  # number or SIP URI the transfer dials
    webhook_url: str = ""
    webhook_secret: str = ""  # env VOICEBOT_WEBHOOK_SECRET
    webhook_timeout_s: float = field(default=5.0, metadata=_check(lambda v: v > 0, "> 0"))
    webhook_retries: int = field(default=3, metadata=_check(lambda v: 0 <= v <= 10, "0 to 10"))
    max_no_match: int = field(default=2, metadata=_check(lambda v: v >= 1, ">= 1"))


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str = ""
    auth_token: str = ""  # env VOICEBOT_TWILIO_AUTH_TOKEN; enables X-Twilio-Signature checks
    public_url: str = ""  # the wss:// URL Twilio connects to, for signature validation
    api_base: str = "https://api.twilio.com"
    transfer: str = field(default="close", metadata=_check(lambda v: v in ("close", "rest"), '"close" or "rest"'))


@dataclass(frozen=True)
class AudioForkConfig:
    rate_hz: int = field(default=8000, metadata=_check(lambda v: v in (8000, 16000, 24000, 32000, 48000, 64000), "one of 8000, 16000, 24000, 32000, 48000, 64000"))
    channels: int = field(default=1, metadata=_check(lambda v: v in (1, 2), "1 or 2"))
    dialect: str = field(default="audio_fork", metadata=_check(lambda v: v in ("audio_fork", "audio_stream"), '"audio_fork" or "audio_stream"'))


@dataclass(frozen=True)
class StoreConfig:
    url: str = ""  # "" = sqlite:///<state_dir>/voicebot.db; or postgresql://...
    sessions_dir: str = ""  # "" = <state_dir>/sessions
    retention_audio_days: int = field(default=90, metadata=_check(lambda v: v >= 1, ">= 1"))
    retention_transcript_days: int = field(default=365, metadata=_check(lambda v: v >= 1, ">= 1"))


@dataclass(frozen=True)
class ComplianceConfig:
    enforce_calling_window: bool = True
    enforce_attempt_caps: bool = True
    enforce_opt_out: bool = True
    redact: bool = True


@dataclass(frozen=True)
class Config:
    server: ServerConfig = ServerConfig()
    asr: AsrConfig = AsrConfig()
    tts: TtsConfig = TtsConfig()
    dialogue: DialogueConfig = DialogueConfig()
    handoff: HandoffConfig = HandoffConfig()
    twilio: TwilioConfig = TwilioConfig()
    audiofork: AudioForkConfig = AudioForkConfig()
    store: StoreConfig = StoreConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    source: str = "<defaults>"  # where this config came from (not a TOML key)

    @property
    def state_path(self) -> Path:
        return Path(self.server.state_dir)

    @property
    def sessions_path(self) -> Path:
        return Path(self.store.sessions_dir) if self.store.sessions_dir else self.state_path / "sessions"

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.state_path / 'voicebot.db'}"

    @property
    def tts_cache_path(self) -> Path:
        return Path(self.tts.cache_dir) if self.tts.cache_dir else self.state_path / "tts-cache"

    def digest(self) -> str:
        """A short hash of the effective config (secrets excluded), recorded with each call."""
        obj = dataclasses.asdict(self)
        obj.pop("source", None)
        for sect, key in ENV_SECRETS.values():
            obj[sect][key] = bool(obj[sect][key])
        return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


# env var -> (section, key): a secret may come from the environment instead of the file.
ENV_SECRETS: dict[str, tuple[str, str]] = {
    "VOICEBOT_TOKEN": ("server", "token"),
    "VOICEBOT_AGENT_TOKEN": ("server", "agent_token"),
    "VOICEBOT_ADMIN_TOKEN": ("server", "admin_token"),
    "VOICEBOT_WEBHOOK_SECRET": ("handoff", "webhook_secret"),
    "VOICEBOT_TWILIO_AUTH_TOKEN": ("twilio", "auth_token"),
}


def _type_name(tp: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, "a table")


def _build(cls: type, table: dict[str, Any], where: str, path: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{path}.{key}" if path else key
        f = known.get(key)
        if f is None:
            raise ConfigError(
                f"{where}: unknown key '{dotted}' (expected one of: {', '.join(sorted(known))})"
            )
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: key '{dotted}' must be a table [{dotted}]")
            kwargs[key] = _build(tp, value, where, dotted)
            continue
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if tp in (int, float) and isinstance(value, bool) or not isinstance(value, tp):
            raise ConfigError(
                f"{where}: key '{dotted}' must be {_type_name(tp)}, got {type(value).__name__} {value!r}"
            )
        check = f.metadata.get("check")
        if check is not None and not check(value):
            raise ConfigError(f"{where}: key '{dotted}' must be {f.metadata['expected']}, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Load and validate ``path`` (None = defaults only), then apply secrets from ``env``."""
    env = os.environ if env is None else env
    table: dict[str, Any] = {}
    where = "<defaults>"
    if path is not None:
        where = str(path)
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{where}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    cfg: Config = _build(Config, table, where, "")
    for var, (sect, key) in ENV_SECRETS.items():
        if env.get(var):
            cfg = dataclasses.replace(cfg, **{sect: dataclasses.replace(getattr(cfg, sect), **{key: env[var]})})
    return dataclasses.replace(cfg, source=where)

