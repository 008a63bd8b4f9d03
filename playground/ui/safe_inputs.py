"""Inputs that check what they are sent themselves: images opened with the project's safe
opener, not Gradio's, and sliders that pass their value on unrounded.

Gradio's own `gr.Image` and `gr.Sketchpad` preprocessing hands every upload to Pillow: a PNG of
a few kilobytes that declares 9000x9000 pixels is decoded in full (hundreds of megabytes) before
the app sees it, and a file that is not an image fails with an opaque "the upstream app raised an
exception". These subclasses open the file with `playground.images.open_image` first (header
pixel cap, full decode of truncated files caught), so every bad image gets one clear sentence.
The browser still draws them as Gradio's own Image and ImageEditor components.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from ..images import ImageError, open_image
from .common import error


def _open(file: Any) -> Image.Image:
    """An uploaded FileData (or raw bytes) opened safely; a gr.Error naming the problem."""
    path = getattr(file, "path", None)
    try:
        if path is None and isinstance(file, (bytes, bytearray, memoryview)):
            return open_image(bytes(file))
        if path is None:
            raise error("The image must be uploaded as a file.")
        with open(path, "rb") as f:  # a file object: the message never shows server paths
            return open_image(f)
    except ImageError as e:
        raise error(str(e)) from None


class RawSlider(gr.Slider):
    """`gr.Slider` that hands its value over as sent: Gradio's own preprocessing rounds it to
    the slider's step (2.5 frames would become 2) and refuses out-of-range values with a message
    that names no control; the tab checks the value itself and names the slider."""

    def preprocess(self, payload: Any) -> Any:
        return payload

    def get_block_name(self) -> str:
        return "slider"

    def get_block_class(self) -> str:
        return "slider"


class BadImage:
    """What a `SafeImage` hands over for a file that is not a usable image: the event raises
    its `message` itself, so the sentence lands next to the control (see errors.py)."""

    def __init__(self, message: str):
        self.message = message


class SafeImage(gr.Image):
    """`gr.Image(type="pil")` whose upload is opened by `open_image` (any mode is kept); a bad
    file becomes a `BadImage` for the event to refuse."""

    def preprocess(self, payload: Any) -> Image.Image | BadImage | None:
        if payload is None:
            return None
        try:
            return _open(payload)
        except gr.Error as e:
            return BadImage(str(e.message))

    def get_block_name(self) -> str:
        return "image"  # the browser's component: Gradio's Image

    def get_block_class(self) -> str:
        return "image"


class SafeSketchpad(gr.Sketchpad):
    """`gr.Sketchpad` whose layers are checked by `open_image` before Gradio decodes them."""

    def convert_and_format_image(self, file: Any, flatten_on_white: bool = False) -> Any:
        if file is not None:
            _open(file)  # raises a clear gr.Error for a bomb, a broken file or a non-image
        return super().convert_and_format_image(file, flatten_on_white)

    def get_block_name(self) -> str:
        return "imageeditor"  # what gr.Sketchpad itself is drawn as

    def get_block_class(self) -> str:
        return "imageeditor"
