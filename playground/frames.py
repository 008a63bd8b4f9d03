"""Live frames: a snapshot of a run as compact, versioned numbers, drawn by the browser.

The Train tab's live view is drawn in the browser (`ui/live_view.js`) from frames made here, and
the files the app hands out (the timelapse GIF, the picture download) are drawn by `plots.py` from
the same frames: what you download is what you saw. A frame is plain JSON:

    {"v": 1, "seq": 41, "run": "a1b2", "kind": "2d" | "images" | "none",
     "step": 700, "target": 3000, "state": "training", "elapsed": 3.2, "rate": 221.0,
     "curves": {"from": 650, "step": [...], "loss_d": [...], "loss_g": [...],
                "d_real": [...], "d_fake": [...]},   # points after step `from` (-1: all)
     "marks": [[step, "g_lr=0.0005"], ...], "alerts": [{"title", "text", "try", "step"}],
     "view": {...}}                                  # the picture: see `encode_view`

The picture part is quantised (`ViewFrame`): generated 2D points as 16-bit coordinates, D's
decision map as 8-bit scores on a 40 x 40 grid, G's gradient arrows as 8-bit vectors, digit grids
as 8-bit pixels, each sent as base64 (large ones deflated first; see `codec.py`). `ViewFrame`
is also what the timelapse keeps. No gradio here.
"""
from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .codec import images_to_u8, moves_to_i8, pack, points_to_u16, unit_to_u8, unpack
from .judge import decision_map, generator_gradients, scores
from .sample import run_generator

FRAME_VERSION = 1
FAKE_POINTS = 512  # generated points in the 2D view (the first of the fixed noise)
REAL_POINTS = 500  # real points drawn under them
HEAT_RESOLUTION = 40  # D's decision map: 40 x 40 scores (the browser enlarges it smoothly)
GRID_IMAGES = 64  # the fixed-noise grid: seeds 0..63
CURVE_POINTS = 3000  # a run's curves are sent as at most about this many points
MAX_MARKS = 50
KINDS = ("2d", "images", "none")


@dataclass
class ViewFrame:
    """The picture of one moment of a run, quantised (see the module docstring)."""
    step: int
    kind: str  # "2d" or "images"
    lim: float = 0.0  # 2D: the view shows [-lim, lim]^2; points are coded over [-2 lim, 2 lim]
    fake: np.ndarray | None = None  # 2D: (N, 2) uint16
    fake_scores: np.ndarray | None = None  # 2D: (N,) uint8, D's score of each point x 255
    moves: np.ndarray | None = None  # 2D: (N, 2) int8, where a G step pushes each point
    move_scale: float = 0.0  # 2D: data units per unit of `moves`
    heat: np.ndarray | None = None  # 2D: (R, R) uint8 D's score; row 0 is y = +lim
    grid: np.ndarray | None = None  # images: (N, C, H, W) uint8
    scores: np.ndarray | None = None  # images: (N,) uint8, D's score of each image x 255
    labels: list[int] | None = None  # images of a conditional model: the class of each
    extras: dict[str, Any] | None = None  # 2D: the layers a page asked for (layers.py)

    @property
    def nbytes(self) -> int:
        arrays = (self.fake, self.fake_scores, self.moves, self.heat, self.grid, self.scores)
        return sum(a.nbytes for a in arrays if a is not None)


