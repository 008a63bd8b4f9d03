"""A run as the web app drives it: trained by a worker thread, paused, edited live, watched.

`LiveRun` owns one `Trainer`. `start()` trains it in a worker thread, in short chunks of steps
under the run's lock, until the step target, `pause()`, a divergence or `close()`; live edits
wait in `pending` and apply at the next chunk. Its frame side, for whoever watches, is
`playground/run_frames.py`; `turns.py` says whose turn it is to train (`Slots` bounds how many
runs train at once); `timelapse.py` keeps frames over a run for the GIF.
No gradio here: the UI drives this, the CLI and the tests may too.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from .run_frames import RunFrames, describe
from .timelapse import Timelapse
from .train import StepRecord, Trainer
from .turns import Slots, TurnLock

CHUNK_S = 0.25  # seconds of training per chunk when nobody watches: how soon Pause takes effect
STEP_ASIDE_S = 0.002  # the worker's pause between chunks when another thread waits for the lock
MAX_CHUNK = 10_000
STATES = ("idle", "waiting", "training", "paused", "done", "diverged")


class LiveRun(RunFrames):
    """One session's run (see the module docstring). `lock` guards the trainer."""

    def __init__(self, trainer: Trainer, run_id: str, name: str, slots: Slots | None = None, *,
                 play: Callable[..., list[StepRecord]] | None = None,
                 evaluate: Callable[[Trainer], dict[str, Any]] | None = None,
                 on_autosave: Callable[["LiveRun"], None] | None = None,
                 autosave_s: float = 0.0, measure_every: int = 1000):
        self.trainer = trainer
        self.run_id = run_id  # a capability: who holds it may open the run (see runs.py)
        self.name = name  # for people: "ring8", "mnist-dcgan", "my-upload"
        self.slots = slots or Slots(1)
        self.lock = TurnLock()
        self.state = "idle" if trainer.step_count == 0 else "paused"
        self.pending: dict[str, Any] = {}  # live edits for the next chunk
        self.timelapse = Timelapse()
        self.metrics: list[dict[str, Any]] = []  # quality measurements, oldest first
        self.measure_every = measure_every  # steps between automatic measurements (0 = off)
        self.warning = ""  # the last divergence (or failure) message, until the next start
        self.note = ""  # what the last action did, in words
        self.error: BaseException | None = None  # the worker's unexpected failure, if any
        self.seconds_per_step = 0.0
        self.last_saved = time.monotonic()
        self.closed = False
        self._play = play or (lambda t, n, which="both": t.step(n, which))
        self._evaluate = evaluate
        self._on_autosave = on_autosave
        self._autosave_s = autosave_s
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._gen = 0  # bumped by every start: a worker of an older generation exits
        self._cond = threading.Condition()
        self.seq = 0  # bumped whenever what a frame shows changes
        self._init_frames(trainer)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def changed(self, note: str | None = None) -> None:
        """Something a frame shows changed (call with the lock held or from the worker)."""
        if note is not None:
            self.note = note
        with self._cond:
            self.seq += 1
            self._latest = None
            self._cond.notify_all()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.changed()

    # ------------------------------------------------------------------ training
    def start(self) -> bool:
        """Train in a worker thread until the target, a pause or a divergence. False (and
        nothing changes) when the run is already at its step target."""
        with self.lock:
            if self.closed:
                raise ValueError("this run was closed: start a new one")
            if self.trainer.step_count >= self.trainer.config.train.steps:
                return False
            self._apply_pending()
            self._gen += 1
            self._stop.clear()
            self.warning = ""
            self.error = None
            gen = self._gen
            self._worker = threading.Thread(target=self._work, args=(gen,), daemon=True,
                                            name=f"train-{self.name}-{self.run_id[:6]}")
            self._set_state("waiting")
            self._worker.start()
            return True

    def pause(self) -> None:
        """Stop training at the end of the current chunk (a fraction of a second)."""
        self._stop.set()

    def wait_stopped(self, timeout: float = 30.0) -> bool:
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        return not self.running

    def close(self) -> None:
        """Stop training for good and let the models go (idempotent)."""
        self.closed = True
        self._stop.set()
        self.wait_stopped()
        with self._cond:
            self._cond.notify_all()

    def _going(self, gen: int) -> bool:
        return not self._stop.is_set() and gen == self._gen and not self.closed

    def _work(self, gen: int) -> None:
        has_slot = False
        try:
            while not (has_slot := self.slots.acquire(timeout=0.2)):
                if not self._going(gen):
                    return
            if not self._going(gen):
                return
            with self.lock:
                self._set_state("training")
            self._train(gen)
        except Exception as e:  # shown to the user as a warning; the run stays usable
            self.error = e
            self.warning = f"training stopped: {e}"
        finally:
            if has_slot:
                self.slots.release()
            with self.lock:
                if gen == self._gen:
                    t = self.trainer
                    done = t.step_count >= t.config.train.steps
                    self._set_state("diverged" if t.diverged else "done" if done else "paused")
                    if has_slot and not self.closed:
                        self.autosave()  # a stopped run is saved as it stands

    def _train(self, gen: int) -> None:
        note = ""
        while self._going(gen):
            if self.lock.waiting:  # a Save, an edit, a frame capture: let it in first
                time.sleep(STEP_ASIDE_S)
            with self.lock:
                trainer = self.trainer
                if not self._going(gen):
                    break
                note = self._apply_pending() or note
                remaining = trainer.config.train.steps - trainer.step_count
                if remaining <= 0:
                    break
                chunk_s = self.frame_period if self.watched else CHUNK_S
                guess = chunk_s / self.seconds_per_step if self.seconds_per_step else 1
                n = int(max(1, min(remaining, MAX_CHUNK, guess)))
                every = self.measure_every
                if every:  # end the chunk on the next multiple of N, where quality is measured
                    n = min(n, every - trainer.step_count % every)
                start = time.monotonic()
                records = self._play(trainer, n)
                self.seconds_per_step = (time.monotonic() - start) / n
                if trainer.diverged:
                    self.warning = records[-1].event
                    self.changed()
                    break
                if every and trainer.step_count % every == 0:
                    self.measure()
                self.changed(note or None)
                note = ""
                if self._wanted and time.monotonic() - self._snapped_at >= 0.9 * self.frame_period:
                    self._take_snapshot()
                elif not self.watched and self.timelapse.due(trainer.step_count):
                    # Nobody watches (an API client, a closed tab): keep a frame for the
                    # timelapse anyway. While someone watches, their frames feed it.
                    self.timelapse.offer(self._capture().compute())
                if self._autosave_s and time.monotonic() - self.last_saved >= self._autosave_s:
                    self.autosave()

    def autosave(self) -> None:
        """Save through the `on_autosave` hook now (lock held by the caller or taken here)."""
        if self._on_autosave is None:
            return
        with self.lock:
            self.last_saved = time.monotonic()
            try:
                self._on_autosave(self)
            except Exception as e:  # saving must never stop the training
                self.note = f"⚠️ Not saved: {e}"

    # ------------------------------------------------------------------ edits and steps
    def edit(self, changes: dict[str, Any]) -> str:
        """Live edits: applied now when idle, at the next chunk while training. The values are
        checked at once either way, so a bad one is refused here and changes nothing."""
        with self.lock:
            current = self.trainer.config.train
            diff = {k: v for k, v in changes.items() if getattr(current, k) != v}
            if not diff:
                return ""
            self.trainer.check_update(**diff)
            if self.running:
                self.pending.update(diff)
                return ("Sent to the running model, which takes it at its next step (marked "
                        "on the curves): " + describe(diff))
            self.trainer.update(**diff)
            self.changed()
            return "Applied: " + describe(diff)

    def _apply_pending(self) -> str:
        changes, self.pending = self.pending, {}
        if not changes:
            return ""
        changed = self.trainer.update(**changes)
        return ("Applied: " + describe(changed)) if changed else ""

    def back_to_good_settings(self) -> str:
        """Undo the most recent live edit (after a divergence: the settings that came before
        it trained, and the model as it was then); "" when there is none left to undo. Pressed
        again, it walks further back."""
        with self.lock:
            trainer = self.trainer
            if not trainer.undo:
                return ""
            previous, step = trainer.undo_edit()
            if step is not None and not self.running:  # no longer the model that diverged
                self.warning = ""
                self._set_state("paused")
            self.changed()
            model = (f" and the model as it was then (step {step:,})" if step is not None
                     else " (the model stays at its last good state)")
            return f"Back to the settings before your last change{model}: {describe(previous)}"

    def step_once(self, which: str) -> str:
        """One round of the game ("both", "d" or "g"), said in words: what it did to D(x) and
        D(G(z)) on a fixed probe batch. Pauses a running loop first."""
        self.pause()
        self.wait_stopped()
        with self.lock:
            trainer = self.trainer
            self._apply_pending()
            before = trainer.probe()
            records = self._play(trainer, 1, which)
            if trainer.diverged:
                self.warning = records[-1].event
                self._set_state("diverged")
                return "The step diverged: see the warning."
            after = trainer.probe()
            self.state = "paused"
            text = explain_step(which, before, after)
            self.changed(text)
            return text

    def step_slowly(self) -> str:
        """One iteration taken apart into its stages (`slowmo.explain_iteration`), kept for the
        live view to play. Pauses a running loop first."""
        from .slowmo import explain_iteration

        self.pause()
        self.wait_stopped()
        with self.lock:
            self._apply_pending()
            result = explain_iteration(self.trainer)
            if result["event"]:
                self.warning = result["event"]
                self._set_state("diverged")
                return "The step diverged: see the warning."
            self.slowmo = result
            self.slowmo_id += 1
            self.state = "paused"
            text = (f"Step, slowly: iteration {result['step']:,} in {len(result['stages'])} "
                    "stages; the view plays them (Next stage, or Play).")
            self.changed(text)
            return text

    def begin_steps(self) -> None:
        """Before a caller plays steps itself (`play_chunk`): stop the worker, clear Pause."""
        self.pause()
        self.wait_stopped()
        self._stop.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set() or self.closed

    def play_chunk(self, n_left: int, which: str = "both") -> list[StepRecord]:
        """Up to `n_left` steps, about CHUNK_S seconds of them, in the caller's thread (the API's
        /train_steps): a Pause or a cancellation between chunks stops it within one."""
        with self.lock:
            trainer = self.trainer
            self._apply_pending()
            guess = CHUNK_S / self.seconds_per_step if self.seconds_per_step else 1
            n = int(max(1, min(n_left, MAX_CHUNK, guess)))
            start = time.monotonic()
            records = self._play(trainer, n, which)
            self.seconds_per_step = (time.monotonic() - start) / n
            if trainer.diverged:
                self.warning = records[-1].event
                self.state = "diverged"
            elif self.state in ("idle", "diverged"):
                self.state = "paused"
            if self.timelapse.due(trainer.step_count):
                self.timelapse.offer(self._capture().compute())
            self.changed()
            return records

    # ------------------------------------------------------------------ quality
    def measure(self) -> dict[str, Any]:
        """Measure the model now and keep the result with the run (lock held or taken)."""
        if self._evaluate is None:
            raise ValueError("quality metrics are not available here")
        with self.lock:
            result = dict(self._evaluate(self.trainer))
            result["step"] = self.trainer.step_count
            self.metrics.append(result)
            self.changed()
            return result


def explain_step(which: str, before: tuple[float, float], after: tuple[float, float]) -> str:
    """What one step did, e.g. "D step: D(x) 0.61 -> 0.64, D(G(z)) 0.42 -> 0.38"."""
    what = {"d": "D step", "g": "G step", "both": "D step, then G step"}[which]
    (r0, f0), (r1, f1) = before, after
    return (f"{what}: D(x) {r0:.3f} → {r1:.3f}, D(G(z)) {f0:.3f} → {f1:.3f} "
            "(mean scores of a fixed batch of reals and fakes)")
