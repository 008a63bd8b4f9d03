"""Checkpoints: one `.safetensors` file holding a whole run, written atomically, read strictly.

The file holds G, D (and G's EMA), the optimiser moments, the random-stream states and, when
saved with one, the run's timelapse as tensors, and JSON metadata: the `RunConfig`, data shape,
step, history and library version. Loading rebuilds the models from the file alone. Nothing is
ever unpickled, and nothing is built before the whole file has been checked
(`checkpoint_check.py`): the header is parsed by hand, the metadata read strictly, every tensor's
name, shape and dtype compared with what the config implies, then the values checked finite. A
pickle, random bytes, an empty or truncated file, a huge header, an unknown format version,
tensors of the wrong shape or NaN weights all give a `CheckpointError`.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import __version__
from .checkpoint_check import CheckpointError, check_finite, check_header, check_metadata
from .frames import ViewFrame
from .train import Trainer

FORMAT = "gan-playground"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 1024 * 1024  # the JSON header of a real checkpoint is far smaller
MAX_HISTORY = 20_000  # records kept in the metadata; longer histories are thinned evenly
SLIM_HISTORY = 1_000  # records kept by a slim checkpoint (the app's curves show 300 points)
TIMELAPSE_FRAMES = 60  # timelapse frames kept in a checkpoint (thinned evenly)

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "load_run", "read_metadata"]


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, *, extra: dict[str, Any] | None
                    = None, slim: bool = False,
                    timelapse: list[ViewFrame] | None = None) -> Path:
    """Write the trainer's whole state to `path` atomically (temp file in the same folder + rename).

    A crash mid-write leaves the previous file (or none), never a torn one. `slim` leaves out the
    optimisers' moments (two more copies of every weight) and keeps SLIM_HISTORY records of the
    history: a model to sample, judge and show, about half the size. Training can still resume
    from it, with Adam's moments starting again from zero.
    """
    path = Path(path)
    history = trainer.history
    keep = SLIM_HISTORY if slim else MAX_HISTORY
    if len(history) > keep:
        stride = len(history) / keep
        history = [history[int(i * stride)] for i in range(keep - 1)] + [history[-1]]
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "library_version": __version__,
        "config": json.dumps(trainer.config.to_dict()),
        "data_shape": json.dumps(list(trainer.data_shape)),
        "num_classes": str(trainer.num_classes),
        "step": str(trainer.step_count),
        "precision": trainer.precision,  # how it trained: the setting, "auto" resolved
        "world_size": str(trainer.group.world_size if trainer.group is not None else 1),
        "elapsed_s": repr(trainer.elapsed_s),
        "dataset": trainer.config.data.dataset,
        "history": json.dumps([r.to_dict() for r in history]),
        "changes": json.dumps(trainer.changes),
        "extra": json.dumps(extra or {}),
        "slim": "1" if slim else "0",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        tensors = trainer.state_tensors()
        if slim:
            tensors = {k: v for k, v in tensors.items() if not k.startswith("opt_")}
        if timelapse and not slim:
            tensors.update(timelapse_tensors(timelapse))
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def timelapse_tensors(frames: list[ViewFrame]) -> dict[str, torch.Tensor]:
    """A timelapse as tensors (at most TIMELAPSE_FRAMES, thinned evenly, the last kept)."""
    if len(frames) > TIMELAPSE_FRAMES:
        stride = len(frames) / TIMELAPSE_FRAMES
        frames = [frames[int(i * stride)] for i in range(TIMELAPSE_FRAMES - 1)] + [frames[-1]]
    out = {"timelapse.step": torch.tensor([f.step for f in frames], dtype=torch.int64)}
    if frames[0].kind == "2d":
        out["timelapse.fake"] = torch.from_numpy(np.stack([f.fake for f in frames]).view(np.int16))
        out["timelapse.fake_scores"] = torch.from_numpy(np.stack([f.fake_scores for f in frames]))
        out["timelapse.moves"] = torch.from_numpy(np.stack([f.moves for f in frames]))
        out["timelapse.move_scale"] = torch.tensor([f.move_scale for f in frames],
                                                   dtype=torch.float64)
        out["timelapse.heat"] = torch.from_numpy(np.stack([f.heat for f in frames]))
    else:
        out["timelapse.grid"] = torch.from_numpy(np.stack([f.grid for f in frames]))
        out["timelapse.scores"] = torch.from_numpy(np.stack([f.scores for f in frames]))
    return {k: v.contiguous() for k, v in out.items()}


def _timelapse_frames(tensors: dict[str, torch.Tensor], lim: float,
                      labels: list[int] | None) -> list[ViewFrame]:
    if "timelapse.step" not in tensors:
        return []
    steps = tensors["timelapse.step"].tolist()
    if "timelapse.grid" in tensors:
        grid, scores = tensors["timelapse.grid"].numpy(), tensors["timelapse.scores"].numpy()
        return [ViewFrame(s, "images", grid=grid[i], scores=scores[i], labels=labels)
                for i, s in enumerate(steps)]
    fake = tensors["timelapse.fake"].numpy().view(np.uint16)
    return [ViewFrame(s, "2d", lim, fake[i], tensors["timelapse.fake_scores"].numpy()[i],
                      tensors["timelapse.moves"].numpy()[i],
                      float(tensors["timelapse.move_scale"][i]),
                      tensors["timelapse.heat"].numpy()[i]) for i, s in enumerate(steps)]


def read_metadata(path: str | os.PathLike, tensors: bool = True) -> dict[str, Any]:
    """The checked, decoded metadata of a checkpoint, without loading its tensors (whose names,
    shapes and dtypes are checked too, unless `tensors` is False)."""
    return _checked(Path(path), tensors)[1]


def _checked(path: Path, tensors: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, metadata) of a checkpoint, both checked in full; no tensor data is read."""
    header = _read_header(path)
    raw = header.get("__metadata__")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is a safetensors file but not a GAN Playground "
                              "checkpoint (no 'gan-playground' metadata)")
    version = raw.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{path.name} has checkpoint format version {str(version)[:20]!r}; "
                              f"this version of GAN Playground reads version {FORMAT_VERSION}")
    meta = check_metadata(raw, path.name)
    if tensors:
        check_header(header, meta, path.name)
    return header, meta


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = None,
                    dataset: Any = None, group: Any = None) -> Trainer:
    """Rebuild a `Trainer` from a checkpoint file alone, ready to sample or to resume training
    (on one process, or as one of `group`'s N: any checkpoint resumes on any N)."""
    return load_run(path, device, dataset, group)[0]


