"""Datasets: `load_dataset(DataConfig, device) -> Dataset`.

- toy 2D sets (playground/toy2d.py) are sampled fresh for every batch;
- "mnist" is the bundled 5,000-digit subset (playground/assets/mnist_5k.npz), split 4,500 train /
  500 held-out, 50 per class, by a fixed rule so the split is the same everywhere;
- "mnist-full", "fashion-mnist", "kmnist", "cifar10" come from torchvision's files under
  `DataConfig.data_root` (downloaded there only when `DataConfig.download` is set);
- "images" is your own folder or .zip (playground/images.py).

The sets are small, so they live as tensors in [-1, 1] on the device and batches are indexed
directly: no DataLoader, no workers. Randomness comes only from the CPU `torch.Generator` passed in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .config import DATASETS_2D, POINTS_DATASET, DataConfig
from .device import pick_device
from .images import load_image_folder
from .toy2d import TOY2D, Toy2D, points_set

HELDOUT_PER_CLASS = 50  # bundled MNIST: 50 of each digit's 500 are held out
SPLIT_SEED = 20_240_601  # fixed, so every machine gets the same bundled/own-images split
HELDOUT_CAP = 10_000  # torchvision test splits are cut to this many
BUNDLED_HINT = "use dataset='mnist', the bundled 5,000-digit subset"

# dataset name -> (torchvision class, name for people, where its files live under data_root)
_TORCHVISION = {
    "mnist-full": ("MNIST", "MNIST", "MNIST/raw"),
    "fashion-mnist": ("FashionMNIST", "Fashion-MNIST", "FashionMNIST/raw"),
    "kmnist": ("KMNIST", "Kuzushiji-MNIST", "KMNIST/raw"),
    "cifar10": ("CIFAR10", "CIFAR-10", "cifar-10-batches-py"),
}


class DatasetUnavailable(RuntimeError):
    """A dataset whose files are missing, corrupt or could not be downloaded; says what to do."""


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} must be a whole number >= 1")


@dataclass
class Dataset:
    name: str
    shape: tuple[int, ...]  # data_shape, e.g. (2,) or (1, 28, 28)
    num_classes: int  # 0 when unlabelled (toy data, own images)
    train: torch.Tensor | None  # (N, *shape) in [-1, 1], on the device; None for toy data
    train_labels: torch.Tensor | None  # (N,) long
    heldout: torch.Tensor | None  # held-out split (bundled MNIST: 500 stratified)
    heldout_labels: torch.Tensor | None
    toy: Toy2D | None  # set for 2D sets
    info: str  # one line for users: "bundled MNIST: 4,500 train / 500 held-out"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))  # where batches go

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A random training batch (x, y) on the dataset's device, drawn with replacement.

        Toy sets sample n fresh points (y is None). `generator` is a CPU generator: indices are
        drawn on the CPU, so a run's data order does not depend on the device.
        """
        _check_n(n)
        if self.toy is not None:
            return self.toy.sample(n, generator).to(self.device), None
        idx = torch.randint(0, len(self.train), (n,), generator=generator).to(self.train.device)
        y = None if self.train_labels is None else self.train_labels[idx]
        return self.train[idx], y

    def real_sample(self, n: int, generator: torch.Generator,
                    split: str = "heldout") -> tuple[torch.Tensor, torch.Tensor | None]:
        """n distinct real samples from `split` ("heldout" or "train"), for metrics and the judge.

        At most the split's size comes back (bundled MNIST's held-out split has 500). Toy sets
        sample fresh points, as their distribution is known exactly.
        """
        _check_n(n)
        if split not in ("heldout", "train"):
            raise ValueError(f"split={split!r} is not one of: heldout, train")
        if self.toy is not None:
            return self.batch(n, generator)
        x, y = ((self.heldout, self.heldout_labels) if split == "heldout"
                else (self.train, self.train_labels))
        idx = torch.randperm(len(x), generator=generator)[:n].to(x.device)
        return x[idx], (None if y is None else y[idx])


def bundled_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: images (5000, 28, 28) uint8, labels (5000,) uint8 (see the licence)."""
    with resources.files(__package__).joinpath("assets/mnist_5k.npz").open("rb") as f:
        with np.load(f) as npz:  # allow_pickle stays False: plain arrays only
            return npz["images"], npz["labels"]


def _to_unit(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    # Move as uint8 (4x smaller than float) and scale on the device: [0, 255] -> [-1, 1].
    return images.to(device).float().div_(127.5).sub_(1.0)


def _stratified_split(labels: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, heldout_idx): `per_class` of each label held out, by a fixed-seed shuffle."""
    rng = np.random.default_rng(SPLIT_SEED)
    held = [rng.permutation(np.flatnonzero(labels == c))[:per_class]
            for c in np.unique(labels)]
    held_idx = np.sort(np.concatenate(held))
    train_idx = np.setdiff1d(np.arange(len(labels)), held_idx)  # sorted
    return train_idx, held_idx


def _load_bundled(device: torch.device) -> Dataset:
    images, labels = bundled_mnist()
    train_idx, held_idx = _stratified_split(labels, HELDOUT_PER_CLASS)
    x = torch.from_numpy(images)[:, None]  # (5000, 1, 28, 28) uint8
    y = torch.from_numpy(labels.astype(np.int64))
    tr, he = torch.from_numpy(train_idx), torch.from_numpy(held_idx)
    return Dataset("mnist", (1, 28, 28), 10, _to_unit(x[tr], device), y[tr].to(device),
                   _to_unit(x[he], device), y[he].to(device), None,
                   f"bundled MNIST: {len(tr):,} train / {len(he):,} held-out", device)


