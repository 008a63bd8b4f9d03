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
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from ..data import expected_shape
from ..models import count_parameters


class LimitError(ValueError):
    """A request over one of this server's hosting limits."""


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
            raise LimitError(f"{what}={value} is over this server's limit of {limit} "
                             f"(set {ENV_NAMES[limit_field]} to allow more)")

    def check_steps(self, steps: int, what: str = "steps") -> None:
        self._over(what, int(steps), "max_steps")

    def check_run_length(self, step: int, more: int) -> None:
        """Refuse `more` steps that would take a run (now at `step`) past GP_MAX_STEPS."""
        if step + more > self.max_steps:
            raise LimitError(f"{more} more step(s) would take this run to step {step + more}, "
                             f"over this server's limit of {self.max_steps} steps per run (set "
                             "GP_MAX_STEPS to allow more)")

    def check_images(self, count: int, what: str = "images") -> None:
        self._over(what, int(count), "max_images")

    def check_config(self, config: Any) -> None:
        """Refuse a `RunConfig` over the step, batch or width limits."""
        self._over("steps", config.train.steps, "max_steps")
        self._over("batch_size", config.train.batch_size, "max_batch")
        self._over("g_width", config.model.g_width, "max_width")
        self._over("d_width", config.model.d_width, "max_width")
        self.check_model(config.model, expected_shape(config.data),
                         10 if config.model.conditional else 0)

    def check_model(self, model: Any, data_shape: tuple[int, ...], num_classes: int) -> None:
        """Refuse a `ModelConfig` whose G and D together are over GP_MAX_PARAMS parameters.

        Widths double with each MLP layer, so width and depth within their limits can still
        ask for billions of weights; they are counted before any is allocated.
        """
        g, d = count_parameters(model, data_shape, num_classes)
        if g + d > self.max_params:
            raise LimitError(f"this model has {g + d:,} parameters (G {g:,}, D {d:,}), over "
                             f"this server's limit of {self.max_params:,} (set GP_MAX_PARAMS "
                             "to allow more)")

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
}
