"""Run by torchrun in tests/test_distributed.py: one rank of a data-parallel run that saves its
whole state (weights, spectral norm's u/v, the EMA, the optimisers) to OUT/rank<R>.safetensors.

    torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py OUT PRESET STEPS [field=value ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from playground.distributed import from_environment, leave
from playground.presets import get_preset
from playground.train import Trainer

out, preset, steps = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
changes = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[4:])}
torch.set_num_threads(1)
group = from_environment("cpu")
trainer = Trainer(get_preset(preset).replace(device="cpu", **changes), group=group)
trainer.step(steps)
state = {k: v for k, v in trainer.state_tensors().items() if not k.startswith("rng.")}
save_file(state, str(out / f"rank{group.rank}.safetensors"))
leave()
