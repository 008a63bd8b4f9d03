"""The trainer: smoke tests per preset, determinism, single steps, live edits, divergence."""
import copy
import math

import pytest
import torch

from playground.presets import PRESETS
from playground.train import StepRecord, Trainer
from tests.helpers import tiny


def _same_state(a: Trainer, b: Trainer) -> bool:
    sa, sb = a.state_tensors(), b.state_tensors()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_two_steps_per_preset(preset):
    trainer = Trainer(tiny(preset))
    records = trainer.step(2)
    assert [r.step for r in records] == [1, 2]
    for r in records:
        assert isinstance(r, StepRecord) and not r.event
        for value in (r.loss_d, r.loss_g, r.d_real, r.d_fake, r.grad_norm_d, r.grad_norm_g):
            assert value is not None and math.isfinite(value)
        assert 0 <= r.d_real <= 1 and 0 <= r.d_fake <= 1 and r.images_per_s > 0
    fixed = trainer.fixed_samples()
    assert fixed.shape[1:] == trainer.data_shape
    assert trainer.history == records


def test_same_seed_gives_bit_identical_weights_and_other_seed_differs():
    a, b = Trainer(tiny("ring8", seed=3)), Trainer(tiny("ring8", seed=3))
    a.step(5)
    b.step(3)
    b.step(2)  # chunking does not change the result
    assert _same_state(a, b)
    c = Trainer(tiny("ring8", seed=4))
    c.step(5)
    assert not torch.equal(a.G.state_dict()["net.0.weight"] if "net.0.weight" in
                           a.G.state_dict() else next(iter(a.G.parameters())),
                           c.G.state_dict()["net.0.weight"] if "net.0.weight" in
                           c.G.state_dict() else next(iter(c.G.parameters())))


@pytest.mark.parametrize("which,moves_d,moves_g", [("d", True, False), ("g", False, True),
                                                   ("both", True, True)])
def test_single_steps_move_only_their_network(which, moves_d, moves_g):
    trainer = Trainer(tiny("ring8"))
    g0 = [p.detach().clone() for p in trainer.G.parameters()]
    d0 = [p.detach().clone() for p in trainer.D.parameters()]
    (record,) = trainer.step(1, which=which)
    g_moved = any(not torch.equal(a, b) for a, b in zip(g0, trainer.G.parameters()))
    d_moved = any(not torch.equal(a, b) for a, b in zip(d0, trainer.D.parameters()))
    assert (g_moved, d_moved) == (moves_g, moves_d)
    assert (record.loss_d is not None) == moves_d and (record.loss_g is not None) == moves_g
    assert record.d_fake is not None


def test_steps_per_iteration():
    trainer = Trainer(tiny("ring8", d_steps=3, g_steps=2))
    trainer.step(2)
    assert trainer.opt_d.state_dict()["state"][0]["step"].item() == 6
    assert trainer.opt_g.state_dict()["state"][0]["step"].item() == 4


def test_live_edits_keep_weights_and_moments():
    trainer = Trainer(tiny("ring8"))
    trainer.step(3)
    weights = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    moments = trainer.opt_d.state_dict()["state"][0]["exp_avg"].clone()
    changed = trainer.update(g_lr=5e-4, d_lr=1e-4, beta1=0.0, loss="hinge", d_steps=2)
    assert set(changed) == {"g_lr", "d_lr", "beta1", "loss", "d_steps"}
    assert trainer.opt_g.param_groups[0]["lr"] == 5e-4
    assert trainer.opt_d.param_groups[0]["betas"] == (0.0, trainer.config.train.beta2)
    assert all(torch.equal(v, trainer.G.state_dict()[k]) for k, v in weights.items())
    assert torch.equal(trainer.opt_d.state_dict()["state"][0]["exp_avg"], moments)
    assert trainer.changes[-1][0] == 3
    trainer.update(d_optimizer="sgd")
    assert isinstance(trainer.opt_d, torch.optim.SGD)
    records = trainer.step(2)
    assert records[-1].step == 5 and math.isfinite(records[-1].loss_d)
    assert trainer.update(g_lr=5e-4) == {}  # no change, no mark


