"""Everything a checkpoint must be, checked before anything is built from it.

An uploaded checkpoint is a stranger's file. `check_metadata` reads its metadata strictly (every
field of the right type and range, the data shape one this app can train, the history and the
marks of live edits well formed); `check_header` compares every tensor the header declares, by
name, shape and dtype, with what the config says the run holds (worked out on PyTorch's meta
device, so nothing is allocated); `check_finite` refuses NaN or infinite weights. Only then
does `checkpoint.load_run` read the tensor data and build a model. A refusal is a
`CheckpointError` with one sentence, and nothing of the caller's state has changed.
"""
from __future__ import annotations

import json
import math
from typing import Any

import torch

from .config import FOLDER_DATASET, RunConfig
from .data import expected_shape
from .frames import FAKE_POINTS, GRID_IMAGES, HEAT_RESOLUTION
from .models import build_models
from .settings import LIVE_FIELDS, SettingError, check

MAX_STEP = 10_000_000  # as the step target's own range
MAX_TIMELAPSE = 120
GENERATOR_STATE_BYTES = (5056, 16)  # a CPU generator's state; a CUDA one's (seed, offset)
OPTIMIZER_STATE = {"adam": ("step", "exp_avg", "exp_avg_sq"), "rmsprop": ("step", "square_avg"),
                   "sgd": ()}
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8",
          torch.int8: "I8", torch.int16: "I16", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.bool: "BOOL", torch.int32: "I32"}
RECORD_FIELDS = {"step": int, "which": str, "loss_d": float, "loss_g": float, "d_real": float,
                 "d_fake": float, "grad_norm_d": float, "grad_norm_g": float,
                 "images_per_s": float, "elapsed_s": float, "event": str}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, with a message saying why."""


def fixed_count(data_shape: tuple[int, ...]) -> int:
    from .train import FIXED_IMAGES, FIXED_POINTS
    return FIXED_POINTS if tuple(data_shape) == (2,) else FIXED_IMAGES


# ------------------------------------------------------------------------ metadata
def _json(raw: dict[str, str], key: str, default: str, name: str) -> Any:
    text = raw.get(key, default)
    if not isinstance(text, str):
        raise CheckpointError(f"{name} has unreadable metadata: {key} is not text")
    try:
        return json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{name} has unreadable metadata: {key} is nested too deeply") \
            from None
    except ValueError:
        raise CheckpointError(f"{name} has unreadable metadata: {key} is not JSON") from None


def _whole(raw: dict[str, str], key: str, lo: int, hi: int, name: str, default: str = "") -> int:
    text = raw.get(key, default)
    if not isinstance(text, str) or not text.strip().lstrip("-").isdigit() or len(text) > 12:
        raise CheckpointError(f"{name} has unreadable metadata: {key} must be a whole number")
    value = int(text)
    if not lo <= value <= hi:
        raise CheckpointError(f"{name} has unreadable metadata: {key}={value:,} is out of "
                              f"range: allowed [{lo:,}, {hi:,}]")
    return value


def check_metadata(raw: dict[str, str], name: str) -> dict[str, Any]:
    """The decoded metadata of a checkpoint's header, every field checked."""
    from .train import StepRecord

    try:
        config = RunConfig.from_dict(_json(raw, "config", "", name))
    except (TypeError, AttributeError):
        raise CheckpointError(f"{name} has unreadable metadata: config is not an object of "
                              "settings") from None
    except ValueError as e:
        raise CheckpointError(f"{name} has unreadable metadata: {e}") from None
    meta: dict[str, Any] = dict(raw)
    meta["config"] = config
    shape = _json(raw, "data_shape", "", name)
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in shape):
        raise CheckpointError(f"{name} has unreadable metadata: data_shape must be a list of "
                              "whole numbers")
    meta["data_shape"] = tuple(shape)
    _check_data_shape(config, meta["data_shape"], name)
    meta["num_classes"] = _whole(raw, "num_classes", 0, 10, name)
    if meta["num_classes"] not in (0, 10):
        raise CheckpointError(f"{name} has unreadable metadata: num_classes must be 0 or 10")
    meta["step"] = _whole(raw, "step", 0, MAX_STEP, name)
    try:
        meta["elapsed_s"] = float(raw.get("elapsed_s", "0"))
    except (TypeError, ValueError):
        meta["elapsed_s"] = math.nan
    if not math.isfinite(meta["elapsed_s"]) or not 0 <= meta["elapsed_s"] < 1e9:
        raise CheckpointError(f"{name} has unreadable metadata: elapsed_s must be a number of "
                              "seconds >= 0")
    history = _json(raw, "history", "[]", name)
    if not isinstance(history, list) or len(history) > 20_000:
        raise CheckpointError(f"{name} has unreadable metadata: history must be a list of at "
                              "most 20,000 records")
    meta["history"] = [StepRecord(**_record(r, meta["step"], name)) for r in history]
    meta["changes"] = _changes(_json(raw, "changes", "[]", name), meta["step"], name)
    extra = _json(raw, "extra", "{}", name)
    if not isinstance(extra, dict):
        raise CheckpointError(f"{name} has unreadable metadata: extra must be an object")
    meta["extra"] = extra
    meta["slim"] = raw.get("slim", "0") == "1"
    world = raw.get("world_size", "1")  # processes it trained on (torchrun); absent: one
    if not (isinstance(world, str) and world.isascii() and world.isdigit()
            and 1 <= int(world) <= 4096):
        raise CheckpointError(f"{name} has unreadable metadata: world_size must be a whole "
                              "number from 1 to 4,096")
    meta["world_size"] = int(world)
    meta["precision"] = raw.get("precision")  # how it trained; absent in older checkpoints
    if meta["precision"] not in (None, "fp32", "bf16"):
        raise CheckpointError(f"{name} has unreadable metadata: precision must be fp32 or bf16")
    return meta


