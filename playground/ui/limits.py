"""Hosting limits for a shared app (a share link, a Space), read from environment variables.

Every limit is checked on the server, for clicks and API calls alike, and a request over a limit is
refused with a `LimitError` that names the setting, the value asked for, the limit and the
variable that raises it. Nothing is silently clamped. No gradio import here: the tabs turn a
`LimitError` into a `gr.Error`.

| variable | default | what it bounds |
|---|---|---|
| GP_MAX_STEPS | 20000 | the steps of one run (its target, and steps added by API calls) |
| GP_MAX_BATCH | 1024 | batch size |
| GP_MAX_WIDTH | 1024 | G and D width (hidden units or base channels) |
| GP_MAX_PARAMS | 20000000 | parameters of G and D together (depth doubles MLP widths) |
| GP_MAX_UPLOAD_MB | 50 | any uploaded file (checkpoint, zip of images, image) |
| GP_QUEUE_SIZE | 64 | events waiting in the queue before new ones are turned away |
| GP_TRAIN_CONCURRENCY | 4 | training runs that advance at the same time |
| GP_QUICK_CONCURRENCY | 4 | quick jobs (sampling, scoring) that run at the same time |
| GP_MAX_IMAGES | 256 | images in one sample grid or discriminator report |
| GP_SESSION_TTL_S | 3600 | seconds an idle session's model is kept (API clients never close tabs) |
| GP_MAX_SESSIONS | 16 | sessions holding a run at once (the one idle longest is saved and closed) |
| GP_MAX_STEP_GFLOP | 40 | estimated compute of one training iteration, in GFLOP |
| GP_MAX_RUN_MB | 400 | estimated memory of one run: weights in every copy, a step's activations |
| GP_MAX_DATA_MB | 256 | your own images once decoded (as float32 tensors) |
| GP_UPLOAD_MB | 200 | megabytes one visitor may upload in 10 minutes (HTTP 429 past it) |
| GP_CALLS_PER_MIN | 120 | calls one visitor may send a minute, bursts of half that (HTTP 429 past it) |
| GP_AUTOSAVE_S | 30 | seconds between automatic saves of each live run (into GP_RUNS_DIR) |
| GP_RUNS_MB | 1024 | the runs folder's size; the runs saved longest ago are removed first |

Not limits, read elsewhere: GP_RUNS_DIR (the runs folder, `app.py`), GP_TRUST_PROXY (believe
X-Forwarded-For for the visitor's address, `uploads.py`), GP_AUTH (a login, `app.py`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from ..budget import run_cost
from ..data import expected_shape
from ..settings import SettingError, label


class LimitError(SettingError):
    """A request over one of this server's hosting limits; `field` names the setting (or "")."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(field, message)


