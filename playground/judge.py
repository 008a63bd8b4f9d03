"""Looking inside the discriminator: scores, accuracy, ROC AUC, galleries, saliency, 2D maps.

"D(x)" shown to users is sigmoid(D's logit): near 1 = "looks real", near 0 = "looks fake".
Every function runs D in eval mode and restores each submodule's mode afterwards; none leaves
gradients on D's (or G's) parameters.

Packing (PacGAN, `D.pack` > 1): D judges `pack` samples jointly and returns one logit per group.
Here every sample gets its group's score, so score arrays always have one entry per sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from playground.sample import eval_mode

# A simple dark-blue -> teal -> yellow colour map (viridis-like), as (position, RGB) anchors.
_CMAP = np.array([
    [0.00, 68, 1, 84],
    [0.25, 59, 82, 139],
    [0.50, 33, 145, 140],
    [0.75, 94, 201, 98],
    [1.00, 253, 231, 37],
])


def _pack(D: nn.Module) -> int:
    pack = int(getattr(D, "pack", 1))
    if pack < 1:
        raise ValueError(f"D.pack={pack} must be at least 1")
    return pack


def _device(module: nn.Module, fallback: torch.device) -> torch.device:
    param = next(module.parameters(), None)
    return param.device if param is not None else fallback


def _label_tensor(label: int | None, n: int, device: torch.device) -> torch.Tensor | None:
    if label is None:
        return None
    return torch.full((n,), int(label), dtype=torch.long, device=device)


def scores(D: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
           batch_size: int = 256) -> np.ndarray:
    """sigmoid(D(x)) per sample as float64, computed in batches without gradients.

    With packing, each sample gets the score of its group of `pack` consecutive samples; when
    N is not a multiple of pack, the last group is filled up with repeats of its own members.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) == 0:
        raise ValueError("x must be a non-empty batch tensor (N, ...)")
    if y is not None and len(y) != len(x):
        raise ValueError(f"got {len(y)} labels for {len(x)} samples: give one label per sample")
    pack = _pack(D)
    n = len(x)
    padded = math.ceil(n / pack) * pack
    index = torch.arange(padded)
    if padded != n:  # cycle through the last group's real members to fill it
        start = n - n % pack
        index[n:] = start + torch.arange(padded - n) % (n - start)
    step = max(pack, batch_size // pack * pack)
    device = _device(D, x.device)
    out = []
    with eval_mode(D), torch.no_grad():
        for i in range(0, padded, step):
            idx = index[i:i + step]
            xb = x[idx].to(device)
            yb = None if y is None else torch.as_tensor(y)[idx].long().to(device)
            logits = D(xb, yb).float().reshape(-1)
            out.append(torch.sigmoid(logits).cpu().repeat_interleave(pack))
    return torch.cat(out)[:n].double().numpy()


def roc_auc(real_scores: np.ndarray, fake_scores: np.ndarray) -> float:
    """Area under the ROC curve for telling reals (positives) from fakes, by the rank formula.

    Equals P(score of a random real > score of a random fake), ties counted 1/2 (Mann-Whitney U):
    1 = D separates them perfectly, 0.5 = no better than chance, 0 = perfectly backwards.
    """
    real = np.asarray(real_scores, dtype=np.float64).reshape(-1)
    fake = np.asarray(fake_scores, dtype=np.float64).reshape(-1)
    if len(real) == 0 or len(fake) == 0:
        raise ValueError("ROC AUC needs at least one real and one fake score")
    both = np.concatenate([real, fake])
    if not np.isfinite(both).all():
        raise ValueError("scores contain nan or inf: the discriminator has diverged")
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    # Tied values share the average of the ranks they span (1-based).
    first_rank = np.cumsum(counts) - counts + 1
    ranks = (first_rank + (counts - 1) / 2.0)[inverse]
    u = ranks[:len(real)].sum() - len(real) * (len(real) + 1) / 2.0
    return float(u / (len(real) * len(fake)))


@dataclass
class Report:
    """What D thinks of a batch of reals and a batch of fakes (scores are sigmoid(D) in [0, 1])."""
    real: np.ndarray  # (N_real,) score per real sample
    fake: np.ndarray  # (N_fake,) score per fake sample
    accuracy: float  # share judged right at 0.5: reals >= 0.5, fakes < 0.5
    auc: float  # ROC AUC, reals as positives (see roc_auc)
    hist_edges: np.ndarray  # (bins + 1,) shared bin edges over [0, 1]
    hist_real: np.ndarray  # (bins,) counts of real scores per bin
    hist_fake: np.ndarray  # (bins,) counts of fake scores per bin
    convincing_fakes: list[int]  # indices of the k highest-scoring fakes, best first
    unconvincing_reals: list[int]  # indices of the k lowest-scoring reals, worst first
    convincing_fake_scores: list[float]  # their scores, same order
    unconvincing_real_scores: list[float]


def score_edges(values: np.ndarray, bins: int, keep: float = 0.5) -> np.ndarray:
    """`bins` + 1 histogram edges over the scores' own range (widened to include `keep`, D's
    0.5 threshold, and padded a little), within [0, 1]: scores bunched in [0.45, 0.55] get the
    whole chart rather than two bars."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = min(float(v.min()), keep), max(float(v.max()), keep)
    pad = max(0.02, 0.05 * (hi - lo))
    return np.linspace(max(0.0, lo - pad), min(1.0, hi + pad), bins + 1)


def discriminator_report(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                         y_real: torch.Tensor | None = None, y_fake: torch.Tensor | None = None,
                         k: int = 8, bins: int = 20, zoom: bool = False) -> Report:
    """Score reals and fakes with D and summarise: accuracy, AUC, histograms, galleries.

    The histograms' bins span [0, 1], or with `zoom` the scores' own range (`score_edges`).
    Ties in the galleries keep the lower index first, so the report is deterministic.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k={k!r} must be a whole number >= 0")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise ValueError(f"bins={bins!r} is out of range: allowed [1, 1000]")
    s_real, s_fake = scores(D, real, y_real), scores(D, fake, y_fake)
    right = int((s_real >= 0.5).sum() + (s_fake < 0.5).sum())
    edges = score_edges(np.concatenate([s_real, s_fake]), bins) if zoom else \
        np.linspace(0.0, 1.0, bins + 1)
    best_fakes = np.argsort(-s_fake, kind="stable")[:k]
    worst_reals = np.argsort(s_real, kind="stable")[:k]
    return Report(
        real=s_real, fake=s_fake,
        accuracy=right / (len(s_real) + len(s_fake)),
        auc=roc_auc(s_real, s_fake),
        hist_edges=edges,
        hist_real=np.histogram(s_real, edges)[0],
        hist_fake=np.histogram(s_fake, edges)[0],
        convincing_fakes=[int(i) for i in best_fakes],
        unconvincing_reals=[int(i) for i in worst_reals],
        convincing_fake_scores=[float(s_fake[i]) for i in best_fakes],
        unconvincing_real_scores=[float(s_real[i]) for i in worst_reals],
    )


def _single(image: torch.Tensor) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.ndim < 2 or len(image) != 1:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"expected one sample shaped (1, C, H, W) or (1, 2), got {shape}")
    return image


