"""The Train tab: pick data and settings, then Train / Pause / Resume / Reset or single steps.

Training is a generator event: it plays a short chunk of steps (about CHUNK_S seconds), renders
the view and yields it, so the page refreshes several times a second and Pause takes effect at
the next chunk. Each session trains its own `Trainer` under its own lock; live edits of the
training fields wait in `session.pending` and apply at the next chunk.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import gradio as gr

from .. import plots
from ..checkpoint import save_checkpoint
from ..config import TOY_DATASETS
from ..presets import PRESETS
from ..train import StepRecord, Trainer
from . import text
from .common import CONTROL, QUICK, TRAIN, AppContext, error, gpu, load_upload, \
    trainer_or_fallback, user_errors
from .form import FIELDS, FOLDER_DATASET, LIVE, build_form, config_from_form, form_values, \
    live_changes
from .session import Session
from .train_view import View, metrics_markdown, progress_html, render

TARGET_PERIOD_S = 0.4  # aim for 2.5 refreshes a second...
CHUNK_S = 0.25  # ...with at most this much training between two refreshes,
MIN_CHUNK_S = 0.05  # and at least this much, however slow drawing and sending the view gets,
MAX_VIEW_SHARE = 0.07  # unless the view would then take more than this share of the time: then
MAX_PERIOD_S = 0.5  # a costly view refreshes less often, but never under twice a second (the
# product's promise, issue 3); `make bench` measures what that costs (streaming overhead).
MAX_CHUNK = 10_000


@gpu(duration=30)
def _play(trainer: Trainer, n: int, which: str = "both") -> list[StepRecord]:
    """n steps: the unit of GPU time on a ZeroGPU Space."""
    return trainer.step(n, which)


@gpu(duration=30)
def _evaluate(evaluate_generator: Any, trainer: Trainer) -> dict[str, Any]:
    return evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model,
                              device=trainer.device)


def _path(file: Any) -> str | None:
    """A gr.File value (a path, or an object with .name) as a path."""
    if file is None:
        return None
    return file if isinstance(file, str) else getattr(file, "name", None)


def _frame(trainer: Trainer, view: View):
    # The picture just shown (the layered 2D view, or the enlarged fixed-noise grid, which the
    # timelapse shrinks back): drawing the grid again would cost a second pass of G.
    return lambda: view.picture


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
                self.loss_plot, self.score_plot, self.changes]

    def _updates(self, session: Session, view: View) -> tuple:
        return (session, view.progress_html, view.status, view.warning, view.picture,
                view.losses, view.scores, view.changes)

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

    def _loop(self, session: Session):
        """Train in chunks until the step target, a Pause, a divergence or a closed tab."""
        run = session.begin_loop()
        try:
            yield self._render(session, "Training…")
            note = ""
            overhead = 0.0  # seconds of the last refresh cycle not spent training
            while session.should_continue(run):
                cycle_start = time.monotonic()
                with session.lock:
                    trainer = session.trainer
                    if trainer is None:
                        break
                    note = self._apply_pending(session)
                    remaining = trainer.config.train.steps - trainer.step_count
                    if remaining <= 0:
                        break
                    # Drawing and sending the view take time too (more on a busy machine):
                    # train for what is left of the refresh period, within [MIN, MAX] chunk,
                    # but long enough that the view costs at most MAX_VIEW_SHARE of the time.
                    budget = max(MIN_CHUNK_S, min(CHUNK_S, TARGET_PERIOD_S - overhead),
                                 min(overhead * (1 - MAX_VIEW_SHARE) / MAX_VIEW_SHARE,
                                     MAX_PERIOD_S - overhead))
                    guess = budget / session.seconds_per_step if session.seconds_per_step else 1
                    n = int(max(1, min(remaining, MAX_CHUNK, guess)))
                    start = time.monotonic()
                    records = _play(trainer, n)
                    trained = time.monotonic() - start
                    session.seconds_per_step = trained / n
                    if trainer.diverged:
                        session.warning = records[-1].event
                        gr.Warning(session.warning)
                        break
                    view = render(session, note or "Training…", session.layers)
                    session.timelapse.offer(trainer.step_count, _frame(trainer, view))
                yield self._updates(session, view)  # resumes once Gradio has sent the view
                overhead = time.monotonic() - cycle_start - trained
            session.end_loop(run)
            final_view = None
            with session.lock:  # never yield while holding the lock: the generator may resume
                trainer = session.trainer  # on another thread, which could not release it
                if trainer is not None and run == session.run_id:
                    self._apply_pending(session)
                    done = trainer.step_count >= trainer.config.train.steps
                    final = ("Diverged: see the warning." if trainer.diverged else
                             "Done: reached the step target." if done else "Paused.")
                    final_view = render(session, final, session.layers)
                    session.timelapse.offer(trainer.step_count, _frame(trainer, final_view))
            if final_view is not None:
                yield self._updates(session, final_view)
        finally:
            session.end_loop(run)

    def _apply_pending(self, session: Session) -> str:
        changes = session.take_pending()
        if not changes or session.trainer is None:
            return ""
        changed = session.trainer.update(**changes)
        return ("Applied: " + ", ".join(f"{k} = {v}" for k, v in changed.items())) if changed \
            else ""

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
            yield from self._loop(session)

        @user_errors
        def resume(state: Any, request: gr.Request):
            session = ctx.session(state, request)
            with session.lock:
                trainer = session.trainer
                if trainer is None:
                    raise error("Nothing to resume yet: press Train to start a run.")
                self._apply_pending(session)
                target = trainer.config.train.steps
                if trainer.step_count >= target:
                    raise error(f"The run is at its step target ({target:,}): raise the step "
                                "target to keep training.")
            yield from self._loop(session)

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
                    self._apply_pending(session)
                    limits.check_run_length(session.trainer.step_count, 1)
                    records = _play(session.trainer, 1, which)
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
            try:
                from ..metrics import evaluate_generator
            except ImportError:
                raise error("Quality metrics are not available in this version.") from None
            session = ctx.session(state, request)
            with session.lock:
                trainer = session.trainer
                if trainer is None:
                    raise error("No model to measure yet: train one first.")
                result = _evaluate(evaluate_generator, trainer)
                result["step"] = trainer.step_count
                session.metrics.append(result)
            return metrics_markdown(result)

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
        self.preset.change(fill_preset, inputs=[self.preset], outputs=[form[f] for f in FIELDS],
                           api_name="preset", api_visibility="undocumented",
                           concurrency_id=CONTROL, concurrency_limit=None)
        form["dataset"].change(dataset_changed, inputs=[form["dataset"]],
                               outputs=[self.images_zip, form["image_size"], form["channels"],
                                        self.layers],
                               api_visibility="private", concurrency_id=CONTROL,
                               concurrency_limit=None, show_progress="hidden")


def _describe(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in changes.items())

