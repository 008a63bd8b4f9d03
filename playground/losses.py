"""The GAN games: discriminator and generator losses on logits, and the WGAN-GP gradient penalty.

The original game (Goodfellow et al. 2014) is

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))],     D(x) = sigmoid(logit).

D maximises it, so D *minimises* d_loss = -E[log D(x)] - E[log(1 - D(G(z)))]
= mean(softplus(-real_logits)) + mean(softplus(fake_logits)): binary cross-entropy with reals
labelled 1 and fakes labelled 0. G minimises E[log(1 - D(G(z)))] = -mean(softplus(fake_logits))
("minimax", which saturates: its gradient vanishes exactly when D rejects the fakes, early on).
The usual fix ("non-saturating", the default) has G minimise -E[log D(G(z))] =
mean(softplus(-fake_logits)) instead: same fixed point, strong gradients when G is losing.

Two sign errors in the textbook this playground grew from: it prints G's loss as
-sum log(1 - D(G(z))), which G would *maximise*, and it labels the fakes 1 in D's loss, which
trains D to call fakes real. The forms above are the correct ones.

Every function takes logits (never probabilities) and uses stable forms (softplus), so
logits of +-100 give finite losses and gradients. The other games:
- lsgan (Mao et al. 2017): least squares on the raw outputs, targets 1 for real, 0 for fake.
- hinge (Lim & Ye 2017; SAGAN, BigGAN): D = mean(relu(1 - real)) + mean(relu(1 + fake)), G = -mean(fake).
- wgan-gp (Gulrajani et al. 2017): the critic's D = mean(fake) - mean(real), G = -mean(fake), plus
  gp_lambda * gradient_penalty(...) added by the trainer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import LOSSES


def _unknown(kind: str) -> ValueError:
    return ValueError(f"loss={kind!r} is not one of: {', '.join(LOSSES)}")


def d_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss for the game `kind`; D minimises it."""
    if kind in ("non-saturating", "minimax"):  # -E[log D(x)] - E[log(1 - D(G(z)))]
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "wgan-gp":
        return fake_logits.mean() - real_logits.mean()
    raise _unknown(kind)


def g_loss(kind: str, fake_logits: Tensor) -> Tensor:
    """The generator's loss for the game `kind`; G minimises it."""
    if kind == "non-saturating":  # -E[log D(G(z))]
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":  # E[log(1 - D(G(z)))], since log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (fake_logits - 1).pow(2).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    raise _unknown(kind)


def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor, y: Tensor | None = None,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP's E[(||grad_xhat D(xhat)||_2 - 1)^2] at xhat = eps * real + (1 - eps) * fake.

    eps ~ U(0, 1) per sample, drawn from `generator`. The graph is kept (create_graph) so the
    penalty trains D; real and fake are detached, as the penalty is D's alone. With packing
    (D.pack = k) a group of k samples is one input of the critic, so the norm is taken per group.
    The trainer multiplies the result by gp_lambda.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same shape")
    n = real.shape[0]
    device = generator.device if generator is not None else real.device
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), generator=generator, device=device)
    eps = eps.to(real.device, real.dtype)
    xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    logits = D(xhat) if y is None else D(xhat, y)
    # Each logit depends only on its own group (D has no BatchNorm), so the gradient of the sum
    # holds every group's own input gradient.
    (grad,) = torch.autograd.grad(logits.sum(), xhat, create_graph=True)
    pack = getattr(D, "pack", 1)
    norms = (grad.reshape(n // pack, -1).pow(2).sum(1) + 1e-12).sqrt()  # +eps: finite grad at 0
    return (norms - 1).pow(2).mean()
