"""Presets: a plain dict of named `RunConfig`s shared by the CLI, the UI and the bundled checkpoints.

Each preset's comment says why its recipe was chosen.
"""
from __future__ import annotations

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig, short_repr

PRESETS: dict[str, RunConfig] = {
    # 8 Gaussians on a circle. Small MLPs; PacGAN packing (pack=2) lets D see mode dropping.
    "ring8": RunConfig(
        DataConfig(dataset="ring8"),
        ModelConfig(arch="mlp", z_dim=16, g_width=128, g_depth=2, d_width=128, d_depth=2, pack=2),
        TrainConfig(g_lr=1e-3, d_lr=1e-3, beta1=0.5, beta2=0.9, batch_size=256, steps=2000),
    ),
    # 5x5 grid of Gaussians: wider nets and pack=4 (PacGAN4 is the paper's best on this set).
    "grid25": RunConfig(
        DataConfig(dataset="grid25"),
        ModelConfig(arch="mlp", z_dim=16, g_width=256, g_depth=2, d_width=256, d_depth=2, pack=4),
        TrainConfig(g_lr=1e-3, d_lr=1e-3, beta1=0.5, beta2=0.9, batch_size=512, steps=4000),
    ),
    # The seed's network exactly: G z->128->256->784, D 784->128->1, on the bundled digits.
    "mnist-mlp": RunConfig(
        DataConfig(dataset="mnist"),
        ModelConfig(arch="mlp", z_dim=100),
        TrainConfig(g_lr=2e-4, d_lr=2e-4, batch_size=64, steps=5000),
    ),
    # A small DCGAN on the bundled digits.
    "mnist-dcgan": RunConfig(
        DataConfig(dataset="mnist"),
        ModelConfig(arch="dcgan", z_dim=64, g_width=32, d_width=32),
        TrainConfig(g_lr=2e-4, d_lr=2e-4, batch_size=64, steps=3000),
    ),
    # The same DCGAN conditioned on the digit label.
    "mnist-cgan": RunConfig(
        DataConfig(dataset="mnist"),
        ModelConfig(arch="dcgan", conditional=True, z_dim=64, g_width=32, d_width=32),
        TrainConfig(g_lr=2e-4, d_lr=2e-4, batch_size=64, steps=3000),
    ),
}


def get_preset(name: str) -> RunConfig:
    """The preset called `name`; a clear ValueError for an unknown name."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name, e.g. a list from JSON
        raise ValueError(f"preset={short_repr(name)} is not one of: {', '.join(PRESETS)}") from None
