"""Quality metrics for generators, each with a real-data baseline so the number means something.

- Digits (`evaluate_images`): Fréchet distance (FD) in the 128-d feature space of our small MNIST
  classifier (playground/classifier.py; the role Inception-v3 plays for FID), class coverage
  of the predicted digits, and k-NN precision/recall (Kynkäänniemi et al. 2019, k=3). FD depends
  on the sample count, so every FD here uses the same count for fakes and for the baseline (a
  real train subset against the same held-out set): `fd_ratio` = fd / fd_baseline, 1 = as close
  as real digits get. Default N_IMAGES = 500, the size of the bundled held-out set.
- 2D toy sets (`evaluate_2d`): modes captured and share of high-quality samples as in VEEGAN /
  PacGAN, plus KL(real||fake) and JS on a grid histogram as GAN Lab shows them.
- Anything else (`evaluate_pixels`): FD on a fixed random projection of raw pixels, labelled
  as less reliable.
`evaluate_generator` draws seeded samples from G and picks the right set; every result is a plain
JSON-serialisable dict. All maths is float64 NumPy. Cost at the defaults on 2 shared CPU cores:
about 1 s per digit evaluation (2 s the first time, when the real side is computed and cached),
under 0.1 s per 2D evaluation, about 0.2 s for the pixel FD.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from .classifier import classify, load_classifier
from .sample import draw_noise

N_IMAGES = 500  # fakes per image evaluation: the size of the bundled MNIST held-out set
N_POINTS = 2500  # fakes per 2D evaluation
PR_K = 3  # k of the k-NN balls for precision/recall (Kynkäänniemi et al. 2019)
COVERED_SHARE = 0.05  # a digit is "covered" when at least 5% of the samples are classified as it
GRID_BINS = 50  # 2D histograms: GRID_BINS x GRID_BINS cells over [-lim, lim]^2, plus one
# "outside" cell, so points that miss the square still count against the generator
SMOOTHING = 1e-6  # probability added to every cell before renormalising, so KL stays finite
REAL_2D_SAMPLES = 200_000  # seeded sample that stands in for the true 2D density
REAL_2D_SEED = 0
PIXEL_DIM = 64  # random projection size for the classifier-free FD
PIXEL_NOTE = "less reliable: raw pixel features, no classifier"
CLASSIFIER_DATASETS = ("mnist", "mnist-full")  # where the digit classifier's features mean a lot


def feature_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), in float64."""
    f = _as_f64(features)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature_stats needs a 2-D array of at least 2 rows, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    # Symmetric square root; round-off can make tiny eigenvalues negative, which clip to 0.
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sig1: np.ndarray, mu2: np.ndarray, sig2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2), between two Gaussians.

    tr((S1 S2)^1/2) = tr((S1^1/2 S2 S1^1/2)^1/2), a symmetric PSD form that eigh handles stably
    (no scipy, no complex round-off).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sig1, sig2 = np.asarray(sig1, np.float64), np.asarray(sig2, np.float64)
    if mu1.shape != mu2.shape or sig1.shape != sig2.shape or sig1.shape != mu1.shape * 2:
        raise ValueError(f"frechet_distance got mismatched shapes {mu1.shape}, {sig1.shape}, "
                         f"{mu2.shape}, {sig2.shape}")
    root1 = _sqrtm_psd(sig1)
    middle = np.linalg.eigvalsh(root1 @ sig2 @ root1)
    cross = np.sqrt(np.clip(middle, 0, None)).sum()
    fd = ((mu1 - mu2) ** 2).sum() + np.trace(sig1) + np.trace(sig2) - 2 * cross
    return float(max(fd, 0.0))  # exact answer is >= 0; clip round-off


