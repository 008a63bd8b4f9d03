"""Pictures for the app, drawn with numpy and Pillow (no gradio, no matplotlib).

- `layered_view`: GAN Lab's 2D picture. Layers, each switchable: the discriminator's decision
  heatmap (green where D says "real", purple where it says "fake"), the real points, the
  generated points, and arrows showing where one generator step would move each generated point.
- `trainer_view` / `progress_image`: that picture, or the fixed-noise grid, for a running `Trainer`.
- `points_view`: generated 2D points alone (the Sample tab for 2D models).
- `overlay`: a saliency map laid over an image; `caption`: a text strip under an image.
- `curve_rows`: a run's history thinned to a few hundred points; `line_chart` draws such curves.
  (The live curves are pictures drawn here rather than browser-side charts: a picture swap costs
  the browser almost nothing, so the page keeps up with several refreshes a second.)
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from .judge import decision_map, generator_gradients
from .sample import grid

LAYERS = ("heatmap", "real", "fake", "arrows")
LAYER_LABELS = {
    "heatmap": "D's decision (background)",
    "real": "real points",
    "fake": "generated points",
    "arrows": "G's gradient arrows",
}
REAL_RGB = (21, 148, 70)  # green: "real", as in GAN Lab
FAKE_RGB = (126, 34, 206)  # purple: "generated"
ARROW_RGB = (30, 30, 30)
BACKGROUND_RGB = (250, 250, 250)
# D's score -> colour: purple (0, "fake") through white (0.5, "can't tell") to green (1, "real").
_DIVERGING = np.array([
    [0.0, 167, 139, 250],
    [0.5, 255, 255, 255],
    [1.0, 110, 231, 183],
])
MAX_ARROWS = 160  # more arrows than this is clutter
REAL_POINTS = 500  # real points drawn in the 2D view
FAKE_POINTS = 512  # generated points drawn (the first of the fixed noise; a multiple of any pack)
GRID_DISPLAY_PX = 480  # the progress grid is enlarged (nearest neighbour) to about this width


@functools.lru_cache(maxsize=8)  # loading a font costs more than drawing a chart's text
def _font(size: int = 13) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


def decision_colours(values: np.ndarray) -> np.ndarray:
    """(H, W) scores in [0, 1] -> (H, W, 3) uint8 colours of the diverging purple-white-green map."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    rgb = np.stack([np.interp(v, _DIVERGING[:, 0], _DIVERGING[:, c]) for c in (1, 2, 3)], axis=-1)
    return (rgb + 0.5).astype(np.uint8)


class _Canvas:
    """Maps data coordinates in [-lim, lim]^2 to pixels of a square image, y pointing up."""

    def __init__(self, size: int, lim: float):
        self.size, self.lim = size, lim

    def px(self, xy: np.ndarray) -> np.ndarray:
        scale = self.size / (2 * self.lim)
        return np.stack([(xy[:, 0] + self.lim) * scale, (self.lim - xy[:, 1]) * scale], axis=1)


def _draw_points(draw: ImageDraw.ImageDraw, canvas: _Canvas, points: np.ndarray,
                 fill: tuple[int, int, int], radius: float) -> None:
    for x, y in canvas.px(points):
        if -radius <= x <= canvas.size + radius and -radius <= y <= canvas.size + radius:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill,
                         outline=(255, 255, 255))


def _draw_arrows(draw: ImageDraw.ImageDraw, canvas: _Canvas, points: np.ndarray,
                 moves: np.ndarray) -> None:
    """Arrows from each point along its move, scaled so the longest typical one is ~7% of the view."""
    lengths = np.linalg.norm(moves, axis=1)
    typical = float(np.percentile(lengths, 95)) if len(lengths) else 0.0
    if not math.isfinite(typical) or typical <= 0:
        return
    scale = 0.07 * canvas.size / typical
    starts = canvas.px(points)
    vec = np.stack([moves[:, 0], -moves[:, 1]], axis=1) * scale  # y grows downwards on screen
    vec *= np.minimum(1.0, (0.1 * canvas.size) / np.maximum(np.linalg.norm(vec, axis=1), 1e-12))[:, None]
    for (x, y), (dx, dy) in zip(starts, vec):
        length = math.hypot(dx, dy)
        if length < 1.5:
            continue
        ex, ey = x + dx, y + dy
        draw.line((x, y, ex, ey), fill=ARROW_RGB, width=1)
        ux, uy = dx / length, dy / length
        head = min(5.0, 0.5 * length)
        left = (ex - head * (ux - 0.5 * uy), ey - head * (uy + 0.5 * ux))
        right = (ex - head * (ux + 0.5 * uy), ey - head * (uy - 0.5 * ux))
        draw.polygon([(ex, ey), left, right], fill=ARROW_RGB)


