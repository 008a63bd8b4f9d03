"""Configuration validation: every bad value is refused with a message naming the field."""
import math

import pytest

from playground.config import DataConfig, ModelConfig, RunConfig, TrainConfig, field_names
from playground.presets import PRESETS, get_preset


@pytest.mark.parametrize("klass,field,value", [
    (TrainConfig, "g_lr", 0.0), (TrainConfig, "d_lr", -1e-3), (TrainConfig, "g_lr", 1e6),
    (TrainConfig, "g_lr", math.nan), (TrainConfig, "d_lr", math.inf), (TrainConfig, "g_lr", "fast"),
    (TrainConfig, "batch_size", 0), (TrainConfig, "batch_size", 2.5), (TrainConfig, "batch_size", True),
    (TrainConfig, "loss", "wasserstein-ish"), (TrainConfig, "g_optimizer", "adamw"),
    (TrainConfig, "beta1", 1.0), (TrainConfig, "beta2", -0.1), (TrainConfig, "d_steps", 0),
    (TrainConfig, "seed", -1), (TrainConfig, "steps", 0), (TrainConfig, "ema_decay", 1.0),
    (TrainConfig, "gp_lambda", -1.0), (TrainConfig, "device", "tpu"),
    (ModelConfig, "z_dim", 0), (ModelConfig, "arch", "transformer"), (ModelConfig, "g_depth", 0),
    (ModelConfig, "activation", "swishy"), (ModelConfig, "pack", 0),
    (DataConfig, "dataset", "imagenet"), (DataConfig, "channels", 2), (DataConfig, "image_size", 4),
])
def test_bad_values_name_the_field(klass, field, value):
    with pytest.raises(ValueError, match=field):
        klass(**{field: value})


def test_cross_field_rules():
    with pytest.raises(ValueError, match="dcgan"):
        RunConfig(DataConfig(dataset="ring8"), ModelConfig(arch="dcgan"))
    with pytest.raises(ValueError, match="pack"):
        RunConfig(model=ModelConfig(pack=3), train=TrainConfig(batch_size=64))
    with pytest.raises(ValueError, match="conditional"):
        RunConfig(DataConfig(dataset="grid25"), ModelConfig(conditional=True))


def test_round_trip_and_replace():
    config = get_preset("mnist-dcgan")
    assert RunConfig.from_dict(config.to_dict()) == config
    changed = config.replace(g_lr=1e-3, dataset="mnist", z_dim=32)
    assert changed.train.g_lr == 1e-3 and changed.model.z_dim == 32
    with pytest.raises(ValueError, match="unknown config field"):
        config.replace(learning_rate=1.0)
    with pytest.raises(ValueError, match="unknown train field"):
        RunConfig.from_dict({"train": {"lr": 1.0}})
    assert field_names()["g_lr"] == "train"


def test_presets_exist_and_unknown_is_clear():
    assert {"ring8", "grid25", "mnist-mlp", "mnist-dcgan", "mnist-cgan"} <= set(PRESETS)
    with pytest.raises(ValueError, match="preset='nope'"):
        get_preset("nope")
