"""The Discriminator tab: how D scores reals and fakes, and what it looks at in one image.

The report scores held-out real samples and the fakes of seeds 0..n-1 (so it is reproducible):
overlaid histograms over the scores' own range (the 0.5 line kept in view), accuracy, ROC AUC,
and the most convincing fakes and least convincing reals as captioned grids. Any image, drawn or
uploaded, gets its score, a saliency map and a note on how it was converted to what D sees; 2D
models show D's decision map with real and generated points instead. Switching models clears
what the previous one said.
"""
from __future__ import annotations

import math
from typing import Any

import gradio as gr
import torch
from PIL import Image

from .. import charts, plots
from ..frames import ViewJob, real_points, view_lim
from ..images import image_to_tensor, tensor_to_pil
from ..judge import discriminator_report, saliency, score_image
from ..sample import generate, labelled_grid, latents
from ..settings import SettingError
from ..train import Trainer
from . import model_choice, text
from .common import QUICK, AppContext, error, gpu, on_errors
from .errors import ErrorSlots
from .safe_inputs import BadImage, RawSlider, SafeImage
from .sketch import sketch_image, sketch_pad

GALLERY_K = 8
REAL_COLOUR, FAKE_COLOUR = "#16803d", "#7e22ce"  # green = real, purple = generated, everywhere
HIST_BINS = 20
EQUILIBRIUM = 0.1  # mean scores within this of 0.5, for reals and fakes alike: say why
QUIET = dict(show_progress="hidden")


@gpu(duration=30)
def _report(trainer: Trainer, n: int):
    """Score n held-out reals and the fakes of seeds 0..n-1."""
    gen = torch.Generator().manual_seed(0)
    real, y_real = trainer.dataset.real_sample(n, gen)
    n = len(real)  # a small held-out split may hold fewer than asked
    seeds = list(range(n))
    y_fake = ([s % trainer.num_classes for s in seeds] if trainer.config.model.conditional
              else None)
    fake = generate(trainer.sampler(), seeds, trainer.config.model.z_dim, labels=y_fake,
                    device=trainer.device, noise=trainer.config.model.noise)
    y_fake_t = None if y_fake is None else torch.tensor(y_fake)
    report = discriminator_report(trainer.D, real, fake, y_real, y_fake_t, k=GALLERY_K,
                                  bins=HIST_BINS, zoom=True)
    return report, real.cpu(), fake


@gpu(duration=20)
def _score(trainer: Trainer, image: Image.Image, label: int | None):
    x = image_to_tensor(image, trainer.data_shape).to(trainer.device)
    return score_image(trainer.D, x, label), saliency(trainer.D, x, label), x.cpu()


def conversion_note(image: Image.Image, shape: tuple[int, ...]) -> str:
    """How an image was turned into what this model sees, in words (or "" when it fit)."""
    c, h, w = shape
    steps = []
    if image.width != image.height:
        steps.append("cropped to its centre square")
    if (image.width, image.height) != (w, h):
        steps.append(f"resized from {image.width}x{image.height} to {w}x{h}")
    colour = image.mode not in ("L", "1", "I;16", "I", "LA", "P") and c == 1
    if colour:
        steps.append("turned grey")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        steps.append("put on black where it was transparent")
    if not steps:
        return ""
    return ("Your image was " + ", ".join(steps) + f": this model sees {w}x{h} "
            f"{'grey' if c == 1 else 'colour'} images (the picture shows what D saw).")


def verdict_text(score: float) -> str:
    word = "looks real" if score >= 0.5 else "looks fake"
    return f"D says **{score:.3f}**: it {word} to D (1 = surely real, 0 = surely fake)."


def show_what_applies(picture: Any) -> tuple:
    """2D models: the decision map; image models: the two grids."""
    two_d = picture is not None
    return gr.Image(visible=two_d), gr.Image(visible=not two_d), gr.Image(visible=not two_d)


def stats_text(rep: Any) -> str:
    text_ = (f"**Accuracy** at 0.5: {rep.accuracy:.1%} · **ROC AUC**: {rep.auc:.3f}  \n"
             f"Mean D(x) of reals {rep.real.mean():.3f}, of fakes {rep.fake.mean():.3f} "
             f"({len(rep.real)} of each).")
    if abs(rep.real.mean() - 0.5) < EQUILIBRIUM and abs(rep.fake.mean() - 0.5) < EQUILIBRIUM:
        text_ += ("  \nD says about 0.5 to reals and fakes alike. That is the game's "
                  "equilibrium, not a broken D: when G's samples follow the data's distribution, "
                  "the best any D can do is D(x) = 1/2 everywhere (Goodfellow et al., 2014).")
    return text_


