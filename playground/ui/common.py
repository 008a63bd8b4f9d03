"""What every tab shares: the app context, sessions and runs, and the optional GPU wrapper.

- `AppContext`: the device, hosting limits, training slots and bundled checkpoints of one app;
  `new_run` gives a session a `LiveRun`.
- errors: `error` and `on_errors` (see `errors.py`) turn the core's one-sentence errors into
  toasts and sentences next to the control that caused them.
- `gpu`: wraps a function with Hugging Face ZeroGPU's `spaces.GPU` when that package is
  installed; otherwise returns it unchanged.
"""
from __future__ import annotations

import functools
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from ..checkpoint import CheckpointError, load_checkpoint, load_run, read_metadata
from ..config import FOLDER_DATASET, TORCHVISION_DATASETS, DataConfig, RunConfig
from ..data import DatasetUnavailable, load_dataset
from ..device import pick_device
from ..live import LiveRun
from ..runs import RunStore, RunStoreError, default_folder
from ..train import StepRecord, Trainer
from ..turns import Slots
from .errors import USER_ERRORS, error, on_errors  # noqa: F401  (the tabs import them here)
from .limits import Limits
from .session import REGISTRY, Session

# Concurrency groups: long training loops never hold up quick jobs, and controls never wait.
TRAIN = "train"
QUICK = "quick"
CONTROL = "control"

# Config fields that name places on the server: never taken from a visitor's API call or file.
SERVER_PATH_FIELDS = ("path", "data_root", "download")
# What an uploaded own-images checkpoint's data path becomes (training on it says it is missing).
NOT_ON_SERVER = "(the images this checkpoint was trained on are not on this server)"


def user_errors(fn: Callable) -> Callable:
    """Show the core's user errors as one-line toasts (the events without a notice line)."""
    return on_errors("")(fn)


def gpu(fn: Callable | None = None, *, duration: int = 60) -> Callable:
    """`spaces.GPU(duration=...)(fn)` on a ZeroGPU Space; `fn` itself everywhere else."""
    if fn is None:
        return functools.partial(gpu, duration=duration)
    try:
        import spaces  # type: ignore[import-not-found]  # only on Hugging Face Spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=duration)(fn)


@dataclass
class Bundled:
    """A pretrained checkpoint from checkpoints/, loaded on first use and shared read-only."""
    name: str
    path: Path
    description: str
    trainer: Trainer | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)


@gpu(duration=30)
def play(trainer: Trainer, n: int, which: str = "both") -> list[StepRecord]:
    """n steps: the unit of GPU time on a ZeroGPU Space."""
    return trainer.step(n, which)


@gpu(duration=30)
def evaluate(trainer: Trainer) -> dict[str, Any]:
    """A quality measurement of the trainer's sampler (`playground.metrics`)."""
    from ..metrics import evaluate_generator

    return evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model,
                              device=trainer.device)