def test_live_edit_rejections_change_nothing():
    trainer = Trainer(tiny("ring8"))
    before = trainer.config
    with pytest.raises(ValueError, match="g_lr"):
        trainer.update(g_lr=-1.0)
    with pytest.raises(ValueError, match="seed cannot change"):
        trainer.update(seed=3)
    with pytest.raises(ValueError, match="pack"):
        Trainer(tiny("grid25", pack=4, batch_size=32)).update(batch_size=7)  # 4 samples per D input
    assert trainer.config == before and trainer.changes == []
    with pytest.raises(ValueError, match="which"):
        trainer.step(1, which="x")
    with pytest.raises(ValueError, match="n="):
        trainer.step(0)


def test_divergence_rolls_back_to_last_finite_state():
    trainer = Trainer(tiny("ring8"))
    trainer.step(4)
    good = {k: v.clone() for k, v in trainer.state_tensors().items()}
    with torch.no_grad():
        next(trainer.G.parameters()).fill_(float("nan"))  # what an exploding update leaves
    records = trainer.step(3)
    assert trainer.diverged and "diverged at step 5" in records[-1].event
    assert "restored the last good state (step 4)" in records[-1].event
    assert trainer.step_count == 4
    assert all(torch.equal(v, trainer.state_tensors()[k]) for k, v in good.items()
               if not k.startswith("rng"))
    records = trainer.step(2)  # the session keeps working
    assert not trainer.diverged and records[-1].step == 6


def test_huge_sgd_learning_rate_never_leaves_nan_weights():
    trainer = Trainer(tiny("mnist-mlp", g_optimizer="sgd", d_optimizer="sgd", g_lr=10.0,
                           d_lr=10.0, batch_size=16))
    for _ in range(5):
        trainer.step(5)
    assert all(torch.isfinite(p).all() for p in trainer.G.parameters())
    assert all(torch.isfinite(p).all() for p in trainer.D.parameters())


def test_ema_sampler_and_live_toggle():
    trainer = Trainer(tiny("ring8", ema_decay=0.9))
    trainer.step(3)
    assert trainer.sampler() is trainer.ema.shadow
    trainer.update(ema_decay=0.0)
    assert trainer.sampler() is trainer.G


@pytest.mark.parametrize("loss, changes", [
    ("minimax", {}),
    ("lsgan", {}),
    ("hinge", {}),
    ("wgan-gp", {"gp_lambda": 10.0}),
    ("wgan-gp", {"gp_lambda": 10.0, "pack": 2, "batch_size": 16}),
])
def test_every_game_trains_and_moves_d_towards_telling_reals_from_fakes(loss, changes):
    trainer = Trainer(tiny("ring8", loss=loss, d_steps=3, d_lr=2e-3, **changes))
    before = trainer.probe()
    records = trainer.step(30, "d")  # D alone: it must learn to separate reals from fakes
    assert all(math.isfinite(r.loss_d) for r in records)
    after = trainer.probe()
    assert after[0] - after[1] > before[0] - before[1]  # D(x) - D(G(z)) grew
    trainer.step(5)  # and the whole game runs
    assert trainer.step_count == 35 and not trainer.diverged


def test_the_gradient_penalty_is_part_of_the_critics_loss():
    def d_loss_after_one_step(gp_lambda: float) -> float:
        trainer = Trainer(tiny("ring8", loss="wgan-gp", gp_lambda=gp_lambda))
        return trainer.step(1, "d")[0].loss_d

    plain, penalised = d_loss_after_one_step(0.0), d_loss_after_one_step(100.0)
    assert penalised > plain  # lambda * E[(|grad| - 1)^2] > 0 is added to D's loss


def test_a_conditional_model_trains_and_its_label_changes_the_samples():
    trainer = Trainer(tiny("mnist-cgan", batch_size=8))
    trainer.step(3)
    from playground.sample import generate

    zero = generate(trainer.sampler(), [0, 1], trainer.config.model.z_dim, labels=0)
    seven = generate(trainer.sampler(), [0, 1], trainer.config.model.z_dim, labels=7)
    assert not torch.allclose(zero, seven)


