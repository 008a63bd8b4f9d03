"""Build the whole app: three tabs over one per-session state, a bounded queue, and launch options.

`build_app(device, limits)` returns the `gr.Blocks`; `launch_options(limits)` the keyword
arguments for `launch()` that Gradio 6 takes there (theme, css, upload cap). app.py at the
repository root is the thin command-line launcher around these two. At page load each visitor
gets a session, and the Train tab's live view the token its frame requests carry.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from . import api, links, text
from .call_rate import CallRate
from .common import AppContext
from .discriminator_tab import DiscriminatorTab
from .limits import Limits
from .live_view import FrameRoute, token_value
from .sample_tab import SampleTab
from .session import REGISTRY, close_session
from .train_tab import TrainTab
from .uploads import UploadQuota

CSS_PATH = Path(__file__).with_name("style.css")
QUEUE_POLL_S = 0.02  # how often Gradio's queue looks for new events when it has none to run


def build_app(device: str = "auto", limits: Limits | None = None,
              checkpoints_dir: str | Path = "checkpoints",
              runs_dir: str | Path | None = None) -> gr.Blocks:
    """The GAN Playground app (not launched). Nothing heavy happens until someone clicks.
    Runs are saved in `runs_dir` (default: $GP_RUNS_DIR, else a per-user cache folder)."""
    runs_dir = runs_dir or os.environ.get("GP_RUNS_DIR") or None
    ctx = AppContext(device=device, limits=limits or Limits.from_env(),
                     checkpoints_dir=Path(checkpoints_dir),
                     runs_dir=Path(runs_dir) if runs_dir else None)
    # delete_cache: every minute, drop uploads and served files (pictures, downloads) older than
    # ten minutes, so neither a long session nor a stream of uploads fills the disk.
    with gr.Blocks(title="GAN Playground", delete_cache=(60, 600)) as demo:
        # Each visitor's Session; freed by Gradio after GP_SESSION_TTL_S idle seconds.
        state = gr.State(None, time_to_live=ctx.limits.session_ttl_s,
                         delete_callback=close_session)
        # What this browser remembers across reloads: its last run (an unguessable id).
        run_key = gr.BrowserState(None, storage_key="gan-playground-run",
                                  secret=ctx.store.secret())
        gr.Markdown(text.INTRO, latex_delimiters=text.LATEX, elem_id="intro")
        with gr.Tabs() as tabs:
            with gr.Tab("Train", id="train", elem_id="tab-train") as train_tab:
                train = TrainTab(ctx, state, run_key)
            with gr.Tab("Sample", id="sample", elem_id="tab-sample") as sample_tab:
                SampleTab(ctx, state)
            with gr.Tab("Discriminator", id="discriminator",
                        elem_id="tab-discriminator") as discriminator_tab:
                DiscriminatorTab(ctx, state)
        api.register(ctx)

        def on_load(state: Any, key: Any, request: gr.Request) -> tuple:
            session = ctx.session(state, request)
            offer = train.events.offer(key)
            return (session, token_value(session), gr.update(visible=bool(offer)), offer)

        loaded = demo.load(on_load, inputs=[state, run_key],
                           outputs=[state, train.live, train.continue_box, train.continue_md],
                           api_visibility="private", show_progress="hidden")
        links.wire(ctx, train.form, train.link_note, train.copy_btn, train.link_box, tabs,
                   {"train": train_tab, "sample": sample_tab,
                    "discriminator": discriminator_tab}, loaded, train.form_fills,
                   train.lessons)

        def release(request: gr.Request) -> None:
            # The tab closed: stop its training and free its model now, not in an hour.
            REGISTRY.release(getattr(request, "session_hash", None))

        demo.unload(release)
    demo.queue(max_size=ctx.limits.queue_size,
               default_concurrency_limit=ctx.limits.quick_concurrency)
    _calm_queue(demo)
    demo.gp_context = ctx  # type: ignore[attr-defined]  # for tests and the launcher
    return demo


def _calm_queue(demo: gr.Blocks) -> None:
    """Poll Gradio's queue every QUEUE_POLL_S, not every 1 ms (its Linux default): each wake-up
    takes the interpreter from the training thread, and an idle app took 5% of a core just
    waking up (3% at 5 ms). A new event waits ~10 ms longer on average; the live view's frames
    do not go through the queue at all. Private attributes of the pinned Gradio: skipped if
    absent."""
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_POLL_S)
    if queue is not None and hasattr(queue, "progress_update_sleep_when_free"):
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, 0.05)


def launch_options(limits: Limits | None = None) -> dict[str, Any]:
    """Keyword arguments for `demo.launch()`: theme, CSS and the upload size cap."""
    limits = limits or Limits.from_env()
    return {
        "theme": gr.themes.Soft(primary_hue="violet", secondary_hue="green"),
        "css_paths": [CSS_PATH],
        "max_file_size": limits.max_upload_bytes,
        "footer_links": ["api", "gradio"],
        # The live view's frames, answered before Gradio's routing; no visitor sends more than
        # GP_CALLS_PER_MIN calls a minute, nor uploads more than GP_UPLOAD_MB in 10 minutes
        # (HTTP 429 past either).
        "app_kwargs": {"middleware": [Middleware(FrameRoute),
                                      Middleware(CallRate, per_min=limits.calls_per_min),
                                      Middleware(UploadQuota,
                                                 max_bytes=limits.upload_mb * 2**20)]},
    }