def _draw_frame(draw: ImageDraw.ImageDraw, canvas: _Canvas) -> None:
    """Axes through the origin and a tick label at each end, so the scale is readable."""
    s, lim = canvas.size, canvas.lim
    mid = s / 2
    draw.line((0, mid, s, mid), fill=(200, 200, 200), width=1)
    draw.line((mid, 0, mid, s), fill=(200, 200, 200), width=1)
    draw.rectangle((0, 0, s - 1, s - 1), outline=(160, 160, 160))
    font = _font()
    draw.text((4, mid + 2), f"{-lim:g}", fill=(90, 90, 90), font=font)
    label = f"{lim:g}"
    draw.text((s - 4 - draw.textlength(label, font=font), mid + 2), label, fill=(90, 90, 90),
              font=font)
    draw.text((mid + 4, 2), label, fill=(90, 90, 90), font=font)


def layered_view(G: nn.Module, D: nn.Module, z: torch.Tensor, real: torch.Tensor | np.ndarray,
                 lim: float, loss: str, layers: Iterable[str] = LAYERS, size: int = 440,
                 resolution: int = 80) -> Image.Image:
    """GAN Lab's picture of a 2D GAN over [-lim, lim]^2, with the chosen `layers` (see LAYERS).

    `z` (N, z_dim) are the latents of the generated points (N a multiple of D's pack); `real`
    (M, 2) the real points; `loss` the game, which sets the direction of G's arrows.
    """
    layers = set(layers)
    unknown = layers - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(sorted(unknown))}: choose from "
                         f"{', '.join(LAYERS)}")
    if isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 2048:
        raise ValueError(f"size={size!r} is out of range: allowed [64, 2048] pixels")
    canvas = _Canvas(size, float(lim))
    if "heatmap" in layers:
        scores = decision_map(D, float(lim), resolution)
        img = Image.fromarray(decision_colours(scores), "RGB").resize(
            (size, size), Image.Resampling.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), BACKGROUND_RGB)
    draw = ImageDraw.Draw(img)
    _draw_frame(draw, canvas)
    # Generated points under the real ones: tight real modes must stay visible under a cloud.
    points = moves = None
    if "fake" in layers or "arrows" in layers:
        points, moves = generator_gradients(G, D, z, loss)
    if "fake" in layers:
        _draw_points(draw, canvas, points, FAKE_RGB, 2.5)
    if "real" in layers:
        _draw_points(draw, canvas, np.asarray(real, dtype=np.float64).reshape(-1, 2), REAL_RGB, 4.0)
    if "arrows" in layers:
        step = max(1, math.ceil(len(points) / MAX_ARROWS))
        _draw_arrows(draw, canvas, points[::step], moves[::step])
    return img


def points_view(points: torch.Tensor | np.ndarray, lim: float, labels: Sequence[str] = (),
                size: int = 440) -> Image.Image:
    """Generated 2D points on a plain background; with `labels` (one per point), each is captioned."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if labels and len(labels) != len(pts):
        raise ValueError(f"got {len(labels)} labels for {len(pts)} points: give one per point")
    canvas = _Canvas(size, float(lim))
    img = Image.new("RGB", (size, size), BACKGROUND_RGB)
    draw = ImageDraw.Draw(img)
    _draw_frame(draw, canvas)
    _draw_points(draw, canvas, pts, FAKE_RGB, 3.5)
    if labels:
        font = _font()
        for (x, y), text in zip(canvas.px(pts), labels):
            draw.text((x + 5, y - 7), str(text), fill=(40, 40, 40), font=font)
    return img


def enlarge(img: Image.Image, width: int = GRID_DISPLAY_PX) -> Image.Image:
    """Scale a small picture up by a whole factor (nearest neighbour keeps pixels sharp)."""
    factor = max(1, round(width / max(img.width, 1)))
    if factor == 1:
        return img
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def view_lim(trainer: Any) -> float:
    """Half-width of the square shown for a 2D run: the toy set's own, else a fixed default."""
    toy = getattr(trainer.dataset, "toy", None) if trainer.is_2d else None
    return float(toy.lim) if toy is not None else 2.0


