"""Plain-JSON API endpoints for scripts: start a run from a preset and advance it step by step.

The tabs' own events are API endpoints too (/train streams the whole view, /sample_grid returns
an image, ...); these two return plain numbers, which suits a script or a notebook better:

    client.predict("ring8", {"steps": 500}, api_name="/new_run")
    client.predict(200, "both", api_name="/train_steps")

They act on the caller's session (one per `gradio_client.Client`), so a model trained here can
then be sampled with /sample_grid and model="session".
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from .. import plots
from ..config import short_repr
from ..presets import get_preset
from ..train import Trainer
from .common import QUICK, SERVER_PATH_FIELDS, TRAIN, AppContext, error, trainer_or_fallback, \
    user_errors
from .train_loop import play


def _summary(trainer: Trainer, records: list[Any] | None = None) -> dict[str, Any]:
    last = next((r for r in reversed(trainer.history) if not r.event), None)
    event = next((r.event for r in reversed(records or []) if r.event), "")
    return {
        "step": trainer.step_count,
        "target": trainer.config.train.steps,
        "dataset": trainer.config.data.dataset,
        "diverged": trainer.diverged,
        "event": event,
        "last": last.to_dict() if last is not None else None,
        # Flat config fields, as /new_run takes them. Data paths are left out: a dict with a
        # "path" key would look like a file to gradio_client, which would try to download it.
        "settings": {k: v for group in trainer.config.to_dict().values() for k, v in group.items()
                     if k not in ("path", "data_root", "download")},
    }


def register(ctx: AppContext) -> None:
    """Add /new_run and /train_steps to the Blocks being built."""
    limits = ctx.limits

    @user_errors
    def new_run(preset: str = "ring8", settings: dict[str, Any] | None = None,
                request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Start a new (untrained) run in this session from a preset, with any config fields
        changed by `settings`, e.g. {"steps": 500, "g_lr": 0.001}. Returns the run's summary."""
        config = get_preset(preset)
        if settings:
            if not isinstance(settings, dict):
                raise error("settings must be a JSON object of config fields, e.g. "
                            '{"steps": 500}')
            # Paths on the server are off limits: they would let a caller train on (and see,
            # through the report's galleries) any image folder the server can read.
            off_limits = sorted(set(settings) & set(SERVER_PATH_FIELDS))
            if off_limits:
                raise error(f"{', '.join(off_limits)} cannot be set over the API: the server's "
                            "files are off limits (upload a .zip of images with /train instead)")
            config = config.replace(**settings)
        if config.train.device == "auto" and ctx.device != "auto":  # honour --device
            config = config.replace(device=ctx.device)
        limits.check_config(config)
        session = ctx.session(None, request)
        trainer, note = trainer_or_fallback(config)  # a missing torchvision set: bundled digits
        session.stop.set()
        session.set_trainer(trainer)
        with session.lock:
            return {**_summary(trainer), "note": note}

    @user_errors
    def train_steps(n: int = 100, which: str = "both",
                    request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Play n more steps ("both", "d" or "g") on this session's run; returns its summary."""
        if not (isinstance(n, int) and not isinstance(n, bool) or isinstance(n, float)
                and n.is_integer()) or n < 1:  # JSON may send 2.5, NaN, "ten": never round them
            raise error(f"n={short_repr(n)} must be a whole number of at least 1")
        n = int(n)
        limits.check_steps(n, "n")
        session = ctx.session(None, request)
        with session.lock:
            trainer = session.trainer
            if trainer is None:
                raise error("This session has no run yet: call /new_run first.")
            limits.check_run_length(trainer.step_count, int(n))
            records = play(trainer, int(n), which)
            if trainer.diverged:
                session.warning = records[-1].event
            session.timelapse.offer(trainer.step_count,
                                    lambda: plots.progress_image(trainer, session.layers))
            return _summary(trainer, records)

    gr.api(new_run, api_name="new_run", concurrency_id=QUICK)
    gr.api(train_steps, api_name="train_steps", concurrency_id=TRAIN,
           concurrency_limit=limits.train_concurrency)
