"""Unit tests for the app's parts below the page: hosting limits, sessions, pictures, form."""
from __future__ import annotations

import dataclasses
import io
import math
import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import wait_for
from playground import charts, plots
from playground.presets import PRESETS
from playground.train import Trainer
from playground.ui.limits import Limits, LimitError
from playground.live import LiveRun
from playground.turns import Slots
from playground.ui.session import Registry

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
    assert registry.by_token(a.token) is a and registry.by_token("nope") is None
    run = LiveRun(ring_trainer, "run-a", "ring8", Slots(1))
    a.set_run(run)
    registry.release("hash-a")
    assert a.closed and a.trainer is None and run.closed
    assert registry.get(None, "hash-a") is not a  # a closed tab's session is never reused
    assert registry.by_token(a.token) is None


def test_registry_sweeps_idle_sessions_but_not_training_ones():
    registry = Registry()
    idle, busy = registry.get(None, "idle"), registry.get(None, "busy")
    run = LiveRun(Trainer(TINY_RING.replace(steps=100_000)), "busy-run", "ring8", Slots(1))
    busy.set_run(run)
    run.start()
    try:
        idle.last_used = busy.last_used = time.monotonic() - 100
        registry.sweep(ttl_s=50)
        assert idle.closed and not busy.closed
    finally:
        run.close()


def test_sessions_over_the_cap_close_the_one_idle_the_longest_saving_it_first():
    saved = []
    registry = Registry()
    registry.max_runs = 2
    registry.on_save_run = lambda run: saved.append(run.run_id)
    sessions = [registry.get(None, f"s{i}") for i in range(3)]
    for i, session in enumerate(sessions[:2]):
        session.set_run(LiveRun(Trainer(TINY_RING), f"r{i}", "ring8", Slots(1)))
        session.run.step_once("both")  # a run with something to keep
    sessions[0].last_used -= 100  # idle the longest
    registry.make_room(sessions[2])
    assert sessions[0].closed and saved == ["r0"] and not sessions[1].closed
    sessions[2].set_run(LiveRun(Trainer(TINY_RING), "r2", "ring8", Slots(1)))
    for session in sessions[1:]:
        session.run.state = "training"  # as if both trained: no room, and nothing is closed
    newcomer = registry.get(None, "s3")
    with pytest.raises(ValueError, match="GP_MAX_SESSIONS"):
        registry.make_room(newcomer)
    assert not any(s.closed for s in sessions[1:])


# ----------------------------------------------------------------------------- pictures
def _ring_view(trainer):
    from playground.frames import real_points, view_job

    return view_job(trainer).run(), real_points(trainer).numpy()


def test_draw_view_draws_each_layer_only_when_asked(ring_trainer):
    view, real = _ring_view(ring_trainer)
    pictures = {name: np.asarray(plots.draw_view(view, real, (name,), size=200))
                for name in plots.LAYERS}
    empty = np.asarray(plots.draw_view(view, real, (), size=200))
    for name, pic in pictures.items():
        assert pic.shape == (200, 200, 3)
        assert (pic != empty).any(), f"layer {name} drew nothing"
    heat = pictures["heatmap"].reshape(-1, 3)
    assert len(np.unique(heat, axis=0)) > 50  # a smooth map, not a flat background
    with pytest.raises(ValueError, match="unknown layer"):
        plots.draw_view(view, real, ("stars",))


def test_draw_view_of_images_is_the_pixel_exact_grid():
    from playground.frames import view_job

    config = PRESETS["mnist-dcgan"].replace(g_width=8, d_width=8, batch_size=8, device="cpu")
    view = view_job(Trainer(config)).run()
    img = plots.draw_view(view)
    assert img.mode == "L" and img.width >= 400 and img.width == img.height  # 8 x 8 tiles
    scale = img.width // (8 * 30 + 2)
    tile = np.asarray(img)[2 * scale:(2 + 28) * scale:scale, 2 * scale:(2 + 28) * scale:scale]
    assert np.array_equal(tile, view.grid[0, 0])  # nearest neighbour: every pixel as sent


def test_timelapse_gif_covers_the_frames_with_their_steps(ring_trainer):
    from playground.timelapse import Timelapse

    view, real = _ring_view(ring_trainer)
    lapse = Timelapse()
    for step in range(1, 1001):
        lapse.offer(dataclasses.replace(view, step=step))
    steps = [f.step for f in lapse.frames]
    assert len(steps) <= 120 and steps[0] == 1 and steps[-1] > 900  # first to (nearly) last
    gif = Image.open(io.BytesIO(plots.timelapse_gif(lapse.frames[:5], real)))
    assert gif.format == "GIF" and gif.n_frames == 5 and gif.width == 440
    with pytest.raises(ValueError, match="no timelapse yet"):
        plots.timelapse_gif([], real)


