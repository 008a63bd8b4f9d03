"""Pictures for the app, drawn with numpy and Pillow (no gradio, no matplotlib).

The live view is drawn in the browser (`ui/js/`); what is drawn here are files and pictures the
server hands out:
- `layered_view`: GAN Lab's 2D picture. Layers, each switchable: the discriminator's decision
  heatmap (green where D says "real", purple where it says "fake"), the real points, the
  generated points, and arrows showing where one generator step would move each generated point.
  `layered_numbers` computes what it shows from the models, `draw_layered` draws it.
- `draw_view`: a live frame's picture (`frames.ViewFrame`), as the browser showed it: the
  picture download and the timelapse GIF (`timelapse_gif`) are drawn from the same frames.
- `points_view`: generated 2D points over the real data (the Sample tab for 2D models).
- `overlay`: a saliency map laid over an image; `caption`: a text strip under an image.
Charts (curves, histograms) are in `charts.py`.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from .charts import font as _font
from .codec import u16_to_points
from .frames import ViewFrame
from .judge import decision_map, generator_gradients
from .sample import gif, grid

LAYERS = ("heatmap", "real", "fake", "arrows")
LAYER_LABELS = {
    "heatmap": "D's decision (background)",
    "real": "real points",
    "fake": "generated points",
    "arrows": "G's gradient arrows",
}
REAL_RGB = (21, 148, 70)  # green: "real", as in GAN Lab
REAL_PALE_RGB = (150, 210, 170)  # the real data as an underlay, under generated points
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
GRID_DISPLAY_PX = 480  # a grid is enlarged (nearest neighbour) to about this width


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


@functools.lru_cache(maxsize=8)
def _disc(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dy, dx) of a dot of `radius` px: its fill, and its 1 px white outline."""
    r = math.ceil(radius)
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    d = np.hypot(dy, dx)
    inner = d <= radius - 0.5
    ring = (d <= radius + 0.5) & ~inner
    return np.argwhere(inner) - r, np.argwhere(ring) - r


def _draw_points(img: Image.Image, canvas: _Canvas, points: np.ndarray,
                 fill: tuple[int, int, int], radius: float) -> Image.Image:
    """`img` with a white-edged dot at each point (a new image). All dots are stamped at once
    with numpy: drawing them one by one with Pillow held the interpreter for ~10 ms a view,
    time the training thread of the app then waited for."""
    arr = np.array(img.convert("RGB"))
    h, w = arr.shape[:2]
    centres = np.rint(canvas.px(points)).astype(np.int64)  # (N, 2) as x, y
    inner, ring = _disc(float(radius))
    for offsets, colour in ((ring, (255, 255, 255)), (inner, fill)):
        ys = centres[:, 1:2] + offsets[None, :, 0]  # (N, K)
        xs = centres[:, 0:1] + offsets[None, :, 1]
        ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        arr[ys[ok], xs[ok]] = colour
    return Image.fromarray(arr, "RGB")


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


@dataclass
class Layered:
    """The numbers behind a layered 2D view, computed from the models; drawn by `draw_layered`.

    Splitting the two lets a training loop take these (quick) under its lock and draw the
    picture (slower) on another thread while training goes on.
    """
    lim: float
    scores: np.ndarray | None  # (R, R) D's score over the square, when the heatmap is drawn
    points: np.ndarray | None  # (N, 2) generated points, when they or their arrows are drawn
    moves: np.ndarray | None  # (N, 2) where one generator step would move each point
    real: np.ndarray  # (M, 2) real points


def _check_layers(layers: Iterable[str]) -> set[str]:
    layers = set(layers)
    unknown = layers - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(sorted(unknown))}: choose from "
                         f"{', '.join(LAYERS)}")
    return layers


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 2048:
        raise ValueError(f"size={size!r} is out of range: allowed [64, 2048] pixels")


def layered_numbers(G: nn.Module, D: nn.Module, z: torch.Tensor, real: torch.Tensor | np.ndarray,
                    lim: float, loss: str, layers: Iterable[str] = LAYERS,
                    resolution: int = 80) -> Layered:
    """What `layered_view` draws, for the chosen `layers` (only what they need is computed)."""
    layers = _check_layers(layers)
    scores = decision_map(D, float(lim), resolution) if "heatmap" in layers else None
    points = moves = None
    if "fake" in layers or "arrows" in layers:
        points, moves = generator_gradients(G, D, z, loss)
    return Layered(float(lim), scores, points, moves,
                   np.asarray(real, dtype=np.float64).reshape(-1, 2))


def draw_layered(data: Layered, layers: Iterable[str] = LAYERS, size: int = 440) -> Image.Image:
    """Draw `layered_numbers` output: the chosen `layers` on a `size` px square."""
    layers = _check_layers(layers)
    _check_size(size)
    canvas = _Canvas(size, data.lim)
    if "heatmap" in layers and data.scores is not None:
        img = Image.fromarray(decision_colours(data.scores), "RGB").resize(
            (size, size), Image.Resampling.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), BACKGROUND_RGB)
    _draw_frame(ImageDraw.Draw(img), canvas)
    # Generated points under the real ones: tight real modes must stay visible under a cloud.
    if "fake" in layers and data.points is not None:
        img = _draw_points(img, canvas, data.points, FAKE_RGB, 2.5)
    if "real" in layers:
        img = _draw_points(img, canvas, data.real, REAL_RGB, 4.0)
    draw = ImageDraw.Draw(img)
    if "arrows" in layers and data.points is not None:
        step = max(1, math.ceil(len(data.points) / MAX_ARROWS))
        _draw_arrows(draw, canvas, data.points[::step], data.moves[::step])
    return img


