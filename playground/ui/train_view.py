"""What the Train tab shows for a session, computed from its Trainer (the caller holds its lock).

`render(session, note)` returns a `View`: the progress bar's HTML, a status line, warnings, the
progress picture and the two curve charts, with dashed marks where a setting changed. No gradio
import here; the tab puts these into its components.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .. import plots
from ..train import Trainer
from .session import Session

LOSS_COLOURS = {"loss D": "#2563eb", "loss G": "#ea580c"}
SCORE_COLOURS = {"D(x) real": "#16803d", "D(G(z)) fake": "#7e22ce"}
MAX_MARKS = 6  # the most recent setting changes marked on the curves
CURVE_POINTS = 300
CHART_SIZE = (480, 240)


@dataclass
class View:
    progress_html: str
    status: str
    warning: str
    picture: Image.Image | None
    losses: Image.Image | None
    scores: Image.Image | None
    changes: str = ""


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


def _alerts(session: Session, trainer: Trainer) -> list[str]:
    """Failure alerts from playground.alerts, when that module is there."""
    try:
        from .. import alerts
    except ImportError:
        return []
    try:
        found = alerts.check(trainer.history, session.metrics or None,
                             loss=trainer.config.train.loss)
    except Exception:  # an alert bug must never stop the training view
        return []
    if session.warning:  # the divergence is already shown, with the trainer's own words
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


def charts(trainer: Trainer) -> tuple[Image.Image, Image.Image]:
    """The loss chart and the D(x) / D(G(z)) chart of the run so far."""
    c = plots.curve_rows(trainer.history, CURVE_POINTS)
    marks = [(step, ", ".join(f"{k}={_fmt(v)}" for k, v in changed.items()))
             for step, changed in trainer.changes[-MAX_MARKS:]]
    losses = plots.line_chart(
        c["step"], {label: (c[key], LOSS_COLOURS[label])
                    for key, label in (("loss_d", "loss D"), ("loss_g", "loss G"))},
        "Losses, by step", marks, size=CHART_SIZE)
    scores = plots.line_chart(
        c["step"], {label: (c[key], SCORE_COLOURS[label])
                    for key, label in (("d_real", "D(x) real"), ("d_fake", "D(G(z)) fake"))},
        "Mean D(x) and D(G(z)), by step", marks, y_lim=(0.0, 1.0), size=CHART_SIZE)
    return losses, scores


def render(session: Session, note: str = "", layers: Any = plots.LAYERS) -> View:
    """The Train tab's view of `session` now. Call with `session.lock` held."""
    trainer = session.trainer
    if trainer is None:
        return View(progress_html(0, 1, False), note or "No model yet: press **Train**.", "",
                    None, None, None)
    records = [r for r in trainer.history[-50:] if not r.event]
    last = records[-1] if records else None
    target = trainer.config.train.steps
    parts = [f"**Step {trainer.step_count:,} / {target:,}**"]
    if last is not None:
        parts.append(f"{last.images_per_s:,.0f} images/s")
    parts.append(f"{_duration(trainer.elapsed_s)} training")
    parts.append(f"device {trainer.device}")
    status = " · ".join(parts) + f"  \n{html.escape(_data_info(trainer))}"
    if note:
        status += f"  \n{note}"
    warnings = []
    if session.warning:
        warnings.append(f"⚠️ **Training diverged.** {html.escape(session.warning)}")
    warnings += [f"⚠️ {line}" for line in _alerts(session, trainer)]
    changes = "; ".join(f"step {s}: " + ", ".join(f"{k} → {_fmt(v)}" for k, v in c.items())
                        for s, c in trainer.changes[-MAX_MARKS:])
    losses, scores = charts(trainer)
    return View(progress_html(trainer.step_count, target, session.running), status,
                "  \n".join(warnings), plots.progress_image(trainer, layers), losses, scores,
                f"Setting changes: {changes}" if changes else "")
