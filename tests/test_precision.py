"""precision="bf16": mixed precision where bf16 would not hurt, fp32 where it would."""
from __future__ import annotations

import copy

import pytest
import torch

from playground import precision
from playground.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from playground.config import RunConfig, SettingError
from playground.train import Trainer
from tests.helpers import tiny

needs_bf16 = pytest.mark.skipif(bool(precision.bf16_support(torch.device("cpu"))),
                                reason="this CPU has no bf16 instructions")


def _output_dtypes(module: torch.nn.Module) -> list[torch.dtype]:
    """The dtypes of `module`'s outputs, one per call from now on."""
    seen: list[torch.dtype] = []
    module.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    return seen


def test_precision_is_a_checked_setting_fp32_by_default_auto_for_the_dcgan_presets():
    assert tiny("ring8").train.precision == "fp32" and RunConfig().train.precision == "fp32"
    assert tiny("mnist-dcgan").train.precision == tiny("mnist-cgan").train.precision == "auto"
    with pytest.raises(SettingError, match="precision='fp16' is not one of: fp32, bf16, auto"):
        tiny("mnist-dcgan", precision="fp16")
    old = tiny("mnist-dcgan").to_dict()
    del old["train"]["precision"]  # a checkpoint from before the setting existed
    assert RunConfig.from_dict(old).train.precision == "fp32"


def test_auto_is_bf16_where_the_device_has_it_and_fp32_elsewhere_never_refused(monkeypatch):
    cpu = torch.device("cpu")
    has = not precision.bf16_support(cpu)
    assert Trainer(tiny("mnist-dcgan", device="cpu")).precision == ("bf16" if has else "fp32")
    assert precision.check("auto", cpu) == ("bf16" if has else "fp32")
    monkeypatch.setattr(precision, "bf16_support", lambda device: "no bf16 on this test CPU")
    t = Trainer(tiny("mnist-dcgan", device="cpu"))
    seen = _output_dtypes(t.D)
    t.step(1)
    assert t.precision == "fp32" and set(seen) == {torch.float32}


@needs_bf16
def test_bf16_runs_the_networks_in_bf16_and_keeps_every_state_in_fp32():
    t = Trainer(tiny("mnist-dcgan", device="cpu", precision="bf16"))
    d_out, g_out = _output_dtypes(t.D), _output_dtypes(t.G)
    records = t.step(3)
    assert set(d_out) == {torch.bfloat16} and set(g_out) == {torch.bfloat16}
    assert all(r.loss_d is not None and r.loss_g is not None for r in records)
    for net, opt in ((t.G, t.opt_g), (t.D, t.opt_d)):
        for p in net.parameters():
            assert p.dtype == torch.float32 and (p.grad is None or p.grad.dtype == torch.float32)
            assert all(v.dtype == torch.float32 for v in opt.state[p].values() if v.dim())
    with torch.no_grad():  # sampling, the view and the metrics are fp32
        assert t.G(t.fixed_noise[:4]).dtype == torch.float32


@needs_bf16
def test_bf16_plays_the_same_game_as_fp32_to_within_bf16_rounding():
    """Same seed, same first batches: the first step's numbers agree to bf16's ~3 digits."""
    fp32 = Trainer(tiny("mnist-dcgan", device="cpu", precision="fp32")).step(1)[0]
    bf16 = Trainer(tiny("mnist-dcgan", device="cpu", precision="bf16")).step(1)[0]
    for field in ("loss_d", "loss_g", "d_real", "d_fake"):
        a, b = getattr(fp32, field), getattr(bf16, field)
        assert b == pytest.approx(a, rel=0.03, abs=0.01), field
    assert (fp32.loss_d, fp32.loss_g) != (bf16.loss_d, bf16.loss_g)  # bf16 did run


@needs_bf16
def test_the_gradient_penalty_runs_d_in_fp32_and_the_losses_come_from_fp32_logits():
    t = Trainer(tiny("ring8", device="cpu", precision="bf16", loss="wgan-gp", d_steps=1))
    seen = _output_dtypes(t.D)
    t._d_step()
    assert seen == [torch.bfloat16, torch.bfloat16, torch.float32]  # real, fake, then xhat
    loss, real_logits, fake_logits, _ = t._d_step()
    assert loss.dtype == real_logits.dtype == fake_logits.dtype == torch.float32


def test_spectral_norms_power_iteration_is_the_same_under_bf16_autocast():
    """Autocast leaves matrix-vector products in fp32: the u, v buffers and the normalised
    weight are bit-identical with and without it."""
    t = Trainer(tiny("mnist-dcgan", device="cpu", spectral_norm=True, precision="fp32"))
    layer = next(m for m in t.D.modules() if hasattr(m, "parametrizations"))
    a, b = copy.deepcopy(layer).train(), copy.deepcopy(layer).train()
    with precision.autocast(torch.device("cpu"), "bf16"):
        wa = a.weight
    wb = b.weight
    ua, ub = a.parametrizations.weight[0]._u, b.parametrizations.weight[0]._u
    assert wa.dtype == torch.float32 and torch.equal(wa, wb) and torch.equal(ua, ub)


def test_where_bf16_is_missing_a_new_run_is_refused_and_a_checkpoint_opens_but_does_not_train(
        tmp_path, monkeypatch):
    good = Trainer(tiny("ring8", device="cpu"))
    good.step(2)
    good.config = good.config.replace(precision="bf16")  # as if trained in bf16 elsewhere
    save_checkpoint(good, tmp_path / "bf16.safetensors")
    monkeypatch.setattr(precision, "bf16_support", lambda device: "no bf16 on this test CPU")
    with pytest.raises(SettingError, match="precision='bf16' is not available here: no bf16 on "
                       "this test CPU. Use precision='fp32'") as e:
        Trainer(tiny("ring8", device="cpu", precision="bf16"))
    assert e.value.field == "precision"
    loaded = load_checkpoint(tmp_path / "bf16.safetensors", device="cpu")
    assert loaded.precision == "bf16" and loaded.step_count == 2
    with torch.no_grad():
        assert loaded.G(loaded.fixed_noise[:3]).shape == (3, 2)  # it samples
    with pytest.raises(SettingError, match="not available here"):
        loaded.step(1)
    assert loaded.step_count == 2  # the refusal changed nothing


def test_precision_travels_in_checkpoints_with_what_auto_chose(tmp_path):
    t = Trainer(tiny("ring8", device="cpu"))
    t.step(1)
    save_checkpoint(t, tmp_path / "a.safetensors")
    assert load_checkpoint(tmp_path / "a.safetensors").precision == "fp32"
    auto = Trainer(tiny("mnist-dcgan", device="cpu"))
    auto.step(1)
    save_checkpoint(auto, tmp_path / "b.safetensors")
    assert read_metadata(tmp_path / "b.safetensors")["precision"] == auto.precision
    assert load_checkpoint(tmp_path / "b.safetensors").config.train.precision == "auto"


def test_a_checkpoint_whose_precision_is_not_fp32_or_bf16_is_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from playground.checkpoint import CheckpointError

    t = Trainer(tiny("ring8", device="cpu"))
    t.step(1)
    path = save_checkpoint(t, tmp_path / "a.safetensors")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    save_file(load_file(str(path)), str(tmp_path / "bad.safetensors"),
              metadata={**meta, "precision": "x" * 10_000})
    with pytest.raises(CheckpointError, match="precision must be fp32 or bf16"):
        load_checkpoint(tmp_path / "bad.safetensors")
