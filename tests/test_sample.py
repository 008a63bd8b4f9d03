"""Sampling: seeds, truncation, seed parsing, interpolation, grids and GIFs (tiny CPU models)."""
import io
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from playground.sample import (gif, generate, grid, interpolate, labelled_grid, latents,
                               parse_seeds, slerp)

Z = 8


class TinyG(nn.Module):
    """G(z, y=None) -> (N, 1, 4, 4) in [-1, 1]; BatchNorm makes train/eval mode matter."""

    def __init__(self, num_classes: int = 0):
        super().__init__()
        self.embed = nn.Embedding(num_classes, Z) if num_classes else None
        self.fc = nn.Linear(Z, 16)
        self.bn = nn.BatchNorm1d(16)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():  # fixed weights without touching the global RNG
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            self.bn.running_mean.copy_(torch.randn(16, generator=g) * 0.5)

    def forward(self, z, y=None):
        if self.embed is not None:
            z = z + self.embed(y)
        return torch.tanh(self.bn(self.fc(z))).reshape(-1, 1, 4, 4)


class IdentityG(nn.Module):
    """Returns z itself, so outputs are the latents the sampler fed in."""

    def forward(self, z, y=None):
        return z.clone()


def test_latent_for_a_seed_does_not_depend_on_the_batch():
    alone = latents([12], Z)
    among = latents([3, 12, 99, 0], Z)
    assert torch.equal(alone[0], among[1])  # bitwise
    assert torch.equal(alone[0], torch.randn(Z, generator=torch.Generator().manual_seed(12)))
    assert not torch.equal(among[0], among[1])


def test_generated_image_for_a_seed_is_the_same_alone_and_in_a_batch():
    G = TinyG()
    alone = generate(G, [12], Z)
    among = generate(G, [5, 6, 12, 7], Z)
    # Latents are bitwise equal; G's output is compared within 1e-6 because a matmul's
    # rounding may legitimately depend on the batch size.
    assert torch.allclose(alone[0], among[2], atol=1e-6, rtol=0)
    split = generate(G, [5, 6, 12, 7], Z, batch_size=3)
    assert torch.allclose(split, among, atol=1e-6, rtol=0)


def test_generate_runs_in_eval_mode_without_grad_and_restores_modes():
    G = TinyG()
    G.train()
    G.bn.eval()  # a mixed state must survive
    out = generate(G, [1], Z)  # train-mode BatchNorm would refuse a batch of one
    assert out.shape == (1, 1, 4, 4) and not out.requires_grad
    assert out.min() >= -1 and out.max() <= 1
    assert G.training and G.fc.training and not G.bn.training
    G.train()
    generate(G, [1, 2], Z)
    assert all(m.training for m in G.modules())


def test_truncation_scales_latents_and_rejects_out_of_range():
    full = latents([4, 5], Z)
    assert torch.allclose(latents([4, 5], Z, truncation=0.5), full * 0.5)
    assert torch.equal(latents([4, 5], Z, truncation=1.0), full)
    for psi in (0.0, -0.5, 1.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="truncation"):
            latents([4], Z, truncation=psi)
    out = generate(IdentityG(), [4, 5], Z, truncation=0.25)
    assert torch.allclose(out, full * 0.25)


def test_latents_reject_bad_seeds():
    for bad in ([-1], [2**63], [1.5], [True], []):
        with pytest.raises(ValueError):
            latents(bad, Z)
    assert latents([2**63 - 1], Z).shape == (1, Z)


def test_conditional_labels_broadcast_to_seeds():
    G = TinyG(num_classes=3)
    one = generate(G, [1, 2], Z, labels=2)
    each = generate(G, [1, 2], Z, labels=[2, 2])
    assert torch.allclose(one, each)
    assert not torch.allclose(generate(G, [1, 2], Z, labels=[0, 1]), one)
    with pytest.raises(ValueError, match="labels for 2 seeds"):
        generate(G, [1, 2], Z, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=">= 0"):
        generate(G, [1], Z, labels=-1)


@pytest.mark.parametrize("text, seeds", [
    ("7", [7]),
    ("0-3", [0, 1, 2, 3]),
    ("1, 5, 9", [1, 5, 9]),
    ("0-3,10,20-22", [0, 1, 2, 3, 10, 20, 21, 22]),
    ("  4 - 6 ,  8 ", [4, 5, 6, 8]),
    ("5-5", [5]),
    ("9223372036854775807", [2**63 - 1]),
])
def test_parse_seeds_accepts(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, message", [
    ("", "no seeds"),
    ("   ", "no seeds"),
    ("-3", ">= 0"),
    ("1,-3", ">= 0"),
    ("9223372036854775808", "too large"),
    ("1-99999999999999999999999", "too large"),
    ("abc", "cannot read"),
    ("1.5", "cannot read"),
    ("1 2", "cannot read"),
    ("1-2-3", "cannot read"),
    ("1,,2", "empty entry"),
    ("1,", "empty entry"),
    ("9-3", "backwards"),
    ("0-256", "more than 256"),
    ("0-200,300-400", "more than 256"),
])
def test_parse_seeds_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_seeds(text)


def test_parse_seeds_huge_range_fails_fast_and_max_count_applies():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="more than 256"):
        parse_seeds("0-1000000000000000000")
    assert time.perf_counter() - start < 0.1
    assert parse_seeds("0-9", max_count=10) == list(range(10))
    with pytest.raises(ValueError, match="more than 9"):
        parse_seeds("0-9", max_count=9)


def test_interpolation_endpoints_match_the_seeds_images():
    G = TinyG()
    for mode in ("slerp", "lerp"):
        path = interpolate(G, 3, 11, 6, Z, mode=mode)
        ends = generate(G, [3, 11], Z)
        assert path.shape == (6, 1, 4, 4)
        assert torch.allclose(path[0], ends[0], atol=1e-6, rtol=0)
        assert torch.allclose(path[-1], ends[1], atol=1e-6, rtol=0)


