"""Device selection: `pick_device("auto" | "cpu" | "cuda" | "mps")` -> `torch.device`.

"auto" prefers CUDA, then Apple's MPS, then the CPU. Asking for an accelerator that is not there
is an error rather than a silent fall-back, so a run never ends up on the CPU by surprise.
"""
from __future__ import annotations

import torch

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    # torch.backends.mps exists on every build, but be defensive about very old or stripped ones.
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """The torch device called `name`; "auto" = CUDA if available, else MPS, else CPU.

    "cuda:N" (a GPU index, as `str(torch.device)` gives) is accepted too.
    """
    if isinstance(name, str) and name.startswith("cuda:") and name[5:].isdigit():
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if int(name[5:]) >= count:
            raise ValueError(f"device={name!r} was asked for but PyTorch sees {count} CUDA "
                             "GPU(s); use device='auto' or 'cpu'.")
        return torch.device(name)
    if name not in DEVICE_NAMES:
        raise ValueError(f"device={name!r} is not one of: {', '.join(DEVICE_NAMES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available to PyTorch "
                         "(no GPU, or a CPU-only build); use device='auto' or 'cpu'.")
    if name == "mps" and not _mps_available():
        raise ValueError("device='mps' was asked for but Apple's MPS backend is not available; "
                         "use device='auto' or 'cpu'.")
    return torch.device(name)