# ------------------------------------------------------------------------ computing a view
class ModelCopies:
    """Private copies of a trainer's G and D for computing frames beside the training: `take`
    copies the current weights in (~0.2 ms, under the run's lock); the frame's numbers are then
    computed on the copies, outside that lock, while the next steps run. `lock` is held while
    copying and computing, so a second frame taken meanwhile waits rather than see weights
    change mid-frame."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._models: list[nn.Module] = []
        self._tensors: list[torch.Tensor] = []
        self._shapes: list[tuple[Any, ...]] = []

    def take(self, G: nn.Module, D: nn.Module) -> tuple[nn.Module, nn.Module]:
        """Copies of `G` and `D` holding their current weights and buffers."""
        sources = [G, D]
        tensors = [t for m in sources for t in m.state_dict().values()]
        shapes = [type(m) for m in sources] + [(t.shape, t.dtype, t.device) for t in tensors]
        with self.lock:
            if shapes != self._shapes:  # first use, or another model: copy the modules
                self._models = [copy.deepcopy(m).requires_grad_(False).eval() for m in sources]
                for p in (p for m in self._models for p in m.parameters()):
                    p.grad = None
                self._tensors = [t for m in self._models for t in m.state_dict().values()]
                self._shapes = shapes
            else:
                with torch.no_grad():
                    torch._foreach_copy_(self._tensors, tensors)
            return self._models[0], self._models[1]


@dataclass
class ViewJob:
    """What a view is computed from, read off a trainer at one step; `run()` computes it."""
    step: int
    G: nn.Module  # the network sampled from (the EMA of G when on)
    D: nn.Module
    z: torch.Tensor  # fixed noise
    labels: torch.Tensor | None = None  # images of a conditional model
    real: torch.Tensor | None = None  # 2D: real points (not drawn from the run's streams)
    lim: float = 0.0
    loss: str = ""
    lock: Any = None  # held while computing (the models may be shared copies)
    heat: np.ndarray | None = None  # 2D: a decision map to reuse instead of computing one
    extras: Any = None  # 2D: a layers.ExtrasJob, computed on the same models

    def run(self) -> ViewFrame:
        if self.lock is None:
            return self._compute()
        with self.lock:
            return self._compute()

    def _compute(self) -> ViewFrame:
        device = next(self.G.parameters()).device
        if self.real is None:  # images: the fixed-noise grid and D's score of each
            images = run_generator(self.G, self.z, self.labels, device, len(self.z))
            y = None if self.labels is None else self.labels.cpu()
            return ViewFrame(self.step, "images", grid=images_to_u8(images),
                             scores=unit_to_u8(scores(self.D, images, y)),
                             labels=None if y is None else [int(v) for v in y])
        if self.lock is not None:  # the run's private copies: eval mode for good, one pass each
            heat, points, moves, fake_scores = _view_2d(self.G, self.D, self.z, self.lim,
                                                        self.loss, self.heat)
        else:
            heat = decision_map(self.D, self.lim, HEAT_RESOLUTION)
            points, moves = generator_gradients(self.G, self.D, self.z, self.loss)
            fake_scores = scores(self.D, torch.from_numpy(points).float())
        q_moves, scale = moves_to_i8(moves)
        extras = self.extras.compute(self.G, self.D, self.step) if self.extras else None
        return ViewFrame(self.step, "2d", self.lim, points_to_u16(points, self.lim),
                         unit_to_u8(fake_scores), q_moves, scale,
                         heat if heat.dtype == np.uint8 else unit_to_u8(heat), extras=extras)


def _view_2d(G: nn.Module, D: nn.Module, z: torch.Tensor, lim: float, loss: str,
             heat: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What `decision_map`, `generator_gradients` and `scores` give, for the run's copies of G
    and D (in eval mode, no parameter gradients): G once, D once on the generated points (its
    logits are both their scores and the start of G's gradient) and once on the grid, unless
    `heat` is given to reuse. A frame is made a dozen times a second on the core beside the
    training's, so it does as little as it can."""
    from .losses import g_loss

    pack = int(getattr(D, "pack", 1))
    with torch.no_grad():
        points = G(z).float()
    x = points.requires_grad_(True)
    with torch.enable_grad():
        logits = D(x).reshape(-1)
        (grad,) = torch.autograd.grad(g_loss(loss, logits), x)
    point_scores = torch.sigmoid(logits.detach()).repeat_interleave(pack)
    outputs = (x.detach().double().numpy(), (-grad).double().numpy(),
               point_scores.double().numpy())
    if heat is not None:
        return (heat, *outputs)
    r = HEAT_RESOLUTION
    grid = _GRID.get((lim, r))
    if grid is None:
        xs, ys = torch.linspace(-lim, lim, r), torch.linspace(lim, -lim, r)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grid = _GRID[(lim, r)] = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    padded = grid if len(grid) % pack == 0 else torch.cat(
        [grid, grid[-1:].expand(pack - len(grid) % pack, 2)])
    with torch.no_grad():
        scored = torch.sigmoid(D(padded).reshape(-1)).repeat_interleave(pack)[:len(grid)]
    return (scored.reshape(r, r).double().numpy(), *outputs)


