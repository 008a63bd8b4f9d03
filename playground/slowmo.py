"""Slow motion: one training iteration of a 2D GAN, taken apart into the stages it is made of.

`explain_iteration(trainer)` plays one real iteration of the run (`Trainer.step(1)`: the run's
own batch, noise, losses and optimisers; the step counts like any other) while watching its D
and G steps (`Trainer.capture`), and returns what each stage shows, as plain JSON-ready numbers:

  1. sample noise z            (the D step's batch of noise)
  2. G(z): the fake points      G turns each z into a point
  3. D scores real and fake     D(x) for the real batch, D(G(z)) for the fakes
  4. D's loss                   the chosen game's formula with these numbers filled in
  5. D's gradients and update   D's decision map before and after its step(s)
  6. G's loss                   a fresh batch of z, G(z), scored by the updated D
  7. G's gradients              -d loss_G / d G(z): where the G step pushes each point
  8. G's update                 the points after G's step(s), moved along those arrows

The browser plays the stages one per click, or by itself (`ui/js/slowmo.js`). With several D
(or G) steps per iteration, the batch shown is the first step's, the "after" pictures follow
the last. The points are G's own (not its moving average, which the live view shows). No gradio.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .frames import HEAT_RESOLUTION, view_lim
from .judge import decision_map, scores
from .sample import run_generator
from .train import Trainer

SHOW = 64  # points of each batch shown
STAGES = (
    ("z", "d", "Sample noise z",
     "The D step starts from a batch of noise vectors z ({noise}, {z_dim} numbers each); the "
     "small square shows their first two coordinates."),
    ("fake", "d", "G(z): the generator makes fake points",
     "G turns each z into a point of the plane: these purple points are its fakes."),
    ("scores", "d", "D scores real and fake",
     "D gives each point a score in (0, 1): mean D(x) = {d_real:.3f} on the real batch (green), "
     "mean D(G(z)) = {d_fake:.3f} on the fakes. D wants 1 for real and 0 for fake."),
    ("d_loss", "d", "D's loss", "{d_formula}{d_note}"),
    ("d_update", "d", "D's gradients and update",
     "The gradient of D's loss with respect to D's weights (norm {d_grad:.3g}) says how to "
     "change D to score better; {d_steps} step(s) of {d_opt} at learning rate {d_lr:g} move "
     "D's decision map (the background changes). On the same batch: D(x) {d_real:.3f} → "
     "{d_real_after:.3f}, D(G(z)) {d_fake:.3f} → {d_fake_after:.3f}."),
    ("g_loss", "g", "G's loss",
     "The G step takes a fresh batch of noise, makes its fakes and asks the updated D: mean "
     "D(G(z)) = {g_fake:.3f}. {g_formula}"),
    ("g_grad", "g", "G's gradients",
     "The gradient of G's loss with respect to each fake point (the arrows) says which way "
     "each point must move to fool D more; it flows back through G to G's weights (norm "
     "{g_grad:.3g})."),
    ("g_update", "g", "G's update",
     "{g_steps} step(s) of {g_opt} at learning rate {g_lr:g} change G's weights, and every "
     "point moves along its arrow. The same noise, scored by D: D(G(z)) {g_fake:.3f} → "
     "{g_fake_after:.3f}. One iteration done: step {step:,}."),
)


def _mean_log_sigmoid(logits: torch.Tensor) -> float:
    return float(-F.softplus(-logits).mean())  # E[log D] with D = sigmoid(logit)


def _mean_log_one_minus(logits: torch.Tensor) -> float:
    return float(-F.softplus(logits).mean())  # E[log(1 - D)]


def d_formula(loss: str, real_logits: torch.Tensor, fake_logits: torch.Tensor,
              total: float, gp_lambda: float = 0.0) -> str:
    """D's loss for the game `loss`, its formula with this batch's numbers filled in."""
    r, f = real_logits.double(), fake_logits.double()
    if loss in ("non-saturating", "minimax"):
        a, b = _mean_log_sigmoid(r), _mean_log_one_minus(f)
        return (f"loss_D = −E[log D(x)] − E[log(1 − D(G(z)))] = −({a:.4f}) − ({b:.4f}) = "
                f"{total:.4f}")
    if loss == "lsgan":
        a, b = float((r - 1).pow(2).mean()), float(f.pow(2).mean())
        return (f"loss_D = ½·E[(D̃(x) − 1)²] + ½·E[D̃(G(z))²] = ½·{a:.4f} + ½·{b:.4f} = "
                f"{total:.4f}   (D̃: D's raw output)")
    if loss == "hinge":
        a, b = float(F.relu(1 - r).mean()), float(F.relu(1 + f).mean())
        return (f"loss_D = E[max(0, 1 − D̃(x))] + E[max(0, 1 + D̃(G(z)))] = {a:.4f} + {b:.4f} "
                f"= {total:.4f}   (D̃: D's raw output)")
    if loss == "wgan-gp":
        a, b = float(f.mean()), float(r.mean())
        penalty = (total - (a - b)) / gp_lambda if gp_lambda > 0 else 0.0
        return (f"loss_D = E[D̃(G(z))] − E[D̃(x)] + λ·GP = {a:.4f} − ({b:.4f}) + {gp_lambda:g}·"
                f"{penalty:.4f} = {total:.4f}   (D̃: the critic's raw output; GP: its gradient "
                "penalty)")
    raise ValueError(f"loss={loss!r} has no formula here")


def g_formula(loss: str, fake_logits: torch.Tensor, total: float) -> str:
    """G's loss for the game `loss`, its formula with this batch's numbers filled in."""
    f = fake_logits.double()
    if loss == "non-saturating":
        return f"loss_G = −E[log D(G(z))] = −({_mean_log_sigmoid(f):.4f}) = {total:.4f}"
    if loss == "minimax":
        return (f"loss_G = E[log(1 − D(G(z)))] = {_mean_log_one_minus(f):.4f} (G minimises it; "
                "it saturates when D rejects the fakes)")
    if loss == "lsgan":
        return f"loss_G = ½·E[(D̃(G(z)) − 1)²] = ½·{float((f - 1).pow(2).mean()):.4f} = {total:.4f}"
    if loss in ("hinge", "wgan-gp"):
        return f"loss_G = −E[D̃(G(z))] = −({float(f.mean()):.4f}) = {total:.4f}"
    raise ValueError(f"loss={loss!r} has no formula here")


def _round(values: Any, digits: int = 4) -> list:
    array = np.asarray(values, dtype=np.float64)
    return np.round(np.nan_to_num(array), digits).tolist()


def _plane(z: torch.Tensor) -> torch.Tensor:
    """The first two coordinates of each z (a 1-D z gets 0 for the second)."""
    return z[:, :2] if z.shape[1] >= 2 else torch.cat([z, torch.zeros_like(z)], dim=1)


def explain_iteration(trainer: Trainer, show: int = SHOW) -> dict[str, Any]:
    """Play one iteration of `trainer` ("both": its D steps, then its G steps) and return
    what each stage shows (see the module docstring). A ValueError for image runs; when the
    step diverges, the run is rolled back as always and the result says so ("event")."""
    if not trainer.is_2d:
        raise ValueError("Step, slowly shows one iteration on 2D data (the points and D's "
                         "map): pick a 2D data set to use it")
    tc, model = trainer.config.train, trainer.config.model
    lim = view_lim(trainer)
    pack = int(getattr(trainer.D, "pack", 1))
    n = max(pack, min(show, tc.batch_size) // pack * pack)
    seen: dict[str, dict[str, torch.Tensor]] = {}

    def capture(kind: str, **tensors: Any) -> None:
        if kind not in seen:  # the first D step's batch and the first G step's
            seen[kind] = {k: (v.detach().float().cpu() if torch.is_tensor(v) else v)
                          for k, v in tensors.items()}

    heat_before = decision_map(trainer.D, lim, HEAT_RESOLUTION)
    trainer.capture = capture
    try:
        record = trainer.step(1, "both")[-1]
    finally:
        trainer.capture = None
    if record.event:
        return {"event": record.event, "step": trainer.step_count}
    d, g = seen["d"], seen["g"]
    real, fake = d["x"][:n], d["fake"][:n]
    d_real, d_fake = scores(trainer.D, real), scores(trainer.D, fake)  # after D's update
    real_scores = torch.sigmoid(d["real_logits"]).repeat_interleave(pack)[:n]
    fake_scores = torch.sigmoid(d["fake_logits"]).repeat_interleave(pack)[:n]
    heat_after = decision_map(trainer.D, lim, HEAT_RESOLUTION)
    g_fake = g["fake"][:n]
    g_scores = torch.sigmoid(g["fake_logits"]).repeat_interleave(pack)[:n]
    moves = -g["grad"][:n] if g["grad"] is not None else torch.zeros_like(g_fake)
    moved = run_generator(trainer.G, g["z"][:n], None, trainer.device, n)
    moved_scores = scores(trainer.D, moved)
    numbers = {
        "noise": model.noise, "z_dim": model.z_dim,
        "d_real": float(real_scores.mean()), "d_fake": float(fake_scores.mean()),
        "d_real_after": float(d_real.mean()), "d_fake_after": float(d_fake.mean()),
        "d_loss": float(d["loss"]), "d_grad": float(record.grad_norm_d or 0.0),
        "g_fake": float(g_scores.mean()), "g_fake_after": float(moved_scores.mean()),
        "g_loss": float(g["loss"]), "g_grad": float(record.grad_norm_g or 0.0),
        "d_steps": tc.d_steps, "g_steps": tc.g_steps, "d_lr": tc.d_lr, "g_lr": tc.g_lr,
        "d_opt": tc.d_optimizer, "g_opt": tc.g_optimizer, "step": trainer.step_count,
        "d_formula": d_formula(tc.loss, d["real_logits"], d["fake_logits"], float(d["loss"]),
                               tc.gp_lambda),
        "g_formula": g_formula(tc.loss, g["fake_logits"], float(g["loss"])),
        "d_note": (f" (the first of {tc.d_steps} D steps; each draws its own batch, and the "
                   "curves record the last)" if tc.d_steps > 1 else ""),
    }
    stages = [{"key": key, "path": path, "title": title, "text": text.format(**numbers)}
              for key, path, title, text in STAGES]
    span = max(1.0, float(d["z"][:n].abs().max()))
    return {
        "step": trainer.step_count, "loss": tc.loss, "lim": lim, "res": HEAT_RESOLUTION,
        "numbers": {k: v for k, v in numbers.items() if not isinstance(v, str)},
        "stages": stages, "z_span": math.ceil(span),
        "d": {"z": _round(_plane(d["z"][:n])), "real": _round(real), "fake": _round(fake),
              "real_scores": _round(real_scores, 3), "fake_scores": _round(fake_scores, 3),
              "real_scores_after": _round(d_real, 3), "fake_scores_after": _round(d_fake, 3),
              "heat_before": _round(heat_before, 3), "heat_after": _round(heat_after, 3)},
        "g": {"z": _round(_plane(g["z"][:n])), "fake": _round(g_fake),
              "scores": _round(g_scores, 3), "moves": _round(moves, 6), "moved": _round(moved),
              "moved_scores": _round(moved_scores, 3)},
        "event": "",
    }
