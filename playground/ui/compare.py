"""The Train tab's runs side by side: keep a run for comparison, then see the session's runs (up
to four: the kept ones and the current) in one table and their curves overlaid.

A kept run is paused and never trains again; the Sample and Discriminator tabs can use it
("kept run N", `model_choice.py`). The numbers come from each run's history and quality
measurements (`charts.curve_columns`, `LiveRun.measure`); nothing is computed here.
"""
from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from ..charts import curve_columns, thin
from ..live import LiveRun
from ..quality import quality_sentence
from .common import QUICK, AppContext, error, on_errors
from .session import MAX_KEPT, Session

CURVES = {"loss_d": "loss D", "loss_g": "loss G", "d_real": "D(x) real",
          "d_fake": "D(G(z)) fake"}
CURRENT = "current"
SERIES = {**{str(i): f"Kept run {i}" for i in range(1, MAX_KEPT + 1)}, CURRENT: "This run"}
POINTS = 300  # points per run in the overlay


class ComparePanel:
    """Builds the panel inside the current Blocks; `wire` connects its buttons (its errors
    show in `note`, registered as the "compare" notice by the tab)."""

    def __init__(self) -> None:
        with gr.Accordion("Runs side by side", open=False, elem_id="compare") as self.box:
            gr.Markdown(f"Keep the current run (paused) to compare it with the next ones: up to "
                        f"{MAX_KEPT} kept runs beside the current. The Sample and Discriminator "
                        "tabs can use a kept run.", elem_classes=["gp-hint"])
            with gr.Row(equal_height=True):
                self.name = gr.Textbox(label="Name", placeholder="e.g. A: minimax", scale=2,
                                       elem_id="keep-name", max_length=40,
                                       info="What to call the run; a lesson's set-up fills it.")
                self.keep_btn = gr.Button("Keep this run", size="sm", elem_id="keep-btn",
                                          scale=1)
            self.table = gr.HTML("", elem_id="compare-table")
            with gr.Row(equal_height=True):
                self.curve = gr.Dropdown([(v, k) for k, v in CURVES.items()], value="loss_d",
                                         label="Curve", elem_id="compare-curve", scale=1,
                                         info="The curve to overlay.")
                self.overlay = gr.CheckboxGroup(
                    [("This run", CURRENT)] + [(f"Kept run {i}", str(i))
                                               for i in range(1, MAX_KEPT + 1)],
                    value=[CURRENT] + [str(i) for i in range(1, MAX_KEPT + 1)],
                    label="Overlay", elem_id="compare-overlay", scale=2,
                    info="The runs whose curves are drawn.")
            self.compare_btn = gr.Button("Compare (measures the runs not yet measured)",
                                         size="sm", elem_id="compare-btn")
            self.plot = gr.LinePlot(None, x="step", y="value", color="run", elem_id="compare-plot",
                                    label="The runs' curves (blue: kept run 1, orange: kept run 2, red: kept run 3, "
                                          "teal: this run; hover for the values)", height=300,
                                    visible=False,
                                    tooltip=["run", "name", "step", "value"])
            with gr.Row(equal_height=True):
                self.forget_menu = gr.Dropdown([(f"Kept run {i}", i)
                                                for i in range(1, MAX_KEPT + 1)], value=1,
                                               label="Forget a kept run", elem_id="forget-menu",
                                               scale=2, info="Its model is freed; the runs after "
                                               "it move up one.")
                self.forget_btn = gr.Button("Forget it", size="sm", elem_id="forget-btn",
                                            scale=1)
            self.note = gr.Markdown("", elem_id="compare-note", elem_classes=["gp-notice"])

    def wire(self, ctx: AppContext, state: gr.State, wire: Any) -> None:
        outputs = [self.table, self.plot, self.note]

        def view(session: Session, curve: str, overlay: list[str], note: str) -> tuple:
            return (table_html(session), overlay_plot(session, curve, overlay), note)

        def keep(state: Any, name: str, curve: str, overlay: list[str],
                 request: gr.Request = None) -> tuple:
            session = ctx.session(state, request)
            run = session.keep_run(name)  # a refusal is a ValueError: on_errors says it
            return (*view(session, curve, overlay, f"Kept **{html.escape(run.name)}** as run "
                          f"{len(session.kept)}. Set up the next run and press ▶ Train."),
                    gr.update(value=""))

        def compare(state: Any, curve: str, overlay: list[str],
                    request: gr.Request = None) -> tuple:
            session = ctx.session(state, request)
            for run in session.kept:  # kept runs never change: measure each once
                if not run.metrics or run.metrics[-1].get("step") != run.trainer.step_count:
                    run.measure()
            return view(session, curve, overlay, "")

        def forget(state: Any, index: Any, curve: str, overlay: list[str],
                   request: gr.Request = None) -> tuple:
            session = ctx.session(state, request)
            run = session.forget(index)
            return view(session, curve, overlay, f"Forgot **{html.escape(run.name)}**; the "
                        "kept runs after it moved up one.")

        common = dict(concurrency_id=QUICK, show_progress="hidden")
        wire(self.keep_btn.click(on_errors("compare")(keep),
                                 inputs=[state, self.name, self.curve, self.overlay],
                                 outputs=[*outputs, self.name], api_name="keep_run", **common))
        wire(gr.on([self.compare_btn.click, self.curve.input, self.overlay.input],
                   on_errors("compare")(compare), inputs=[state, self.curve, self.overlay],
                   outputs=outputs, api_name="compare_runs", **common))
        wire(self.forget_btn.click(on_errors("compare")(forget),
                                   inputs=[state, self.forget_menu, self.curve, self.overlay],
                                   outputs=outputs, api_name="forget_run", **common))


