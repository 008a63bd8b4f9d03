"""The Train tab's settings form, generated from the one list of settings (`playground/settings.py`).

Every control's label and one-line hint come from there, and so do its kind (a menu, a checkbox,
a number box). Number boxes carry no `minimum`, `maximum` or `precision`: Gradio would round
12.5 to 12, or refuse -1 with a message that names no field; the config layer checks instead,
naming the setting by its label. Hosting limits add "max N on this server" to their hints.

`build_form` lays the controls out (the everyday ones first, the rest under "Advanced") and
returns them by field name; `config_from_form` turns their values into a validated `RunConfig`;
`form_values` goes the other way (presets and loaded checkpoints fill every field).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import torch

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ..presets import PRESETS
from ..settings import DATASETS, FOLDER_DATASET, POINTS_DATASET, SETTINGS, SettingError, check
from .limits import Limits

DEFAULT_PRESET = "ring8"
CUSTOM = "custom"  # the preset menu's entry for settings that match no preset

DATA_FIELDS = ("dataset", "image_size", "channels")
MODEL_FIELDS = ("arch", "conditional", "z_dim", "noise", "g_width", "g_depth", "d_width",
                "d_depth", "activation", "spectral_norm", "pack")
TRAIN_FIELDS = ("loss", "g_lr", "d_lr", "g_optimizer", "d_optimizer", "beta1", "beta2",
                "batch_size", "d_steps", "g_steps", "gp_lambda", "ema_decay", "seed", "steps",
                "device", "precision")
FIELDS = DATA_FIELDS + MODEL_FIELDS + TRAIN_FIELDS
LIVE = tuple(f for f in TRAIN_FIELDS if SETTINGS[f].live)
MAIN_ORDER = ("dataset", "loss", "g_lr", "d_lr", "batch_size", "d_steps", "steps", "seed")

DATASET_LABELS = {
    "ring8": "ring8 (2D: 8 Gaussians on a circle)",
    "grid25": "grid25 (2D: 5x5 grid of Gaussians)",
    "spiral": "spiral (2D)",
    "moons": "moons (2D: two half circles)",
    "line": "line (2D: a diagonal segment)",
    POINTS_DATASET: "points (2D: your own, drawn or from a CSV)",
    "mnist": "mnist (bundled 5,000 digits, offline)",
    "mnist-full": "mnist-full (torchvision files)",
    "fashion-mnist": "fashion-mnist (torchvision files)",
    "kmnist": "kmnist (torchvision files)",
    "cifar10": "cifar10 (torchvision files)",
    FOLDER_DATASET: "images (your own .zip of PNG/JPEG)",
}
LIMITED = {"steps": "max_steps", "batch_size": "max_batch", "g_width": "max_width",
           "d_width": "max_width"}


def available_devices() -> list[str]:
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


@dataclass
class Form:
    """The form's controls: the preset menu, one control per field, and the images upload."""
    preset: gr.Dropdown
    controls: dict[str, gr.Component]
    images_zip: gr.File
    hints: dict[str, str]  # each field's hint line (shown again once an error is fixed)
    boxes: dict[str, Any] = field(default_factory=dict)  # field -> the accordion holding it
    points: Any = None  # `PointsBox`: your own 2D points (dataset "points")

    def __getitem__(self, name: str) -> gr.Component:
        return self.controls[name]


def hint(name: str, limits: Limits) -> str:
    text = SETTINGS[name].hint
    if name in LIMITED:
        text += f" Max {getattr(limits, LIMITED[name]):,} on this server."
    return text