@dataclass(frozen=True)
class Limits:
    max_steps: int = 20_000  # GP_MAX_STEPS
    max_batch: int = 1024  # GP_MAX_BATCH
    max_width: int = 1024  # GP_MAX_WIDTH
    max_params: int = 20_000_000  # GP_MAX_PARAMS: G + D; counted without allocating them
    max_upload_mb: int = 50  # GP_MAX_UPLOAD_MB
    queue_size: int = 64  # GP_QUEUE_SIZE
    train_concurrency: int = 4  # GP_TRAIN_CONCURRENCY
    quick_concurrency: int = 4  # GP_QUICK_CONCURRENCY
    max_images: int = 256  # GP_MAX_IMAGES
    session_ttl_s: int = 3600  # GP_SESSION_TTL_S
    max_sessions: int = 16  # GP_MAX_SESSIONS: sessions holding a run at once
    max_step_gflop: int = 40  # GP_MAX_STEP_GFLOP: estimated compute of one training iteration
    max_run_mb: int = 400  # GP_MAX_RUN_MB: estimated memory of a run (weights, copies, activations)
    max_data_mb: int = 256  # GP_MAX_DATA_MB: your own images, decoded (float32)
    upload_mb: int = 200  # GP_UPLOAD_MB: megabytes one visitor may upload in 10 minutes
    calls_per_min: int = 120  # GP_CALLS_PER_MIN: calls one visitor may send a minute
    autosave_s: int = 30  # GP_AUTOSAVE_S: seconds between automatic saves of a live run
    runs_mb: int = 1024  # GP_RUNS_MB: the runs folder's size (the runs saved longest ago go)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{ENV_NAMES[f.name]}={value!r} must be a whole number >= 1")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        """Limits from GP_* variables; unset ones keep their defaults, bad ones are an error."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_NAMES[f.name])
            if raw is None or raw.strip() == "":
                continue
            try:
                values[f.name] = int(raw.strip())
            except ValueError:
                raise ValueError(f"{ENV_NAMES[f.name]}={raw!r} must be a whole number >= 1") \
                    from None
        return cls(**values)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    # ------------------------------------------------------------------ checks
    def _over(self, what: str, value: int, limit_field: str) -> None:
        limit = getattr(self, limit_field)
        if value > limit:
            shown = f"{label(what)}: {what}" if label(what) != what else what
            number = f"{value}" if abs(value) < 1e15 else f"{float(value):.3g}"
            raise LimitError(f"{shown}={number} is over this server's limit of {limit:,} "
                             f"(set {ENV_NAMES[limit_field]} to allow more)", what)

    def check_values(self, values: dict[str, Any]) -> None:
        """Refuse numbers over a hosting limit among raw setting values (before the config's
        own checks, so the message gives the tighter bound). Non-numbers are left to those."""
        for name, limit_field in LIMITED_FIELDS.items():
            value = values.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                    value == value and value > getattr(self, limit_field):
                whole = float(value).is_integer() and abs(value) < 1e15
                self._over(name, int(value) if whole else value, limit_field)

    def check_steps(self, steps: int, what: str = "steps") -> None:
        self._over(what, int(steps), "max_steps")

    def check_run_length(self, step: int, more: int) -> None:
        """Refuse `more` steps that would take a run (now at `step`) past GP_MAX_STEPS."""
        if step + more > self.max_steps:
            raise LimitError(f"{more:,} more step(s) would take this run to step "
                             f"{step + more:,}, over this server's limit of {self.max_steps:,} "
                             "steps per run (set GP_MAX_STEPS to allow more)", "steps")

    def check_images(self, count: int, what: str = "images") -> None:
        self._over(what, int(count), "max_images")

    def check_config(self, config: Any) -> None:
        """Refuse a `RunConfig` over the step, batch or width limits."""
        self._over("steps", config.train.steps, "max_steps")
        self._over("batch_size", config.train.batch_size, "max_batch")
        self._over("g_width", config.model.g_width, "max_width")
        self._over("d_width", config.model.d_width, "max_width")
        self.check_cost(config, expected_shape(config.data), 10 if config.model.conditional
                        else 0)

    def check_cost(self, config: Any, data_shape: tuple[int, ...], num_classes: int) -> None:
        """Refuse a run whose models, compute per step or memory are over this server's budget.

        Widths double with each MLP layer, so width and depth within their limits can still ask
        for billions of weights, and a batch of 1,024 with 100 D steps for hours of compute a
        step: everything is worked out on PyTorch's meta device before any of it is allocated
        (`playground.budget`).
        """
        cost = run_cost(config.model, config.train, data_shape, num_classes)
        if cost.params > self.max_params:
            raise LimitError(f"this model has {cost.params:,} parameters (G {cost.params_g:,}, "
                             f"D {cost.params_d:,}), over this server's limit of "
                             f"{self.max_params:,} (set GP_MAX_PARAMS to allow more)", "g_width")
        if cost.step_gflop > self.max_step_gflop:
            raise LimitError(f"one training step would take about {cost.step_gflop:,.0f} GFLOP "
                             f"(batch size, D and G steps per iteration and widths together), "
                             f"over this server's limit of {self.max_step_gflop:,} (set "
                             "GP_MAX_STEP_GFLOP to allow more)", "batch_size")
        if cost.memory_mb > self.max_run_mb:
            raise LimitError(f"this run would need about {cost.memory_mb:,.0f} MB of memory "
                             f"(its weights in every copy a run keeps, and a step's "
                             f"activations), over this server's limit of {self.max_run_mb:,} "
                             "MB (set GP_MAX_RUN_MB to allow more)", "batch_size")

    @property
    def max_data_bytes(self) -> int:
        return self.max_data_mb * 1024 * 1024

    def check_train_fields(self, changes: dict[str, Any]) -> None:
        """Refuse live edits (`Trainer.update` fields) over the limits."""
        if "steps" in changes:
            self._over("steps", int(changes["steps"]), "max_steps")
        if "batch_size" in changes:
            self._over("batch_size", int(changes["batch_size"]), "max_batch")

    def check_upload(self, path: str | os.PathLike | None, what: str = "upload") -> None:
        """Refuse an uploaded file larger than GP_MAX_UPLOAD_MB."""
        if path is None:
            return
        size = os.path.getsize(path)
        if size > self.max_upload_bytes:
            raise LimitError(f"the {what} is {size / 1024 / 1024:.1f} MB, over this server's "
                             f"limit of {self.max_upload_mb} MB (set GP_MAX_UPLOAD_MB to allow "
                             "more)")


LIMITED_FIELDS = {"steps": "max_steps", "batch_size": "max_batch", "g_width": "max_width",
                  "d_width": "max_width"}
ENV_NAMES = {
    "max_steps": "GP_MAX_STEPS",
    "max_batch": "GP_MAX_BATCH",
    "max_width": "GP_MAX_WIDTH",
    "max_params": "GP_MAX_PARAMS",
    "max_upload_mb": "GP_MAX_UPLOAD_MB",
    "queue_size": "GP_QUEUE_SIZE",
    "train_concurrency": "GP_TRAIN_CONCURRENCY",
    "quick_concurrency": "GP_QUICK_CONCURRENCY",
    "max_images": "GP_MAX_IMAGES",
    "session_ttl_s": "GP_SESSION_TTL_S",
    "max_sessions": "GP_MAX_SESSIONS",
    "max_step_gflop": "GP_MAX_STEP_GFLOP",
    "max_run_mb": "GP_MAX_RUN_MB",
    "max_data_mb": "GP_MAX_DATA_MB",
    "upload_mb": "GP_UPLOAD_MB",
    "calls_per_min": "GP_CALLS_PER_MIN",
    "autosave_s": "GP_AUTOSAVE_S",
    "runs_mb": "GP_RUNS_MB",
}
