"""The command line: train, sample, judge, eval; Ctrl-C, divergence, alerts and one-line errors."""
import csv
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from app_server import ROOT
from playground import precision
from playground.checkpoint import load_checkpoint
from playground.cli import main
from playground.images import image_to_tensor, open_image
from playground.judge import score_image
from playground.metrics import evaluate_generator
from playground.sample import generate, parse_seeds


class Payload:
    """Unpickling this creates a file: the proof that a pickle was (wrongly) loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_train_sample_judge(tmp_path, capsys):
    ckpt = tmp_path / "d.safetensors"
    assert main(["train", "--preset", "mnist-mlp", "--steps", "6", "--batch-size", "8",
                 "--g-width", "16", "--seed", "1", "--out", str(ckpt), "--quiet"]) == 0
    trainer = load_checkpoint(ckpt)
    assert trainer.step_count == 6 and trainer.config.model.g_width == 16
    png = tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(ckpt), "--seeds", "0-15", "--out", str(png)]) == 0
    assert Image.open(png).size[0] > 28 * 4
    capsys.readouterr()
    assert main(["judge", "--checkpoint", str(ckpt), str(png)]) == 0
    line = capsys.readouterr().out.strip().split("\t")
    expected = score_image(trainer.D, image_to_tensor(open_image(png), trainer.data_shape))
    assert line[0] == str(png) and float(line[1]) == pytest.approx(expected, abs=1e-4)


def test_sample_writes_a_2d_models_points_as_a_picture_and_a_csv(tmp_path):
    ckpt = tmp_path / "r.safetensors"
    assert main(["train", "--preset", "ring8", "--steps", "20", "--out", str(ckpt),
                 "--quiet"]) == 0
    png, points = tmp_path / "r.png", tmp_path / "r.csv"
    assert main(["sample", "--checkpoint", str(ckpt), "--seeds", "0-9", "--out", str(png),
                 "--csv", str(points)]) == 0
    assert Image.open(png).size == (440, 440)
    rows = list(csv.DictReader(open(points)))
    trainer = load_checkpoint(ckpt)
    expected = generate(trainer.sampler(), parse_seeds("0-9"), trainer.config.model.z_dim)
    assert [int(r["seed"]) for r in rows] == list(range(10))
    for row, (x, y) in zip(rows, expected.tolist()):
        assert float(row["x"]) == pytest.approx(x, rel=1e-5, abs=1e-6)
        assert float(row["y"]) == pytest.approx(y, rel=1e-5, abs=1e-6)


def test_same_train_command_twice_gives_identical_weights(tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.safetensors"
        assert main(["train", "--preset", "ring8", "--steps", "20", "--seed", "0",
                     "--out", str(out), "--quiet"]) == 0
        outs.append(load_checkpoint(out).state_tensors())
    assert all((outs[0][k] == outs[1][k]).all() for k in outs[0])


def test_resume_continues_the_same_run(tmp_path):
    out = tmp_path / "r.safetensors"
    main(["train", "--preset", "ring8", "--steps", "10", "--out", str(out), "--quiet"])
    assert main(["train", "--resume", str(out), "--steps", "15", "--out", str(out),
                 "--quiet"]) == 0
    resumed = load_checkpoint(out)
    straight = tmp_path / "s.safetensors"
    main(["train", "--preset", "ring8", "--steps", "15", "--out", str(straight), "--quiet"])
    alone = load_checkpoint(straight)
    assert resumed.step_count == 15
    for key, tensor in alone.state_tensors().items():  # resume = an uninterrupted run
        assert torch.equal(resumed.state_tensors()[key], tensor), key


def test_errors_are_one_line_and_exit_2_and_a_pickle_never_runs(tmp_path, capsys):
    evil = tmp_path / "evil.safetensors"
    marker = tmp_path / "PICKLE-RAN"
    evil.write_bytes(pickle.dumps({"w": Payload(marker)}))
    cases = [
        (["train", "--preset", "nope", "--quiet"], "preset='nope' is not one of"),
        (["train", "--preset", "ring8", "--g-lr", "-1", "--quiet"],
         r"G learning rate: g_lr=-1(\.0)? is out of range"),
        (["sample", "--checkpoint", str(evil), "--out", str(tmp_path / "x.png")],
         "not a safetensors checkpoint"),
        (["train", "--resume", str(evil), "--quiet"], "not a safetensors checkpoint"),
        (["judge", "--checkpoint", str(tmp_path / "absent.safetensors"), "x.png"],
         "cannot read absent.safetensors"),
    ]
    for argv, pattern in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        assert re.search(pattern, err), err
    with pytest.raises(SystemExit) as info:  # a whole number flag: 12.5 is refused, not rounded
        main(["train", "--preset", "ring8", "--steps", "12.5", "--quiet"])
    assert info.value.code == 2 and "invalid int value: '12.5'" in capsys.readouterr().err
    assert not marker.exists(), "an uploaded pickle was loaded"


def test_eval_prints_the_metrics_of_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "r.safetensors"
    main(["train", "--preset", "ring8", "--steps", "10", "--out", str(out), "--quiet"])
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    trainer = load_checkpoint(out)
    expected = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model)
    for key in ("modes_captured", "high_quality_pct", "kl", "js"):
        assert result[key] == pytest.approx(expected[key]), key
    assert (result["trained_steps"], result["trained_precision"]) == (10, "fp32")


def test_train_takes_precision_and_eval_says_how_the_checkpoint_was_trained(tmp_path, capsys):
    out = tmp_path / "b.safetensors"
    flags = ["--preset", "ring8", "--steps", "5", "--batch-size", "16", "--quiet"]
    assert main(["train", *flags, "--precision", "fp64"]) == 2
    assert "precision='fp64' is not one of: fp32, bf16, auto" in capsys.readouterr().err
    if precision.bf16_support(torch.device("cpu")):
        pytest.skip("this CPU has no bf16")
    assert main(["train", *flags, "--precision", "bf16", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["trained_steps: 5", "trained_precision: bf16"]


def _cli(*args, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "playground", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    out = tmp_path / "long.safetensors"
    proc = _cli("train", "--preset", "ring8", "--steps", "1000000", "--out", str(out),
                "--chunk", "20", "--log-every", "100")
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:  # wait for the first summary line: it is training
        line = proc.stderr.readline()
        lines.append(line)
        if line.startswith("step "):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + err
    assert "interrupted at step" in err and f"saved to {out}" in err
    trainer = load_checkpoint(out)
    assert 100 <= trainer.step_count < 1_000_000


def test_divergence_exits_1_and_keeps_the_last_good_state(tmp_path):
    out = tmp_path / "diverged.safetensors"
    proc = _cli("train", "--preset", "ring8", "--steps", "500", "--g-lr", "10", "--d-lr", "10",
                "--g-optimizer", "sgd", "--d-optimizer", "sgd", "--loss", "lsgan",
                "--chunk", "1", "--quiet", "--out", str(out))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert "diverged at step" in err and "saved the last good state" in err
    trainer = load_checkpoint(out)  # loading refuses NaN: the saved state is finite
    assert trainer.step_count < 500


def test_alerts_reach_the_command_line(tmp_path):
    # D far faster than G: D wins outright, and the summaries say so in words.
    proc = _cli("train", "--preset", "ring8", "--steps", "600", "--d-lr", "0.01",
                "--g-lr", "1e-7", "--d-steps", "3", "--log-every", "300", "--quiet",
                "--out", str(tmp_path / "a.safetensors"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "alert: The discriminator is winning outright" in err, err
