"""Checkpoints: one `.safetensors` file holding a whole run, written atomically, read strictly.

The file holds G, D (and G's EMA), the optimiser moments and the random-stream states as tensors,
and JSON metadata: the `RunConfig`, data shape, step, history and library version. Loading rebuilds
the models from the file alone. Nothing is ever unpickled: the header is checked by hand before
safetensors reads a byte of tensor data, so a pickle, random bytes, an empty or truncated file, a
huge header, an unknown format version or tensors of the wrong shape all give a `CheckpointError`.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from . import __version__
from .config import RunConfig
from .train import StepRecord, Trainer

FORMAT = "gan-playground"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 1024 * 1024  # the JSON header of a real checkpoint is far smaller
MAX_HISTORY = 20_000  # records kept in the metadata; longer histories are thinned evenly
SLIM_HISTORY = 1_000  # records kept by a slim checkpoint (the app's curves show 300 points)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, with a message saying why."""


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, *, extra: dict[str, Any] | None
                    = None, slim: bool = False) -> Path:
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
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The checked, decoded metadata of a checkpoint, without loading its tensors."""
    header = _read_header(Path(path))
    raw = header.get("__metadata__")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{Path(path).name} is a safetensors file but not a GAN Playground "
                              "checkpoint (no 'gan-playground' metadata)")
    version = raw.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{Path(path).name} has checkpoint format version {version!r}; this "
                              f"version of GAN Playground reads version {FORMAT_VERSION}")
    try:
        meta = dict(raw)
        meta["config"] = RunConfig.from_dict(json.loads(raw["config"]))
        meta["data_shape"] = tuple(int(s) for s in json.loads(raw["data_shape"]))
        meta["num_classes"] = int(raw["num_classes"])
        meta["step"] = int(raw["step"])
        meta["elapsed_s"] = float(raw.get("elapsed_s", "0"))
        meta["history"] = [StepRecord(**r) for r in json.loads(raw.get("history", "[]"))]
        meta["changes"] = [(int(s), dict(c)) for s, c in json.loads(raw.get("changes", "[]"))]
        meta["extra"] = json.loads(raw.get("extra", "{}"))
        meta["slim"] = raw.get("slim", "0") == "1"
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{Path(path).name} has unreadable metadata: {e}") from None
    if meta["data_shape"] not in ((2,), (1, 28, 28), (3, 32, 32)) and not (
            len(meta["data_shape"]) == 3 and meta["data_shape"][0] in (1, 3)):
        raise CheckpointError(f"{Path(path).name} has an unsupported data shape "
                              f"{meta['data_shape']}")
    return meta


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = None,
                    dataset: Any = None) -> Trainer:
    """Rebuild a `Trainer` from a checkpoint file alone, ready to sample or to resume training."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as e:  # safetensors raises its own error types for torn files
        raise CheckpointError(f"{path.name} is damaged or truncated: {e}") from None
    try:
        trainer = Trainer(meta["config"], dataset=dataset, device=device,
                          data_shape=meta["data_shape"], num_classes=meta["num_classes"])
    except ValueError as e:
        raise CheckpointError(f"{path.name} describes a model that cannot be built: {e}") from None
    expected = set(trainer.state_tensors().keys()) | set(trainer.state_tensors_keys())
    unexpected = sorted(k for k in tensors if k not in expected and not k.startswith("opt_"))
    if unexpected:
        raise CheckpointError(f"{path.name} holds tensors this model does not have: "
                              f"{', '.join(unexpected[:5])}")
    try:
        trainer.load_state_tensors(tensors)
    except (KeyError, ValueError, RuntimeError) as e:
        message = e.args[0] if e.args else str(e)
        raise CheckpointError(f"{path.name} does not fit its model: {message}") from None
    trainer.step_count = meta["step"]
    trainer.elapsed_s = meta["elapsed_s"]
    trainer.history = meta["history"]
    trainer.changes = meta["changes"]
    return trainer


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
