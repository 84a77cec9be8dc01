"""The audio package is pure: no event loop, network or ASR engine imports."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import voicebot.audio

FORBIDDEN = ("asyncio", "websockets", "socket", "vosk")
PACKAGE_DIR = Path(voicebot.audio.__file__).parent


def test_no_forbidden_import_statements() -> None:
    offenders = []
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert len(list(PACKAGE_DIR.glob("*.py"))) >= 6
    assert offenders == []


def test_importing_the_package_loads_no_forbidden_module_transitively() -> None:
    code = (
        "import sys, pkgutil, importlib, voicebot.audio as a\n"
        "for m in pkgutil.iter_modules(a.__path__): importlib.import_module('voicebot.audio.' + m.name)\n"
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
