"""The Train tab: the buttons and the live view first, the settings beside (or, on a phone, below).

What the buttons do is in `train_events.py` (runs) and `train_files.py` (files); the live view
is `live_view.py`. This file lays the tab out and wires its events. Every event runs without
Gradio's progress badges; a refused action is a toast plus one sentence next to the control
that caused it (`errors.py`), and changes nothing else on the page.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import POINTS_DATASET, TOY_DATASETS, DataConfig
from ..points_io import read_points_csv
from ..presets import PRESETS
from . import text
from .common import CONTROL, QUICK, AppContext, error, on_errors
from .errors import ErrorSlots
from .compare import ComparePanel
from .form import (CUSTOM, FIELDS, FOLDER_DATASET, LIVE, POINTS_EMPTY, build_form, form_values,
                   parse_points, points_data, points_note, points_text)
from .lesson_card import LessonCard
from .live_view import live_view
from .session import MEASURE_EVERY
from .train_events import TrainEvents, file_path
from .train_files import TrainFiles

FOLLOW = "follow"  # the concurrency group of events that follow a run (they train nothing)
QUIET = dict(show_progress="hidden")


class TrainTab:
    """Builds the tab's components inside the current Blocks and wires their events."""

    def __init__(self, ctx: AppContext, state: gr.State, run_key: gr.BrowserState):
        self.ctx, self.state, self.run_key = ctx, state, run_key
        self.events = TrainEvents(ctx)
        self.files = TrainFiles(ctx, self.events)
        self.slots = ErrorSlots()
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                self._buttons()
                self.live = live_view()
                self.status = gr.Markdown("No model yet: press **Train** (or a single step) to "
                                          "start a run.", elem_id="train-status")
                self.metrics = gr.Markdown("*Quality*: not measured yet.", elem_id="train-metrics")
                self.summary = gr.JSON(visible=False, elem_id="train-summary")
                self._file_row()
                self.compare = ComparePanel()
                self.slots.notice("compare", self.compare.note)
            with gr.Column(scale=2, min_width=320, elem_id="train-settings"):
                self.lessons = LessonCard()
                # A link carries these settings (playground/ui/links.py).
                self.link_note = gr.Markdown("", visible=False, elem_id="link-note",
                                             elem_classes=["gp-notice"])
                with gr.Row(elem_id="link-row", equal_height=True):
                    self.copy_btn = gr.Button("Copy link", size="sm", elem_id="copy-link-btn",
                                              scale=0, min_width=110)
                    self.link_box = gr.Textbox(visible=False, show_label=False, interactive=False,
                                               elem_id="link-box", scale=3, lines=1,
                                               buttons=["copy"])
                self.form = build_form(ctx.limits, ctx.device)
                more = self.form.advanced
                with more:
                    self.measure_every = gr.Number(
                        MEASURE_EVERY, label="Measure every N steps", elem_id="measure-every",
                        info="While training; 0 = only with the button. A measurement takes "
                             "~1 s for digits, ~0.1 s for 2D.")
                self.changes = gr.Markdown("", elem_id="train-changes")
                self.slots.notice("changes", self.changes)
                self.good_btn = gr.Button("Back to the last good settings", size="sm",
                                          elem_id="good-settings-btn", visible=False)
        with gr.Accordion("What am I looking at?", open=False, elem_id="train-help"):
            gr.Markdown(text.TRAIN_HELP, latex_delimiters=text.LATEX)
        for name in FIELDS:
            self.slots.field(name, self.form[name], self.form.hints[name],
                             self.form.boxes.get(name))
        self.slots.aliases["points"] = "dataset"  # the points live under the dataset menu
        self.slots.notice("points", self.form.points.alert)
        self.slots.field("measure_every", self.measure_every, self.measure_every.info, more)
        self._wire()

    def _buttons(self) -> None:
        with gr.Row(elem_id="train-buttons"):
            self.train_btn = gr.Button("▶ Train", variant="primary", elem_id="train-btn",
                                       min_width=90)
            self.pause_btn = gr.Button("Pause", elem_id="pause-btn", min_width=80)
            self.resume_btn = gr.Button("Resume", elem_id="resume-btn", min_width=80)
            self.reset_btn = gr.Button("↺ Reset", elem_id="reset-btn", min_width=80)
        with gr.Row(elem_id="step-buttons"):
            self.step_btns = {
                "d": gr.Button("Step D only", size="sm", elem_id="step-d-btn", min_width=80),
                "g": gr.Button("Step G only", size="sm", elem_id="step-g-btn", min_width=80),
                "both": gr.Button("Step both", size="sm", elem_id="step-both-btn", min_width=80),
            }
            self.slow_btn = gr.Button("Step, slowly", size="sm", elem_id="step-slow-btn",
                                      min_width=110)
        self.actions_note = gr.Markdown("", elem_id="train-actions-note",
                                        elem_classes=["gp-notice"])
        self.slots.notice("actions", self.actions_note)
        with gr.Group(visible=False, elem_id="continue-box") as self.continue_box:
            self.continue_md = gr.Markdown("", elem_id="continue-text")
            with gr.Row():
                self.continue_btn = gr.Button("Continue this run", variant="primary", size="sm",
                                              elem_id="continue-btn")
                self.dismiss_btn = gr.Button("Start afresh", size="sm", elem_id="dismiss-btn")

    def _file_row(self) -> None:
        with gr.Row(elem_id="file-buttons"):
            self.measure_btn = gr.Button("Measure quality", size="sm", elem_id="measure-btn")
            self.save_btn = gr.Button("Save checkpoint", size="sm", elem_id="save-btn")
            self.picture_btn = gr.Button("Picture (PNG)", size="sm", elem_id="picture-btn")
            self.csv_btn = gr.Button("Curves (CSV)", size="sm", elem_id="csv-btn")
            self.gif_btn = gr.Button("Timelapse (GIF)", size="sm", elem_id="gif-btn")
            self.code_btn = gr.Button("Show the code", size="sm", elem_id="code-btn")
        self.files_note = gr.Markdown("", elem_id="train-files-note", elem_classes=["gp-notice"])
        self.slots.notice("files", self.files_note)
        with gr.Row(equal_height=False):
            self.download = gr.File(label="Download", interactive=False, visible=False,
                                    elem_id="train-download", height=90)
            self.gif_view = gr.Image(label="Timelapse of the run", type="filepath",
                                     interactive=False, visible=False, elem_id="timelapse-view",
                                     buttons=["download", "fullscreen"])
        self.code_view = gr.Code(label="The run as one Python file (python run.py trains it)",
                                 language="python",
                                 interactive=False, visible=False, elem_id="code-view",
                                 max_lines=30)
        with gr.Accordion("Continue from a checkpoint file", open=False, elem_id="load-box"):
            self.ckpt_in = gr.File(label="A .safetensors checkpoint (saved here or by "
                                   "`playground train`)", file_types=[".safetensors"],
                                   elem_id="ckpt-in", height=120)
            self.load_btn = gr.Button("Load it", size="sm", elem_id="load-btn")
            self.load_note = gr.Markdown("", elem_id="train-load-note", elem_classes=["gp-notice"])
            self.slots.notice("load", self.load_note)

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        ctx, ev, files, state, form = self.ctx, self.events, self.files, self.state, self.form
        run_out = [state, self.status, self.metrics, self.summary, self.run_key, self.good_btn]
        fields = [form[f] for f in FIELDS]
        form_in = dict(inputs=[state, form.images_zip], inputs_kwargs=dict(form.controls))

        def wire(dep: Any) -> Any:
            return self.slots.wire(dep)

        # A click (or an edit) clears the sentences of the last error first.
        self.slots.clear_on(*(b.click for b in (self.train_btn, self.resume_btn, self.reset_btn,
                                                 self.continue_btn, self.good_btn,
                                                 self.measure_btn, self.save_btn,
                                                 self.picture_btn, self.csv_btn, self.gif_btn,
                                                 self.load_btn, self.slow_btn,
                                                 *self.step_btns.values())))

        wire(self.train_btn.click(
            on_errors("actions")(ev.train), **form_in, outputs=run_out, api_name="train",
            concurrency_id=FOLLOW, concurrency_limit=None, trigger_mode="multiple", **QUIET))
        wire(self.resume_btn.click(
            on_errors("actions")(ev.resume), inputs=[state], outputs=run_out, api_name="resume",
            concurrency_id=FOLLOW, concurrency_limit=None, trigger_mode="multiple", **QUIET))
        # Not queued: Pause must work even when the queue is full (GP_QUEUE_SIZE).
        self.pause_btn.click(ev.pause, inputs=[state], outputs=None, api_name="pause",
                             queue=False, **QUIET)
        wire(self.reset_btn.click(on_errors("actions")(ev.reset), **form_in, outputs=run_out,
                                  api_name="reset", concurrency_id=QUICK, **QUIET))
        for which, btn in self.step_btns.items():
            wire(btn.click(on_errors("actions")(ev.step(which)), **form_in, outputs=run_out,
                           api_name=f"step_{which}", concurrency_id=QUICK,
                           trigger_mode="multiple", **QUIET))
        wire(self.slow_btn.click(on_errors("actions")(ev.step_slowly), **form_in, outputs=run_out,
                                 api_name="step_slowly", concurrency_id=QUICK, **QUIET))
        # Numbers apply when you press Enter or leave the field (not at every keystroke, which
        # would send half-typed values); menus and boxes when you pick. Each event applies the
        # field that sent it (ev.edit), so each must run with its own sender: "multiple", since
        # "always_last" runs a trigger that comes while one is in flight later under the first
        # one's sender (Gradio 6 re-dispatches the first event), and that field's edit was lost.
        triggers = [t for name in LIVE for t in (
            [form[name].input] if isinstance(form[name], gr.Dropdown)
            else [form[name].submit, form[name].blur])]
        wire(gr.on(triggers, on_errors("changes")(ev.edit), inputs=[state],
                   inputs_kwargs={name: form[name] for name in LIVE}, outputs=[self.changes],
                   api_name="edit", concurrency_id=CONTROL, concurrency_limit=None,
                   trigger_mode="multiple", **QUIET))
        # The events that fill the form by themselves (links.py writes the URL after each).
        self.form_fills = []
        self.form_fills.append(wire(self.good_btn.click(
            on_errors("changes")(ev.good_settings), inputs=[state],
            outputs=[self.changes] + fields + [self.status], api_name="good_settings",
            concurrency_id=CONTROL, concurrency_limit=None, **QUIET)))
        wire(self.measure_btn.click(on_errors("files")(ev.measure), inputs=[state],
                                    outputs=[self.metrics], api_name="measure",
                                    concurrency_id=QUICK, **QUIET))
        wire(gr.on([self.measure_every.submit, self.measure_every.blur],
                   on_errors("files")(ev.measure_every), inputs=[state, self.measure_every],
                   outputs=None, api_name="measure_every", concurrency_id=CONTROL,
                   concurrency_limit=None, **QUIET))
        show_download = dict(fn=lambda: gr.File(visible=True), inputs=None,
                             outputs=[self.download], queue=False, api_visibility="private",
                             **QUIET)
        for btn, fn, name in ((self.save_btn, files.save, "save_checkpoint"),
                              (self.picture_btn, files.picture, "picture"),
                              (self.csv_btn, files.curves, "curves")):
            wire(btn.click(on_errors("files")(fn), inputs=[state], outputs=[self.download],
                           api_name=name, concurrency_id=QUICK, **QUIET)).success(**show_download)
        wire(self.gif_btn.click(on_errors("files")(files.timelapse), inputs=[state],
                                outputs=[self.download, self.gif_view], api_name="timelapse",
                                concurrency_id=QUICK, **QUIET)
             ).success(lambda: (gr.File(visible=True), gr.Image(visible=True)), None,
                       [self.download, self.gif_view], queue=False, api_visibility="private",
                       **QUIET)
        wire(self.code_btn.click(on_errors("files")(files.code), **form_in,
                                 outputs=[self.download, self.code_view], api_name="show_code",
                                 concurrency_id=QUICK, **QUIET)
             ).success(lambda: (gr.File(visible=True), gr.Code(visible=True)), None,
                       [self.download, self.code_view], queue=False, api_visibility="private",
                       **QUIET)
        wire(self.continue_btn.click(
            on_errors("actions")(ev.continue_run), inputs=[state, self.run_key],
            outputs=run_out + [self.continue_box], api_name="continue_run", concurrency_id=FOLLOW,
            concurrency_limit=None, trigger_mode="multiple", **QUIET))
        for btn in (self.dismiss_btn, self.train_btn, self.reset_btn):
            btn.click(lambda: gr.update(visible=False), None, [self.continue_box], queue=False,
                      api_visibility="private", **QUIET)
        self.form_fills.append(wire(self.load_btn.click(
            on_errors("load")(files.load), inputs=[state, self.ckpt_in],
            outputs=run_out + [form.preset] + fields + [form.points.box],
            api_name="load_checkpoint",
            concurrency_id=QUICK, **QUIET)))

        def fill_preset(name: str, state: Any, request: gr.Request) -> list[Any]:
            if name == CUSTOM:
                return [gr.skip()] * len(FIELDS)
            if name not in PRESETS:
                raise error(f"preset {name!r} is not one of: {', '.join(PRESETS)}")
            config = PRESETS[name]
            if config.train.device == "auto":  # keep the app's --device as the default
                config = config.replace(device=form["device"].value)
            ctx.session(state, request).set_preview(config.data.dataset)
            return form_values(config)

        self.form_fills.append(form.preset.input(
            fill_preset, inputs=[form.preset, state], outputs=fields, api_name="preset",
            api_visibility="undocumented", concurrency_id=CONTROL, concurrency_limit=None,
            **QUIET))

        self.lessons.wire(ctx, form, state, self.form_fills, self.compare.name)
        self.compare.wire(ctx, state, wire)

        def dataset_changed(dataset: str, points: str, state: Any, request: gr.Request):
            own = dataset == FOLDER_DATASET
            if dataset in TOY_DATASETS or dataset == "mnist":
                ctx.session(state, request).set_preview(dataset)
            elif dataset == POINTS_DATASET:
                with contextlib.suppress(ValueError):  # no points yet: nothing to show
                    ctx.session(state, request).set_preview(points_data(points))
            return (gr.File(visible=own), gr.Row(visible=own),
                    gr.Group(visible=dataset == POINTS_DATASET))

        form["dataset"].change(dataset_changed, inputs=[form["dataset"], form.points.box, state],
                               outputs=[form.images_zip, form.own_images, form.points.group],
                               api_visibility="private", concurrency_id=CONTROL,
                               concurrency_limit=None, **QUIET)
        self._wire_points(wire)

    def _wire_points(self, wire: Any) -> None:
        """Your own points: drawn on the view (the hidden box's input), uploaded, cleared."""
        ctx, points = self.ctx, self.form.points
        outputs = [points.box, self.form["dataset"], points.note]

        def use(state: Any, request: gr.Request, found: list, how: str) -> tuple:
            data = points_data(found)
            ctx.session(state, request).set_preview(data)
            return (points_text(data.points), POINTS_DATASET, points_note(data, how))

        def drawn(text: str, state: Any, request: gr.Request) -> tuple:
            found = parse_points(text)
            if not found:
                return gr.skip(), gr.skip(), POINTS_EMPTY
            # Not written back: the page holds them already, and a later stroke may have
            # changed them since (an echo would undo it).
            return (gr.skip(), *use(state, request, found, "drawn on the view")[1:])

        def uploaded(file: Any, state: Any, request: gr.Request) -> tuple:
            path = file_path(file)
            if not path:
                raise error("Choose a CSV file of x,y rows first.")
            ctx.limits.check_upload(path, "points file")
            found = read_points_csv(Path(path).read_bytes(), Path(path).name)
            return use(state, request, found, f"from {Path(path).name}")

        wire(points.box.submit(on_errors("points")(drawn), inputs=[points.box, self.state],
                              outputs=outputs, api_visibility="private", concurrency_id=CONTROL,
                              concurrency_limit=None, trigger_mode="always_last", **QUIET))
        wire(points.upload.upload(on_errors("points")(uploaded), inputs=[points.upload, self.state],
                                  outputs=outputs, api_name="upload_points",
                                  concurrency_id=QUICK, **QUIET))
        points.clear.click(lambda: ("", gr.skip(), POINTS_EMPTY), None, outputs, queue=False,
                           api_visibility="private", **QUIET)
