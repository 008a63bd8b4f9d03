"""Small builders shared by the tests: tiny configs that train in milliseconds."""
from __future__ import annotations

from playground.config import RunConfig
from playground.presets import get_preset


def tiny(preset: str = "ring8", **changes) -> RunConfig:
    """A preset shrunk to test size (small batch and widths), with extra field changes."""
    config = get_preset(preset)
    pack = config.model.pack
    small = {"batch_size": 8 * pack, "g_width": 16, "d_width": 16, "steps": 10}
    if config.model.arch == "dcgan":
        small.update(g_width=8, d_width=8)
    small.update(changes)
    return config.replace(**small)
