"""The 2D toy distributions: mixtures of Gaussians (ring8, grid25), noisy curves, your own points.

A `Toy2D` is either a mixture of equal-weight isotropic Gaussians (`centres` (M, 2), `sigma`) or,
when `centres` is empty, a curve (`curve` maps t in [0, 1) to points) blurred by Gaussian noise of
std `sigma`. `lim` is the half-width of a square around the origin that holds the data, for plots.
Your own points (`points_set`, drawn on the view or read from a CSV) are a mixture too: one
Gaussian of a small std around each point, so the data has a density (the contour, the optimal
discriminator) and D cannot learn a finite list by heart. Every set's density is an equal-weight
mixture of isotropic Gaussians (`support`): exact for mixtures and points, the curve at 2,000
places for curves. Sampling draws only from the `torch.Generator` it is given (a CPU generator).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensor fields with == is ambiguous
class Toy2D:
    name: str
    centres: torch.Tensor  # (M, 2) mode centres; empty (0, 2) for curve-shaped sets
    sigma: float  # std of each mode (or of the noise around the curve)
    lim: float  # half-width of a square centred at 0 that holds (practically) all the data
    description: str = ""  # one line for users
    curve: Callable[[torch.Tensor], torch.Tensor] | None = None  # t (n,) in [0,1) -> (n, 2)

    @property
    def is_points(self) -> bool:
        """Your own points (`points_set`): 'modes' are not meaningful for them."""
        return self.name == POINTS_NAME

    def support(self) -> torch.Tensor:
        """(K, 2) centres of an equal-weight mixture of N(c, sigma^2 I) with this set's density:
        the centres themselves, or the curve at CURVE_PLACES evenly spaced values of t (what
        sampling draws t from: uniform on [0, 1))."""
        if len(self.centres):
            return self.centres
        if self.curve is None:
            raise ValueError(f"toy set {self.name!r} has neither centres nor a curve")
        t = (torch.arange(CURVE_PLACES, dtype=torch.float64) + 0.5) / CURVE_PLACES
        return self.curve(t).float()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n fresh points, (n, 2) float32 on the CPU, drawn only from `generator`."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n={n!r} must be a whole number >= 0")
        if len(self.centres):
            which = torch.randint(0, len(self.centres), (n,), generator=generator)
            base = self.centres[which]
        elif self.curve is not None:
            base = self.curve(torch.rand(n, generator=generator))
        else:
            raise ValueError(f"toy set {self.name!r} has neither centres nor a curve")
        noise = torch.randn(n, 2, generator=generator) * self.sigma
        return (base + noise).to(torch.float32)


def _ring(modes: int, radius: float) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def _grid(values: tuple[float, ...]) -> torch.Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    xs, ys = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


_SPIRAL_TURNS = 1.75  # enough turns to be visibly a spiral, few enough that arms stay apart
_SPIRAL_SCALE = 0.1  # r = scale * theta; theta_max = 2*pi*turns ~ 11 -> outer radius ~ 1.1


def _spiral(t: torch.Tensor) -> torch.Tensor:
    # Arc length of an Archimedean spiral grows ~ theta^2, so theta ~ sqrt(t) spreads points
    # roughly evenly along the curve instead of crowding them at the centre.
    theta = 2 * math.pi * _SPIRAL_TURNS * t.sqrt()
    r = _SPIRAL_SCALE * theta
    return torch.stack([r * theta.cos(), r * theta.sin()], dim=1)


def _moons(t: torch.Tensor) -> torch.Tensor:
    # sklearn's make_moons layout: t < 0.5 on the upper arc, the rest on the lower, interleaved
    # arc; shifted by (-0.5, -0.25) so the pair is centred on the origin.
    upper = t < 0.5
    theta = math.pi * torch.where(upper, 2 * t, 2 * t - 1)
    x = torch.where(upper, theta.cos(), 1 - theta.cos()) - 0.5
    y = torch.where(upper, theta.sin(), 0.5 - theta.sin()) - 0.25
    return torch.stack([x, y], dim=1)


_LINE_START, _LINE_END = (-1.0, -1.0), (1.0, 1.0)  # a diagonal: G must learn the correlation


def _line(t: torch.Tensor) -> torch.Tensor:
    start, end = torch.tensor(_LINE_START), torch.tensor(_LINE_END)
    return start + t[:, None] * (end - start)


_NO_CENTRES = torch.zeros(0, 2)
CURVE_PLACES = 2000  # a curve's density as a mixture of this many Gaussians along it
POINTS_NAME = "points"
POINTS_SIGMA = 0.02  # your points' jitter: std as a share of their view's half-width


def points_lim(points: torch.Tensor) -> float:
    """The half-width of the view of your points: 1.2 times their largest coordinate, rounded
    up to a multiple of 0.5, at least 1 (so a few points near 0 still get a readable view)."""
    top = float(points.abs().max()) if len(points) else 0.0
    return max(1.0, math.ceil(1.2 * top / 0.5) * 0.5)


def points_set(points) -> Toy2D:
    """Your own points as a data set: each sample is one of them, chosen uniformly, plus
    Gaussian jitter of std POINTS_SIGMA * lim (0.03 for points within +-1.25)."""
    centres = torch.as_tensor(points, dtype=torch.float32).reshape(-1, 2)
    if not len(centres):
        raise ValueError("your points: give at least one point")
    lim = points_lim(centres)
    return Toy2D(POINTS_NAME, centres, POINTS_SIGMA * lim, lim,
                 f"your {len(centres):,} points (each with a jitter of std "
                 f"{POINTS_SIGMA * lim:.3g})")

TOY2D: dict[str, Toy2D] = {
    # PacGAN/VEEGAN's 2D ring: 8 Gaussians on the unit circle, std 0.01.
    "ring8": Toy2D("ring8", _ring(8, 1.0), 0.01, 1.5,
                   "8 Gaussians on a circle of radius 1 (std 0.01)"),
    # PacGAN's 2D grid: 25 Gaussians at {-4,-2,0,2,4}^2, std 0.05.
    "grid25": Toy2D("grid25", _grid((-4.0, -2.0, 0.0, 2.0, 4.0)), 0.05, 5.5,
                    "25 Gaussians on a 5x5 grid with spacing 2 (std 0.05)"),
    "spiral": Toy2D("spiral", _NO_CENTRES, 0.03, 1.5,
                    "points along an Archimedean spiral of 1.75 turns (noise std 0.03)", _spiral),
    "moons": Toy2D("moons", _NO_CENTRES, 0.05, 2.0,
                   "two interleaved half circles (noise std 0.05)", _moons),
    "line": Toy2D("line", _NO_CENTRES, 0.02, 1.5,
                  "uniform along the segment (-1,-1)-(1,1) (noise std 0.02)", _line),
}