@torch.no_grad()
def _real_points(trainer: Any, n: int) -> torch.Tensor:
    # A fixed generator: the same real points every refresh, so only the model's layers move.
    x, _ = trainer.dataset.real_sample(n, torch.Generator().manual_seed(0))
    return x.cpu()


def trainer_view(trainer: Any, layers: Iterable[str] = LAYERS, size: int = 440) -> Image.Image:
    """The layered 2D view of a running 2D `Trainer` (fixed noise for the generated points)."""
    pack = int(getattr(trainer.D, "pack", 1))
    n = min(len(trainer.fixed_noise), FAKE_POINTS)
    n -= n % pack
    return layered_view(trainer.sampler(), trainer.D, trainer.fixed_noise[:n],
                        _real_points(trainer, REAL_POINTS), view_lim(trainer),
                        trainer.config.train.loss, layers, size)


def progress_image(trainer: Any, layers: Iterable[str] = LAYERS) -> Image.Image:
    """What training looks like now: the layered view (2D) or the enlarged fixed-noise grid."""
    if trainer.is_2d:
        return trainer_view(trainer, layers)
    return enlarge(grid(trainer.fixed_samples(), nrow=8))


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.55,
            size: int = 280) -> Image.Image:
    """`heat` (H, W) in [0, 1] drawn in red-yellow over a grey copy of `image`, `size` px square."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} is out of range: allowed [0, 1]")
    h = np.clip(np.asarray(heat, dtype=np.float64), 0.0, 1.0)
    if h.ndim != 2 or h.size == 0 or not np.isfinite(h).all():
        raise ValueError(f"heat must be a finite, non-empty (H, W) array, got shape {h.shape}")
    base = image.convert("L").convert("RGB").resize((size, size), Image.Resampling.NEAREST)
    rgb = np.stack([np.full_like(h, 255.0), 255.0 * h, np.zeros_like(h)], axis=-1)
    colour = Image.fromarray((rgb + 0.5).astype(np.uint8), "RGB").resize(
        (size, size), Image.Resampling.NEAREST)
    weight = Image.fromarray((h * alpha * 255 + 0.5).astype(np.uint8), "L").resize(
        (size, size), Image.Resampling.NEAREST)
    return Image.composite(colour, base, weight)


def caption(img: Image.Image, text: str) -> Image.Image:
    """`img` with a white strip below it holding `text` (e.g. "step 400")."""
    font = _font()
    strip = 20
    out = Image.new("RGB", (img.width, img.height + strip), "white")
    out.paste(img.convert("RGB"), (0, 0))
    ImageDraw.Draw(out).text((6, img.height + 3), text, fill=(20, 20, 20), font=font)
    return out


CURVES = ("loss_d", "loss_g", "d_real", "d_fake")


def curve_rows(history: Sequence[Any], max_points: int = 400) -> dict[str, list[float]]:
    """The run's curves thinned to at most `max_points` steps (mean of each bucket of steps).

    Returns {"step": [...], "loss_d": [...], ...}; a curve's value is NaN where no step in the
    bucket computed it (e.g. loss_g during D-only steps). Divergence records are left out.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points={max_points!r} must be a whole number >= 1")
    rows = [r for r in history if not getattr(r, "event", "")]
    out: dict[str, list[float]] = {"step": [], **{c: [] for c in CURVES}}
    if not rows:
        return out
    per = math.ceil(len(rows) / max_points)
    for start in range(0, len(rows), per):
        bucket = rows[start:start + per]
        out["step"].append(float(bucket[-1].step))
        for c in CURVES:
            values = [getattr(r, c) for r in bucket if getattr(r, c) is not None]
            finite = [v for v in values if math.isfinite(v)]
            out[c].append(sum(finite) / len(finite) if finite else math.nan)
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"tick range [{lo}, {hi}] must be finite")
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + 1e-9 * step:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _tick_label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:.4g}"