def _fd(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_distance(*feature_stats(a), *feature_stats(b))


def precision_recall(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor,
                     k: int = PR_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets (N, D).

    Each set's manifold is the union of balls around its points reaching each point's k-th
    nearest neighbour. Precision = share of fakes inside the real manifold (quality); recall =
    share of reals inside the fake manifold (coverage).
    """
    real, fake = _as_f64(real), _as_f64(fake)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")

    def radii(x: np.ndarray) -> np.ndarray:
        d = _distances(x, x)
        return np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself

    cross = _distances(real, fake)  # (n_real, n_fake)
    precision = (cross <= radii(real)[:, None]).any(axis=0).mean()
    recall = (cross <= radii(fake)[None, :]).any(axis=1).mean()
    return float(precision), float(recall)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(sq, 0, None))


def evaluate_images(fake: torch.Tensor, real_heldout: torch.Tensor, real_train: torch.Tensor,
                    labels_requested: torch.Tensor | None = None, n: int = N_IMAGES,
                    seed: int = 0, heldout_labels: torch.Tensor | None = None) -> dict[str, Any]:
    """Classifier metrics for MNIST-like fakes (N, 1, 28, 28) in [-1, 1].

    Uses the first `n` fakes, at most `n` held-out reals and a same-sized real train subset
    (chosen with `seed`) as the baseline. `labels_requested` (conditional models) adds
    label_accuracy; `heldout_labels` adds the classifier's own accuracy on the held-out reals.
    Keys: fd, fd_baseline, fd_ratio; class_counts / class_shares (predicted digits 0-9),
    digits_covered (digits with >= 5% of samples), entropy (nats, of the predicted-digit shares;
    entropy_max = log 10), mean_confidence (mean top softmax probability); precision and recall
    with their real-vs-real baselines; n_fake, n_heldout, seconds.
    """
    start = time.perf_counter()
    _check_n(n)
    fake = fake[:n]
    count = len(fake)
    gen = torch.Generator().manual_seed(seed)
    held_idx = torch.randperm(len(real_heldout), generator=gen)[:n]
    train_idx = torch.randperm(len(real_train), generator=gen)[:count]
    if min(count, len(held_idx)) <= PR_K or len(train_idx) < count:
        raise ValueError(f"image metrics need more than {PR_K} fakes and held-out reals, and as "
                         f"many train reals as fakes; got {count}, {len(real_heldout)} and "
                         f"{len(real_train)}")
    ref = _reference(real_heldout[held_idx.to(real_heldout.device)],
                     real_train[train_idx.to(real_train.device)])
    f_fake, p_fake = classify(load_classifier(), fake)
    f_fake = _as_f64(f_fake)
    fd = frechet_distance(*feature_stats(f_fake), *ref["stats"])
    fd_base = ref["fd_baseline"]

    predicted = p_fake.argmax(1)
    counts = np.bincount(predicted.numpy(), minlength=10)
    shares = counts / count
    nonzero = shares[shares > 0]
    precision, recall = precision_recall(ref["features"], f_fake)
    out: dict[str, Any] = {
        "metric_set": "classifier",
        "n_fake": count, "n_heldout": len(held_idx),
        "fd": fd, "fd_baseline": fd_base, "fd_ratio": fd / fd_base if fd_base > 0 else None,
        "class_counts": counts.tolist(), "class_shares": shares.round(4).tolist(),
        "digits_covered": int((shares >= COVERED_SHARE).sum()),
        "entropy": float(-(nonzero * np.log(nonzero)).sum()) + 0.0,  # + 0.0: never "-0.0"
        "entropy_max": math.log(10),
        "mean_confidence": float(p_fake.max(1).values.mean()),
        "precision": precision, "recall": recall,
        "precision_baseline": ref["precision_baseline"], "recall_baseline": ref["recall_baseline"],
    }
    if labels_requested is not None:
        wanted = labels_requested[:count].cpu().long()
        out["label_accuracy"] = float((predicted == wanted).float().mean())
    if heldout_labels is not None:
        truth = heldout_labels[held_idx.to(heldout_labels.device)].cpu().long()
        out["classifier_accuracy"] = float((ref["predicted"] == truth).float().mean())
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out


_REFERENCES: OrderedDict[str, dict[str, Any]] = OrderedDict()  # real-side results, by content


def _reference(held: torch.Tensor, train: torch.Tensor) -> dict[str, Any]:
    """Everything that depends only on the real images, cached by their exact bytes.

    During training the same reals are scored again and again; only the fakes change, so this
    cuts the cost of an evaluation by about two thirds. Keyed by a hash of the contents, so a
    changed tensor can never return stale numbers.
    """
    held, train = held.detach().float().cpu(), train.detach().float().cpu()
    digest = hashlib.sha1()
    for t in (held, train):
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.contiguous().numpy().tobytes())
    key = digest.hexdigest()
    if key not in _REFERENCES:
        model = load_classifier()
        f_held, p_held = classify(model, held)
        f_train, _ = classify(model, train)
        f_held, f_train = _as_f64(f_held), _as_f64(f_train)
        stats = feature_stats(f_held)
        precision, recall = precision_recall(f_held, f_train)
        _REFERENCES[key] = {
            "features": f_held, "stats": stats, "predicted": p_held.argmax(1),
            "fd_baseline": frechet_distance(*feature_stats(f_train), *stats),
            "precision_baseline": precision, "recall_baseline": recall}
        while len(_REFERENCES) > 4:
            _REFERENCES.popitem(last=False)
    _REFERENCES.move_to_end(key)
    return _REFERENCES[key]


def evaluate_pixels(fake: torch.Tensor, real_heldout: torch.Tensor,
                    real_train: torch.Tensor | None = None, n: int = N_IMAGES,
                    seed: int = 0) -> dict[str, Any]:
    """Classifier-free FD on a fixed random projection (PIXEL_DIM-d) of raw pixels.

    For datasets the digit classifier does not understand (other image sets, your uploads).
    The baseline is a same-sized real train subset, when one distinct from the held-out set exists.
    """
    start = time.perf_counter()
    _check_n(n)
    fake = fake[:n]
    if fake.shape[1:] != real_heldout.shape[1:]:
        raise ValueError(f"fake images {tuple(fake.shape[1:])} and real images "
                         f"{tuple(real_heldout.shape[1:])} differ in shape")
    gen = torch.Generator().manual_seed(seed)
    held_idx = torch.randperm(len(real_heldout), generator=gen)[:n]
    held = real_heldout[held_idx.to(real_heldout.device)]
    if len(fake) < 2 or len(held) < 2:
        raise ValueError(f"pixel FD needs at least 2 fakes and 2 real images; got {len(fake)} "
                         f"and {len(held)}")
    proj = _projection(int(np.prod(fake.shape[1:])))
    fd = _fd(_project(fake, proj), _project(held, proj))
    base = None
    if real_train is not None and real_train is not real_heldout and len(real_train) >= len(fake):
        train_idx = torch.randperm(len(real_train), generator=gen)[:len(fake)]
        base = _fd(_project(real_train[train_idx.to(real_train.device)], proj),
                   _project(held, proj))
    return {"metric_set": "pixels", "reliability": PIXEL_NOTE,
            "features": f"fixed random projection of raw pixels to {PIXEL_DIM} dimensions",
            "n_fake": len(fake), "n_heldout": len(held), "fd": fd, "fd_baseline": base,
            "fd_ratio": fd / base if base else None,
            "seconds": round(time.perf_counter() - start, 3)}


@lru_cache(maxsize=4)
def _projection(dim_in: int) -> np.ndarray:
    # Fixed seed: the same projection in every process, so pixel FDs are comparable across runs.
    gen = torch.Generator().manual_seed(dim_in)
    proj = torch.randn(dim_in, PIXEL_DIM, generator=gen, dtype=torch.float64).numpy()
    return proj / math.sqrt(PIXEL_DIM)


def _project(x: torch.Tensor, proj: np.ndarray) -> np.ndarray:
    return _as_f64(x.reshape(len(x), -1)) @ proj


def evaluate_2d(points: torch.Tensor | np.ndarray, toy: Any) -> dict[str, Any]:
    """Metrics for 2D fakes (N, 2) against a `Toy2D`.

    A sample is high quality when within 3 sigma of its nearest mode centre; a mode is captured
    when it is the nearest mode of at least one high-quality sample (VEEGAN, PacGAN); real data
    itself scores about 98.9% (1 - exp(-9/2) of a 2D Gaussian lies within 3 sigma). Curve sets
    (no centres) get only KL(real||fake) and JS, in nats, from GRID_BINS^2 histograms; the
    `kl_baseline`/`js_baseline` of a fresh real sample of the same size shows the floor that
    sampling noise alone gives.
    """
    start = time.perf_counter()
    pts = _as_f64(points)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f"2D metrics need points of shape (N, 2) with N >= 1, got {pts.shape}")
    out: dict[str, Any] = {"metric_set": "2d", "n_fake": len(pts)}
    centres = _as_f64(toy.centres)
    if len(centres) and getattr(toy, "is_points", False):
        # Your points: 'modes' would be hundreds of single points; the same 3-sigma test says
        # how many samples lie on your data, and the share of points reached how much of it G
        # covers (a point is reached when it is the nearest of a high-quality sample).
        nearest, dist = _nearest(pts, centres)
        good = dist <= 3 * toy.sigma
        reached = np.zeros(len(centres), dtype=bool)
        reached[nearest[good]] = True
        out.update(points_total=len(centres), points_reached_pct=float(100 * reached.mean()),
                   high_quality_pct=float(100 * good.mean()),
                   near_radius=float(3 * toy.sigma))
    elif len(centres):
        d = _distances(pts, centres)
        nearest = d.argmin(1)
        good = d[np.arange(len(pts)), nearest] <= 3 * toy.sigma
        per_mode = np.bincount(nearest[good], minlength=len(centres))
        out.update(modes_total=len(centres), modes_captured=int((per_mode > 0).sum()),
                   high_quality_pct=float(100 * good.mean()), mode_counts=per_mode.tolist())
    real = _real_histogram(toy)
    fake = _histogram(pts, toy.lim)
    baseline_pts = toy.sample(len(pts), torch.Generator().manual_seed(REAL_2D_SEED + 1))
    base = _histogram(_as_f64(baseline_pts), toy.lim)
    out.update(kl=_kl(real, fake), js=_js(real, fake), kl_baseline=_kl(real, base),
               js_baseline=_js(real, base), grid_bins=GRID_BINS,
               seconds=round(time.perf_counter() - start, 3))
    return out


def _nearest(pts: np.ndarray, centres: np.ndarray, block: int = 1024
             ) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index of its nearest centre and the distance to it, in blocks (up
    to 10,000 centres: a full distance matrix of 2,500 x 10,000 would be 200 MB)."""
    nearest = np.empty(len(pts), dtype=np.int64)
    dist = np.empty(len(pts))
    for i in range(0, len(pts), block):
        d = _distances(pts[i:i + block], centres)
        nearest[i:i + block] = d.argmin(1)
        dist[i:i + block] = d[np.arange(len(d)), nearest[i:i + block]]
    return nearest, dist


def share_near(points: np.ndarray | torch.Tensor, data: np.ndarray | torch.Tensor,
               radius: float) -> float:
    """The share of `points` within `radius` of one of `data`'s points (0 to 1)."""
    _, dist = _nearest(_as_f64(points), _as_f64(data))
    return float((dist <= radius).mean())


@lru_cache(maxsize=8)
def _real_histogram(toy: Any) -> np.ndarray:
    real = toy.sample(REAL_2D_SAMPLES, torch.Generator().manual_seed(REAL_2D_SEED))
    return _histogram(_as_f64(real), toy.lim)


def _histogram(pts: np.ndarray, lim: float) -> np.ndarray:
    """Smoothed cell probabilities: GRID_BINS^2 cells over [-lim, lim]^2, then the outside cell."""
    cell = np.floor((pts + lim) / (2 * lim) * GRID_BINS).astype(np.int64)
    inside = ((cell >= 0) & (cell < GRID_BINS)).all(axis=1)
    flat = np.where(inside, cell[:, 0] * GRID_BINS + cell[:, 1], GRID_BINS * GRID_BINS)
    p = np.bincount(flat, minlength=GRID_BINS * GRID_BINS + 1) / len(pts) + SMOOTHING
    return p / p.sum()


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float((p * np.log(p / q)).sum())


def _js(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


@torch.no_grad()
def evaluate_generator(G: nn.Module, dataset: Any, model_config: Any, n: int | None = None,
                       seed: int = 0, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Sample n fakes from G with z ~ N(0, I) drawn from `seed`, and score them for `dataset`.

    2D sets get `evaluate_2d` (default N_POINTS), the bundled and full MNIST get the classifier
    metrics (default N_IMAGES; a conditional G gets balanced labels 0..9 and label_accuracy),
    anything else the pixel FD. The result also names the dataset, n and seed.
    """
    n = (N_POINTS if dataset.toy is not None else N_IMAGES) if n is None else n
    _check_n(n)
    gen = torch.Generator().manual_seed(seed)
    z = draw_noise(n, model_config.z_dim, model_config.noise, gen)
    labels = None
    if model_config.conditional:
        labels = torch.arange(n) % dataset.num_classes
    fake = _run(G, z, labels, torch.device(device))
    head = {"dataset": dataset.name, "n": n, "seed": seed}
    if dataset.toy is not None:
        return head | evaluate_2d(fake, dataset.toy)
    if dataset.name in CLASSIFIER_DATASETS and tuple(dataset.shape) == (1, 28, 28):
        return head | evaluate_images(fake, dataset.heldout, dataset.train, labels, n=n,
                                      seed=seed, heldout_labels=dataset.heldout_labels)
    return head | evaluate_pixels(fake, dataset.heldout, dataset.train, n=n, seed=seed)


def _run(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, device: torch.device,
         batch: int = 500) -> torch.Tensor:
    # Eval mode for sampling (batch norm uses its running stats), then put the mode back.
    was_training = G.training
    G.eval()
    try:
        outs = []
        for i in range(0, len(z), batch):
            y = None if labels is None else labels[i:i + batch].to(device)
            outs.append(G(z[i:i + batch].to(device), y).float().cpu())
        return torch.cat(outs)
    finally:
        G.train(was_training)


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n={n!r} must be a whole number of at least 2")


def _as_f64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)
