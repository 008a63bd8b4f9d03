"""What the Train tab's buttons do: start, follow, pause and resume runs, single steps, live edits.

Training runs in each run's own worker thread (`playground.live.LiveRun`), not inside an event,
so Train always starts the new run at once and the page's live view pulls frames by itself
(`live_view.py`). The events that start or resume a run then *follow* it: they stream the words
that change slowly (the status line, the latest quality measurement, a summary for API clients)
about once a second until the run stops or another run replaces it. No tensor maths here.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import time
from typing import Any

import anyio
import gradio as gr

from ..live import LiveRun
from ..quality import quality_rows, quality_sentence
from ..settings import SERVER_ONLY_FIELDS, SettingError
from ..train import Trainer
from .common import AppContext, error, trainer_or_fallback
from .errors import checked_only
from .form import CUSTOM, FIELDS, FOLDER_DATASET, config_from_form, live_changes, preset_of
from .session import REGISTRY, Session

FOLLOW_S = 1.0  # how often a following event re-sends the status words


def file_path(file: Any) -> str | None:
    """A gr.File value (a path, or an object with .name / .path) as a path."""
    if file is None:
        return None
    if isinstance(file, str):
        return file
    return getattr(file, "path", None) or getattr(file, "name", None)


def summary(session: Session) -> dict[str, Any]:
    """The session's run as plain numbers, for API clients (and the page's hidden JSON)."""
    run = session.run
    if run is None:
        return {"state": "none", "step": 0, "target": 0}
    t = run.trainer
    last = next((r for r in reversed(t.history) if not r.event), None)
    return {
        "run": run.name, "state": run.state, "step": t.step_count,
        "target": t.config.train.steps, "dataset": t.config.data.dataset,
        "diverged": t.diverged, "warning": run.warning, "note": run.note,
        "last": last.to_dict() if last is not None else None,
        "quality": run.metrics[-1] if run.metrics else None,
        "settings": {k: (len(v) if k == "points" else v)  # your points: how many
                     for group in t.config.to_dict().values() for k, v in group.items()
                     if k not in SERVER_ONLY_FIELDS},
    }


def status_text(session: Session, note: str = "") -> str:
    run = session.run
    if run is None:
        return "No model yet: press **Train** (or a single step) to start a run."
    t = run.trainer
    try:
        info = t.dataset.info
    except Exception as e:  # e.g. a checkpoint trained on image files that are not here
        info = f"training data not available here: {e}"
    device = f"device {t.device}" + (", bf16 mixed precision" if t.precision == "bf16" else "")
    words = [f"Run **{html.escape(run.name)}**", html.escape(info), device]
    text = " · ".join(words)
    # The last step's numbers once the run stands still (while it trains, the live view's
    # overview graph shows them: this line changing every second would be sent every second).
    last = next((r for r in reversed(t.history) if not r.event), None)
    if last is not None and run.state not in ("waiting", "training"):
        text += "  \n" + last_step_words(last)
    for extra in (note, run.warning and f"⚠️ {run.warning}"):
        if extra:
            text += f"  \n{html.escape(extra)}"
    return text


def last_step_words(r: Any) -> str:
    """The last step's numbers, as the overview graph shows them."""
    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}"
    return (f"Step {r.step:,}: loss_D {num(r.loss_d)} · loss_G {num(r.loss_g)} · D(x) "
            f"{num(r.d_real)} · D(G(z)) {num(r.d_fake)}")


def quality_text(run: LiveRun | None) -> str:
    """The latest measurement as a sentence with its bar, the numbers folded away."""
    if run is None or not run.metrics:
        return ("*Quality*: not measured yet. Press **Measure quality**, or let the run measure "
                "itself every N steps (Advanced).")
    result = run.metrics[-1]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                   for k, v in quality_rows(result))
    return (f"**Quality at step {result.get('step', 0):,}**: "
            f"{html.escape(quality_sentence(result))}\n\n<details><summary>All the numbers"
            f"</summary><table>{rows}</table></details>")


