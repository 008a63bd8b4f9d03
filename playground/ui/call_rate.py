"""A budget of calls per visitor: no visitor may send more than GP_CALLS_PER_MIN calls a minute.

Every call costs the server tens of milliseconds before any handler runs (Gradio's routing, its
queue, the event stream), refused or not, and a 2-core server has little to spare: measured by
`make bench` (reliability), one client sending refusable requests from six threads cut four
visitors' training to a fraction. This ASGI middleware counts each visitor's POSTs (queue joins,
`/gradio_api/call` and `/run` calls, uploads, cancels), except the live view's frame requests,
which are cheap and paced by the server, in a token bucket: GP_CALLS_PER_MIN a minute on
average, bursts of half a minute's worth. Past it: HTTP 429 and one sentence, answered before
Gradio sees the request. A visitor is their network address (`uploads.visitor`), so a classroom
behind one address shares one budget: raise GP_CALLS_PER_MIN for it (about 60 per student).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from .live_view import FRAME_PATH
from .uploads import MAX_VISITORS, behind_proxy, header_dict, refuse, visitor


class CallRate:
    """ASGI middleware: at most `per_min` calls a minute per visitor, bursts of per_min / 2."""

    def __init__(self, app: Any, per_min: int, trust_proxy: bool | None = None):
        self.app = app
        self.per_min = int(per_min)
        self.rate = self.per_min / 60.0  # tokens per second
        self.burst = max(1.0, self.per_min / 2.0)
        self.trust_proxy = behind_proxy() if trust_proxy is None else trust_proxy
        self._buckets: dict[str, tuple[float, float]] = {}  # visitor: (tokens, when)
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("method") == "POST" and \
                not str(scope.get("path", "")).rstrip("/").endswith(FRAME_PATH):
            who = visitor(scope, header_dict(scope), self.trust_proxy)
            if not self._take(who):
                await refuse(send, 429, f"Too many requests from your address: over this "
                                        f"server's limit of {self.per_min:,} calls a minute (set "
                                        "GP_CALLS_PER_MIN to allow more); wait a few seconds.")
                return
        await self.app(scope, receive, send)

    def _take(self, who: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            ok = tokens >= 1.0
            self._buckets[who] = (tokens - 1.0 if ok else tokens, now)  # last used: newest
            if len(self._buckets) > MAX_VISITORS:
                del self._buckets[next(iter(self._buckets))]  # the one unseen the longest
            return ok
