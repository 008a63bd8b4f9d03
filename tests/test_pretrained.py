"""Every bundled checkpoint loads and clears its bar of issue 4, measured as `playground eval` does.

The checkpoints are made by `make checkpoints` (scripts/make_checkpoints.sh); their cards in
checkpoints/<name>.md record the same numbers. Evaluation is seeded, so these are exact re-runs
of the cards' measurements, not new random draws.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.checkpoint import load_checkpoint, read_metadata
from playground.cli import main
from playground.presets import get_preset

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
NAMES = ("ring8", "grid25", "mnist-mlp", "mnist-dcgan", "mnist-cgan")
MAX_BYTES = 5_000_000

def _eval(name: str, capsys: pytest.CaptureFixture[str]) -> dict:
    path = CHECKPOINTS / f"{name}.safetensors"
    assert path.is_file(), f"{path} is missing: run `make checkpoints`"
    assert main(["eval", "--checkpoint", str(path), "--json", "--device", "cpu"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_is_small_documented_and_from_its_preset(name: str) -> None:
    path = CHECKPOINTS / f"{name}.safetensors"
    assert path.stat().st_size <= MAX_BYTES
    assert (CHECKPOINTS / f"{name}.md").is_file()
    trainer = load_checkpoint(path, device="cpu")
    trained = trainer.config.to_dict()
    preset = get_preset(name).to_dict()
    trained["train"].pop("seed"), preset["train"].pop("seed")
    assert trained == preset  # made by the preset as it stands, so the preset is the recipe
    assert trainer.step_count == int(read_metadata(path)["step"]) == get_preset(name).train.steps


def test_ring8_bar(capsys: pytest.CaptureFixture[str]) -> None:
    m = _eval("ring8", capsys)
    assert m["modes_captured"] == 8
    assert m["high_quality_pct"] >= 90


def test_grid25_bar(capsys: pytest.CaptureFixture[str]) -> None:
    m = _eval("grid25", capsys)
    assert m["modes_captured"] == 25
    assert m["high_quality_pct"] >= 90


def test_mnist_mlp_bar(capsys: pytest.CaptureFixture[str]) -> None:
    m = _eval("mnist-mlp", capsys)
    assert m["digits_covered"] == 10
    assert min(m["class_shares"]) >= 0.05


def test_mnist_dcgan_bar(capsys: pytest.CaptureFixture[str]) -> None:
    m = _eval("mnist-dcgan", capsys)
    assert m["fd_ratio"] <= 2
    assert m["digits_covered"] == 10
    assert 0.05 <= min(m["class_shares"]) and max(m["class_shares"]) <= 0.15
    assert m["mean_confidence"] >= 0.9


def test_mnist_cgan_bar(capsys: pytest.CaptureFixture[str]) -> None:
    m = _eval("mnist-cgan", capsys)
    assert m["label_accuracy"] >= 0.95
    assert m["fd_ratio"] <= 2
