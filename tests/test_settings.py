"""The one list of settings: every front end's values normalised to the declared type, once."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from playground.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from playground.presets import PRESETS, get_preset
from playground.settings import LIVE_FIELDS, SETTINGS, SettingError, check
from playground.train import Trainer


def test_every_config_field_is_declared_once_with_a_label_and_a_hint():
    fields = {f.name for klass in (DataConfig, ModelConfig, TrainConfig)
              for f in dataclasses.fields(klass)}
    assert fields == set(SETTINGS)
    for s in SETTINGS.values():
        assert s.label and s.hint and "\n" not in s.hint, s.name
        assert s.group in ("data", "model", "train")
    assert set(LIVE_FIELDS) <= {f.name for f in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize("name, given, kept", [
    ("beta1", 0, 0.0), ("g_lr", 1, 1.0), ("g_lr", np.float32(0.5), 0.5),
    ("batch_size", 12.0, 12), ("steps", np.int64(30), 30), ("seed", 7, 7),
    ("spectral_norm", np.bool_(True), True), ("channels", 3.0, 3),
])
def test_values_become_their_declared_type(name, given, kept):
    value = check(name, given)
    assert value == kept and type(value) is type(kept)


@pytest.mark.parametrize("name, given, pattern", [
    ("steps", 12.5, r"Step target: steps=12.5 must be a whole number"),
    ("batch_size", 2.5, r"Batch size: batch_size=2.5 must be a whole number"),
    ("batch_size", True, r"batch_size=True must be a whole number"),
    ("g_lr", None, r"G learning rate is empty: type a number"),
    ("g_lr", "", r"G learning rate is empty"),
    ("g_lr", "fast", r"G learning rate: g_lr='fast' must be a number in \(0, 10\]"),
    ("g_lr", float("nan"), r"g_lr=nan is out of range"),
    ("d_steps", 0, r"D steps per iteration: d_steps=0 is out of range: allowed \[1, 100\]"),
    ("loss", "nope", r"Loss \(the game\): loss='nope' is not one of"),
    ("loss", ["x"], r"loss=\['x'\] is not one of"),
    ("channels", 2, r"Channels: channels=2 is not one of: 1, 3"),
    ("bogus", 1, r"unknown config field 'bogus'"),
])
def test_bad_values_name_the_label_and_the_field(name, given, pattern):
    with pytest.raises(SettingError, match=pattern) as info:
        check(name, given)
    assert info.value.field == name[:60]


def test_a_preset_with_beta1_zero_trains_whatever_the_front_end_sent():
    # The page's number boxes send 0 for 0.0; torch's Adam refuses betas=(0, 0.9).
    config = get_preset("mnist-dcgan").replace(beta1=0, g_width=4, d_width=4, batch_size=4)
    assert isinstance(config.train.beta1, float)
    trainer = Trainer(config.replace(device="cpu"))
    assert trainer.step(1, "both")[0].loss_d is not None
    assert trainer.opt_g.param_groups[0]["betas"] == (0.0, 0.9)


def test_nothing_is_rounded():
    with pytest.raises(SettingError, match="whole number"):
        get_preset("ring8").replace(steps=12.5)
    trainer = Trainer(get_preset("ring8").replace(g_width=8, d_width=8, device="cpu"))
    with pytest.raises(SettingError, match="batch_size=2.5 must be a whole number"):
        trainer.update(batch_size=2.5)
    assert trainer.update(batch_size=2.0) == {"batch_size": 2}  # whole, so taken, as an int
    assert type(trainer.config.train.batch_size) is int


def test_presets_are_already_normal():
    for name, config in PRESETS.items():
        assert RunConfig.from_dict(config.to_dict()) == config, name
        assert torch.tensor(config.train.beta1).dtype == torch.float32, name
