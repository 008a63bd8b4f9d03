"""The command line, run in-process: train, sample, judge, and one-line errors."""
import pickle
import subprocess
import sys

from PIL import Image

from playground.checkpoint import load_checkpoint
from playground.cli import main


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
    assert line[0] == str(png) and 0.0 <= float(line[1]) <= 1.0


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
    assert load_checkpoint(out).step_count == 15


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    evil = tmp_path / "evil.safetensors"
    marker = tmp_path / "marker"
    evil.write_bytes(pickle.dumps({"a": 1}))
    cases = [
        ["train", "--preset", "nope", "--quiet"],
        ["train", "--preset", "ring8", "--g-lr", "-1", "--quiet"],
        ["sample", "--checkpoint", str(evil), "--out", str(tmp_path / "x.png")],
        ["judge", "--checkpoint", str(tmp_path / "absent.safetensors"), "x.png"],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert not marker.exists()


def test_module_entry_point_lists_presets():
    result = subprocess.run([sys.executable, "-m", "playground", "presets"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "mnist-dcgan" in result.stdout


def test_eval_prints_metrics_as_json(tmp_path, capsys):
    import json
    out = tmp_path / "r.safetensors"
    main(["train", "--preset", "ring8", "--steps", "10", "--out", str(out), "--quiet"])
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["modes_captured"] <= 8 and 0.0 <= result["high_quality_pct"] <= 100.0
    assert result["modes_total"] == 8 and result["kl"] >= 0
