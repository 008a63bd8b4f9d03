"""The Train tab's files: save and load checkpoints, the timelapse GIF, the view as a PNG and the
curves as a CSV. Pictures are drawn on the server from the run's frames (`plots.draw_view`), so
a download shows what the live view showed. No tensor maths here.
"""
from __future__ import annotations

import csv
import io
from typing import Any

import gradio as gr

from ..checkpoint import save_checkpoint
from ..export import export_script
from ..charts import curve_columns
from ..frames import real_points
from ..plots import draw_view, timelapse_gif
from .common import AppContext, error, load_upload
from .form import config_from_form, form_values, points_text, preset_of
from .train_events import TrainEvents, file_path


class TrainFiles:
    """Handlers of the Train tab's file buttons."""

    def __init__(self, ctx: AppContext, events: TrainEvents):
        self.ctx, self.events = ctx, events

    def _run(self, state: Any, request: gr.Request, what: str):
        session = self.ctx.session(state, request)
        if session.run is None:
            raise error(f"No model yet: train one first, then {what}.")
        return session, session.run

    def _name(self, run: Any, suffix: str) -> str:
        t = run.trainer
        return f"{run.name}-step{t.step_count}.{suffix}"

    def save(self, state: Any, request: gr.Request = None) -> str:
        session, run = self._run(state, request, "save it")
        with run.lock:
            path = self.ctx.session_dir(session) / self._name(run, "safetensors")
            return str(save_checkpoint(run.trainer, path, timelapse=run.timelapse.snapshot(),
                                       extra={"name": run.name}))

    def load(self, state: Any, checkpoint: Any = None, request: gr.Request = None) -> tuple:
        path = file_path(checkpoint)
        if not path:
            raise error("Choose a .safetensors checkpoint to upload first.")
        limits = self.ctx.limits
        limits.check_upload(path, "checkpoint")
        trainer, frames, meta = load_upload(path, self.ctx.device, limits)  # checked in full
        limits.check_config(trainer.config)
        limits.check_run_length(trainer.step_count, 0)
        session = self.ctx.session(state, request)
        name = str(meta["extra"].get("name", "")) or preset_of(trainer.config)
        run = self.ctx.new_run(session, trainer, name[:40])
        run.timelapse.restore(frames)
        note = (f"Loaded a checkpoint at step {trainer.step_count:,}: press Resume to continue "
                "training it.")
        run.changed(note)
        return (*self.events.outputs(session, note), preset_of(trainer.config),
                *form_values(trainer.config), points_text(trainer.config.data.points))

    def timelapse(self, state: Any, request: gr.Request = None) -> tuple[str, str]:
        session, run = self._run(state, request, "make its timelapse")
        frames = run.timelapse.snapshot()
        data = timelapse_gif(frames, run.real_points())
        path = self.ctx.session_dir(session) / self._name(run, "timelapse.gif")
        path.write_bytes(data)
        return str(path), str(path)

    def picture(self, state: Any, request: gr.Request = None) -> str:
        session, run = self._run(state, request, "download its picture")
        frames = run.timelapse.snapshot()
        latest = run.latest_view()
        view = latest if latest is not None else (frames[-1] if frames else None)
        if view is None:
            raise error("No picture yet: train for a step first.")
        real = real_points(run.trainer).numpy() if view.kind == "2d" else None
        path = self.ctx.session_dir(session) / self._name(run, "png")
        draw_view(view, real).save(path)
        return str(path)

    def code(self, state: Any, images_zip: Any = None, request: gr.Request = None,
             **settings: Any) -> tuple[str, str]:
        """The run (or, before one, the form's settings) as one standalone Python file."""
        session = self.ctx.session(state, request)
        run = session.run
        if run is not None:
            with run.lock:
                config, origin = run.trainer.config, f"{run.name}, as run at step " \
                    f"{run.trainer.step_count:,}"
            name = f"{run.name}.py"
        else:
            config = config_from_form(settings, images_path="", limits=self.ctx.limits)
            origin, name = f"{preset_of(config)} settings", f"{preset_of(config)}.py"
        try:
            code = export_script(config, origin)
        except ValueError as e:
            raise error(str(e)) from None
        path = self.ctx.session_dir(session) / name.replace(" ", "-")
        path.write_text(code)
        return str(path), code

    def curves(self, state: Any, request: gr.Request = None) -> str:
        session, run = self._run(state, request, "download its curves")
        with run.lock:
            columns = curve_columns(run.trainer.history)
        buf = io.StringIO()
        writer = csv.writer(buf)
        names = ("step", "loss_d", "loss_g", "d_real", "d_fake")
        writer.writerow(names)
        for row in zip(*(columns[n] for n in names)):
            writer.writerow([int(row[0])] + ["" if v != v else f"{v:.6g}" for v in row[1:]])
        path = self.ctx.session_dir(session) / self._name(run, "curves.csv")
        path.write_text(buf.getvalue())
        return str(path)
