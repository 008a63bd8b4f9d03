"""What a live run shows its watchers: `RunFrames`, the frame side of `playground.live.LiveRun`.

A watcher calls `frame()`, which waits for something new and returns a frame
(`playground/frames.py`). While the run trains, the worker copies what a frame needs (a
`Snapshot`, about 1 ms under the run's lock) only when someone is waiting for one; the frame's
numbers are then computed on private copies of G and D in the watcher's thread, beside the
training. A 2D run's decision map is worked out for every other frame while it trains. No gradio.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import alerts
from .charts import CurveColumns
from .frames import (FrameHead, ModelCopies, ViewFrame, curves_since, encode_view, make_frame,
                     real_points, view_job, view_lim)
from .layers import ExtrasJob, QualitySeries, Wants, contour_payload, eval_noise, z_payload
from .train import StepRecord, Trainer

# While someone watches, a chunk lasts one frame period and a fresh frame can follow each: about
# 12 frames a second of a 2D run (a few KB each), 5 of a digit grid (~50 KB each). More would
# cost the training more than it shows (each frame is G and D run again on the run's copies).
FRAME_PERIOD_S = {"2d": 0.08, "images": 0.2}
WATCH_GRACE_S = 1.5  # a run counts as watched this long after the last frame request
HISTORY_TAIL = 600  # records a frame's alerts read (alerts look at the last 550)
ALERT_EVERY_S = 0.5  # a frame's alerts are worked out again at most this often while training


@dataclass
class Snapshot:
    """What one frame shows, copied from a run at one moment (under its lock)."""
    seq: int
    head: FrameHead
    columns: dict[str, Any]  # charts.CurveColumns of the whole history
    target: int
    history: list[StepRecord]  # the last HISTORY_TAIL records, for the alerts
    metrics: list[dict[str, Any]]
    loss: str
    job: Any = None  # frames.ViewJob on the run's model copies
    view: ViewFrame | None = None  # computed once, by whoever needs it first
    fresh_heat: bool = True  # the decision map is worked out anew for this one
    wants: Wants = field(default_factory=Wants)  # the layers its view holds
    last: dict[str, Any] | None = None  # the last step's numbers (loss_d, ..., d_fake)
    lock: Any = field(default_factory=threading.Lock, repr=False)

    def compute(self) -> ViewFrame:
        with self.lock:
            if self.view is None:
                self.view = self.job.run()
            return self.view


class RunFrames:
    """The frame side of a live run (a mixin of `LiveRun`, which owns `trainer`, `lock`,
    `state`, `seq`, `note`, `warning`, `metrics`, `timelapse`, `closed`, `seconds_per_step`
    and `_cond`, and calls `changed()` whenever what a frame shows changes)."""

    def _init_frames(self, trainer: Trainer) -> None:
        self._curves = CurveColumns()
        self._copies = ModelCopies()
        self._wanted = False  # a watcher waits for a fresh snapshot
        self._watched_at = 0.0
        self._latest: Snapshot | None = None
        self._snapped_at = 0.0
        self._alert_cache: tuple[Any, float, list[dict[str, Any]]] | None = None
        self._heat: Any = None  # the last decision map worked out (2D), and whether the
        self._heat_reused = False  # last snapshot reused it
        self.frame_period = FRAME_PERIOD_S["2d" if trainer.is_2d else "images"]
        self._wants = Wants()  # what the page watching last asked for
        self.quality = QualitySeries()  # KL, JS, high quality over steps (2D)
        self._contour: dict[str, Any] | None = None  # the real density's lines, once a run
        self._eval_z: Any = None  # the quality series' noise, once a run
        self.slowmo: dict[str, Any] | None = None  # the last "Step, slowly" (slowmo.py)
        self.slowmo_id = 0

    @property
    def watched(self) -> bool:
        return time.monotonic() - self._watched_at < WATCH_GRACE_S

    def _capture(self) -> Snapshot:
        """Copy what a frame shows (lock held). A 2D run's decision map is worked out for every
        other frame while it trains, the one before reused in between (it moves slowly, and it
        is the costliest part of a frame)."""
        t = self.trainer
        state = self.state
        head = FrameHead(self.seq, self.run_id, t.step_count, t.config.train.steps, state,
                         t.elapsed_s, 1.0 / self.seconds_per_step if self.seconds_per_step and
                         state == "training" else 0.0,
                         [(s, describe(c, "=")) for s, c in t.changes], [], self.note)
        job = view_job(t, self._copies)
        reuse = self._heat is not None and state == "training" and not self._heat_reused
        if job.real is not None and reuse:
            job.heat = self._heat
        self._heat_reused = reuse
        wants = self._wants
        if job.real is not None:
            if self._eval_z is None:
                self._eval_z = eval_noise(t.config.model.z_dim, t.config.model.noise)
            job.extras = ExtrasJob(t.dataset.toy, job.lim, t.config.model.z_dim,
                                   t.config.model.noise, wants,
                                   self.quality.due(t.step_count) and t.step_count > 0,
                                   self._eval_z)
        snap = Snapshot(self.seq, head, self._curves.update(t.history), t.config.train.steps,
                        t.history[-HISTORY_TAIL:], list(self.metrics), t.config.train.loss, job)
        snap.fresh_heat = not reuse
        snap.wants = wants
        last = next((r for r in reversed(t.history) if not r.event), None)
        if last is not None:
            snap.last = {k: getattr(last, k) for k in ("step", "which", "loss_d", "loss_g",
                                                        "d_real", "d_fake")}
        return snap

    def _take_snapshot(self) -> None:
        self._snapped_at = time.monotonic()
        snap = self._capture()
        with self._cond:
            self._latest = snap
            self._wanted = False
            self._cond.notify_all()

    def frame(self, after_seq: int = -1, since_step: int = -1, with_real: bool = False,
              timeout: float = 2.0, wants: Wants | None = None,
              slow_seen: int = -1) -> dict[str, Any] | None:
        """The next frame newer than `after_seq`, waiting up to `timeout` s; None if nothing
        changed. Curves come from after `since_step`; `with_real` adds the real 2D points;
        `wants` names the layers the page shows (a frame holding fewer is captured again);
        a "Step, slowly" newer than `slow_seen` comes with it."""
        self._watched_at = time.monotonic()
        wants = wants or Wants()
        self._wants = wants
        if wants.contour and self.trainer.is_2d:
            after_seq = -1  # the page lacks the contour lines: answer at once
        deadline = time.monotonic() + max(0.0, timeout)
        snap = None
        with self._cond:
            while not self.closed:
                latest = self._latest
                if latest is not None and latest.seq > after_seq:
                    snap = latest
                    break
                if self.seq > after_seq and self.state != "training":
                    break  # nothing trains: capture it here (below)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if self.state == "training":
                    self._wanted = True
                self._cond.wait(min(remaining, 0.5))
        if snap is not None and self.trainer.is_2d and not snap.wants.covers(wants):
            snap = None  # a layer was switched on: this one must show it
        if snap is None:
            with self.lock:
                if self.closed:
                    return None
                snap = self._capture()
                with self._cond:
                    self._latest = snap
        return self._frame_of(snap, since_step, with_real, wants, slow_seen)

    def _alerts(self, snap: Snapshot) -> list[dict[str, Any]]:
        """The alerts of a snapshot, worked out again only every ALERT_EVERY_S (they look at
        the last 550 records: a fraction of a second changes little)."""
        key = (snap.head.run, self.warning, len(snap.metrics))
        cached = self._alert_cache
        if cached is not None and cached[0] == key and \
                time.monotonic() - cached[1] < ALERT_EVERY_S and snap.head.state == "training":
            return cached[2]
        found = alert_dicts(snap.history, snap.metrics, snap.loss, self.warning)
        self._alert_cache = (key, time.monotonic(), found)
        return found

    def _frame_of(self, snap: Snapshot, since_step: int, with_real: bool,
                  wants: Wants | None = None, slow_seen: int = -1) -> dict[str, Any]:
        wants = wants or Wants()
        view = snap.compute()
        if view.kind == "2d" and snap.fresh_heat:
            self._heat = view.heat
        if view.extras and "quality" in view.extras:
            self.quality.add(view.extras.pop("quality"))
        self.timelapse.offer(view)
        head = snap.head
        head.alerts = self._alerts(snap)
        real = None
        if with_real and view.kind == "2d":
            real = snap.job.real.numpy()
        final = head.state != "training"
        curves = curves_since(snap.columns, since_step, snap.target, final)
        # The decision map when it is new, or when this watcher starts afresh.
        heat = snap.fresh_heat or with_real or since_step < 0
        frame = make_frame(head, curves, encode_view(view, real, heat))
        frame["last"] = snap.last
        frame["noise"] = self.trainer.config.model.noise
        if view.kind == "2d":
            frame["quality"] = self.quality.since(wants.quality_since, wants.quality_last)
            if with_real:
                frame["view"].update(z_payload(snap.job.z))
            if wants.contour:
                frame["view"]["contour"] = self.contour()
        if self.slowmo is not None and self.slowmo_id != slow_seen:
            frame["slowmo"] = {**self.slowmo, "id": self.slowmo_id}
        return frame

    def contour(self) -> dict[str, Any]:
        """The real density's contour lines (worked out once a run: the data never changes)."""
        if self._contour is None:
            self._contour = contour_payload(self.trainer.dataset.toy, view_lim(self.trainer))
        return self._contour

    def latest_view(self) -> ViewFrame:
        """The view of the model as it is now (for the picture download)."""
        with self.lock:
            snap = self._capture()
        return snap.compute()

    def real_points(self) -> Any:
        with self.lock:
            return real_points(self.trainer).numpy() if self.trainer.is_2d else None


def describe(changes: dict[str, Any], sep: str = " = ") -> str:
    """Setting changes in words: "g_lr = 0.0005, loss = hinge"."""
    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return ", ".join(f"{k}{sep}{fmt(v)}" for k, v in changes.items())


def alert_dicts(history: list[StepRecord], metrics: list[dict[str, Any]], loss: str,
                warning: str = "") -> list[dict[str, Any]]:
    """The run's alerts as plain dicts for a frame; the divergence message first."""
    out: list[dict[str, Any]] = []
    if warning:
        out.append({"kind": "diverged", "step": history[-1].step if history else 0,
                    "title": "Training diverged", "text": warning, "try": ""})
    try:
        found = alerts.check(history, metrics or None, loss=loss)
    except Exception:  # an alert bug must never stop the live view
        found = []
    for a in found[:3]:
        if a.kind == "diverged" and warning:
            continue
        out.append({"kind": a.kind, "step": a.step, "title": a.title, "text": a.explanation,
                    "try": a.what_to_try})
    return out
