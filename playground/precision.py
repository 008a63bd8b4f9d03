"""Arithmetic precision of training: "fp32" (exact, everywhere), "bf16" (mixed precision), or
"auto" (bf16 where the device does bf16 natively, else fp32: the DCGAN presets' choice).

With "bf16", the trainer runs G's and D's forward passes under `torch.autocast` with bfloat16:
matrix products and convolutions in bf16 (about 1.5x the steps per second of fp32 for the DCGAN
on a CPU with AVX-512 BF16 or AMX), every weight, gradient, optimiser moment and EMA kept in fp32.
What bf16 would hurt stays in fp32 (see `Trainer._d_step`): the losses (computed from the logits
cast back to fp32), the gradient penalty (D run again in fp32 on the interpolates), and spectral
norm's power iteration (matrix-vector products, which autocast leaves in fp32). Sampling, the
live view and quality metrics always run in fp32.

bf16 needs hardware that does it: a CPU with bf16 instructions, or a CUDA GPU that supports it
(Ampere and newer). Elsewhere `check` refuses "bf16" with a sentence that says why; only "auto"
chooses fp32 there, as it says it will. No gradio here.
"""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager

import torch

from .settings import PRECISIONS, SettingError

__all__ = ["PRECISIONS", "bf16_support", "check", "autocast"]


def bf16_support(device: torch.device) -> str:
    """"" when `device` runs bf16 arithmetic natively, else the reason it does not."""
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        has = getattr(cpu, "_is_avx512_bf16_supported", None)
        amx = getattr(cpu, "_is_amx_tile_supported", None)
        if (has is not None and has()) or (amx is not None and amx()):
            return ""
        return ("this CPU has no bf16 instructions (AVX-512 BF16 or AMX): bf16 would be "
                "emulated, slower than fp32")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return ""
        return f"this GPU ({torch.cuda.get_device_name(device)}) has no native bf16"
    return f"bf16 training is offered on the CPU and on CUDA GPUs, not on {device.type}"


def check(precision: str, device: torch.device) -> str:
    """The precision `device` trains in for the setting `precision` ("fp32" or "bf16"; "auto"
    resolved); a SettingError naming why when bf16 is asked for and `device` lacks it."""
    if precision == "auto":
        return "fp32" if bf16_support(device) else "bf16"
    if precision not in PRECISIONS:
        raise SettingError("precision", f"Precision: precision={precision!r} is not one of: "
                           f"{', '.join(PRECISIONS)}")
    if precision == "bf16":
        why = bf16_support(device)
        if why:
            raise SettingError("precision", f"Precision: precision='bf16' is not available "
                               f"here: {why}. Use precision='fp32'.")
    return precision


def autocast(device: torch.device, precision: str) -> ContextManager[Any]:
    """The context the trainer's forward passes run in: autocast to bf16, or nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()

