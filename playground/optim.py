"""The optimisers: Adam, SGD or RMSprop for G or D, in the fastest form the device has."""
from __future__ import annotations

from typing import Iterator

import torch
import torch.optim.optimizer as _optimizer_module
from torch import nn

FUSED_DEVICES = ("cpu", "cuda")  # where PyTorch has a fused Adam/SGD kernel we have tested


def make_optimizer(kind: str, params: Iterator[nn.Parameter], lr: float,
                   betas: tuple[float, float]) -> torch.optim.Optimizer:
    # Adam and SGD: fused=True, one kernel that updates every parameter in one pass (the moments
    # read and written once), where the device has one; elsewhere foreach=True, one multi-tensor
    # kernel per operation instead of a Python loop over the parameters. The same update rule up
    # to float rounding. Measured on this 2-core CPU, 1 thread, interleaved (issue 16): a step
    # takes 0.89x the time with fused Adam for ring8, 0.86x for grid25, 1.00x for mnist-dcgan
    # (its convolutions dominate). RMSprop has no fused kernel.
    params = list(params)
    fused = bool(params) and all(p.device.type in FUSED_DEVICES for p in params)
    multi = {"fused": True} if fused else {"foreach": True}
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, **multi)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, **multi)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"optimizer={kind!r} is not one of: adam, sgd, rmsprop")


def step(opt: torch.optim.Optimizer) -> None:
    """`opt.step()`, by a shorter road where that is the very same arithmetic.

    A fused Adam's `step()` spends more Python than kernel on the small 2D networks: the profiler
    hook, `_init_group` and the regrouping of every tensor by device and dtype, each step
    (~0.15 ms of a ~4 ms ring8 step, twice). Once its moments exist, a plain Adam with one group
    of CPU or CUDA tensors of one dtype, every one with a gradient, goes straight to the same
    kernel with the same arguments: bit for bit the same weights and moments
    (`tests/test_train.py`). Anything else (the first step, SGD, RMSprop, AMSGrad, hooks...)
    takes `opt.step()`. ring8 1.09x, grid25 1.07x, mnist-dcgan 1.03x the steps/s, 1 thread
    (`python -m benchmarks.step_parts`)."""
    args = _fused_adam_args(opt)
    if args is None:
        opt.step()
        return
    params, grads, exp_avgs, exp_avg_sqs, steps, group = args
    beta1, beta2 = group["betas"]
    with torch.no_grad():
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False,
                           lr=group["lr"], beta1=beta1, beta2=beta2,
                           weight_decay=group["weight_decay"], eps=group["eps"],
                           maximize=False, grad_scale=None, found_inf=None)


def _fused_adam_args(opt: torch.optim.Optimizer) -> tuple | None:
    """What `step` hands the fused kernel, or None when `opt.step()` must do it."""
    if type(opt) is not torch.optim.Adam or len(opt.param_groups) != 1:
        return None
    group = opt.param_groups[0]
    if not group.get("fused") or group.get("amsgrad") or group.get("maximize") or \
            group.get("capturable") or group.get("differentiable") or \
            group.get("decoupled_weight_decay") or isinstance(group["lr"], torch.Tensor):
        return None
    if opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks or \
            _optimizer_module._global_optimizer_pre_hooks or \
            _optimizer_module._global_optimizer_post_hooks or \
            getattr(opt, "grad_scale", None) is not None or \
            getattr(opt, "found_inf", None) is not None:
        return None
    params = group["params"]
    if not params:
        return None
    kind = (params[0].device, params[0].dtype)
    grads, exp_avgs, exp_avg_sqs, steps = [], [], [], []
    for p in params:
        state = opt.state.get(p)
        g = p.grad
        if g is None or not state or (p.device, p.dtype) != kind or g.is_sparse or \
                p.is_complex():
            return None
        grads.append(g)
        exp_avgs.append(state["exp_avg"])
        exp_avg_sqs.append(state["exp_avg_sq"])
        steps.append(state["step"])
    return params, grads, exp_avgs, exp_avg_sqs, steps, group


def zero_grad(opt: torch.optim.Optimizer) -> None:
    """`opt.zero_grad(set_to_none=True)` without its profiler wrapper: every gradient dropped."""
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = None
