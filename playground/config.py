"""Validated configuration dataclasses and the presets shared by the CLI, the UI and the checkpoints.

One dataclass per concern: `DataConfig` (what to learn), `ModelConfig` (the networks) and
`TrainConfig` (the game and the optimisers), bundled as a `RunConfig`. Every field is checked and
normalised to its declared type in `__post_init__`, from the one list of settings in
`settings.py`; a bad value raises `SettingError` (a `ValueError`) naming the setting's label, its
field, the value and the allowed range. Nothing is silently rounded or corrected.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .settings import (ACTIVATIONS, ARCHITECTURES, BUNDLED_DATASETS, DATASETS,  # noqa: F401
                       DATASETS_2D, DEVICES, FOLDER_DATASET, LOSSES, MAX_SEED, MAX_SHOWN, NOISES,
                       OPTIMIZERS, POINTS_DATASET, PRECISIONS, TORCHVISION_DATASETS,
                       TOY_DATASETS, SettingError, label, normalise, short_repr)

__all__ = ["DataConfig", "ModelConfig", "TrainConfig", "RunConfig", "field_names", "short_repr",
           "ACTIVATIONS", "ARCHITECTURES", "BUNDLED_DATASETS", "DATASETS", "DATASETS_2D", "DEVICES",
           "FOLDER_DATASET", "LOSSES", "MAX_SEED", "NOISES", "OPTIMIZERS", "POINTS_DATASET",
           "PRECISIONS", "TORCHVISION_DATASETS", "TOY_DATASETS", "SettingError"]


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "mnist"  # one of DATASETS; toy 2D sets are sampled on the fly
    path: str = ""  # folder or .zip of images, only for dataset="images"
    data_root: str = "data"  # where torchvision datasets live (or are downloaded to)
    download: bool = False  # let torchvision try the network when files are missing
    image_size: int = 28  # side of square images for dataset="images" (others are fixed)
    channels: int = 1  # 1 = grayscale, 3 = RGB, for dataset="images"
    # Your own 2D data, for dataset="points": (x, y) pairs, drawn or from a CSV; each batch
    # draws among them and adds a small Gaussian jitter (toy2d.points_set)
    points: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        normalise(self)  # types and ranges, from playground/settings.py
        if self.dataset == FOLDER_DATASET and not self.path:
            raise SettingError("dataset", "Dataset: dataset='images' needs your images: a "
                               "folder or .zip of PNG/JPEG files (path='')")
        if self.dataset == POINTS_DATASET and not self.points:
            raise SettingError("points", "Your points: dataset='points' needs at least one "
                               "point: draw on the view or upload a CSV of x,y rows")
        if self.points and self.dataset != POINTS_DATASET:
            raise SettingError("points", f"Your points: points are used only with dataset="
                               f"'points', not dataset={self.dataset!r}")

    @property
    def is_2d(self) -> bool:
        return self.dataset in DATASETS_2D


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
    noise: str = "gaussian"  # z ~ N(0, I) ("gaussian") or uniform on [-1, 1]^z_dim ("uniform")
    spectral_norm: bool = False  # spectral normalisation on D's layers (stabilises D)
    pack: int = 1  # PacGAN packing: D judges `pack` samples jointly (1 = off)

    def __post_init__(self) -> None:
        normalise(self)  # types and ranges, from playground/settings.py


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
    precision: str = "fp32"  # "bf16": mixed precision; "auto": bf16 where the device has it

    def __post_init__(self) -> None:
        normalise(self)  # types and ranges, from playground/settings.py


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.model.arch == "dcgan" and self.data.is_2d:
            raise SettingError("arch", f"{label('arch')}: arch='dcgan' needs image data, not "
                               f"dataset={self.data.dataset!r}; use mlp for 2D data")
        if self.model.conditional and self.data.is_2d:
            raise SettingError("conditional", f"{label('conditional')}: conditional=True needs "
                               f"labelled images, not {self.data.dataset!r}")
        if self.train.batch_size % self.model.pack:
            raise SettingError("batch_size", f"{label('batch_size')}: batch_size="
                               f"{self.train.batch_size} must be a multiple of "
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
                raise SettingError(sorted(map(str, unknown))[0], f"unknown {key} field(s): "
                                   f"{shown}")
            parts[key] = klass(**sub)
        return cls(**parts)

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with fields changed by name, e.g. replace(g_lr=1e-3, dataset="ring8")."""
        groups: dict[str, dict[str, Any]] = {"data": {}, "model": {}, "train": {}}
        owners = field_names()
        for name, value in changes.items():
            if name not in owners:
                raise SettingError(str(name)[:MAX_SHOWN],
                                   f"unknown config field {short_repr(name)}")
            groups[owners[name]][name] = value
        return RunConfig(data=dataclasses.replace(self.data, **groups["data"]),
                         model=dataclasses.replace(self.model, **groups["model"]),
                         train=dataclasses.replace(self.train, **groups["train"]))


def field_names() -> dict[str, str]:
    """Every settable field name -> the group it belongs to ("data", "model" or "train")."""
    return {f.name: key for key, klass in (("data", DataConfig), ("model", ModelConfig),
                                           ("train", TrainConfig))
            for f in dataclasses.fields(klass)}
