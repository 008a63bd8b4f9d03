"""Densities on a grid over the 2D view: the real data's, G's (estimated), the optimal D, contours.

The grid is `res` x `res` square cells over [-lim, lim]^2, laid out like a picture (row 0 is the
top, y = +lim; column 0 is x = -lim), as `judge.decision_map` is.

- `mixture_mass(centres, sigma, lim, res)`: the probability each cell holds under an
  equal-weight mixture of N(c, sigma^2 I). Exact: a Gaussian's mass over a rectangle is a
  product of two differences of the normal CDF, so the whole grid is one (res, K) x (K, res)
  product. Every 2D set's density is such a mixture (`Toy2D.support`), so is a kernel density
  estimate of G's samples (`generated_mass`).
- `optimal_discriminator(m_data, m_g)`: D*(x) = p_data(x) / (p_data(x) + p_g(x)), the
  discriminator that maximises the game's value for a fixed G (Goodfellow et al. 2014, Prop. 1),
  per cell; NaN where neither distribution has mass. `optimal_d_map` gives it for a model: both
  densities seen through the same kernel (the estimate's bandwidth), so that a G that matches
  the data gets D* = 1/2 everywhere, as the theory says, rather than the kernel's blur.
- `hdr_levels` and `contour_segments`: the real density's contour lines (marching squares) at
  the levels that enclose given shares of the data.
No gradio, no drawing: the browser draws what these return.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

RES = 40  # D* grid: as fine as D's own decision map
CONTOUR_RES = 120  # the real density's contour grid
CONTOUR_SHARES = (0.5, 0.9, 0.99)  # contour lines enclosing these shares of the data
EMPTY_SHARE = 0.002  # D* is undefined (NaN) in cells holding under this share of the busiest


def _cdf_steps(x: torch.Tensor, edges: torch.Tensor, sigma: float) -> torch.Tensor:
    """(K, R) mass of N(x_k, sigma^2) between consecutive `edges` (R + 1 of them)."""
    cdf = torch.special.ndtr((edges[None, :] - x[:, None]) / sigma)
    return (cdf[:, 1:] - cdf[:, :-1]).abs()


def mixture_mass(centres: torch.Tensor | np.ndarray, sigma: float, lim: float, res: int,
                 block: int = 4096) -> np.ndarray:
    """(res, res) probability per cell of an equal-weight mixture of N(c, sigma^2 I), float64.
    Mass outside the square is not in any cell, so the sum can be below 1."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma={sigma!r} must be a positive number")
    if not (math.isfinite(lim) and lim > 0) or not (isinstance(res, int) and 2 <= res <= 1000):
        raise ValueError(f"lim={lim!r} must be positive and res={res!r} in [2, 1000]")
    c = torch.as_tensor(np.asarray(centres), dtype=torch.float64).reshape(-1, 2)
    if not len(c):
        raise ValueError("a mixture needs at least one centre")
    xs = torch.linspace(-lim, lim, res + 1, dtype=torch.float64)  # left to right
    ys = torch.linspace(lim, -lim, res + 1, dtype=torch.float64)  # top to bottom
    mass = torch.zeros(res, res, dtype=torch.float64)
    for i in range(0, len(c), block):  # 10,000 centres x 1,000 cells stays small
        part = c[i:i + block]
        wx = _cdf_steps(part[:, 0], xs, sigma)  # (k, res) mass per column
        wy = _cdf_steps(part[:, 1], ys, sigma)  # (k, res) mass per row
        mass += wy.T @ wx
    return (mass / len(c)).numpy()


def cell_centres(lim: float, res: int) -> torch.Tensor:
    """(res * res, 2) the centres of the grid's cells, row by row from the top."""
    step = 2 * lim / res
    xs = -lim + (torch.arange(res, dtype=torch.float64) + 0.5) * step
    ys = lim - (torch.arange(res, dtype=torch.float64) + 0.5) * step
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).float()


def bandwidth(lim: float, res: int) -> float:
    """The kernel of G's density estimate: half a cell (what the grid can show anyway)."""
    return lim / res


def generated_mass(points: torch.Tensor | np.ndarray, lim: float, res: int,
                   width: float | None = None) -> np.ndarray:
    """A kernel density estimate of G from its samples: each a Gaussian of std `width`
    (default `bandwidth(lim, res)`), integrated over the cells exactly."""
    return mixture_mass(points, width or bandwidth(lim, res), lim, res)


def optimal_discriminator(m_data: np.ndarray, m_g: np.ndarray,
                          empty_share: float = EMPTY_SHARE) -> np.ndarray:
    """D* = p_data / (p_data + p_g) per cell (cells of equal size: masses stand for densities);
    NaN where the two hold less than `empty_share` of the busiest cell's mass together."""
    m_data, m_g = np.asarray(m_data, dtype=np.float64), np.asarray(m_g, dtype=np.float64)
    total = m_data + m_g
    top = float(total.max()) if total.size else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        d_star = m_data / total
    d_star[~(total > empty_share * top)] = np.nan
    return d_star


@dataclass
class OptimalD:
    """The optimal discriminator next to D's own, on one grid (see `optimal_d_map`)."""
    lim: float
    d_star: np.ndarray  # (res, res) D*; NaN where neither the data nor G has mass
    d_own: np.ndarray  # (res, res) D's own score at the cells' centres
    gap: float  # mean |D - D*| weighted by the cells' mass (data and G's, half each)
    gap_on_data: float  # the same, weighted by the data's mass alone