def score_image(D: nn.Module, image: torch.Tensor, label: int | None = None) -> float:
    """sigmoid(D(image)) for one sample (1, C, H, W); a packed D sees `pack` copies of it."""
    image = _single(image)
    pack = _pack(D)
    device = _device(D, image.device)
    with eval_mode(D), torch.no_grad():
        x = image.to(device).expand(pack, *image.shape[1:])
        logit = D(x, _label_tensor(label, pack, device)).float().reshape(-1)[0]
    return float(torch.sigmoid(logit))


def saliency(D: nn.Module, image: torch.Tensor, label: int | None = None) -> np.ndarray:
    """(H, W) map of |d logit / d pixel|, max over channels, divided by its maximum (so in [0, 1]).

    Bright pixels are those where a small change would most move D's verdict. All zeros when the
    gradient vanishes. Gradients go to a copy of the image only, never to D's parameters.
    """
    image = _single(image)
    if image.ndim != 4:
        raise ValueError(f"saliency needs an image shaped (1, C, H, W), got {tuple(image.shape)}")
    pack = _pack(D)
    device = _device(D, image.device)
    x = image.detach().to(device).float().clone().requires_grad_(True)
    with eval_mode(D), torch.enable_grad():
        logit = D(x.expand(pack, *x.shape[1:]), _label_tensor(label, pack, device)).reshape(-1)[0]
        # autograd.grad returns the gradient instead of accumulating .grad on D's parameters.
        (grad,) = torch.autograd.grad(logit, x)
    sal = grad[0].abs().amax(dim=0).cpu().double()
    top = float(sal.max())
    if not math.isfinite(top):
        raise ValueError("the saliency map contains nan or inf: the discriminator has diverged")
    return (sal / top).numpy() if top > 0 else np.zeros(tuple(sal.shape))


