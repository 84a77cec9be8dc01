"""Shared constants for the dialogue tests (a uniquely named module: every test area's
helpers share one import namespace)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
TODAY = date(2026, 11, 28)  # a Saturday, as in the labelled data