def test_sample_points_draw_the_real_data_under_and_leave_out_overlapping_labels():
    real = np.array([[0.5, 0.5]] * 20)
    bare = np.asarray(plots.points_view(np.zeros((3, 2)), 1.5, size=200))
    under = np.asarray(plots.points_view(np.zeros((3, 2)), 1.5, size=200, real=real))
    assert (under != bare).any()  # the real points are drawn
    crowded = plots.points_view(np.zeros((40, 2)), 1.5, [str(i) for i in range(40)], size=200)
    assert 0 < crowded.info["unlabelled"] < 40  # some fit around the point, the rest are left out
    apart = plots.points_view(np.array([[-1.0, -1.0], [1.0, 1.0]]), 1.5, ["a", "b"], size=200)
    assert apart.info["unlabelled"] == 0


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


def test_a_drawing_is_a_small_png_checked_before_it_is_decoded():
    import base64

    import gradio as gr

    from playground.ui.sketch import PREFIX, sketch_image

    pad = Image.new("RGB", (280, 280), "black")
    pad.paste((255, 255, 255), (120, 40, 160, 240))
    buf = io.BytesIO()
    pad.save(buf, format="PNG")
    img = sketch_image(PREFIX + base64.b64encode(buf.getvalue()).decode())
    assert img.mode == "L" and img.getpixel((140, 140)) == 255 and img.getpixel((5, 5)) == 0
    huge = io.BytesIO()
    Image.new("1", (3000, 3000)).save(huge, format="PNG")
    for bad, pattern in (("", "Draw something"), ("data:text/html,<b>", "PNG image"),
                         (PREFIX + "%%%", "not valid base64"),
                         (PREFIX + base64.b64encode(huge.getvalue()).decode(), "at most 1024")):
        with pytest.raises(gr.Error, match=pattern):
            sketch_image(bad)


def test_form_values_round_trip_through_config_from_form():
    from playground.ui.form import FIELDS, config_from_form, form_values

    for name, config in PRESETS.items():
        values = dict(zip(FIELDS, form_values(config)))
        assert config_from_form(values) == config, name
    values = dict(zip(FIELDS, form_values(PRESETS["ring8"])))
    values["g_lr"] = -1.0
    with pytest.raises(ValueError, match="G learning rate: g_lr"):
        config_from_form(values)
    values = dict(zip(FIELDS, form_values(PRESETS["mnist-dcgan"])), beta1=0)  # as a form sends it
    assert config_from_form(values).train.beta1 == 0.0 and isinstance(
        config_from_form(values).train.beta1, float)
    for name, value in (("steps", 12.5), ("batch_size", "")):
        values = dict(zip(FIELDS, form_values(PRESETS["ring8"])), **{name: value})
        with pytest.raises(ValueError) as info:
            config_from_form(values)
        assert info.value.field == name
    values = dict(zip(FIELDS, form_values(PRESETS["ring8"])), batch_size=5000)
    with pytest.raises(LimitError, match=r"Batch size: batch_size=5000 is over this server's "
                       r"limit of 1,024"):  # the tighter bound, not the config's own 4096
        config_from_form(values, limits=Limits())
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
    not_settings = ("link-query", "link-box")  # the page's link (links.py), not a setting
    controls = [b for b in demo.blocks.values() if isinstance(b, kinds) and
                getattr(b, "elem_id", None) not in not_settings]
    assert len(controls) > 30
    missing = [getattr(b, "label", "?") for b in controls if not getattr(b, "info", None)]
    assert not missing, f"controls without info=: {missing}"
    assert all("\n" not in b.info for b in controls)


@pytest.mark.parametrize("preset", ["ring8", "mnist-cgan"])
def test_views_on_model_copies_match_the_live_models_and_ignore_later_steps(preset):
    from playground.frames import ModelCopies, view_job

    overrides = {"spectral_norm": True} if preset == "ring8" else {}  # a parametrized D to copy
    trainer = Trainer(PRESETS[preset].replace(g_width=8, d_width=8, batch_size=16, device="cpu",
                                              **overrides))
    copies = ModelCopies()
    trainer.step(2)
    job = view_job(trainer, copies)
    direct = view_job(trainer).run()
    ran = job.run()
    for name in ("fake", "moves", "heat", "fake_scores", "grid", "scores"):
        a, b = getattr(ran, name), getattr(direct, name)
        assert (a is None and b is None) or np.array_equal(a, b), name
    trainer.step(3)  # a new job takes the new weights into the same copies
    again = view_job(trainer, copies).run()
    changed = view_job(trainer).run()
    key = "fake" if trainer.is_2d else "grid"
    assert not np.array_equal(getattr(ran, key), getattr(again, key))
    assert np.array_equal(getattr(again, key), getattr(changed, key))
    assert all(p.grad is None and not p.requires_grad for m in copies._models
               for p in m.parameters())


