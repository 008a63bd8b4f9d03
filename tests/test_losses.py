"""The GAN games: each loss moves G and D the right way, closed forms, stability, gradient penalty."""
import math

import pytest
import torch
from torch import nn

from playground.config import LOSSES, ModelConfig
from playground.losses import d_loss, g_loss, gradient_penalty
from playground.models import build_models


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def score(kind: str, logits: torch.Tensor) -> float:
    """What each game's D says about samples: a probability, or the raw critic value."""
    return (logits if kind in ("hinge", "wgan-gp") else torch.sigmoid(logits)).mean().item()


def tiny_2d(seed: int = 0):
    return build_models(ModelConfig(z_dim=4, g_width=8, d_width=8), (2,), 0, gen(seed))


@pytest.mark.parametrize("kind", LOSSES)
def test_generator_step_raises_d_score_of_fakes(kind):
    G, D = tiny_2d()
    D.requires_grad_(False)  # a fixed judge
    z = torch.randn(64, 4, generator=gen(1))
    before = D(G(z))
    assert before.mean() < 1  # lsgan pulls fakes towards 1: start below it, as in training
    opt = torch.optim.SGD(G.parameters(), lr=0.05)
    g_loss(kind, D(G(z))).backward()
    opt.step()
    with torch.no_grad():
        assert score(kind, D(G(z))) > score(kind, before)


@pytest.mark.parametrize("kind", LOSSES)
def test_discriminator_step_separates_reals_from_fakes(kind):
    _, D = tiny_2d()
    real = torch.randn(64, 2, generator=gen(1)) * 0.3 + 1.0
    fake = torch.randn(64, 2, generator=gen(2)) * 0.3 - 1.0

    def separation() -> float:
        with torch.no_grad():
            return (D(real).mean() - D(fake).mean()).item()

    before = separation()
    opt = torch.optim.SGD(D.parameters(), lr=0.05)
    d_loss(kind, D(real), D(fake)).backward()
    opt.step()
    assert separation() > before


def test_closed_forms():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    bce = -(math.log(sig(0)) + math.log(sig(2))) / 2 - (math.log(1 - sig(0)) + math.log(1 - sig(-1))) / 2
    expected_d = {
        "non-saturating": bce, "minimax": bce,
        "lsgan": 0.5 * ((0 - 1) ** 2 + (2 - 1) ** 2) / 2 + 0.5 * (0 + 1) / 2,
        "hinge": (1 + 0) / 2 + (1 + 0) / 2,
        "wgan-gp": -0.5 - 1.0,
    }
    expected_g = {
        "non-saturating": -(math.log(sig(0)) + math.log(sig(-1))) / 2,
        "minimax": (math.log(1 - sig(0)) + math.log(1 - sig(-1))) / 2,
        "lsgan": 0.5 * (1 + 4) / 2,
        "hinge": 0.5, "wgan-gp": 0.5,
    }
    for kind in LOSSES:
        assert d_loss(kind, real, fake).item() == pytest.approx(expected_d[kind], rel=1e-6), kind
        assert g_loss(kind, fake).item() == pytest.approx(expected_g[kind], rel=1e-6), kind


def test_minimax_saturates_where_non_saturating_does_not():
    rejected = torch.full((4,), -10.0, requires_grad=True)  # D is sure these are fake
    grads = {}
    for kind in ("minimax", "non-saturating"):
        (grads[kind],) = torch.autograd.grad(g_loss(kind, rejected), rejected)
    assert grads["minimax"].abs().max() < 1e-4
    assert grads["non-saturating"].abs().min() > 0.2
    assert (grads["minimax"] < 0).all() and (grads["non-saturating"] < 0).all()  # both push up


@pytest.mark.parametrize("kind", LOSSES)
def test_finite_at_extreme_logits(kind):
    real = torch.tensor([100.0, -100.0, 0.0], requires_grad=True)
    fake = torch.tensor([-100.0, 100.0, 0.0], requires_grad=True)
    for loss in (d_loss(kind, real, fake), g_loss(kind, fake)):
        grads = torch.autograd.grad(loss, (real, fake), allow_unused=True)
        assert torch.isfinite(loss)
        assert all(g is None or torch.isfinite(g).all() for g in grads)


def test_unknown_kind_names_it_and_the_choices():
    for call in (lambda: d_loss("wasserstein", torch.zeros(2), torch.zeros(2)),
                 lambda: g_loss("wasserstein", torch.zeros(2))):
        with pytest.raises(ValueError, match="'wasserstein'.*non-saturating, minimax"):
            call()


class LinearCritic(nn.Module):
    """D(x) = <w, flattened group of `pack` samples>: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, pack: int = 1):
        super().__init__()
        self.w, self.pack = nn.Parameter(w), pack

    def forward(self, x, y=None):
        return x.reshape(x.shape[0] // self.pack, -1) @ self.w


def test_gradient_penalty_zero_for_unit_gradient_positive_otherwise():
    real = torch.randn(6, 1, 4, 4, generator=gen(1))
    fake = torch.randn(6, 1, 4, 4, generator=gen(2))
    w = torch.randn(16, generator=gen(3))
    unit = LinearCritic(w / w.norm())
    assert gradient_penalty(unit, real, fake, generator=gen()).item() < 1e-8
    steep = LinearCritic(3 * w / w.norm())
    gp = gradient_penalty(steep, real, fake, generator=gen())
    assert gp.item() == pytest.approx(4.0, rel=1e-5)  # (3 - 1)^2
    gp.backward()  # create_graph: the penalty trains D
    assert steep.w.grad.norm() > 0
    # Packed critic: a group of 2 is one input, so the unit norm is over the whole group.
    w2 = torch.randn(32, generator=gen(4))
    assert gradient_penalty(LinearCritic(w2 / w2.norm(), pack=2), real, fake, generator=gen()) < 1e-8


def test_gradient_penalty_on_real_discriminator_is_seeded_and_trains_d():
    cfg = ModelConfig(arch="dcgan", z_dim=8, g_width=8, d_width=8, conditional=True,
                      spectral_norm=True, pack=2)
    _, D = build_models(cfg, (1, 28, 28), 10, gen())
    real = torch.rand(4, 1, 28, 28, generator=gen(1)) * 2 - 1
    fake = torch.rand(4, 1, 28, 28, generator=gen(2)) * 2 - 1
    y = torch.tensor([1, 2, 3, 4])
    D.eval()  # freeze spectral norm's power iteration so both calls see the same D
    a = gradient_penalty(D, real, fake, y, generator=gen(5))
    b = gradient_penalty(D, real, fake, y, generator=gen(5))
    c = gradient_penalty(D, real, fake, y, generator=gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.isfinite(a) and a > 0
    a.backward()
    for name, p in D.named_parameters():  # biases do not change an input gradient: no grad there
        assert name.endswith("bias") or (p.grad is not None and torch.isfinite(p.grad).all()), name
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(D, real, fake[:2], y)