def layered_view(G: nn.Module, D: nn.Module, z: torch.Tensor, real: torch.Tensor | np.ndarray,
                 lim: float, loss: str, layers: Iterable[str] = LAYERS, size: int = 440,
                 resolution: int = 80) -> Image.Image:
    """GAN Lab's picture of a 2D GAN over [-lim, lim]^2, with the chosen `layers` (see LAYERS).

    `z` (N, z_dim) are the latents of the generated points (N a multiple of D's pack); `real`
    (M, 2) the real points; `loss` the game, which sets the direction of G's arrows.
    """
    _check_size(size)  # before the models run
    return draw_layered(layered_numbers(G, D, z, real, lim, loss, layers, resolution), layers,
                        size)


def points_view(points: torch.Tensor | np.ndarray, lim: float, labels: Sequence[str] = (),
                size: int = 440, real: torch.Tensor | np.ndarray | None = None) -> Image.Image:
    """Generated 2D points (purple) over the real data (`real`, pale green), on the view's
    square; with `labels` (one per point) each point is captioned where its caption overlaps no
    other, and left uncaptioned (the caller says so) where none fits. Returns the picture; how
    many labels were left out is in its `info["unlabelled"]`."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if labels and len(labels) != len(pts):
        raise ValueError(f"got {len(labels)} labels for {len(pts)} points: give one per point")
    canvas = _Canvas(size, float(lim))
    img = Image.new("RGB", (size, size), BACKGROUND_RGB)
    _draw_frame(ImageDraw.Draw(img), canvas)
    if real is not None:
        img = _draw_points(img, canvas, np.asarray(real, dtype=np.float64).reshape(-1, 2),
                           REAL_PALE_RGB, 2.5)
    img = _draw_points(img, canvas, pts, FAKE_RGB, 3.5)
    left_out = _place_labels(ImageDraw.Draw(img), canvas.px(pts), [str(t) for t in labels], size)
    img.info["unlabelled"] = left_out
    return img


def _place_labels(draw: ImageDraw.ImageDraw, xy: np.ndarray, labels: list[str],
                  size: int) -> int:
    """Captions beside points, each at the first of eight spots around its point where it
    covers no caption already placed and stays inside the picture; how many found no spot."""
    font = _font()
    taken: list[tuple[float, float, float, float]] = []
    left_out = 0
    for (x, y), text in zip(xy, labels):
        w, h = draw.textlength(text, font=font), 12
        spots = [(x + 5, y - 13), (x + 5, y + 2), (x - 5 - w, y - 13), (x - 5 - w, y + 2),
                 (x - w / 2, y - 18), (x - w / 2, y + 6), (x + 8, y - 6), (x - 8 - w, y - 6)]
        for sx, sy in spots:
            box = (sx - 1, sy, sx + w + 1, sy + h)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= size and box[3] <= size
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and
                                  b[1] < box[3] for b in taken):
                draw.rectangle(box, fill=(255, 255, 255))
                draw.text((sx, sy), text, fill=(40, 40, 40), font=font)
                taken.append(box)
                break
        else:
            left_out += 1
    return left_out


def enlarge(img: Image.Image, width: int = GRID_DISPLAY_PX) -> Image.Image:
    """Scale a small picture up by a whole factor (nearest neighbour keeps pixels sharp)."""
    factor = max(1, round(width / max(img.width, 1)))
    if factor == 1:
        return img
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def draw_view(view: ViewFrame, real: np.ndarray | None = None,
              layers: Iterable[str] = LAYERS, size: int = 440) -> Image.Image:
    """A live frame's picture: the layered 2D view (with `real` (M, 2) points, when given) or
    the fixed-noise grid enlarged by a whole factor (nearest neighbour, as the browser does)."""
    if view.kind == "images":
        images = torch.from_numpy(view.grid.astype(np.float32)) / 127.5 - 1.0
        img = grid(images, nrow=8)
        return enlarge(img.convert("L") if view.grid.shape[1] == 1 else img, size)
    data = Layered(view.lim, view.heat.astype(np.float64) / 255.0,
                   u16_to_points(view.fake, view.lim),
                   view.moves.astype(np.float64) * view.move_scale,
                   np.zeros((0, 2)) if real is None else np.asarray(real, dtype=np.float64))
    return draw_layered(data, layers, size)


def timelapse_gif(frames: Sequence[ViewFrame], real: np.ndarray | None = None,
                  size: int = 440, duration_ms: int = 120) -> bytes:
    """A looping GIF of a run's timelapse frames, each captioned with its step."""
    if not frames:
        raise ValueError("no timelapse yet: train for a few steps first")
    return gif([caption(draw_view(f, real, size=size), f"step {f.step:,}") for f in frames],
               duration_ms=duration_ms)


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.55,
            size: int = 280) -> Image.Image:
    """`heat` (H, W) in [0, 1] drawn in red over a grey copy of `image`, `size` px square: the
    more salient a pixel, the more opaque its red."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} is out of range: allowed [0, 1]")
    h = np.clip(np.asarray(heat, dtype=np.float64), 0.0, 1.0)
    if h.ndim != 2 or h.size == 0 or not np.isfinite(h).all():
        raise ValueError(f"heat must be a finite, non-empty (H, W) array, got shape {h.shape}")
    base = image.convert("L").convert("RGB").resize((size, size), Image.Resampling.NEAREST)
    rgb = np.stack([np.full_like(h, 230.0), np.full_like(h, 20.0), np.full_like(h, 20.0)],
                   axis=-1)
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