_GRID: dict[tuple[float, int], torch.Tensor] = {}


def view_job(trainer: Any, copies: ModelCopies | None = None) -> ViewJob:
    """The job of computing `trainer`'s view now (call with the trainer quiet). With `copies`,
    it runs on them, so it can run later while the trainer goes on."""
    G, D = trainer.sampler(), trainer.D
    lock = None
    if copies is not None:
        G, D = copies.take(G, D)
        lock = copies.lock
    if not trainer.is_2d:
        n = min(len(trainer.fixed_noise), GRID_IMAGES)
        labels = None if trainer.fixed_labels is None else trainer.fixed_labels[:n]
        return ViewJob(trainer.step_count, G, D, trainer.fixed_noise[:n], labels, lock=lock)
    pack = int(getattr(D, "pack", 1))
    n = min(len(trainer.fixed_noise), FAKE_POINTS)
    n -= n % pack
    return ViewJob(trainer.step_count, G, D, trainer.fixed_noise[:n], None,
                   real_points(trainer), view_lim(trainer), trainer.config.train.loss, lock)


def view_lim(trainer: Any) -> float:
    """Half-width of the square shown for a 2D run: the toy set's own, else a fixed default."""
    toy = getattr(trainer.dataset, "toy", None) if trainer.is_2d else None
    return float(toy.lim) if toy is not None else 2.0


@torch.no_grad()
def real_points(trainer: Any, n: int = REAL_POINTS) -> torch.Tensor:
    """The real points drawn under a 2D view: always the same ones for a dataset (a fixed
    generator, never the run's own data stream)."""
    x, _ = trainer.dataset.real_sample(n, torch.Generator().manual_seed(0))
    return x.cpu()


# ------------------------------------------------------------------------ encoding
def encode_view(view: ViewFrame, real: np.ndarray | None = None,
                heat: bool = True) -> dict[str, Any]:
    """A ViewFrame as JSON-ready data; `real` (M, 2) real points are added when given (the
    browser keeps them for the run: they are sent once); without `heat`, the decision map is
    left out (the browser keeps the last one it got)."""
    out: dict[str, Any] = {"step": view.step, "kind": view.kind}
    if view.kind == "2d":
        out.update(lim=view.lim, move_scale=view.move_scale, fake=pack(view.fake),
                   fake_scores=pack(view.fake_scores), moves=pack(view.moves))
        if heat:
            out["heat"] = pack(view.heat)
        if real is not None:
            out["real"] = pack(points_to_u16(real, view.lim))
        for name in ("manifold", "dstar"):
            if view.extras and name in view.extras:
                out[name] = view.extras[name]
    else:
        out.update(grid=pack(view.grid), scores=pack(view.scores), labels=view.labels)
    return out


def decode_view(data: dict[str, Any]) -> ViewFrame:
    """Inverse of `encode_view` (the real points, when present, are left out)."""
    if data["kind"] == "2d":
        return ViewFrame(int(data["step"]), "2d", float(data["lim"]), unpack(data["fake"]),
                         unpack(data["fake_scores"]), unpack(data["moves"]),
                         float(data["move_scale"]),
                         unpack(data["heat"]) if "heat" in data else None)
    return ViewFrame(int(data["step"]), "images", grid=unpack(data["grid"]),
                     scores=unpack(data["scores"]), labels=data.get("labels"))


def curves_since(columns: dict[str, np.ndarray], since: int, target_steps: int,
                 final: bool = False) -> dict[str, Any]:
    """The curve points after step `since` (-1: all of them), as JSON lists (NaN -> null).

    Long runs are sent as means over buckets of `per` = ceil(target / CURVE_POINTS) steps, so a
    whole run is at most about CURVE_POINTS points; a bucket is labelled with its last step.
    While training only whole buckets are sent (the browser asks again from the last one it
    has); `final` (the run stopped) sends the part-filled last bucket too. When `since` lies
    beyond the history (a roll-back after a divergence), all points are sent: "from" is -1.
    """
    steps = columns["step"]
    latest = int(steps[-1]) if len(steps) else 0
    if since > latest:
        since = -1
    per = max(1, math.ceil(max(target_steps, latest) / CURVE_POINTS))
    keep = steps > since
    if per > 1 and not final:
        keep &= np.ceil(steps / per) * per <= latest  # whole buckets only
    idx = np.flatnonzero(keep)
    out: dict[str, Any] = {"from": int(since), "per": per}
    names = ("loss_d", "loss_g", "d_real", "d_fake")
    if per == 1 or not len(idx):
        out["step"] = [int(s) for s in steps[idx]]
        for name in names:
            out[name] = _rounded(columns[name][idx])
        return out
    bucket = np.ceil(steps[idx] / per).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    out["step"] = [int(min(b * per, latest)) for b in bucket[starts]]
    for name in names:
        values = columns[name][idx]
        finite = np.isfinite(values)
        sums = np.add.reduceat(np.where(finite, values, 0.0), starts)
        counts = np.add.reduceat(finite.astype(np.int64), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = _rounded(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan))
    return out


