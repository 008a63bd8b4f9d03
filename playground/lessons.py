"""Guided experiments: lessons whose claims are measured on a run, not asserted.

A `Lesson` sets up one or more runs (`LessonRun`: a preset, the fields it changes, as a link
would; the run's `steps` are where its claims are judged), says what to watch and what it shows,
and states its outcome as `Claim`s: a measured quantity of one run, compared with a bound. The
page applies a run's setup with one click (`LessonRun.query` is the link of that setup);
`playground lesson NAME` and the test suite train every run headless and check every claim
(`check`). The numbers in each lesson's words were measured on a 2-core CPU and each claim keeps
a margin from them; on another machine a run's floats differ, its outcome should not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable
from urllib.parse import urlencode

import numpy as np
import torch

from .metrics import evaluate_generator
from .presets import get_preset
from .sample import draw_noise
from .train import Trainer

HELD_RADIUS = 0.25  # a sample "held" by a mode lies this near its centre (ring8's are 0.77 apart)
HELD_SHARE = 0.05  # a mode is held when it holds at least this share of the samples
WINDOW = 100  # steps the D-score gap is averaged over (the last ones of the run)
GRAD_WINDOW = 200  # steps G's gradient norm median is taken over (the last ones of the run)
CHUNK = 50  # steps trained between checks for a divergence (the app's worker does the same)


@dataclass(frozen=True)
class LessonRun:
    """One run a lesson sets up: `label` ("A: minimax"), the preset and the fields it changes
    (config field names, as in a link), and for a two-part run the live edit `then` applied when
    it has trained `changes["steps"]` steps, followed by `then_steps` more."""
    label: str
    preset: str
    changes: dict[str, Any]
    then: dict[str, Any] = field(default_factory=dict)
    then_steps: int = 0

    @property
    def key(self) -> str:
        return self.label.split(":")[0]

    def config(self, device: str = "auto") -> Any:
        return get_preset(self.preset).replace(device=device, **self.changes)

    def query(self) -> str:
        """The link of this setup (`?preset=...&field=...`), as `ui/links.py` reads it."""
        return "?" + urlencode({"preset": self.preset, **{k: _text(v) for k, v in
                                                          self.changes.items()}})


@dataclass(frozen=True)
class Claim:
    """`run`'s measured `quantity` compared with `bound` by `op` ("<=", ">=" or "abs<=")."""
    run: str  # a LessonRun key ("A")
    quantity: str  # a key of QUANTITIES
    op: str
    bound: float

    def holds(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.op == "<=":
            return value <= self.bound
        if self.op == ">=":
            return value >= self.bound
        if self.op == "abs<=":
            return abs(value) <= self.bound
        raise ValueError(f"op={self.op!r} is not one of: <=, >=, abs<=")

    def expected(self) -> str:
        if self.op == "abs<=":
            return f"between −{_number(self.bound)} and {_number(self.bound)}"
        return f"{'≤' if self.op == '<=' else '≥'} {_number(self.bound)}"


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    see: str  # what you will see
    watch: str  # what to watch while it trains
    question: str
    shows: str  # the answer: what it shows
    runs: tuple[LessonRun, ...]
    claims: tuple[Claim, ...]

    def run(self, key: str) -> LessonRun:
        return next(r for r in self.runs if r.key == key)


@dataclass
class Outcome:
    """One claim judged on a trained run."""
    claim: Claim
    words: str  # e.g. "A: modes captured at step 1,000"
    measured: float | None
    holds: bool

    def line(self) -> str:
        mark = "holds" if self.holds else "DOES NOT HOLD"
        return (f"{self.words}: expected {self.claim.expected()}, measured "
                f"{_number(self.measured)} — {mark}")


# ------------------------------------------------------------------ measuring a trained run
def _modes_held(trainer: Trainer, n: int = 2000) -> float:
    """How many modes hold >= HELD_SHARE of n samples within HELD_RADIUS: a collapsed G holds
    one or two however sharp it is; the 3-sigma 'modes captured' also needs sharpness."""
    model = trainer.config.model
    z = draw_noise(n, model.z_dim, model.noise, torch.Generator().manual_seed(0))
    with torch.no_grad():
        points = trainer.sampler().cpu()(z).float().numpy()
    centres = trainer.dataset.toy.centres.numpy()
    dist = np.linalg.norm(points[:, None] - centres[None], axis=2)
    near = dist.min(1) <= HELD_RADIUS
    share = np.bincount(dist.argmin(1)[near], minlength=len(centres)) / n
    return float((share >= HELD_SHARE).sum())


@dataclass
class Trained:
    """A lesson's run once trained; its quality is measured on first use, then kept."""
    trainer: Trainer

    @cached_property
    def quality(self) -> dict[str, Any]:
        t = self.trainer
        return evaluate_generator(t.sampler(), t.dataset, t.config.model, device=t.device)

    def metric(self, key: str) -> float | None:
        value = self.quality.get(key)
        return None if value is None else float(value)


def _d_gap(trainer: Trainer) -> float:
    rows = [r for r in trainer.history if r.d_real is not None][-WINDOW:]
    return float(np.mean([r.d_real - r.d_fake for r in rows]))


def _g_grad(trainer: Trainer) -> float:
    norms = [r.grad_norm_g for r in trainer.history if r.grad_norm_g is not None]
    return float(np.median(norms[-GRAD_WINDOW:]))


# name -> (words, how it is measured on a trained run)
QUANTITIES: dict[str, tuple[str, Callable[[Trained], float | None]]] = {
    "modes": ("modes captured (3 sigma, VEEGAN)", lambda t: t.metric("modes_captured")),
    "high_quality": ("% high-quality samples", lambda t: t.metric("high_quality_pct")),
    "modes_held": (f"modes holding ≥ {HELD_SHARE:.0%} of samples",
                   lambda t: _modes_held(t.trainer)),
    "d_gap": (f"mean D(x) − D(G(z)) over the last {WINDOW} steps", lambda t: _d_gap(t.trainer)),
    "g_grad": (f"median ‖∇G‖ over the last {GRAD_WINDOW} steps", lambda t: _g_grad(t.trainer)),
    "fd_ratio": ("FD / real-vs-real baseline", lambda t: t.metric("fd_ratio")),
    "digits": ("digits covered (of 10)", lambda t: t.metric("digits_covered")),
    "label_accuracy": ("% classified as the digit asked for",
                       lambda t: _percent(t.metric("label_accuracy"))),
    "rollbacks": ("divergences rolled back",
                  lambda t: float(sum("diverged" in r.event for r in t.trainer.history))),
    "step": ("the step the run ends on", lambda t: float(t.trainer.step_count)),
}


def train_run(run: LessonRun, device: str = "cpu",
              progress: Callable[[str], None] | None = None) -> Trainer:
    """Train `run` as the page would: its steps (stopping at a divergence), then `then` applied
    as a live edit and `then_steps` more."""
    trainer = Trainer(run.config(device))
    _train(trainer, trainer.config.train.steps, progress, run.label)
    if run.then:
        trainer.update(**run.then)
        _train(trainer, trainer.step_count + run.then_steps, progress, run.label)
    return trainer


def _train(trainer: Trainer, until: int, progress: Callable[[str], None] | None,
           label: str) -> None:
    while trainer.step_count < until:
        trainer.step(min(CHUNK, until - trainer.step_count))
        if trainer.diverged:
            break  # the app stops the run here, on its last good state
        if progress and trainer.step_count % 500 == 0:
            progress(f"{label}: step {trainer.step_count:,}")


def check(lesson: Lesson, device: str = "cpu",
          progress: Callable[[str], None] | None = None) -> list[Outcome]:
    """Train each of the lesson's runs and judge every claim on it."""
    trained = {r.key: Trained(train_run(r, device, progress)) for r in lesson.runs}
    outcomes = []
    for claim in lesson.claims:
        run = trained[claim.run]
        words, measure = QUANTITIES[claim.quantity]
        value = measure(run)
        when = "" if claim.quantity == "step" else f" at step {run.trainer.step_count:,}"
        outcomes.append(Outcome(claim, f"{lesson.run(claim.run).label} — {words}{when}", value,
                                claim.holds(value)))
    return outcomes


def get_lesson(name: str) -> Lesson:
    try:
        return LESSONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"lesson={str(name)[:60]!r} is not one of: {', '.join(LESSONS)}") \
            from None


