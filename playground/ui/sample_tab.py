"""The Sample tab: a seed-labelled grid from any model, and interpolations between two seeds.

Seed s always gives the same image (playground.sample draws each seed's z on its own), so a grid
can be reproduced, shared and extended seed by seed.
"""
from __future__ import annotations

import math
import secrets
from typing import Any

import gradio as gr
from PIL import Image

from .. import plots
from ..sample import generate, gif, interpolate, labelled_grid, parse_seeds
from ..train import Trainer
from . import model_choice, text
from .common import CONTROL, QUICK, AppContext, error, gpu, user_errors

MAX_INTERP_FRAMES = 64
GRID_PX = 520  # about how wide a sample grid is drawn
GIF_PX = 192  # about how wide each interpolation GIF frame is
CYCLE = "cycle"  # conditional models: class = seed mod number of classes


def _labels(trainer: Trainer, seeds: list[int], label: Any) -> list[int] | None:
    """Class labels for a conditional model: one class for all, or seed mod classes."""
    if not trainer.config.model.conditional:
        return None
    if label in (None, "", CYCLE):
        return [s % trainer.num_classes for s in seeds]
    value = int(label)
    if not 0 <= value < trainer.num_classes:
        raise error(f"class {value} is out of range: this model knows classes 0 to "
                    f"{trainer.num_classes - 1}")
    return [value] * len(seeds)


@gpu(duration=20)
def _generate(trainer: Trainer, seeds: list[int], truncation: float, labels: list[int] | None):
    return generate(trainer.sampler(), seeds, trainer.config.model.z_dim, truncation=truncation,
                    labels=labels, device=trainer.device)


@gpu(duration=20)
def _interpolate(trainer: Trainer, a: int, b: int, frames: int, mode: str, label: int | None,
                 truncation: float):
    return interpolate(trainer.sampler(), a, b, frames, trainer.config.model.z_dim, mode=mode,
                       label=label, device=trainer.device, truncation=truncation)


def _seed(value: Any, name: str) -> int:
    if value is None or (isinstance(value, float) and not value.is_integer()):
        raise error(f"{name} must be a whole number >= 0")
    return int(value)