def line_chart(steps: Sequence[float], series: dict[str, tuple[Sequence[float], str]],
               title: str = "", marks: Sequence[tuple[float, str]] = (),
               y_lim: tuple[float, float] | None = None,
               size: tuple[int, int] = (520, 250)) -> Image.Image:
    """Curves over a shared x axis: `series` maps a legend label to (values, "#rrggbb").

    NaN values leave gaps. `marks` are (x, text) dashed vertical lines, e.g. where a setting
    changed. Drawn at twice the size and scaled down, for smooth lines.
    """
    scale = 2
    width, height = size[0] * scale, size[1] * scale
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(12 * scale), _font(10 * scale)
    left, right, top, bottom = 52 * scale, 12 * scale, 30 * scale, 30 * scale
    x0, x1, y0, y1 = left, width - right, top, height - bottom  # plot area, y0 at the top
    xs = np.asarray(steps, dtype=np.float64)
    values = [np.asarray(v, dtype=np.float64) for v, _ in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if y_lim is not None:
        lo, hi = y_lim
    elif finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.08 * (hi - lo) if hi > lo else max(0.5, abs(hi) * 0.1)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, 1.0
    x_lo = 0.0
    x_hi = float(xs.max()) if xs.size else 1.0
    x_hi = max(x_hi, x_lo + 1.0)

    def px(x: np.ndarray) -> np.ndarray:
        return x0 + (x - x_lo) / (x_hi - x_lo) * (x1 - x0)

    def py(y: np.ndarray) -> np.ndarray:
        return y1 - (y - lo) / (hi - lo) * (y1 - y0)

    grey, dark = (225, 225, 225), (90, 90, 90)
    for t in nice_ticks(lo, hi, 4):
        if lo <= t <= hi:
            y = float(py(np.array(t)))
            draw.line((x0, y, x1, y), fill=grey, width=scale)
            label = _tick_label(t)
            draw.text((x0 - 6 * scale - draw.textlength(label, font=small), y - 6 * scale),
                      label, fill=dark, font=small)
    for t in nice_ticks(x_lo, x_hi, 5):
        x = float(px(np.array(t)))
        draw.line((x, y1, x, y1 + 4 * scale), fill=dark, width=scale)
        label = _tick_label(t)
        draw.text((x - draw.textlength(label, font=small) / 2, y1 + 6 * scale), label,
                  fill=dark, font=small)
    draw.rectangle((x0, y0, x1, y1), outline=(170, 170, 170), width=scale)
    for x_mark, text in marks:
        x = float(px(np.array(float(x_mark))))
        for y in range(int(y0), int(y1), 8 * scale):  # dashed
            draw.line((x, y, x, min(y + 4 * scale, y1)), fill=(150, 150, 150), width=scale)
        # Labelled at the foot of the line: the top right corner is under the page's buttons.
        draw.text((x + 3 * scale, y1 - 13 * scale), text, fill=(110, 110, 110), font=small)
    for (label, (_, colour)), v in zip(series.items(), values):
        ok = np.isfinite(v) & (np.arange(len(v)) < len(xs))
        pts = np.stack([px(xs[:len(v)]), py(np.clip(v, lo, hi))], axis=1)
        run: list[tuple[float, float]] = []
        for i in range(len(v) + 1):  # draw each unbroken run of finite values
            if i < len(v) and ok[i]:
                run.append((float(pts[i, 0]), float(pts[i, 1])))
                continue
            if len(run) > 1:
                draw.line(run, fill=colour, width=2 * scale, joint="curve")
            elif len(run) == 1:
                cx, cy = run[0]
                draw.ellipse((cx - 2 * scale, cy - 2 * scale, cx + 2 * scale, cy + 2 * scale),
                             fill=colour)
            run = []
    draw.text((x0, 8 * scale), title, fill=(30, 30, 30), font=font)
    x = x0 + draw.textlength(title, font=font) + 16 * scale
    for label, (_, colour) in series.items():  # the legend follows the title
        draw.line((x, 17 * scale, x + 16 * scale, 17 * scale), fill=colour, width=3 * scale)
        x += 20 * scale
        draw.text((x, 10 * scale), label, fill=dark, font=small)
        x += draw.textlength(label, font=small) + 12 * scale
    return img.reduce(scale)  # a 2x2 box average: smooth edges, and far cheaper than LANCZOS


def histogram_chart(edges: Sequence[float], series: dict[str, tuple[Sequence[float], str]],
                    title: str = "", size: tuple[int, int] = (560, 260),
                    x_title: str = "", threshold: float | None = None) -> Image.Image:
    """Overlaid histograms sharing `edges`: `series` maps a label to (counts, "#rrggbb").

    Each set is drawn half-transparent, so where they overlap both stay visible. `threshold`
    draws a dashed vertical line there (e.g. D's 0.5 decision threshold).
    """
    scale = 2
    width, height = size[0] * scale, size[1] * scale
    edges_a = np.asarray(edges, dtype=np.float64)
    counts = [np.asarray(c, dtype=np.float64) for c, _ in series.values()]
    if any(len(c) != len(edges_a) - 1 for c in counts):
        raise ValueError("each series needs one count per bin (len(edges) - 1)")
    font, small = _font(12 * scale), _font(10 * scale)
    left, right, top, bottom = 48 * scale, 14 * scale, 30 * scale, 42 * scale
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    top_count = max([float(c.max()) for c in counts if c.size] + [1.0])
    ticks = nice_ticks(0, top_count, 4)
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    hi = math.ceil(top_count / tick_step - 1e-9) * tick_step  # the first round count above
    x_lo, x_hi = float(edges_a[0]), float(edges_a[-1])

    def px(x: float) -> float:
        return x0 + (x - x_lo) / (x_hi - x_lo) * (x1 - x0)

    def py(y: float) -> float:
        return y1 - y / hi * (y1 - y0)

    base = Image.new("RGBA", (width, height), "white")
    draw = ImageDraw.Draw(base)
    grey, dark = (225, 225, 225), (90, 90, 90)
    for t in nice_ticks(0, hi, 4):
        y = py(t)
        draw.line((x0, y, x1, y), fill=grey, width=scale)
        label = _tick_label(t)
        draw.text((x0 - 6 * scale - draw.textlength(label, font=small), y - 6 * scale), label,
                  fill=dark, font=small)
    for t in nice_ticks(x_lo, x_hi, 5):
        x = px(t)
        draw.line((x, y1, x, y1 + 4 * scale), fill=dark, width=scale)
        label = _tick_label(t)
        draw.text((x - draw.textlength(label, font=small) / 2, y1 + 6 * scale), label, fill=dark,
                  font=small)
    if x_title:
        draw.text(((x0 + x1 - draw.textlength(x_title, font=small)) / 2, y1 + 22 * scale),
                  x_title, fill=dark, font=small)
    for (_, colour), c in zip(series.values(), counts):
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        ldraw = ImageDraw.Draw(layer)
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        for lo_edge, hi_edge, n in zip(edges_a[:-1], edges_a[1:], c):
            if n > 0:
                ldraw.rectangle((px(lo_edge) + scale, py(n), px(hi_edge) - scale, y1),
                                fill=(*rgb, 140), outline=(*rgb, 255), width=scale)
        base = Image.alpha_composite(base, layer)
    draw = ImageDraw.Draw(base)
    draw.rectangle((x0, y0, x1, y1), outline=(170, 170, 170), width=scale)
    if threshold is not None and x_lo <= threshold <= x_hi:
        x = px(threshold)
        for y in range(int(y0), int(y1), 8 * scale):
            draw.line((x, y, x, min(y + 4 * scale, y1)), fill=(60, 60, 60), width=scale)
    draw.text((x0, 8 * scale), title, fill=(30, 30, 30), font=font)
    x = x0 + draw.textlength(title, font=font) + 16 * scale
    for label, (_, colour) in series.items():
        draw.rectangle((x, 11 * scale, x + 12 * scale, 21 * scale), fill=colour)
        x += 16 * scale
        draw.text((x, 10 * scale), label, fill=dark, font=small)
        x += draw.textlength(label, font=small) + 12 * scale
    return base.convert("RGB").reduce(scale)
