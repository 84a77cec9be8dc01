"""glibc heap housekeeping for a long-running server with a thread per call.

Every call has a recorder thread and the decode threads allocate heavily in Kaldi; glibc
gives each allocating thread an arena (up to 8 per core), so memory a finished call freed can
sit in many half-empty arenas. ``trim`` hands free pages back to the kernel after a call ends.

Capping the arenas (glibc's own ``MALLOC_ARENA_MAX`` environment variable) saves a little
more memory per call but makes the decode threads contend for arena locks. Measured here with
``voicebot bench --calls 4,8,12`` side by side (docs/performance.md): a cap of 4 gave 15 / 8
MiB per extra call against 19 / 13 uncapped, but mean server CPU at N=12 rose from 52 % to
69 % and p95 end-of-speech -> final from 1.8 s to 3.2 s. So the server leaves the default;
an operator short of memory rather than CPU can set the variable.
"""
from __future__ import annotations

import ctypes
import ctypes.util

_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            return None
    return _LIBC if hasattr(_LIBC, "malloc_trim") else None


def trim() -> bool:
    """Return free heap pages to the kernel (glibc ``malloc_trim(0)``); True if any were.
    A no-op (False) where the C library is not glibc."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
