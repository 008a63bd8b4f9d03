"""Validated configuration dataclasses and the presets shared by the CLI, the UI and the checkpoints.

One dataclass per concern: `DataConfig` (what to learn), `ModelConfig` (the networks) and
`TrainConfig` (the game and the optimisers), bundled as a `RunConfig`. Every field is checked in
`__post_init__`; a bad value raises `ValueError` naming the field, the value and the allowed range.
Nothing is silently corrected.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

TOY_DATASETS = ("ring8", "grid25", "spiral", "moons", "line")
BUNDLED_DATASETS = ("mnist",)  # the 5,000-digit subset shipped inside the package
TORCHVISION_DATASETS = ("mnist-full", "fashion-mnist", "kmnist", "cifar10")
FOLDER_DATASET = "images"  # your own folder or .zip of PNG/JPEG (DataConfig.path)
DATASETS = TOY_DATASETS + BUNDLED_DATASETS + TORCHVISION_DATASETS + (FOLDER_DATASET,)

ARCHITECTURES = ("mlp", "dcgan")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh")
LOSSES = ("non-saturating", "minimax", "lsgan", "hinge", "wgan-gp")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")

MAX_SEED = 2**63 - 1
MAX_SHOWN = 60  # characters of a bad value quoted back in an error message


def short_repr(value: Any, limit: int = MAX_SHOWN) -> str:
    """repr(value) cut to `limit` characters: an error message stays one readable line, whatever
    was typed (a megabyte of text, control characters: repr escapes those)."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits cannot even be printed
        text = f"<a {type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={short_repr(value)} is not one of: {', '.join(allowed)}")


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={short_repr(value)} must be a whole number in [{lo}, {hi}]")
    if not lo <= value <= hi:
        raise ValueError(f"{name}={short_repr(value)} is out of range: allowed [{lo}, {hi}]")


