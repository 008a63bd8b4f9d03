"""G's manifold: how the generator warps a regular grid of the noise space onto the data plane.

GAN Lab's view, for 2D data: a `cells` x `cells` grid over the noise square (uniform noise: the
whole square [-1, 1]^2, so the picture covers exactly G's image of it; Gaussian noise: [-2, 2]^2,
two standard deviations each way, where ~91 % of z falls) is pushed through G, and each cell is
shaded by how much of the noise's probability G packs into how little room: dark where G
squeezes noise together (many samples land there), pale where it stretches it thin.

- z_dim 1: the noise is a line, G's image a curve: `cells` * 5 segments, each shaded alike.
- z_dim 2: the whole noise plane.
- z_dim > 2: a 2D slice through z: two chosen axes vary, every other coordinate is 0 (the mean
  of either noise). The view says which slice it shows.

`manifold(G, z_dim, noise)` returns the mapped vertices and a shade per cell; the browser draws
them (`ui/js/view2d.js`). No gradio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .sample import eval_mode

CELLS = 20  # GAN Lab's 20 x 20 grid
CURVE_SEGMENTS = 100  # z_dim 1: segments of the curve
SPAN = {"uniform": 1.0, "gaussian": 2.0}  # the noise square is [-span, span] on each axis
# A cell's shade: 0.1 + 0.4 * (its share of the noise / its share of the picture's area),
# within [0.1, 0.9]. A cell that G neither squeezes nor stretches (ratio 1) gets 0.5, as in
# GAN Lab; four times denser than average is the darkest.
BASE, SLOPE, LOW, HIGH = 0.1, 0.4, 0.1, 0.9


@dataclass
class Manifold:
    """What G makes of a regular grid of noise (see the module docstring)."""
    z_dim: int
    noise: str
    axes: tuple[int, int]  # the two z coordinates that vary (z_dim > 2; (0, 1) or (0, 0) else)
    span: float  # the grid covers [-span, span] along each varying axis
    vertices: np.ndarray  # z_dim >= 2: (cells + 1, cells + 1, 2), row i = axis-a value i;
    #                       z_dim 1: (segments + 1, 2). Data coordinates G(z).
    shade: np.ndarray  # (cells, cells) or (segments,) in [LOW, HIGH]
    z: np.ndarray  # the grid in noise space: (cells + 1, cells + 1, 2) or (segments + 1,)

    @property
    def caption(self) -> str:
        square = f"[-{self.span:g}, {self.span:g}]"
        if self.z_dim == 1:
            return f"G's manifold: the noise line {square} mapped by G"
        if self.z_dim == 2:
            return f"G's manifold: the noise square {square}² mapped by G"
        a, b = self.axes
        return (f"G's manifold: a 2D slice of the {self.z_dim}-D noise (z{a + 1} and z{b + 1} "
                f"in {square}, every other coordinate 0) mapped by G")


def check_axes(z_dim: int, axes: tuple[int, int]) -> tuple[int, int]:
    """The slice's two axes, checked: distinct coordinates of z (0-based)."""
    if z_dim < 2:
        return (0, 0)
    try:
        a, b = (int(v) for v in axes)
    except (TypeError, ValueError):
        raise ValueError(f"axes={axes!r} must be two coordinates of z") from None
    if not (0 <= a < z_dim and 0 <= b < z_dim) or a == b:
        raise ValueError(f"axes=({a}, {b}) must be two different coordinates of z, each in "
                         f"[0, {z_dim - 1}]")
    return a, b


def _normal_mass(edges: np.ndarray) -> np.ndarray:
    """The N(0, 1) probability between consecutive `edges`."""
    cdf = torch.special.ndtr(torch.as_tensor(edges, dtype=torch.float64)).numpy()
    return np.diff(cdf)


def _shade(mass: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Each cell's share of the noise over its share of the picture, as an opacity."""
    room = np.abs(room)
    total_room = room.sum()
    share_room = room / total_room if total_room > 0 else np.full_like(room, 1 / room.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (mass / mass.sum()) / share_room
    ratio = np.nan_to_num(ratio, nan=1.0, posinf=HIGH / SLOPE)
    return np.clip(BASE + SLOPE * ratio, LOW, HIGH)


@torch.no_grad()
def manifold(G: nn.Module, z_dim: int, noise: str = "gaussian", axes: tuple[int, int] = (0, 1),
             cells: int = CELLS) -> Manifold:
    """G's image of a regular grid of its noise (G in eval mode; its mode is restored)."""
    if noise not in SPAN:
        raise ValueError(f"noise={noise!r} is not one of: {', '.join(SPAN)}")
    axes = check_axes(z_dim, axes)
    span = SPAN[noise]
    device = next(G.parameters()).device
    with eval_mode(G):
        if z_dim == 1:
            line = np.linspace(-span, span, CURVE_SEGMENTS + 1)
            z = torch.as_tensor(line, dtype=torch.float32)[:, None]
            points = G(z.to(device)).float().cpu().numpy()
            mass = (np.full(CURVE_SEGMENTS, 1.0) if noise == "uniform"
                    else _normal_mass(line))
            length = np.linalg.norm(np.diff(points, axis=0), axis=1)
            return Manifold(1, noise, (0, 0), span, points, _shade(mass, length), line)
        ticks = np.linspace(-span, span, cells + 1)
        ga, gb = np.meshgrid(ticks, ticks, indexing="ij")  # row i: axis a at ticks[i]
        z = torch.zeros((cells + 1) ** 2, z_dim)
        z[:, axes[0]] = torch.as_tensor(ga.reshape(-1), dtype=torch.float32)
        z[:, axes[1]] = torch.as_tensor(gb.reshape(-1), dtype=torch.float32)
        points = G(z.to(device)).float().cpu().numpy().reshape(cells + 1, cells + 1, 2)
    if noise == "uniform":
        mass = np.ones((cells, cells))
    else:
        per_axis = _normal_mass(ticks)
        mass = per_axis[:, None] * per_axis[None, :]
    return Manifold(z_dim, noise, axes, span, points, _shade(mass, quad_areas(points)),
                    np.stack([ga, gb], axis=-1))


def quad_areas(vertices: np.ndarray) -> np.ndarray:
    """(cells, cells) areas of the quadrilaterals of a (cells + 1, cells + 1, 2) grid of
    vertices (the shoelace formula over each cell's four corners, in order)."""
    p00, p01 = vertices[:-1, :-1], vertices[:-1, 1:]
    p11, p10 = vertices[1:, 1:], vertices[1:, :-1]
    corners = (p00, p01, p11, p10)
    twice = sum(a[..., 0] * b[..., 1] - b[..., 0] * a[..., 1]
                for a, b in zip(corners, corners[1:] + corners[:1]))
    return np.abs(twice) / 2