def _torchvision_split(class_name: str, root: str, train: bool,
                       download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision.datasets  # imported here: only these datasets need it

    ds = getattr(torchvision.datasets, class_name)(root=root, train=train, download=download)
    images = torch.as_tensor(np.asarray(ds.data))  # MNIST-likes (N, 28, 28); CIFAR (N, 32, 32, 3)
    images = images[:, None] if images.dim() == 3 else images.permute(0, 3, 1, 2)
    return images.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)


def _load_torchvision(cfg: DataConfig, device: torch.device) -> Dataset:
    class_name, pretty, subdir = _TORCHVISION[cfg.dataset]
    where = Path(cfg.data_root).expanduser().absolute() / subdir
    try:
        x_train, y_train = _torchvision_split(class_name, cfg.data_root, True, cfg.download)
        x_held, y_held = _torchvision_split(class_name, cfg.data_root, False, cfg.download)
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError, ... by case
        reason = " ".join(str(err).split())[:300] or type(err).__name__
        if cfg.download:
            msg = (f"{cfg.dataset} ({pretty}) could not be downloaded into {where} ({reason}); "
                   f"check the network connection, or {BUNDLED_HINT}.")
        else:
            msg = (f"{cfg.dataset} ({pretty}) was not found or is incomplete in {where} "
                   f"({reason}); put its files there, set download=True on a machine with "
                   f"network access, or {BUNDLED_HINT}.")
        raise DatasetUnavailable(msg) from None  # one clear sentence, not urllib's traceback
    x_held, y_held = x_held[:HELDOUT_CAP], y_held[:HELDOUT_CAP]
    shape = tuple(x_train.shape[1:])
    return Dataset(cfg.dataset, shape, 10, _to_unit(x_train, device), y_train.to(device),
                   _to_unit(x_held, device), y_held.to(device), None,
                   f"{pretty} (torchvision, {cfg.data_root}): {len(x_train):,} train / "
                   f"{len(x_held):,} held-out", device)


def _load_images(cfg: DataConfig, device: torch.device,
                 max_decoded_bytes: int | None = None) -> Dataset:
    x, skipped = load_image_folder(cfg.path, cfg.image_size, cfg.channels,
                                   max_decoded_bytes=max_decoded_bytes)
    n = len(x)
    if n >= 10:  # a deterministic 10% held out
        perm = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(n))
        k = max(1, n // 10)
        train, heldout = _split_in_place(x, perm[k:].sort().values, perm[:k].sort().values)
        split = f"{n - k:,} train / {k:,} held-out"
    else:  # too few to spare any: the "held-out" split is the training set itself
        train = heldout = x
        split = f"{n:,} images (too few to hold any out)"
    train = train.to(device)
    heldout = train if heldout is x else heldout.to(device)
    skip_note = f", {skipped:,} file(s) skipped" if skipped else ""
    return Dataset("images", tuple(x.shape[1:]), 0, train, None, heldout, None, None,
                   f"your images ({Path(cfg.path).name}): {split}{skip_note}", device)


def _split_in_place(x: torch.Tensor, train_rows: torch.Tensor,
                    held_rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x[train_rows], x[held_rows] (both sorted) for ~1.1x x's memory, not 2x: the held-out
    rows are copied out, then the training rows slide forward in x itself (row i moves to a
    place <= i, so nothing is overwritten before it is moved)."""
    heldout = x[held_rows]
    for place, row in enumerate(train_rows.tolist()):
        if place != row:
            x[place] = x[row]
    return x[:len(train_rows)], heldout


def _load_toy(cfg: DataConfig, device: torch.device) -> Dataset:
    toy = points_set(cfg.points) if cfg.dataset == POINTS_DATASET else TOY2D[cfg.dataset]
    return Dataset(cfg.dataset, (2,), 0, None, None, None, None, toy,
                   f"{cfg.dataset}: {toy.description}, sampled fresh for every batch", device)


def expected_shape(cfg: DataConfig) -> tuple[int, ...]:
    """The data_shape `load_dataset(cfg)` will give, without loading anything."""
    if cfg.dataset in DATASETS_2D:
        return (2,)
    if cfg.dataset == "cifar10":
        return (3, 32, 32)
    if cfg.dataset == "images":
        return (cfg.channels, cfg.image_size, cfg.image_size)
    return (1, 28, 28)  # the bundled digits and the MNIST-likes


def load_dataset(cfg: DataConfig, device: torch.device | str = "cpu", *,
                 max_decoded_bytes: int | None = None) -> Dataset:
    """The dataset `cfg` names, with its tensors on `device` ("auto" picks one).

    Raises DatasetUnavailable when torchvision files are missing or cannot be downloaded, and
    ImageError (a ValueError) when an own-images folder or .zip is unusable (or, with
    `max_decoded_bytes`, would be larger than that once decoded).
    """
    device = pick_device("auto") if device == "auto" else torch.device(device)
    if cfg.dataset in DATASETS_2D:
        return _load_toy(cfg, device)
    if cfg.dataset == "mnist":
        return _load_bundled(device)
    if cfg.dataset in _TORCHVISION:
        return _load_torchvision(cfg, device)
    if cfg.dataset == "images":
        return _load_images(cfg, device, max_decoded_bytes)
    raise ValueError(f"dataset={cfg.dataset!r} has no loader")  # config validation prevents this
