"""GAN Lab's teaching layers and the ones it lacks, in the core: G's manifold, the optimal
discriminator D*, the real density's contour, slow motion, and what a frame carries of them."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from helpers import tiny
from playground import density
from playground.layers import QualitySeries, Wants
from playground.live import LiveRun
from playground.losses import g_loss
from playground.manifold import CELLS, SPAN, check_axes, manifold, quad_areas
from playground.sample import draw_noise, latents
from playground.slowmo import STAGES, explain_iteration
from playground.toy2d import TOY2D
from playground.train import Trainer


# ------------------------------------------------------------------ the noise
def test_uniform_noise_is_uniform_on_the_square_and_seeded():
    z = draw_noise(20_000, 3, "uniform", torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1
    assert abs(float(z.mean())) < 0.02 and abs(float(z.var()) - 1 / 3) < 0.01
    assert torch.equal(latents([5], 3, noise="uniform"), latents([1, 5], 3, noise="uniform")[1:])
    assert not torch.equal(latents([5], 3, noise="uniform"), latents([5], 3))
    with pytest.raises(ValueError, match="noise='cauchy' is not one of"):
        draw_noise(2, 2, "cauchy", torch.Generator())


def test_a_run_on_uniform_noise_trains_and_draws_its_noise_uniformly():
    trainer = Trainer(tiny("ring8", noise="uniform", z_dim=2))
    assert trainer.fixed_noise.abs().max() <= 1
    trainer.step(3)
    seen = {}
    trainer.capture = lambda kind, **t: seen.setdefault(kind, t["z"])
    trainer.step(1)
    assert seen["d"].abs().max() <= 1 and seen["g"].abs().max() <= 1
    assert seen["d"].abs().max() > 0.5  # uniform on the square, not squeezed


# ------------------------------------------------------------------ G's manifold
def test_the_manifold_of_a_2d_noise_is_G_on_the_regular_grid():
    trainer = Trainer(tiny("ring8", z_dim=2))
    trainer.step(5)
    m = manifold(trainer.G, 2, "gaussian")
    ticks = torch.linspace(-SPAN["gaussian"], SPAN["gaussian"], CELLS + 1)
    ga, gb = torch.meshgrid(ticks, ticks, indexing="ij")
    z = torch.stack([ga.reshape(-1), gb.reshape(-1)], dim=1)
    with torch.no_grad():
        expected = trainer.G.eval()(z).reshape(CELLS + 1, CELLS + 1, 2).numpy()
    np.testing.assert_allclose(m.vertices, expected, atol=1e-6)
    assert m.vertices.shape == (21, 21, 2) and m.shade.shape == (20, 20)
    assert ((m.shade >= 0.1) & (m.shade <= 0.9)).all()
    assert "[-2, 2]" in m.caption


def test_for_uniform_noise_the_manifold_covers_exactly_the_noise_squares_image():
    trainer = Trainer(tiny("ring8", z_dim=2, noise="uniform"))
    trainer.step(5)
    m = manifold(trainer.G, 2, "uniform")
    assert m.span == 1.0
    corners = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    with torch.no_grad():
        image = trainer.G.eval()(corners).numpy()
    # The grid's corners are the square's corners, its edge the image of the square's edge.
    got = m.vertices[[0, 0, -1, -1], [0, -1, 0, -1]]
    np.testing.assert_allclose(got, image, atol=1e-6)
    edge = torch.stack([torch.full((CELLS + 1,), -1.0), torch.linspace(-1, 1, CELLS + 1)], 1)
    with torch.no_grad():
        np.testing.assert_allclose(m.vertices[0], trainer.G(edge).numpy(), atol=1e-6)
    # Every noise sample of the square lands in the union of the mapped cells' span.
    z = draw_noise(2000, 2, "uniform", torch.Generator().manual_seed(1))
    with torch.no_grad():
        pts = trainer.G(z).numpy()
    lo, hi = m.vertices.reshape(-1, 2).min(0), m.vertices.reshape(-1, 2).max(0)
    assert ((pts >= lo - 1e-3) & (pts <= hi + 1e-3)).all()


def test_manifold_shading_follows_how_much_noise_G_packs_into_each_cell():
    # A linear G that squeezes the left half of the square: its cells are darker.
    G = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        G.weight.copy_(torch.eye(2))
    even = manifold(G, 2, "uniform")
    assert np.allclose(even.shade, 0.5)  # nothing squeezed or stretched: GAN Lab's middle tone
    squeeze = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        squeeze[0].weight.copy_(torch.tensor([[0.25, 0.0], [0.0, 1.0]]))
    m = manifold(squeeze, 2, "uniform")
    assert np.allclose(m.shade, 0.5)  # a uniform squeeze packs every cell alike
    areas = quad_areas(m.vertices)
    assert np.allclose(areas, areas[0, 0]) and areas[0, 0] == pytest.approx(0.25 * 0.01)


def test_a_1d_noise_gives_a_curve_and_higher_dims_a_named_slice():
    trainer = Trainer(tiny("ring8", z_dim=1))
    m = manifold(trainer.G, 1, "gaussian")
    assert m.vertices.shape == (101, 2) and m.shade.shape == (100,)
    trainer = Trainer(tiny("ring8", z_dim=6))
    m = manifold(trainer.G, 6, "gaussian", (2, 4))
    assert m.axes == (2, 4) and "z3 and z5" in m.caption and "every other coordinate 0" in m.caption
    with pytest.raises(ValueError, match="two different coordinates"):
        check_axes(6, (2, 2))
    with pytest.raises(ValueError, match="two different coordinates"):
        check_axes(6, (0, 6))


# ------------------------------------------------------------------ the optimal discriminator
def test_d_star_of_two_known_gaussians_is_the_formula():
    """For p_data = N(mu1, s^2 I) and p_g = N(mu2, s^2 I), D*(x) = p1 / (p1 + p2) =
    sigmoid((mu1 - mu2) . x / s^2 - (|mu1|^2 - |mu2|^2) / (2 s^2)), evaluated per cell."""
    mu1, mu2, s, lim, res = np.array([-0.5, 0.2]), np.array([0.6, -0.1]), 0.5, 2.0, 100
    m1 = density.mixture_mass(mu1[None], s, lim, res)
    m2 = density.mixture_mass(mu2[None], s, lim, res)
    d_star = density.optimal_discriminator(m1, m2)
    x = density.cell_centres(lim, res).double().numpy().reshape(res, res, 2)
    logit = (x @ (mu1 - mu2)) / s**2 - (mu1 @ mu1 - mu2 @ mu2) / (2 * s**2)
    exact = 1 / (1 + np.exp(-logit))
    ok = ~np.isnan(d_star)
    assert ok.mean() > 0.5
    assert np.abs(d_star - exact)[ok].max() < 0.02  # a cell's mass ratio vs the point formula
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))
    inside = math.prod(phi((lim - m) / s) - phi((-lim - m) / s) for m in mu1)
    assert m1.sum() == pytest.approx(inside, abs=1e-9)  # exact: the mass inside the square


def test_d_star_is_one_half_where_G_matches_the_data():
    toy = TOY2D["ring8"]
    fake = toy.sample(20_000, torch.Generator().manual_seed(3))  # a perfect G
    opt = density.optimal_d_map(toy, fake, lambda p: np.full(len(p), 0.5), toy.lim)
    weights = density.mixture_mass(toy.support(), math.hypot(toy.sigma, density.bandwidth(
        toy.lim, density.RES)), toy.lim, density.RES)
    ok = ~np.isnan(opt.d_star)
    mean = float((np.abs(opt.d_star - 0.5) * weights)[ok].sum() / weights[ok].sum())
    assert mean < 0.05  # sampling noise of 20,000 points, nothing else
    assert opt.gap < 0.05  # a D that says 1/2 everywhere is at the optimum here
    # A G stuck on one mode: D* is ~1 on the other seven, ~0 where G piles up.
    stuck = toy.centres[0].expand(5000, 2) + 0.01 * torch.randn(
        5000, 2, generator=torch.Generator().manual_seed(4))
    opt = density.optimal_d_map(toy, stuck, lambda p: np.full(len(p), 0.5), toy.lim)
    at = lambda c: opt.d_star[int((toy.lim - c[1]) / (2 * toy.lim) * density.RES),
                              int((c[0] + toy.lim) / (2 * toy.lim) * density.RES)]
    assert at(toy.centres[4].tolist()) > 0.95 and at(toy.centres[0].tolist()) < 0.2


def test_contours_of_a_gaussian_are_circles_enclosing_their_share():
    lim, res, s = 2.0, 160, 0.4
    mass = density.mixture_mass(np.zeros((1, 2)), s, lim, res)
    levels = density.hdr_levels(mass, (0.5, 0.9))
    for share, level in zip((0.5, 0.9), levels):
        segs = density.contour_segments(mass, level, lim)
        radii = np.linalg.norm(segs.reshape(-1, 2), axis=1)
        expected = s * math.sqrt(-2 * math.log(1 - share))  # a 2D Gaussian's HDR radius
        assert abs(np.median(radii) - expected) < 0.03, (share, np.median(radii), expected)
        assert radii.std() < 0.03
    lines = density.real_contours(TOY2D["grid25"], TOY2D["grid25"].lim)
    assert len(lines) == 3 and all(len(seg) for seg in lines)


# ------------------------------------------------------------------ slow motion
@pytest.mark.parametrize("loss", ["non-saturating", "minimax", "lsgan", "hinge", "wgan-gp"])
def test_step_slowly_is_one_real_iteration_with_each_games_numbers(loss):
    a = Trainer(tiny("ring8", loss=loss, batch_size=32))
    b = Trainer(tiny("ring8", loss=loss, batch_size=32))
    a.step(5)
    b.step(5)
    out = explain_iteration(a)
    b.step(1)
    # The very step a plain step takes: the same weights afterwards, the same record.
    for p, q in zip(a.G.parameters(), b.G.parameters()):
        assert torch.equal(p, q)
    assert a.history[-1].loss_d == b.history[-1].loss_d and a.step_count == 6
    assert [s["key"] for s in out["stages"]] == [k for k, *_ in STAGES]
    d_text = out["stages"][3]["text"]
    assert d_text.startswith("loss_D = ") and f"= {a.history[-1].loss_d:.4f}" in d_text
    assert out["stages"][5]["text"].count("loss_G = ") == 1
    assert f"{a.history[-1].loss_g:.4f}" in out["stages"][5]["text"]
    assert len(out["d"]["heat_before"]) == out["res"] and out["d"]["heat_before"] != \
        out["d"]["heat_after"]
    json.dumps(out)  # plain numbers all the way


def test_step_slowlys_terms_add_up_to_the_losses_and_its_arrows_are_the_g_gradient():
    trainer = Trainer(tiny("ring8", batch_size=16))
    trainer.step(3)
    out = explain_iteration(trainer)
    d = out["numbers"]
    # The non-saturating formula's two terms, recomputed from the scores shown.
    real = torch.tensor(out["d"]["real_scores"], dtype=torch.float64)
    fake = torch.tensor(out["d"]["fake_scores"], dtype=torch.float64)
    by_hand = float(-(real.log().mean()) - (1 - fake).log().mean())
    assert by_hand == pytest.approx(d["d_loss"], abs=2e-3)  # scores are rounded to 3 digits
    # The arrows: minus d loss_G / d G(z) on the G step's batch (a batch mean: 1/n each).
    pts = torch.tensor(out["g"]["fake"], requires_grad=True)
    trainer2 = Trainer(tiny("ring8", batch_size=16))
    trainer2.step(3)
    trainer2.step(1, "d")  # D as it was when G stepped
    (grad,) = torch.autograd.grad(g_loss("non-saturating", trainer2.D(pts)), pts)
    assert np.allclose(-grad.numpy(), np.array(out["g"]["moves"]), atol=1e-4)


def test_step_slowly_refuses_images_and_reports_a_divergence():
    with pytest.raises(ValueError, match="2D data"):
        explain_iteration(Trainer(tiny("mnist-dcgan")))
    trainer = Trainer(tiny("ring8", d_lr=10.0, g_lr=10.0, g_optimizer="sgd",
                           d_optimizer="sgd", loss="wgan-gp", gp_lambda=0))
    for _ in range(200):
        out = explain_iteration(trainer)
        if out["event"]:
            break
    assert out["event"].startswith("diverged") and trainer.diverged


def test_a_live_runs_slow_step_reaches_its_watchers_once():
    run = LiveRun(Trainer(tiny("ring8")), "r1", "ring8")
    words = run.step_slowly()
    assert "8 stages" in words and run.state == "paused" and run.trainer.step_count == 1
    frame = run.frame(-1, -1, True)
    assert frame["slowmo"]["id"] == 1 and len(frame["slowmo"]["stages"]) == 8
    assert "slowmo" not in run.frame(-1, -1, False, slow_seen=1)
    run.close()


# ------------------------------------------------------------------ what frames carry
def test_a_frame_computes_the_layers_a_page_asks_for_and_only_those():
    run = LiveRun(Trainer(tiny("ring8", z_dim=4)), "r2", "ring8")
    run.trainer.step(20)
    plain = run.frame(-1, -1, True)
    assert not {"manifold", "dstar", "contour"} & set(plain["view"])
    assert plain["view"]["z_dim"] == 4 and plain["last"]["step"] == 20
    assert plain["quality"]["rows"][-1][0] == 20  # KL, JS, high quality, modes at step 20
    full = run.frame(plain["seq"], 20, False, wants=Wants(True, (1, 3), True, True))
    view = full["view"]
    assert view["manifold"]["axes"] == [1, 3] and "z2 and z4" in view["manifold"]["caption"]
    assert view["dstar"]["res"] == density.RES and 0 <= view["dstar"]["gap"] <= 1
    assert len(view["contour"]["lines"]) == 3
    run.close()


def test_wants_parse_ignores_anything_odd():
    assert Wants.parse(None) == Wants()
    w = Wants.parse({"manifold": True, "axes": [2, 5], "dstar": "yes", "contour": 1,
                     "quality_since": -5, "quality_last": "x"})
    assert w.manifold and w.axes == (2, 5) and not w.dstar and not w.contour
    assert w.quality_since == 0 and w.quality_last == -1
    assert Wants.parse({"axes": [1, True]}).axes == (0, 1)
    assert Wants(manifold=True).covers(Wants()) and not Wants().covers(Wants(dstar=True))


def test_the_quality_series_sends_what_the_page_lacks_and_survives_a_roll_back():
    q = QualitySeries()
    for step in (10, 20, 30):
        q.add([step, 1.0, 0.5, 50.0, 3, 8])
    assert q.since(0, -1)["rows"][0][0] == 10
    assert q.since(2, 20) == {"from": 2, "rows": [[30, 1.0, 0.5, 50.0, 3, 8]]}
    assert q.since(2, 999)["from"] == 0  # the page's copy is another: all of it again
    q.add([25, 1.0, 0.5, 50.0, 3, 8])  # a roll-back to step 25
    assert [r[0] for r in q.rows] == [10, 20, 25]