def _check_data_shape(config: RunConfig, shape: tuple[int, ...], name: str) -> None:
    if config.data.dataset == FOLDER_DATASET:  # your own images: C in (1, 3), a square side
        ok = (len(shape) == 3 and shape[0] in (1, 3) and shape[1] == shape[2]
              and 8 <= shape[1] <= 128 and shape == expected_shape(config.data))
    else:
        ok = shape == expected_shape(config.data)
    if not ok:
        raise CheckpointError(f"{name} has an unsupported data shape {shape} for its dataset "
                              f"{config.data.dataset!r} (expected {expected_shape(config.data)})")


def _record(r: Any, step: int, name: str) -> dict[str, Any]:
    if not isinstance(r, dict) or set(r) - set(RECORD_FIELDS) or \
            set(RECORD_FIELDS) - set(r) - {"event"}:
        raise CheckpointError(f"{name} has unreadable metadata: a history record has the wrong "
                              "fields")
    out: dict[str, Any] = {}
    for key, kind in RECORD_FIELDS.items():
        value = r.get(key, "" if kind is str else None)
        if kind is float:
            ok = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
            value = float(value) if ok and value is not None else value
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= step
        else:
            ok = isinstance(value, str) and len(value) <= 1000
        if not ok:
            raise CheckpointError(f"{name} has unreadable metadata: a history record's {key} "
                                  f"is not a valid {kind.__name__}")
        out[key] = value
    if out["which"] not in ("both", "d", "g"):
        raise CheckpointError(f"{name} has unreadable metadata: a history record's which "
                              "must be both, d or g")
    return out


def _changes(changes: Any, step: int, name: str) -> list[tuple[int, dict[str, Any]]]:
    bad = CheckpointError(f"{name} has unreadable metadata: changes must be a list of "
                          "[step, {setting: value}] pairs of live settings")
    if not isinstance(changes, list) or len(changes) > 10_000:
        raise bad
    out = []
    for item in changes:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int)
                and not isinstance(item[0], bool) and 0 <= item[0] <= step
                and isinstance(item[1], dict)):
            raise bad
        try:
            values = {k: check(k, v) for k, v in item[1].items() if k in LIVE_FIELDS}
        except SettingError as e:
            raise CheckpointError(f"{name} has unreadable metadata: a marked change is bad: "
                                  f"{e}") from None
        if len(values) != len(item[1]):
            raise bad
        out.append((item[0], values))
    return out