def _percent(x: float | None) -> float | None:
    return None if x is None else 100 * x


def _number(x: float | None) -> str:
    if x is None:
        return "nothing (not measured)"
    if x == int(x) and abs(x) < 1e6:
        return f"{int(x):,}"
    return f"{x:.3g}" if abs(x) < 1e-2 or abs(x) >= 100 else f"{x:.3f}".rstrip("0")


def _text(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


# ------------------------------------------------------------------ the lessons
def _lesson(name: str, title: str, *, see: str, watch: str, question: str, shows: str,
            runs: list[LessonRun], claims: list[Claim]) -> Lesson:
    return Lesson(name, title, see, watch, question, shows, tuple(runs), tuple(claims))


# The seed's digits MLP (no spectral norm, batch 64) with a D five steps and 5x G's lr ahead.
_STRONG_D = {"loss": "minimax", "spectral_norm": False, "g_lr": 2e-4, "d_lr": 1e-3, "d_steps": 5,
             "batch_size": 64, "ema_decay": 0.0, "steps": 300, "seed": 0}
# ring8 with G ten times faster than D and no EMA.
_FAST_G = {"g_lr": 0.01, "d_lr": 0.001, "ema_decay": 0.0, "steps": 2000, "seed": 0}

_LESSONS = [
    _lesson(
        "the-game", "The game on ring8",
        see="G starts as a blob at the centre and D's map is flat. Within a few hundred steps "
            "the blob stretches to the ring, then splits into the eight modes.",
        watch="D(x) and D(G(z)) in the curves: they start apart and settle close to each "
              "other, near 1/2, as G's points reach the real ones.",
        question="When G matches the data, what is the best D can do, and what score does it "
                 "give?",
        shows="At the game's equilibrium p_g = p_data and the best D says 1/2 everywhere: "
              "measured here, 8/8 modes by step 1,000 (about 70 % of the samples within 3 "
              "sigma of a mode) while D(x) − D(G(z)) is only about 0.1.",
        runs=[LessonRun("A: ring8", "ring8", {"steps": 1000, "seed": 0})],
        claims=[Claim("A", "modes", ">=", 8), Claim("A", "high_quality", ">=", 50),
                Claim("A", "d_gap", "abs<=", 0.2)]),
    _lesson(
        "minimax-saturates", "Minimax saturates, non-saturating learns",
        see="The seed's MLP on digits with a strong D (five D steps, 5x G's learning rate): D "
            "rejects G's noise at once in both runs.",
        watch="G's gradient norm in the curves: with minimax it sinks towards zero; with the "
              "non-saturating loss it stays large.",
        question="Both games have the same fixed point. Why does one of them stop pushing G?",
        shows="Minimax's G minimises log(1 − D(G(z))), whose slope is D(G(z)) itself: near 0 "
              "when D wins. Non-saturating's −log D(G(z)) is steepest exactly there. Measured: "
              "‖∇G‖ ~0.02 against ~8 (400x) over steps 100–300.",
        runs=[LessonRun("A: minimax", "mnist-mlp", _STRONG_D),
              LessonRun("B: non-saturating", "mnist-mlp",
                        _STRONG_D | {"loss": "non-saturating"})],
        claims=[Claim("A", "g_grad", "<=", 0.1), Claim("B", "g_grad", ">=", 1.0)]),
    _lesson(
        "mode-collapse", "Mode collapse, and packing against it",
        see="G learns ten times faster than D (g_lr 0.01, d_lr 0.001, no EMA). It crowds its "
            "samples onto one or two modes and hops between them. The same run with packing "
            "(pack=4: D judges four samples at once) spreads over all eight.",
        watch="The generated points on the 2D view, and the modes count when you press "
              "Measure quality.",
        question="A single sample from a collapsed G looks perfectly real. What can D see in "
                 "four samples that it cannot see in one?",
        shows="Four samples from a collapsed G are four near-copies; four real ones almost "
              "never are. A packed D sees that and punishes it (PacGAN). Measured at 2,000 "
              "steps: one mode held without packing, eight with it.",
        runs=[LessonRun("A: G too fast", "ring8", _FAST_G),
              LessonRun("B: packed (pack=4)", "ring8", _FAST_G | {"pack": 4})],
        claims=[Claim("A", "modes_held", "<=", 3), Claim("B", "modes_held", ">=", 8)]),
    _lesson(
        "d-balance", "D too strong, D too weak",
        see="Three runs of ring8: balanced (the preset), D too strong (five D steps at 5x the "
            "learning rate), D too weak (d_lr 0.00001).",
        watch="D(x) and D(G(z)): far apart when D is too strong, glued together at ~0.54 when "
              "it is too weak. And where the points go.",
        question="If D(x) = D(G(z)), has G won?",
        shows="No: a D that does not learn gives the same score to everything, so G gets no "
              "direction and stays a blob (0 modes at 1,000 steps). A D too strong wins "
              "by a wide margin (gap ~0.74) and G learns slower (5 modes). Balanced: 8/8.",
        runs=[LessonRun("A: balanced", "ring8", {"steps": 1000, "seed": 0}),
              LessonRun("B: D too strong", "ring8",
                        {"d_steps": 5, "d_lr": 0.01, "steps": 1000, "seed": 0}),
              LessonRun("C: D too weak", "ring8", {"d_lr": 1e-5, "steps": 1000, "seed": 0})],
        claims=[Claim("A", "modes", ">=", 8), Claim("A", "d_gap", "abs<=", 0.2),
                Claim("B", "d_gap", ">=", 0.5), Claim("C", "d_gap", "abs<=", 0.02),
                Claim("C", "modes", "<=", 1)]),
    _lesson(
        "divergence", "Too high a learning rate diverges; the rollback saves you",
        see="ring8 trains to step 500. Then switch both optimisers to sgd with learning rate "
            "10 (Advanced, live) and raise steps to 600, and press Resume: within a few steps "
            "the losses turn to inf/nan.",
        watch="The warning, and the step: the run goes back to its last good state.",
        question="Where would the run be without the rollback?",
        shows="Weights that turned non-finite cannot recover: every later step is nan. The "
              "trainer keeps a copy of the last finite state and goes back to it, so the 500 "
              "good steps (and their 8/8 modes) survive; lower the learning rate and go on.",
        runs=[LessonRun("A: ring8, then lr 10", "ring8", {"steps": 500, "seed": 0},
                        then={"g_optimizer": "sgd", "d_optimizer": "sgd", "g_lr": 10.0,
                              "d_lr": 10.0, "steps": 600}, then_steps=100)],
        claims=[Claim("A", "rollbacks", ">=", 1), Claim("A", "step", ">=", 500),
                Claim("A", "step", "<=", 599), Claim("A", "modes", ">=", 8)]),
    _lesson(
        "ema", "The average of G is sharper than G",
        see="ring8 with and without an exponential moving average of G's weights "
            "(ema_decay 0.99 against 0).",
        watch="How tight the generated clusters are.",
        question="G keeps moving around each mode as D pushes it. What does averaging its "
                 "weights over the last ~100 steps do?",
        shows="The jitter averages out: measured at 2,000 steps on seeds 0-4, 88-92 % of the "
              "EMA's samples lie within 3 sigma of a mode, against 44-67 % of raw G's.",
        runs=[LessonRun("A: with EMA", "ring8", {"steps": 2000, "seed": 0}),
              LessonRun("B: without EMA", "ring8", {"ema_decay": 0.0, "steps": 2000,
                                                    "seed": 0})],
        claims=[Claim("A", "high_quality", ">=", 85), Claim("B", "high_quality", "<=", 70),
                Claim("A", "modes", ">=", 8)]),
    _lesson(
        "mlp-vs-dcgan", "The seed's MLP against a DCGAN on digits",
        see="The same 1,000 steps on the bundled digits: a fully connected G and D, and a "
            "small convolutional pair (DCGAN).",
        watch="The grid: blobs and a few digit shapes from the MLP, legible digits of every "
              "kind from the DCGAN.",
        question="Both networks see the same pixels. What does a convolution know that a "
                 "fully connected layer must learn?",
        shows="That nearby pixels belong together and a stroke looks the same anywhere. "
              "Measured at 1,000 steps: FD about 70x the real-vs-real baseline with 3-4 "
              "digits for the MLP, about 3x with 10 digits for the DCGAN.",
        runs=[LessonRun("A: MLP", "mnist-mlp", {"steps": 1000, "seed": 0}),
              LessonRun("B: DCGAN", "mnist-dcgan", {"steps": 1000, "seed": 0})],
        claims=[Claim("A", "fd_ratio", ">=", 30), Claim("A", "digits", "<=", 6),
                Claim("B", "fd_ratio", "<=", 6), Claim("B", "digits", ">=", 10)]),
    _lesson(
        "conditional", "A conditional GAN draws the digit you ask for",
        see="G gets a digit label with z; D judges the image together with its label.",
        watch="Each row of the grid is one digit (0 to 9). Then sample a digit in the Sample "
              "tab.",
        question="How can we check that G draws the digit it was asked for, without a person "
                 "looking?",
        shows="A classifier trained on real digits reads the samples: measured at 1,000 steps, "
              "about 98 % are classified as the digit asked for.",
        runs=[LessonRun("A: conditional DCGAN", "mnist-cgan", {"steps": 1000, "seed": 0})],
        claims=[Claim("A", "label_accuracy", ">=", 95), Claim("A", "digits", ">=", 10)]),
]
LESSONS: dict[str, Lesson] = {lesson.name: lesson for lesson in _LESSONS}
