"""Whose turn it is to train: `TurnLock` (a training loop lets others in between its chunks)
and `Slots` (at most n runs train at the same time). No gradio, no torch here."""
from __future__ import annotations

import threading
from typing import Any


class TurnLock:
    """A re-entrant lock that knows when someone is waiting for it.

    A training loop holds its run's lock for one chunk of steps at a time, back to back; Python's
    locks are not fair, so a Save or a live edit could wait behind many chunks. The loop checks
    `waiting` between chunks and, when it is set, steps aside for a moment.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self._waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._count:
            self._waiting += 1
        try:
            return self._lock.acquire(True, timeout)
        finally:
            with self._count:
                self._waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> "TurnLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @property
    def waiting(self) -> bool:
        return self._waiting > 0


class Slots:
    """At most `n` runs train at the same time; the others wait for a slot, saying so."""

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"slots={n!r} must be a whole number >= 1")
        self.n = n
        self._free = threading.Semaphore(n)

    def acquire(self, timeout: float) -> bool:
        return self._free.acquire(timeout=timeout)

    def release(self) -> None:
        self._free.release()