def test_slerp_walks_the_great_circle_and_lerp_cuts_inside():
    za, zb = latents([3, 11], Z).double()
    zb = zb * za.norm() / zb.norm()  # equal norms: slerp must keep the norm constant
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    path = slerp(za, zb, t)
    assert torch.allclose(path.norm(dim=1), za.norm().expand(9), rtol=1e-9)
    omega = torch.arccos(torch.dot(za, zb) / za.norm() ** 2)
    angles = torch.arccos((path @ za / (path.norm(dim=1) * za.norm())).clamp(-1, 1))
    assert torch.allclose(angles, t * omega, atol=1e-6)  # evenly spaced angles
    z = interpolate(IdentityG(), 3, 11, 9, Z, mode="lerp")
    zs = interpolate(IdentityG(), 3, 11, 9, Z, mode="slerp")
    assert z[4].norm() < zs[4].norm()  # the straight line passes closer to the origin


def test_slerp_falls_back_to_lerp_for_parallel_latents():
    a = torch.tensor([1.0, 2.0, 3.0])
    for b in (a * 2, a.clone(), -a):
        path = slerp(a, b, torch.linspace(0, 1, 5))
        assert torch.isfinite(path).all()
        assert torch.allclose(path[2], (a + b) / 2, atol=1e-6)
    # z_dim = 1: every pair of latents is parallel or opposite
    z = interpolate(IdentityG(), 0, 1, 5, 1)
    assert torch.isfinite(z).all() and torch.allclose(z[2], (z[0] + z[-1]) / 2, atol=1e-6)


def test_interpolate_rejects_bad_arguments():
    G = IdentityG()
    for frames in (1, 129, 2.5):
        with pytest.raises(ValueError, match="frames"):
            interpolate(G, 0, 1, frames, Z)
    with pytest.raises(ValueError, match="mode"):
        interpolate(G, 0, 1, 4, Z, mode="cubic")
    assert interpolate(G, 0, 1, 128, Z).shape == (128, Z)


def test_grid_tiles_images_and_maps_minus_one_to_black():
    images = -torch.ones(5, 1, 4, 4)
    images[1] = 1.0
    img = grid(images, nrow=3)
    assert img.mode == "RGB"
    # 3 columns x 2 rows of 4-pixel tiles with 2-pixel padding
    assert img.size == (3 * 6 + 2, 2 * 6 + 2)
    assert img.getpixel((2, 2)) == (0, 0, 0)  # first tile: -1 -> black
    assert img.getpixel((8, 2)) == (255, 255, 255)  # second tile: +1 -> white
    assert grid(torch.zeros(4, 3, 4, 4)).size == (2 * 6 + 2, 2 * 6 + 2)  # default ~sqrt(N)
    with pytest.raises(ValueError, match="N, C, H, W"):
        grid(torch.zeros(4, 2))


def test_labelled_grid_captions_each_tile():
    images = torch.ones(3, 1, 8, 8)
    sheet = labelled_grid(images, ["seed 1", "seed 2", "seed 3"], nrow=3, scale=2)
    plain = labelled_grid(images, ["", "", ""], nrow=3, scale=2)
    assert sheet.size == plain.size and sheet.size[0] == 2 + 3 * (16 + 2)
    assert sheet.size[1] > 16 + 4  # room for the captions
    # Captions draw dark pixels below the (white) tiles; empty captions draw none.
    caption_band = sheet.crop((0, 2 + 16, sheet.size[0], sheet.size[1])).convert("L")
    assert np.asarray(caption_band).min() < 128
    assert np.asarray(plain.convert("L")).min() == 255
    with pytest.raises(ValueError, match="captions"):
        labelled_grid(images, ["a"], nrow=3)
    long = labelled_grid(images[:1], ["seed 123456789012345"], scale=1)
    assert long.size[0] == 2 + 8 + 2  # a long caption is cut, never widens the tile


def test_gif_bytes_decode_to_the_frames():
    frames = [Image.new("RGB", (6, 6), (40 * i, 0, 255 - 40 * i)) for i in range(5)]
    data = gif(frames, duration_ms=50)
    assert data[:6] in (b"GIF87a", b"GIF89a")
    decoded = Image.open(io.BytesIO(data))
    assert decoded.n_frames == 5 and decoded.size == (6, 6)
    decoded.seek(3)
    assert decoded.info["duration"] == 50
    with pytest.raises(ValueError, match="no frames"):
        gif([])
    with pytest.raises(ValueError, match="duration_ms"):
        gif(frames, duration_ms=0)


def test_generate_with_the_projects_models():
    from playground.config import ModelConfig
    from playground.models import build_models

    cfg = ModelConfig(arch="mlp", conditional=True, z_dim=Z, g_width=8, g_depth=1, d_width=8)
    G, _ = build_models(cfg, (1, 6, 6), 3, torch.Generator().manual_seed(0))
    G.train()
    images = generate(G, [0, 1, 2], Z, labels=[0, 1, 2])
    assert images.shape == (3, 1, 6, 6) and images.abs().max() <= 1
    assert torch.allclose(generate(G, [1], Z, labels=1)[0], images[1], atol=1e-6, rtol=0)
    assert G.training
    toy = ModelConfig(arch="mlp", z_dim=Z, g_width=8, g_depth=1, d_width=8)
    G2, _ = build_models(toy, (2,), 0, torch.Generator().manual_seed(0))
    assert generate(G2, [5, 6], Z).shape == (2, 2)
    assert interpolate(G2, 5, 6, 4, Z).shape == (4, 2)