def _control(name: str, value: Any, limits: Limits, device: str) -> gr.Component:
    s = SETTINGS[name]
    common = dict(label=s.label, info=hint(name, limits), elem_id=f"field-{name}")
    if name == "dataset":
        return gr.Dropdown([(DATASET_LABELS.get(n, n), n) for n in DATASETS], value=value,
                           **common)
    if name == "device":
        devices = available_devices()
        return gr.Dropdown(devices, value=device if device in devices else "auto", **common)
    if s.kind == "choice" and isinstance(s.choices[0], int):
        return gr.Radio(list(s.choices), value=value, **common)
    if s.kind == "choice":
        return gr.Dropdown(list(s.choices), value=value, **common)
    if s.kind == "bool":
        return gr.Checkbox(value, **common)
    return gr.Number(value, **common)


def build_form(limits: Limits, device: str) -> Form:
    """Lay out the preset menu and every field (call inside a gr.Column)."""
    flat = flat_values(PRESETS[DEFAULT_PRESET])
    controls: dict[str, gr.Component] = {}
    boxes: dict[str, Any] = {}
    preset = gr.Dropdown([(n, n) for n in PRESETS] + [("(your own settings)", CUSTOM)],
                         value=DEFAULT_PRESET, label="Preset", elem_id="field-preset",
                         info="A tested recipe: fills in every setting below.")
    for name in MAIN_ORDER:
        controls[name] = _control(name, flat[name], limits, device)
        if name == "dataset":
            images_zip = gr.File(label="Your images (.zip of PNG/JPEG)", file_types=[".zip"],
                                 visible=False, elem_id="images-zip", height=120)
            with gr.Row(visible=False) as own_images:
                for extra in ("image_size", "channels"):
                    controls[extra] = _control(extra, flat[extra], limits, device)
            points = PointsBox()
            controls["points"] = points.box
    with gr.Accordion("Advanced", open=False, elem_id="advanced") as advanced:
        rest = [n for n in FIELDS if n not in controls]
        for i in range(0, len(rest), 2):
            with gr.Row():
                for name in rest[i:i + 2]:
                    controls[name] = _control(name, flat[name], limits, device)
                    boxes[name] = advanced
    form = Form(preset, controls, images_zip, {n: hint(n, limits) for n in FIELDS}, boxes,
                points)
    form.own_images = own_images  # type: ignore[attr-defined]  # shown for dataset="images"
    form.advanced = advanced  # type: ignore[attr-defined]  # the caller may add to it
    return form


class PointsBox:
    """Your own 2D points in the form (dataset "points"): what they are, a CSV upload, Clear,
    and the points themselves as JSON in a hidden text box, which the live view's drawing
    (`js/draw.js`) and the upload fill, and Train reads as the setting `points`."""

    def __init__(self) -> None:
        with gr.Group(visible=False, elem_id="points-group") as self.group:
            self.note = gr.Markdown(POINTS_EMPTY, elem_id="points-note")
            with gr.Row():
                self.upload = gr.UploadButton("Upload a CSV of points", size="sm",
                                              file_types=[".csv", ".txt"],
                                              elem_id="points-upload", scale=2)
                self.clear = gr.Button("Clear the points", size="sm", elem_id="points-clear",
                                       scale=1)
            self.alert = gr.Markdown("", elem_id="points-alert", elem_classes=["gp-notice"])
        # No visible control of its own: the drawing sets it through `window.gpPoints`
        # (js/points_box.js); Train reads it; the upload, Clear and a loaded checkpoint write it.
        self.box = gr.HTML("", html_template="", js_on_load=POINTS_JS, elem_id="points-box",
                           apply_default_css=False, container=False)


POINTS_JS = (Path(__file__).parent / "js" / "points_box.js").read_text()
POINTS_EMPTY = ("**Your points**: none yet. Press **✏️ Draw data** under the view and draw "
                "(strokes or clicks), or upload a CSV of `x,y` rows.")


def points_text(points: Any) -> str:
    """The points as the hidden box holds them (compact JSON; "" for none)."""
    if not points:
        return ""
    return json.dumps([[round(float(x), 5), round(float(y), 5)] for x, y in points],
                      separators=(",", ":"))