def optimal_d_map(toy, generated: torch.Tensor | np.ndarray, d_scores, lim: float,
                  res: int = RES) -> OptimalD:
    """D* for a 2D set `toy` (a `Toy2D`) and samples of G, with `d_scores(points)` -> D's
    scores in [0, 1] (NumPy) at the cells' centres to compare with. Both densities are seen
    through the estimate's kernel: the data's mixture gets std sqrt(sigma^2 + width^2)."""
    width = bandwidth(lim, res)
    m_data = mixture_mass(toy.support(), math.hypot(toy.sigma, width), lim, res)
    m_g = generated_mass(generated, lim, res, width)
    d_star = optimal_discriminator(m_data, m_g)
    d_own = np.asarray(d_scores(cell_centres(lim, res)), dtype=np.float64).reshape(res, res)
    ok = ~np.isnan(d_star)
    weights = (m_data + m_g) / 2
    gap = _weighted(np.abs(d_own - d_star), weights, ok)
    gap_on_data = _weighted(np.abs(d_own - d_star), m_data, ok)
    return OptimalD(float(lim), d_star, d_own, gap, gap_on_data)


def _weighted(values: np.ndarray, weights: np.ndarray, ok: np.ndarray) -> float:
    w = np.where(ok, weights, 0.0)
    total = float(w.sum())
    return float((np.where(ok, values, 0.0) * w).sum() / total) if total > 0 else float("nan")


# ------------------------------------------------------------------ contour lines
def hdr_levels(mass: np.ndarray, shares: tuple[float, ...] = CONTOUR_SHARES) -> list[float]:
    """The cell masses whose upper level sets hold `shares` of the grid's mass (the highest
    density regions): a contour at each encloses that share of the data."""
    values = np.sort(np.asarray(mass, dtype=np.float64).reshape(-1))[::-1]
    total = values.sum()
    if total <= 0:
        return []
    cumulative = np.cumsum(values) / total
    return [float(values[min(int(np.searchsorted(cumulative, s)), len(values) - 1)])
            for s in shares]


# Marching squares: for each corner pattern (top-left 8, top-right 4, bottom-right 2,
# bottom-left 1 set where the value is at or above the level), the cell edges each segment
# joins (0 top, 1 right, 2 bottom, 3 left). The saddles 5 and 10 are resolved by the mean of
# the four corners (the pattern when the centre is above the level is in _SADDLE_HIGH).
_SEGMENTS = {1: ((3, 2),), 2: ((2, 1),), 3: ((3, 1),), 4: ((0, 1),), 5: ((0, 1), (3, 2)),
             6: ((0, 2),), 7: ((3, 0),), 8: ((3, 0),), 9: ((0, 2),), 10: ((3, 0), (2, 1)),
             11: ((0, 1),), 12: ((3, 1),), 13: ((2, 1),), 14: ((3, 2),)}
_SADDLE_HIGH = {5: ((3, 0), (2, 1)), 10: ((0, 1), (3, 2))}


def contour_segments(values: np.ndarray, level: float, lim: float) -> np.ndarray:
    """(S, 2, 2) line segments (two (x, y) ends each, data coordinates) of the contour of
    `values` (a grid laid out as this module's, sampled at the cells' centres) at `level`."""
    v = np.asarray(values, dtype=np.float64)
    res = v.shape[0]
    if v.ndim != 2 or v.shape[1] != res or res < 2:
        raise ValueError(f"contour_segments needs a square grid, got {v.shape}")
    step = 2 * lim / res
    tl, tr, br, bl = v[:-1, :-1], v[:-1, 1:], v[1:, 1:], v[1:, :-1]
    case = ((tl >= level) * 8 + (tr >= level) * 4 + (br >= level) * 2 + (bl >= level) * 1)
    centre_high = (tl + tr + br + bl) / 4 >= level
    rows, cols = np.mgrid[0:res - 1, 0:res - 1]
    x0 = -lim + (cols + 0.5) * step  # the top-left corner's centre
    y0 = lim - (rows + 0.5) * step

    def frac(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (level - a) / (b - a)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    # Where the contour crosses each edge of each square, as (x, y).
    crossing = {
        0: (x0 + frac(tl, tr) * step, y0),
        1: (x0 + step, y0 - frac(tr, br) * step),
        2: (x0 + frac(bl, br) * step, y0 - step),
        3: (x0, y0 - frac(tl, bl) * step),
    }
    out = []
    for code, pairs in _SEGMENTS.items():
        for high in (False, True) if code in _SADDLE_HIGH else (None,):
            mask = case == code
            if high is not None:
                mask &= centre_high if high else ~centre_high
                pairs = _SADDLE_HIGH[code] if high else _SEGMENTS[code]
            if not mask.any():
                continue
            for a, b in pairs:
                ends = [np.stack([crossing[e][0][mask], crossing[e][1][mask]], axis=1)
                        for e in (a, b)]
                out.append(np.stack(ends, axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2, 2))


def real_contours(toy, lim: float, res: int = CONTOUR_RES,
                  shares: tuple[float, ...] = CONTOUR_SHARES) -> list[np.ndarray]:
    """The contour lines of a 2D set's density, one (S, 2, 2) array per share in `shares`
    (the innermost first)."""
    mass = mixture_mass(toy.support(), toy.sigma, lim, res)
    return [contour_segments(mass, level, lim) for level in hdr_levels(mass, shares)]