def test_the_ema_follows_decay_times_g_and_ignores_d_only_steps():
    trainer = Trainer(tiny("ring8", ema_decay=0.9))
    trainer.ema.updates = 100  # past the warm-up (tested below): the decay is the setting's
    decay = 0.9
    shadow = [p.detach().clone() for p in trainer.ema.shadow.parameters()]
    trainer.step(1, "g")
    for s, p, e in zip(shadow, trainer.G.parameters(), trainer.ema.shadow.parameters()):
        assert torch.allclose(e, decay * s + (1 - decay) * p.detach(), atol=1e-6)
    frozen = [p.detach().clone() for p in trainer.ema.shadow.parameters()]
    trainer.step(3, "d")  # G does not move, so neither does its average
    assert all(torch.equal(a, b) for a, b in zip(frozen, trainer.ema.shadow.parameters()))
    trainer.update(ema_decay=0.5)  # changed mid-run: the next G step uses the new decay
    before = [p.detach().clone() for p in trainer.ema.shadow.parameters()]
    trainer.step(1, "g")
    for s, p, e in zip(before, trainer.G.parameters(), trainer.ema.shadow.parameters()):
        assert torch.allclose(e, 0.5 * s + 0.5 * p.detach(), atol=1e-6)


def test_the_ema_can_be_turned_on_mid_run_from_g_as_it_is():
    trainer = Trainer(tiny("ring8", ema_decay=0.0))
    trainer.step(4)
    assert trainer.ema is None
    trainer.update(ema_decay=0.99)
    assert all(torch.equal(a, b) for a, b in zip(trainer.G.parameters(),
                                                  trainer.ema.shadow.parameters()))
    trainer.step(2)
    assert trainer.sampler() is trainer.ema.shadow


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_fused_optimiser_makes_the_textbook_update(kind):
    # On the CPU, Adam and SGD use PyTorch's fused kernel: the same update as the multi-tensor
    # (foreach) one up to float rounding, on every parameter.
    from playground.optim import make_optimizer

    trainer = Trainer(tiny("ring8", g_optimizer=kind, d_optimizer=kind))
    assert trainer.opt_g.defaults["fused"] and trainer.opt_d.defaults["fused"]
    reference = copy.deepcopy(trainer.D)
    fused = make_optimizer(kind, trainer.D.parameters(), 1e-2, (0.5, 0.9))
    textbook = (torch.optim.Adam(reference.parameters(), lr=1e-2, betas=(0.5, 0.9), foreach=True)
                if kind == "adam" else torch.optim.SGD(reference.parameters(), lr=1e-2))
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    for _ in range(3):
        for model, opt in ((trainer.D, fused), (reference, textbook)):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    for a, b in zip(trainer.D.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_the_short_road_to_the_fused_adam_is_its_step_bit_for_bit(monkeypatch):
    # playground.optim.step skips Adam.step's Python (hooks, regrouping) once the moments exist;
    # a run through it, with a live edit of lr and betas on the way, ends with the very same
    # weights, moments and step counts as a run through opt.step() and opt.zero_grad().
    from playground import optim

    fast = Trainer(tiny("ring8", seed=5))
    taken = []
    real = optim._fused_adam_args
    monkeypatch.setattr(optim, "_fused_adam_args",
                        lambda opt: taken.append(real(opt) is not None) or real(opt))
    fast.step(6)
    fast.update(g_lr=3e-4, beta1=0.2)
    fast.step(5)
    assert taken.count(False) == 2 and taken.count(True) == 20  # the first D and G steps: Adam's
    monkeypatch.setattr(optim, "step", lambda opt: opt.step())
    monkeypatch.setattr(optim, "zero_grad", lambda opt: opt.zero_grad(set_to_none=True))
    slow = Trainer(tiny("ring8", seed=5))
    slow.step(6)
    slow.update(g_lr=3e-4, beta1=0.2)
    slow.step(5)
    assert _same_state(fast, slow)
    assert fast.opt_g.state_dict()["state"][0]["step"].item() == 11


def test_the_short_road_does_what_each_optimiser_would_do_itself():
    # Where the short road does not apply (SGD, AMSGrad, foreach, two groups, a hook, a
    # parameter without a gradient), optim.step still gives what opt.step() gives, hooks called.
    from playground import optim

    def make(kind: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = torch.nn.Linear(2, 3)
        with torch.no_grad():
            model.weight.copy_(torch.arange(6.0).view(3, 2) / 7)
            model.bias.fill_(0.1)
        p = list(model.parameters())
        opt = {"adam": lambda: torch.optim.Adam(p, lr=0.1, fused=True),
               "sgd": lambda: torch.optim.SGD(p, lr=0.1, momentum=0.9, fused=True),
               "amsgrad": lambda: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.5), amsgrad=True,
                                                   fused=True),
               "foreach": lambda: torch.optim.Adam(p, lr=0.1, foreach=True),
               "two groups": lambda: torch.optim.Adam([{"params": p[:1]}, {"params": p[1:],
                                                                            "lr": 0.3}],
                                                        lr=0.1, fused=True)}[kind]()
        return model, opt

    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    cases = [(kind, False, gap) for kind in ("adam", "sgd", "amsgrad", "foreach", "two groups")
             for gap in (False, True)] + [("adam", True, False)]
    for kind, hooked, gap in cases:
        (mine, opt), (theirs, ref) = make(kind), make(kind)
        calls = []
        if hooked:
            opt.register_step_post_hook(lambda *a: calls.append(1))
        for i in range(4):
            for model, o, step in ((mine, opt, optim.step), (theirs, ref, lambda o: o.step())):
                optim.zero_grad(o)
                assert all(p.grad is None for p in model.parameters())
                model(x * 0.1**i).square().mean().backward()  # the gradients shrink: AMSGrad's
                if gap and i == 3:  # running maximum is not its second moment
                    model.bias.grad = None  # Adam leaves such a parameter as it is
                step(o)
        assert calls == ([1] * 4 if hooked else []), kind
        for a, b in zip(mine.parameters(), theirs.parameters()):
            assert torch.equal(a, b), (kind, hooked, gap)
        assert opt.state_dict()["state"].keys() == ref.state_dict()["state"].keys()


