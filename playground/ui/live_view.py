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

from ..config import DataConfig
from ..data import DatasetUnavailable, load_dataset
from ..frames import FrameHead, make_frame, preview_frame
from ..layers import Wants, contour_payload
from .session import REGISTRY, Session

HERE = Path(__file__).parent
FRAME_PATH = "/gradio_api/gp/frame"
MAX_REQUEST_BYTES = 4096
JS_FILES = ("decode.js", "view2d.js", "layers.js", "grid.js", "charts.js", "overview.js",
            "slowmo.js", "draw.js", "pointer.js", "words.js", "paint.js", "live.js")
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
  <details class="gp-overview-box" open><summary>The model: who feeds whom, with the last
    step's numbers</summary>
  <svg class="gp-overview" viewBox="0 0 660 156" role="img"
       aria-label="The model overview graph: z to G to G(z) to D, x to D, D's verdicts, the losses">
    <defs><marker id="gp-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7"
      markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>
    <g class="gp-ov-edges">
      <path class="d-path g-path" d="M86,60 L120,60"/>
      <path class="d-path g-path" d="M170,60 L206,38"/>
      <path class="d-path g-path" d="M286,30 L330,58"/>
      <path class="d-path" d="M286,112 L330,88"/>
      <path class="d-path g-path" d="M390,62 L426,38"/>
      <path class="d-path" d="M390,84 L426,112"/>
      <path class="d-path" d="M540,30 L560,54"/><path class="d-path" d="M540,112 L560,62"/>
      <path class="g-path" d="M540,30 L560,106"/>
      <path class="d-path gp-ov-update" d="M610,46 C610,-4 360,-4 360,48"/>
      <path class="g-path gp-ov-update" d="M610,122 C610,160 145,160 145,78"/>
    </g>
    <g class="gp-ov-nodes">
      <g data-node="z"><rect x="4" y="44" width="82" height="32" rx="6"/>
        <text x="45" y="58">noise z</text><text class="gp-ov-num" x="45" y="71"
        data-ov="noise">N(0, I)</text></g>
      <g data-node="G" class="gp-ov-g"><rect x="120" y="40" width="50" height="40" rx="6"/>
        <text x="145" y="64">G</text><title>Hover: watch G turn noise into samples</title></g>
      <g data-node="fake"><rect x="206" y="16" width="80" height="30" rx="6"/>
        <text x="246" y="35">G(z): fake</text></g>
      <g data-node="real"><rect x="206" y="98" width="80" height="30" rx="6"/>
        <text x="246" y="117">x: real</text></g>
      <g data-node="D" class="gp-ov-d"><rect x="330" y="48" width="60" height="46" rx="6"/>
        <text x="360" y="75">D</text></g>
      <g data-node="d_fake"><rect x="426" y="16" width="114" height="30" rx="6"/>
        <text x="483" y="35">D(G(z)) <tspan class="gp-ov-num" data-ov="d_fake">–</tspan></text></g>
      <g data-node="d_real"><rect x="426" y="98" width="114" height="30" rx="6"/>
        <text x="483" y="117">D(x) <tspan class="gp-ov-num" data-ov="d_real">–</tspan></text></g>
      <g data-node="loss_d"><rect x="560" y="38" width="96" height="30" rx="6"/>
        <text x="608" y="57">loss_D <tspan class="gp-ov-num" data-ov="loss_d">–</tspan></text></g>
      <g data-node="loss_g"><rect x="560" y="92" width="96" height="30" rx="6"/>
        <text x="608" y="111">loss_G <tspan class="gp-ov-num" data-ov="loss_g">–</tspan></text></g>
    </g>
  </svg>
  <div class="gp-ov-legend"><span class="gp-key-d">━ D step</span>: D scores real and fake,
    its loss updates D · <span class="gp-key-g">━ G step</span>: G's fakes, D's verdict on
    them, G's loss updates G. The two alternate every iteration (lit here slowly enough to
    follow); <span class="gp-ov-step">no step yet</span>.</div>
  </details>
  <div class="gp-panels">
    <div class="gp-view-panel">
      <div class="gp-view-row">
        <div class="gp-view-wrap"><canvas class="gp-view" width="440" height="440"></canvas>
          <div class="gp-tooltip" hidden></div></div>
        <div class="gp-dstar" hidden>
          <div class="gp-dstar-maps">
            <figure><canvas class="gp-dstar-own" width="150" height="150"></canvas>
              <figcaption>D now</figcaption></figure>
            <figure><canvas class="gp-dstar-opt" width="150" height="150"></canvas>
              <figcaption>D* = p<sub>data</sub> / (p<sub>data</sub> + p<sub>g</sub>)</figcaption></figure>
          </div>
          <div class="gp-dstar-text">The optimal discriminator for today's G. Grey: neither the
            data nor G puts mass there.</div>
        </div>
      </div>
      <div class="gp-slowmo" hidden>
        <div class="gp-slowmo-head"><b class="gp-slowmo-title"></b>
          <span class="gp-slowmo-count"></span></div>
        <div class="gp-slowmo-text"></div>
        <div class="gp-slowmo-buttons">
          <button type="button" class="gp-slowmo-back">◀ Back</button>
          <button type="button" class="gp-slowmo-next">Next stage ▶</button>
          <button type="button" class="gp-slowmo-play">▶ Play (1 s a stage)</button>
          <button type="button" class="gp-slowmo-leave">Leave slow motion</button>
        </div>
      </div>
      <div class="gp-layers" hidden>
        <label><input type="checkbox" data-layer="heatmap" checked> D's decision (background)</label>
        <label><input type="checkbox" data-layer="real" checked> real points</label>
        <label><input type="checkbox" data-layer="contour"> real density contour</label>
        <label><input type="checkbox" data-layer="fake" checked> generated points</label>
        <label><input type="checkbox" data-layer="arrows" checked> G's gradient arrows</label>
        <label><input type="checkbox" data-layer="manifold"> G's manifold</label>
        <label><input type="checkbox" data-layer="dstar"> optimal D*</label>
        <span class="gp-axes" hidden>slice: z<input type="number" class="gp-axis-a" min="1"
          value="1"> × z<input type="number" class="gp-axis-b" min="1" value="2"></span>
      </div>
      <div class="gp-tools" hidden>
        <button type="button" class="gp-draw-btn">✏️ Draw data</button>
        <span class="gp-draw-help" hidden>Drag to draw strokes, click to drop a small cluster:
          each becomes points with a little jitter.
          <button type="button" class="gp-draw-undo">Undo stroke</button>
          <button type="button" class="gp-draw-clear">Clear</button></span>
        <span class="gp-follow"></span>
      </div>
      <div class="gp-view-caption">Press Train: the real data and G's samples will appear here.</div>
    </div>
    <div class="gp-charts-panel">
      <div class="gp-chart gp-chart-loss" aria-label="Losses by step"></div>
      <div class="gp-chart gp-chart-score" aria-label="Mean D(x) and D(G(z)) by step"></div>
      <div class="gp-chart gp-chart-quality" aria-label="KL and JS divergence by step" hidden></div>
      <div class="gp-quality-note"></div>
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
def _preview(data: DataConfig) -> dict[str, Any]:
    try:
        return preview_frame(data)
    except (DatasetUnavailable, ValueError) as e:
        head = FrameHead(0, "", 0, 0, "idle", note=f"{data.dataset}: {e}")
        return make_frame(head, None, None)


