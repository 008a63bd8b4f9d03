"""The Train tab: pick data and settings, then Train / Pause / Resume / Reset or single steps.

Training itself (a worker thread, and the event that streams views of it) is in `train_loop.py`;
this file lays out the tab and wires its events. Each session trains its own `Trainer` under its
own lock.
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from .. import plots
from ..checkpoint import save_checkpoint
from ..config import TOY_DATASETS, short_repr
from ..presets import PRESETS
from ..train import Trainer
from . import text
from .common import CONTROL, QUICK, TRAIN, AppContext, error, load_upload, \
    trainer_or_fallback, user_errors
from .form import FIELDS, FOLDER_DATASET, LIVE, build_form, config_from_form, form_values, \
    live_changes
from .session import MEASURE_EVERY, Session
from .train_loop import apply_pending, measure_quality, play, stream
from .train_view import View, metrics_markdown, progress_html, render


def _path(file: Any) -> str | None:
    """A gr.File value (a path, or an object with .name) as a path."""
    if file is None:
        return None
    return file if isinstance(file, str) else getattr(file, "name", None)


class TrainTab:
    """Builds the tab's components inside the current Blocks and wires their events."""

    def __init__(self, ctx: AppContext, state: gr.State):
        self.ctx, self.state = ctx, state
        limits = ctx.limits
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                self.preset, self.form, self.images_zip = build_form(limits, ctx.device)
            with gr.Column(scale=2, min_width=480):
                with gr.Row():
                    self.train_btn = gr.Button("▶ Train", variant="primary", elem_id="train-btn")
                    self.pause_btn = gr.Button("Pause", elem_id="pause-btn")
                    self.resume_btn = gr.Button("Resume", elem_id="resume-btn")
                    self.reset_btn = gr.Button("↺ Reset", elem_id="reset-btn")
                with gr.Row():
                    self.step_btns = {
                        "d": gr.Button("Step D only", size="sm", elem_id="step-d-btn"),
                        "g": gr.Button("Step G only", size="sm", elem_id="step-g-btn"),
                        "both": gr.Button("Step both", size="sm", elem_id="step-both-btn"),
                    }
                self.progress = gr.HTML(progress_html(0, 1, False), label="Progress",
                                        elem_id="train-progress")
                self.status = gr.Markdown("No model yet: press **Train**.", label="Status",
                                          elem_id="train-status")
                self.warning = gr.Markdown("", label="Warnings", elem_id="train-warning",
                                           elem_classes=["gp-warning"])
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        self.picture = gr.Image(label="Fixed-noise samples / 2D view",
                                                type="pil", format="png", interactive=False,
                                                elem_id="train-picture",
                                                buttons=["download", "fullscreen"])
                        self.layers = gr.CheckboxGroup(
                            [(plots.LAYER_LABELS[k], k) for k in plots.LAYERS],
                            value=list(plots.LAYERS), label="2D view layers",
                            info="Which layers the 2D view draws (2D data only).")
                    with gr.Column(scale=1, min_width=300):
                        self.loss_plot = gr.Image(label="Losses", type="pil", format="png",
                                                  interactive=False, show_label=False, elem_id="loss-plot",
                                                  buttons=["download", "fullscreen"])
                        self.score_plot = gr.Image(label="Scores", type="pil", format="png",
                                                   interactive=False, show_label=False, elem_id="score-plot",
                                                   buttons=["download", "fullscreen"])
                        self.changes = gr.Markdown("", label="Setting changes",
                                                   elem_id="train-changes")
                with gr.Row():
                    with gr.Column():
                        self.gif_btn = gr.Button("Make timelapse GIF", size="sm")
                        self.gif_file = gr.File(label="Timelapse of the fixed-noise grid",
                                                interactive=False, height=90)
                    with gr.Column():
                        self.save_btn = gr.Button("Save checkpoint", size="sm",
                                                  elem_id="save-btn")
                        self.ckpt_out = gr.File(label="Checkpoint (.safetensors)",
                                                interactive=False, elem_id="ckpt-out", height=90)
                    with gr.Column():
                        self.measure_btn = gr.Button("Measure quality", size="sm",
                                                     elem_id="measure-btn")
                        self.measure_every = gr.Number(
                            MEASURE_EVERY, precision=0, minimum=0, maximum=limits.max_steps,
                            label="Measure every N steps", elem_id="measure-every",
                            info="While training; 0 = only with the button. A measurement "
                                 "takes ~1 s for digits, ~0.1 s for 2D.")
                        self.metrics = gr.Markdown("", label="Quality", elem_id="train-metrics")
                with gr.Row():
                    with gr.Column():
                        self.ckpt_in = gr.File(label="Upload a checkpoint to continue training",
                                               file_types=[".safetensors"], elem_id="ckpt-in",
                                               height=140)
                        self.load_btn = gr.Button("Load and continue", size="sm")
                with gr.Accordion("What am I looking at?", open=True):
                    gr.Markdown(text.TRAIN_HELP, latex_delimiters=text.LATEX)
        self._wire()

    # ------------------------------------------------------------------ outputs
    @property
    def view_outputs(self) -> list[gr.Component]:
        return [self.state, self.progress, self.status, self.warning, self.picture,
                self.loss_plot, self.score_plot, self.changes, self.metrics]

    def _updates(self, session: Session, view: View) -> tuple:
        folder = self.ctx.session_dir(session)
        pictures = [view_file(getattr(view, kind), folder, kind)
                    for kind in ("picture", "losses", "scores")]
        return (session, view.progress_html, view.status, view.warning, *pictures, view.changes,
                view.quality)

    def _render(self, session: Session, note: str = "") -> tuple:
        with session.lock:
            return self._updates(session, render(session, note, session.layers))

    # ------------------------------------------------------------------ helpers
    def _new_trainer(self, form: dict[str, Any], images_zip: Any) -> Trainer:
        path = _path(images_zip)
        if form.get("dataset") == FOLDER_DATASET and path:
            self.ctx.limits.check_upload(path, "zip of images")
        config = config_from_form(form, path)
        self.ctx.limits.check_config(config)
        trainer, note = trainer_or_fallback(config)  # loads the data now
        if note:  # a torchvision set missing here: the bundled digits, and a visible warning
            gr.Warning(note)
        return trainer

    # ------------------------------------------------------------------ events
    def _wire(self) -> None:
        ctx, form, state = self.ctx, self.form, self.state
        limits = ctx.limits
        form_kwargs = dict(form)
        live_kwargs = {name: form[name] for name in LIVE}

        @user_errors
        def train(state: Any, images_zip: Any = None, request: gr.Request = None,
                  **settings: Any):
            session = ctx.session(state, request)
            trainer = self._new_trainer(settings, images_zip)
            session.stop.set()  # any loop of this session ends at its next chunk
            session.set_trainer(trainer)
            yield from stream(session, self._updates)

        @user_errors
        def resume(state: Any, request: gr.Request):
            session = ctx.session(state, request)
            with session.lock:
                trainer = session.trainer
                if trainer is None:
                    raise error("Nothing to resume yet: press Train to start a run.")
                apply_pending(session)
                target = trainer.config.train.steps
                if trainer.step_count >= target:
                    raise error(f"The run is at its step target ({target:,}): raise the step "
                                "target to keep training.")
            yield from stream(session, self._updates)

        def pause(state: Any, request: gr.Request) -> None:
            ctx.session(state, request).stop.set()

        @user_errors
        def reset(state: Any, images_zip: Any = None, request: gr.Request = None,
                  **settings: Any):
            session = ctx.session(state, request)
            trainer = self._new_trainer(settings, images_zip)
            session.stop.set()
            session.set_trainer(trainer)
            return self._render(session, "Reset: a new, untrained model.")

        def single(which: str):
            @user_errors
            def step(state: Any, images_zip: Any = None, request: gr.Request = None,
                     **settings: Any):
                session = ctx.session(state, request)
                session.stop.set()  # a single step pauses a running loop first
                with session.lock:
                    if session.trainer is None:
                        session.set_trainer(self._new_trainer(settings, images_zip))
                    apply_pending(session)
                    limits.check_run_length(session.trainer.step_count, 1)
                    records = play(session.trainer, 1, which)
                    if session.trainer.diverged:
                        session.warning = records[-1].event
                label = {"d": "D only", "g": "G only", "both": "D then G"}[which]
                return self._render(session, f"One step: {label}.")
            return step

        @user_errors
        def live_edit(state: Any, request: gr.Request, **values: Any) -> str:
            session = ctx.session(state, request)
            with session.lock:
                trainer = session.trainer
                if trainer is None:
                    return ""
                changes = live_changes(values)
                current = trainer.config.train
                diff = {k: v for k, v in changes.items() if getattr(current, k) != v}
                if not diff:
                    return ""
                # Validate now, so a bad value is reported at once rather than mid-run.
                dataclasses.replace(trainer.config, train=dataclasses.replace(current, **diff))
                limits.check_train_fields(diff)
                if session.running:
                    session.pending.update(diff)
                    return "Will apply at the next step: " + _describe(diff)
                trainer.update(**diff)
                return "Applied to the model (marked on the curves at the next refresh): " + \
                    _describe(diff)

        def set_layers(state: Any, layers: list[str], request: gr.Request):
            session = ctx.session(state, request)
            session.layers = tuple(k for k in plots.LAYERS if k in (layers or []))
            if session.running or session.trainer is None or not session.trainer.is_2d:
                return gr.skip()
            with session.lock:
                return plots.progress_image(session.trainer, session.layers)

        @user_errors
        def save(state: Any, request: gr.Request) -> str:
            session = ctx.session(state, request)
            with session.lock:
                trainer = session.trainer
                if trainer is None:
                    raise error("No model to save yet: train one first.")
                cfg = trainer.config
                name = f"{cfg.data.dataset}-{cfg.model.arch}-step{trainer.step_count}.safetensors"
                return str(save_checkpoint(trainer, ctx.session_dir(session) / name))

        @user_errors
        def load(state: Any, checkpoint: Any = None, request: gr.Request = None):
            path = _path(checkpoint)
            if not path:
                raise error("Choose a .safetensors checkpoint to upload first.")
            limits.check_upload(path, "checkpoint")
            trainer = load_upload(path, ctx.device, limits)  # no server paths; size checked first
            limits.check_config(trainer.config)
            session = ctx.session(state, request)
            session.stop.set()
            session.set_trainer(trainer)
            note = f"Loaded a checkpoint at step {trainer.step_count:,}: press Resume to continue."
            return (*self._render(session, note), *form_values(trainer.config))

        @user_errors
        def timelapse(state: Any, request: gr.Request) -> str:
            session = ctx.session(state, request)
            with session.lock:
                data = session.timelapse.gif(
                    lambda img, step: plots.caption(img, f"step {step:,}"))
            path = ctx.session_dir(session) / "timelapse.gif"
            path.write_bytes(data)
            return str(path)

        @user_errors
        def measure(state: Any, request: gr.Request) -> str:
            session = ctx.session(state, request)
            with session.lock:
                if session.trainer is None:
                    raise error("No model to measure yet: train one first.")
                result = measure_quality(session)
            return metrics_markdown(result)

        @user_errors
        def set_measure_every(state: Any, every: Any, request: gr.Request) -> None:
            if isinstance(every, bool) or not isinstance(every, (int, float)) or \
                    not float(every).is_integer() or not 0 <= every <= limits.max_steps:
                raise error(f"measure every={short_repr(every)} must be a whole number of steps "
                            f"from 0 (off) to {limits.max_steps}")
            ctx.session(state, request).measure_every = int(every)

        def fill_preset(name: str) -> list[Any]:
            if name not in PRESETS:
                raise error(f"preset {name!r} is not one of: {', '.join(PRESETS)}")
            config = PRESETS[name]
            if config.train.device == "auto":  # keep the app's --device as the default
                config = config.replace(device=form["device"].value)
            return form_values(config)

        def dataset_changed(dataset: str):
            own = dataset == FOLDER_DATASET
            return (gr.File(visible=own), gr.Number(visible=own), gr.Radio(visible=own),
                    gr.CheckboxGroup(visible=dataset in TOY_DATASETS))

        view = self.view_outputs
        train_limit = limits.train_concurrency
        # Train and Resume first stop this session's running loop (instantly, as a control),
        # so the new loop can take its training slot at once instead of queueing behind it.
        def stop_running(state: Any, request: gr.Request) -> None:
            ctx.session(state, request).stop.set()

        stop_first = dict(fn=stop_running, inputs=[state], outputs=None, api_visibility="private",
                          concurrency_id=CONTROL, concurrency_limit=None, show_progress="hidden")
        self.train_btn.click(**stop_first).then(
            train, inputs=[state, self.images_zip], inputs_kwargs=form_kwargs, outputs=view,
            api_name="train", concurrency_id=TRAIN, concurrency_limit=train_limit,
            show_progress="hidden")
        self.resume_btn.click(**stop_first).then(
            resume, inputs=[state], outputs=view, api_name="resume", concurrency_id=TRAIN,
            concurrency_limit=train_limit, show_progress="hidden")
        # Not queued: Pause must work even when the queue is full (GP_QUEUE_SIZE).
        self.pause_btn.click(pause, inputs=[state], outputs=None, api_name="pause", queue=False)
        self.reset_btn.click(reset, inputs=[state, self.images_zip], inputs_kwargs=form_kwargs,
                             outputs=view, api_name="reset", concurrency_id=QUICK)
        for which, btn in self.step_btns.items():
            btn.click(single(which), inputs=[state, self.images_zip], inputs_kwargs=form_kwargs,
                      outputs=view, api_name=f"step_{which}", concurrency_id=QUICK)
        # Numbers apply when you press Enter or leave the field (not at every keystroke, which
        # would send half-typed values); menus apply when you pick an entry.
        triggers = [t for name in LIVE for t in (
            [form[name].input] if isinstance(form[name], gr.Dropdown)
            else [form[name].submit, form[name].blur])]
        gr.on(triggers, live_edit, inputs=[state], inputs_kwargs=live_kwargs,
              outputs=[self.changes], api_name="edit", concurrency_id=CONTROL,
              concurrency_limit=None, show_progress="hidden")
        self.layers.change(set_layers, inputs=[state, self.layers], outputs=[self.picture],
                           api_visibility="undocumented", concurrency_id=CONTROL,
                           concurrency_limit=None, show_progress="hidden")
        self.save_btn.click(save, inputs=[state], outputs=[self.ckpt_out],
                            api_name="save_checkpoint", concurrency_id=QUICK)
        self.load_btn.click(load, inputs=[state, self.ckpt_in],
                            outputs=view + [form[f] for f in FIELDS],
                            api_name="load_checkpoint", concurrency_id=QUICK)
        self.gif_btn.click(timelapse, inputs=[state], outputs=[self.gif_file],
                           api_name="timelapse", concurrency_id=QUICK)
        self.measure_btn.click(measure, inputs=[state], outputs=[self.metrics],
                               api_name="measure", concurrency_id=QUICK)
        gr.on([self.measure_every.submit, self.measure_every.blur], set_measure_every,
              inputs=[state, self.measure_every], outputs=None, api_name="measure_every",
              concurrency_id=CONTROL, concurrency_limit=None, show_progress="hidden")
        self.preset.change(fill_preset, inputs=[self.preset], outputs=[form[f] for f in FIELDS],
                           api_name="preset", api_visibility="undocumented",
                           concurrency_id=CONTROL, concurrency_limit=None)
        form["dataset"].change(dataset_changed, inputs=[form["dataset"]],
                               outputs=[self.images_zip, form["image_size"], form["channels"],
                                        self.layers],
                               api_visibility="private", concurrency_id=CONTROL,
                               concurrency_limit=None, show_progress="hidden")