# ------------------------------------------------------------------------ tensors
def expected_tensors(config: RunConfig, data_shape: tuple[int, ...], num_classes: int
                     ) -> tuple[dict[str, tuple[tuple[int, ...], torch.dtype]],
                                dict[str, tuple[tuple[int, ...], torch.dtype]]]:
    """(required, optional) tensors of a run with this config, name -> (shape, dtype), worked
    out on the meta device. Optional: the optimisers' moments (a slim checkpoint has none)."""
    with torch.device("meta"):
        G, D = build_models(config.model, data_shape, num_classes, torch.Generator())
    required: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for prefix, module in (("G", G), ("D", D)) + ((("EMA", G),) if config.train.ema_decay
                                                      else ()):
        for k, v in module.state_dict().items():
            required[f"{prefix}.{k}"] = (tuple(v.shape), v.dtype)
    n = fixed_count(data_shape)
    required["fixed_noise"] = ((n, config.model.z_dim), torch.float32)
    if config.model.conditional:
        required["fixed_labels"] = ((n,), torch.int64)
    optional: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    for prefix, module, kind in (("opt_g", G, config.train.g_optimizer),
                                 ("opt_d", D, config.train.d_optimizer)):
        for i, p in enumerate(module.parameters()):
            for key in OPTIMIZER_STATE[kind]:
                shape = () if key == "step" else tuple(p.shape)
                optional[f"{prefix}.{i}.{key}"] = (shape, torch.float32)
    return required, optional


def timelapse_shapes(config: RunConfig, data_shape: tuple[int, ...], k: int
                     ) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The timelapse tensors of k frames of a run with this config."""
    shapes: dict[str, tuple[tuple[int, ...], torch.dtype]] = {
        "timelapse.step": ((k,), torch.int64)}
    if tuple(data_shape) == (2,):
        n = min(fixed_count(data_shape), FAKE_POINTS)
        n -= n % config.model.pack
        r = HEAT_RESOLUTION
        shapes.update({"timelapse.fake": ((k, n, 2), torch.int16),
                       "timelapse.fake_scores": ((k, n), torch.uint8),
                       "timelapse.moves": ((k, n, 2), torch.int8),
                       "timelapse.move_scale": ((k,), torch.float64),
                       "timelapse.heat": ((k, r, r), torch.uint8)})
    else:
        n = min(fixed_count(data_shape), GRID_IMAGES)
        shapes.update({"timelapse.grid": ((k, n, *data_shape), torch.uint8),
                       "timelapse.scores": ((k, n), torch.uint8)})
    return shapes


def check_header(header: dict[str, Any], meta: dict[str, Any], name: str) -> None:
    """Every tensor the header declares has the name, shape and dtype the config implies."""
    config, shape, classes = meta["config"], meta["data_shape"], meta["num_classes"]
    required, optional = expected_tensors(config, shape, classes)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    generators = {"rng.data", "rng.noise"}
    k = 0
    if "timelapse.step" in entries:
        dims = entries["timelapse.step"].get("shape") if isinstance(
            entries["timelapse.step"], dict) else None
        if not (isinstance(dims, list) and len(dims) == 1 and isinstance(dims[0], int)
                and 1 <= dims[0] <= MAX_TIMELAPSE):
            raise CheckpointError(f"{name} has a malformed timelapse (at most {MAX_TIMELAPSE} "
                                  "frames)")
        k = dims[0]
    lapse = timelapse_shapes(config, shape, k) if k else {}
    for key, entry in entries.items():
        if key in generators:
            want = [((n,), torch.uint8) for n in GENERATOR_STATE_BYTES]
        elif key == "ema.updates" and config.train.ema_decay:  # absent in older checkpoints
            want = [((), torch.int64)]
        elif key in required:
            want = [required[key]]
        elif key in optional:
            want = [optional[key]]
        elif key in lapse:
            want = [lapse[key]]
        else:
            raise CheckpointError(f"{name} holds a tensor this model does not have: {key[:60]}")
        got = (tuple(entry.get("shape", ())), entry.get("dtype"))
        if not any(got == (s, DTYPES[d]) for s, d in want):
            s, d = want[0]
            what = (f"shape {got[0]}, the model needs {s}" if got[0] != s else
                    f"dtype {str(got[1])[:10]}, the model needs {DTYPES[d]}")
            raise CheckpointError(f"{name} does not fit its model: tensor {key[:60]} has {what}")
    missing = sorted(k for k in (*required, *generators, *lapse) if k not in entries)
    if missing:
        raise CheckpointError(f"{name} does not fit its model: missing tensor(s): "
                              f"{', '.join(m[:60] for m in missing[:5])}")
    moments = [key for key in optional if key in entries]
    if moments and len(moments) != len(optional):
        raise CheckpointError(f"{name} does not fit its model: some of the optimisers' moments "
                              "are missing")


def check_finite(tensors: dict[str, torch.Tensor], name: str) -> None:
    """Refuse NaN or infinite values in any floating-point tensor (weights, moments, noise)."""
    for key, t in tensors.items():
        if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{name} holds NaN or infinite values in {key[:60]}: the run "
                                  "it saved had diverged")
