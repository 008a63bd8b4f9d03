"""The Sample tab: a seed-labelled grid from any model, and interpolations between two seeds.

Seed s always gives the same image (playground.sample draws each seed's z on its own), so a grid
can be reproduced, shared and extended seed by seed. 2D models draw their points over the real
data. A refused request is a toast and a sentence next to the control at fault; the grid already
shown stays.
"""
from __future__ import annotations

import math
import secrets
from typing import Any

import gradio as gr
from PIL import Image

from .. import plots
from ..frames import real_points, view_lim
from ..sample import generate, gif, interpolate, labelled_grid, parse_seeds
from ..settings import SettingError
from ..train import Trainer
from . import model_choice, text
from .common import CONTROL, QUICK, AppContext, gpu, on_errors
from .errors import ErrorSlots
from .safe_inputs import RawSlider

MAX_INTERP_FRAMES = 64
GRID_PX = 520  # about how wide a sample grid is drawn
GIF_PX = 192  # about how wide each interpolation GIF frame is
STRIP_COLUMNS = 8  # interpolation frames per row of the strip
STRIP_TILE_PX = 84  # ... each at least this wide
MAX_LABELS = 64  # 2D samples: seeds captioned at most
FADE_PSI = 0.6  # below this truncation, a plain GAN's samples fade (see text.SAMPLE_HELP)
CYCLE = "cycle"  # conditional models: class = seed mod number of classes
QUIET = dict(show_progress="hidden")


def _labels(trainer: Trainer, seeds: list[int], label: Any) -> list[int] | None:
    """Class labels for a conditional model: one class for all, or seed mod classes."""
    if not trainer.config.model.conditional:
        return None
    if label in (None, "", CYCLE):
        return [s % trainer.num_classes for s in seeds]
    value = int(label)
    if not 0 <= value < trainer.num_classes:
        raise SettingError("label", f"Class {value} is out of range: this model knows classes "
                           f"0 to {trainer.num_classes - 1}")
    return [value] * len(seeds)


def _truncation(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and 0 < value <= 1):
        raise SettingError("truncation", f"Truncation ψ: {value!r:.40} is out of range: "
                           "allowed (0, 1]")
    return float(value)


def _seed(value: Any, name: str, field: str) -> int:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and float(value).is_integer() and 0 <= value < 2**63
    if not ok:
        raise SettingError(field, f"{name}: {value!r:.40} must be a whole number, 0 or more")
    return int(value)


@gpu(duration=20)
def _generate(trainer: Trainer, seeds: list[int], truncation: float, labels: list[int] | None):
    return generate(trainer.sampler(), seeds, trainer.config.model.z_dim, truncation=truncation,
                    labels=labels, device=trainer.device, noise=trainer.config.model.noise)


@gpu(duration=20)
def _interpolate(trainer: Trainer, a: int, b: int, frames: int, mode: str, label: int | None,
                 truncation: float):
    return interpolate(trainer.sampler(), a, b, frames, trainer.config.model.z_dim, mode=mode,
                       label=label, device=trainer.device, truncation=truncation,
                       noise=trainer.config.model.noise)


def _fade_note(trainer: Trainer, psi: float) -> str:
    if psi >= FADE_PSI or trainer.is_2d:
        return ""
    z_dim = trainer.config.model.z_dim
    return (f" At ψ = {psi:g} every noise vector is {psi:g}× as long as those G trained on "
            f"(|z| ≈ {psi * math.sqrt(z_dim):.1f} instead of ≈ {math.sqrt(z_dim):.1f}): a plain "
            "GAN's samples fade towards one blurry average there (see *Truncation* below).")


