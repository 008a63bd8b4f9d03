"""Alerts fire on constructed failure records and stay quiet on healthy ones."""
import math
import random

from playground.alerts import Alert, check
from playground.train import StepRecord


def _healthy(n=600, seed=0):
    """Records of a balanced game: D(x) ~ 0.6, D(G(z)) ~ 0.4, gradient norms ~ 1."""
    rng = random.Random(seed)
    return [StepRecord(step=i + 1, which="both", loss_d=1.3 + rng.gauss(0, 0.05),
                       loss_g=0.8 + rng.gauss(0, 0.05), d_real=0.6 + rng.gauss(0, 0.03),
                       d_fake=0.4 + rng.gauss(0, 0.03), grad_norm_d=1 + rng.gauss(0, 0.2),
                       grad_norm_g=1 + rng.gauss(0, 0.2), images_per_s=1000.0, elapsed_s=i * 0.01)
            for i in range(n)]


def _edit(records, start, **fields):
    for r in records[start:]:
        for k, v in fields.items():
            setattr(r, k, v)
    return records


def _kinds(alerts):
    assert all(isinstance(a, Alert) and a.title and a.explanation and a.what_to_try for a in alerts)
    return [a.kind for a in alerts]


def test_healthy_run_is_quiet():
    assert check(_healthy()) == []
    assert check(_healthy(10)) == []  # too short to judge: no alert, no error
    assert check([]) == []


def test_discriminator_winning_outright():
    records = _edit(_healthy(), -60, d_real=0.995, d_fake=0.004)
    alerts = check(records)
    assert _kinds(alerts) == ["d_wins"]
    assert alerts[0].step == 600
    assert "lr" in alerts[0].what_to_try or "learning rate" in alerts[0].what_to_try
    # A WGAN critic's outputs are not probabilities: the same numbers are no evidence there.
    assert check(records, loss="wgan-gp") == []


def test_minimax_saturation_also_reports_vanishing_gradient():
    records = _edit(_healthy(), -60, d_real=0.999, d_fake=0.001, grad_norm_g=1e-5)
    assert _kinds(check(records)) == ["d_wins", "vanishing_gradient"]


def test_exploding_gradient_names_the_step_and_network():
    records = _healthy()
    records[580].grad_norm_d = 500.0
    alerts = check(records)
    assert _kinds(alerts) == ["exploding_gradients"]
    assert alerts[0].step == 581 and "D" in alerts[0].title
    records[580].grad_norm_d = 50.0  # 50x the median is a spike, not an explosion
    assert check(records) == []


def test_divergence_alert_and_it_clears_later():
    records = _healthy()
    bad = records[590]
    bad.loss_d, bad.event = math.nan, "diverged at step 591: loss_d is nan; restored step 550"
    alerts = check(records)
    assert _kinds(alerts) == ["diverged"] and alerts[0].step == 591
    assert "restored step 550" in alerts[0].explanation
    later = records + _healthy(200, seed=1)
    for i, r in enumerate(later[600:]):
        r.step = 601 + i
    assert check(later) == []  # the divergence is older than the window


def test_discriminator_only_rounds_with_missing_fields():
    records = _healthy()
    for r in records[::2]:
        r.which, r.loss_g, r.grad_norm_g = "d", None, None
    assert check(records) == []


def test_mode_collapse_from_2d_metrics():
    history = [{"step": 500, "modes_captured": 8, "modes_total": 8},
               {"step": 1000, "modes_captured": 8, "modes_total": 8}]
    assert check(_healthy(), history) == []
    history.append({"step": 1500, "modes_captured": 5, "modes_total": 8})
    alerts = check(_healthy(), history)
    assert _kinds(alerts) == ["mode_collapse"] and alerts[0].step == 1500
    assert "5 of 8" in alerts[0].explanation and "pack" in alerts[0].what_to_try
    # a generator stuck on one mode is collapse even without history
    stuck = {"modes_captured": 1, "modes_total": 8, "high_quality_pct": 98.0}
    assert _kinds(check(_healthy(), stuck)) == ["mode_collapse"]
    # an untrained G hits no mode at all: not collapse, just not learned yet
    assert check(_healthy(), {"modes_captured": 0, "modes_total": 8, "high_quality_pct": 0.0}) == []


def test_mode_collapse_from_digit_metrics():
    assert check(_healthy(), {"digits_covered": 10, "precision": 0.8}) == []
    assert _kinds(check(_healthy(), {"digits_covered": 3, "precision": 0.8})) == [
        "mode_collapse"]
    # Early samples unlike any digit: the classifier's guesses are no evidence of collapse yet.
    assert check(_healthy(), {"digits_covered": 3, "precision": 0.05}) == []
    recall = [{"digits_covered": 10, "recall": 0.6}, {"digits_covered": 10, "recall": 0.2}]
    assert _kinds(check(_healthy(), recall)) == ["mode_collapse"]
