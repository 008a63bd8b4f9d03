"""Live frames: the format the browser draws from, against the numbers of the models themselves."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from playground import plots
from playground.charts import curve_columns
from playground.codec import points_to_u16, u16_to_points
from playground.frames import (FAKE_POINTS, FRAME_VERSION, FrameHead, ViewFrame, check_frame,
                               curves_since, decode_view, encode_view, make_frame,
                               preview_frame, real_points, view_job, view_lim)
from playground.presets import PRESETS
from playground.train import Trainer


def _trainer(preset: str, steps: int = 20, **changes) -> Trainer:
    small = {"g_width": 16, "d_width": 16, "batch_size": 32} if preset in ("ring8", "grid25") \
        else {"g_width": 8, "d_width": 8, "batch_size": 16}
    trainer = Trainer(PRESETS[preset].replace(device="cpu", **{**small, **changes}))
    trainer.step(steps)
    return trainer


def _frame(trainer: Trainer, since: int = -1, real: bool = True) -> dict:
    view = view_job(trainer).run()
    head = FrameHead(3, "run-1", trainer.step_count, trainer.config.train.steps, "training",
                     marks=[(5, "g_lr=0.001")])
    columns = curve_columns(trainer.history)
    return make_frame(head, curves_since(columns, since, head.target),
                      encode_view(view, real_points(trainer).numpy() if real and view.kind == "2d"
                                  else None))


def test_a_2d_frame_holds_the_models_numbers_quantised():
    trainer = _trainer("ring8")
    frame = _frame(trainer)
    check_frame(frame)
    assert frame["v"] == FRAME_VERSION and frame["kind"] == "2d" and frame["step"] == 20
    view = decode_view(frame["view"])
    lim = view_lim(trainer)
    # Against today's picture code, computed from the same models and noise:
    direct = plots.layered_numbers(trainer.sampler(), trainer.D, trainer.fixed_noise[:FAKE_POINTS],
                                   real_points(trainer), lim, trainer.config.train.loss,
                                   resolution=40)
    step = 4 * lim / 65535
    assert np.abs(u16_to_points(view.fake, lim) - direct.points).max() <= step / 2 + 1e-9
    assert np.abs(view.heat / 255 - direct.scores).max() <= 0.5 / 255 + 1e-9
    moves = view.moves.astype(np.float64) * view.move_scale
    typical = np.percentile(np.linalg.norm(direct.moves, axis=1), 95)
    limit = 127 * view.move_scale  # longer moves are cut at the 8-bit range
    assert np.abs(moves - np.clip(direct.moves, -limit, limit)).max() <= \
        0.51 * view.move_scale + 1e-12
    assert typical > 0 and view.move_scale == pytest.approx(typical / 64)


def test_an_image_frame_is_the_fixed_noise_grid_with_d_scores():
    trainer = _trainer("mnist-cgan", steps=2)
    frame = _frame(trainer)
    check_frame(frame)
    view = decode_view(frame["view"])
    images = trainer.fixed_samples()[:64]
    expected = ((images.clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8).numpy()
    assert np.array_equal(view.grid, expected)
    assert view.labels == [i % 10 for i in range(64)] and view.scores.shape == (64,)


def test_frames_round_trip_and_a_wrong_version_is_refused():
    frame = json.loads(json.dumps(_frame(_trainer("ring8"))))
    check_frame(frame)
    back = decode_view(frame["view"])
    again = decode_view(encode_view(back))
    for name in ("fake", "fake_scores", "moves", "heat"):
        assert np.array_equal(getattr(back, name), getattr(again, name))
    for bad in ({**frame, "v": 0}, {**frame, "kind": "video"}, {**frame, "step": "7"}, []):
        with pytest.raises(ValueError):
            check_frame(bad)


@pytest.mark.parametrize("preset, budget", [("ring8", 10_000), ("grid25", 10_000),
                                            ("mnist-dcgan", 60_000)])
def test_a_frame_of_each_kind_stays_under_its_byte_budget(preset, budget):
    trainer = _trainer(preset)
    # A frame while training: the curve points of about one refresh, the real points sent once.
    frame = _frame(trainer, since=trainer.step_count - 10, real=False)
    assert len(json.dumps(frame)) < budget


def test_curves_are_sent_once_and_long_runs_in_buckets():
    trainer = _trainer("ring8", steps=30)
    columns = curve_columns(trainer.history)
    first = curves_since(columns, -1, 3000)
    assert first["from"] == -1 and first["step"] == list(range(1, 31)) and first["per"] == 1
    later = curves_since(columns, 25, 3000)
    assert later["step"] == [26, 27, 28, 29, 30]
    assert later["loss_d"] == [float(f"{v:.4g}") for v in columns["loss_d"][25:]]
    long = curves_since(columns, -1, 30_000)  # buckets of 10 steps: 1-10, 11-20, 21-30
    assert long["per"] == 10 and long["step"] == [10, 20, 30]
    assert long["loss_d"][0] == pytest.approx(columns["loss_d"][:10].mean(), rel=1e-3)
    assert curves_since(columns, 40, 3000)["from"] == -1  # beyond the history: all again


def test_points_quantise_over_twice_the_view():
    lim = 1.5
    pts = np.array([[0.0, 0.0], [-2.9, 2.9], [10.0, -10.0]])
    back = u16_to_points(points_to_u16(pts, lim), lim)
    assert np.abs(back[:2] - pts[:2]).max() < 4 * lim / 65535
    assert np.allclose(back[2], [2 * lim, -2 * lim])  # clipped at twice the view


def test_the_view_before_a_run_shows_the_real_data():
    frame = preview_frame("ring8")
    check_frame(frame)
    assert frame["kind"] == "2d" and frame["view"]["preview"] and frame["state"] == "idle"
    digits = preview_frame("mnist")
    check_frame(digits)
    assert digits["view"]["grid"]["shape"] == [64, 1, 28, 28]


def test_view_frames_know_their_size():
    view = ViewFrame(1, "images", grid=np.zeros((64, 1, 28, 28), np.uint8),
                     scores=np.zeros(64, np.uint8))
    assert view.nbytes == 64 * 28 * 28 + 64


@pytest.mark.parametrize("pack", [1, 2, 3])
def test_a_view_on_the_runs_copies_equals_the_view_on_its_models(pack):
    from playground.frames import ModelCopies

    trainer = _trainer("ring8", steps=5, pack=pack, batch_size=24)
    direct = view_job(trainer).run()
    copied = view_job(trainer, ModelCopies()).run()  # the lean pass the live view uses
    assert np.array_equal(direct.fake, copied.fake)
    assert np.abs(direct.heat.astype(int) - copied.heat.astype(int)).max() <= 1
    assert np.abs(direct.fake_scores.astype(int) - copied.fake_scores.astype(int)).max() <= 1
    assert np.abs(direct.moves.astype(int) - copied.moves.astype(int)).max() <= 1
