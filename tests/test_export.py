"""Show the code (playground/export.py): one standalone file that trains the recipe and writes a
checkpoint the app opens. The exported scripts run in a fresh interpreter, away from the package."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from playground.checkpoint import load_checkpoint, read_metadata
from playground.cli import main
from playground.export import export_script
from playground.metrics import evaluate_generator
from playground.presets import PRESETS, get_preset

DIGITS = Path(__file__).parents[1] / "playground" / "assets" / "mnist_5k.npz"


def run_script(code: str, folder: Path, *args: str) -> Path:
    """Run an exported script where `playground` cannot be imported; its checkpoint's path."""
    script = folder / "run.py"
    script.write_text(code)
    out = folder / "run.safetensors"
    done = subprocess.run([sys.executable, "-I", str(script), "--out", str(out), *args],
                          cwd=folder, capture_output=True, text=True, timeout=900,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_script_stands_alone_and_names_its_settings():
    code = export_script(get_preset("grid25").replace(g_lr=0.0007, loss="wgan-gp"), "a link")
    tree = ast.parse(code)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "argparse", "copy", "json", "math", "struct", "time",
                        "pathlib", "types", "torch", "numpy", "torchvision"}, imported
    assert "'g_lr': 0.0007" in code and "'loss': 'wgan-gp'" in code
    assert "def gradient_penalty" in code and "class MLPGenerator" in code
    assert "class DCGANGenerator" not in code  # only the networks of its arch
    assert "def gradient_penalty" not in export_script(get_preset("ring8"))


def test_data_it_cannot_carry_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="the export carries the 2D sets and the digits"):
        export_script(get_preset("mnist-dcgan").replace(dataset="cifar10", channels=3))


@pytest.mark.slow
def test_an_exported_ring8_reaches_the_presets_bar_and_the_app_opens_it(tmp_path):
    config = PRESETS["ring8"]
    path = run_script(export_script(config), tmp_path)  # the preset's 3,000 steps, ~20 s
    trainer = load_checkpoint(path, device="cpu")
    assert trainer.step_count == config.train.steps and read_metadata(path)["precision"] == "fp32"
    quality = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model)
    # ring8's bar (benchmarks/time_to_quality.py): 8/8 modes and >= 90 % high quality.
    assert quality["modes_captured"] == 8 and quality["high_quality_pct"] >= 90, quality
    trainer.step(5)  # and it trains on from the checkpoint
    assert trainer.step_count == config.train.steps + 5


@pytest.mark.slow
def test_an_exported_digits_dcgan_reaches_the_presets_bar(tmp_path):
    # Scaled down from the preset's 9,000 steps to 2,000 (~3 min in fp32 on one core with its
    # 32-channel G), where the preset's time-to-quality bar applies: FD <= 3x the real-vs-real
    # baseline, 10/10 digits (measured: 2.34x, 10). An untrained G is ~200x with one or two
    # digits.
    path = run_script(export_script(PRESETS["mnist-dcgan"]), tmp_path, "--steps", "2000",
                      "--digits", str(DIGITS), "--log-every", "0")
    trainer = load_checkpoint(path, device="cpu")
    quality = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model)
    assert quality["digits_covered"] == 10 and quality["fd_ratio"] <= 3, quality


def test_the_cli_exports_a_preset_and_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "run.py"
    assert main(["export", "--preset", "grid25", "--g-lr", "0.001", "--out", str(out)]) == 0
    assert "'g_lr': 0.001" in out.read_text() and "grid25" in out.read_text()
    saved = run_script(out.read_text(), tmp_path, "--steps", "20")
    again = tmp_path / "again.py"
    assert main(["export", "--checkpoint", str(saved), "--out", str(again)]) == 0
    # The same file but its header, with the checkpoint's steps (20) as the default.
    trained = out.read_text().replace(f"'steps': {PRESETS['grid25'].train.steps}", "'steps': 20")
    assert again.read_text().split("# ---")[1:] == trained.split("# ---")[1:]
    capsys.readouterr()
    assert main(["export", "--checkpoint", str(tmp_path / "missing.safetensors")]) == 2
