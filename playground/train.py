"""The training engine: one `Trainer` that the CLI, the web app and the tests all drive.

`Trainer.step(n)` plays n rounds of the GAN game and returns one plain `StepRecord` per round.
Hyperparameters change between steps with `Trainer.update(...)` (`playground/train_edits.py`).
A non-finite loss or weight rolls the model back to its last finite state and says so in the
record's `event`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from . import optim, run_state
from .config import RunConfig, TrainConfig, short_repr
from .data import Dataset, load_dataset
from .device import pick_device
from .distributed import Group, check_batch
from .losses import d_loss, g_loss, gradient_penalty
from .models import EMA, build_models
from .optim import make_optimizer
from .precision import autocast, check as check_precision
from .sample import draw_noise, latents, run_generator
from .train_edits import LiveEdits

WHICH = ("both", "d", "g")
FIXED_IMAGES = 64  # the progress grid shows the images of seeds 0..63 (as the Sample tab does)
FIXED_POINTS = 1000  # 2D data: points in the progress scatter


@dataclass
class StepRecord:
    """One round of the game, as plain numbers. None = not computed in this round."""
    step: int  # rounds played so far, this one included
    which: str  # "both", "d" (discriminator only) or "g" (generator only)
    loss_d: float | None
    loss_g: float | None
    d_real: float | None  # mean D(x) = sigmoid(logit) over the real batch
    d_fake: float | None  # mean D(G(z)) over the fake batch
    grad_norm_d: float | None
    grad_norm_g: float | None
    images_per_s: float  # real samples consumed per second over this call's rounds
    elapsed_s: float  # training time so far (excluding time spent paused)
    event: str = ""  # e.g. "diverged at step 812 ..."

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def derive_seed(seed: int, purpose: str) -> int:
    """An independent seed for one purpose (init, data, noise) from the run's seed."""
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63)


