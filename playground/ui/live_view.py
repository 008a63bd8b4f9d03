"""The Train tab's live view: a `gr.HTML` component whose JavaScript draws frames in the browser.

The JavaScript lives in `js/` (decoding, the 2D view, the image grid, the charts, the main loop)
and the vendored uPlot in `vendor/`; they are read from those files when the app is built. The
page pulls frames (`playground/frames.py` says what a frame holds) from FRAME_PATH, one at a
time: the request names the session by the token the page got at load, waits on the server
until there is something new (up to WAIT_S), and returns one frame. `FrameRoute` answers that
path in front of Gradio's own routing (an ASGI middleware given to `launch`): a dozen frames a
second through Gradio's component-server route cost the training about a sixth of its speed in
request handling alone. The token is the only key (144 random bits, handed to the page at load,
behind the login when there is one). Before any run exists the view shows the chosen dataset's
real data (`frames.preview_frame`).
"""
from __future__ import annotations

import functools
import hashlib
import html
from pathlib import Path
from typing import Any

import anyio
import brotli
import gradio as gr
import orjson

from ..data import DatasetUnavailable
from ..frames import FrameHead, make_frame, preview_frame
from .session import REGISTRY, Session

HERE = Path(__file__).parent
FRAME_PATH = "/gradio_api/gp/frame"
MAX_REQUEST_BYTES = 4096
JS_FILES = ("decode.js", "view2d.js", "grid.js", "charts.js", "live.js")
WAIT_S = 2.0  # how long a frame request waits for something new before answering "same"
MAX_TOKEN = 64
# Frame requests wait in threads of their own, so that watchers never hold the threads the
# app's events run in.
FRAME_THREADS = anyio.CapacityLimiter(64)

TEMPLATE = """
<div class="gp-live" data-frames="0" data-paints="0" data-state="none" data-step="0">
  <div class="gp-progress"><div class="gp-progress-bar"></div>
    <span class="gp-progress-text">No model yet</span></div>
  <div class="gp-status" role="status">No model yet: press Train.</div>
  <div class="gp-note"></div>
  <div class="gp-alerts"></div>
  <div class="gp-panels">
    <div class="gp-view-panel">
      <div class="gp-view-wrap"><canvas class="gp-view" width="440" height="440"></canvas>
        <div class="gp-tooltip" hidden></div></div>
      <div class="gp-layers" hidden>
        <label><input type="checkbox" data-layer="heatmap" checked> D's decision (background)</label>
        <label><input type="checkbox" data-layer="real" checked> real points</label>
        <label><input type="checkbox" data-layer="fake" checked> generated points</label>
        <label><input type="checkbox" data-layer="arrows" checked> G's gradient arrows</label>
      </div>
      <div class="gp-view-caption">Press Train: the real data and G's samples will appear here.</div>
    </div>
    <div class="gp-charts-panel">
      <div class="gp-chart gp-chart-loss" aria-label="Losses by step"></div>
      <div class="gp-chart gp-chart-score" aria-label="Mean D(x) and D(G(z)) by step"></div>
      <div class="gp-marks"></div>
      <div class="gp-chart-help">Hover for the values at a step · drag to zoom · double-click
        to zoom out again.</div>
    </div>
  </div>
</div>
"""


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    js = "\n".join((HERE / "js" / name).read_text() for name in JS_FILES)
    vendor = HERE / "vendor"
    head = (f"<style>{(vendor / 'uPlot.min.css').read_text()}</style>"
            f"<script>{(vendor / 'uPlot.iife.min.js').read_text()}</script>")
    return js, head


@functools.lru_cache(maxsize=8)
def _preview(dataset: str) -> dict[str, Any]:
    try:
        return preview_frame(dataset)
    except (DatasetUnavailable, ValueError) as e:
        head = FrameHead(0, "", 0, 0, "idle", note=f"{dataset}: {e}")
        return make_frame(head, None, None)