def load_run(path: str | os.PathLike, device: str | torch.device | None = None,
             dataset: Any = None, group: Any = None
             ) -> tuple[Trainer, list[ViewFrame], dict[str, Any]]:
    """(trainer, timelapse frames, metadata) from a checkpoint, every part checked first."""
    path = Path(path)
    _, meta = _checked(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as e:  # safetensors raises its own error types for torn files
        raise CheckpointError(f"{path.name} is damaged or truncated: {str(e)[:200]}") from None
    check_finite(tensors, path.name)
    try:
        trainer = Trainer(meta["config"], dataset=dataset, device=device,
                          data_shape=meta["data_shape"], num_classes=meta["num_classes"],
                          group=group)
    except ValueError as e:
        raise CheckpointError(f"{path.name} describes a model that cannot be built: {e}") from None
    if len(tensors["rng.noise"]) != len(trainer.noise_gen.get_state()):
        tensors.pop("rng.noise")  # saved on another kind of device: the noise stream restarts
    try:
        trainer.load_state_tensors(tensors)
    except (KeyError, ValueError, RuntimeError) as e:
        message = e.args[0] if e.args else str(e)
        raise CheckpointError(f"{path.name} does not fit its model: {message}") from None
    trainer.step_count = meta["step"]
    trainer.elapsed_s = meta["elapsed_s"]
    trainer.history = meta["history"]
    trainer.changes = meta["changes"]
    labels = None if trainer.fixed_labels is None else [int(v) for v in trainer.fixed_labels[:64]]
    lim = 0.0
    if trainer.is_2d:
        from .frames import view_lim
        lim = view_lim(trainer)
    return trainer, _timelapse_frames(tensors, lim, labels), meta


def _read_header(path: Path) -> dict[str, Any]:
    """Parse the safetensors header by hand, refusing anything that is not one."""
    name = path.name
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if size == 0:
                raise CheckpointError(f"{name} is empty")
            if len(head) < 8:
                raise CheckpointError(f"{name} is too short to be a safetensors checkpoint")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES:
                raise CheckpointError(f"{name} is not a safetensors checkpoint (its header claims "
                                      f"{n:,} bytes; a pickle or a foreign file looks like this)")
            if n + 8 > size:
                raise CheckpointError(f"{name} is truncated or not a safetensors file")
            raw = f.read(n)
    except OSError as e:
        raise CheckpointError(f"cannot read {name}: {e.strerror or e}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{name} is not a safetensors checkpoint (bad header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name} is not a safetensors checkpoint (bad header)")
    data_end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            data_end = max(data_end, int(entry["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise CheckpointError(f"{name} has a malformed tensor entry {key!r}") from None
    if 8 + n + data_end > size:
        raise CheckpointError(f"{name} is truncated: its tensors need {8 + n + data_end:,} bytes, "
                              f"the file has {size:,}")
    return header
