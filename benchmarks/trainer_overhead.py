"""Trainer overhead: our `Trainer` against a bare, minimal PyTorch loop on the same work.

Both sides build the same G and D from the same preset, draw batches from the same dataset with
the same batch size, use the same optimisers and the same non-saturating loss. The bare loop is
the DCGAN example's loop plus what a careful hand-written loop does too, as the trainer does:
D's weights are frozen during G's step, and Adam is the fused kernel where the device has one
(issue 16). So the comparison is pure bookkeeping: the
trainer's records, grad norms, divergence checks and last-good-state snapshot. They run
interleaved (bare, trainer, trainer, bare, ...) in one process, several rounds, and we report the
median ratio of time per step (trainer / bare). Bar: <= 1.05.
"""
from __future__ import annotations

import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from playground.models import build_models
from playground.presets import get_preset
from playground.optim import make_optimizer
from playground.train import Trainer

BAR = 1.05


class BareLoop:
    """The DCGAN-example loop, nothing else: D step then G step, losses from logits, with the
    trainer's optimiser (fused Adam where the device has one)."""

    def __init__(self, config, dataset, device: torch.device):
        gen = torch.Generator().manual_seed(0)
        self.G, self.D = build_models(config.model, dataset.shape, dataset.num_classes, gen)
        self.G.to(device)
        self.D.to(device)
        t = config.train
        betas = (t.beta1, t.beta2)
        self.opt_g = make_optimizer("adam", self.G.parameters(), t.g_lr, betas)
        self.opt_d = make_optimizer("adam", self.D.parameters(), t.d_lr, betas)
        self.dataset, self.batch, self.z_dim = dataset, t.batch_size, config.model.z_dim
        self.device = device
        self.data_gen = torch.Generator().manual_seed(1)
        self.noise_gen = torch.Generator(device=device).manual_seed(2)

    def step(self, n: int) -> None:
        for _ in range(n):
            # D: maximise log D(x) + log(1 - D(G(z)))
            x, _ = self.dataset.batch(self.batch, self.data_gen)
            z = torch.randn(self.batch, self.z_dim, generator=self.noise_gen, device=self.device)
            with torch.no_grad():
                fake = self.G(z)
            loss_d = F.softplus(-self.D(x)).mean() + F.softplus(self.D(fake)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            # G: minimise -log D(G(z)), with D's weights frozen
            z = torch.randn(self.batch, self.z_dim, generator=self.noise_gen, device=self.device)
            self.D.requires_grad_(False)
            loss_g = F.softplus(-self.D(self.G(z))).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.D.requires_grad_(True)
            self.opt_g.step()
        loss_g.detach().item()  # one device sync, like the trainer's one per call


def _time(fn, n: int) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) per step of `fn(n)`."""
    start, cpu = time.perf_counter(), time.process_time()
    fn(n)
    return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


def measure(preset: str, *, steps: int, rounds: int, chunk: int,
            device: str = "cpu") -> dict[str, Any]:
    """Median time-per-step ratio trainer / bare over `rounds` interleaved rounds of `steps`."""
    config = get_preset(preset).replace(ema_decay=0.0, pack=1, loss="non-saturating",
                                        d_steps=1, g_steps=1, g_optimizer="adam",
                                        d_optimizer="adam", device=device,
                                        precision="fp32")  # the bare loop is fp32
    trainer = Trainer(config)
    bare = BareLoop(config, trainer.dataset, trainer.device)
    bare.G.load_state_dict(trainer.G.state_dict())  # the same starting weights: the same
    bare.D.load_state_dict(trainer.D.state_dict())  # arithmetic on similar numbers

    def run_trainer(n: int) -> None:
        for _ in range(n // chunk):
            trainer.step(chunk)

    bare.step(5)  # warm-up both
    trainer.step(5)
    bare_t, ours_t = [], []
    for i in range(rounds):
        sides = ("bare", "trainer") if i % 2 == 0 else ("trainer", "bare")
        for side in sides:  # alternate who goes first, so a drifting machine favours neither
            if side == "bare":
                bare_t.append(_time(bare.step, steps))
            else:
                ours_t.append(_time(run_trainer, steps))
    ratios = [o[0] / b[0] for o, b in zip(ours_t, bare_t)]
    # CPU time is what a busy, shared machine distorts least (time spent descheduled is not
    # counted); on a GPU it is mostly waiting, so there only the wall-clock ratio means much.
    cpu_ratios = [o[1] / b[1] for o, b in zip(ours_t, bare_t)]
    ratio = statistics.median(ratios)
    return {"preset": preset, "device": device, "steps_per_round": steps, "rounds": rounds,
            "chunk": chunk, "bare_steps_per_s": 1 / statistics.median(b[0] for b in bare_t),
            "trainer_steps_per_s": 1 / statistics.median(o[0] for o in ours_t),
            "median_ratio": ratio, "ratios": ratios,
            "cpu_median_ratio": statistics.median(cpu_ratios), "bar": BAR, "pass": ratio <= BAR}


def main(quick: bool = False) -> list[dict[str, Any]]:
    # (preset, steps per round, rounds, steps per Trainer.step call: the command line's 50 for
    # the fast 2D model; the DCGAN, ~13 steps a second here, 2 per call, as the app's 0.25 s
    # chunks hold 2-3 of its steps)
    plan = [("ring8", 50 if quick else 100, 3 if quick else 11, 50),
            ("mnist-dcgan", 4, 3 if quick else 25, 2)]  # short rounds: pairs close in time
    return [measure(p, steps=s, rounds=r, chunk=c) for p, s, r, c in plan]


if __name__ == "__main__":
    for row in main():
        print(row)
