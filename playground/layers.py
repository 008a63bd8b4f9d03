"""The 2D view's teaching layers beyond GAN Lab's four, computed for a live frame when asked for.

A page asks for what it shows (`Wants`): G's manifold (`manifold.py`), the optimal discriminator
D* beside D's own map (`density.optimal_d_map`), the real density's contour lines (once per run:
the data does not change), and the quality series (KL and JS divergence, high-quality share and
modes over steps, GAN Lab's metric beside ours). `Extras.compute` works them out on the run's
private copies of G and D in the frame's thread, beside the training, and returns JSON-ready
numbers packed like the rest of a frame (`codec.pack`). No gradio.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import density
from .codec import pack, points_to_u16, unit_to_u8
from .judge import scores
from .manifold import manifold
from .metrics import N_POINTS, evaluate_2d
from .sample import draw_noise, run_generator

QUALITY_EVERY_S = 1.0  # a new point of the quality series at most this often while training
QUALITY_MAX = 4000  # points kept in a run's quality series (thinned to half beyond)
NAN_U8 = 255  # D*'s "undefined" (no mass there) in its 8-bit code; scores use 0..254
Z_SHOWN = 4  # z coordinates sent per generated point (for its read-out and G's animation)
Z_SCALE = 4096.0  # z as int16: z * Z_SCALE (|z| up to 8)


@dataclass
class Wants:
    """What a page's 2D view shows beyond the base frame (from its frame request)."""
    manifold: bool = False
    axes: tuple[int, int] = (0, 1)
    dstar: bool = False
    contour: bool = False  # the page lacks the contour lines and wants them
    quality_since: int = 0  # quality series points the page already has
    quality_last: int = -1  # the step of the last of them

    @classmethod
    def parse(cls, data: Any) -> "Wants":
        """From a frame request's "want" object; anything odd is ignored (a frame request is
        never refused for it)."""
        if not isinstance(data, dict):
            return cls()
        axes = data.get("axes")
        ok = (isinstance(axes, list) and len(axes) == 2 and
              all(isinstance(a, int) and not isinstance(a, bool) and 0 <= a < 4096
                  for a in axes))
        def whole(name: str, default: int) -> int:
            v = data.get(name)
            return v if isinstance(v, int) and not isinstance(v, bool) and \
                -1 <= v < 2**53 else default
        return cls(data.get("manifold") is True, tuple(axes) if ok else (0, 1),
                   data.get("dstar") is True, data.get("contour") is True,
                   max(0, whole("quality_since", 0)), whole("quality_last", -1))

    def covers(self, other: "Wants") -> bool:
        """Whether a view computed for these wants holds what `other` asks for."""
        return ((self.manifold or not other.manifold) and (self.dstar or not other.dstar)
                and (not other.manifold or self.axes == other.axes))


