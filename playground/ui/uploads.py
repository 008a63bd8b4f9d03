"""A quota on Gradio's upload route: no visitor may upload more than GP_UPLOAD_MB in 10 minutes.

Gradio caps each uploaded file (`max_file_size`, GP_MAX_UPLOAD_MB) but not how many a visitor
sends, and keeps them in its cache: five 49 MB files in a second were all accepted. This ASGI
middleware (given to Gradio's FastAPI app through `launch(app_kwargs=...)`) counts the bytes
each visitor posts to `/gradio_api/upload` over a sliding window and answers HTTP 429 with one
sentence once the quota is used up. A visitor is their network address. Behind a proxy (a
Hugging Face Space, where SPACE_ID is set, or GP_TRUST_PROXY=1) every request comes from the
proxy, so the visitor is the address the proxy added last to X-Forwarded-For; anywhere else that
header is the visitor's own words and is ignored (a new one with each upload would reset the
quota). The files themselves are dropped from the cache after ten minutes (`build_app`'s
`delete_cache`).
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from typing import Any

WINDOW_S = 600.0
UPLOAD_PATH = "/gradio_api/upload"
MAX_VISITORS = 10_000  # visitors remembered at once (the oldest are forgotten first)


class UploadQuota:
    """ASGI middleware: at most `max_bytes` of uploads per visitor in WINDOW_S seconds."""

    def __init__(self, app: Any, max_bytes: int, window_s: float = WINDOW_S,
                 trust_proxy: bool | None = None):
        self.app = app
        self.max_bytes = int(max_bytes)
        self.window_s = float(window_s)
        self.trust_proxy = behind_proxy() if trust_proxy is None else trust_proxy
        self._seen: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                not str(scope.get("path", "")).rstrip("/").endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        headers = header_dict(scope)
        length = headers.get("content-length", "")
        if not length.isdigit():
            await refuse(send, 411, "Uploads must say how large they are (Content-Length).")
            return
        if not self._take(visitor(scope, headers, self.trust_proxy), int(length)):
            mb = self.max_bytes // 2**20
            await refuse(send, 429, f"Uploads over this server's limit of {mb:,} MB in "
                                     f"{self.window_s / 60:.0f} minutes (set GP_UPLOAD_MB to "
                                     "allow more): try again later.")
            return
        await self.app(scope, receive, send)

    def _take(self, who: str, size: int) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(who, deque())
            while seen and now - seen[0][0] > self.window_s:
                seen.popleft()
            if sum(n for _, n in seen) + size > self.max_bytes:
                return False
            seen.append((now, size))
            if len(self._seen) > MAX_VISITORS:
                for key in list(self._seen)[:len(self._seen) - MAX_VISITORS]:
                    del self._seen[key]
            return True


def visitor(scope: dict, headers: dict[str, str], trust_proxy: bool) -> str:
    """Who sent a request: its network address, or behind a proxy the one the proxy added."""
    who = (scope.get("client") or ("?",))[0]
    if trust_proxy:
        who = headers.get("x-forwarded-for", "").split(",")[-1].strip() or who
    return who


def header_dict(scope: dict) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def behind_proxy() -> bool:
    """Whether requests reach the app through a proxy that sets X-Forwarded-For."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("GP_TRUST_PROXY", "") == "1"


async def refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
