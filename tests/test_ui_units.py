"""Unit tests for the app's gradio-free parts: hosting limits, sessions, timelapse, pictures, form."""
from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
import torch
from PIL import Image

from playground import charts, plots
from playground.presets import PRESETS
from playground.train import Trainer
from playground.ui.limits import Limits, LimitError
from playground.ui.session import Registry, Session, Timelapse

TINY_RING = PRESETS["ring8"].replace(g_width=16, d_width=16, batch_size=32, device="cpu")


@pytest.fixture(scope="module")
def ring_trainer() -> Trainer:
    trainer = Trainer(TINY_RING)
    trainer.step(5)
    return trainer


# ----------------------------------------------------------------------------- limits
def test_limits_from_env_reads_each_variable_and_keeps_defaults():
    limits = Limits.from_env({"GP_MAX_STEPS": "500", "GP_MAX_UPLOAD_MB": " 3 "})
    assert limits.max_steps == 500 and limits.max_upload_mb == 3
    assert limits.max_batch == Limits().max_batch


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5"])
def test_limits_from_env_rejects_bad_values_naming_the_variable(raw):
    with pytest.raises(ValueError, match="GP_MAX_BATCH"):
        Limits.from_env({"GP_MAX_BATCH": raw})


def test_check_config_refuses_over_limit_values_without_clamping():
    limits = Limits(max_steps=100, max_batch=64, max_width=32)
    config = TINY_RING.replace(steps=101)
    with pytest.raises(LimitError, match=r"steps=101 .* limit of 100 .*GP_MAX_STEPS"):
        limits.check_config(config)
    with pytest.raises(LimitError, match="GP_MAX_BATCH"):
        limits.check_config(TINY_RING.replace(steps=100, batch_size=128))
    with pytest.raises(LimitError, match="g_width=48.*GP_MAX_WIDTH"):
        limits.check_config(TINY_RING.replace(steps=100, g_width=48))
    limits.check_config(TINY_RING.replace(steps=100))  # at the limit is fine


def test_check_upload_refuses_large_files(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (1024 * 1024 + 1))
    with pytest.raises(LimitError, match="GP_MAX_UPLOAD_MB"):
        Limits(max_upload_mb=1).check_upload(big, "checkpoint")
    Limits(max_upload_mb=2).check_upload(big, "checkpoint")


# ----------------------------------------------------------------------------- sessions
def test_registry_finds_the_same_session_by_hash_and_frees_it_on_release(ring_trainer):
    registry = Registry()
    a = registry.get(None, "hash-a")
    assert registry.get(None, "hash-a") is a
    assert registry.get(a, "other-hash") is a  # gr.State wins over the hash
    b = registry.get(None, "hash-b")
    assert b is not a and len(registry) == 2
    a.set_trainer(ring_trainer)
    registry.release("hash-a")
    assert a.closed and a.trainer is None and a.stop.is_set()
    assert registry.get(None, "hash-a") is not a  # a closed tab's session is never reused


def test_registry_sweeps_idle_sessions_but_not_training_ones():
    registry = Registry()
    idle, busy = registry.get(None, "idle"), registry.get(None, "busy")
    busy.begin_loop()
    idle.last_used = busy.last_used = time.monotonic() - 100
    registry.sweep(ttl_s=50)
    assert idle.closed and not busy.closed


def test_a_new_loop_makes_the_old_one_stop():
    session = Session("s")
    first = session.begin_loop()
    assert session.should_continue(first)
    second = session.begin_loop()
    assert not session.should_continue(first) and session.should_continue(second)
    session.stop.set()
    assert not session.should_continue(second)


def test_timelapse_thins_frames_to_cover_the_whole_run():
    lapse = Timelapse()
    for step in range(1, 1001):
        lapse.offer(step, lambda: Image.new("RGB", (8, 8), (step % 256, 0, 0)))
    steps = [s for s, _ in lapse.frames]
    assert len(steps) <= 120 and steps[0] == 1 and steps[-1] > 900  # first to (nearly) last
    data = lapse.gif(lambda img, s: plots.caption(img, f"step {s}"))
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames > 50


def test_timelapse_without_frames_is_a_clear_error():
    with pytest.raises(ValueError, match="no timelapse yet"):
        Timelapse().gif()


# ----------------------------------------------------------------------------- pictures
def test_layered_view_draws_each_layer_only_when_asked(ring_trainer):
    pictures = {name: np.asarray(plots.trainer_view(ring_trainer, (name,), size=200))
                for name in plots.LAYERS}
    empty = np.asarray(plots.trainer_view(ring_trainer, (), size=200))
    for name, pic in pictures.items():
        assert pic.shape == (200, 200, 3)
        assert (pic != empty).any(), f"layer {name} drew nothing"
    heat = pictures["heatmap"].reshape(-1, 3)
    assert len(np.unique(heat, axis=0)) > 50  # a smooth map, not a flat background
    with pytest.raises(ValueError, match="unknown layer"):
        plots.trainer_view(ring_trainer, ("stars",))