def _runs(session: Session) -> list[tuple[str, str, LiveRun]]:
    """(key, label, run) of the session's runs: the kept ones by number, then the current."""
    out = [(str(i), f"{i}. {run.name}", run) for i, run in enumerate(session.kept, 1)]
    if session.run is not None:
        out.append((CURRENT, f"This run ({session.run.name})", session.run))
    return out


def table_html(session: Session) -> str:
    runs = _runs(session)
    if not runs:
        return "<p>No runs yet.</p>"
    head = ("<tr><th>Run</th><th>Step</th><th>loss D</th><th>loss G</th><th>D(x)</th>"
            "<th>D(G(z))</th><th>Quality (last measured)</th></tr>")
    rows = []
    for _, label, run in runs:
        with run.lock:
            t = run.trainer
            last = next((r for r in reversed(t.history) if not r.event), None)
            quality = (f"at step {run.metrics[-1].get('step', 0):,}: "
                       f"{quality_sentence(run.metrics[-1])}" if run.metrics else
                       "not measured (press Compare)")
            step = t.step_count
        cells = [label, f"{step:,}"] + [_number(getattr(last, k, None)) for k in CURVES]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>"
                                     for c in cells + [quality]) + "</tr>")
    return f"<table class='gp-compare'>{head}{''.join(rows)}</table>"


def overlay_plot(session: Session, curve: str, overlay: list[str]) -> Any:
    """The chosen curve of each chosen run, as long-form rows (series, name, step, value).

    The series are always the four slots ("Kept run 1".."3", "This run"), each present with at
    least one empty row: Gradio's plot keeps the colours of the series its first drawing had,
    so a run kept later would otherwise not be drawn at all."""
    if curve not in CURVES:
        raise error(f"curve={curve!r:.40} is not one of: {', '.join(CURVES)}")
    frames = [pd.DataFrame({"run": list(SERIES.values()), "name": "", "step": 0.0,
                            "value": float("nan")})]
    drawn = 0
    for key, label, run in _runs(session):
        if key not in (overlay or []):
            continue
        with run.lock:
            columns = thin(curve_columns(run.trainer.history), POINTS)
        drawn += len(columns["step"])
        frames.append(pd.DataFrame({"run": SERIES[key], "name": run.name,
                                    "step": columns["step"], "value": columns[curve]}))
    if not drawn:
        return gr.LinePlot(visible=False)
    return gr.LinePlot(pd.concat(frames, ignore_index=True), visible=True, y_title=CURVES[curve])


def _number(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"
