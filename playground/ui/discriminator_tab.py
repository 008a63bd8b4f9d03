"""The Discriminator tab: how D scores reals and fakes, and what it looks at in one image.

The report scores held-out real samples and the fakes of seeds 0..n-1 (so it is reproducible):
overlaid histograms, accuracy, ROC AUC and galleries. Any image (drawn or uploaded) gets its score
and a saliency map; 2D models show D's decision map with real and generated points instead.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageChops, ImageOps

from .. import charts, plots
from ..images import image_to_tensor, tensor_to_pil
from ..judge import discriminator_report, saliency, score_image
from ..sample import generate, latents
from ..train import Trainer
from . import model_choice, text
from .common import QUICK, AppContext, error, gpu, user_errors
from .safe_inputs import SafeImage, SafeSketchpad

GALLERY_K = 8
REAL_COLOUR, FAKE_COLOUR = "#16803d", "#7e22ce"  # green = real, purple = generated, everywhere
HIST_BINS = 20


def sketch_to_image(value: Any) -> Image.Image:
    """A Sketchpad value (dark ink on a transparent canvas) as a white-on-black 'L' image.

    MNIST digits are white strokes on black, so ink becomes bright: intensity = opacity x
    darkness of the ink.
    """
    composite = value.get("composite") if isinstance(value, dict) else value
    if composite is None:
        raise error("Draw something on the sketchpad first.")
    img = composite if isinstance(composite, Image.Image) else Image.fromarray(np.asarray(composite))
    rgba = img.convert("RGBA")
    ink = ImageChops.multiply(rgba.getchannel("A"), ImageOps.invert(rgba.convert("L")))
    if ink.getbbox() is None:
        raise error("The sketchpad is empty: draw a digit first.")
    return ink


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
                    device=trainer.device)
    y_fake_t = None if y_fake is None else torch.tensor(y_fake)
    report = discriminator_report(trainer.D, real, fake, y_real, y_fake_t, k=GALLERY_K,
                                  bins=HIST_BINS)
    return report, real.cpu(), fake


@gpu(duration=20)
def _score(trainer: Trainer, image: Image.Image, label: int | None):
    x = image_to_tensor(image, trainer.data_shape).to(trainer.device)
    return score_image(trainer.D, x, label), saliency(trainer.D, x, label), x.cpu()


class DiscriminatorTab:
    def __init__(self, ctx: AppContext, state: gr.State):
        self.ctx, self.state = ctx, state
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                self.model = model_choice.dropdown(ctx, "disc-model")
                self.upload = gr.File(label="Upload a checkpoint (.safetensors)",
                                      file_types=[".safetensors"], height=140)
                self.upload_note = gr.Markdown("", label="Upload")
                self.count = gr.Slider(16, ctx.limits.max_images,
                                       value=min(200, ctx.limits.max_images), step=1,
                                       label="Samples to score",
                                       info="How many held-out reals, and as many fakes.")
                self.report_btn = gr.Button("Score reals and fakes", variant="primary",
                                            elem_id="report-btn")
                self.stats = gr.Markdown("", label="Accuracy and ROC AUC", elem_id="report-stats")
            with gr.Column(scale=2, min_width=480):
                self.hist = gr.Image(label="Histogram of D's scores", type="pil",
                                     format="png", interactive=False, show_label=False,
                                     elem_id="report-hist", buttons=["download", "fullscreen"])
                self.map = gr.Image(label="D's decision map (2D models)", type="pil",
                                    format="png", interactive=False, visible=False,
                                    elem_id="report-map")
                self.fakes = gr.Gallery(label="Most convincing fakes (D's score)",
                                        columns=6, height=300, object_fit="contain",
                                        elem_id="gallery-fakes")
                self.reals = gr.Gallery(label="Least convincing reals (D's score)",
                                        columns=6, height=300, object_fit="contain",
                                        elem_id="gallery-reals")
        with gr.Accordion("Score your own image", open=True):
            with gr.Row(equal_height=False):
                with gr.Column():
                    with gr.Tab("Draw"):
                        self.sketch = SafeSketchpad(
                            label="Draw a digit", type="pil", canvas_size=(280, 280),
                            brush=gr.Brush(colors=["#000000"], color_mode="fixed",
                                           default_size=12),
                            elem_id="sketchpad")
                        self.sketch_btn = gr.Button("Score drawing", elem_id="score-sketch-btn")
                    with gr.Tab("Upload"):
                        self.image = SafeImage(label="Any image", type="pil", sources=["upload"],
                                              elem_id="score-upload")
                        self.image_btn = gr.Button("Score image", elem_id="score-image-btn")
                    self.label = gr.Dropdown([str(i) for i in range(10)], value="0",
                                             label="Class",
                                             info="Conditional models only: the class D judges "
                                             "the image against.")
                with gr.Column():
                    self.score = gr.Label(label="D's verdict", num_top_classes=2,
                                          elem_id="score-label")
                    self.saliency = gr.Image(label="Saliency: where D looks (red)", type="pil",
                                             format="png", interactive=False,
                                             elem_id="saliency")
        gr.Markdown(text.DISCRIMINATOR_HELP, latex_delimiters=text.LATEX)
        self._wire()

    def _wire(self) -> None:
        ctx, state = self.ctx, self.state

        @user_errors
        def report(state: Any, model: str, count: float, request: gr.Request):
            session = ctx.session(state, request)
            n = int(count)
            ctx.limits.check_images(n, "samples")
            with model_choice.use_model(ctx, session, model) as trainer:
                rep, real, fake = _report(trainer, n)
                picture = None
                if trainer.is_2d:
                    pack = int(getattr(trainer.D, "pack", 1))
                    m = len(fake) - len(fake) % pack
                    z = latents(range(m), trainer.config.model.z_dim).to(trainer.device)
                    picture = plots.layered_view(trainer.sampler(), trainer.D, z, real,
                                                 plots.view_lim(trainer), trainer.config.train.loss,
                                                 ("heatmap", "real", "fake"))
            hist = charts.histogram_chart(
                rep.hist_edges, {"real": (rep.hist_real, REAL_COLOUR),
                                 "fake": (rep.hist_fake, FAKE_COLOUR)},
                "D's scores: reals vs fakes", x_title="D(x), dashed: the 0.5 threshold",
                threshold=0.5)
            stats = (f"**Accuracy** at 0.5: {rep.accuracy:.1%} · **ROC AUC**: {rep.auc:.3f}  \n"
                     f"Mean D(x) of reals {rep.real.mean():.3f}, of fakes {rep.fake.mean():.3f} "
                     f"({len(rep.real)} of each).")
            fakes = reals = None
            if picture is None:
                fakes = [(plots.enlarge(tensor_to_pil(fake[i]), 112), f"{s:.3f}")
                         for i, s in zip(rep.convincing_fakes, rep.convincing_fake_scores)]
                reals = [(plots.enlarge(tensor_to_pil(real[i]), 112), f"{s:.3f}")
                         for i, s in zip(rep.unconvincing_reals, rep.unconvincing_real_scores)]
            return session, hist, stats, picture, fakes, reals

        def show_what_applies(picture: Any):
            # 2D models: the decision map; image models: the galleries.
            is_2d = picture is not None
            return gr.Image(visible=is_2d), gr.Gallery(visible=not is_2d), \
                gr.Gallery(visible=not is_2d)

        def score_with(get_image):
            @user_errors
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
                shown = plots.overlay(tensor_to_pil(x[0]), heat)
                return session, {"looks real": value_, "looks fake": 1.0 - value_}, shown
            return score

        def uploaded_image(value: Any) -> Image.Image:
            if value is None:
                raise error("Upload an image first.")
            return value

        @user_errors
        def upload(state: Any, file: Any = None, request: gr.Request = None):
            session = ctx.session(state, request)
            note = model_choice.upload(ctx, session, file)
            return session, note, model_choice.UPLOADED

        self.report_btn.click(report, inputs=[state, self.model, self.count],
                              outputs=[state, self.hist, self.stats, self.map, self.fakes,
                                       self.reals],
                              api_name="discriminator_report", concurrency_id=QUICK
                              ).then(show_what_applies, inputs=[self.map],
                                     outputs=[self.map, self.fakes, self.reals],
                                     api_visibility="private", queue=False)
        score_outputs = [state, self.score, self.saliency]
        self.image_btn.click(score_with(uploaded_image),
                             inputs=[state, self.model, self.image, self.label],
                             outputs=score_outputs, api_name="score_image", concurrency_id=QUICK)
        self.sketch_btn.click(score_with(sketch_to_image),
                              inputs=[state, self.model, self.sketch, self.label],
                              outputs=score_outputs, api_name="score_sketch",
                              concurrency_id=QUICK)
        self.upload.upload(upload, inputs=[state, self.upload],
                           outputs=[state, self.upload_note, self.model],
                           api_visibility="undocumented", concurrency_id=QUICK)
