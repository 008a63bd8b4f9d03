"""Plain-JSON API endpoints for scripts: start a run from a preset and advance it step by step.

The tabs' own events are API endpoints too (/train streams a summary while it trains,
/sample_grid returns an image, ...); these two return plain numbers, which suits a script or a
notebook better:

    client.predict("ring8", {"steps": 500}, api_name="/new_run")
    client.predict(200, "both", api_name="/train_steps")

They act on the caller's session (one per `gradio_client.Client`), so a model trained here can
then be sampled with /sample_grid and model="session". /train_steps plays its steps in chunks
of a fraction of a second: /pause, or cancelling the job, stops it within one chunk.
"""
from __future__ import annotations

import math
from typing import Any

import anyio
import gradio as gr

from ..config import short_repr
from ..presets import get_preset
from ..sample import generate, parse_seeds
from ..settings import MAX_POINTS, SERVER_ONLY_FIELDS, SettingError
from . import model_choice
from .common import QUICK, TRAIN, AppContext, error, trainer_or_fallback, user_errors
from .form import CUSTOM, preset_of
from .session import Session
from .train_events import summary

MAX_SETTINGS = 64  # fields in one /new_run settings object


def _summary(session: Session, records: list[Any] | None = None) -> dict[str, Any]:
    out = summary(session)
    out["event"] = next((r.event for r in reversed(records or []) if r.event), "")
    return out


def _whole(n: Any, name: str) -> int:
    """A whole number from JSON: 2.5, NaN, "ten" or True are refused, never rounded."""
    ok = (isinstance(n, int) and not isinstance(n, bool)) or (
        isinstance(n, float) and math.isfinite(n) and n.is_integer())
    if not ok or n < 1:
        raise error(f"{name}={short_repr(n)} must be a whole number of at least 1")
    return int(n)


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
            if not isinstance(settings, dict) or len(settings) > MAX_SETTINGS:
                raise error("settings must be a JSON object of config fields, e.g. "
                            '{"steps": 500}')
            # Paths on the server are off limits: they would let a caller train on (and see,
            # through the report's galleries) any image folder the server can read.
            off_limits = sorted(set(settings) & set(SERVER_ONLY_FIELDS))
            if off_limits:
                raise SettingError(off_limits[0], f"{', '.join(off_limits)} cannot be set over "
                                   "the API: the server's files are off limits (upload a .zip "
                                   "of images with /train instead)")
            limits.check_values(settings)
            config = config.replace(**settings)
        if config.train.device == "auto" and ctx.device != "auto":  # honour --device
            config = config.replace(device=ctx.device)
        limits.check_config(config)
        session = ctx.session(None, request)
        trainer, note = trainer_or_fallback(config)  # a missing torchvision set: bundled digits
        name = preset if preset_of(config) == preset else (
            preset_of(config) if preset_of(config) != CUSTOM else config.data.dataset)
        ctx.new_run(session, trainer, name)
        return {**_summary(session), "note": note}

    @user_errors
    async def train_steps(n: int = 100, which: str = "both",
                          request: gr.Request = None) -> dict[str, Any]:  # type: ignore
        """Play n more steps ("both", "d" or "g") on this session's run; returns its summary."""
        n = _whole(n, "n")
        if which not in ("both", "d", "g"):
            raise error(f"which={short_repr(which)} is not one of: both, d, g")
        limits.check_steps(n, "n")
        session = ctx.session(None, request)
        run = session.run
        if run is None:
            raise error("This session has no run yet: call /new_run first.")
        limits.check_run_length(run.trainer.step_count, n)
        await anyio.to_thread.run_sync(run.begin_steps)
        records: list[Any] = []
        left = n
        while left > 0 and not run.stop_requested:  # a cancel lands at the next await
            chunk = await anyio.to_thread.run_sync(run.play_chunk, left, which)
            records += chunk
            left -= len(chunk)
            if run.trainer.diverged:
                break
        return _summary(session, records)

    @user_errors
    def sample_points(model: str = "session", seeds: str = "0-99", truncation: float = 1.0,
                      request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """A 2D model's generated points by seed, as JSON: {"points": [[x, y], ...], "seeds":
        [...], ...}; seed s always gives the same point. `model` as in /sample_grid."""
        if not isinstance(seeds, str):
            raise SettingError("seeds", "Seeds: give them as text, e.g. \"0-99\" or \"1, 5, 9\"")
        try:
            seed_list = parse_seeds(seeds, max_count=MAX_POINTS)
        except ValueError as e:
            raise SettingError("seeds", f"Seeds: {e}") from None
        if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or \
                not (math.isfinite(truncation) and 0 < truncation <= 1):
            raise SettingError("truncation", f"Truncation ψ: {short_repr(truncation)} must be a "
                               "number in (0, 1]")
        session = ctx.session(None, request)
        with model_choice.use_model(ctx, session, model) as trainer:
            if not trainer.is_2d:
                raise error("/sample_points is for 2D models; this one makes images: use "
                            "/sample_grid")
            m = trainer.config.model
            points = generate(trainer.sampler(), seed_list, m.z_dim, truncation=float(truncation),
                              device=trainer.device, noise=m.noise)
            step, dataset = trainer.step_count, trainer.config.data.dataset
        return {"model": model_choice.describe(session, model) or str(model), "step": step,
                "dataset": dataset, "truncation": float(truncation), "seeds": seed_list,
                "points": [[round(x, 6), round(y, 6)] for x, y in points.tolist()]}

    def view_token(request: gr.Request = None) -> str:  # type: ignore[assignment]
        """The token this session's live view pulls its frames with (the page gets it at load;
        a script that watches its own run, as the benchmarks do, asks here)."""
        return ctx.session(None, request).token

    gr.api(new_run, api_name="new_run", concurrency_id=QUICK)
    gr.api(sample_points, api_name="sample_points", concurrency_id=QUICK)
    gr.api(view_token, api_name="view_token", api_visibility="undocumented",
           concurrency_id=QUICK)
    gr.api(train_steps, api_name="train_steps", concurrency_id=TRAIN,
           concurrency_limit=limits.train_concurrency)
