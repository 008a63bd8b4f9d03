"""Your own 2D data: points in a config (drawn or from a CSV), their data set, their metrics,
their checkpoints and exports, and a drawn letter learnt with the ring8 recipe."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import tiny
from playground.checkpoint import load_checkpoint, save_checkpoint
from playground.cli import main as cli
from playground.config import DataConfig
from playground.data import load_dataset
from playground.export import export_script
from playground.metrics import evaluate_generator, share_near
from playground.points_io import PointsError, points_csv, read_points_csv
from playground.presets import get_preset
from playground.sample import generate
from playground.settings import MAX_POINTS, SettingError
from playground.toy2d import points_set
from playground.train import Trainer


def letter_s(n: int = 500) -> np.ndarray:
    """An "S" of n points in [-0.5, 0.5] x [-1, 1], as a hand would draw it: two arcs."""
    u = np.linspace(0, 1, n)
    top = u < 0.5
    angle = np.where(top, math.pi * (0.15 + 2.6 * u), math.pi * (0.5 - 2.6 * (u - 0.5)))
    return np.stack([0.5 * np.cos(angle), np.where(top, 0.5, -0.5) + 0.5 * np.sin(angle)], 1)


# ------------------------------------------------------------------ the setting
def test_points_are_a_checked_setting():
    data = DataConfig(dataset="points", points=[[0, 1], (2.5, -3)])
    assert data.points == ((0.0, 1.0), (2.5, -3.0)) and data.is_2d
    cases = [
        (dict(dataset="points"), "needs at least one point"),
        (dict(dataset="points", points=[[0, float("nan")]]), r"point 1 \(0.0, nan\) is not finite"),
        (dict(dataset="points", points=[[0, 1], [1, 2, 3]]), "point 2 .* is not a pair"),
        (dict(dataset="points", points=[[0, "a"]]), "point 1 .* is not a pair of numbers"),
        (dict(dataset="points", points=[[0, True]]), "is not a pair of numbers"),
        (dict(dataset="points", points=[[11, 0]]), r"outside \[-10, 10\]"),
        (dict(dataset="points", points="0,0"), "must be a list of"),
        (dict(dataset="points", points=[[0, 0]] * (MAX_POINTS + 1)), "too many: at most 10,000"),
        (dict(dataset="ring8", points=[[0, 0]]), "only with dataset='points'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SettingError, match=message) as e:
            DataConfig(**kwargs)
        assert e.value.field == "points"


def test_the_points_data_set_is_a_mixture_around_them():
    pts = letter_s(200)
    toy = points_set(pts)
    assert toy.is_points and toy.lim == 1.5 and toy.sigma == pytest.approx(0.03)
    data = load_dataset(DataConfig(dataset="points", points=pts.tolist()))
    x, _ = data.batch(5000, torch.Generator().manual_seed(0))
    d = np.linalg.norm(x.numpy()[:, None] - pts[None], axis=2).min(1)
    assert np.median(d) < 0.04 and (d < 0.15).all()  # near the points, jittered
    assert torch.equal(x, data.batch(5000, torch.Generator().manual_seed(0))[0])
    assert points_set([[0.1, 0.1]]).lim == 1.0 and points_set([[9, -2]]).lim == 11.0


def test_quality_of_a_points_model_says_how_much_lies_on_the_data():
    pts = letter_s(300)
    trainer = Trainer(tiny("ring8", dataset="points", points=pts.tolist()))
    m = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model)
    assert m["points_total"] == 300 and "modes_total" not in m
    assert 0 <= m["high_quality_pct"] <= 100 and 0 <= m["points_reached_pct"] <= 100
    assert m["near_radius"] == pytest.approx(3 * trainer.dataset.toy.sigma)
    assert m["kl"] > 0 and m["js"] > 0


# ------------------------------------------------------------------ CSV files
def test_csv_files_of_points_read_as_people_write_them():
    assert read_points_csv(b"0,0\n1,2.5\n\n-1e-1, 3\n") == [[0, 0], [1, 2.5], [-0.1, 3]]
    assert read_points_csv(b"x;y\r\n1;2\r\n") == [[1, 2]]
    assert read_points_csv("\ufeffx\ty\n1\t2\n".encode()) == [[1, 2]]
    assert read_points_csv(b"1 2\n3 4\n") == [[1, 2], [3, 4]]
    # Our own export reads back: seed,x,y.
    exported = points_csv([5, 6], np.array([[0.25, -0.5], [1, 2]]))
    assert exported.splitlines()[0] == "seed,x,y"
    assert read_points_csv(exported.encode()) == [[0.25, -0.5], [1, 2]]


@pytest.mark.parametrize("data, message", [
    (b"", "holds no points"),
    (b"x,y\n", "a header but no points"),
    (b"a,b,c\n1,2,3\n", "names no columns x and y"),
    (b"1,2,3\n", "3 columns; give two"),
    (b"1,2\n3\n", "line 2: '3' does not have the 2 columns"),
    (b"1,2\n3,abc\n", "line 2: 'abc' is not a number"),
    (b"1,2\n3,nan\n", "line 2: .* is not finite"),
    (b"1,2\n30,0\n", r"outside \[-10, 10\]"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    (b"\xff\xfe1,2", "not UTF-8 text"),
    (b"0,0\n" * (MAX_POINTS + 1), "holds 10,001 points: at most 10,000"),
    (b"0" * 2_100_000, "holds at most 10,000 points"),
])
def test_bad_csv_files_are_refused_naming_the_line(data, message):
    with pytest.raises(PointsError, match=message):
        read_points_csv(data, "my.csv")


# ------------------------------------------------------------------ runs on your points
def test_points_travel_in_checkpoints_so_sampling_and_resume_work(tmp_path):
    pts = letter_s(100).tolist()
    a = Trainer(tiny("ring8", dataset="points", points=pts, steps=20))
    a.step(10)
    path = save_checkpoint(a, tmp_path / "s.safetensors")
    b = load_checkpoint(path)
    assert b.config.data.points == a.config.data.points and b.dataset.toy.is_points
    a.step(5)
    b.step(5)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))
    assert torch.equal(generate(a.sampler(), [1, 2], 16), generate(b.sampler(), [1, 2], 16))


def test_the_cli_trains_on_a_csv_and_writes_points_back(tmp_path, capsys):
    csv = tmp_path / "pts.csv"
    csv.write_text("x,y\n" + "\n".join(f"{x},{y}" for x, y in letter_s(50)))
    out = tmp_path / "p.safetensors"
    assert cli(["train", "--points", str(csv), "--steps", "5", "--batch-size", "16",
                "--out", str(out), "--quiet"]) == 0
    assert load_checkpoint(out).config.data.dataset == "points"
    assert cli(["sample", "--checkpoint", str(out), "--seeds", "0-9", "--csv",
                str(tmp_path / "o.csv")]) == 0
    assert len(read_points_csv((tmp_path / "o.csv").read_bytes())) == 10
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,oops\n")
    assert cli(["train", "--points", str(bad), "--steps", "5"]) == 2
    assert "bad.csv, line 2: 'oops' is not a number" in capsys.readouterr().err


def test_the_export_carries_your_points(tmp_path):
    pts = letter_s(40).tolist()
    config = get_preset("ring8").replace(dataset="points", points=pts, steps=20, noise="uniform")
    script = tmp_path / "run.py"
    script.write_text(export_script(config))
    done = subprocess.run([sys.executable, "-I", str(script), "--steps", "20", "--out",
                           str(tmp_path / "run.safetensors")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trainer = load_checkpoint(tmp_path / "run.safetensors")
    assert trainer.config.data.points == config.data.points
    assert trainer.config.model.noise == "uniform" and trainer.fixed_noise.abs().max() <= 1


@pytest.mark.slow
def test_a_drawn_letter_is_learnt_with_the_ring8_recipe():
    """Issue 14's figure: an "S" of ~500 points, the ring8 preset as it stands, headless:
    >= 90 % of generated points within 0.1 of a drawn point (measured here: 100 % at 3,000
    steps on seed 0, 98.8 % on seed 1)."""
    pts = letter_s(500)
    config = get_preset("ring8").replace(dataset="points", points=pts.tolist(), device="cpu")
    trainer = Trainer(config)
    trainer.step(config.train.steps)
    fake = generate(trainer.sampler(), range(2500), config.model.z_dim)
    near = share_near(fake, pts, 0.1)
    assert near >= 0.90, near
    m = evaluate_generator(trainer.sampler(), trainer.dataset, config.model)
    assert m["high_quality_pct"] >= 90 and m["points_reached_pct"] >= 80