def _int(value: Any, default: int = -1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value < 2**53:
        return default
    return value


def frame_for(session: Session, run_id: Any, seq: int, since: int, real: bool,
              wait_s: float = WAIT_S) -> dict[str, Any]:
    """The next frame for a watcher of `session` that has (run_id, seq); {"same": True} after
    `wait_s` seconds with nothing new. Blocks: call it from a thread."""
    run = session.run
    if run is None:
        frame_seq = session.preview_seq
        if run_id == "" and seq >= frame_seq:
            with session.changed:
                session.changed.wait(wait_s)
            return {"same": True}
        return {**_preview(session.preview), "seq": frame_seq}
    if run_id != run.run_id:  # a new run since this page's last frame: start it afresh
        seq, since, real = -1, -1, True
    frame = run.frame(seq, since, real, timeout=wait_s)
    return frame if frame is not None else {"same": True}


def _encoded(frame: dict[str, Any], alerts_seen: Any, brotli_ok: bool) -> tuple[bytes, bool]:
    """A frame as JSON bytes (Brotli-compressed when the browser takes it): its alerts left out
    when the page already shows them (they change rarely, and are the wordiest part)."""
    alerts = frame.get("alerts")
    if alerts is not None:
        key = hashlib.sha1(orjson.dumps(alerts)).hexdigest()[:12]
        frame = {**frame, "alerts_key": key}
        if key == alerts_seen:
            frame.pop("alerts")
    body = orjson.dumps(frame)
    if brotli_ok and len(body) > 400:
        return brotli.compress(body, quality=4), True
    return body, False


def _answer(session: Session, data: dict[str, Any], brotli_ok: bool) -> tuple[bytes, bool]:
    run_id = data.get("run", None)
    frame = frame_for(session, run_id if isinstance(run_id, str) else None,
                      _int(data.get("seq")), _int(data.get("since")), data.get("real") is True)
    return _encoded(frame, data.get("alerts_key"), brotli_ok)


async def frame_answer(data: Any, brotli_ok: bool = False) -> tuple[bytes, bool]:
    """The answer to one frame request (see playground/ui/js/live.js): (body, compressed)."""
    if not isinstance(data, dict):
        return orjson.dumps({"error": "Bad frame request: reload the page."}), False
    token = data.get("token")
    session = REGISTRY.by_token(token) if isinstance(token, str) and \
        len(token) <= MAX_TOKEN else None
    if session is None:
        return orjson.dumps({"error": "This page's session has ended (the server restarted, "
                                      "or the tab was idle too long): reload the page to "
                                      "continue."}), False
    # Waiting, computing, encoding and compressing all happen in a thread of the frames' own.
    return await anyio.to_thread.run_sync(_answer, session, data, brotli_ok,
                                          limiter=FRAME_THREADS)


class FrameRoute:
    """ASGI middleware answering POST FRAME_PATH itself; everything else goes on to Gradio."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") != FRAME_PATH or \
                scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more and len(body) <= MAX_REQUEST_BYTES:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            data = orjson.loads(body) if len(body) <= MAX_REQUEST_BYTES else None
        except orjson.JSONDecodeError:
            data = None
        accepts = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        answer, compressed = await frame_answer(data, b"br" in accepts)
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(answer)).encode()), (b"cache-control", b"no-store")]
        if compressed:
            headers.append((b"content-encoding", b"br"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def live_view() -> gr.HTML:
    """The component (call inside the Blocks). Its value is {"token": ...}, set at page load."""
    js, head = _assets()
    return gr.HTML("", html_template=TEMPLATE, js_on_load=js, head=head, elem_id="live-view",
                   elem_classes=["gp-live-host"], apply_default_css=False)


def token_value(session: Session) -> str:
    """The live view's value for `session`: the token its frame requests carry."""
    return '{"token": "%s"}' % html.escape(session.token)

