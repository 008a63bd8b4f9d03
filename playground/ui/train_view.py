"""What the Train tab shows for a session, computed from its Trainer.

`render(session, note)` returns a `View`: the progress bar's HTML, a status line, warnings, the
progress picture and the two curve charts, with dashed marks where a setting changed. It comes in
two halves: `capture` copies what the view needs from the trainer, the weights of G (and D)
included (quick, ~1 ms; the caller holds the session's lock, so the models are quiet), and `draw`
computes the progress picture on those copies and draws everything (slower; no lock, so a
training loop goes on meanwhile). No gradio import here; the tab puts the View
into its components.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .. import charts, plots
from ..train import StepRecord, Trainer
from .session import Session

LOSS_COLOURS = {"loss D": "#2563eb", "loss G": "#ea580c"}
SCORE_COLOURS = {"D(x) real": "#16803d", "D(G(z)) fake": "#7e22ce"}
MAX_MARKS = 6  # the most recent setting changes marked on the curves
CURVE_POINTS = 300
CHART_SIZE = (480, 240)
HISTORY_TAIL = 1000  # records a view copies: the alerts read the last 550, the status line 50


@dataclass
class View:
    progress_html: str
    status: str
    warning: str
    picture: Image.Image | None
    losses: Image.Image | None
    scores: Image.Image | None
    changes: str = ""
    quality: str = ""  # the latest quality measurement, as a table


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def progress_html(step: int, target: int, running: bool) -> str:
    share = 0.0 if target <= 0 else min(1.0, step / target)
    state = "training" if running else ("done" if step >= target else "paused")
    return (f'<div class="gp-progress" data-step="{step}" data-target="{target}" '
            f'data-state="{state}"><div class="gp-progress-bar" style="width:{share * 100:.1f}%">'
            f'</div><span>{step:,} / {target:,} steps ({share:.0%})</span></div>')


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _alerts(snap: "Snapshot") -> list[str]:
    """Failure alerts from playground.alerts, when that module is there."""
    try:
        from .. import alerts
    except ImportError:
        return []
    try:
        found = alerts.check(snap.history, snap.metrics or None, loss=snap.loss)
    except Exception:  # an alert bug must never stop the training view
        return []
    if snap.diverged_warning:  # the divergence is already shown, with the trainer's own words
        found = [a for a in found if a.kind != "diverged"]
    return [f"**{html.escape(str(a.title))}** (step {a.step}): {html.escape(str(a.explanation))} "
            f"*Try:* {html.escape(str(a.what_to_try))}" for a in found[:3]]


def metrics_markdown(result: dict[str, Any]) -> str:
    """A measurement from playground.metrics as a two-column table of its numbers."""
    rows = [f"| {html.escape(str(k))} | {_fmt(v) if isinstance(v, float) else html.escape(str(v))} |"
            for k, v in result.items() if isinstance(v, (int, float, str)) and not
            isinstance(v, bool) and k not in ("dataset", "seed")]
    return (f"**Quality at step {result.get('step', '?')}** ({html.escape(str(result.get('dataset', '')))})"
            "\n\n| measure | value |\n|---|---|\n" + "\n".join(rows))


def _data_info(trainer: Trainer) -> str:
    try:
        return trainer.dataset.info
    except Exception as e:  # e.g. a checkpoint trained on image files that are not here
        return f"training data not available here: {e}"


@dataclass
class Snapshot:
    """Everything the view shows, copied from a session and its trainer at one moment."""
    note: str
    layers: Any
    trainer: bool = False  # False: no model yet (the other fields keep their defaults)
    step: int = 0
    target: int = 1
    running: bool = False
    elapsed_s: float = 0.0
    device: str = ""
    info: str = ""
    loss: str = ""
    history: list[StepRecord] = field(default_factory=list)  # the last HISTORY_TAIL records
    curves: dict[str, Any] = field(default_factory=dict)  # charts.curve_columns of them all
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    diverged_warning: str = ""
    picture: plots.ProgressJob | None = None  # run by `draw`, on the session's model copies


def capture(session: Session, note: str = "", layers: Any = plots.LAYERS) -> Snapshot:
    """Copy what the view needs from `session`. Call with `session.lock` held."""
    trainer = session.trainer
    if trainer is None:
        return Snapshot(note, layers)
    return Snapshot(note, layers, True, trainer.step_count, trainer.config.train.steps,
                    session.running, trainer.elapsed_s, str(trainer.device), _data_info(trainer),
                    trainer.config.train.loss, trainer.history[-HISTORY_TAIL:],
                    session.curves.update(trainer.history), list(trainer.changes),
                    list(session.metrics), session.warning,
                    plots.progress_job(trainer, layers, session.view_models))


def charts_of(curves: dict[str, Any], changes: list[tuple[int, dict[str, Any]]]
              ) -> tuple[Image.Image, Image.Image]:
    """The loss chart and the D(x) / D(G(z)) chart of a run's curves so far
    (`charts.curve_columns`)."""
    c = charts.thin(curves, CURVE_POINTS)
    marks = [(step, ", ".join(f"{k}={_fmt(v)}" for k, v in changed.items()))
             for step, changed in changes[-MAX_MARKS:]]
    losses = charts.line_chart(
        c["step"], {label: (c[key], LOSS_COLOURS[label])
                    for key, label in (("loss_d", "loss D"), ("loss_g", "loss G"))},
        "Losses, by step", marks, size=CHART_SIZE)
    scores = charts.line_chart(
        c["step"], {label: (c[key], SCORE_COLOURS[label])
                    for key, label in (("d_real", "D(x) real"), ("d_fake", "D(G(z)) fake"))},
        "Mean D(x) and D(G(z)), by step", marks, y_lim=(0.0, 1.0), size=CHART_SIZE)
    return losses, scores


def draw(snap: Snapshot) -> View:
    """The View of a `Snapshot` (no lock needed: it touches no model)."""
    if not snap.trainer:
        return View(progress_html(0, 1, False), snap.note or "No model yet: press **Train**.", "",
                    None, None, None)
    records = [r for r in snap.history[-50:] if not r.event]
    last = records[-1] if records else None
    parts = [f"**Step {snap.step:,} / {snap.target:,}**"]
    if last is not None:
        parts.append(f"{last.images_per_s:,.0f} images/s")
    parts.append(f"{_duration(snap.elapsed_s)} training")
    parts.append(f"device {snap.device}")
    status = " · ".join(parts) + f"  \n{html.escape(snap.info)}"
    if snap.note:
        status += f"  \n{snap.note}"
    warnings = []
    if snap.diverged_warning:
        warnings.append(f"⚠️ **Training diverged.** {html.escape(snap.diverged_warning)}")
    warnings += [f"⚠️ {line}" for line in _alerts(snap)]
    changes = "; ".join(f"step {s}: " + ", ".join(f"{k} → {_fmt(v)}" for k, v in c.items())
                        for s, c in snap.changes[-MAX_MARKS:])
    losses, scores = charts_of(snap.curves, snap.changes)
    return View(progress_html(snap.step, snap.target, snap.running), status,
                "  \n".join(warnings), plots.draw_progress(snap.picture.run(), snap.layers), losses,
                scores, f"Setting changes: {changes}" if changes else "",
                metrics_markdown(snap.metrics[-1]) if snap.metrics else "")


def render(session: Session, note: str = "", layers: Any = plots.LAYERS) -> View:
    """The Train tab's view of `session` now. Call with `session.lock` held."""
    return draw(capture(session, note, layers))
