"""Sampling a trained generator: latents by seed, truncation, interpolation, grids and GIFs.

A seed names one latent vector: `z = torch.randn(z_dim, generator=Generator().manual_seed(seed))`,
drawn on its own, so seed 12 gives the same image whether it is drawn alone or among 63 others.
A model trained on uniform noise (`ModelConfig.noise`) draws `2 * torch.rand(...) - 1` instead.
Truncation multiplies z by psi in (0, 1]: psi = 1 is no truncation; smaller psi pulls z toward the
mean latent 0, giving more typical but less varied samples.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import re
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from .config import short_repr

MAX_SEED = 2**63 - 1
MAX_FRAMES = 128
_RANGE = re.compile(r"^([0-9]+)\s*-\s*([0-9]+)$")


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put `module` in eval mode for the block, then restore every submodule's own mode.

    Restoring per submodule (not `module.train(was)`) keeps mixed modes, e.g. a frozen BatchNorm.
    """
    before = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, training in before:
            m.training = training


def _check_truncation(truncation: float) -> None:
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not (
            math.isfinite(truncation) and 0.0 < truncation <= 1.0):
        raise ValueError(f"truncation={truncation!r} is out of range: allowed (0, 1], 1 = none")


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed {seed!r} must be a whole number in [0, {MAX_SEED}]")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed {seed} is out of range: allowed [0, {MAX_SEED}]")
    return int(seed)


NOISES = ("gaussian", "uniform")


def draw_noise(n: int, z_dim: int, noise: str, generator: torch.Generator,
               device: str | torch.device | None = None) -> torch.Tensor:
    """(n, z_dim) noise from `generator`: N(0, 1) ("gaussian") or uniform on [-1, 1]."""
    if noise == "gaussian":
        return torch.randn(n, z_dim, generator=generator, device=device)
    if noise == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    raise ValueError(f"noise={short_repr(noise)} is not one of: {', '.join(NOISES)}")


def latents(seeds: Sequence[int], z_dim: int, truncation: float = 1.0,
            noise: str = "gaussian") -> torch.Tensor:
    """(N, z_dim) float32 latents on the CPU, one independent draw per seed, times `truncation`."""
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise ValueError(f"z_dim={z_dim!r} must be a whole number of at least 1")
    _check_truncation(truncation)
    checked = [_check_seed(s) for s in seeds]
    if not checked:
        raise ValueError("no seeds given: pass at least one seed")
    # One generator per seed, so a seed's z never depends on its neighbours in the batch.
    z = torch.cat([draw_noise(1, z_dim, noise, torch.Generator().manual_seed(s))
                   for s in checked])
    return z * truncation if truncation != 1.0 else z


def parse_seeds(text: str, max_count: int = 256) -> list[int]:
    """Parse "7", "0-15", "1, 5, 9" or "0-3,10,20-22" into seeds, in the order typed.

    Entries are separated by commas; ranges are inclusive. The count is checked from the range
    bounds before any list is built, so "0-1000000000000000000" fails at once.
    """
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
        raise ValueError(f"max_count={max_count!r} must be a whole number of at least 1")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no seeds given: type seeds like 7, 0-15 or 1, 5, 9")
    spans: list[tuple[int, int]] = []
    total = 0
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            raise ValueError(f"empty entry in seeds {short_repr(text.strip())}: remove the extra comma")
        if entry.startswith("-") or entry.startswith("+"):
            raise ValueError(f"seed {short_repr(entry)} is not allowed: seeds are whole numbers >= 0")
        match = _RANGE.match(entry)
        if match:
            lo, hi = match.groups()
        elif entry.isdigit() and entry.isascii():
            lo = hi = entry
        else:
            raise ValueError(f"cannot read seed {short_repr(entry)}: use a number (7) or a range (0-15)")
        # Compare digit counts before int(): keeps absurd inputs cheap and within int limits.
        for bound in (lo, hi):
            if len(bound.lstrip("0")) > 19 or int(bound) > MAX_SEED:
                raise ValueError(f"seed {short_repr(bound)} is too large: the largest seed is {MAX_SEED}")
        a, b = int(lo), int(hi)
        if a > b:
            raise ValueError(f"range {short_repr(entry)} runs backwards: write it as {b}-{a}")
        total += b - a + 1
        if total > max_count:
            raise ValueError(f"seeds {short_repr(text.strip())} name more than {max_count} seeds: "
                             f"ask for at most {max_count}")
        spans.append((a, b))
    return [s for a, b in spans for s in range(a, b + 1)]


