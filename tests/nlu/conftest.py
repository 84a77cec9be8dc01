"""Shared fixtures for NLU tests."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
OWN_DATA = Path(__file__).resolve().parent / "data"
TODAY = date(2026, 11, 28)  # a Saturday, the reference day of the labelled data


@pytest.fixture
def today() -> date:
    return TODAY
