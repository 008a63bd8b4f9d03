"""The Train tab's settings form: one control per config field, each with a one-line `info=`.

Fields bounded by a hosting limit (steps, batch, widths) have no `maximum=` on the control: the
server checks them and its error names the limit's environment variable.

`build_form` lays the controls out and returns them by config field name; `config_from_form`
turns their values into a validated `RunConfig`; `form_values` goes the other way (presets and
loaded checkpoints fill every field).
"""
from __future__ import annotations

from typing import Any

import gradio as gr
import torch

from ..config import (ACTIVATIONS, ARCHITECTURES, DATASETS, FOLDER_DATASET, LOSSES, OPTIMIZERS,
                      DataConfig, ModelConfig, RunConfig, TrainConfig)
from ..presets import PRESETS
from ..train import LIVE_FIELDS
from .limits import Limits

DEFAULT_PRESET = "ring8"

DATA_FIELDS = ("dataset", "image_size", "channels")
MODEL_FIELDS = ("arch", "conditional", "z_dim", "g_width", "g_depth", "d_width", "d_depth",
                "activation", "spectral_norm", "pack")
TRAIN_FIELDS = ("loss", "g_lr", "d_lr", "g_optimizer", "d_optimizer", "beta1", "beta2",
                "batch_size", "d_steps", "g_steps", "gp_lambda", "ema_decay", "seed", "steps",
                "device")
FIELDS = DATA_FIELDS + MODEL_FIELDS + TRAIN_FIELDS
# Fields the running model takes at its next step; the rest need Train (a new run) or Reset.
LIVE = tuple(f for f in TRAIN_FIELDS if f in LIVE_FIELDS)

DATASET_LABELS = {
    "ring8": "ring8 (2D: 8 Gaussians on a circle)",
    "grid25": "grid25 (2D: 5x5 grid of Gaussians)",
    "spiral": "spiral (2D)",
    "moons": "moons (2D: two half circles)",
    "line": "line (2D: a diagonal segment)",
    "mnist": "mnist (bundled 5,000 digits, offline)",
    "mnist-full": "mnist-full (torchvision files)",
    "fashion-mnist": "fashion-mnist (torchvision files)",
    "kmnist": "kmnist (torchvision files)",
    "cifar10": "cifar10 (torchvision files)",
    FOLDER_DATASET: "images (your own .zip of PNG/JPEG)",
}


