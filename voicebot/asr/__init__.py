"""Speech recognition with Vosk: model resolution (``models``) and the engine (``engine``).

``resolve_model`` finds a model without loading it; ``AsrEngine`` loads it once and hands
out per-call ``RecognizerStream``s whose blocking methods run on its executor.
"""
from __future__ import annotations

from voicebot.asr.models import ModelNotFoundError, ResolvedModel, resolve_model

__all__ = ["AsrEngine", "AsrResult", "ModelNotFoundError", "RecognizerStream", "ResolvedModel", "Word", "resolve_model"]


def __getattr__(name: str) -> object:
    # The engine imports vosk (loads libvosk); only pay for it when it is used.
    if name in ("AsrEngine", "AsrResult", "RecognizerStream", "Word"):
        from voicebot.asr import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'voicebot.asr' has no attribute {name!r}")