def run_key(session: Session) -> Any:
    """What the browser keeps (gr.BrowserState) to offer the run again after a reload."""
    run = session.run
    if run is None:
        return gr.skip()
    return {"run_id": run.run_id, "name": run.name}


@contextlib.asynccontextmanager
async def replacing(session: Session, wait_s: float = 2.0):
    """Hold `session.answering` while the session's run is replaced (see `follow`); after
    `wait_s` without it (a stream whose page stopped reading) go ahead regardless."""
    try:
        await asyncio.wait_for(session.answering.acquire(), wait_s)
    except asyncio.TimeoutError:
        yield
        return
    try:
        yield
    finally:
        session.answering.release()


class TrainEvents:
    """The Train tab's event handlers, bound to the app's context."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    # ------------------------------------------------------------------ building runs
    def new_trainer(self, settings: dict[str, Any], images_zip: Any) -> tuple[Trainer, str]:
        limits = self.ctx.limits
        path = file_path(images_zip)
        if settings.get("dataset") == FOLDER_DATASET and path:
            limits.check_upload(path, "zip of images")
        config = config_from_form(settings, path, limits)
        limits.check_config(config)
        return trainer_or_fallback(config, limits.max_data_bytes)  # loads the data now

    def outputs(self, session: Session, note: str = "") -> tuple:
        """(state, status, quality, summary, run key, the "back to good settings" button):
        what the run events return."""
        run = session.run
        diverged = run is not None and run.trainer.diverged
        return (session, status_text(session, note), quality_text(run), summary(session),
                run_key(session), gr.update(visible=diverged))

    async def start_new(self, session: Session, settings: dict[str, Any], images_zip: Any,
                        start: bool) -> tuple[LiveRun, str]:
        trainer, note = await anyio.to_thread.run_sync(self.new_trainer, settings, images_zip)
        if note:  # a torchvision set missing here: the bundled digits, and a visible warning
            gr.Warning(note)
        preset = preset_of(trainer.config)
        name = trainer.config.data.dataset if preset == CUSTOM else preset
        async with replacing(session):
            run = await anyio.to_thread.run_sync(self.ctx.new_run, session, trainer, name)
        if start:
            run.start()
        return run, note

    async def follow(self, session: Session, run: LiveRun, note: str = ""):
        """Yield the run events' outputs about once a second until `run` stops or another run
        replaces it in the session.

        While the run trains, only what changed is sent (gr.skip() for the rest; the summary
        changes at every step): a quick event answering on one of these outputs (Measure on the
        quality, Reset on the status) is never overwritten by an older copy of its words that
        this stream computed before it and delivered after it. The last update, once the run
        has stopped, is whole (an API client's result) and taken in a turn of the run's lock,
        after any measurement in progress has landed."""
        sent: list[str] | None = None
        # Ending because another run replaced this one, the stream says nothing more: Gradio
        # sends a generator's last value again as its result when it ends, and that must not
        # be this run's words landing after the newer event's answer.
        nothing = tuple(gr.skip() for _ in range(6))
        while True:
            if session.run is not run:
                if sent is not None:
                    yield nothing
                return  # Train was pressed again: the newer event follows the newer run
            if run.state not in ("waiting", "training"):
                out = await anyio.to_thread.run_sync(self._outputs_in_turn, session, run, note)
                # An update is sent while `session.answering` is held (Gradio sends it before
                # it asks this generator for the next one): an event that replaces the run
                # (Reset, Train) waits for it, so its answer lands after, never before.
                async with session.answering:
                    yield out if session.run is run else nothing
                return
            out = self.outputs(session, note)
            now = [repr(o) for o in out]
            if now != sent:
                async with session.answering:
                    if session.run is not run:
                        yield nothing
                        return
                    yield tuple(o if sent is None or i == 0 or now[i] != sent[i] else gr.skip()
                                for i, o in enumerate(out))
                sent = now
            await asyncio.sleep(FOLLOW_S)

    def _outputs_in_turn(self, session: Session, run: LiveRun, note: str) -> tuple:
        with run.lock:
            return self.outputs(session, note)

    # ------------------------------------------------------------------ events
    async def train(self, state: Any, images_zip: Any = None, request: gr.Request = None,
                    **settings: Any):
        session = self.ctx.session(state, request)
        run, note = await self.start_new(session, settings, images_zip, start=True)
        async for out in self.follow(session, run, note):
            yield out

    async def resume(self, state: Any, request: gr.Request = None):
        session = self.ctx.session(state, request)
        run = session.run
        if run is None:
            raise error("Nothing to resume yet: press Train to start a run.")
        if not run.running:
            if not await anyio.to_thread.run_sync(run.start):
                target = run.trainer.config.train.steps
                raise error(f"The run is at its step target ({target:,}): raise the Step "
                            "target to keep training.")
        async for out in self.follow(session, run):
            yield out

    # ------------------------------------------------------------------ no run is lost
    def offer(self, key: Any) -> str:
        """The words offering this browser's last run again (after a reload or a restart), or
        "" when there is none to offer."""
        run_id = key.get("run_id") if isinstance(key, dict) else None
        holder = REGISTRY.find_run(run_id) if isinstance(run_id, str) else None
        if holder is not None and holder.run is not None:
            t = holder.run.trainer
            return (f"Your run **{html.escape(holder.run.name)}** is still here, at step "
                    f"{t.step_count:,} of {t.config.train.steps:,}: continue it?")
        info = self.ctx.store.info(run_id) if self.ctx.store is not None else None
        if info is None or not info["step"]:
            return ""
        ago = max(0, int(time.time() - info["saved_at"]))
        when = f"{ago // 60} min ago" if ago >= 120 else f"{ago} s ago"
        return (f"Your run **{html.escape(info['name'])}** was saved at step {info['step']:,} "
                f"of {info['target']:,} ({when}): continue it from there?")

    async def continue_run(self, state: Any, key: Any = None, request: gr.Request = None):
        """Continue this browser's last run: the live one (a reloaded page), else the saved one
        (a restarted server), with its weights, optimiser, history, timelapse and measurements."""
        session = self.ctx.session(state, request)
        run_id = key.get("run_id") if isinstance(key, dict) else None
        if not isinstance(run_id, str) or self.ctx.store.path(run_id) is None:
            raise error("There is no run to continue in this browser: press Train.")
        holder = REGISTRY.find_run(run_id)
        if holder is session:
            run = session.run
        elif holder is not None:
            run = holder.detach_run()  # the page was reloaded: the run trains on, here
            await anyio.to_thread.run_sync(REGISTRY.make_room, session)
            session.set_run(run)
        else:
            trainer, frames, meta = await anyio.to_thread.run_sync(
                self.ctx.store.load, run_id, self.ctx.device)
            extra = meta["extra"]
            run = await anyio.to_thread.run_sync(
                self.ctx.new_run, session, trainer, str(extra.get("name", ""))[:40] or "run",
                run_id)
            run.timelapse.restore(frames)
            metrics = extra.get("metrics")
            run.metrics = [m for m in metrics if isinstance(m, dict)] if isinstance(
                metrics, list) else []
            run.changed(f"Continued from the saved step {trainer.step_count:,}.")
        if not run.running:
            await anyio.to_thread.run_sync(run.start)
        async for out in self.follow(session, run):
            yield (*out, gr.update(visible=False))  # the offer is taken: hide it

    def pause(self, state: Any, request: gr.Request = None) -> None:
        run = self.ctx.session(state, request).run
        if run is not None:
            run.pause()

    async def reset(self, state: Any, images_zip: Any = None, request: gr.Request = None,
                    **settings: Any) -> tuple:
        session = self.ctx.session(state, request)
        await self.start_new(session, settings, images_zip, start=False)
        return self.outputs(session, "Reset: a new, untrained model. Press Train to start.")

    def step(self, which: str):
        async def step(state: Any, images_zip: Any = None, request: gr.Request = None,
                       **settings: Any) -> tuple:
            session = self.ctx.session(state, request)
            run = session.run
            if run is None:
                run, _ = await self.start_new(session, settings, images_zip, start=False)
            self.ctx.limits.check_run_length(run.trainer.step_count, 1)
            words = await anyio.to_thread.run_sync(run.step_once, which)
            return self.outputs(session, words)
        step.__name__ = f"step_{which}"
        return step

    async def step_slowly(self, state: Any, images_zip: Any = None, request: gr.Request = None,
                          **settings: Any) -> tuple:
        """One iteration in stages, for the live view to play (2D data; playground/slowmo.py)."""
        session = self.ctx.session(state, request)
        run = session.run
        if run is None:
            run, _ = await self.start_new(session, settings, images_zip, start=False)
        if not run.trainer.is_2d:
            raise error("Step, slowly takes one iteration apart on 2D data (the points and D's "
                        "map): pick a 2D data set, or use Step both.")
        self.ctx.limits.check_run_length(run.trainer.step_count, 1)
        words = await anyio.to_thread.run_sync(run.step_slowly)
        return self.outputs(session, words)

    def edit(self, state: Any, request: gr.Request = None, evt: gr.EventData = None,
             **values: Any) -> Any:
        """Live edits of the form's live fields: applied to the running model at its next step
        (marked on the curves), or now when it is paused. From the page, only the field whose
        Enter, blur or pick sent the event: another may be half-typed (empty, or "1" on the way
        to "10"), and it is applied when it is itself sent. An API call sends every field."""
        session = self.ctx.session(state, request)
        run = session.run
        if run is None:  # nothing to change yet: Train checks every field (and says so)
            checked_only()
            return ""
        sender = getattr(getattr(evt, "target", None), "elem_id", None) or ""
        name = sender.removeprefix("field-")  # form.py gives each field the id "field-<name>"
        if name in values:
            values = {name: values[name]}
            if name in session.refused_edits and session.refused_edits[name] == values[name]:
                checked_only()  # the blur after the Enter that was refused: said once is
                return gr.skip()  # enough, and its sentence stays under the field
            checked_only(name)
        try:
            changes = live_changes(values, self.ctx.limits)
            self.ctx.limits.check_train_fields(changes)
            words = run.edit(changes)
        except Exception:
            if name in values:
                session.refused_edits[name] = values[name]
            raise
        session.refused_edits.pop(name, None)
        if not words and sender:  # the page's blur after an Enter: nothing new to say, and
            return gr.skip()      # this late answer must not wipe what the next edit said
        return words

    def good_settings(self, state: Any, request: gr.Request = None) -> tuple:
        """After a divergence: the live settings back to those before the last live edit, and the
        run as it was then (its status line no longer says it diverged)."""
        session = self.ctx.session(state, request)
        run = session.run
        if run is None:
            raise error("No run yet: nothing to go back to.")
        words = run.back_to_good_settings()
        if not words:
            raise error("No live change is left to undo: this run's own settings diverged. "
                        "Lower the learning rates (or try another loss) and press Train.")
        flat = {**vars(run.trainer.config.data), **vars(run.trainer.config.model),
                **vars(run.trainer.config.train)}
        return (words, *[flat[f] for f in FIELDS], status_text(session))

    def measure(self, state: Any, request: gr.Request = None) -> str:
        run = self.ctx.session(state, request).run
        if run is None:
            raise error("No model to measure yet: train one first.")
        run.measure()
        return quality_text(run)

    def measure_every(self, state: Any, every: Any, request: gr.Request = None) -> None:
        limit = self.ctx.limits.max_steps
        if isinstance(every, bool) or not isinstance(every, (int, float)) or \
                not float(every).is_integer() or not 0 <= every <= limit:
            raise SettingError("measure_every", f"Measure every N steps: {every!r:.60} must be a "
                               f"whole number of steps from 0 (off) to {limit:,}")
        session = self.ctx.session(state, request)
        session.measure_every = int(every)
        if session.run is not None:
            session.run.measure_every = int(every)