class DiscriminatorTab:
    def __init__(self, ctx: AppContext, state: gr.State):
        self.ctx, self.state = ctx, state
        self.slots = ErrorSlots()
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                self.model = model_choice.dropdown(ctx, "disc-model")
                self.upload = gr.File(label="Upload a checkpoint (.safetensors)",
                                      file_types=[".safetensors"], height=110,
                                      elem_id="disc-upload")
                self.upload_note = gr.Markdown("", elem_id="disc-upload-note")
                self.count = RawSlider(16, ctx.limits.max_images,
                                       value=min(200, ctx.limits.max_images), step=1,
                                       label="Samples to score", elem_id="disc-count",
                                       info="How many held-out reals, and as many fakes.")
                self.report_btn = gr.Button("Score reals and fakes", variant="primary",
                                            elem_id="report-btn")
                self.report_note = gr.Markdown("", elem_id="report-note",
                                               elem_classes=["gp-notice"])
                self.stats = gr.Markdown("Press **Score reals and fakes** to see how D judges "
                                         "real and generated samples.", elem_id="report-stats")
            with gr.Column(scale=2, min_width=340):
                gr.Markdown("**D's scores**: reals (green) and fakes (purple)")
                self.hist = gr.Image(type="pil", format="png", interactive=False,
                                     show_label=False, elem_id="report-hist",
                                     buttons=["download", "fullscreen"])
                self.map = gr.Image(type="pil", format="png", interactive=False, visible=False,
                                    show_label=False, elem_id="report-map")
                gr.Markdown("**The most convincing fakes** and **the least convincing reals**, "
                            "each with D's score")
                with gr.Row():
                    self.fakes = gr.Image(type="pil", format="png", interactive=False,
                                          show_label=False, elem_id="gallery-fakes", buttons=[])
                    self.reals = gr.Image(type="pil", format="png", interactive=False,
                                          show_label=False, elem_id="gallery-reals", buttons=[])
        with gr.Accordion("Score your own image", open=True):
            with gr.Row(equal_height=False):
                with gr.Column():
                    with gr.Tab("Draw"):
                        self.sketch = sketch_pad("sketchpad")
                        self.sketch_btn = gr.Button("Score drawing", elem_id="score-sketch-btn")
                    with gr.Tab("Upload"):
                        self.image = SafeImage(label="Any image", type="pil", sources=["upload"],
                                               elem_id="score-upload")
                        self.image_btn = gr.Button("Score image", elem_id="score-image-btn")
                    self.label = gr.Dropdown([str(i) for i in range(10)], value="0",
                                             label="Class", elem_id="disc-class",
                                             info="Conditional models only: the class D judges "
                                             "the image against.")
                    self.score_note = gr.Markdown("", elem_id="score-note",
                                                  elem_classes=["gp-notice"])
                with gr.Column():
                    self.score = gr.Label(label="D's verdict", num_top_classes=2,
                                          elem_id="score-label")
                    self.conversion = gr.Markdown("Draw or upload an image, then score it.",
                                                  elem_id="score-conversion")
                    gr.Markdown("**Saliency**: where D looks (red = where a small change would "
                                "move its verdict most), over what D saw")
                    self.saliency = gr.Image(type="pil", format="png", interactive=False,
                                             show_label=False, elem_id="saliency")
        gr.Markdown(text.DISCRIMINATOR_HELP, latex_delimiters=text.LATEX)
        self.slots.field("label", self.label, self.label.info)
        self.slots.field("count", self.count, self.count.info)
        for name, notice in (("report", self.report_note), ("score", self.score_note),
                             ("upload", self.upload_note)):
            self.slots.notice(name, notice)
        self._wire()

    def _wire(self) -> None:
        ctx, state = self.ctx, self.state

        @on_errors("report")
        def report(state: Any, model: str, count: float, request: gr.Request):
            session = ctx.session(state, request)
            if isinstance(count, bool) or not isinstance(count, (int, float)) or not (
                    math.isfinite(count) and float(count).is_integer() and count >= 2):
                raise SettingError("count", f"Samples to score: {count!r:.40} must be a whole "
                                   "number, 2 or more")
            n = int(count)
            ctx.limits.check_images(n, "samples")
            with model_choice.use_model(ctx, session, model) as trainer:
                rep, real, fake = _report(trainer, n)
                picture = fakes = reals = None
                if trainer.is_2d:
                    pack = int(getattr(trainer.D, "pack", 1))
                    m = len(fake) - len(fake) % pack
                    z = latents(range(m), trainer.config.model.z_dim,
                                noise=trainer.config.model.noise).to(trainer.device)
                    view = ViewJob(trainer.step_count, trainer.sampler(), trainer.D, z, None,
                                   real_points(trainer), view_lim(trainer),
                                   trainer.config.train.loss).run()
                    picture = plots.draw_view(view, real.numpy(),
                                              ("heatmap", "real", "fake"))
            hist = charts.histogram_chart(
                rep.hist_edges, {"real": (rep.hist_real, REAL_COLOUR),
                                 "fake": (rep.hist_fake, FAKE_COLOUR)},
                "D's scores: reals vs fakes", x_title="D(x); dashed: the 0.5 threshold",
                threshold=0.5)
            if picture is None:
                fakes = labelled_grid(fake[rep.convincing_fakes],
                                      [f"D {s:.3f}" for s in rep.convincing_fake_scores],
                                      nrow=4, scale=3)
                reals = labelled_grid(real[rep.unconvincing_reals],
                                      [f"D {s:.3f}" for s in rep.unconvincing_real_scores],
                                      nrow=4, scale=3)
            which = model_choice.describe(session, model)
            stats = stats_text(rep) + (f"\n\n*Model: {which}.*" if which else "")
            return session, hist, stats, picture, fakes, reals

        def score_with(get_image, notice: str):
            @on_errors(notice)
            def score(state: Any, model: str, value: Any = None, label: str = "0",
                      request: gr.Request = None):
                session = ctx.session(state, request)
                image = get_image(value)
                with model_choice.use_model(ctx, session, model) as trainer:
                    if trainer.is_2d:
                        raise error("This is a 2D model: it scores points, not images. Press "
                                    "'Score reals and fakes' to see its decision map.")
                    cls = int(label) if trainer.config.model.conditional else None
                    if cls is not None and not 0 <= cls < trainer.num_classes:
                        raise error(f"class {cls} is out of range for this model")
                    value_, heat, x = _score(trainer, image, cls)
                    note = conversion_note(image, trainer.data_shape)
                shown = plots.overlay(tensor_to_pil(x[0]), heat)
                words = verdict_text(value_) + (f"  \n{note}" if note else "")
                return session, {"looks real": value_, "looks fake": 1.0 - value_}, shown, words
            return score

        def uploaded_image(value: Any) -> Image.Image:
            if value is None:
                raise error("Upload an image first.")
            if isinstance(value, BadImage):
                raise gr.Error(value.message, print_exception=False)
            return value

        @on_errors("upload")
        def upload(state: Any, file: Any = None, request: gr.Request = None):
            session = ctx.session(state, request)
            note = model_choice.upload(ctx, session, file)
            return session, note, model_choice.UPLOADED

        def model_changed() -> tuple:
            # What the previous model said is not what this one says: clear it.
            return (None, "Draw or upload an image, then score it.", None,
                    "Press **Score reals and fakes** to see how D judges real and generated "
                    "samples.", None, gr.Image(None, visible=False), None, None)

        wire = self.slots.wire
        self.slots.clear_on(self.report_btn.click, self.image_btn.click, self.sketch_btn.click,
                            self.upload.upload)
        wire(self.report_btn.click(report, inputs=[state, self.model, self.count],
                                   outputs=[state, self.hist, self.stats, self.map, self.fakes,
                                            self.reals],
                                   api_name="discriminator_report", concurrency_id=QUICK,
                                   **QUIET)
             ).success(show_what_applies, inputs=[self.map],
                       outputs=[self.map, self.fakes, self.reals], api_visibility="private",
                       queue=False, **QUIET)
        score_outputs = [state, self.score, self.saliency, self.conversion]
        wire(self.image_btn.click(score_with(uploaded_image, "score"),
                                  inputs=[state, self.model, self.image, self.label],
                                  outputs=score_outputs, api_name="score_image",
                                  concurrency_id=QUICK, **QUIET))
        wire(self.sketch_btn.click(score_with(sketch_image, "score"),
                                   inputs=[state, self.model, self.sketch, self.label],
                                   outputs=score_outputs, api_name="score_sketch",
                                   concurrency_id=QUICK, **QUIET))
        wire(self.upload.upload(upload, inputs=[state, self.upload],
                                outputs=[state, self.upload_note, self.model],
                                api_visibility="undocumented", concurrency_id=QUICK, **QUIET))
        self.model.change(model_changed, inputs=None,
                          outputs=[self.score, self.conversion, self.saliency, self.stats,
                                   self.hist, self.map, self.fakes, self.reals],
                          api_visibility="private", queue=False, **QUIET)
