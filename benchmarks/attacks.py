"""The hostile requests that once grew the server by gigabytes, as files and API calls.

Each `Attack` is one request a visitor could send (the bounded-server issue's list), run against a
live app through its public API: `run(url, folder)` makes its files in `folder`, sends it from a
fresh session and returns `(refused, message)`. `benchmarks/reliability.py` replays them all and
measures the app's memory around each; `tests/test_budgets.py` checks every refusal's sentence.
Nothing here knows the app's code: only what a stranger on the network could send.
"""
from __future__ import annotations

import base64
import functools
import io
import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from playground.checkpoint import save_checkpoint
from playground.presets import get_preset
from playground.train import Trainer


# ------------------------------------------------------------------------ files
def checkpoint(folder: Path, preset: str = "ring8", name: str = "", **changes: Any) -> Path:
    """A small, genuine checkpoint of `preset` (a few steps trained), to be tampered with."""
    trainer = Trainer(get_preset(preset).replace(device="cpu", **changes))
    trainer.step(2)
    return save_checkpoint(trainer, folder / f"{name or preset}.safetensors")


def read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
    return load_file(path), header["__metadata__"]


def tampered(src: Path, dest: Path, tensors: dict[str, torch.Tensor] | None = None,
             **meta: Any) -> Path:
    """`src` with some tensors replaced and some metadata fields rewritten (values as given,
    JSON-encoded unless they are strings already)."""
    old, old_meta = read(src)
    new_meta = {**old_meta, **{k: v if isinstance(v, str) else json.dumps(v)
                               for k, v in meta.items()}}
    save_file({**old, **(tensors or {})}, dest, metadata=new_meta)
    return dest


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def tiny_png_zip(path: Path, count: int, side: int = 8) -> Path:
    """`count` PNGs of side x side pixels: a small zip whose images, resized, decode to a lot."""
    data = png_bytes(Image.new("L", (side, side), 128))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            z.writestr(f"img{i:05d}.png", data)
    return path


