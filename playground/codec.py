"""A frame's numbers, quantised and packed: 16-bit point coordinates, 8-bit scores, pixels and
arrows, each array sent as little-endian base64 (deflated when large). `frames.py` and
`layers.py` build frames from these; `plots.py` reads them back. No gradio.
"""
from __future__ import annotations

import base64
import math
import zlib
from typing import Any

import numpy as np
import torch

MOVE_UNIT = 64  # a typical (95th-percentile) arrow is this long in the 8-bit arrow vectors
# Payloads of at least this many bytes are deflated before base64 (a digit grid). A 2D view's
# arrays (under 2 KB each) are not: HTTP Brotli compresses the frame anyway, and inflating each in
# the page (a DecompressionStream) cost more frames a second than it saved bytes.
DEFLATE_FROM = 4096


def points_to_u16(points: np.ndarray, lim: float) -> np.ndarray:
    """(N, 2) data coordinates -> uint16 over [-2 lim, 2 lim] (clipped beyond)."""
    unit = (np.asarray(points, dtype=np.float64) / (4.0 * lim) + 0.5) * 65535.0
    return np.clip(np.rint(unit), 0, 65535).astype(np.uint16)


def u16_to_points(q: np.ndarray, lim: float) -> np.ndarray:
    """Inverse of `points_to_u16` (to within 4 lim / 65535)."""
    return (np.asarray(q, dtype=np.float64) / 65535.0 - 0.5) * 4.0 * lim


def unit_to_u8(values: np.ndarray) -> np.ndarray:
    """Scores in [0, 1] -> uint8 0..255."""
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def images_to_u8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> uint8 0..255 (black = -1)."""
    x = (images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    return (x + 0.5).to(torch.uint8).numpy()


def moves_to_i8(moves: np.ndarray) -> tuple[np.ndarray, float]:
    """(N, 2) moves -> int8 vectors with a typical move MOVE_UNIT long, and the unit's size."""
    moves = np.asarray(moves, dtype=np.float64).reshape(-1, 2)
    lengths = np.linalg.norm(moves, axis=1)
    typical = float(np.percentile(lengths, 95)) if len(lengths) else 0.0
    if not math.isfinite(typical) or typical <= 0:
        return np.zeros(moves.shape, dtype=np.int8), 0.0
    scale = typical / MOVE_UNIT
    return np.clip(np.rint(moves / scale), -127, 127).astype(np.int8), scale


def pack(array: np.ndarray) -> dict[str, Any]:
    """A little-endian array as base64, deflated when large: {"b64", "z", "dtype", "shape"}."""
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    raw = data.tobytes()
    deflate = len(raw) >= DEFLATE_FROM
    if deflate:
        raw = zlib.compress(raw, 1)
    return {"b64": base64.b64encode(raw).decode("ascii"), "z": deflate,
            "dtype": array.dtype.name, "shape": list(array.shape)}


def unpack(packed: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(packed["b64"])
    if packed["z"]:
        raw = zlib.decompress(raw)
    dtype = np.dtype(packed["dtype"]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dtype).reshape(packed["shape"]).astype(packed["dtype"])