@dataclass
class ExtrasJob:
    """What the extras of one frame are computed from (read off the trainer at capture)."""
    toy: Any  # the run's Toy2D
    lim: float
    z_dim: int
    noise: str
    wants: Wants
    quality_due: bool  # add a point to the quality series
    z_eval: torch.Tensor | None = None  # noise of the quality series and D*'s samples

    def compute(self, G: nn.Module, D: nn.Module, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        axes = self.wants.axes
        if self.wants.manifold:
            if self.z_dim > 2 and max(axes) >= self.z_dim:
                axes = (0, 1)
            m = manifold(G, self.z_dim, self.noise, axes)
            out["manifold"] = {"z_dim": self.z_dim, "axes": list(m.axes), "span": m.span,
                               "vertices": pack(points_to_u16(m.vertices.reshape(-1, 2),
                                                              self.lim)),
                               "shade": pack(unit_to_u8(m.shade.reshape(-1))),
                               "cells": int(m.shade.shape[0]), "caption": m.caption}
        if not (self.wants.dstar or self.quality_due):
            return out
        device = next(G.parameters()).device
        fake = run_generator(G, self.z_eval, None, device, len(self.z_eval))
        if self.wants.dstar:
            pack_d = int(getattr(D, "pack", 1))

            def d_scores(points: torch.Tensor) -> np.ndarray:
                keep = len(points) - len(points) % pack_d
                got = scores(D, points[:keep])
                return np.concatenate([got, np.full(len(points) - keep, got[-1])])

            opt = density.optimal_d_map(self.toy, fake, d_scores, self.lim)
            code = np.where(np.isnan(opt.d_star), NAN_U8,
                            np.rint(np.nan_to_num(opt.d_star) * 254)).astype(np.uint8)
            out["dstar"] = {"res": int(code.shape[0]), "d_star": pack(code),
                            "d_own": pack(unit_to_u8(opt.d_own)), "gap": round(opt.gap, 4),
                            "gap_on_data": round(opt.gap_on_data, 4)}
        if self.quality_due:
            m = evaluate_2d(fake, self.toy)
            out["quality"] = [step, round(m["kl"], 4), round(m["js"], 4),
                              round(m["high_quality_pct"], 2) if "high_quality_pct" in m
                              else None, m.get("modes_captured", m.get("points_reached_pct")),
                              m.get("modes_total")]
        return out


def eval_noise(z_dim: int, noise: str) -> torch.Tensor:
    """The noise of the quality series: `metrics.evaluate_generator`'s own (seed 0)."""
    return draw_noise(N_POINTS, z_dim, noise, torch.Generator().manual_seed(0))


@dataclass
class QualitySeries:
    """A run's quality over steps: [step, KL, JS, high quality %, modes (or % of your points
    reached), modes in all] rows, at most one per QUALITY_EVERY_S while training."""
    rows: list[list[Any]] = field(default_factory=list)
    last_at: float = 0.0

    def due(self, step: int) -> bool:
        if self.rows and self.rows[-1][0] >= step:
            return False
        return time.monotonic() - self.last_at >= QUALITY_EVERY_S

    def add(self, row: list[Any]) -> None:
        """A new point; after a roll-back (a step not after the last), the rows past it go."""
        if self.rows and self.rows[-1][0] >= row[0]:
            self.rows = [r for r in self.rows if r[0] < row[0]]
        self.rows.append(row)
        self.last_at = time.monotonic()
        if len(self.rows) > QUALITY_MAX:  # every other point of the older half
            half = len(self.rows) // 2
            self.rows = self.rows[:half:2] + self.rows[half:]

    def since(self, have: int, last_step: int) -> dict[str, Any]:
        """The rows after the page's first `have`, whose last was at `last_step`; all of them
        when the page's copy no longer matches (thinned, rolled back, another run)."""
        rows = self.rows
        if 0 < have <= len(rows) and rows[have - 1][0] == last_step:
            return {"from": have, "rows": rows[have:]}
        return {"from": 0, "rows": list(rows)}


def contour_payload(toy: Any, lim: float) -> dict[str, Any]:
    """The real density's contour lines, packed: one array of segment ends per share."""
    lines = density.real_contours(toy, lim)
    return {"shares": list(density.CONTOUR_SHARES),
            "lines": [pack(points_to_u16(segs.reshape(-1, 2), lim)) for segs in lines]}


def z_payload(z: torch.Tensor) -> dict[str, Any]:
    """The first Z_SHOWN coordinates of each generated point's z, as int16 (z * Z_SCALE)."""
    shown = z[:, :Z_SHOWN].detach().cpu().double().numpy()
    code = np.clip(np.rint(shown * Z_SCALE), -32767, 32767).astype(np.int16)
    return {"z": pack(code), "z_dim": int(z.shape[1]), "z_scale": Z_SCALE,
            "z_norm": round(float(z.norm(dim=1).mean()), 3) if len(z) else 0.0,
            "z_span": math.ceil(float(z[:, :2].abs().max())) if len(z) else 1}
