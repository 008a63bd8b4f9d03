"""Bad input, through the running app's API (gradio_client) and through the core directly.

Every case gets one clear sentence naming the problem (never a stack trace or Gradio's stock
"the upstream app raised an exception"), and the app keeps serving afterwards. Uploaded pickles
never run: their payload would create a marker file, which must never appear. Palette, alpha,
16-bit and 1-bit images are not bad input: they must work.
"""
from __future__ import annotations

import base64
import io
import json
import os
import pickle
import random
import struct
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from helpers import tiny
from reliability_app import checkpoints_folder, clear, shared_server

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from playground.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from playground.images import ImageError, image_to_tensor, load_image_folder, open_image
from playground.judge import score_image
from playground.presets import get_preset
from playground.sample import parse_seeds
from playground.train import Trainer
from playground.ui.sketch import PREFIX

NAN, INF = float("nan"), float("inf")


class Payload:
    """Unpickling this creates a file: the proof that a pickle was (wrongly) loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def server():
    return shared_server()


@pytest.fixture(scope="module")
def client(server):
    c = Client(server.url, verbose=False)
    c.predict("ring8", {"steps": 100, "g_width": 16, "d_width": 16}, api_name="/new_run")
    yield c
    c.close()


def refused(client: Client, pattern: str, *args, api_name: str, **kwargs) -> str:
    """Call the endpoint; it must fail with one clear message matching `pattern`."""
    try:
        json.dumps([args, kwargs], allow_nan=False)
    except (ValueError, TypeError):  # NaN/inf: gradio_client will not send them; HTTP will
        message = _raw_call_error(client, api_name, args, kwargs)
    else:
        with pytest.raises(AppError) as info:
            client.predict(*args, api_name=api_name, **kwargs)
        message = str(info.value)
    clear(message, pattern)
    return message


def _raw_call_error(client: Client, api_name: str, args: tuple, kwargs: dict) -> str:
    """POST the call as JSON with NaN/Infinity literals (as any script may); the error message."""
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"][
        api_name]["parameters"]
    data = [p.get("parameter_default") for p in params]
    for i, value in enumerate(args):
        data[i] = value
    for i, p in enumerate(params):
        if p["parameter_name"] in kwargs:
            data[i] = kwargs[p["parameter_name"]]
    url = f"{client.src.rstrip('/')}/gradio_api/call{api_name}"
    body = json.dumps({"data": data, "session_hash": client.session_hash})  # NaN, Infinity
    event = httpx.post(url, content=body, headers={"Content-Type": "application/json"},
                       timeout=30).json()["event_id"]
    with httpx.stream("GET", f"{url}/{event}", timeout=60) as stream:
        lines = list(stream.iter_lines())
    assert "event: error" in lines, f"{api_name} accepted {data}: {lines}"
    payload = json.loads(lines[lines.index("event: error") + 1].removeprefix("data: "))
    return payload["error"]


def still_serving(client: Client) -> None:
    summary = client.predict(2, "both", api_name="/train_steps")
    assert summary["last"]["loss_d"] is not None and not summary["diverged"]


# ---------------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every bad (and every awkward but good) file the tests upload, made once."""
    d = tmp_path_factory.mktemp("bad-files")
    f: dict[str, Path] = {}
    trainer = Trainer(tiny("ring8", device="cpu"))
    trainer.step(2)
    good = save_checkpoint(trainer, d / "good.safetensors")
    f["good"] = good
    raw = good.read_bytes()
    tensors = load_file(good)
    meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]

    f["marker"] = d / "PICKLE-RAN"
    (d / "pickle.safetensors").write_bytes(pickle.dumps({"w": Payload(f["marker"])}))
    f["pickle"] = d / "pickle.safetensors"
    torch.save({"w": Payload(f["marker"])}, d / "torch-save.safetensors")  # zip + pickle
    f["torch-save"] = d / "torch-save.safetensors"
    (d / "random.safetensors").write_bytes(random.Random(0).randbytes(4096))
    f["random"] = d / "random.safetensors"
    (d / "empty.safetensors").write_bytes(b"")
    f["empty"] = d / "empty.safetensors"
    (d / "truncated.safetensors").write_bytes(raw[: len(raw) // 2])
    f["truncated"] = d / "truncated.safetensors"
    (d / "huge-header.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{" * 64)
    f["huge-header"] = d / "huge-header.safetensors"
    save_file(tensors, d / "foreign.safetensors")  # no GAN Playground metadata
    f["foreign"] = d / "foreign.safetensors"
    save_file(tensors, d / "version.safetensors", metadata={**meta, "format_version": "99"})
    f["version"] = d / "version.safetensors"
    # The ring8 tensors under a digits MLP's config: the wrong architecture for the weights.
    digits = json.dumps(get_preset("mnist-mlp").to_dict())
    save_file(tensors, d / "arch.safetensors",
              metadata={**meta, "config": digits, "data_shape": "[1, 28, 28]"})
    f["arch"] = d / "arch.safetensors"
    shapes = dict(tensors)
    key = next(k for k in shapes if k.startswith("G.") and shapes[k].dim() == 2)
    shapes[key] = torch.zeros(shapes[key].shape[0] + 1, shapes[key].shape[1])
    save_file(shapes, d / "shape.safetensors", metadata=meta)
    f["shape"] = d / "shape.safetensors"
    bad_config = json.loads(meta["config"])
    bad_config["train"]["loss"] = "nope"
    save_file(tensors, d / "config.safetensors", metadata={**meta, "config": json.dumps(bad_config)})
    f["config"] = d / "config.safetensors"
    # A header asking for ~190 million weights (width doubling over 6 layers), with no weights.
    big = get_preset("ring8").replace(g_width=512, g_depth=6, d_width=512, d_depth=6)
    save_file({"x": torch.zeros(1)}, d / "giant.safetensors",
              metadata={**meta, "config": json.dumps(big.to_dict())})
    f["giant"] = d / "giant.safetensors"
    (d / "cr\x1b[2Jlf\u202e\u0007.safetensors").write_bytes(b"")  # control chars in the name
    f["control-name"] = d / "cr\x1b[2Jlf\u202e\u0007.safetensors"

    # Images.
    (d / "not-an-image.png").write_bytes(b"this is plain text, not a PNG at all\n" * 10)
    f["not-image"] = d / "not-an-image.png"
    digit = Image.new("L", (28, 28), 0)
    digit.paste(255, (10, 4, 18, 24))
    buf = io.BytesIO()
    digit.save(buf, format="PNG")
    (d / "truncated.png").write_bytes(buf.getvalue()[:-40])
    f["truncated-png"] = d / "truncated.png"
    Image.new("1", (20000, 20000)).save(d / "bomb.png")  # 400 megapixels in ~50 KB
    f["bomb"] = d / "bomb.png"
    Image.new("1", (9000, 9000)).save(d / "big.png")  # 81 megapixels, under Pillow's own cap
    f["big-png"] = d / "big.png"
    digit.convert("P").save(d / "palette.png")
    f["palette"] = d / "palette.png"
    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    rgba.paste((255, 255, 255, 255), (15, 5, 25, 25))
    rgba.save(d / "alpha.png")
    f["alpha"] = d / "alpha.png"
    Image.fromarray((np.asarray(digit, dtype=np.uint16) * 257)).save(d / "sixteen.png")
    f["16-bit"] = d / "sixteen.png"
    digit.convert("1").save(d / "one-bit.png")
    f["1-bit"] = d / "one-bit.png"
    digit.convert("LA").save(d / "gray-alpha.png")
    f["gray-alpha"] = d / "gray-alpha.png"

    # Zips.
    png = buf.getvalue()
    with zipfile.ZipFile(d / "traversal.zip", "w") as z:
        z.writestr("../../escaped.png", png)
        z.writestr("/abs/escaped.png", png)
        z.writestr("ok/digit.png", png)
        info = zipfile.ZipInfo("caf\xe9-cp437.png")  # a non-UTF-8 (cp437) member name
        z.writestr(info, png)
    f["traversal"] = d / "traversal.zip"
    with zipfile.ZipFile(d / "many.zip", "w") as z:
        for i in range(10_001):
            z.writestr(f"f{i:05d}.png", b"")
    f["many"] = d / "many.zip"
    with zipfile.ZipFile(d / "bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("huge.png", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(201):  # 201 MB declared, ~200 KB on disk
                member.write(chunk)
    f["zip-bomb"] = d / "bomb.zip"
    with zipfile.ZipFile(d / "no-images.zip", "w") as z:
        z.writestr("readme.txt", "no pictures here")
        z.writestr("data.csv", "a,b\n1,2\n")
    f["no-images"] = d / "no-images.zip"
    (d / "not-a-zip.zip").write_bytes(b"PK\x03\x04 but not really a zip")
    f["not-zip"] = d / "not-a-zip.zip"
    return f


# ---------------------------------------------------------------------------------- hyperparameters
HYPER = [  # (config changes, what the message must say)
    ({"g_lr": 0}, r"g_lr=0 is out of range"),
    ({"g_lr": -1e-3}, r"g_lr=-0.001 is out of range"),
    ({"d_lr": 1e9}, r"d_lr=1000000000(\.0)? is out of range"),
    ({"g_lr": NAN}, r"g_lr=nan is out of range"),
    ({"d_lr": INF}, r"d_lr=inf is out of range"),
    ({"g_lr": -INF}, r"g_lr=-inf is out of range"),
    ({"g_lr": "fast"}, r"g_lr='fast' must be a number"),
    ({"beta1": 1.0}, r"beta1=1.0 is out of range"),
    ({"gp_lambda": NAN}, r"gp_lambda=nan is out of range"),
    ({"ema_decay": 1}, r"ema_decay=1 is out of range"),
    ({"batch_size": 0}, r"batch_size=0 is out of range"),
    ({"batch_size": 2.5}, r"batch_size=2.5 must be a whole number"),
    ({"batch_size": True}, r"batch_size=True must be a whole number"),
    ({"z_dim": 0}, r"z_dim=0 is out of range"),
    ({"d_steps": 1000}, r"d_steps=1000 is out of range"),
    ({"seed": -1}, r"seed=-1 is out of range"),
    ({"seed": 2**64}, r"seed=18446744073709551616 is out of range"),
    ({"loss": "nope"}, r"loss='nope' is not one of"),
    ({"g_optimizer": "adamw"}, r"g_optimizer='adamw' is not one of"),
    ({"arch": "transformer"}, r"arch='transformer' is not one of"),
    ({"activation": "gelu"}, r"activation='gelu' is not one of"),
    ({"arch": "dcgan"}, r"arch='dcgan' needs image data"),
    ({"conditional": True}, r"conditional=True needs labelled images"),
    ({"pack": 3}, r"must be a multiple of pack=3"),
    ({"bogus": 1}, r"unknown config field 'bogus'"),
    ({"loss": "x" * 100_000}, r"loss='xxx.*\.\.\. is not one of"),
    ({"loss": "\x00\x1b[31mred\u202e"}, r"loss='\\x00\\x1b\[31mred\\u202e' is not one of"),
]
HYPER_API_ONLY = [  # over this server's hosting limits (the core alone allows them)
    ({"batch_size": 600}, r"Batch size: batch_size=600 is over this server's limit of 512.*"
                          r"GP_MAX_BATCH"),
    ({"steps": 20000}, r"Step target: steps=20000 is over this server's limit of 10,000.*"
                       r"GP_MAX_STEPS"),
    ({"steps": 1e308}, r"steps=1e\+308 is over this server's limit"),  # no 309-digit number
    ({"batch_size": 512, "d_steps": 100, "g_width": 512, "d_width": 512},
     r"one training step would take about [0-9,]+ GFLOP.*GP_MAX_STEP_GFLOP"),
    ({"g_width": 600}, r"g_width=600 .*GP_MAX_WIDTH"),
    ({"g_width": 512, "g_depth": 8}, r"parameters .*over this server's limit .*GP_MAX_PARAMS"),
    ({"dataset": "images", "path": "/usr/share"}, r"path cannot be set over the API"),
    ({"dataset": "mnist-full", "data_root": "/", "download": True},
     r"data_root, download cannot be set over the API"),
]


@pytest.mark.parametrize("changes, pattern", HYPER, ids=[str(i) for i in range(len(HYPER))])
def test_core_refuses_bad_hyperparameters(changes, pattern):
    with pytest.raises(ValueError) as info:
        get_preset("ring8").replace(**changes)
    clear(str(info.value), pattern)


def test_api_refuses_bad_hyperparameters_and_keeps_serving(client):
    for changes, pattern in HYPER + HYPER_API_ONLY:
        refused(client, pattern, "ring8", changes, api_name="/new_run")
    refused(client, r"preset='nope' is not one of", "nope", api_name="/new_run")
    refused(client, r"preset=\['ring8'\] is not one of", ["ring8"], api_name="/new_run")
    refused(client, r"settings must be a JSON object", "ring8", ["steps"], api_name="/new_run")
    still_serving(client)


def test_api_refuses_bad_step_requests(client):
    cases = [(0, "both", r"n=0 must be a whole number of at least 1"),
             (-5, "both", r"n=-5 must be a whole number"),
             (2.5, "both", r"n=2.5 must be a whole number"),
             (NAN, "both", r"n=nan must be a whole number"),
             (INF, "both", r"n=inf must be a whole number"),
             ("ten", "both", r"n='ten' must be a whole number"),
             (10**9, "both", r"GP_MAX_STEPS"),
             (3, "sideways", r"which='sideways' is not one of: both, d, g")]
    for n, which, pattern in cases:
        refused(client, pattern, n, which, api_name="/train_steps")
    # The form's live edits: NaN, infinity, a closed interval's end, over a hosting limit.
    refused(client, r"g_lr=nan is out of range", g_lr=NAN, api_name="/edit")
    refused(client, r"d_lr=inf is out of range", d_lr=INF, api_name="/edit")
    refused(client, r"Adam beta2: beta2=1.0 is out of range: allowed \[0, 1\)", beta2=1.0,
            api_name="/edit")
    refused(client, r"G learning rate: g_lr='fast' must be a number", g_lr="fast",
            api_name="/edit")
    refused(client, r"Measure every N steps: nan must be a whole number", NAN,
            api_name="/measure_every")
    refused(client, r"Measure every N steps: 'ten' must be a whole number", "ten",
            api_name="/measure_every")
    refused(client, r"GP_MAX_STEPS", steps=100_000, api_name="/edit")
    # The Train button's form: every field is checked on the server too.
    refused(client, r"g_lr=-1(\.0)? is out of range|minimum", dataset="ring8", g_lr=-1.0,
            api_name="/reset")
    refused(client, r"z_dim=0 is out of range|minimum", dataset="ring8", z_dim=0,
            api_name="/reset")
    refused(client, r"not in the list of choices", dataset="ring8", loss="nope",
            api_name="/reset")
    still_serving(client)


# ---------------------------------------------------------------------------------- seeds
SEEDS = [("zero", r"cannot read seed 'zero'"),
         ("1,,2", r"empty entry in seeds"),
         ("-5", r"seed '-5' is not allowed"),
         ("5-1", r"range '5-1' runs backwards: write it as 1-5"),
         ("0-100", r"name more than 64 seeds"),
         ("9" * 30, r"seed '9+' is too large"),
         ("\u0663", r"cannot read seed"),  # an Arabic-Indic digit: a digit, but not ASCII
         ("\x00\x07\x1b[2J", r"cannot read seed '\\x00\\x07\\x1b\[2J'"),
         ("", r"no seeds given"),
         ("x" * 1_000_000, r"cannot read seed 'xxx.*\.\.\.: use a number"),
         ("1," * 50_000, r"name more than 64 seeds")]


@pytest.mark.parametrize("text, pattern", SEEDS, ids=[str(i) for i in range(len(SEEDS))])
def test_core_refuses_bad_seed_lists(text, pattern):
    with pytest.raises(ValueError) as info:
        parse_seeds(text, max_count=64)
    clear(str(info.value), pattern)


def test_api_refuses_bad_seeds_and_sampling_settings(client):
    for text, pattern in SEEDS:
        refused(client, pattern, model="tiny-mnist", seeds=text, api_name="/sample_grid")
    refused(client, r"1000|maximum|GP_MAX_IMAGES", 1000, api_name="/random_seeds")
    refused(client, r"not in the list of choices", model="../../etc/passwd", seeds="0",
            api_name="/sample_grid")
    refused(client, r"Truncation ψ: 2.0 is out of range: allowed \(0, 1\]", model="tiny-mnist",
            seeds="0", truncation=2.0,
            api_name="/sample_grid")
    refused(client, r"truncation|nan|number", model="tiny-mnist", seeds="0", truncation=NAN,
            api_name="/sample_grid")
    refused(client, r"frames|maximum", model="tiny-mnist", seed_a=0, seed_b=1, frames=1000,
            api_name="/interpolate")
    refused(client, r"Seed A: -1 must be a whole number, 0 or more", model="tiny-mnist",
            seed_a=-1, seed_b=1, api_name="/interpolate")
    refused(client, r"Seed B: nan must be a whole number, 0 or more", model="tiny-mnist",
            seed_a=0, seed_b=NAN, api_name="/interpolate")
    refused(client, r"How many random seeds: 'x' must be a whole number", "x",
            api_name="/random_seeds")
    refused(client, r"not in the list of choices", model="tiny-mnist", mode="zigzag",
            api_name="/interpolate")
    refused(client, r"GP_MAX_IMAGES|maximum", model="tiny-mnist", count=10**6,
            api_name="/discriminator_report")
    still_serving(client)


# ---------------------------------------------------------------------------------- checkpoints
CHECKPOINTS = [("pickle", r"not a safetensors checkpoint"),
               ("torch-save", r"not a safetensors checkpoint|truncated"),
               ("random", r"not a safetensors checkpoint|truncated"),
               ("empty", r"is empty"),
               ("truncated", r"is truncated"),
               ("huge-header", r"header claims 1,099,511,627,776 bytes"),
               ("foreign", r"not a GAN Playground checkpoint"),
               ("version", r"format version '99'; this version of GAN Playground reads version 1"),
               ("arch", r"does not fit its model|holds tensors this model does not have"),
               ("shape", r"has shape \(\d+, \d+\), the model needs"),
               ("config", r"unreadable metadata: .*loss='nope' is not one of")]


@pytest.mark.parametrize("name, pattern", CHECKPOINTS, ids=[c[0] for c in CHECKPOINTS])
def test_core_refuses_bad_checkpoints_and_never_unpickles(files, name, pattern):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(files[name])
    clear(str(info.value), pattern)
    assert not files["marker"].exists()


def test_api_refuses_bad_checkpoints_and_never_unpickles(client, files):
    for name, pattern in CHECKPOINTS + [("giant", r"GP_MAX_PARAMS"),
                                         ("control-name", r"is empty")]:
        for endpoint, param in (("/upload_checkpoint", "file"), ("/load_checkpoint",
                                                                 "checkpoint")):
            message = refused(client, pattern, api_name=endpoint,
                              **{param: handle_file(str(files[name]))})
            assert not any(ord(ch) < 32 for ch in message), repr(message)
    assert not files["marker"].exists(), "an uploaded pickle was loaded"
    out = client.predict(checkpoint=handle_file(str(files["good"])), api_name="/load_checkpoint")
    assert "step 2" in out[0]
    still_serving(client)


# ---------------------------------------------------------------------------------- images
BAD_IMAGES = [("not-image", r"is not a PNG/JPEG/GIF/BMP/WEBP/TIFF/PPM image"),
              ("truncated-png", r"could not be read"),
              ("bomb", r"over the 40-megapixel limit"),
              ("big-png", r"9000x9000 = 81 megapixels, over the 40-megapixel limit")]
GOOD_IMAGES = ["palette", "alpha", "16-bit", "1-bit", "gray-alpha"]


@pytest.mark.parametrize("name, pattern", BAD_IMAGES, ids=[c[0] for c in BAD_IMAGES])
def test_core_refuses_bad_images(files, name, pattern):
    with pytest.raises(ImageError) as info:
        open_image(files[name].read_bytes())
    clear(str(info.value), pattern)


@pytest.mark.parametrize("name", GOOD_IMAGES)
def test_core_takes_palette_alpha_16_bit_and_1_bit_images(files, name):
    x = image_to_tensor(open_image(files[name]), (1, 28, 28))
    assert x.shape == (1, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert x.max() > 0.9 and x.min() < -0.9  # the white bar on black survives every mode


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_api_refuses_bad_images_without_decoding_them(client, server, files):
    for name, pattern in BAD_IMAGES:
        refused(client, pattern, model="tiny-mnist", value=handle_file(str(files[name])),
                api_name="/score_image")
        drawing = PREFIX + base64.b64encode(files[name].read_bytes()).decode()
        # A drawing over the pad's 1024x1024 is refused for that, from its header, first.
        refused(client, rf"(?:{pattern})|The drawing is \d+x\d+ pixels; a drawing is at most",
                model="tiny-mnist", value=drawing, api_name="/score_sketch")
    refused(client, r"must be a PNG image sent as a data: URL", model="tiny-mnist",
            value={"layers": [handle_file(str(files["big-png"]))] * 16}, api_name="/score_sketch")
    # "over the 40-megapixel limit" is the header check's sentence: refused before decoding
    # (81 megapixels as RGB would be 243 MB; the memory each request takes is a figure for the
    # reliability benchmark, `python -m benchmarks.reliability`).
    model = load_checkpoint(checkpoints_folder() / "tiny-mnist.safetensors")
    for name in GOOD_IMAGES:
        verdict, saliency, _ = client.predict(model="tiny-mnist",
                                              value=handle_file(str(files[name])),
                                              api_name="/score_image")
        scores = {c["label"]: c["confidence"] for c in verdict["confidences"]}
        here = score_image(model.D, image_to_tensor(open_image(files[name]), model.data_shape))
        assert scores["looks real"] == pytest.approx(here, abs=1e-4), name
    still_serving(client)


# ---------------------------------------------------------------------------------- zips
ZIPS = [("many", r"holds more than 10,000 files, the limit"),
        ("zip-bomb", r"holds more than 200 MB of files, the limit"),
        ("no-images", r"holds no readable PNG/JPEG/GIF/BMP/WEBP/TIFF/PPM images \(2 file"),
        ("not-zip", r"is neither a folder nor a .zip file of images")]


@pytest.mark.parametrize("name, pattern", ZIPS, ids=[c[0] for c in ZIPS])
def test_core_refuses_bad_zips(files, name, pattern):
    with pytest.raises(ImageError) as info:
        load_image_folder(str(files[name]), 28, 1)
    clear(str(info.value), pattern)


def test_core_zip_with_unsafe_names_reads_only_the_safe_members(files, tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)  # "../../escaped.png" would land near here if anything were extracted
    try:
        images, skipped = load_image_folder(str(files["traversal"]), 28, 1)
    finally:
        os.chdir(cwd)
    assert len(images) == 2 and skipped == 2  # ok/digit.png and the cp437 name; two unsafe
    assert not list(tmp_path.parent.parent.glob("escaped.png"))
    assert not Path("/abs/escaped.png").exists()


def test_api_refuses_bad_zips_and_takes_a_zip_with_unsafe_names(client, files):
    form = dict(dataset="images", image_size=28, channels=1, steps=10, batch_size=8)
    for name, pattern in ZIPS:
        refused(client, pattern, images_zip=handle_file(str(files[name])), api_name="/reset",
                **form)
    refused(client, r"needs your images: upload a .zip", api_name="/reset", **form)
    view = client.predict(images_zip=handle_file(str(files["traversal"])), api_name="/reset",
                          **form)
    assert "Reset" in view[0]  # the unsafe members were skipped, the rest became a run
    assert not Path("/abs/escaped.png").exists()
    still_serving(client)


def test_the_app_still_serves_everyone_after_all_that(server):
    fresh = Client(server.url, verbose=False)
    try:
        summary = fresh.predict("grid25", {"steps": 50, "g_width": 16, "d_width": 16},
                                api_name="/new_run")
        assert summary["step"] == 0
        assert fresh.predict(3, "both", api_name="/train_steps")["step"] == 3
        grid, _, info = fresh.predict(model="tiny-mnist", seeds="0-3", api_name="/sample_grid")
        assert Image.open(grid).size[0] > 0 and info.startswith("4 sample(s)")
    finally:
        fresh.close()
    assert server.proc.poll() is None


def test_a_file_name_that_is_not_utf8_is_handled(server, client):
    """Raw multipart with a Latin-1 file name (bytes no UTF-8 decoder accepts), then loaded."""
    boundary = "gp-boundary-7"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"").encode() + b"caf\xe9 \xff\xfe.safetensors" + \
        "\"\r\nContent-Type: application/octet-stream\r\n\r\n".encode() + \
        f"\r\n--{boundary}--\r\n".encode()
    response = httpx.post(f"{server.url}gradio_api/upload", content=body, timeout=30,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 200, response.text
    uploaded = response.json()[0]
    message = refused(client, r"is empty", api_name="/upload_checkpoint",
                      file={"path": uploaded, "meta": {"_type": "gradio.FileData"}})
    assert not any(ord(ch) < 32 for ch in message)
    still_serving(client)
