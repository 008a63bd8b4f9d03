"""A drawing pad (a `gr.HTML` component with `js/sketch.js`) whose brush is active on load.

Gradio's own Sketchpad needs its brush tool picked first (a drag selects the placeholder text),
and it sends every layer of a full image editor. This pad draws white ink on black at once and
its value is one small PNG as a data URL; `sketch_image` checks and opens it (size, pixel count,
format) with the project's safe opener before anything decodes it.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from ..images import ImageError, image_size, open_image
from .errors import error

PREFIX = "data:image/png;base64,"
MAX_BYTES = 1_000_000  # a 280 x 280 drawing is a few kilobytes
MAX_SIDE = 1024
TEMPLATE = """
<div class="gp-sketch-host" data-strokes="0">
  <canvas class="gp-sketch" width="280" height="280" aria-label="Drawing pad"></canvas>
  <div><button type="button" class="gp-sketch-clear">Clear</button>
  <span class="gp-sketch-hint">Draw a digit with the mouse (or a finger): white on black, as
  MNIST's digits are.</span></div>
</div>
"""


def sketch_pad(elem_id: str) -> gr.HTML:
    js = (Path(__file__).parent / "js" / "sketch.js").read_text()
    return gr.HTML("", html_template=TEMPLATE, js_on_load=js, elem_id=elem_id,
                   apply_default_css=False)


def _unreadable(e: Exception) -> Exception:
    message = str(e) if isinstance(e, ImageError) else "it is not valid base64"
    return error(f"The drawing could not be read: {message}")


def sketch_image(value: Any) -> Image.Image:
    """The drawing as an 'L' image (white ink on black); a clear gr.Error for anything else."""
    if not value:
        raise error("Draw something on the pad first.")
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise error("A drawing must be a PNG image sent as a data: URL (as the page's pad "
                    "sends it).")
    if len(value) > MAX_BYTES * 4 // 3 + len(PREFIX) + 4:
        raise error(f"The drawing is over {MAX_BYTES // 1000:,} KB: a drawing pad's picture is "
                    "far smaller.")
    try:
        data = base64.b64decode(value[len(PREFIX):], validate=True)
        width, height = image_size(data)  # from the header: refused before it is decoded
    except (binascii.Error, ValueError) as e:
        raise _unreadable(e) from None
    if max(width, height) > MAX_SIDE:
        raise error(f"The drawing is {width}x{height} pixels; a drawing is at most "
                    f"{MAX_SIDE}x{MAX_SIDE}.")
    try:
        img = open_image(data)
    except ValueError as e:
        raise _unreadable(e) from None
    ink = img.convert("L")
    if ink.getbbox() is None:
        raise error("The pad is empty: draw a digit first.")
    return ink
