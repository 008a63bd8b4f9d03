"""The one declared list of settings: every config field's type, range, label, hint and liveness.

Each setting is declared once here; the config dataclasses (`config.py`) check and normalise their
fields with it, and the Train tab's form, the API's error messages and the command line's flags
are generated from it, so they cannot drift apart.

Values are normalised to the declared type once, here, for every front end: a float field takes
the integer 0 as 0.0 (a form or JSON often sends whole numbers as integers), a whole-number field
takes 12.0 as 12, and anything else is refused with a `SettingError` that names the setting by
the label people see and by its field name, e.g.
"Batch size: batch_size=2.5 must be a whole number in [1, 4096]". Nothing is rounded.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SHOWN = 60  # characters of a bad value quoted back in an error message
MAX_SEED = 2**63 - 1

POINTS_DATASET = "points"  # your own 2D points: drawn on the view or from a CSV (DataConfig.points)
TOY_DATASETS = ("ring8", "grid25", "spiral", "moons", "line")
DATASETS_2D = TOY_DATASETS + (POINTS_DATASET,)
BUNDLED_DATASETS = ("mnist",)  # the 5,000-digit subset shipped inside the package
TORCHVISION_DATASETS = ("mnist-full", "fashion-mnist", "kmnist", "cifar10")
FOLDER_DATASET = "images"  # your own folder or .zip of PNG/JPEG (DataConfig.path)
DATASETS = DATASETS_2D + BUNDLED_DATASETS + TORCHVISION_DATASETS + (FOLDER_DATASET,)

ARCHITECTURES = ("mlp", "dcgan")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh")
LOSSES = ("non-saturating", "minimax", "lsgan", "hinge", "wgan-gp")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "auto")  # see playground/precision.py
NOISES = ("gaussian", "uniform")  # z ~ N(0, I), or uniform on [-1, 1]^z_dim
MAX_POINTS = 10_000  # your own 2D data: at most this many points
MAX_COORD = 10.0  # ... each coordinate within [-MAX_COORD, MAX_COORD] (the toy sets' scale)


def short_repr(value: Any, limit: int = MAX_SHOWN) -> str:
    """repr(value) cut to `limit` characters: an error message stays one readable line, whatever
    was typed (a megabyte of text, control characters: repr escapes those)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of over 4,300 digits; JSON nested too deep
        text = f"<a {type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