def test_progress_image_is_a_grid_for_images():
    config = PRESETS["mnist-mlp"].replace(g_width=8, d_width=8, batch_size=8, device="cpu")
    trainer = Trainer(config)
    img = plots.progress_image(trainer)
    assert img.width >= 400 and img.width == img.height  # 8x8 tiles of 28 px, enlarged


def test_curve_rows_thin_long_histories_and_keep_gaps(ring_trainer):
    trainer = Trainer(TINY_RING)
    trainer.step(30)
    trainer.step(10, "d")
    rows = charts.curve_rows(trainer.history, max_points=20)
    assert len(rows["step"]) == 20 and rows["step"][-1] == 40.0
    assert math.isnan(rows["loss_g"][-1]) and math.isfinite(rows["loss_d"][-1])


def _reference_rows(history, max_points):
    """curve_rows written the plain way: every bucket's mean of its finite values."""
    rows = [r for r in history if not r.event]
    per = math.ceil(len(rows) / max_points)
    out = {"step": [], **{c: [] for c in charts.CURVES}}
    for start in range(0, len(rows), per):
        bucket = rows[start:start + per]
        out["step"].append(float(bucket[-1].step))
        for c in charts.CURVES:
            finite = [getattr(r, c) for r in bucket
                      if getattr(r, c) is not None and math.isfinite(getattr(r, c))]
            out[c].append(sum(finite) / len(finite) if finite else math.nan)
    return out


def _same_rows(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.allclose(a[key], b[key], rtol=1e-12, equal_nan=True), key


def test_curve_rows_match_the_plain_definition_with_gaps_and_infinities():
    trainer = Trainer(TINY_RING)
    trainer.step(23)
    trainer.step(9, "d")
    trainer.step(5, "g")
    trainer.history[3].loss_d = math.inf  # left out of its bucket's mean, like a None
    for points in (1, 4, 7, 36, 37, 400):
        _same_rows(charts.curve_rows(trainer.history, points),
                   _reference_rows(trainer.history, points))
    assert charts.curve_rows([], 5) == {"step": [], **{c: [] for c in charts.CURVES}}


def test_curve_columns_follow_a_growing_history_and_start_again_when_it_changes():
    trainer = Trainer(TINY_RING)
    columns = charts.CurveColumns()
    trainer.step(7)
    first = columns.update(trainer.history)
    trainer.step(300)  # grows past the first buffer
    _same_rows(columns.update(trainer.history), charts.curve_columns(trainer.history))
    assert len(first["step"]) == 7  # earlier results are copies: later updates leave them be
    trainer.history = trainer.history[:100]  # as a roll-back does, then more steps
    trainer.step(3)
    _same_rows(columns.update(trainer.history), charts.curve_columns(trainer.history))
    other = Trainer(TINY_RING)  # a new run in the same session
    other.step(2)
    assert columns.update(other.history)["step"].tolist() == [1.0, 2.0]
    assert columns.update([])["step"].size == 0


def test_line_chart_and_histogram_draw_their_series():
    steps = list(range(50))
    chart = charts.line_chart(steps, {"a": ([math.sin(s / 5) for s in steps], "#ff0000"),
                                     "b": ([float("nan")] * 50, "#0000ff")},
                             "title", marks=[(20, "lr=0.1")], size=(300, 150))
    arr = np.asarray(chart)
    assert chart.size == (300, 150)
    red = (arr[:, :, 0] > 200) & (arr[:, :, 1] < 90) & (arr[:, :, 2] < 90)
    assert red.sum() > 100  # the curve is drawn
    hist = charts.histogram_chart(np.linspace(0, 1, 11), {"real": ([0] * 9 + [5], "#16803d")},
                                 size=(300, 150))
    assert hist.size == (300, 150)
    with pytest.raises(ValueError, match="one count per bin"):
        charts.histogram_chart([0, 1], {"x": ([1, 2], "#000000")})


def test_nice_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 301, 5) == [0.0, 100.0, 200.0, 300.0]
    assert charts.nice_ticks(0.93, 1.4, 5) == [1.0, 1.1, 1.2, 1.3, 1.4]
    assert charts.nice_ticks(0.93, 1.4, 3) == [1.0, 1.2, 1.4]


def test_overlay_marks_salient_pixels_in_red():
    base = Image.new("L", (28, 28), 0)
    heat = np.zeros((28, 28))
    heat[10:14, 10:14] = 1.0
    out = np.asarray(plots.overlay(base, heat, size=28))
    assert out[12, 12, 0] > 100 and out[0, 0, 0] == 0


