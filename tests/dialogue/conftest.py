from __future__ import annotations

import sys
from pathlib import Path

import pytest

from voicebot.dialogue import Account, load_account

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # dialogue_keyword_nlu and dialogue_testdata, imported by the tests

from dialogue_testdata import REPO  # noqa: E402


@pytest.fixture
def account_en() -> Account:
    return load_account(REPO / "examples" / "account_en.json")


@pytest.fixture
def account_zh() -> Account:
    return load_account(REPO / "examples" / "account_zh.json")


@pytest.fixture
def account_ko() -> Account:
    return load_account(REPO / "examples" / "account_ko.json")