class Trainer(LiveEdits):
    """Owns G, D, their optimisers, the random streams and the history of one run."""

    def __init__(self, config: RunConfig, dataset: Dataset | None = None,
                 device: str | torch.device | None = None, *,
                 data_shape: tuple[int, ...] | None = None, num_classes: int | None = None,
                 group: Group | None = None):
        self.config = config
        # One of N data-parallel processes (torchrun; playground/distributed.py), or None.
        self.group = group
        if group is not None:
            check_batch(config.train.batch_size, config.model.pack, group.world_size)
        self.device = pick_device(str(device) if device is not None else config.train.device)
        self._dataset = dataset
        # A new run refuses bf16 at once where its device lacks it; a checkpoint opens anywhere
        # (sampling is fp32) and refuses it only when it trains (step). None: not checked yet.
        self._precision: str | None = (check_precision(config.train.precision, self.device)
                                       if data_shape is None else None)
        if data_shape is None:  # a fresh run: the data decides the shapes
            data_shape, num_classes = self.dataset.shape, self.dataset.num_classes
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_classes = int(num_classes or 0)
        if config.model.conditional and self.num_classes == 0:
            raise ValueError(f"conditional=True needs labelled data; {config.data.dataset!r} "
                             "has no labels")
        seed = config.train.seed
        init_gen = torch.Generator().manual_seed(derive_seed(seed, "init"))
        self.G, self.D = build_models(config.model, self.data_shape, self.num_classes, init_gen)
        self.G.to(self.device)
        self.D.to(self.device)
        # The networks never change after this: list their parameters once, not per step.
        self._g_params = list(self.G.parameters())
        self._d_params = list(self.D.parameters())
        self.ema: EMA | None = EMA(self.G, config.train.ema_decay) if config.train.ema_decay else None
        self.data_gen = torch.Generator().manual_seed(derive_seed(seed, "data"))
        self.noise_gen = torch.Generator(device=self.device).manual_seed(derive_seed(seed, "noise"))
        self.opt_g = self._optimizer("g")
        self.opt_d = self._optimizer("d")
        n_fixed = FIXED_POINTS if self.is_2d else FIXED_IMAGES
        self.fixed_noise = latents(range(n_fixed), config.model.z_dim,
                                   noise=config.model.noise).to(self.device)
        self.fixed_labels = (torch.arange(n_fixed, device=self.device) % self.num_classes
                             if config.model.conditional else None)
        self.step_count = 0
        self.elapsed_s = 0.0
        self.history: list[StepRecord] = []
        self.changes: list[tuple[int, dict[str, Any]]] = []  # (step, {field: new value})
        self.diverged = False
        self._good: dict[str, torch.Tensor] | None = None  # last finite state
        self._good_step = 0
        self._init_edits()
        # Shown each D and G step's tensors when set (slowmo.explain_iteration): f(kind, **t)
        self.capture: Callable[..., None] | None = None

    # ----------------------------------------------------------------- properties
    @property
    def dataset(self) -> Dataset:
        """The training data, loaded on first use (sampling from a checkpoint never needs it)."""
        if self._dataset is None:
            self._dataset = load_dataset(self.config.data, self.device)
        return self._dataset

    @property
    def is_2d(self) -> bool:
        return self.data_shape == (2,)

    @property
    def tc(self) -> TrainConfig:
        return self.config.train

    @property
    def precision(self) -> str:
        """What the steps compute in here, "fp32" or "bf16" (the setting, "auto" resolved)."""
        if self._precision is not None:
            return self._precision
        setting = self.config.train.precision
        return "bf16" if setting == "bf16" else check_precision(setting, self.device)

    def _optimizer(self, which: str) -> torch.optim.Optimizer:
        tc = self.tc
        if which == "g":
            return make_optimizer(tc.g_optimizer, self.G.parameters(), tc.g_lr, (tc.beta1, tc.beta2))
        return make_optimizer(tc.d_optimizer, self.D.parameters(), tc.d_lr, (tc.beta1, tc.beta2))

    # ----------------------------------------------------------------- the game
    def _noise(self, n: int) -> torch.Tensor:
        return draw_noise(n, self.config.model.z_dim, self.config.model.noise, self.noise_gen,
                          self.device)

    def _mine(self, batch: torch.Tensor | None) -> torch.Tensor | None:
        """This process's share of a global batch (all of it, on one process)."""
        return batch if self.group is None else self.group.shard(batch)

    def _fake_labels(self, n: int) -> torch.Tensor | None:
        if not self.config.model.conditional:
            return None
        return torch.randint(self.num_classes, (n,), generator=self.data_gen).to(self.device)

    def _d_step(self) -> tuple[torch.Tensor, ...]:
        """Discriminator: maximise E[log D(x)] + E[log(1 - D(G(z)))] (or the chosen variant)."""
        tc = self.tc
        x, y = map(self._mine, self.dataset.batch(tc.batch_size, self.data_gen))
        y_fake = self._mine(self._fake_labels(tc.batch_size))
        with autocast(self.device, self.precision):  # fp32 unless precision="bf16"
            z = self._mine(self._noise(tc.batch_size))
            with torch.no_grad():
                fake = self.G(z, y_fake)
            real_logits = self.D(x, y).float()
            fake_logits = self.D(fake, y_fake).float()
        loss = d_loss(tc.loss, real_logits, fake_logits)  # the losses always in fp32
        if tc.loss == "wgan-gp" and tc.gp_lambda > 0:  # so is the penalty: D on xhat in fp32
            loss = loss + tc.gp_lambda * gradient_penalty(self.D, x, fake, y, self.data_gen)
        if self.capture is not None:
            self.capture("d", x=x, z=z, fake=fake, real_logits=real_logits,
                         fake_logits=fake_logits, loss=loss)
        optim.zero_grad(self.opt_d)
        loss.backward()
        if self.group is not None:
            self.group.average_gradients(self._d_params)
        norm = _grad_norm(self._d_params)
        optim.step(self.opt_d)
        return loss.detach(), real_logits.detach(), fake_logits.detach(), norm

    def _g_step(self) -> tuple[torch.Tensor, ...]:
        """Generator: minimise the chosen G loss (non-saturating: -E[log D(G(z))])."""
        tc = self.tc
        y_fake = self._mine(self._fake_labels(tc.batch_size))
        _requires_grad(self._d_params, False)  # D is fixed here: skip its weight gradients
        try:
            with autocast(self.device, self.precision):
                z = self._mine(self._noise(tc.batch_size))
                fake = self.G(z, y_fake)
                if self.capture is not None:
                    fake.retain_grad()  # d loss_G / d G(z): where the G step pushes each sample
                fake_logits = self.D(fake, y_fake).float()
            loss = g_loss(tc.loss, fake_logits)
            optim.zero_grad(self.opt_g)
            loss.backward()
        finally:
            _requires_grad(self._d_params, True)
        if self.capture is not None:
            self.capture("g", z=z, fake=fake, grad=fake.grad, fake_logits=fake_logits,
                         loss=loss)
        if self.group is not None:
            self.group.average_gradients(self._g_params)
        norm = _grad_norm(self._g_params)
        optim.step(self.opt_g)
        if self.ema is not None:
            self.ema.update(self.G)
        return loss.detach(), fake_logits.detach(), norm

    def step(self, n: int = 1, which: str = "both") -> list[StepRecord]:
        """Play n rounds; which = "both" (D then G), "d" (D only) or "g" (G only).

        Scalars stay on the device until the end of the call: one sync per call, not per number.
        If a loss or weight turns non-finite, the model goes back to its last finite state, the
        returned list ends with a record whose `event` explains it, and `self.diverged` is True.
        """
        if which not in WHICH:
            raise ValueError(f"which={short_repr(which)} is not one of: {', '.join(WHICH)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n={short_repr(n)} must be a whole number >= 1")
        if self._precision is None:
            self._precision = check_precision(self.config.train.precision, self.device)
        if self._good is None:
            self._snapshot()  # the initial weights are the first good state
        self.G.train()
        self.D.train()
        nan = torch.tensor(float("nan"), device=self.device)
        rows = []
        start = time.perf_counter()
        for _ in range(n):
            loss_d = d_real = d_fake = norm_d = loss_g = norm_g = nan
            if which in ("both", "d"):
                for _ in range(self.tc.d_steps):
                    loss_d, real_logits, fake_logits, norm_d = self._d_step()
                d_real = torch.sigmoid(real_logits).mean()
                d_fake = torch.sigmoid(fake_logits).mean()
            if which in ("both", "g"):
                for _ in range(self.tc.g_steps):
                    loss_g, g_fake_logits, norm_g = self._g_step()
                if which == "g":
                    d_fake = torch.sigmoid(g_fake_logits).mean()
            rows.append(torch.stack([loss_d, loss_g, d_real, d_fake, norm_d, norm_g]))
        values = torch.stack(rows)
        if self.group is not None:  # the losses and scores of the whole batch
            values = self.group.average(values)
        values = values.cpu()
        seconds = time.perf_counter() - start
        self.elapsed_s += seconds
        images_per_s = n * self.tc.batch_size / max(seconds, 1e-9)
        return self._records(values, which, images_per_s)

    def _records(self, values: torch.Tensor, which: str, images_per_s: float) -> list[StepRecord]:
        computed_d, computed_g = which in ("both", "d"), which in ("both", "g")
        losses = values[:, [0]] if computed_d else values[:, :0]
        if computed_g:
            losses = torch.cat([losses, values[:, [1]]], dim=1)
        bad_rows = (~torch.isfinite(losses)).any(dim=1).nonzero()
        if len(bad_rows) or not self._weights_finite():
            first = int(bad_rows[0]) if len(bad_rows) else len(values) - 1
            return [self._roll_back(self.step_count + first + 1, values[first], which)]
        records = []
        for row in values.tolist():
            self.step_count += 1
            row = [None if math.isnan(v) else v for v in row]
            records.append(StepRecord(self.step_count, which, row[0], row[1], row[2], row[3],
                                      row[4], row[5], images_per_s, self.elapsed_s))
        self.history.extend(records)
        self.diverged = False
        self._snapshot()  # losses and weights are finite: this is the new last good state
        return records

    # ----------------------------------------------------------------- divergence
    def _weights_finite(self) -> bool:
        # The max-abs norm of a tensor is inf or nan exactly when one of its values is.
        norms = torch._foreach_norm([p.detach() for p in (*self._g_params, *self._d_params)],
                                    math.inf)
        return bool(torch.isfinite(torch.stack(norms)).all())

    def _snapshot(self) -> None:
        """Copy the current state into reusable buffers (no allocation once shapes are stable)."""
        self._good = run_state.copy_into(self._good, self.state_tensors())
        self._good_step = self.step_count

    def _roll_back(self, bad_step: int, row: torch.Tensor, which: str) -> StepRecord:
        what = [name for name, v in zip(("loss_d", "loss_g"), row[:2].tolist())
                if not math.isfinite(v) and not (name == "loss_g" and which == "d")
                and not (name == "loss_d" and which == "g")]
        cause = f"{' and '.join(what)} became non-finite" if what else "a weight became non-finite"
        assert self._good is not None
        self.load_state_tensors(self._good)
        self.history = [r for r in self.history if r.step <= self._good_step]
        self.step_count = self._good_step
        self.diverged = True
        event = (f"diverged at step {bad_step}: {cause}; restored the last good state "
                 f"(step {self._good_step}). Try a lower learning rate or another loss.")
        record = StepRecord(self.step_count, which, None, None, None, None, None, None, 0.0,
                            self.elapsed_s, event)
        self.history.append(record)
        return record

    # ----------------------------------------------------------------- explaining a step
    @torch.no_grad()
    def probe(self, n: int = 256) -> tuple[float, float]:
        """(mean D(x), mean D(G(z))) on a fixed probe batch: up to n held-out reals (always the
        same ones) and G (not its EMA) on the first n fixed noise vectors, both in eval mode.

        Scored before and after a single step, it shows what that step did ("D step: D(x)
        0.61 -> 0.64"). It draws from a generator of its own, never from the run's streams.
        """
        from .judge import scores  # the judge imports sample, as this module does

        real, y_real = self.dataset.real_sample(n, torch.Generator().manual_seed(1))
        z = self.fixed_noise[:n]
        y_fake = None if self.fixed_labels is None else self.fixed_labels[:n]
        fake = run_generator(self.G, z, y_fake, self.device, len(z))
        d_real = scores(self.D, real, None if y_real is None else y_real.cpu())
        d_fake = scores(self.D, fake, None if y_fake is None else y_fake.cpu())
        return float(d_real.mean()), float(d_fake.mean())

    # ----------------------------------------------------------------- sampling helpers
    def sampler(self) -> nn.Module:
        """The network to sample from: the EMA of G when on, else G itself."""
        return self.ema.shadow if self.ema is not None else self.G

    def fixed_samples(self) -> torch.Tensor:
        """G(fixed_noise) on the CPU: the progress grid (images) or scatter (2D points)."""
        return run_generator(self.sampler(), self.fixed_noise, self.fixed_labels, self.device,
                             len(self.fixed_noise))

    # ----------------------------------------------------------------- state as tensors
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything needed to resume exactly, as a flat name -> tensor dict (CPU, contiguous)."""
        return run_state.collect(self)

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Inverse of `state_tensors`. Raises KeyError/ValueError naming a missing or bad tensor."""
        run_state.restore(self, tensors)

    def state_tensors_keys(self) -> list[str]:
        """Names that a complete state must hold (optimiser moments may be absent before step 1)."""
        return run_state.required_keys(self)


def _grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def _requires_grad(params: list[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)