def test_a_replaced_run_is_freed_without_a_full_collection_on_the_way_and_its_cycles_soon_after(
        monkeypatch):
    """Replacing a run (a Train press) does not wait for a full garbage collection (~0.2 s of a
    server's heap); reference cycles the old run left are still collected a moment later, in the
    background."""
    import gc
    import threading
    import weakref

    from playground.ui import session as session_module

    monkeypatch.setattr(session_module, "COLLECT_AFTER_S", 0.1)
    full: list[str] = []  # the threads that ran a full collection

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(threading.current_thread().name)

    registry = Registry()
    s = registry.get(None, "replacing")
    old = LiveRun(Trainer(TINY_RING), "old-run", "ring8", Slots(1))
    old.trainer.itself = old.trainer  # a reference cycle: only a collection frees it
    old_g = weakref.ref(old.trainer.G)
    gc.callbacks.append(seen)
    gc.disable()
    try:
        s.set_run(old)
        del old
        s.set_run(LiveRun(Trainer(TINY_RING), "new-run", "ring8", Slots(1)))
        assert threading.current_thread().name not in full  # no full collection on the way
        deadline = time.monotonic() + 10
        while old_g() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert old_g() is None, "the old run's cycle was never collected"
        assert "return-memory" in full
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
        s.close()


# ----------------------------------------------------------------------------- following a run
def test_following_a_run_sends_each_output_again_only_when_it_changed(monkeypatch):
    """While the run trains, the stream that follows it never repeats an older copy of the status
    or the quality (a quick event, Measure or Reset, answering on the same output would be
    overwritten); its last update, once the run stopped, is whole (an API client's result)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import gradio as gr

    from playground.ui import train_events
    from playground.ui.train_events import TrainEvents

    monkeypatch.setattr(train_events, "FOLLOW_S", 0.02)
    session = Registry().get(None, "follow")
    run = LiveRun(Trainer(TINY_RING.replace(steps=100_000)), "r", "ring8", Slots(1),
                  evaluate=lambda t: {"metric_set": "2d", "modes_total": 8, "modes_captured": 8,
                                      "high_quality_pct": 95.0})
    run.measure_every = 0  # only the measurement below (a fast machine reaches step 1,000)
    session.set_run(run)
    skip = gr.skip()

    async def watch():
        sent, stream = [], TrainEvents(None).follow(session, run)
        async for out in stream:
            sent.append(out)
            if len(sent) == 3:
                run.measure()  # a new measurement: the quality is sent once more, then not
            if len(sent) == 6:
                run.pause()
        return sent

    run.start()
    try:
        # (from "waiting" to "training" the status changes: followed from the training on)
        wait_for(lambda: run.state == "training", 30, "the run training")
        # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(asyncio.run, asyncio.wait_for(watch(), 60)).result()
    finally:
        run.close()
    status, quality = [o[1] for o in sent[:-1]], [o[2] for o in sent[:-1]]
    assert status[0] != skip and all(s == skip for s in status[1:])
    fresh = [q for q in quality if q != skip]
    assert len(fresh) == 2 and "not measured yet" in fresh[0] and "Quality at step" in fresh[1]
    # The last, once stopped, is whole: and the status adds the last step's numbers then.
    assert sent[-1][2] == fresh[1]
    last = run.trainer.history[-1]
    assert sent[-1][1].startswith(status[0]) and sent[-1][1].endswith(
        f"Step {last.step:,}: loss_D {last.loss_d:.3f} · loss_G {last.loss_g:.3f} · D(x) "
        f"{last.d_real:.3f} · D(G(z)) {last.d_fake:.3f}")
    steps = [o[3]["step"] for o in sent]  # the summary, for API clients, is always sent
    assert steps == sorted(steps) and sent[-1][3]["state"] == "paused"


def test_a_live_edit_from_the_page_takes_only_the_field_that_sent_it(tmp_path):
    """A field's Enter or blur sends the whole form (the edit event has every live field as an
    input): another field may be half-typed then, empty or "1" on its way to "10". Only the
    sender is taken; the half-typed one is checked when it is itself sent. An API call (no
    sender) still applies and checks every field it sends."""
    from types import SimpleNamespace

    import gradio as gr

    from playground.settings import SettingError
    from playground.ui.common import AppContext
    from playground.ui.train_events import TrainEvents

    ctx = AppContext(runs_dir=tmp_path / "runs", workdir=tmp_path)
    session = Registry().get(None, "edit")
    session.set_run(LiveRun(Trainer(TINY_RING), "r", "ring8", Slots(1)))
    events = TrainEvents(ctx)
    page = dict(TINY_RING.train.__dict__)  # the form as it stands
    sent_by = lambda name: gr.EventData(SimpleNamespace(elem_id=f"field-{name}"), {})  # noqa: E731
    try:
        words = events.edit(session, evt=sent_by("g_lr"), **{**page, "g_lr": 0.005, "d_lr": ""})
        assert "g_lr" in words and "d_lr" not in words
        assert session.run.trainer.config.train.g_lr == 0.005
        words = events.edit(session, evt=sent_by("g_lr"), **{**page, "g_lr": 0.005, "d_lr": 1})
        assert words == gr.skip()  # nothing new: what the page said stays
        assert session.run.trainer.config.train.d_lr == TINY_RING.train.d_lr
        with pytest.raises(SettingError, match="D learning rate is empty"):
            events.edit(session, evt=sent_by("d_lr"), **{**page, "d_lr": ""})
        with pytest.raises(SettingError, match="D learning rate is empty"):
            events.edit(session, **{**page, "d_lr": ""})  # the API: every field is checked
        assert session.run.trainer.config.train.d_lr == TINY_RING.train.d_lr
    finally:
        session.run.close()
