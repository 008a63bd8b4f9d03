"""Pictures for the app, drawn with numpy and Pillow (no gradio, no matplotlib).

- `layered_view`: GAN Lab's 2D picture. Layers, each switchable: the discriminator's decision
  heatmap (green where D says "real", purple where it says "fake"), the real points, the
  generated points, and arrows showing where one generator step would move each generated point.
  `layered_numbers` computes what it shows from the models, `draw_layered` draws it.
- `progress_image`: that picture, or the fixed-noise grid, for a running `Trainer`; again in two
  halves (`progress_numbers`, then `draw_progress`). The live view takes a `progress_job` on
  `ModelCopies` under the session's lock and runs it, and draws, beside the training.
- `points_view`: generated 2D points alone (the Sample tab for 2D models).
- `overlay`: a saliency map laid over an image; `caption`: a text strip under an image.
Charts (curves, histograms) are in `charts.py`.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from .charts import font as _font
from .judge import decision_map, generator_gradients
from .sample import grid, run_generator

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
LIVE_RESOLUTION = 40  # D's decision map in the live view: 40 x 40 scores, smoothly enlarged
# (D on 6,400 points for 80 x 80 took ~10 ms of each refresh, time the training waits for)


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
                size: int = 440) -> Image.Image:
    """Generated 2D points on a plain background; with `labels` (one per point), each is captioned."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if labels and len(labels) != len(pts):
        raise ValueError(f"got {len(labels)} labels for {len(pts)} points: give one per point")
    canvas = _Canvas(size, float(lim))
    img = Image.new("RGB", (size, size), BACKGROUND_RGB)
    _draw_frame(ImageDraw.Draw(img), canvas)
    img = _draw_points(img, canvas, pts, FAKE_RGB, 3.5)
    draw = ImageDraw.Draw(img)
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
    return draw_progress(progress_numbers(trainer, layers), layers, size)


def progress_numbers(trainer: Any, layers: Iterable[str] = LAYERS) -> Layered | torch.Tensor:
    """What the progress picture shows, computed from the models (call with the trainer quiet):
    a 2D run's `Layered` numbers, else G's fixed-noise samples (N, C, H, W) on the CPU."""
    return progress_job(trainer, layers).run()


@dataclass
class ProgressJob:
    """`progress_numbers` taken apart: the inputs, read from a trainer, and `run()` to compute."""
    G: nn.Module  # the network sampled from (the EMA of G when on)
    D: nn.Module | None  # 2D runs only
    z: torch.Tensor
    labels: torch.Tensor | None
    real: torch.Tensor | None  # 2D runs only, as the rest below
    lim: float = 0.0
    loss: str = ""
    layers: tuple[str, ...] = ()
    lock: Any = contextlib.nullcontext()  # held while computing (the models may be shared)

    def run(self) -> Layered | torch.Tensor:
        with self.lock:
            if self.D is None:
                return run_generator(self.G, self.z, self.labels, self.z.device, len(self.z))
            return layered_numbers(self.G, self.D, self.z, self.real, self.lim, self.loss,
                                   self.layers, LIVE_RESOLUTION)


def progress_job(trainer: Any, layers: Iterable[str] = LAYERS,
                 copies: "ModelCopies | None" = None) -> ProgressJob:
    """The job of computing the progress picture's numbers (call with the trainer quiet). With
    `copies`, the job runs on them, so it can run later while the trainer goes on."""
    G, D = trainer.sampler(), trainer.D if trainer.is_2d else None
    lock: Any = contextlib.nullcontext()
    if copies is not None:
        G, D = copies.take(G, D)
        lock = copies.lock
    if D is None:
        return ProgressJob(G, None, trainer.fixed_noise, trainer.fixed_labels, None, lock=lock)
    pack = int(getattr(D, "pack", 1))
    n = min(len(trainer.fixed_noise), FAKE_POINTS)
    n -= n % pack
    return ProgressJob(G, D, trainer.fixed_noise[:n], None, _real_points(trainer, REAL_POINTS),
                       view_lim(trainer), trainer.config.train.loss,
                       tuple(_check_layers(layers)), lock)


class ModelCopies:
    """Private copies of a trainer's G (and D) for computing its progress picture beside the
    training: `take` copies the current weights in (~0.2 ms, under the trainer's lock), the
    picture's numbers are then computed on the copies, outside that lock, while the next steps
    run. Computed in place, they cost the training thread 7-10 ms a view (~2 % of its time at
    two views a second). `lock` is held while copying and computing, so a second view taken
    meanwhile waits rather than changing weights mid-picture."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._models: list[nn.Module] = []
        self._tensors: list[torch.Tensor] = []
        self._shapes: list[tuple[Any, ...]] = []

    def take(self, G: nn.Module, D: nn.Module | None) -> tuple[nn.Module, nn.Module | None]:
        """Copies of `G` and `D` (D may be None) holding their current weights and buffers."""
        sources = [m for m in (G, D) if m is not None]
        tensors = [t for m in sources for t in m.state_dict().values()]
        shapes = [(type(m), len(sources)) for m in sources] + [
            (t.shape, t.dtype, t.device) for t in tensors]
        with self.lock:
            if shapes != self._shapes:  # first use, or another model: copy the modules
                self._models = [copy.deepcopy(m).requires_grad_(False) for m in sources]
                for p in (p for m in self._models for p in m.parameters()):
                    p.grad = None
                self._tensors = [t for m in self._models for t in m.state_dict().values()]
                self._shapes = shapes
            else:
                with torch.no_grad():
                    torch._foreach_copy_(self._tensors, tensors)
            return self._models[0], (self._models[1] if D is not None else None)


def draw_progress(numbers: Layered | torch.Tensor, layers: Iterable[str] = LAYERS,
                  size: int = 440) -> Image.Image:
    """The progress picture from `progress_numbers`: the layered view, or the enlarged grid."""
    if isinstance(numbers, Layered):
        return draw_layered(numbers, layers, size)
    img = grid(numbers, nrow=8)
    # Greyscale images as a one-channel picture: a third of the pixels to encode and send.
    return enlarge(img.convert("L") if numbers.shape[1] == 1 else img)


def progress_image(trainer: Any, layers: Iterable[str] = LAYERS) -> Image.Image:
    """What training looks like now: the layered view (2D) or the enlarged fixed-noise grid."""
    return draw_progress(progress_numbers(trainer, layers), layers)


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
