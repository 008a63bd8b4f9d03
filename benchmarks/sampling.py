"""Sampling latency: a 64-image grid from mnist-dcgan, as a core call and through the app's API.

Core: `sample.generate` for seeds 0-63 on the loaded checkpoint, the Sample tab's captioned
grid (`labelled_grid`), and PNG encoding: the same work the tab does, without the server.
End to end: `/sample_grid` through Gradio's HTTP API (POST /gradio_api/call/sample_grid with
model "mnist-dcgan", seeds "0-63", then its event stream), then the grid's PNG fetched: request to
PNG bytes in hand. The two alternate, several rounds; medians. Bar: end-to-end median <= 100 ms.
For reference we also time a few `gradio_client` calls, whose own polling adds to the figure.
"""
from __future__ import annotations

import io
import math
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

import torch

from playground.checkpoint import load_checkpoint
from playground.sample import generate, labelled_grid

from .app_process import api_call

BAR_MS = 100.0
SEEDS = list(range(64))
GRID_PX = 520  # the Sample tab draws its grid about this wide (playground/ui/sample_tab.py)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def core_call(trainer: Any) -> tuple[float, float]:
    """(milliseconds for G on 64 seeds, milliseconds for all of it: G, captioned grid, PNG)."""
    start = time.perf_counter()
    out = generate(trainer.sampler(), SEEDS, trainer.config.model.z_dim, device=trainer.device)
    if out.device.type == "cuda":
        torch.cuda.synchronize()
    g_ms = (time.perf_counter() - start) * 1e3
    nrow = min(8, math.ceil(math.sqrt(len(SEEDS))))
    scale = max(1, min(8, round(GRID_PX / (nrow * out.shape[-1]))))
    picture = labelled_grid(out, [f"seed {s}" for s in SEEDS], nrow=nrow, scale=scale)
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return g_ms, (time.perf_counter() - start) * 1e3


def _url(value: Any, base: str) -> str:
    """The URL of a file output (a FileData dict, or a path on the server)."""
    if isinstance(value, dict):
        if value.get("url"):
            return value["url"]
        value = value.get("path")
    if isinstance(value, str) and value.startswith("http"):
        return value
    return f"{base}gradio_api/file={value}"


def _fetch_png(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        data = r.read()
    if not data.startswith(PNG_MAGIC):
        raise RuntimeError(f"/sample_grid did not give a PNG (got {data[:16]!r})")
    return data


def end_to_end(base_url: str) -> float:
    """Milliseconds from the /sample_grid request to the grid's PNG bytes in hand."""
    start = time.perf_counter()
    outputs = api_call(base_url, "sample_grid", ["mnist-dcgan", "0-63", 1.0, "cycle"])
    picture = next(o for o in outputs if isinstance(o, dict))  # the session state comes first
    _fetch_png(_url(picture, base_url))
    return (time.perf_counter() - start) * 1e3


def with_gradio_client(client: Any, base_url: str) -> float:
    """The same request through `gradio_client` (as in the README), for reference."""
    start = time.perf_counter()
    picture, _png, _info = client.predict(model="mnist-dcgan", seeds="0-63", truncation=1.0,
                                          api_name="/sample_grid")
    _fetch_png(_url(picture, base_url))
    return (time.perf_counter() - start) * 1e3


def measure(base_url: str, checkpoint: Path, *, rounds: int,
            client: Any = None) -> dict[str, Any]:
    trainer = load_checkpoint(checkpoint, device="cpu")
    core_call(trainer), end_to_end(base_url)  # warm-up: loads the model in the app
    g_ms, core_ms, e2e_ms = [], [], []
    for i in range(rounds):
        for side in (("core", "e2e") if i % 2 == 0 else ("e2e", "core")):
            if side == "core":
                g, total = core_call(trainer)
                g_ms.append(g)
                core_ms.append(total)
            else:
                e2e_ms.append(end_to_end(base_url))
    e2e = statistics.median(e2e_ms)
    extra = {}
    if client is not None:
        extra["e2e_gradio_client_ms"] = statistics.median(
            with_gradio_client(client, base_url) for _ in range(max(3, rounds // 4)))
    return {"images": len(SEEDS), "rounds": rounds, **extra,
            "core_generate_ms": statistics.median(g_ms), "core_ms": statistics.median(core_ms),
            "e2e_ms": e2e, "e2e_p90_ms": sorted(e2e_ms)[int(0.9 * (len(e2e_ms) - 1))],
            "bar_ms": BAR_MS, "pass": e2e <= BAR_MS}