@functools.lru_cache(maxsize=8)
def _preview_contour(data: DataConfig) -> dict[str, Any]:
    dataset = load_dataset(data, "cpu")
    return contour_payload(dataset.toy, float(dataset.toy.lim))


def _int(value: Any, default: int = -1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value < 2**53:
        return default
    return value


def frame_for(session: Session, run_id: Any, seq: int, since: int, real: bool,
              wait_s: float = WAIT_S, wants: Wants | None = None,
              slow_seen: int = -1) -> dict[str, Any]:
    """The next frame for a watcher of `session` that has (run_id, seq); {"same": True} after
    `wait_s` seconds with nothing new. Blocks: call it from a thread."""
    run = session.run
    if run is None:
        frame_seq = session.preview_seq
        if run_id == "" and seq >= frame_seq:
            with session.changed:
                session.changed.wait(wait_s)
            return {"same": True}
        frame = {**_preview(session.preview), "seq": frame_seq}
        if wants is not None and wants.contour and frame["kind"] == "2d":
            frame["view"] = {**frame["view"], "contour": _preview_contour(session.preview)}
        return frame
    if run_id != run.run_id:  # a new run since this page's last frame: start it afresh
        seq, since, real = -1, -1, True
    frame = run.frame(seq, since, real, timeout=wait_s, wants=wants, slow_seen=slow_seen)
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
                      _int(data.get("seq")), _int(data.get("since")), data.get("real") is True,
                      wants=Wants.parse(data.get("want")), slow_seen=_int(data.get("slow")))
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