class SampleTab:
    def __init__(self, ctx: AppContext, state: gr.State):
        self.ctx, self.state = ctx, state
        self.slots = ErrorSlots()
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                self.model = model_choice.dropdown(ctx, "sample-model")
                self.upload = gr.File(label="Upload a checkpoint (.safetensors)",
                                      file_types=[".safetensors"], elem_id="sample-upload",
                                      height=110)
                self.upload_note = gr.Markdown("", elem_id="sample-upload-note")
                self.seeds = gr.Textbox("0-15", label="Seeds", elem_id="sample-seeds",
                                        info="A list (1, 5, 9), a range (0-15) or both; each "
                                        "seed is one sample.")
                with gr.Row():
                    self.count = RawSlider(1, min(64, ctx.limits.max_images), value=16, step=1,
                                           label="How many random seeds",
                                           info="Used by the random button.",
                                           elem_id="sample-count")
                    self.random_btn = gr.Button("🎲 Random seeds", size="sm",
                                                elem_id="random-seeds-btn")
                self.truncation = RawSlider(0.05, 1.0, value=1.0, step=0.05,
                                            label="Truncation ψ", elem_id="sample-truncation",
                                            info="Draws ψ·z: a little below 1 gives more typical "
                                            "samples; far below, a plain GAN's samples fade.")
                self.label = gr.Dropdown([("seed mod 10", CYCLE)] + [(str(i), str(i))
                                                                     for i in range(10)],
                                         value=CYCLE, label="Class", elem_id="sample-class",
                                         info="Conditional models only: which digit to draw.")
                self.go = gr.Button("Generate", variant="primary", elem_id="sample-btn")
                self.note = gr.Markdown("", elem_id="sample-note", elem_classes=["gp-notice"])
            with gr.Column(scale=2, min_width=340):
                gr.Markdown("**Samples, labelled by seed**")
                self.grid = gr.Image(type="filepath", format="png", interactive=False,
                                     show_label=False, elem_id="sample-grid", height=540,
                                     buttons=["download", "fullscreen"])
                self.info = gr.Markdown("Pick a model and seeds, then press **Generate**.",
                                        elem_id="sample-info")
                self.png = gr.File(label="The grid as a PNG file", interactive=False,
                                   elem_id="sample-png", height=80)
        with gr.Accordion("Interpolate between two seeds", open=True):
            with gr.Row():
                self.seed_a = gr.Number(0, label="Seed A", elem_id="seed-a",
                                        info="Where the walk starts.")
                self.seed_b = gr.Number(1, label="Seed B", elem_id="seed-b",
                                        info="Where the walk ends.")
                self.frames = RawSlider(2, MAX_INTERP_FRAMES, value=8, step=1, label="Frames",
                                        elem_id="interp-frames",
                                        info="Points along the path, both ends included.")
                self.mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path",
                                     info="slerp follows the sphere; lerp is a straight line.")
            self.interp_btn = gr.Button("Interpolate", elem_id="interp-btn")
            self.interp_note = gr.Markdown("", elem_id="interp-note", elem_classes=["gp-notice"])
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    gr.Markdown("**From A to B**, row by row")
                    self.strip = gr.Image(type="filepath", format="png", interactive=False,
                                          show_label=False, elem_id="interp-strip")
                with gr.Column(scale=1):
                    gr.Markdown("**As an animation** (there and back)")
                    self.gif = gr.Image(type="filepath", interactive=False, show_label=False,
                                        elem_id="interp-gif")
        gr.Markdown(text.SAMPLE_HELP, latex_delimiters=text.LATEX)
        for name, control in (("seeds", self.seeds), ("truncation", self.truncation),
                              ("label", self.label), ("count", self.count),
                              ("seed_a", self.seed_a), ("seed_b", self.seed_b),
                              ("frames", self.frames)):
            self.slots.field(name, control, control.info)
        for name, notice in (("sample", self.note), ("interp", self.interp_note),
                             ("upload", self.upload_note)):
            self.slots.notice(name, notice)
        self._wire()

    def _wire(self) -> None:
        ctx, state = self.ctx, self.state
        limits = ctx.limits

        @on_errors("sample")
        def sample_grid(state: Any, model: str, seeds: str, truncation: float, label: Any,
                        request: gr.Request):
            session = ctx.session(state, request)
            try:
                seed_list = parse_seeds(seeds, max_count=limits.max_images)
            except ValueError as e:
                raise SettingError("seeds", f"Seeds: {e}") from None
            psi = _truncation(truncation)
            with model_choice.use_model(ctx, session, model) as trainer:
                labels = _labels(trainer, seed_list, label)
                out = _generate(trainer, seed_list, psi, labels)
                note = _fade_note(trainer, psi)
                if trainer.is_2d:
                    names = [str(s) for s in seed_list][:MAX_LABELS] if \
                        len(seed_list) <= MAX_LABELS else []
                    picture = plots.points_view(out, view_lim(trainer), names,
                                                real=real_points(trainer))
                    left = picture.info.get("unlabelled", 0)
                    note += " Purple: the samples; pale green: real data."
                    if left:
                        note += f" {left} seed label(s) are left out where they would overlap."
                else:
                    captions = [f"seed {s}" if labels is None else f"seed {s} · {y}"
                                for s, y in zip(seed_list, labels or seed_list)]
                    nrow = min(8, math.ceil(math.sqrt(len(seed_list))))
                    # Tiles enlarged so the grid is about GRID_PX wide (captions stay readable).
                    scale = max(1, min(8, round(GRID_PX / (nrow * out.shape[-1]))))
                    picture = labelled_grid(out, captions, nrow=nrow, scale=scale)
                step = trainer.step_count
            path = ctx.session_dir(session) / f"samples-{len(seed_list)}.png"
            # Encoded once, at zlib's fastest level, and served as both the picture and the
            # download: Gradio encoding the PIL image again (at level 6) doubled the latency.
            picture.save(path, compress_level=1)
            which = model_choice.describe(session, model)
            info = (f"{len(seed_list)} sample(s) at truncation ψ = {psi:g} from "
                    f"{which + ', ' if which else 'a model '}trained {step:,} steps.{note}")
            return session, str(path), str(path), info

        @on_errors("sample")
        def random_seeds(count: Any, request: gr.Request = None) -> str:
            # (`request`, unused here: on_errors reads whose error or success this is from it)
            n = _seed(count, "How many random seeds", "count")
            if n < 1:
                raise SettingError("count", "How many random seeds: ask for at least 1")
            limits.check_images(n, "seeds")
            return ", ".join(str(secrets.randbelow(1_000_000)) for _ in range(n))

        @on_errors("interp")
        def interpolation(state: Any, model: str, seed_a: Any, seed_b: Any, frames: Any,
                          mode: str, truncation: float, label: Any, request: gr.Request):
            session = ctx.session(state, request)
            a, b = _seed(seed_a, "Seed A", "seed_a"), _seed(seed_b, "Seed B", "seed_b")
            n = _seed(frames, "Frames", "frames")
            if not 2 <= n <= MAX_INTERP_FRAMES:
                raise SettingError("frames", f"Frames: frames={n} is out of range: allowed "
                                   f"[2, {MAX_INTERP_FRAMES}]")
            psi = _truncation(truncation)
            with model_choice.use_model(ctx, session, model) as trainer:
                labels = _labels(trainer, [a], label)
                out = _interpolate(trainer, a, b, n, mode, labels[0] if labels else None, psi)
                if trainer.is_2d:
                    lim, real = view_lim(trainer), real_points(trainer)
                    names = ["A"] + [""] * (n - 2) + ["B"]
                    strip = plots.points_view(out, lim, names, real=real)
                    frames_img = [plots.points_view(out[:i + 1], lim, real=real)
                                  for i in range(n)]
                else:
                    captions = [f"t={i / (n - 1):.2f}" for i in range(n)]
                    scale = max(2, math.ceil(STRIP_TILE_PX / out.shape[-1]))
                    strip = labelled_grid(out, captions, nrow=min(n, STRIP_COLUMNS), scale=scale)
                    side = max(1, round(GIF_PX / out.shape[-1]))
                    frames_img = [labelled_grid(out[i:i + 1], [captions[i]], nrow=1,
                                                scale=side) for i in range(n)]
            loop: list[Image.Image] = frames_img + frames_img[-2:0:-1]  # there and back again
            folder = ctx.session_dir(session)
            strip_path = folder / f"interpolation-{a}-{b}.png"
            strip.save(strip_path, compress_level=1)
            path = folder / f"interpolation-{a}-{b}.gif"
            path.write_bytes(gif(loop, duration_ms=100))
            return session, str(strip_path), str(path)

        @on_errors("upload")
        def upload(state: Any, file: Any = None, request: gr.Request = None):
            session = ctx.session(state, request)
            note = model_choice.upload(ctx, session, file)
            return session, note, model_choice.UPLOADED

        wire = self.slots.wire
        self.slots.clear_on(self.go.click, self.random_btn.click, self.interp_btn.click,
                            self.upload.upload)
        wire(self.go.click(sample_grid, inputs=[state, self.model, self.seeds, self.truncation,
                                                self.label],
                           outputs=[state, self.grid, self.png, self.info],
                           api_name="sample_grid", concurrency_id=QUICK, **QUIET))
        wire(self.random_btn.click(random_seeds, inputs=[self.count], outputs=[self.seeds],
                                   api_name="random_seeds", concurrency_id=CONTROL,
                                   concurrency_limit=None, **QUIET))
        wire(self.interp_btn.click(interpolation,
                                   inputs=[state, self.model, self.seed_a, self.seed_b,
                                           self.frames, self.mode, self.truncation, self.label],
                                   outputs=[state, self.strip, self.gif], api_name="interpolate",
                                   concurrency_id=QUICK, **QUIET))
        wire(self.upload.upload(upload, inputs=[state, self.upload],
                                outputs=[state, self.upload_note, self.model],
                                api_name="upload_checkpoint", concurrency_id=QUICK, **QUIET))
