"""The glibc heap settings of voicebot serve (voicebot/server/memory.py), in a fresh process so
the cap applies before any thread starts."""
from __future__ import annotations

import os
import subprocess
import sys

PROBE = r"""
import threading
from voicebot.server import memory
print("capped", memory.cap_arenas(2))
blocks = []
alive = threading.Barrier(8)  # all alive at once: glibc gives an exited thread's arena to the next
def grab():
    alive.wait()
    blocks.extend(bytearray(64 * 1024) for _ in range(64))
    alive.wait()
threads = [threading.Thread(target=grab) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
import ctypes
libc = ctypes.CDLL("libc.so.6")
libc.malloc_stats.restype = None
libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
del blocks[:]
print("trimmed", memory.trim())
"""


def _arenas(env: dict[str, str]) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return out.stderr.count("Arena "), out.stdout


def test_the_arena_cap_holds_with_many_allocating_threads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    capped, out = _arenas(env)
    assert "capped True" in out and "trimmed True" in out
    assert 1 <= capped <= 2, capped
    # Without the cap (MALLOC_ARENA_MAX set high wins over ours), 8 threads get their own arenas.
    uncapped, out = _arenas({**env, "MALLOC_ARENA_MAX": "64"})
    assert "capped False" in out
    assert uncapped > 2, uncapped