def test_the_ema_warms_up_from_a_short_average_to_its_decay():
    # decay min(setting, (1 + n) / (10 + n)) after n updates: 0.1 first, 0.99 from ~900 on.
    trainer = Trainer(tiny("ring8", ema_decay=0.99))
    assert trainer.ema.current_decay() == pytest.approx(0.1)
    shadow = [p.detach().clone() for p in trainer.ema.shadow.parameters()]
    trainer.step(1, "g")
    for s, p, e in zip(shadow, trainer.G.parameters(), trainer.ema.shadow.parameters()):
        assert torch.allclose(e, 0.1 * s + 0.9 * p.detach(), atol=1e-6)
    trainer.step(3, "d")  # only G steps count
    assert trainer.ema.updates == 1
    trainer.step(2)
    assert trainer.ema.updates == 3 and trainer.ema.current_decay() == pytest.approx(4 / 13)
    trainer.ema.updates = 890
    assert trainer.ema.current_decay() == pytest.approx(0.99)
    trainer.ema.updates = 10_000
    assert trainer.ema.current_decay() == 0.99


def test_the_ema_warm_up_count_is_part_of_the_state():
    a = Trainer(tiny("ring8", ema_decay=0.99))
    a.step(3)
    tensors = a.state_tensors()
    assert int(tensors["ema.updates"]) == 3
    b = Trainer(tiny("ring8", ema_decay=0.99))
    b.load_state_tensors(tensors)
    assert b.ema.updates == 3
    del tensors["ema.updates"]  # saved before the warm-up existed: the average is long past it
    b.load_state_tensors(tensors)
    assert b.ema.current_decay() == 0.99