def test_sketch_becomes_white_ink_on_black():
    from playground.ui.discriminator_tab import sketch_to_image

    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    canvas.paste((0, 0, 0, 255), (100, 50, 180, 230))  # a black stroke
    img = sketch_to_image({"composite": canvas, "background": None, "layers": []})
    assert img.mode == "L" and img.getpixel((140, 140)) == 255 and img.getpixel((5, 5)) == 0


def test_form_values_round_trip_through_config_from_form():
    from playground.ui.form import FIELDS, config_from_form, form_values

    for name, config in PRESETS.items():
        values = dict(zip(FIELDS, form_values(config)))
        assert config_from_form(values) == config, name
    values = dict(zip(FIELDS, form_values(PRESETS["ring8"])))
    values["g_lr"] = -1.0
    with pytest.raises(ValueError, match="g_lr"):
        config_from_form(values)
    values = dict(zip(FIELDS, form_values(PRESETS["ring8"])), dataset="images")
    with pytest.raises(ValueError, match="upload a .zip"):
        config_from_form(values)


def test_gpu_wrapper_is_identity_without_spaces():
    from playground.ui.common import gpu

    def f(x: int) -> int:
        return x + 1

    assert gpu(f) is f and gpu(duration=5)(f) is f


def test_torch_threads_are_not_changed_by_the_ui_modules():
    before = torch.get_num_threads()
    import playground.ui.app  # noqa: F401

    assert torch.get_num_threads() == before


def test_every_setting_control_has_a_one_line_info():
    import gradio as gr

    from playground.ui import Limits, build_app

    demo = build_app(device="cpu", limits=Limits(), checkpoints_dir="/nonexistent")
    kinds = (gr.Dropdown, gr.Number, gr.Slider, gr.Radio, gr.Checkbox, gr.CheckboxGroup,
             gr.Textbox)
    controls = [b for b in demo.blocks.values() if isinstance(b, kinds)]
    assert len(controls) > 30
    missing = [getattr(b, "label", "?") for b in controls if not getattr(b, "info", None)]
    assert not missing, f"controls without info=: {missing}"
    assert all("\n" not in b.info for b in controls)


@pytest.mark.parametrize("preset", ["ring8", "mnist-cgan"])
def test_progress_jobs_on_model_copies_match_the_live_models_and_ignore_later_steps(preset):
    overrides = {"spectral_norm": True} if preset == "ring8" else {}  # a parametrized D to copy
    trainer = Trainer(PRESETS[preset].replace(g_width=8, d_width=8, batch_size=16, device="cpu",
                                              **overrides))
    copies = plots.ModelCopies()
    trainer.step(2)
    job = plots.progress_job(trainer, plots.LAYERS, copies)
    direct = plots.progress_numbers(trainer)
    ran = job.run()
    if isinstance(direct, plots.Layered):
        for name in ("scores", "points", "moves", "real"):
            np.testing.assert_array_equal(getattr(ran, name), getattr(direct, name))
    else:
        assert torch.equal(ran, direct)
    trainer.step(3)  # a new job takes the new weights into the same copies
    again = plots.progress_job(trainer, plots.LAYERS, copies).run()
    changed = plots.progress_numbers(trainer)
    first, second = (x.points if isinstance(x, plots.Layered) else x for x in (ran, again))
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    assert np.array_equal(np.asarray(second), np.asarray(
        changed.points if isinstance(changed, plots.Layered) else changed))
    assert all(p.grad is None and not p.requires_grad for m in copies._models
               for p in m.parameters())


def test_view_files_jpeg_colour_pictures_and_keep_the_rest_lossless(tmp_path):
    from playground.ui.train_tab import view_file

    rng = np.random.default_rng(0)
    smooth = np.clip(np.add.outer(np.arange(200), np.arange(200))[:, :, None] * [0.5, 0.3, 0.2]
                     + rng.normal(0, 2, (200, 200, 3)), 0, 255).astype(np.uint8)
    colour, grey = Image.fromarray(smooth, "RGB"), Image.fromarray(smooth[:, :, 0], "L")
    picture = view_file(colour, tmp_path, "picture")
    assert picture.endswith(".jpg")
    back = np.asarray(Image.open(picture).convert("RGB"), dtype=np.int16)
    assert np.abs(back - smooth).mean() < 2.0  # quality 95, no chroma subsampling
    for image, kind in ((grey, "picture"), (colour, "losses")):
        path = view_file(image, tmp_path, kind)
        assert path.endswith(".png")
        assert np.array_equal(np.asarray(Image.open(path)), np.asarray(image))
    assert view_file(None, tmp_path, "picture") is None


def test_greyscale_progress_grids_are_one_channel_pictures():
    config = PRESETS["mnist-dcgan"].replace(batch_size=8, device="cpu")
    assert plots.progress_image(Trainer(config)).mode == "L"
