"""Metrics: FD maths, precision/recall, 2D modes and KL/JS, the shipped digit classifier."""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from playground.classifier import load_classifier
from playground.config import DataConfig, ModelConfig
from playground.data import load_dataset
from playground.metrics import (PIXEL_NOTE, evaluate_2d, evaluate_generator, evaluate_images,
                                evaluate_pixels, feature_stats, frechet_distance, precision_recall)
from playground.toy2d import TOY2D


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_fd_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(0).normal(size=(300, 16))
    stats = feature_stats(feats)
    assert frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-8)


def test_fd_matches_closed_forms():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    a, b = rng.uniform(0.5, 2, size=6), rng.uniform(0.5, 2, size=6)
    # diagonal covariances: ||mu1 - mu2||^2 + sum(a + b - 2 sqrt(ab))
    expected = ((mu1 - mu2) ** 2).sum() + (a + b - 2 * np.sqrt(a * b)).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # general covariances: tr((S1 S2)^1/2) = sum of sqrt of the (real, positive) eigenvalues
    # of S1 S2
    s1, s2 = _spd(rng, 6), _spd(rng, 6)
    cross = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fd_of_shifted_gaussian_samples():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20_000, 4))
    shift = np.array([3.0, 0.0, -1.0, 0.5])
    fd = frechet_distance(*feature_stats(x), *feature_stats(x + shift))
    assert fd == pytest.approx((shift ** 2).sum(), abs=1e-9)  # same covariance: only the shift
    y = rng.normal(size=(20_000, 4)) * 2 + shift  # std 2: trace term 4 * (1 + 4 - 2*2) = 4
    assert frechet_distance(*feature_stats(x), *feature_stats(y)) == pytest.approx(
        (shift ** 2).sum() + 4, rel=0.05)


def test_fd_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_precision_recall():
    x = np.random.default_rng(3).normal(size=(200, 8))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100) == (0.0, 0.0)
    # fakes all on top of 10 real points: precise, but they cover little of the data
    precision, recall = precision_recall(x, np.repeat(x[:10], 20, axis=0))
    assert precision == 1.0 and recall < 0.2


def test_one_mode_generator_scores_one_mode_and_full_quality():
    toy = TOY2D["ring8"]
    g = torch.Generator().manual_seed(0)
    points = toy.centres[3] + toy.sigma * torch.randn(2500, 2, generator=g)
    m = evaluate_2d(points, toy)
    assert m["modes_captured"] == 1 and m["modes_total"] == 8
    assert m["high_quality_pct"] > 98  # 2D Gaussian: 1 - exp(-9/2) = 98.9% lie within 3 sigma
    assert m["kl"] > 1.0 and m["kl"] > 10 * m["kl_baseline"]


def test_real_samples_capture_every_mode_and_noise_scores_low():
    toy = TOY2D["grid25"]
    real = evaluate_2d(toy.sample(2500, torch.Generator().manual_seed(5)), toy)
    assert real["modes_captured"] == 25 and real["high_quality_pct"] > 98
    assert real["kl"] < 2 * real["kl_baseline"] and real["js"] < 0.05
    noise = (torch.rand(2500, 2, generator=torch.Generator().manual_seed(6)) * 2 - 1) * toy.lim
    bad = evaluate_2d(noise, toy)
    assert bad["high_quality_pct"] < 5
    assert bad["js"] > 0.5 and bad["kl"] > 10 * real["kl"]


def test_curve_sets_report_only_divergences():
    toy = TOY2D["spiral"]
    m = evaluate_2d(toy.sample(1000, torch.Generator().manual_seed(0)), toy)
    assert "modes_captured" not in m and m["js"] < m["js_baseline"] * 3
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        evaluate_2d(torch.zeros(10, 3), toy)


@pytest.fixture(scope="module")
def mnist():
    return load_dataset(DataConfig(dataset="mnist"))


def test_shipped_classifier_is_accurate_on_heldout_digits(mnist):
    model = load_classifier()
    assert load_classifier() is model  # cached per process
    with torch.no_grad():
        accuracy = (model(mnist.heldout).argmax(1) == mnist.heldout_labels).float().mean().item()
    assert accuracy >= 0.98