def decision_map(D: nn.Module, lim: float, resolution: int = 100) -> np.ndarray:
    """sigmoid(D) over the square [-lim, lim]^2 as a (resolution, resolution) array.

    Laid out like a picture: row 0 is y = +lim (top), the last row y = -lim; column 0 is
    x = -lim (left), the last column x = +lim. With packing, neighbouring points along a row
    share their group's score.
    """
    if isinstance(lim, bool) or not isinstance(lim, (int, float)) or not (
            math.isfinite(lim) and lim > 0):
        raise ValueError(f"lim={lim!r} must be a positive finite number")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not (
            2 <= resolution <= 1000):
        raise ValueError(f"resolution={resolution!r} is out of range: allowed [2, 1000]")
    xs = torch.linspace(-lim, lim, resolution)
    ys = torch.linspace(lim, -lim, resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    return scores(D, points, batch_size=4096).reshape(resolution, resolution)


def generator_gradients(G: nn.Module, D: nn.Module, z: torch.Tensor,
                        loss_kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(points, moves), both (N, 2): G's outputs for z and minus d g_loss / d point.

    `moves` is the direction each generated point would be pushed by one generator step
    (GAN Lab's arrows); g_loss is a batch mean, so moves are small: scale them for display.
    G and D run in eval mode; no gradients reach their parameters.
    """
    from playground.losses import g_loss

    pack = _pack(D)
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or len(z) == 0 or len(z) % pack:
        raise ValueError(f"z must be a non-empty (N, z_dim) tensor with N a multiple of "
                         f"pack={pack}")
    device = _device(G, z.device)
    with eval_mode(G), eval_mode(D):
        with torch.no_grad():
            points = G(z.to(device)).float()
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"generator_gradients is for 2D models; G made {tuple(points.shape)}")
        x = points.detach().to(_device(D, device)).requires_grad_(True)
        with torch.enable_grad():
            loss = g_loss(loss_kind, D(x).reshape(-1))
            (grad,) = torch.autograd.grad(loss, x)
    return x.detach().cpu().double().numpy(), (-grad).cpu().double().numpy()


def heatmap_image(values: np.ndarray, size: int | tuple[int, int]) -> Image.Image:
    """An (H, W) array in [0, 1] as an RGB image (dark blue = 0, yellow = 1) of `size` pixels.

    `size` is a side length or (width, height); the array is resized smoothly (bilinear).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"heatmap needs a non-empty (H, W) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("heatmap values contain nan or inf")
    wh = (size, size) if isinstance(size, int) else tuple(size)
    if len(wh) != 2 or not all(isinstance(v, int) and 1 <= v <= 4096 for v in wh):
        raise ValueError(f"size={size!r} must be a side or (width, height) in [1, 4096] pixels")
    v = np.clip(arr, 0.0, 1.0)
    rgb = np.stack([np.interp(v, _CMAP[:, 0], _CMAP[:, c]) for c in (1, 2, 3)], axis=-1)
    img = Image.fromarray((rgb + 0.5).astype(np.uint8), "RGB")
    return img.resize(wh, Image.Resampling.BILINEAR)