def _rounded(values: np.ndarray) -> list[float | None]:
    """Four significant digits, NaN as None (JSON null)."""
    return [None if not math.isfinite(v) else float(f"{v:.4g}") for v in values.tolist()]


@dataclass
class FrameHead:
    """The rest of a frame: where the run is, and what to say about it."""
    seq: int
    run: str
    step: int
    target: int
    state: str  # "idle", "waiting", "training", "paused", "done" or "diverged"
    elapsed: float = 0.0
    rate: float = 0.0  # steps per second lately
    marks: list[tuple[int, str]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def make_frame(head: FrameHead, curves: dict[str, Any] | None, view: dict[str, Any] | None
               ) -> dict[str, Any]:
    """A whole frame (see the module docstring) from its parts, ready for json.dumps."""
    return {"v": FRAME_VERSION, "seq": head.seq, "run": head.run,
            "kind": view["kind"] if view else "none", "step": head.step, "target": head.target,
            "state": head.state, "elapsed": round(head.elapsed, 2), "rate": round(head.rate, 1),
            "marks": [[int(s), str(t)] for s, t in head.marks[-MAX_MARKS:]],
            "alerts": head.alerts, "note": head.note, "curves": curves, "view": view}


def check_frame(frame: Any) -> None:
    """Raise ValueError unless `frame` has this version's shape (the browser relies on it)."""
    if not isinstance(frame, dict) or frame.get("v") != FRAME_VERSION:
        raise ValueError(f"not a version-{FRAME_VERSION} frame")
    for key, kind in (("seq", int), ("run", str), ("kind", str), ("step", int), ("target", int),
                      ("state", str), ("marks", list), ("alerts", list)):
        if not isinstance(frame.get(key), kind):
            raise ValueError(f"frame field {key!r} must be a {kind.__name__}")
    if frame["kind"] not in KINDS:
        raise ValueError(f"frame kind {frame['kind']!r} is not one of {KINDS}")
    if frame["kind"] == "none":
        return
    view = frame["view"]
    if view.get("preview"):  # a dataset's real data, before any model exists
        unpack(view["real" if frame["kind"] == "2d" else "grid"])
    else:
        decode_view(view)


def preview_frame(data_config: Any, seq: int = 0) -> dict[str, Any]:
    """A frame showing a dataset's real data before any model exists: the real points of a 2D
    set, or 64 real images. `data_config` is a `DataConfig` (or a dataset's name). Raises
    DatasetUnavailable when the data is not here."""
    from .config import DataConfig
    from .data import load_dataset

    if isinstance(data_config, str):
        data_config = DataConfig(dataset=data_config)
    data = load_dataset(data_config, "cpu")
    head = FrameHead(seq, "", 0, 0, "idle", note=data.info)
    if data.toy is not None:
        real, _ = data.real_sample(REAL_POINTS, torch.Generator().manual_seed(0))
        view = {"step": 0, "kind": "2d", "lim": float(data.toy.lim), "preview": True,
                "real": pack(points_to_u16(real.numpy(), float(data.toy.lim)))}
    else:
        images, labels = data.real_sample(GRID_IMAGES, torch.Generator().manual_seed(0),
                                          split="train")
        view = {"step": 0, "kind": "images", "preview": True, "grid": pack(images_to_u8(images)),
                "labels": None if labels is None else [int(v) for v in labels]}
    return make_frame(head, None, view)
