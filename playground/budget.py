"""What a run will cost, worked out before anything is allocated: parameters, compute, memory.

`run_cost(model, train, data_shape, num_classes)` builds G and D on PyTorch's meta device (shapes
only, no memory), counts their parameters, runs one forward pass of each under a FLOP counter
(`FlopCount`: PyTorch's formulas, without `FlopCounterMode`'s module tracking) and adds up the
activations their layers produce. From those it estimates:

- `step_gflop`: one training iteration (d_steps D updates, g_steps G updates) at the run's batch
  size. Per sample, a D update costs G's forward pass plus D's forward and backward passes on a
  real and a fake sample (~ F_G + 6 F_D), a G update G's and D's forward and backward passes
  (~ 3 F_G + 3 F_D), and WGAN-GP's penalty another ~5 F_D per D update;
- `memory_mb`: the weights in every copy a live run keeps (G, D, the EMA of G, Adam's two
  moments, the last good state, the live view's copies, the run before each of the last two
  live edits: ~16 copies) plus the activations of one
  update (those of G and of D on reals and fakes, kept for the backward pass, at batch size).

The hosting limits (`ui/limits.py`) refuse a run whose estimate is over GP_MAX_STEP_GFLOP or
GP_MAX_RUN_MB, so one request cannot make the server compute for hours or swap. Estimates,
within a factor of about two of what PyTorch does; the bars leave room for that.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from .models import build_models

WEIGHT_COPIES = 16  # G, D, EMA(G), 2 Adam moments each, the last good state, the view's copies
#                    (8), and the run before each of the last 2 live edits (train_edits.UNDO_STATES:
#                    its weights, EMA and moments, ~4 each)
BYTES = 4  # float32


@dataclass(frozen=True)
class RunCost:
    params_g: int
    params_d: int
    step_gflop: float  # one iteration at the run's batch size
    memory_mb: float  # weights in every copy, plus one update's activations

    @property
    def params(self) -> int:
        return self.params_g + self.params_d


@functools.lru_cache(maxsize=64)
def _per_sample(model, data_shape: tuple[int, ...], num_classes: int
                ) -> tuple[int, int, float, float, float, float]:
    """(params G, params D, FLOPs G, FLOPs D, activations G, activations D) for one sample (one
    group of `pack` samples for D), on the meta device."""
    with torch.device("meta"):
        G, D = build_models(model, data_shape, num_classes, torch.Generator())
        pack = model.pack
        z = torch.zeros(pack, model.z_dim)
        y = torch.zeros(pack, dtype=torch.long) if model.conditional else None
        fake, flops_g, acts_g = _measure(G, z, y)
        _, flops_d, acts_d = _measure(D, fake, y)
    count = [sum(p.numel() for p in m.parameters()) for m in (G, D)]
    return count[0], count[1], flops_g / pack, flops_d / pack, acts_g / pack, acts_d / pack


def _measure(net: torch.nn.Module, *args) -> tuple[torch.Tensor, int, int]:
    """(output, FLOPs, numbers its layers output) of one forward pass of `net`."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(o.numel()))
             for name, m in net.named_modules()
             if not list(m.children()) and "parametrizations" not in name]
    try:
        with FlopCount() as counter:
            out = net(*args)
    finally:
        for h in hooks:
            h.remove()
    return out, counter.total, sum(sizes)


class FlopCount(TorchDispatchMode):
    """The FLOPs of the ops run in this thread, by PyTorch's own formulas (`flop_registry`).

    `torch.utils.flop_counter.FlopCounterMode` is not used: to attribute FLOPs to modules it
    installs global module hooks, which reach every thread's models. A run training in another
    session then met those hooks in its backward pass and stopped ("A leaf node was passed to
    _will_engine_execute_node..."). A dispatch mode is this thread's alone."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in flop_registry and func is not torch.ops.prim.device.default:
            with self:  # a composite op: count what it is made of, as FlopCounterMode does
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        if packet in flop_registry:
            self.total += int(flop_registry[packet](*args, **kwargs, out_val=out))
        return out


def run_cost(model, train, data_shape: tuple[int, ...], num_classes: int = 0) -> RunCost:
    """The cost of a run with these `ModelConfig` and `TrainConfig` (see the module docstring)."""
    pg, pd, fg, fd, ag, ad = _per_sample(model, tuple(int(s) for s in data_shape),
                                         num_classes if model.conditional else 0)
    batch = train.batch_size
    d_update = fg + 6 * fd + (5 * fd if train.loss == "wgan-gp" else 0)
    g_update = 3 * fg + 3 * fd
    step = batch * (train.d_steps * d_update + train.g_steps * g_update)
    weights = WEIGHT_COPIES * (pg + pd) * BYTES
    activations = batch * (ag + 2 * ad) * BYTES * 2  # outputs, and their gradients
    return RunCost(pg, pd, step / 1e9, (weights + activations) / 2**20)