_FILE_SLOTS = 4  # files per picture kind and session, reused in turn
_file_counter = itertools.count()


def view_file(image: Image.Image | None, folder: Path, kind: str) -> str | None:
    """`image` written to a file for an Image output; its path.

    Gradio would encode a PIL image itself as a PNG at zlib level 6: for the three pictures of a
    live view that was the largest single cost of a refresh (~30 ms of ~60). The charts are PNGs
    at level 1 (~16 KB each: flat colours compress well). A colour progress picture (the 2D
    view's smooth heatmap, colour digits) is a JPEG at quality 95 without chroma subsampling:
    no visible difference, the same bytes as such a PNG, 1.4 ms rather than 10 to encode. A
    greyscale grid stays a lossless PNG (one channel: 4 ms, 60 KB). Gradio copies the file into
    its cache as it sends the view, so a few slots per kind are enough."""
    if image is None:
        return None
    jpeg = kind == "picture" and image.mode == "RGB"
    path = folder / f"view-{kind}-{next(_file_counter) % _FILE_SLOTS}.{'jpg' if jpeg else 'png'}"
    if jpeg:
        image.save(path, format="JPEG", quality=95, subsampling=0)
    else:
        image.save(path, format="PNG", compress_level=1)
    return str(path)


def _describe(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in changes.items())