def available_devices() -> list[str]:
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def build_form(limits: Limits, device: str) -> tuple[gr.Dropdown, dict[str, gr.Component],
                                                      gr.File]:
    """Lay out the preset picker and every field; returns (preset, {field: control}, zip upload)."""
    cfg = PRESETS[DEFAULT_PRESET]
    d, m, t = cfg.data, cfg.model, cfg.train
    c: dict[str, gr.Component] = {}
    preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Preset",
                         info="A tested recipe: fills in every setting below.")
    with gr.Accordion("Data", open=True):
        c["dataset"] = gr.Dropdown([(DATASET_LABELS.get(n, n), n) for n in DATASETS],
                                   value=d.dataset, label="Dataset",
                                   info="2D toy sets train in seconds; images take minutes.")
        images_zip = gr.File(label="Your images (.zip of PNG/JPEG)", file_types=[".zip"],
                             visible=False, elem_id="images-zip")
        with gr.Row():
            c["image_size"] = gr.Number(d.image_size, precision=0, minimum=8, maximum=128,
                                        label="Image size", visible=False,
                                        info="Your images are resized to this square side.")
            c["channels"] = gr.Radio([1, 3], value=d.channels, label="Channels", visible=False,
                                     info="1 = grayscale, 3 = colour.")
    with gr.Accordion("Model", open=False):
        with gr.Row():
            c["arch"] = gr.Dropdown(list(ARCHITECTURES), value=m.arch, label="Architecture",
                                    info="mlp: fully connected; dcgan: convolutional (images).")
            c["conditional"] = gr.Checkbox(m.conditional, label="Conditional (class labels)",
                                           info="G and D see the digit label too.")
        with gr.Row():
            c["z_dim"] = gr.Number(m.z_dim, precision=0, minimum=1, maximum=1024,
                                   label="z dimension", info="Size of the noise vector z.")
            c["activation"] = gr.Dropdown(list(ACTIVATIONS), value=m.activation,
                                          label="Activation", info="Hidden activation of G.")
        with gr.Row():
            c["g_width"] = gr.Number(m.g_width, precision=0, minimum=1,
                                     label="G width",
                                     info=f"Hidden units (mlp) or channels (dcgan); max "
                                     f"{limits.max_width} here.")
            c["g_depth"] = gr.Number(m.g_depth, precision=0, minimum=1, maximum=8,
                                     label="G depth", info="Hidden layers in G (mlp).")
        with gr.Row():
            c["d_width"] = gr.Number(m.d_width, precision=0, minimum=1, label="D width",
                                     info=f"Hidden units or channels of D; max {limits.max_width} "
                                     "here.")
            c["d_depth"] = gr.Number(m.d_depth, precision=0, minimum=1, maximum=8,
                                     label="D depth", info="Hidden layers in D (mlp).")
        with gr.Row():
            c["spectral_norm"] = gr.Checkbox(m.spectral_norm, label="Spectral norm in D",
                                             info="Limits how fast D can change: steadier games.")
            c["pack"] = gr.Number(m.pack, precision=0, minimum=1, maximum=16, label="Pack",
                                  info="PacGAN: D judges this many samples together.")
    with gr.Accordion("Training", open=True):
        c["loss"] = gr.Dropdown(list(LOSSES), value=t.loss, label="Loss (the game)",
                                info="Live: changes the running game at the next step.")
        with gr.Row():
            c["g_lr"] = gr.Number(t.g_lr, minimum=0, label="G learning rate",
                                  info="Live. Step size of G's optimiser.")
            c["d_lr"] = gr.Number(t.d_lr, minimum=0, label="D learning rate",
                                  info="Live. Step size of D's optimiser.")
        with gr.Row():
            c["g_optimizer"] = gr.Dropdown(list(OPTIMIZERS), value=t.g_optimizer,
                                           label="G optimiser", info="Live. adam, sgd or rmsprop.")
            c["d_optimizer"] = gr.Dropdown(list(OPTIMIZERS), value=t.d_optimizer,
                                           label="D optimiser", info="Live. adam, sgd or rmsprop.")
        with gr.Row():
            c["beta1"] = gr.Number(t.beta1, minimum=0, maximum=0.9999, label="Adam beta1",
                                   info="Live. Momentum; 0.5 is the DCGAN choice.")
            c["beta2"] = gr.Number(t.beta2, minimum=0, maximum=0.9999, label="Adam beta2",
                                   info="Live. Decay of the squared-gradient average.")
        with gr.Row():
            c["d_steps"] = gr.Number(t.d_steps, precision=0, minimum=1, maximum=100,
                                     label="D steps per iteration",
                                     info="Live. D updates before each G update.")
            c["g_steps"] = gr.Number(t.g_steps, precision=0, minimum=1, maximum=100,
                                     label="G steps per iteration",
                                     info="Live. G updates per iteration.")
        with gr.Row():
            c["batch_size"] = gr.Number(t.batch_size, precision=0, minimum=1, label="Batch size",
                                        info=f"Live. Real and fake samples per step; max "
                                        f"{limits.max_batch} here.")
            c["steps"] = gr.Number(t.steps, precision=0, minimum=1, label="Step target",
                                   info=f"Live. Training stops here; max {limits.max_steps} here.")
        with gr.Row():
            c["gp_lambda"] = gr.Number(t.gp_lambda, minimum=0, label="Gradient penalty λ",
                                       info="Live. Weight of WGAN-GP's penalty (wgan-gp only).")
            c["ema_decay"] = gr.Number(t.ema_decay, minimum=0, maximum=0.9999, label="EMA of G",
                                       info="Live. Average of G's weights for samples; 0 = off.")
        with gr.Row():
            c["seed"] = gr.Number(t.seed, precision=0, minimum=0, label="Seed",
                                  info="Same seed and settings on the CPU = the same run.")
            devices = available_devices()
            c["device"] = gr.Dropdown(devices, value=device if device in devices else "auto",
                                      label="Device", info="auto = GPU when there is one.")
    return preset, c, images_zip


def config_from_form(values: dict[str, Any], images_path: str | None = None) -> RunConfig:
    """A validated RunConfig from the form's values; ValueError names a bad field."""
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise ValueError(f"missing setting(s): {', '.join(missing)}")
    v = {k: _plain(values[k]) for k in FIELDS}
    for name in ("image_size", "channels", "z_dim", "g_width", "g_depth", "d_width", "d_depth",
                 "pack", "batch_size", "d_steps", "g_steps", "seed", "steps"):
        v[name] = _whole(name, v[name])
    for name in ("g_lr", "d_lr", "beta1", "beta2", "gp_lambda", "ema_decay"):
        if v[name] is None:
            raise ValueError(f"{name} is empty: type a number")
    path = ""
    if v["dataset"] == FOLDER_DATASET:
        if not images_path:
            raise ValueError("dataset 'images' needs your images: upload a .zip of PNG/JPEG files")
        path = str(images_path)
    data = DataConfig(dataset=v["dataset"], path=path, image_size=v["image_size"],
                      channels=v["channels"])
    model = ModelConfig(**{k: v[k] for k in MODEL_FIELDS})
    train = TrainConfig(**{k: v[k] for k in TRAIN_FIELDS})
    return RunConfig(data, model, train)


def form_values(config: RunConfig) -> list[Any]:
    """Every field's value for `config`, in FIELDS order (to fill the form)."""
    flat = {**vars(config.data), **vars(config.model), **vars(config.train)}
    return [flat[f] for f in FIELDS]


def live_changes(values: dict[str, Any]) -> dict[str, Any]:
    """The live fields among the form's values, as plain Python values."""
    out = {}
    for name in LIVE:
        if name in values:
            value = _plain(values[name])
            if name in ("batch_size", "d_steps", "g_steps", "steps"):
                value = _whole(name, value)
            elif value is None:
                raise ValueError(f"{name} is empty: type a number")
            out[name] = value
    return out


def _plain(value: Any) -> Any:
    # gr.Number gives floats even for whole numbers when precision is unset.
    return value.item() if hasattr(value, "item") else value


def _whole(name: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r} must be a whole number")
    return value
