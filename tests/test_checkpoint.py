"""Checkpoints: exact round trips, exact resumption, and every kind of bad file refused."""
import json
import os
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from playground.checkpoint import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from playground.train import Trainer
from tests.helpers import tiny


@pytest.fixture
def saved(tmp_path):
    trainer = Trainer(tiny("ring8", ema_decay=0.5))
    trainer.step(3)
    trainer.update(g_lr=3e-4)
    path = save_checkpoint(trainer, tmp_path / "run.safetensors")
    return trainer, path


@pytest.mark.parametrize("preset", ["ring8", "mnist-mlp", "mnist-cgan"])
def test_round_trip_is_bit_identical(tmp_path, preset):
    trainer = Trainer(tiny(preset))
    trainer.step(2)
    path = save_checkpoint(trainer, tmp_path / "c.safetensors")
    loaded = load_checkpoint(path)
    a, b = trainer.state_tensors(), loaded.state_tensors()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert loaded.config == trainer.config and loaded.step_count == 2
    assert loaded.history == trainer.history
    assert torch.equal(loaded.fixed_samples(), trainer.fixed_samples())


def test_resumed_training_equals_uninterrupted(tmp_path):
    straight = Trainer(tiny("mnist-dcgan", ema_decay=0.9))
    straight.step(4)
    half = Trainer(tiny("mnist-dcgan", ema_decay=0.9))
    half.step(2)
    resumed = load_checkpoint(save_checkpoint(half, tmp_path / "half.safetensors"))
    resumed.step(2)
    a, b = straight.state_tensors(), resumed.state_tensors()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_slim_checkpoint_keeps_the_models_drops_the_moments_and_still_resumes(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr("playground.checkpoint.SLIM_HISTORY", 5)
    trainer = Trainer(tiny("mnist-dcgan", ema_decay=0.9))
    trainer.step(12)
    full = save_checkpoint(trainer, tmp_path / "full.safetensors")
    slim = save_checkpoint(trainer, tmp_path / "slim.safetensors", slim=True)
    assert slim.stat().st_size < full.stat().st_size
    assert read_metadata(slim)["slim"] and not read_metadata(full)["slim"]
    loaded = load_checkpoint(slim)
    a, b = trainer.state_tensors(), loaded.state_tensors()
    assert not any(k.startswith("opt_") for k in b)
    assert all(torch.equal(a[k], b[k]) for k in b)  # G, D, EMA, random streams, fixed noise
    assert torch.equal(loaded.fixed_samples(), trainer.fixed_samples())
    steps = [r.step for r in loaded.history]
    assert len(steps) == 5 and steps[0] == 1 and steps[-1] == 12 and steps == sorted(steps)
    assert loaded.step_count == 12
    loaded.step(2)  # Adam starts again from zero moments
    assert loaded.step_count == 14 and not loaded.diverged


def test_metadata_and_live_edit_marks_survive(saved):
    trainer, path = saved
    meta = read_metadata(path)
    assert meta["config"] == trainer.config and meta["step"] == 3
    assert meta["changes"] == [(3, {"g_lr": 3e-4})]
    assert load_checkpoint(path).opt_g.param_groups[0]["lr"] == 3e-4


def test_atomic_write_leaves_no_temp_files(saved, tmp_path):
    trainer, path = saved
    trainer.step(1)
    save_checkpoint(trainer, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.safetensors"]
    assert load_checkpoint(path).step_count == 4


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_renamed_to_safetensors_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Payload(str(marker))))
    torch_evil = tmp_path / "torch.safetensors"
    torch.save({"x": _Payload(str(marker))}, torch_evil)
    for path in (evil, torch_evil):
        with pytest.raises(CheckpointError, match="not a safetensors"):
            load_checkpoint(path)
    assert not marker.exists()


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_bad_files_are_refused_with_clear_errors(saved, tmp_path):
    _, good = saved
    raw = good.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    cases = {
        "empty": (b"", "empty"),
        "short": (b"abc", "too short"),
        "random": (os.urandom(4096), "not a safetensors"),
        "truncated": (raw[: len(raw) // 2], "truncated"),
        "huge-header": (struct.pack("<Q", 2**40) + b"{}", "not a safetensors"),
        "bad-json": (struct.pack("<Q", 4) + b"{{{{", "bad header"),
        "header-only": (raw[: 8 + n], "truncated"),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(_write(tmp_path / f"{name}.safetensors", data))


def _rewrite(path, out, tensors=None, meta_changes=None):
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    meta = json.loads(path.read_bytes()[8: 8 + header_len])["__metadata__"]
    meta.update(meta_changes or {})
    from safetensors.torch import load_file
    data = load_file(str(path))
    if tensors is not None:
        data = tensors(data)
    save_file(data, str(out), metadata=meta)
    return out


def test_foreign_version_shape_and_missing_tensor_are_refused(saved, tmp_path):
    _, good = saved
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a GAN Playground checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="format version '99'"):
        load_checkpoint(_rewrite(good, tmp_path / "v99.safetensors",
                                 meta_changes={"format_version": "99"}))

    def reshape(d):
        key = next(k for k in d if k.startswith("G.") and d[k].dim() == 2)
        d[key] = torch.zeros(d[key].shape[0] + 1, d[key].shape[1])
        return d
    with pytest.raises(CheckpointError, match="has shape"):
        load_checkpoint(_rewrite(good, tmp_path / "shape.safetensors", tensors=reshape))

    def drop(d):
        del d[next(k for k in d if k.startswith("D."))]
        return d
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(_rewrite(good, tmp_path / "missing.safetensors", tensors=drop))

    def extra(d):
        d["G.evil"] = torch.zeros(1)
        return d
    with pytest.raises(CheckpointError, match="does not have"):
        load_checkpoint(_rewrite(good, tmp_path / "extra.safetensors", tensors=extra))
    with pytest.raises(CheckpointError, match="cannot be built|unreadable"):
        load_checkpoint(_rewrite(good, tmp_path / "cfg.safetensors",
                                 meta_changes={"config": json.dumps({"train": {"g_lr": -1}})}))
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "absent.safetensors")
