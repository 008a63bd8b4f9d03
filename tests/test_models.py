"""G and D: shapes across architectures and options, the seed network, seeded init, EMA maths."""
import itertools

import pytest
import torch
from torch import nn

from playground.config import ModelConfig
from playground.models import EMA, build_models, init_weights
from playground.presets import PRESETS

SHAPES = [(2,), (1, 28, 28), (3, 32, 32)]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny(**kw) -> ModelConfig:
    return ModelConfig(**{"z_dim": 8, "g_width": 8, "d_width": 8, **kw})


def linear_sizes(model: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("arch,shape,conditional,pack,sn", [
    c for c in itertools.product(("mlp", "dcgan"), SHAPES, (False, True), (1, 2), (False, True))
    if not (c[0] == "dcgan" and len(c[1]) == 1)])
def test_shapes(arch, shape, conditional, pack, sn):
    cfg = tiny(arch=arch, conditional=conditional, pack=pack, spectral_norm=sn)
    G, D = build_models(cfg, shape, 10, gen())
    n = 4
    z = torch.randn(n, cfg.z_dim, generator=gen(1))
    y = torch.tensor([0, 3, 9, 3]) if conditional else None
    x = G(z, y)
    assert x.shape == (n, *shape)
    if len(shape) == 3:
        assert x.abs().max() <= 1.0  # tanh output for images
    logits = D(x, y)
    assert logits.shape == (n // pack,)
    assert torch.isfinite(logits).all()
    logits.sum().backward()  # D is differentiable end to end, through the packing
    assert all(p.grad is not None for p in D.parameters())


def test_dcgan_refuses_2d_and_odd_images():
    for shape in [(2,), (1, 27, 27), (1, 28, 32)]:
        with pytest.raises(ValueError, match="dcgan"):
            build_models(tiny(arch="dcgan"), shape, 0, gen())


def test_seed_network_exactly():
    G, D = build_models(ModelConfig(), (1, 28, 28), 10, gen())
    assert linear_sizes(G) == [(100, 128), (128, 256), (256, 784)]
    assert [type(m) for m in G.net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear, nn.Tanh]
    assert sorted(linear_sizes(D)) == sorted([(784, 128), (128, 1)])
    assert [m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)] == [0.2]
    assert G(torch.zeros(3, 100)).shape == (3, 1, 28, 28)


def test_mlp_widths_depths_and_activation():
    G, D = build_models(tiny(g_depth=3, d_depth=3, activation="elu"), (2,), 0, gen())
    assert linear_sizes(G) == [(8, 8), (8, 16), (16, 32), (32, 2)]
    assert sorted(linear_sizes(D)) == sorted([(2, 32), (32, 16), (16, 8), (8, 1)])
    assert sum(isinstance(m, nn.ELU) for m in G.modules()) == 3
    assert not any(isinstance(m, nn.Tanh) for m in G.modules())  # 2D output is linear


def test_dcgan_projects_to_7x7_or_4x4():
    for shape, side in [((1, 28, 28), 7), ((3, 32, 32), 4)]:
        G, D = build_models(ModelConfig(arch="dcgan", g_width=32, d_width=32), shape, 0, gen())
        first = G.net[0]
        assert isinstance(first, nn.ConvTranspose2d)
        assert (first.out_channels, first.kernel_size) == (128, (side, side))
        assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())


def test_every_preset_builds_and_runs():
    for name, run in PRESETS.items():
        shape = (2,) if run.data.is_2d else (1, 28, 28)
        G, D = build_models(run.model, shape, 0 if run.data.is_2d else 10, gen())
        n = 2 * run.model.pack
        y = torch.arange(n) % 10 if run.model.conditional else None
        assert D(G(torch.randn(n, run.model.z_dim, generator=gen()), y), y).shape == (2,), name


def test_same_seed_bit_identical_and_independent_of_global_rng():
    cfg = tiny(arch="dcgan", conditional=True, spectral_norm=True, pack=2)
    states = []
    with torch.random.fork_rng(devices=[]):
        for global_seed in (1, 2):
            torch.manual_seed(global_seed)
            before = torch.get_rng_state()
            G, D = build_models(cfg, (1, 28, 28), 10, gen(7))
            assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left alone
            states.append({**{"G." + k: v for k, v in G.state_dict().items()},
                           **{"D." + k: v for k, v in D.state_dict().items()}})
    a, b = states
    assert any(k.endswith("_u") for k in a) and any(k.endswith("_v") for k in a)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_different_seeds_differ():
    cfg = tiny(spectral_norm=True)
    (G1, D1), (G2, D2) = (build_models(cfg, (2,), 0, gen(s)) for s in (0, 1))
    for m1, m2 in ((G1, G2), (D1, D2)):
        for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
            # zero-initialised biases and the head's 1-element u (always +-1) are equal by design
            if v1.numel() > 1 and v1.abs().sum() > 0:
                assert not torch.equal(v1, v2), k