class SampleTab:
    def __init__(self, ctx: AppContext, state: gr.State):
        self.ctx, self.state = ctx, state
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                self.model = model_choice.dropdown(ctx, "sample-model")
                self.upload = gr.File(label="Upload a checkpoint (.safetensors)",
                                      file_types=[".safetensors"], elem_id="sample-upload",
                                      height=140)
                self.upload_note = gr.Markdown("", label="Upload")
                self.seeds = gr.Textbox("0-15", label="Seeds", elem_id="sample-seeds",
                                        info="A list (1, 5, 9), a range (0-15) or both; each "
                                        "seed is one image.")
                with gr.Row():
                    self.count = gr.Slider(1, min(64, ctx.limits.max_images), value=16, step=1,
                                           label="How many random seeds",
                                           info="Used by the random button.")
                    self.random_btn = gr.Button("🎲 Random seeds", size="sm",
                                                elem_id="random-seeds-btn")
                self.truncation = gr.Slider(0.05, 1.0, value=1.0, step=0.05,
                                            label="Truncation ψ", elem_id="sample-truncation",
                                            info="Scales z by ψ: lower = more typical, less varied.")
                self.label = gr.Dropdown([("seed mod 10", CYCLE)] + [(str(i), str(i))
                                                                     for i in range(10)],
                                         value=CYCLE, label="Class",
                                         info="Conditional models only: which digit to draw.")
                self.go = gr.Button("Generate", variant="primary", elem_id="sample-btn")
            with gr.Column(scale=2, min_width=480):
                self.grid = gr.Image(label="Samples, labelled by seed", type="pil", format="png",
                                     interactive=False, elem_id="sample-grid", height=520,
                                     buttons=["download", "fullscreen"])
                self.png = gr.File(label="Grid as PNG", interactive=False, elem_id="sample-png")
                self.info = gr.Markdown("", label="About these samples", elem_id="sample-info")
        with gr.Accordion("Interpolate between two seeds", open=True):
            with gr.Row():
                self.seed_a = gr.Number(0, precision=0, minimum=0, label="Seed A",
                                        info="Where the walk starts.")
                self.seed_b = gr.Number(1, precision=0, minimum=0, label="Seed B",
                                        info="Where the walk ends.")
                self.frames = gr.Slider(2, MAX_INTERP_FRAMES, value=10, step=1, label="Frames",
                                        info="Points along the path, both ends included.")
                self.mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path",
                                     info="slerp follows the sphere; lerp is a straight line.")
            self.interp_btn = gr.Button("Interpolate", elem_id="interp-btn")
            with gr.Row():
                self.strip = gr.Image(label="From A to B", type="pil", format="png",
                                      interactive=False, elem_id="interp-strip")
                self.gif = gr.Image(label="As an animation (GIF)", type="filepath",
                                    interactive=False, elem_id="interp-gif")
        gr.Markdown(text.SAMPLE_HELP, latex_delimiters=text.LATEX)
        self._wire()

    def _wire(self) -> None:
        ctx, state = self.ctx, self.state
        limits = ctx.limits

        @user_errors
        def sample_grid(state: Any, model: str, seeds: str, truncation: float, label: Any,
                        request: gr.Request):
            session = ctx.session(state, request)
            seed_list = parse_seeds(seeds, max_count=limits.max_images)
            with model_choice.use_model(ctx, session, model) as trainer:
                labels = _labels(trainer, seed_list, label)
                out = _generate(trainer, seed_list, float(truncation), labels)
                if trainer.is_2d:
                    names = [str(s) for s in seed_list] if len(seed_list) <= 64 else []
                    picture = plots.points_view(out, plots.view_lim(trainer), names)
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
            info = (f"{len(seed_list)} sample(s) at truncation ψ = {truncation:g} from a model "
                    f"trained {step:,} steps.")
            return session, str(path), str(path), info

        def random_seeds(count: float) -> str:
            n = int(count)
            limits.check_images(n, "seeds")
            return ", ".join(str(secrets.randbelow(1_000_000)) for _ in range(n))

        @user_errors
        def interpolation(state: Any, model: str, seed_a: float, seed_b: float, frames: float,
                          mode: str, truncation: float, label: Any, request: gr.Request):
            session = ctx.session(state, request)
            a, b, n = _seed(seed_a, "seed A"), _seed(seed_b, "seed B"), int(frames)
            if not 2 <= n <= MAX_INTERP_FRAMES:
                raise error(f"frames={n} is out of range: allowed [2, {MAX_INTERP_FRAMES}]")
            with model_choice.use_model(ctx, session, model) as trainer:
                labels = _labels(trainer, [a], label)
                out = _interpolate(trainer, a, b, n, mode, labels[0] if labels else None,
                                   float(truncation))
                if trainer.is_2d:
                    names = ["A"] + [""] * (n - 2) + ["B"]
                    strip = plots.points_view(out, plots.view_lim(trainer), names)
                    frames_img = [plots.points_view(out[:i + 1], plots.view_lim(trainer))
                                  for i in range(n)]
                else:
                    strip = labelled_grid(out, [f"t={i / (n - 1):.2f}" for i in range(n)],
                                          nrow=n, scale=2)
                    side = max(1, round(GIF_PX / out.shape[-1]))
                    frames_img = [labelled_grid(out[i:i + 1], [f"t={i / (n - 1):.2f}"], nrow=1,
                                                scale=side) for i in range(n)]
            loop: list[Image.Image] = frames_img + frames_img[-2:0:-1]  # there and back again
            path = ctx.session_dir(session) / f"interpolation-{a}-{b}.gif"
            path.write_bytes(gif(loop, duration_ms=100))
            return session, strip, str(path)

        @user_errors
        def upload(state: Any, file: Any = None, request: gr.Request = None):
            session = ctx.session(state, request)
            note = model_choice.upload(ctx, session, file)
            return session, note, model_choice.UPLOADED

        self.go.click(sample_grid, inputs=[state, self.model, self.seeds, self.truncation,
                                           self.label],
                      outputs=[state, self.grid, self.png, self.info], api_name="sample_grid",
                      concurrency_id=QUICK)
        self.random_btn.click(random_seeds, inputs=[self.count], outputs=[self.seeds],
                              api_name="random_seeds", concurrency_id=CONTROL,
                              concurrency_limit=None)
        self.interp_btn.click(interpolation,
                              inputs=[state, self.model, self.seed_a, self.seed_b, self.frames,
                                      self.mode, self.truncation, self.label],
                              outputs=[state, self.strip, self.gif], api_name="interpolate",
                              concurrency_id=QUICK)
        self.upload.upload(upload, inputs=[state, self.upload],
                           outputs=[state, self.upload_note, self.model],
                           api_name="upload_checkpoint", concurrency_id=QUICK)