def parse_points(text: Any) -> list[list[float]]:
    """The hidden box's JSON as a list of pairs (checked by the setting afterwards)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    if not isinstance(text, str) or len(text) > 400_000:
        raise SettingError("points", "Your points: too many to read (at most 10,000)")
    try:
        value = json.loads(text)
    except ValueError:
        raise SettingError("points", "Your points: they could not be read; clear them and "
                           "draw or upload them again") from None
    return value


def points_data(points: Any) -> DataConfig:
    """Your points (the box's JSON, or a list of pairs) as the data config that trains on them;
    a SettingError naming the first bad point."""
    found = parse_points(points) if isinstance(points, str) or points is None else points
    return DataConfig(dataset=POINTS_DATASET, points=check("points", found))


def points_note(data: DataConfig, how: str) -> str:
    """What the points box says about your points."""
    from ..toy2d import points_set

    toy = points_set(data.points)
    return (f"**Your points**: {len(data.points):,} ({how}); shown in [-{toy.lim:g}, "
            f"{toy.lim:g}]², each batch jittered by σ = {toy.sigma:.3g}. Press **Train** to train "
            "on them with the settings below; draw more, or upload a CSV, to change them.")


def flat_values(config: RunConfig) -> dict[str, Any]:
    return {**vars(config.data), **vars(config.model), **vars(config.train)}


def config_from_form(values: dict[str, Any], images_path: str | None = None,
                     limits: Limits | None = None) -> RunConfig:
    """A validated RunConfig from the form's values; SettingError names a bad field. With
    `limits`, a value over a hosting limit is refused first, so the message always gives the
    tighter of the two bounds (the server's, or the config's own)."""
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise SettingError(missing[0], f"missing setting(s): {', '.join(missing)}")
    v = {k: _plain(values[k]) for k in FIELDS}
    if limits is not None:
        limits.check_values(v)
    for name in FIELDS:  # each value to its declared type first: errors name the field
        v[name] = check(name, v[name])
    points = ()
    if v["dataset"] == POINTS_DATASET:  # the hidden box's points count only for their data
        points = check("points", parse_points(values.get("points")))
    path = ""
    if v["dataset"] == FOLDER_DATASET:
        if not images_path:
            raise SettingError("dataset", "Dataset 'images' needs your images: upload a .zip "
                               "of PNG/JPEG files first")
        path = str(images_path)
    data = DataConfig(dataset=v["dataset"], path=path, image_size=v["image_size"],
                      channels=v["channels"], points=points)
    model = ModelConfig(**{k: v[k] for k in MODEL_FIELDS})
    train = TrainConfig(**{k: v[k] for k in TRAIN_FIELDS})
    return RunConfig(data, model, train)


def form_values(config: RunConfig) -> list[Any]:
    """Every field's value for `config`, in FIELDS order (to fill the form)."""
    flat = flat_values(config)
    return [flat[f] for f in FIELDS]


def preset_of(config: RunConfig) -> str:
    """The preset `config` was made from (ignoring the step target, seed, device and
    precision), else CUSTOM: what the preset menu shows after a checkpoint is loaded."""
    if config.data.dataset == FOLDER_DATASET:
        return CUSTOM

    if config.data.dataset == POINTS_DATASET:
        return CUSTOM

    def key(c: RunConfig) -> RunConfig:
        return c.replace(steps=1, seed=0, device="auto", precision="fp32", path="",
                         data_root="data", download=False)
    for name, preset in PRESETS.items():
        if key(preset) == key(config):
            return name
    return CUSTOM


def live_changes(values: dict[str, Any], limits: Limits | None = None) -> dict[str, Any]:
    """The live fields among the form's values, each checked and normalised (SettingError)."""
    plain = {name: _plain(values[name]) for name in LIVE if name in values}
    if limits is not None:
        limits.check_values(plain)
    return {name: check(name, value) for name, value in plain.items()}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
