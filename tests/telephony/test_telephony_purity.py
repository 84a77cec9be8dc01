"""voicebot.telephony stays sans-I/O: no asyncio, websockets, socket or vosk."""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import voicebot.telephony

FORBIDDEN = {"asyncio", "websockets", "socket", "vosk"}
PACKAGE_DIR = pathlib.Path(voicebot.telephony.__file__).parent


def test_no_forbidden_imports_in_source() -> None:
    offenders = []
    files = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(files) >= 9
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_package_loads_none_of_them() -> None:
    code = (
        "import sys, voicebot.telephony; "
        f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
