"""Config loading: the example documents every key with its default; bad files fail with the key."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from voicebot.config import Config, load_config
from voicebot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"


def _leaves(obj: object, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.name == "source":
            continue
        v = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(v):
            out.update(_leaves(v, key + "."))
        else:
            out[key] = v
    return out


def test_example_loads_and_equals_defaults() -> None:
    cfg = load_config(EXAMPLE, env={})
    assert _leaves(cfg) == _leaves(Config())


def test_example_documents_every_key_with_a_comment() -> None:
    text = EXAMPLE.read_text()
    table = tomllib.loads(text)

    def flat(t: dict, prefix: str = "") -> set[str]:
        keys: set[str] = set()
        for k, v in t.items():
            keys |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return keys

    assert flat(table) == set(_leaves(Config()))
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"undocumented key line: {line}"


@pytest.mark.parametrize(
    "body, needle",
    [
        ("[server]\nprot = 1\n", "server.prot"),
        ("[server]\nport = 'x'\n", "server.port"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[asr]\nchunk_ms = true\n", "asr.chunk_ms"),
        ("[tts.en]\nengine = 'festival'\n", "tts.en.engine"),
        ("[nosuch]\na = 1\n", "nosuch"),
        ("server = 3\n", "server"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, body: str, needle: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    assert str(p) in str(err.value) and needle in str(err.value)


def test_bad_config_exits_2_before_anything_starts(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[server]\nmax_calls = 0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "voicebot", "--config", str(p), "serve"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "server.max_calls" in proc.stderr and str(p) in proc.stderr
    assert proc.stderr.count("\n") <= 2  # one message, not a traceback


def test_secrets_come_from_environment(tmp_path: Path) -> None:
    cfg = load_config(None, env={"VOICEBOT_TOKEN": "s3cret", "VOICEBOT_TWILIO_AUTH_TOKEN": "tw"})
    assert cfg.server.token == "s3cret" and cfg.twilio.auth_token == "tw"
    assert "s3cret" not in cfg.digest()
    assert load_config(None, env={}).server.token == ""


def test_int_accepted_for_float_but_bool_is_not_an_int(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[server]\ndrain_timeout_s = 5\n")
    assert load_config(p, env={}).server.drain_timeout_s == 5.0
    p.write_text("[server]\nport = true\n")
    with pytest.raises(ConfigError, match="server.port"):
        load_config(p, env={})