class SettingError(ValueError):
    """A bad value for one setting; `field` names it (the form puts the message next to it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Setting:
    name: str  # the config field's name, as the API, the CLI and the URL spell it
    group: str  # "data", "model" or "train": the dataclass that holds it
    kind: str  # "int", "float", "bool", "choice", "str" or "points" (a list of [x, y] pairs)
    label: str  # what the form calls it
    hint: str  # one line under the control
    lo: float | None = None  # range of a number
    hi: float | None = None
    lo_open: bool = False  # lo itself is not allowed
    hi_open: bool = False
    choices: tuple[Any, ...] = ()  # the allowed values of a "choice" (or a few whole numbers)
    live: bool = False  # a running model takes a new value at its next step
    advanced: bool = False  # the form keeps it under "Advanced"
    server_only: bool = False  # names a place on the server: never from a visitor

    def range_text(self) -> str:
        lb, rb = ("(" if self.lo_open else "["), (")" if self.hi_open else "]")
        def bound(v: Any) -> str:
            return f"{v:g}" if isinstance(v, float) else str(v)
        return f"{lb}{bound(self.lo)}, {bound(self.hi)}{rb}"

    def check(self, value: Any) -> Any:
        """`value` normalised to this setting's type; a SettingError if it does not fit."""
        if isinstance(value, bool) and self.kind != "bool":
            return self._refuse(value, self._expected())
        if self.kind == "float":
            return self._number(value, float)
        if self.kind == "int":
            return self._number(value, int)
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):  # numpy's bool too
                return bool(value)
            return self._refuse(value, "must be true or false")
        if self.kind == "choice":
            if self.choices and isinstance(self.choices[0], int):  # whole-number choices
                value = self._number(value, int, ranged=False)
            if not _hashable(value) or value not in self.choices:
                return self._refuse(value, "is not one of: " + ", ".join(map(str, self.choices)))
            return value
        if self.kind == "points":
            return self._points(value)
        if not isinstance(value, str):
            return self._refuse(value, "must be text")
        return value

    def _points(self, value: Any) -> tuple[tuple[float, float], ...]:
        """A list of [x, y] pairs as a tuple of float pairs: finite, within +-MAX_COORD, at
        most MAX_POINTS of them. Nothing is dropped or rounded: one bad pair refuses them all."""
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            return self._refuse(value, "must be a list of [x, y] pairs")
        if len(value) > MAX_POINTS:
            raise SettingError(self.name, f"{self.label}: {len(value):,} points is too many: "
                               f"at most {MAX_POINTS:,}")
        out = []
        for i, pair in enumerate(value):
            if isinstance(pair, np.ndarray):
                pair = pair.tolist()
            ok = isinstance(pair, (list, tuple)) and len(pair) == 2 and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair)
            if not ok:
                raise SettingError(self.name, f"{self.label}: point {i + 1} "
                                   f"({short_repr(pair)}) is not a pair of numbers [x, y]")
            x, y = float(pair[0]), float(pair[1])
            if not (math.isfinite(x) and math.isfinite(y)):
                raise SettingError(self.name, f"{self.label}: point {i + 1} ({_num(x)}, "
                                   f"{_num(y)}) is not finite")
            if abs(x) > MAX_COORD or abs(y) > MAX_COORD:
                raise SettingError(self.name, f"{self.label}: point {i + 1} ({x:g}, {y:g}) is "
                                   f"outside [-{MAX_COORD:g}, {MAX_COORD:g}]: rescale your "
                                   "points to the toy sets' scale")
            out.append((x, y))
        return tuple(out)

    def _expected(self) -> str:
        if self.kind == "int":
            return f"must be a whole number in {self.range_text()}"
        if self.kind == "float":
            return f"must be a number in {self.range_text()}"
        if self.kind == "choice":
            return "is not one of: " + ", ".join(map(str, self.choices))
        if self.kind == "points":
            return "must be a list of [x, y] pairs"
        return "must be true or false" if self.kind == "bool" else "must be text"

    def _number(self, value: Any, kind: type, ranged: bool = True) -> Any:
        if not isinstance(value, numbers.Real):
            if value is None or value == "":
                raise SettingError(self.name, f"{self.label} is empty: type "
                                   f"{'a whole number' if kind is int else 'a number'}")
            return self._refuse(value, self._expected())
        typed = value
        if kind is int:
            if isinstance(value, numbers.Integral):
                value = int(value)
            elif math.isfinite(value) and float(value).is_integer():
                value = int(value)
            else:
                return self._refuse(value, self._expected())
        else:
            value = float(value)
        if ranged and not self._in_range(value):
            shown = short_repr(int(typed)) if isinstance(typed, numbers.Integral) else _num(
                float(typed))
            raise SettingError(self.name, f"{self.label}: {self.name}={shown} is out of range: "
                               f"allowed {self.range_text()}")
        return value

    def _in_range(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        lo_ok = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
        hi_ok = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return lo_ok and hi_ok

    def _refuse(self, value: Any, what: str) -> Any:
        raise SettingError(self.name, f"{self.label}: {self.name}={short_repr(value)} {what}")


def _num(value: Any) -> str:
    """A bound or a float for messages: 0.0001 as 0.0001, 1e9 as 1000000000, nan as nan."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value)) if abs(value) >= 1e4 else repr(value)
    return repr(value) if isinstance(value, float) else str(value)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_S = Setting
SETTINGS: dict[str, Setting] = {s.name: s for s in (
    # ------------------------------------------------------------------ data
    _S("dataset", "data", "choice", "Dataset", "2D toy sets train in seconds; images take minutes.",
       choices=DATASETS),
    _S("points", "data", "points", "Your points",
       "Your own 2D data (dataset='points'): drawn on the view or from a CSV file; "
       f"at most {MAX_POINTS:,} points within [-{MAX_COORD:g}, {MAX_COORD:g}]."),
    _S("path", "data", "str", "Images path", "Your folder or .zip of images (server side).",
       server_only=True),
    _S("data_root", "data", "str", "Data folder", "Where torchvision datasets live.",
       server_only=True),
    _S("download", "data", "bool", "Download", "Let torchvision fetch missing files.",
       server_only=True),
    _S("image_size", "data", "int", "Image size", "Your images are resized to this square side.",
       lo=8, hi=128),
    _S("channels", "data", "choice", "Channels", "1 = grayscale, 3 = colour.", choices=(1, 3)),
    # ------------------------------------------------------------------ model
    _S("arch", "model", "choice", "Architecture",
       "mlp: fully connected; dcgan: convolutional (images).", choices=ARCHITECTURES,
       advanced=True),
    _S("conditional", "model", "bool", "Conditional (class labels)",
       "G and D see the digit label too.", advanced=True),
    _S("z_dim", "model", "int", "z dimension", "Size of the noise vector z.", lo=1, hi=1024,
       advanced=True),
    _S("g_width", "model", "int", "G width", "Hidden units (mlp) or base channels (dcgan) of G.",
       lo=1, hi=4096, advanced=True),
    _S("g_depth", "model", "int", "G depth", "Hidden layers in G (mlp); widths double.",
       lo=1, hi=8, advanced=True),
    _S("d_width", "model", "int", "D width", "Hidden units or base channels of D.",
       lo=1, hi=4096, advanced=True),
    _S("d_depth", "model", "int", "D depth", "Hidden layers in D (mlp).", lo=1, hi=8,
       advanced=True),
    _S("activation", "model", "choice", "Activation", "Hidden activation of G (mlp).",
       choices=ACTIVATIONS, advanced=True),
    _S("noise", "model", "choice", "Noise",
       "The distribution of z: gaussian N(0, 1) or uniform on [-1, 1].", choices=NOISES,
       advanced=True),
    _S("spectral_norm", "model", "bool", "Spectral norm in D",
       "Limits how fast D can change: steadier games.", advanced=True),
    _S("pack", "model", "int", "Pack", "PacGAN: D judges this many samples together.",
       lo=1, hi=16, advanced=True),
    # ------------------------------------------------------------------ train
    _S("loss", "train", "choice", "Loss (the game)",
       "Live: changes the running game at the next step.", choices=LOSSES, live=True),
    _S("g_lr", "train", "float", "G learning rate", "Live. Step size of G's optimiser.",
       lo=0.0, hi=10.0, lo_open=True, live=True),
    _S("d_lr", "train", "float", "D learning rate", "Live. Step size of D's optimiser.",
       lo=0.0, hi=10.0, lo_open=True, live=True),
    _S("g_optimizer", "train", "choice", "G optimiser", "Live. adam, sgd or rmsprop.",
       choices=OPTIMIZERS, live=True, advanced=True),
    _S("d_optimizer", "train", "choice", "D optimiser", "Live. adam, sgd or rmsprop.",
       choices=OPTIMIZERS, live=True, advanced=True),
    _S("beta1", "train", "float", "Adam beta1", "Live. Momentum; 0.5 is the DCGAN choice.",
       lo=0.0, hi=1.0, hi_open=True, live=True, advanced=True),
    _S("beta2", "train", "float", "Adam beta2", "Live. Decay of the squared-gradient average.",
       lo=0.0, hi=1.0, hi_open=True, live=True, advanced=True),
    _S("batch_size", "train", "int", "Batch size", "Live. Real and fake samples per step.",
       lo=1, hi=4096, live=True),
    _S("d_steps", "train", "int", "D steps per iteration", "Live. D updates before each G update.",
       lo=1, hi=100, live=True),
    _S("g_steps", "train", "int", "G steps per iteration", "Live. G updates per iteration.",
       lo=1, hi=100, live=True, advanced=True),
    _S("gp_lambda", "train", "float", "Gradient penalty λ",
       "Live. Weight of WGAN-GP's penalty (wgan-gp only).", lo=0.0, hi=1000.0, live=True,
       advanced=True),
    _S("ema_decay", "train", "float", "EMA of G",
       "Live. Average of G's weights for samples; 0 = off.", lo=0.0, hi=1.0, hi_open=True,
       live=True, advanced=True),
    _S("seed", "train", "int", "Seed", "Same seed and settings on the CPU = the same run.",
       lo=0, hi=MAX_SEED),
    _S("steps", "train", "int", "Step target", "Live. Training stops here.", lo=1,
       hi=10_000_000, live=True),
    _S("device", "train", "choice", "Device", "auto = GPU when there is one.", choices=DEVICES,
       advanced=True),
    _S("precision", "train", "choice", "Precision",
       "bf16: ~1.5x faster DCGAN steps on a CPU or GPU with bf16; auto: bf16 where it has it.",
       choices=PRECISIONS, advanced=True),
)}

LIVE_FIELDS = tuple(name for name, s in SETTINGS.items() if s.live)
SERVER_ONLY_FIELDS = tuple(name for name, s in SETTINGS.items() if s.server_only)


def label(name: str) -> str:
    """The label people see for a field (its name when it has none)."""
    setting = SETTINGS.get(name)
    return setting.label if setting is not None else name


def check(name: str, value: Any) -> Any:
    """`value` normalised for the setting `name`; SettingError for a bad value or name."""
    setting = SETTINGS.get(name) if isinstance(name, str) else None
    if setting is None:
        raise SettingError(str(name)[:MAX_SHOWN], f"unknown config field {short_repr(name)}")
    return setting.check(value)


def normalise(obj: Any) -> None:
    """Check and normalise every field of a frozen config dataclass in place (its __post_init__)."""
    import dataclasses

    for f in dataclasses.fields(obj):
        value = SETTINGS[f.name].check(getattr(obj, f.name))
        object.__setattr__(obj, f.name, value)
