"""Discriminator analysis: scores, AUC, report, saliency, decision maps, arrows, heatmaps."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from playground.config import ModelConfig
from playground.judge import (decision_map, discriminator_report, generator_gradients,
                              heatmap_image, roc_auc, saliency, score_image, scores)
from playground.models import build_models


def logit(p: float) -> float:
    return math.log(p / (1 - p))


class FirstValueD(nn.Module):
    """logit = the sample's first value (times `gain`), + label when given; packed groups average.

    Carries a parameter, Dropout and BatchNorm so modes and leaked gradients can be checked.
    """

    def __init__(self, pack: int = 1, gain: float = 1.0, column: int = 0):
        super().__init__()
        self.pack, self.column = pack, column
        self.gain = nn.Parameter(torch.tensor(gain))
        self.drop = nn.Dropout(0.5)
        self.bn = nn.BatchNorm1d(1, affine=False)  # identity in eval mode (fresh running stats)

    def forward(self, x, y=None):
        v = x.flatten(1)[:, self.column:self.column + 1]
        v = self.bn(self.drop(v)).squeeze(1) * self.gain
        if y is not None:
            v = v + y.float()
        return v.reshape(-1, self.pack).mean(1)


class PixelD(nn.Module):
    """logit = 3 * pixel (row 2, column 3) of channel 1: saliency must light up that pixel only."""

    def __init__(self, pack: int = 1):
        super().__init__()
        self.pack = pack
        w = torch.zeros(2, 5, 6)
        w[1, 2, 3] = 3.0
        self.w = nn.Parameter(w)

    def forward(self, x, y=None):
        return (x * self.w).flatten(1).sum(1).reshape(-1, self.pack).mean(1)


def points(ps):
    """Samples whose first value is logit(p), so FirstValueD scores them p."""
    return torch.tensor([[logit(p), 0.0] for p in ps])


def test_scores_are_sigmoid_of_logits_batched_and_in_eval_mode():
    D = FirstValueD()
    D.train()
    ps = [0.1, 0.5, 0.75, 0.99, 0.3]
    s = scores(D, points(ps), batch_size=2)
    assert s.dtype == np.float64 and s.shape == (5,)
    assert np.allclose(s, ps, atol=1e-6)  # train-mode Dropout/BatchNorm would change these
    assert D.training and D.drop.training and D.bn.training
    assert D.gain.grad is None
    y = torch.tensor([0, 1, 0, 0, 0])
    assert scores(D, points(ps), y)[1] == pytest.approx(1 / (1 + math.exp(-1)), abs=1e-6)


def test_packed_scores_are_repeated_per_sample_and_odd_counts_are_filled():
    D = FirstValueD(pack=2)
    x = torch.tensor([[1.0], [3.0], [-2.0], [0.0], [5.0]])
    s = scores(D, x, batch_size=2)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    # groups (1, 3) -> 2, (-2, 0) -> -1, and the last sample alone, filled with itself -> 5
    assert np.allclose(s, [sig(2), sig(2), sig(-1), sig(-1), sig(5)], atol=1e-6)


def test_roc_auc_known_cases():
    assert roc_auc(np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.9, 0.8, 0.7])) == 0.0
    assert roc_auc(np.full(4, 0.5), np.full(3, 0.5)) == 0.5
    # 2 reals x 2 fakes: pairs (0.8>0.3), (0.8>0.6), (0.6=0.6 -> 1/2), (0.6>0.3) -> 3.5 / 4
    assert roc_auc(np.array([0.8, 0.6]), np.array([0.6, 0.3])) == pytest.approx(0.875)
    rng = np.random.default_rng(0)
    a, b = rng.random(30), rng.random(40)
    brute = np.mean([(x > y) + 0.5 * (x == y) for x in a for y in b])
    assert roc_auc(a, b) == pytest.approx(brute)
    with pytest.raises(ValueError, match="at least one"):
        roc_auc(np.array([]), np.array([0.5]))
    with pytest.raises(ValueError, match="nan"):
        roc_auc(np.array([np.nan]), np.array([0.5]))


def test_report_accuracy_histogram_and_galleries():
    D = FirstValueD()
    real_p = [0.9, 0.8, 0.3, 0.5]
    fake_p = [0.1, 0.6, 0.2, 0.05, 0.95]
    r = discriminator_report(D, points(real_p), points(fake_p), k=2, bins=4)
    # right: reals 0.9, 0.8, 0.5 (>= 0.5); fakes 0.1, 0.2, 0.05 (< 0.5) -> 6 of 9
    assert r.accuracy == pytest.approx(6 / 9)
    assert np.allclose(r.real, real_p, atol=1e-6) and np.allclose(r.fake, fake_p, atol=1e-6)
    assert np.allclose(r.hist_edges, [0, 0.25, 0.5, 0.75, 1.0])
    assert r.hist_real.tolist() == [0, 1, 1, 2]  # 0.5 falls in [0.5, 0.75)
    assert r.hist_fake.tolist() == [3, 0, 1, 1]
    assert r.hist_real.sum() == 4 and r.hist_fake.sum() == 5
    assert r.convincing_fakes == [4, 1]  # 0.95, then 0.6
    assert r.unconvincing_reals == [2, 3]  # 0.3, then 0.5
    assert r.convincing_fake_scores == pytest.approx([0.95, 0.6], abs=1e-6)
    assert r.unconvincing_real_scores == pytest.approx([0.3, 0.5], abs=1e-6)
    assert r.auc == pytest.approx(roc_auc(r.real, r.fake))
    big_k = discriminator_report(D, points(real_p), points(fake_p), k=50)
    assert len(big_k.convincing_fakes) == 5 and len(big_k.unconvincing_reals) == 4
    with pytest.raises(ValueError, match="k="):
        discriminator_report(D, points(real_p), points(fake_p), k=-1)


def test_score_image_tiles_for_packed_d():
    image = torch.zeros(1, 2, 5, 6)
    image[0, 1, 2, 3] = 0.5
    for pack in (1, 3):
        assert score_image(PixelD(pack), image) == pytest.approx(1 / (1 + math.exp(-1.5)))
    with pytest.raises(ValueError, match="one sample"):
        score_image(PixelD(), torch.zeros(2, 2, 5, 6))


@pytest.mark.parametrize("pack", [1, 2])
def test_saliency_finds_the_pixel_and_leaks_no_gradient(pack):
    D = PixelD(pack)
    D.train()
    image = torch.rand(1, 2, 5, 6, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():  # callers inside no_grad still get a map
        sal = saliency(D, image)
    assert sal.shape == (5, 6)
    assert sal.min() >= 0 and sal.max() == pytest.approx(1.0)
    expected = np.zeros((5, 6))
    expected[2, 3] = 1.0
    assert np.allclose(sal, expected)
    assert D.w.grad is None and D.training
    assert not image.requires_grad and image.grad is None


def test_saliency_and_scores_leave_a_real_models_state_alone():
    cfg = ModelConfig(arch="mlp", z_dim=4, d_width=8, d_depth=1, g_width=8, g_depth=1,
                      spectral_norm=True, pack=2)
    G, D = build_models(cfg, (1, 6, 6), 0, torch.Generator().manual_seed(0))
    D.train()
    before = {k: v.clone() for k, v in D.state_dict().items()}
    image = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(2)) * 2 - 1
    sal = saliency(D, image)
    assert sal.shape == (6, 6) and 0 <= sal.min() and sal.max() == pytest.approx(1.0)
    scores(D, torch.rand(5, 1, 6, 6) * 2 - 1)
    score_image(D, image)
    after = D.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # spectral-norm u untouched
    assert all(p.grad is None for p in D.parameters()) and D.training


def test_decision_map_orientation():
    right = decision_map(FirstValueD(gain=5.0, column=0), lim=2.0, resolution=9)
    assert right.shape == (9, 9)
    assert (right[:, -1] > 0.99).all() and (right[:, 0] < 0.01).all()  # bright on the right
    assert np.allclose(right[:, 4], 0.5)  # x = 0 in the middle column
    assert np.allclose(right, right[0:1, :])  # no dependence on y
    up = decision_map(FirstValueD(gain=5.0, column=1), lim=2.0, resolution=9)
    assert (up[0] > 0.99).all() and (up[-1] < 0.01).all()  # top row is y = +lim
    with pytest.raises(ValueError, match="lim"):
        decision_map(FirstValueD(), lim=0.0)
    with pytest.raises(ValueError, match="resolution"):
        decision_map(FirstValueD(), lim=1.0, resolution=1)


class FirstTwoG(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, z, y=None):
        return z[:, :2] * self.scale


@pytest.mark.parametrize("kind", ["non-saturating", "minimax", "hinge", "wgan-gp", "lsgan"])
def test_generator_gradients_push_fakes_toward_what_d_calls_real(kind):
    G, D = FirstTwoG(), FirstValueD(gain=1.0, column=0)
    z = torch.tensor([[-1.0, 0.5, 9.0], [0.0, -2.0, 9.0], [-3.0, 1.0, 9.0]])  # logits < 1
    pts, moves = generator_gradients(G, D, z, kind)
    assert pts.shape == moves.shape == (3, 2)
    assert np.allclose(pts, z[:, :2].numpy())
    assert (moves[:, 0] > 0).all()  # D likes large x: every point is pushed right
    assert np.allclose(moves[:, 1], 0)  # D ignores y
    assert G.scale.grad is None and D.gain.grad is None


def test_generator_gradients_rejects_images_and_uneven_packs():
    with pytest.raises(ValueError, match="2D"):
        generator_gradients(nn.Sequential(nn.Linear(3, 4), nn.Unflatten(1, (1, 2, 2))),
                            PixelD(), torch.zeros(2, 3), "hinge")
    with pytest.raises(ValueError, match="multiple of pack=2"):
        generator_gradients(FirstTwoG(), FirstValueD(pack=2), torch.zeros(3, 3), "hinge")


def test_heatmap_colours_and_layout():
    values = np.array([[0.0, 1.0], [0.5, 0.5]])
    img = heatmap_image(values, 2)
    assert img.mode == "RGB" and img.size == (2, 2)
    low, high = img.getpixel((0, 0)), img.getpixel((1, 0))
    assert sum(high) > sum(low)  # 1 is brighter than 0, and stays on the right
    assert high[0] > 200 and high[1] > 200 and high[2] < 100  # yellow
    assert low[2] > low[0] and low[2] > low[1]  # dark blue/purple
    assert heatmap_image(values, (40, 20)).size == (40, 20)
    with pytest.raises(ValueError, match="nan"):
        heatmap_image(np.array([[np.nan]]), 4)
    with pytest.raises(ValueError, match="H, W"):
        heatmap_image(np.zeros(3), 4)


def test_conditional_packed_models_from_build_models():
    cfg = ModelConfig(arch="dcgan", conditional=True, z_dim=4, g_width=4, d_width=4, pack=2)
    _, D = build_models(cfg, (1, 28, 28), 10, torch.Generator().manual_seed(0))
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    y = torch.tensor([3, 3, 7, 7])
    s = scores(D, x, y)
    assert s.shape == (4,) and s[0] == s[1] and s[2] == s[3]
    one = score_image(D, x[:1], label=3)
    assert 0 < one < 1 and one != score_image(D, x[:1], label=4)
    sal = saliency(D, x[:1], label=3)
    assert sal.shape == (28, 28) and sal.max() == pytest.approx(1.0)
    assert all(p.grad is None for p in D.parameters())