def test_init_weights_dcgan_scheme_and_unknown_layers():
    G, _ = build_models(ModelConfig(arch="dcgan", g_width=32), (1, 28, 28), 0, gen())
    conv = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    bn = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002
    assert abs(bn.mean().item() - 1.0) < 0.01 and 0.01 < bn.std().item() < 0.03
    with pytest.raises(TypeError, match="LayerNorm|0.weight"):
        init_weights(nn.Sequential(nn.LayerNorm(4)), gen())


def test_spectral_norm_bounds_every_d_layer():
    _, D = build_models(tiny(arch="dcgan", conditional=True, spectral_norm=True), (1, 28, 28), 10, gen())
    x, y = torch.randn(4, 1, 28, 28, generator=gen(1)), torch.tensor([1, 2, 3, 4])
    for _ in range(20):  # train-mode forwards run power iterations
        D(x, y)
    layers = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == 4  # 2 convs, the head, the label projection
    with torch.no_grad():
        for m in layers:
            w = m.weight.flatten(1)
            assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_labels_required_and_checked():
    G, D = build_models(tiny(conditional=True), (1, 28, 28), 10, gen())
    z, y = torch.randn(2, 8), torch.tensor([1, 2])
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    with pytest.raises(ValueError, match="conditional"):
        D(G(z, y))
    with pytest.raises(ValueError, match="labels"):
        G(z, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="labels"):
        D(G(z, y), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="num_classes"):
        build_models(tiny(conditional=True), (1, 28, 28), 0, gen())


def test_conditioning_changes_outputs():
    for arch in ("mlp", "dcgan"):
        G, D = build_models(tiny(arch=arch, conditional=True), (1, 28, 28), 10, gen())
        z = torch.randn(2, 8, generator=gen(1)).repeat(2, 1)
        y = torch.tensor([0, 1, 5, 6])
        G.eval()
        x = G(z, y)
        assert not torch.allclose(x[:2], x[2:])  # same z, other labels
        xx = x[:2].repeat(2, 1, 1, 1)
        logits = D(xx, y)
        assert not torch.allclose(logits[:2], logits[2:])  # same images, other labels


def test_packing_groups_consecutive_samples():
    for arch in ("mlp", "dcgan"):
        _, D = build_models(tiny(arch=arch, pack=2, conditional=True), (1, 28, 28), 10, gen())
        x, y = torch.randn(6, 1, 28, 28, generator=gen(1)), torch.tensor([1, 2, 3, 4, 5, 6])
        base = D(x, y)
        x2 = x.clone()
        x2[3] += 1.0  # sample 3 is in group 1 (samples 2, 3)
        changed = D(x2, y) != base
        assert changed.tolist() == [False, True, False]
        swapped = D(x, torch.tensor([2, 1, 3, 4, 5, 6]))  # the labels of group 0 swap slots
        assert swapped[0] != base[0] and torch.equal(swapped[1:], base[1:])
        with pytest.raises(ValueError, match="multiple of pack=2"):
            D(x[:5], y[:5])


def test_ema_maths():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = EMA(model, decay=0.9)
    assert not ema.shadow.training
    assert not any(p.requires_grad for p in ema.shadow.parameters())
    p0 = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()(torch.randn(8, 3, generator=gen()))  # moves BN running stats
    assert torch.equal(ema.shadow[0].weight, p0[0])  # a copy, untouched until update
    ema.updates = 100  # past the warm-up (tests/test_train.py tests it): decay is 0.9
    ema.update(model)
    for s, a, b in zip(ema.shadow.parameters(), p0, model.parameters()):
        assert torch.allclose(s, 0.9 * a + 0.1 * b, atol=1e-6)
    for s, b in zip(ema.shadow.buffers(), model.buffers()):
        assert torch.equal(s, b)
    ema.update(model)  # twice: 0.81 * p0 + 0.19 * p1
    for s, a, b in zip(ema.shadow.parameters(), p0, model.parameters()):
        assert torch.allclose(s, 0.81 * a + 0.19 * b, atol=1e-6)
    with pytest.raises(ValueError, match="decay"):
        EMA(model, decay=1.0)