@functools.lru_cache(maxsize=4)  # made once: a flood of them must cost the server, not us
def drawing_data_url(side: int) -> str:
    """A PNG data URL of a side x side 1-bit picture: a few KB, `side`² pixels once decoded."""
    img = Image.new("1", (side, side), 0)
    img.paste(1, (side // 3, side // 3, side // 2, side // 2))
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode()


# ------------------------------------------------------------------------ calls
# Headers sent with every request below: the reliability benchmark sets X-Forwarded-For here, so
# that the app (which believes it from 127.0.0.1, through uvicorn) sees the flood as one visitor
# and the visitors it measures as others.
HEADERS: dict[str, str] = {}


def app_error(url: str, api_name: str, data: list[Any], session: str = "",
              timeout: float = 120) -> tuple[bool, str, list[Any]]:
    """POST a call as raw JSON (NaN and deep nesting included, as any script may send) and
    read its event stream: (refused, the error message or "", the last data sent back)."""
    import secrets

    call = f"{url.rstrip('/')}/gradio_api/call/{api_name.lstrip('/')}"
    body = json.dumps({"data": data, "session_hash": session or secrets.token_hex(8)})
    return raw_call(call, body, timeout)


def raw_call(call: str, body: str, timeout: float = 120) -> tuple[bool, str, list[Any]]:
    r = httpx.post(call, content=body, headers={"Content-Type": "application/json", **HEADERS},
                   timeout=timeout)
    if r.status_code != 200:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        return True, f"HTTP {r.status_code}: {str(detail)[:300]}", []
    event = r.json()["event_id"]
    last: list[Any] = []
    with httpx.stream("GET", f"{call}/{event}", timeout=timeout, headers=HEADERS) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                payload = json.loads(line.removeprefix("data: "))
                if kind == "error":
                    message = payload.get("error") if isinstance(payload, dict) else payload
                    return True, str(message or ""), last
                if isinstance(payload, list):
                    last = payload
    return False, "", last


def upload(url: str, path: Path) -> dict[str, Any]:
    """Upload a file as the page does; the FileData that names it on the server."""
    with open(path, "rb") as f:
        r = httpx.post(f"{url.rstrip('/')}/gradio_api/upload",
                       files={"files": (path.name, f)}, timeout=120, headers=HEADERS)
    r.raise_for_status()
    return {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": path.name}


def params(url: str, api_name: str) -> list[str]:
    return [p["parameter_name"] for p in _info(url)["named_endpoints"][api_name]["parameters"]]


@functools.lru_cache(maxsize=8)
def _info(url: str) -> dict[str, Any]:
    return httpx.get(f"{url.rstrip('/')}/gradio_api/info", timeout=30, headers=HEADERS).json()


def digits_model(url: str) -> str:
    """A bundled digits model of this app (the tests' tiny one, else the real one)."""
    first = _info(url)["named_endpoints"]["/score_sketch"]["parameters"][0]
    choices = first["type"].get("enum", [])
    return next(m for m in ("tiny-mnist", "mnist-mlp", *choices) if m in choices)


def call_with(url: str, api_name: str, values: dict[str, Any], session: str = "",
              timeout: float = 120) -> tuple[bool, str, list[Any]]:
    """A call whose parameters are given by name (the rest left to their defaults: None)."""
    return app_error(url, api_name, [values.get(p) for p in params(url, api_name)], session,
                     timeout)


# ------------------------------------------------------------------------ the attacks
@dataclass
class Attack:
    name: str
    item: int  # the numbered item
    what: str  # one line, for the report
    pattern: str  # what the refusal must say (a regular expression)
    send: Callable[[str, Path], tuple[bool, str]]


def _load(url: str, path: Path, api: str = "/load_checkpoint") -> tuple[bool, str]:
    key = "checkpoint" if api == "/load_checkpoint" else "file"
    refused, message, _ = call_with(url, api, {key: upload(url, path)})
    return refused, message


def _noise_rows(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "mnist-mlp", "mlp-z1", z_dim=1, g_width=8, d_width=8)
    bad = tampered(src, folder / "noise-rows.safetensors", {"fixed_noise": torch.zeros(60_000, 1)})
    return _load(url, bad)


def _noise_width(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    tensors, _ = read(src)
    rows, width = tensors["fixed_noise"].shape
    bad = tampered(src, folder / "noise-width.safetensors",
                   {"fixed_noise": torch.zeros(rows, width + 1)})
    return _load(url, bad)


def _noise_dtype(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    tensors, _ = read(src)
    bad = tampered(src, folder / "noise-dtype.safetensors",
                   {"fixed_noise": tensors["fixed_noise"].double()})
    return _load(url, bad)


def _big_images(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "mnist-dcgan", "dcgan-w1", g_width=1, d_width=1, batch_size=8)
    bad = tampered(src, folder / "dcgan-512.safetensors", data_shape=[1, 512, 512])
    return _load(url, bad, "/upload_checkpoint")


def _decoded_zip(url: str, folder: Path) -> tuple[bool, str]:
    zip_path = tiny_png_zip(folder / "tiny-pngs.zip", 10_000)
    fields = {"images_zip": upload(url, zip_path), "dataset": "images", "image_size": 128,
              "channels": 3, "arch": "mlp", "steps": 100, "batch_size": 16,
              "g_width": 16, "d_width": 16}
    defaults = _preset_fields("ring8")
    refused, message, _ = call_with(url, "/train", {**defaults, **fields}, timeout=300)
    return refused, message


def _preset_fields(preset: str) -> dict[str, Any]:
    config = get_preset(preset).replace(device="cpu")
    return {k: v for group in config.to_dict().values() for k, v in group.items()
            if k not in ("path", "data_root", "download")}


def _negative_step(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    return _load(url, tampered(src, folder / "negative-step.safetensors", step="-1000000"))


def _step_compute(url: str, folder: Path) -> tuple[bool, str]:
    settings = {"g_width": 256, "d_width": 512, "batch_size": 512, "d_steps": 100}
    refused, message, _ = call_with(url, "/new_run", {"preset": "mnist-dcgan",
                                                      "settings": settings})
    return refused, message


def _sketch(url: str, folder: Path) -> tuple[bool, str]:
    refused, message, _ = call_with(url, "/score_sketch", {"model": digits_model(url),
                                                           "value": drawing_data_url(6000),
                                                           "label": "0"})
    return refused, message


def _nan_weights(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    tensors, _ = read(src)
    key = next(k for k in tensors if k.startswith("G.") and k.endswith("weight"))
    poisoned = tensors[key].clone()
    poisoned[0, 0] = float("nan")
    return _load(url, tampered(src, folder / "nan.safetensors", {key: poisoned}))


def _deep_json(depth: int):
    def send(url: str, folder: Path) -> tuple[bool, str]:
        settings = '{"g_width": ' + "[" * depth + "]" * depth + "}"
        body = '{"data": ["ring8", ' + settings + '], "session_hash": "deepjson0000"}'
        refused, message, _ = raw_call(f"{url.rstrip('/')}/gradio_api/call/new_run", body)
        return refused, message
    return send


def _rng_dtype(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    tensors, _ = read(src)
    return _load(url, tampered(src, folder / "rng-f32.safetensors",
                               {"rng.data": tensors["rng.data"].float()}))


def _nan_number(api: str, values: dict[str, Any], needs_run: bool = False):
    """`api` called with `values` on top of what the page sends (ring8's settings, the digits
    model, defaults), from a session with a ring8 run when `needs_run`."""
    def send(url: str, folder: Path) -> tuple[bool, str]:
        import secrets

        session = secrets.token_hex(8)
        if needs_run:
            app_error(url, "/new_run", ["ring8", {"g_width": 16, "d_width": 16}], session)
        page = {**_preset_fields("ring8"), "model": digits_model(url), "seed_a": 0,
                "seed_b": 1, "frames": 8, "mode": "slerp", "truncation": 1.0,
                "label": "cycle", "count": 16, "every": 1000}
        refused, message, _ = call_with(url, api, {**page, **values}, session)
        return refused, message
    return send


def _empty_settings(url: str, folder: Path) -> tuple[bool, str]:
    refused, message, _ = call_with(url, "/new_run", {"preset": "ring8",
                                                      "settings": {"data": []}})
    return refused, message


def _huge_number(url: str, folder: Path) -> tuple[bool, str]:
    refused, message, _ = call_with(url, "/new_run", {"preset": "ring8",
                                                      "settings": {"steps": 10 ** 308}})
    return refused, message


def _html_changes(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    marks = [[1, {"loss": "<img src=x onerror=alert(1)> **bold**"}]]
    return _load(url, tampered(src, folder / "html-changes.safetensors", changes=marks))


def _history_types(url: str, folder: Path) -> tuple[bool, str]:
    src = checkpoint(folder, "ring8", g_width=16, d_width=16)
    _, meta = read(src)
    history = json.loads(meta["history"])
    history[0]["loss_d"] = "a string"
    return _load(url, tampered(src, folder / "history.safetensors", history=history))


def _uploads(count: int, mb: int):
    def send(url: str, folder: Path) -> tuple[bool, str]:
        path = folder / f"upload-{mb}mb.bin"
        with open(path, "wb") as f:
            f.truncate(mb * 2**20)  # a sparse file: no disk used here
        statuses = []
        for _ in range(count):
            with open(path, "rb") as f:
                r = httpx.post(f"{url.rstrip('/')}/gradio_api/upload",
                               files={"files": (path.name, f)}, timeout=120, headers=HEADERS)
            statuses.append(r.status_code)
            if r.status_code != 200:
                try:
                    detail = r.json().get("detail", "")
                except ValueError:
                    detail = r.text[:200]
                return True, f"upload {len(statuses)} of {count}: HTTP {r.status_code}: {detail}"
        return False, f"all {count} uploads accepted"
    return send


def attacks(upload_count: int = 5, upload_mb: int = 49) -> list[Attack]:
    """Every attack, in the issue's order. The upload flood sends `upload_count` files of
    `upload_mb` MB (the issue's 5 x 49 MB; a test server with smaller limits sends less)."""
    number = r"must be a (whole )?number|is out of range"
    return [
        Attack("noise-rows", 1, "fixed_noise of 60,000 rows (mnist-mlp, z_dim 1)",
               r"tensor fixed_noise has shape \(60000, 1\), the model needs", _noise_rows),
        Attack("noise-width", 1, "fixed_noise one column too wide",
               r"tensor fixed_noise has shape .*the model needs", _noise_width),
        Attack("noise-dtype", 1, "fixed_noise as float64",
               r"tensor fixed_noise has dtype F64, the model needs F32", _noise_dtype),
        Attack("big-data-shape", 2, "a width-1 DCGAN for 1x512x512 images (Sample tab)",
               r"unsupported data shape \(1, 512, 512\)", _big_images),
        Attack("decoded-zip", 3, "10,000 PNGs of 8x8 trained at 128x128x3",
               r"more images than fit in [0-9,]+ MB once decoded at 3x128x128.*GP_MAX_DATA_MB",
               _decoded_zip),
        Attack("negative-step", 5, 'checkpoint metadata "step": "-1000000"',
               r"step=-1,000,000 is out of range", _negative_step),
        Attack("step-compute", 6, "mnist-dcgan, widths 256/512, batch 512, 100 D steps",
               r"GFLOP.*GP_MAX_STEP_GFLOP", _step_compute),
        Attack("sketch-36mp", 7, "a drawing of 6000x6000 pixels (36 megapixels)",
               r"The drawing is 6000x6000 pixels", _sketch),
        Attack("nan-weights", 8, "a NaN in G's weights",
               r"holds NaN or infinite values in G\.", _nan_weights),
        Attack("deep-json", 9, "a setting nested 50,000 lists deep",
               r"HTTP 400: There was an error parsing the body", _deep_json(50_000)),
        Attack("deep-json-900", 9, "a setting nested 900 lists deep (parses as JSON)",
               r"G width: g_width=\[\[\[.*must be a whole number", _deep_json(900)),
        Attack("rng-f32", 9, "the data generator's state as float32",
               r"tensor rng\.data has dtype F32, the model needs U8", _rng_dtype),
        Attack("edit-nan", 9, "/edit with g_lr NaN",
               r"G learning rate: g_lr=nan is out of range",
               _nan_number("/edit", {"g_lr": float("nan")}, needs_run=True)),
        Attack("edit-string", 9, "/edit with batch_size 'many'",
               r"batch_size='many' must be a whole number",
               _nan_number("/edit", {"batch_size": "many"}, needs_run=True)),
        Attack("measure-every-nan", 9, "/measure_every NaN", number,
               _nan_number("/measure_every", {"every": float("nan")}, needs_run=True)),
        Attack("interpolate-nan", 9, "/interpolate with frames NaN", number,
               _nan_number("/interpolate", {"frames": float("nan")})),
        Attack("random-seeds-string", 9, "/random_seeds with count 'x'", number,
               _nan_number("/random_seeds", {"count": "x"})),
        Attack("empty-settings", 9, '/new_run with {"data": []}',
               r"settings .*data.* (must be|is not)|unknown config field", _empty_settings),
        Attack("huge-number", 9, "/new_run with steps 10**308",
               r"steps=1e\+308 is over this server's limit", _huge_number),
        Attack("html-changes", 10, "live-edit marks holding HTML",
               r"a marked change is bad: .*loss='&lt;img src=x onerror=alert\(1\)&gt;",
               _html_changes),
        Attack("history-types", 10, "a history record with a string loss",
               r"history record's loss_d is not a valid float", _history_types),
        Attack("upload-flood", 11, f"{upload_count} uploads of {upload_mb} MB, back to back",
               r"HTTP 429: Uploads over this server's limit.*GP_UPLOAD_MB",
               _uploads(upload_count, upload_mb)),
    ]
