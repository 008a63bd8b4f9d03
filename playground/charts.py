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
import operator
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


@functools.lru_cache(maxsize=2048)
def _text_mask(text: str, size: int) -> tuple[Image.Image, float]:
    """`text` in font(size) as an ink mask, and its advance width. Charts are redrawn a few
    times a second with mostly the same labels: asking FreeType each time was ~3 ms a view."""
    f = font(size)
    _, _, right, bottom = f.getbbox(text)
    mask = Image.new("L", (max(1, math.ceil(right)), max(1, math.ceil(bottom))), 0)
    ImageDraw.Draw(mask).text((0, 0), text, fill=255, font=f)
    return mask, float(f.getlength(text))


def text_length(text: str, size: int) -> float:
    return _text_mask(text, size)[1]


def put_text(img: Image.Image, xy: tuple[float, float], text: str, fill: Any, size: int) -> None:
    """Draw `text` with its top left at `xy`, as ImageDraw.text would, from the cached mask."""
    if text:
        img.paste(fill, (int(round(xy[0])), int(round(xy[1]))), _text_mask(text, size)[0])


def curve_rows(history: Sequence[Any], max_points: int = 400) -> dict[str, list[float]]:
    """The run's curves thinned to at most `max_points` steps (mean of each bucket of steps).

    Returns {"step": [...], "loss_d": [...], ...}; a curve's value is NaN where no step in the
    bucket computed it (e.g. loss_g during D-only steps). Divergence records are left out.
    """
    return thin(curve_columns(history), max_points)


def curve_columns(records: Sequence[Any]) -> dict[str, np.ndarray]:
    """The records' steps and curves as float64 columns (None and inf -> NaN; events left out)."""
    get = operator.attrgetter("step", *CURVES)
    rows = [get(r) for r in records if not getattr(r, "event", "")]
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + len(CURVES))
    table[~np.isfinite(table)] = np.nan  # (None became NaN already)
    return {"step": table[:, 0], **{c: table[:, i + 1] for i, c in enumerate(CURVES)}}


def thin(columns: dict[str, np.ndarray], max_points: int = 400) -> dict[str, list[float]]:
    """`curve_columns` thinned to at most `max_points` rows: each bucket of consecutive rows
    becomes its last step and the mean of each curve's finite values (NaN if none)."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points={max_points!r} must be a whole number >= 1")
    steps = columns["step"]
    n = len(steps)
    if n == 0:
        return {"step": [], **{c: [] for c in CURVES}}
    per = math.ceil(n / max_points)
    buckets = math.ceil(n / per)
    out = {"step": steps[np.minimum(np.arange(1, buckets + 1) * per, n) - 1].tolist()}
    for c in CURVES:
        padded = np.full(buckets * per, np.nan)
        padded[:n] = columns[c]
        cells = padded.reshape(buckets, per)
        counts = np.isfinite(cells).sum(axis=1)
        sums = np.where(np.isfinite(cells), cells, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).tolist()
    return out


class CurveColumns:
    """`curve_columns` of a growing history, kept up to date a few new records at a time.

    The live view redraws the curves a few times a second: re-reading every record each time
    cost ~7 ms of Python at 9,000 steps (time the training thread then waited for the GIL).
    `update` reads only the records added since the last call; when the history is not an
    extension of what it read (a new run, a resume, a roll-back), it reads it all again.
    Not thread-safe: call it under the lock that guards the history."""

    def __init__(self) -> None:
        self._table = np.empty((0, 1 + len(CURVES)))
        self._rows = 0  # rows of _table in use
        self._read = 0  # records read
        self._last: Any = None  # the last record read

    def update(self, history: Sequence[Any]) -> dict[str, np.ndarray]:
        """The columns of `history` (copies: later updates do not change them)."""
        if not (self._read and len(history) >= self._read
                and history[self._read - 1] is self._last):
            self._rows = self._read = 0
        new = curve_columns(history[self._read:])
        k = len(new["step"])
        if self._rows + k > len(self._table):
            grown = np.empty((max(2 * len(self._table), self._rows + k, 256), self._table.shape[1]))
            grown[:self._rows] = self._table[:self._rows]
            self._table = grown
        for i, name in enumerate(("step", *CURVES)):
            self._table[self._rows:self._rows + k, i] = new[name]
        self._rows += k
        self._read = len(history)
        self._last = history[-1] if history else None
        table = self._table[:self._rows]
        return {name: table[:, i].copy() for i, name in enumerate(("step", *CURVES))}


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
    big, small = 12 * scale, 10 * scale  # font sizes
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
            put_text(img, (x0 - 6 * scale - text_length(label, small), y - 6 * scale), label,
                     dark, small)
    for t in nice_ticks(x_lo, x_hi, 5):
        x = float(px(np.array(t)))
        draw.line((x, y1, x, y1 + 4 * scale), fill=dark, width=scale)
        label = _tick_label(t)
        put_text(img, (x - text_length(label, small) / 2, y1 + 6 * scale), label, dark, small)
    draw.rectangle((x0, y0, x1, y1), outline=(170, 170, 170), width=scale)
    for x_mark, text in marks:
        x = float(px(np.array(float(x_mark))))
        for y in range(int(y0), int(y1), 8 * scale):  # dashed
            draw.line((x, y, x, min(y + 4 * scale, y1)), fill=(150, 150, 150), width=scale)
        # Labelled at the foot of the line: the top right corner is under the page's buttons.
        put_text(img, (x + 3 * scale, y1 - 13 * scale), text, (110, 110, 110), small)
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
    put_text(img, (x0, 8 * scale), title, (30, 30, 30), big)
    x = x0 + text_length(title, big) + 16 * scale
    for label, (_, colour) in series.items():  # the legend follows the title
        draw.line((x, 17 * scale, x + 16 * scale, 17 * scale), fill=colour, width=3 * scale)
        x += 20 * scale
        put_text(img, (x, 10 * scale), label, dark, small)
        x += text_length(label, small) + 12 * scale
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
    big, small = 12 * scale, 10 * scale  # font sizes
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
        put_text(base, (x0 - 6 * scale - text_length(label, small), y - 6 * scale), label,
                 dark, small)
    for t in nice_ticks(x_lo, x_hi, 5):
        x = px(t)
        draw.line((x, y1, x, y1 + 4 * scale), fill=dark, width=scale)
        label = _tick_label(t)
        put_text(base, (x - text_length(label, small) / 2, y1 + 6 * scale), label, dark, small)
    if x_title:
        put_text(base, ((x0 + x1 - text_length(x_title, small)) / 2, y1 + 22 * scale), x_title,
                 dark, small)
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
    put_text(base, (x0, 8 * scale), title, (30, 30, 30), big)
    x = x0 + text_length(title, big) + 16 * scale
    for label, (_, colour) in series.items():
        draw.rectangle((x, 11 * scale, x + 12 * scale, 21 * scale), fill=colour)
        x += 16 * scale
        put_text(base, (x, 10 * scale), label, dark, small)
        x += text_length(label, small) + 12 * scale
    return base.convert("RGB").reduce(scale)