def _check_float(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
                 hi_open: bool = False) -> None:
    lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={short_repr(value)} must be a number in {lb}{lo}, {hi}{rb}")
    ok = math.isfinite(value) and (lo < value if lo_open else lo <= value) and (
        value < hi if hi_open else value <= hi)
    if not ok:
        raise ValueError(f"{name}={value} is out of range: allowed {lb}{lo}, {hi}{rb}")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "mnist"  # one of DATASETS; toy 2D sets are sampled on the fly
    path: str = ""  # folder or .zip of images, only for dataset="images"
    data_root: str = "data"  # where torchvision datasets live (or are downloaded to)
    download: bool = False  # let torchvision try the network when files are missing
    image_size: int = 28  # side of square images for dataset="images" (others are fixed)
    channels: int = 1  # 1 = grayscale, 3 = RGB, for dataset="images"

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        if self.dataset == FOLDER_DATASET and not self.path:
            raise ValueError("path='' : dataset='images' needs a folder or .zip of images")
        _check_int("image_size", self.image_size, 8, 128)
        if self.channels not in (1, 3):
            raise ValueError(f"channels={short_repr(self.channels)} is out of range: allowed 1 "
                             "or 3")

    @property
    def is_2d(self) -> bool:
        return self.dataset in TOY_DATASETS


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "mlp"  # "mlp" (fully connected) or "dcgan" (convolutional, images only)
    conditional: bool = False  # label-conditioned G and D (needs a labelled dataset)
    z_dim: int = 100  # size of the noise vector z fed to G
    g_width: int = 128  # MLP: first hidden width of G (doubles each layer); DCGAN: base channels
    g_depth: int = 2  # MLP: hidden layers in G (128 -> 256 with the defaults)
    d_width: int = 128  # MLP: last hidden width of D; DCGAN: base channels of D
    d_depth: int = 1  # MLP: hidden layers in D (784 -> 128 -> 1 with the defaults)
    activation: str = "relu"  # hidden activation of the MLP's G (D uses leaky ReLU unless set)
    spectral_norm: bool = False  # spectral normalisation on D's layers (stabilises D)
    pack: int = 1  # PacGAN packing: D judges `pack` samples jointly (1 = off)

    def __post_init__(self) -> None:
        _check_choice("arch", self.arch, ARCHITECTURES)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_int("z_dim", self.z_dim, 1, 1024)
        _check_int("g_width", self.g_width, 1, 4096)
        _check_int("d_width", self.d_width, 1, 4096)
        _check_int("g_depth", self.g_depth, 1, 8)
        _check_int("d_depth", self.d_depth, 1, 8)
        _check_int("pack", self.pack, 1, 16)
        if not isinstance(self.conditional, bool):
            raise ValueError(f"conditional={short_repr(self.conditional)} must be true or false")
        if not isinstance(self.spectral_norm, bool):
            raise ValueError(f"spectral_norm={short_repr(self.spectral_norm)} must be true or "
                             "false")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "non-saturating"  # the game: see playground/losses.py
    g_lr: float = 2e-4  # generator learning rate
    d_lr: float = 2e-4  # discriminator learning rate
    g_optimizer: str = "adam"  # adam, sgd or rmsprop
    d_optimizer: str = "adam"
    beta1: float = 0.5  # Adam's first-moment decay (0.5 is the DCGAN choice)
    beta2: float = 0.999  # Adam's second-moment decay
    batch_size: int = 64  # real and fake samples per step
    d_steps: int = 1  # discriminator updates per iteration
    g_steps: int = 1  # generator updates per iteration
    gp_lambda: float = 10.0  # weight of the gradient penalty (wgan-gp only)
    ema_decay: float = 0.0  # exponential moving average of G for sampling; 0 = off
    seed: int = 0  # seeds every random number of the run (init, data, noise)
    steps: int = 2000  # the run's target number of iterations
    device: str = "auto"  # auto = CUDA, else MPS, else CPU

    def __post_init__(self) -> None:
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("g_optimizer", self.g_optimizer, OPTIMIZERS)
        _check_choice("d_optimizer", self.d_optimizer, OPTIMIZERS)
        _check_choice("device", self.device, DEVICES)
        _check_float("g_lr", self.g_lr, 0.0, 10.0, lo_open=True)
        _check_float("d_lr", self.d_lr, 0.0, 10.0, lo_open=True)
        _check_float("beta1", self.beta1, 0.0, 1.0, hi_open=True)
        _check_float("beta2", self.beta2, 0.0, 1.0, hi_open=True)
        _check_int("batch_size", self.batch_size, 1, 4096)
        _check_int("d_steps", self.d_steps, 1, 100)
        _check_int("g_steps", self.g_steps, 1, 100)
        _check_float("gp_lambda", self.gp_lambda, 0.0, 1000.0)
        _check_float("ema_decay", self.ema_decay, 0.0, 1.0, hi_open=True)
        _check_int("seed", self.seed, 0, MAX_SEED)
        _check_int("steps", self.steps, 1, 10_000_000)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.model.arch == "dcgan" and self.data.is_2d:
            raise ValueError(f"arch='dcgan' needs image data, not dataset={self.data.dataset!r}")
        if self.model.conditional and self.data.is_2d:
            raise ValueError(f"conditional=True needs labelled images, not {self.data.dataset!r}")
        if self.train.batch_size % self.model.pack:
            raise ValueError(f"batch_size={self.train.batch_size} must be a multiple of "
                             f"pack={self.model.pack}")

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {"data": dataclasses.asdict(self.data), "model": dataclasses.asdict(self.model),
                "train": dataclasses.asdict(self.train)}

    @classmethod
    def from_dict(cls, d: dict[str, dict[str, Any]]) -> "RunConfig":
        """Rebuild from `to_dict` output; unknown keys are an error, missing keys take defaults."""
        parts = {}
        for key, klass in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            sub = dict(d.get(key, {}))
            names = {f.name for f in dataclasses.fields(klass)}
            unknown = set(sub) - names
            if unknown:
                shown = ', '.join(short_repr(u) for u in sorted(map(str, unknown)))
                raise ValueError(f"unknown {key} field(s): {shown}")
            parts[key] = klass(**sub)
        return cls(**parts)

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with fields changed by name, e.g. replace(g_lr=1e-3, dataset="ring8")."""
        groups: dict[str, dict[str, Any]] = {"data": {}, "model": {}, "train": {}}
        owners = field_names()
        for name, value in changes.items():
            if name not in owners:
                raise ValueError(f"unknown config field {short_repr(name)}")
            groups[owners[name]][name] = value
        return RunConfig(data=dataclasses.replace(self.data, **groups["data"]),
                         model=dataclasses.replace(self.model, **groups["model"]),
                         train=dataclasses.replace(self.train, **groups["train"]))


def field_names() -> dict[str, str]:
    """Every settable field name -> the group it belongs to ("data", "model" or "train")."""
    return {f.name: key for key, klass in (("data", DataConfig), ("model", ModelConfig),
                                           ("train", TrainConfig))
            for f in dataclasses.fields(klass)}
