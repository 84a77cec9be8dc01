"""Heap trimming after a call (voicebot/server/memory.py), in a fresh process: memory freed by
many threads comes back to the kernel."""
from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import threading
from voicebot.server import memory

def rss_kib():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])

blocks = []
alive = threading.Barrier(8)  # all alive at once, so each thread allocates in its own arena
def grab():
    alive.wait()
    blocks.extend(bytearray(64 * 1024) for _ in range(160))  # 10 MiB a thread, below mmap size
    alive.wait()
threads = [threading.Thread(target=grab) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
peak = rss_kib()
del blocks[::2]  # every other block: holes under live blocks, which free() keeps mapped
before = rss_kib()
trimmed = memory.trim()
print(peak, before, rss_kib(), trimmed)
"""


def test_trim_returns_memory_freed_across_threads() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    peak, before, after, trimmed = out.stdout.split()
    assert trimmed == "True"
    assert int(peak) > 70_000  # the 80 MiB were resident
    assert int(peak) - int(before) < 20_000, out.stdout  # free() alone kept the holes resident
    assert int(before) - int(after) > 30_000, out.stdout  # trim gave most of the 40 MiB back
