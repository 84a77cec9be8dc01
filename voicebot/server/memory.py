"""glibc heap settings for a long-running server with a thread per call.

glibc gives each thread that allocates its own arena, up to 8 per core (16 here). Every call
has a recorder thread, and the decode threads allocate heavily in Kaldi, so with a dozen calls
freed memory sits in many half-empty arenas and the RSS of the process grows with each call
that ever ran. ``cap_arenas`` limits the arenas (as ``MALLOC_ARENA_MAX`` would, which wins when
set), and ``trim`` hands free pages back to the kernel after a call ends. Both are no-ops
where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)
_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
DEFAULT_ARENAS = 4  # two decode threads, the event loop and the rest sharing one


def _libc() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None


def cap_arenas(count: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc arenas to ``count`` (call before threads start). Returns whether
    the cap was set here (False when MALLOC_ARENA_MAX is set or the libc is not glibc)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    lib = _libc()
    if lib is None:
        return False
    ok = bool(lib.mallopt(_M_ARENA_MAX, count))
    if ok:
        log.debug("malloc arenas capped at %d", count)
    return ok


def trim() -> bool:
    """Return free heap pages to the kernel (glibc ``malloc_trim(0)``); True if any were."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