def _shuffled(mnist):
    # the bundled file is sorted by digit, so a random subset, not the first rows, is a fair sample
    order = torch.randperm(len(mnist.train), generator=torch.Generator().manual_seed(0))
    return mnist.train[order], mnist.train_labels[order]


def _noise(n, seed):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_real_digits_score_like_real_digits(mnist):
    x, y = _shuffled(mnist)
    m = evaluate_images(x[:500], mnist.heldout, x[500:], labels_requested=y[:500],
                        heldout_labels=mnist.heldout_labels)
    assert m["digits_covered"] == 10 and m["entropy"] > 0.98 * m["entropy_max"]
    assert m["entropy_max"] == pytest.approx(math.log(10))
    assert 0.5 < m["fd_ratio"] < 2 and m["label_accuracy"] > 0.97
    assert m["classifier_accuracy"] >= 0.98 and m["mean_confidence"] > 0.9
    assert m["precision"] > 0.6 and m["recall"] > 0.6
    assert sum(m["class_counts"]) == 500
    json.dumps(m)
    # The second call reuses the real-side features (cached by content): same numbers.
    again = evaluate_images(x[:500], mnist.heldout, x[500:], labels_requested=y[:500],
                            heldout_labels=mnist.heldout_labels)
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in m.items() if k != "seconds"}


def test_single_digit_fakes_are_flagged(mnist):
    ones = mnist.train[mnist.train_labels == 1][:300]
    m = evaluate_images(ones, mnist.heldout, mnist.train)
    assert m["digits_covered"] == 1 and m["class_shares"][1] > 0.95
    assert m["entropy"] < 0.3 and m["recall"] < 0.3 and m["fd_ratio"] > 10
    noise = evaluate_images(_noise(500, seed=0), mnist.heldout, mnist.train)
    assert noise["precision"] < 0.05 and noise["fd_ratio"] > 20


def test_pixel_fd_is_labelled_less_reliable(mnist):
    x, _ = _shuffled(mnist)
    same = evaluate_pixels(x[:400], mnist.heldout, x[400:])
    noise = evaluate_pixels(_noise(400, seed=1), mnist.heldout, mnist.train)
    assert same["reliability"] == PIXEL_NOTE
    assert same["fd_ratio"] < 2 and noise["fd"] > 10 * same["fd"]
    with pytest.raises(ValueError, match="differ in shape"):
        evaluate_pixels(torch.zeros(10, 3, 28, 28), mnist.heldout)


class _BankG(nn.Module):
    """A 'generator' that returns real training images: digit y when asked for one."""

    def __init__(self, images, labels):
        super().__init__()
        self.images, self.labels = images, labels

    def forward(self, z, y=None):
        # the i-th image of the requested digit, i taken from z so different z give different images
        idx = (z[:, 0].abs() * 1000).long() % 400
        if y is None:
            return self.images[idx]
        return torch.stack([self.images[self.labels == c][i] for c, i in zip(y.tolist(), idx)])


def test_evaluate_generator_dispatches_and_is_json(mnist):
    G = _BankG(mnist.train, mnist.train_labels)
    m = evaluate_generator(G, mnist, ModelConfig(arch="dcgan", conditional=True, z_dim=8),
                           n=200, seed=3)
    assert m["metric_set"] == "classifier" and m["n"] == 200 and m["label_accuracy"] > 0.97
    assert m == json.loads(json.dumps(m))
    ring = load_dataset(DataConfig(dataset="ring8"))
    centres = TOY2D["ring8"].centres
    m2 = evaluate_generator(_PointG(centres[:2]), ring, ModelConfig(z_dim=4), seed=1)
    assert m2["metric_set"] == "2d" and m2["n"] == 2500 and m2["modes_captured"] == 2
    json.dumps(m2)


class _PointG(nn.Module):
    """Points around the given centres only: a generator that dropped the other modes."""

    def __init__(self, centres):
        super().__init__()
        self.centres = centres

    def forward(self, z, y=None):
        which = (z[:, 0] > 0).long() % len(self.centres)
        return self.centres[which] + 0.005 * z[:, 1:3]
