"""A run's whole state as a flat name -> tensor dict, and back.

What a checkpoint stores and what the divergence guard restores: G, D, the EMA (and where its
warm-up stands), both optimisers' moments, the two random streams and the fixed noise. Flat
names ("G.net.0.weight", "opt_d.3.exp_avg", "rng.data") so safetensors can hold them as they are.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

EMA_WARM = 1 << 30  # EMA updates counted for a checkpoint saved without the count


def collect(trainer: Any) -> dict[str, torch.Tensor]:
    """Everything needed to resume `trainer` exactly (on the CPU, contiguous)."""
    out: dict[str, torch.Tensor] = {}
    for prefix, module in (("G", trainer.G), ("D", trainer.D)):
        for k, v in module.state_dict().items():
            out[f"{prefix}.{k}"] = v
    if trainer.ema is not None:
        for k, v in trainer.ema.shadow.state_dict().items():
            out[f"EMA.{k}"] = v
        out["ema.updates"] = torch.tensor(trainer.ema.updates)  # where its warm-up stands
    for prefix, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for index, state in opt.state_dict()["state"].items():
            for key, value in state.items():
                if torch.is_tensor(value):
                    out[f"{prefix}.{index}.{key}"] = value
                elif value is not None:
                    out[f"{prefix}.{index}.{key}"] = torch.tensor(value)
    out["rng.data"] = trainer.data_gen.get_state()
    out["rng.noise"] = trainer.noise_gen.get_state()
    out["fixed_noise"] = trainer.fixed_noise
    if trainer.fixed_labels is not None:
        out["fixed_labels"] = trainer.fixed_labels
    return {k: v.detach().to("cpu").contiguous() for k, v in out.items()}


def restore(trainer: Any, tensors: dict[str, torch.Tensor]) -> None:
    """Inverse of `collect`. Raises KeyError/ValueError naming a missing or bad tensor.
    Timelapse tensors (a checkpoint's `timelapse.*`) are not part of the state: ignored."""
    tensors = {k: v for k, v in tensors.items() if not k.startswith("timelapse.")}
    missing = sorted(k for k in required_keys(trainer) if k not in tensors)
    if missing:
        raise KeyError(f"missing tensor(s): {', '.join(missing[:5])}")
    for prefix, module in (("G", trainer.G), ("D", trainer.D)):
        _load_module(module, prefix, tensors)
    if trainer.ema is not None:
        _load_module(trainer.ema.shadow, "EMA", tensors)
        # A checkpoint from before the EMA's warm-up has no count: its average is past it.
        trainer.ema.updates = int(tensors["ema.updates"]) if "ema.updates" in tensors \
            else EMA_WARM
    for prefix, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        state: dict[int, dict[str, Any]] = {}
        for name, value in tensors.items():
            if name.startswith(prefix + "."):
                _, index, key = name.split(".", 2)
                state.setdefault(int(index), {})[key] = value.to(trainer.device) \
                    if key != "step" else value
        if state:
            opt.load_state_dict({"state": state,
                                 "param_groups": opt.state_dict()["param_groups"]})
        else:
            opt.state.clear()
    trainer.data_gen.set_state(tensors["rng.data"].clone())
    if "rng.noise" in tensors:  # absent: saved on another kind of device (it restarts)
        trainer.noise_gen.set_state(tensors["rng.noise"].clone())
    trainer.fixed_noise = tensors["fixed_noise"].to(trainer.device).clone()
    if "fixed_labels" in tensors:
        trainer.fixed_labels = tensors["fixed_labels"].to(trainer.device).clone()


def required_keys(trainer: Any) -> list[str]:
    """Names a complete state must hold (optimiser moments may be absent before step 1)."""
    keys = [f"G.{k}" for k in trainer.G.state_dict()] + [f"D.{k}" for k in trainer.D.state_dict()]
    if trainer.ema is not None:
        keys += [f"EMA.{k}" for k in trainer.ema.shadow.state_dict()]
    return keys + ["rng.data", "fixed_noise"]


def copy_into(buffers: dict[str, torch.Tensor] | None,
              state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` kept in `buffers`, reusing them when every name, shape and dtype still matches
    (the divergence guard's snapshot after each call: no allocation once shapes are stable)."""
    if buffers is not None and buffers.keys() == state.keys() and all(
            buffers[k].shape == v.shape and buffers[k].dtype == v.dtype for k, v in state.items()):
        torch._foreach_copy_(list(buffers.values()), [state[k] for k in buffers])
        return buffers
    return {k: v.clone() for k, v in state.items()}


def _load_module(module: nn.Module, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    own = module.state_dict()
    sub = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    unexpected = sorted(set(sub) - set(own))
    if unexpected:
        raise KeyError(f"unexpected tensor(s) for {prefix}: {', '.join(unexpected[:5])}")
    for k, v in sub.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"tensor {prefix}.{k} has shape {tuple(v.shape)}, "
                             f"the model needs {tuple(own[k].shape)}")
    module.load_state_dict(sub, strict=True)