def _labels_for(labels: int | Sequence[int] | torch.Tensor | None, n: int) -> torch.Tensor | None:
    """Broadcast an int (or a one-item list) to n long labels; a list must match n."""
    if labels is None:
        return None
    if isinstance(labels, bool):
        raise ValueError(f"label {labels!r} must be a whole number >= 0")
    if isinstance(labels, (int, np.integer)):
        labels = [int(labels)]
    y = torch.as_tensor(labels).reshape(-1)
    if y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"labels must be whole numbers, got dtype {y.dtype}")
    if y.numel() == 1:
        y = y.expand(n)
    if y.numel() != n:
        raise ValueError(f"got {y.numel()} labels for {n} seeds: give one label or one per seed")
    if (y < 0).any():
        raise ValueError("labels must be >= 0 (class numbers)")
    return y.long().clone()


def run_generator(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None,
                  device: str | torch.device, batch_size: int) -> torch.Tensor:
    """G(z, y) in eval mode without gradients, `batch_size` at a time, as float32 on the CPU."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a whole number of at least 1")
    out = []
    with eval_mode(G), torch.no_grad():
        for i in range(0, len(z), batch_size):
            zb = z[i:i + batch_size].to(device)
            yb = None if y is None else y[i:i + batch_size].to(device)
            out.append(G(zb, yb).float().cpu())
    return torch.cat(out)


def generate(G: nn.Module, seeds: Sequence[int], z_dim: int, *, truncation: float = 1.0,
             labels: int | Sequence[int] | None = None, device: str | torch.device = "cpu",
             batch_size: int = 256, noise: str = "gaussian") -> torch.Tensor:
    """G's outputs for `seeds` (images (N,C,H,W) in [-1,1] or points (N,2)), on the CPU.

    G runs in eval mode without gradients; its own train/eval modes are restored afterwards.
    `labels` (conditional models): one class for all seeds, or one per seed. `noise`: the
    model's own (`ModelConfig.noise`).
    """
    z = latents(seeds, z_dim, truncation, noise)
    return run_generator(G, z, _labels_for(labels, len(z)), device, batch_size)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from a (t=0) to b (t=1), rows of the result follow t.

    Falls back to straight-line interpolation when a and b are (nearly) parallel or opposite,
    where the great circle is undefined or numerically unstable.
    """
    a64, b64, t64 = a.double(), b.double(), t.double().reshape(-1, 1)
    cos = torch.dot(a64, b64) / (a64.norm() * b64.norm()).clamp_min(1e-300)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if torch.sin(omega) < 1e-6:
        return ((1 - t64) * a64 + t64 * b64).to(a.dtype)
    out = (torch.sin((1 - t64) * omega) * a64 + torch.sin(t64 * omega) * b64) / torch.sin(omega)
    return out.to(a.dtype)


def interpolate(G: nn.Module, seed_a: int, seed_b: int, frames: int, z_dim: int, *,
                mode: str = "slerp", label: int | None = None, device: str | torch.device = "cpu",
                truncation: float = 1.0, noise: str = "gaussian") -> torch.Tensor:
    """(frames, ...) outputs of G along the path from seed_a's latent to seed_b's, on the CPU.

    The first and last frames use exactly the seeds' latents, so they match `generate`.
    """
    if isinstance(frames, bool) or not isinstance(frames, int) or not 2 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames={frames!r} is out of range: allowed [2, {MAX_FRAMES}]")
    if mode not in ("slerp", "lerp"):
        raise ValueError(f"mode={mode!r} is not one of: slerp, lerp")
    za, zb = latents([seed_a, seed_b], z_dim, truncation, noise)
    t = torch.linspace(0.0, 1.0, frames, dtype=torch.float64)
    if mode == "slerp":
        z = slerp(za, zb, t)
    else:
        z = ((1 - t[:, None]) * za.double() + t[:, None] * zb.double()).float()
    z[0], z[-1] = za, zb  # exact endpoints, free of rounding in the path formula
    return run_generator(G, z, _labels_for(label, frames), device, MAX_FRAMES)


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a non-empty (N, C, H, W) tensor, got {shape}")


def _to_pil(img: torch.Tensor) -> Image.Image:
    """(3, H, W) in [0, 1] -> RGB image."""
    arr = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(arr, "RGB")


