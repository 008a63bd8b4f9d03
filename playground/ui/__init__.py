"""The Gradio web app: the only part of GAN Playground that imports gradio.

`build_app()` builds the three tabs (Train, Sample, Discriminator); `launch_options()` gives the
`launch()` arguments. The tabs call the core (playground.*) and never do tensor maths themselves.
"""
from .app import build_app, launch_options
from .limits import Limits, LimitError

__all__ = ["build_app", "launch_options", "Limits", "LimitError"]