@dataclass
class AppContext:
    device: str = "auto"
    limits: Limits = field(default_factory=Limits)
    checkpoints_dir: Path = Path("checkpoints")
    bundled: dict[str, Bundled] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gan-playground-")))
    runs_dir: Path | None = None  # GP_RUNS_DIR; None: a per-user cache folder
    slots: Slots | None = None
    store: RunStore | None = None

    def __post_init__(self) -> None:
        self.bundled = find_bundled(self.checkpoints_dir)
        self.slots = Slots(self.limits.train_concurrency)
        self.store = RunStore(self.runs_dir or default_folder(), self.limits.runs_mb)
        REGISTRY.max_runs = self.limits.max_sessions
        REGISTRY.on_save_run = self.save_run

    def new_run(self, session: Session, trainer: Trainer, name: str,
                run_id: str | None = None) -> LiveRun:
        """A new run for `session` (its old run saved and closed); it is not started."""
        REGISTRY.make_room(session)
        run = LiveRun(trainer, run_id or secrets.token_urlsafe(16), name, self.slots, play=play,
                      evaluate=evaluate, measure_every=session.measure_every,
                      on_autosave=self.save_run, autosave_s=self.limits.autosave_s)
        session.set_run(run)
        return run

    def save_run(self, run: LiveRun) -> None:
        """Save a run into the runs folder; a full disk becomes a note on the run, not a crash."""
        if self.store is None or not run.trainer.step_count:
            return
        try:
            with run.lock:
                self.store.save(run)
        except RunStoreError as e:
            run.changed(f"⚠️ Not saved: {e.strerror or e}")

    def session(self, state: Any, request: gr.Request | None) -> Session:
        """The caller's own session (created on first use)."""
        session_hash = getattr(request, "session_hash", None) if request is not None else None
        return REGISTRY.get(state, session_hash, self.device, self.limits.session_ttl_s)

    def session_dir(self, session: Session) -> Path:
        """A folder for this session's downloads (checkpoints, GIFs, PNGs)."""
        path = self.workdir / session.id[:16]
        path.mkdir(parents=True, exist_ok=True)
        return path

    def load_bundled(self, name: str) -> Bundled:
        entry = self.bundled.get(name)
        if entry is None:
            raise error(f"there is no bundled checkpoint called {name!r}")
        with entry.lock:
            if entry.trainer is None:
                entry.trainer = load_checkpoint(entry.path, device=self.device)
        return entry


def load_upload(path: str, device: str, limits: Limits | None = None
                ) -> tuple[Trainer, list, dict[str, Any]]:
    """An uploaded checkpoint (trainer, timelapse frames, metadata), its data settings reset to
    this server's own.

    The file is a stranger's: it is checked in full before anything is built
    (`playground.checkpoint_check`); its config must not make the server read a folder it names
    (`path`, `data_root`: the report's galleries would show those images) or download anything,
    and the models it describes are counted (GP_MAX_PARAMS) before any weight is allocated.
    """
    if limits is not None:  # the run's cost first: a header may describe billions of weights
        meta = read_metadata(path, tensors=False)
        limits.check_cost(meta["config"], meta["data_shape"], meta["num_classes"])
    trainer, frames, meta = load_run(path, device=device)
    data, defaults = trainer.config.data, DataConfig()
    safe: dict[str, Any] = {"data_root": defaults.data_root, "download": False}
    if data.dataset == FOLDER_DATASET:
        safe["path"] = NOT_ON_SERVER
    trainer.config = trainer.config.replace(**safe)
    return trainer, frames, meta


def trainer_or_fallback(config: RunConfig, max_data_bytes: int | None = None
                        ) -> tuple[Trainer, str]:
    """A Trainer for `config` and a note: "" normally; when a torchvision set's files are missing
    here (or could not be downloaded), the run falls back to the bundled digits and says so.
    Your own images are decoded within `max_data_bytes` (GP_MAX_DATA_MB)."""
    try:
        if config.data.dataset == FOLDER_DATASET:
            device = pick_device(config.train.device)
            dataset = load_dataset(config.data, device, max_decoded_bytes=max_data_bytes)
            return Trainer(config, dataset=dataset, device=device), ""
        return Trainer(config), ""
    except DatasetUnavailable:
        if config.data.dataset not in TORCHVISION_DATASETS:
            raise
    note = (f"{config.data.dataset} is not available on this server (its files are missing or "
            "could not be downloaded), so this run trains on the bundled MNIST digits instead.")
    return Trainer(config.replace(dataset="mnist")), note


def find_bundled(folder: Path) -> dict[str, Bundled]:
    """The readable checkpoints in `folder`, by file stem; unreadable ones are skipped."""
    found: dict[str, Bundled] = {}
    for path in sorted(Path(folder).glob("*.safetensors")):
        try:
            meta = read_metadata(path)
        except CheckpointError:
            continue
        config = meta["config"]
        kind = f"{'conditional ' if config.model.conditional else ''}{config.model.arch}"
        found[path.stem] = Bundled(path.stem, path, f"{path.stem}: {kind} on "
                                   f"{config.data.dataset}, {meta['step']:,} steps")
    return found