def grid(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """Tile (N, C, H, W) images in [-1, 1] into one RGB image, `nrow` per row (default ~sqrt N)."""
    _check_images(images)
    n = len(images)
    nrow = nrow or math.ceil(math.sqrt(n))
    if nrow < 1:
        raise ValueError(f"nrow={nrow} must be at least 1")
    return _to_pil(_tile((images.detach().float().cpu().clamp(-1, 1) + 1) / 2, nrow))


def _tile(x: torch.Tensor, nrow: int, pad: int = 2) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> (3, H', W'), white between tiles: torchvision's `make_grid`
    layout, written out so that importing this module does not load torchvision (about 200 MB
    of resident memory with a CUDA build of torch, for every app process)."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, _, h, w = x.shape
    if n == 1:  # make_grid leaves a single image unpadded
        return x[0]
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    sheet = torch.ones(3, rows * (h + pad) + pad, cols * (w + pad) + pad)
    for i in range(n):
        top, left = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        sheet[:, top:top + h, left:left + w] = x[i]
    return sheet


def labelled_grid(images: torch.Tensor, labels: Sequence[str], nrow: int | None = None,
                  scale: int = 2) -> Image.Image:
    """Like `grid`, with each tile enlarged `scale` times and captioned (e.g. "seed 12") below.

    Captions longer than a tile is wide are cut and end in "..".
    """
    _check_images(images)
    n = len(images)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} captions for {n} images: give one per image")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 16:
        raise ValueError(f"scale={scale!r} is out of range: allowed [1, 16]")
    nrow = nrow or math.ceil(math.sqrt(n))
    if nrow < 1:
        raise ValueError(f"nrow={nrow} must be at least 1")
    caption_h = _caption_font().getbbox("Seed 0gy")[3] + 4
    tile_h, tile_w = images.shape[2] * scale, images.shape[3] * scale
    pad = 2
    cell_w, cell_h = tile_w + pad, tile_h + caption_h + pad
    rows = math.ceil(n / nrow)
    x01 = ((images.detach().float().cpu().clamp(-1, 1) + 1) / 2)
    if x01.shape[1] == 1:
        x01 = x01.expand(-1, 3, -1, -1)
    # All tiles at once, enlarged by repeating pixels (what a NEAREST resize by a whole factor
    # does): one array for the sheet instead of an image, a resize and a paste per tile.
    tiles = (x01[:, :3].clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
    tiles = tiles.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2).numpy()
    canvas = np.full((pad + rows * cell_h, pad + nrow * cell_w, 3), 255, dtype=np.uint8)
    for i in range(n):
        left, top = pad + (i % nrow) * cell_w, pad + (i // nrow) * cell_h
        canvas[top:top + tile_h, left:left + tile_w] = tiles[i]
    for i in range(n):
        left, top = pad + (i % nrow) * cell_w, pad + (i // nrow) * cell_h
        text = str(labels[i])
        while text and sum(_glyph(c)[1] for c in text) > tile_w:
            text = text[:-3] + ".." if len(text) > 2 else text[:-1]
        _stamp(canvas, text, left, top + tile_h + 2)
    return Image.fromarray(canvas, "RGB")


@functools.lru_cache(maxsize=1)
def _caption_font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


@functools.lru_cache(maxsize=512)
def _glyph(ch: str) -> tuple[np.ndarray, float]:
    """One character of the caption font as an (H, W) ink mask (0-255) and its advance width.

    Captions are stamped from these, character by character: asking the font to render 64
    captions took longer than the rest of a 64-image grid (~0.3 ms each); glyphs are few.
    """
    font = _caption_font()
    _, _, right, bottom = font.getbbox(ch)
    im = Image.new("L", (max(1, math.ceil(right)), max(1, math.ceil(bottom))), 0)
    ImageDraw.Draw(im).text((0, 0), ch, fill=255, font=font)
    return np.asarray(im), float(font.getlength(ch))


def _stamp(canvas: np.ndarray, text: str, left: int, top: int) -> None:
    """Draw `text` in black onto the white (H, W, 3) uint8 `canvas` at (left, top)."""
    x = float(left)
    for ch in text:
        mask, advance = _glyph(ch)
        x0 = int(round(x))
        h = min(mask.shape[0], canvas.shape[0] - top)
        w = min(mask.shape[1], canvas.shape[1] - x0)
        if h > 0 and w > 0:
            region = canvas[top:top + h, x0:x0 + w]
            np.minimum(region, (255 - mask[:h, :w])[:, :, None], out=region)
        x += advance


def gif(frames: Sequence[Image.Image], duration_ms: int = 80) -> bytes:
    """An animated, looping GIF of `frames`, each shown `duration_ms` milliseconds.

    Pillow merges consecutive identical frames into one longer frame; the animation looks the same.
    """
    if not frames:
        raise ValueError("no frames given: a GIF needs at least one frame")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not (
            20 <= duration_ms <= 10_000):
        raise ValueError(f"duration_ms={duration_ms!r} is out of range: allowed [20, 10000]")
    rgb = [f.convert("RGB") for f in frames]
    buf = io.BytesIO()
    rgb[0].save(buf, format="GIF", save_all=True, append_images=rgb[1:], duration=duration_ms,
                loop=0)
    return buf.getvalue()
