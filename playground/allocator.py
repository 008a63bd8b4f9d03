"""The C allocator's settings for training on the CPU in a long-lived process (glibc only).

A training step allocates and frees the same activation and gradient buffers every time, many
of them a few megabytes. glibc serves blocks over 128 KB with their own mmap and gives freed
memory at the top of a heap back to the kernel once more than 128 KB is free there; it raises
both limits as it sees large blocks freed, but only after the fact, and a thread's own arena
(the app trains in a worker thread) kept handing its pages back. Every step then started on
fresh pages that the kernel had to fault in and zero: ~2,600 page faults and ~7 ms of kernel
time a DCGAN step, and the app trained mnist-dcgan 10-30 % slower than the same loop alone
(`make bench`, streaming). `keep_freed_memory()` fixes both limits high enough that a step's
buffers stay in the process and are reused: ~100 faults a step (`tests/test_allocator.py`).

The memory kept is what one step of the largest model needs, at most TRIM_THRESHOLD per arena
beyond what is in use; a session's release still returns everything (`malloc_trim` in
`playground.ui.session`).
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks under this come from the heap (glibc's largest allowed value)
TRIM_THRESHOLD = 64 << 20  # free memory kept at the top of a heap before giving it back


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module docstring) for this process; True if it took.

    Elsewhere (macOS, musl, Windows) it does nothing and returns False."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
