"""Which model the Sample and Discriminator tabs use: a bundled checkpoint, the session's own
model (trained in the Train tab), one of the runs it kept for comparison, or a checkpoint the
visitor uploaded.

`use_model` yields the chosen `Trainer` with its lock held, so a sample never runs in the middle
of one of the session's own training steps (sampling switches G to eval mode).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gradio as gr

from ..train import Trainer
from .common import AppContext, error, load_upload
from .session import MAX_KEPT, Session

SESSION = "session"
UPLOADED = "uploaded"
KEPT = [f"kept:{i}" for i in range(1, MAX_KEPT + 1)]  # the session's kept runs, by number


def choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, value) pairs for the model dropdown."""
    return ([(b.description, name) for name, b in ctx.bundled.items()]
            + [("The model trained in this session (Train tab)", SESSION)]
            + [(f"Kept run {i} (Train tab, Runs side by side)", v) for i, v in enumerate(KEPT, 1)]
            + [("An uploaded checkpoint (below)", UPLOADED)])


def default_choice(ctx: AppContext) -> str:
    for preferred in ("mnist-dcgan", "mnist-mlp"):
        if preferred in ctx.bundled:
            return preferred
    return next(iter(ctx.bundled), SESSION)


def dropdown(ctx: AppContext, elem_id: str) -> gr.Dropdown:
    return gr.Dropdown(choices(ctx), value=default_choice(ctx), label="Model", elem_id=elem_id,
                       info="A bundled pretrained model, your own from the Train tab, or an "
                       "uploaded checkpoint.")


@contextlib.contextmanager
def use_model(ctx: AppContext, session: Session, choice: str) -> Iterator[Trainer]:
    """The chosen model, its lock held for the duration of the block."""
    if choice in KEPT:
        run = _kept(session, choice)
        if run is None:
            raise error(f"This session has no kept run {KEPT.index(choice) + 1}: keep one in "
                        "the Train tab (Runs side by side), or pick another model.")
        with run.lock:
            yield run.trainer
    elif choice == SESSION:
        run = session.run
        if run is None:
            raise error("This session has no model yet: train one in the Train tab, or pick "
                        "a bundled model.")
        with run.lock:  # never in the middle of one of the run's own steps
            yield run.trainer
    elif choice == UPLOADED:
        with session.lock:
            if session.uploaded is None:
                raise error("No checkpoint uploaded yet: upload a .safetensors file first.")
            yield session.uploaded
    else:
        entry = ctx.load_bundled(choice)
        with entry.lock:
            assert entry.trainer is not None
            yield entry.trainer


def describe(session: Session, choice: str) -> str:
    """Which model `choice` is, in words, for the tabs' results ("" for a bundled one)."""
    if choice in KEPT:
        run = _kept(session, choice)
        return f"kept run {KEPT.index(choice) + 1}, “{run.name}”" if run is not None else ""
    if choice == SESSION and session.run is not None:
        return f"this session's run “{session.run.name}”"
    return ""


def _kept(session: Session, choice: str) -> Any:
    """The session's kept run that `choice` ("kept:N") names, or None."""
    index = KEPT.index(choice)
    with session.lock:
        return session.kept[index] if index < len(session.kept) else None


def upload(ctx: AppContext, session: Session, file: Any) -> str:
    """Load an uploaded checkpoint as the session's "uploaded" model; a one-line summary."""
    path = file if isinstance(file, str) else getattr(file, "name", None)
    if not path:
        raise error("Choose a .safetensors checkpoint to upload first.")
    ctx.limits.check_upload(path, "checkpoint")
    trainer, _, _ = load_upload(path, ctx.device, ctx.limits)  # checked in full; no server paths
    with session.lock:
        session.uploaded = trainer
    cfg = trainer.config
    return (f"Uploaded: {cfg.model.arch} on {cfg.data.dataset}, step {trainer.step_count:,}"
            f"{', conditional' if cfg.model.conditional else ''}.")
