"""Charts for the app, drawn with numpy and Pillow (no gradio, no matplotlib).

- `curve_rows`: a run's history thinned to a few hundred points; `line_chart` draws such curves,
  with dashed marks where a setting changed.
- `histogram_chart`: overlaid histograms (the Discriminator tab's real vs fake scores).
(The live curves are pictures drawn here rather than browser-side charts: a picture swap costs
the browser almost nothing, so the page keeps up with several refreshes a second.)
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@functools.lru_cache(maxsize=8)  # loading a font costs more than drawing a chart's text
def font(size: int = 13) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


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
    big, small = font(12 * scale), font(10 * scale)
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
    draw.text((x0, 8 * scale), title, fill=(30, 30, 30), font=big)
    x = x0 + draw.textlength(title, font=big) + 16 * scale
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
    big, small = font(12 * scale), font(10 * scale)
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
    draw.text((x0, 8 * scale), title, fill=(30, 30, 30), font=big)
    x = x0 + draw.textlength(title, font=big) + 16 * scale
    for label, (_, colour) in series.items():
        draw.rectangle((x, 11 * scale, x + 12 * scale, 21 * scale), fill=colour)
        x += 16 * scale
        draw.text((x, 10 * scale), label, fill=dark, font=small)
        x += draw.textlength(label, font=small) + 12 * scale
    return base.convert("RGB").reduce(scale)
