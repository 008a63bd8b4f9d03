"""Failure alerts: plain-word warnings read off the training records and the latest metrics.

`check(records, metrics)` looks at the most recent WINDOW step records (anything with the
fields of train.StepRecord) and, optionally, the metrics dicts from playground.metrics, and
returns at most one `Alert` per kind:

- "diverged": a record's event says training diverged (the trainer rolled back);
- "exploding_gradients": a gradient norm over EXPLODE_RATIO x its median before the window;
- "d_wins": D(x) -> 1 and D(G(z)) -> 0 over the whole window: D wins outright;
- "vanishing_gradient": G's gradient norm fell under VANISH_RATIO of its earlier median;
- "mode_collapse": digits or 2D modes covered dropped, or are low.

Only recent records count, so an alert clears once training recovers. Pure functions over plain
numbers: no torch.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

WINDOW = 50  # recent records that an alert is about
REFERENCE = 500  # records before the window that give the "normal" gradient norms
MIN_RECORDS = 20  # fewer finite values than this: too little evidence to say anything
D_SURE = 0.95  # mean D(x) at least this and mean D(G(z)) at most 1 - this: D wins outright
EXPLODE_RATIO = 100.0  # gradient norm this many times its earlier median: exploding
VANISH_RATIO = 0.01  # G's gradient norm under this share of its earlier median: vanishing
MIN_DIGITS = 8  # digits_covered below this (of 10) is collapse even without history
MIN_PRECISION = 0.3  # below this precision, samples are not digit-like yet (early training)
MIN_QUALITY_PCT = 20.0  # 2D: below this share of high-quality samples, G has not found modes yet
MODE_DROP = 0.25  # modes or digits covered falling by this share of the best seen
RECALL_DROP = 0.5  # recall falling under this share of the best seen (best at least 0.2)


@dataclass(frozen=True)
class Alert:
    kind: str  # "diverged", "exploding_gradients", "d_wins", "vanishing_gradient", "mode_collapse"
    step: int  # the step the alert is about
    title: str  # a few words
    explanation: str  # what is happening, in plain words
    what_to_try: str  # concrete changes to make


Metrics = Mapping[str, Any]


def check(records: Sequence[Any], metrics: Metrics | Sequence[Metrics] | None = None, *,
          loss: str | None = None) -> list[Alert]:
    """Alerts for the current state of a run, most serious first.

    `records`: the run's step records in order (train.StepRecord or look-alikes; None fields are
    skipped). `metrics`: the latest metrics dict, or the list of all metrics dicts so far (latest
    last), for the collapse checks against the best seen; a dict's "step" key dates the alert.
    `loss`: the game being played; "wgan-gp" turns off the D(x)/D(G(z)) check, as a critic's
    outputs are not probabilities.
    """
    recent = list(records[-(WINDOW + REFERENCE):])
    window, before = recent[-WINDOW:], [r for r in recent[:-WINDOW] if not r.event]
    alerts = [_diverged(window), _exploding(window, before)]
    if loss != "wgan-gp":
        alerts.append(_d_wins(window))
    alerts.append(_vanishing(window, before))
    if metrics:
        history = [metrics] if isinstance(metrics, Mapping) else list(metrics)
        step = history[-1].get("step", recent[-1].step if recent else 0)
        alerts.append(_collapse(history, int(step)))
    return [a for a in alerts if a is not None]


def _values(records: Sequence[Any], name: str) -> list[float]:
    """The finite values of one field, skipping rounds that did not compute it and event records."""
    out = []
    for r in records:
        v = getattr(r, name, None)
        if v is not None and not r.event and math.isfinite(v):
            out.append(float(v))
    return out


def _diverged(window: Sequence[Any]) -> Alert | None:
    for r in reversed(window):
        if "diverg" in (r.event or "").lower():
            return Alert(
                "diverged", r.step, "Training diverged",
                f"A loss or weight became infinite or not a number, so the model was rolled back "
                f"to its last good state ({r.event}). Continuing with the same settings will "
                f"likely blow up again.",
                "Lower both learning rates (e.g. halve them), lower Adam's beta1 to 0.5 or 0, "
                "turn on spectral normalisation in D, or switch to the hinge or WGAN-GP loss.")
    return None


def _exploding(window: Sequence[Any], before: Sequence[Any]) -> Alert | None:
    for name, who in (("grad_norm_d", "D"), ("grad_norm_g", "G")):
        reference = _values(before, name)
        if len(reference) < MIN_RECORDS:
            continue
        typical = statistics.median(reference)
        worst = max((r for r in window if not r.event and getattr(r, name, None) is not None),
                    key=lambda r: _as_big(getattr(r, name)), default=None)
        if worst is None or typical <= 0:
            continue
        value = _as_big(getattr(worst, name))
        if value > EXPLODE_RATIO * typical:
            shown = "not finite" if math.isinf(value) else f"{value:.3g}"
            return Alert(
                "exploding_gradients", worst.step, f"{who}'s gradients are exploding",
                f"{who}'s gradient norm reached {shown} at step {worst.step}, more than "
                f"{EXPLODE_RATIO:.0f} times its usual {typical:.3g}. Updates this large throw "
                f"the weights far away and often end in divergence.",
                f"Lower {who}'s learning rate, turn on spectral normalisation in D, use the "
                "WGAN-GP loss (its gradient penalty keeps D's gradients near 1), or a smaller "
                "beta1.")
    return None


def _as_big(v: float) -> float:
    return math.inf if not math.isfinite(v) else abs(v)  # NaN counts as the worst possible


def _d_wins(window: Sequence[Any]) -> Alert | None:
    real, fake = _values(window, "d_real"), _values(window, "d_fake")
    if min(len(real), len(fake)) < MIN_RECORDS:
        return None
    mean_real, mean_fake = statistics.fmean(real), statistics.fmean(fake)
    if mean_real < D_SURE or mean_fake > 1 - D_SURE:
        return None
    g_norms = _values(window, "grad_norm_g")
    g_note = (f" G's gradient norm is now about {statistics.median(g_norms):.2g}, so G gets "
              "little or misleading signal." if g_norms else "")
    return Alert(
        "d_wins", window[-1].step, "The discriminator is winning outright",
        f"Over the last {len(window)} steps D scored real samples {mean_real:.3f} and fakes "
        f"{mean_fake:.3f} on average: it tells them apart almost perfectly, so the game has "
        f"stopped being a contest.{g_note}",
        "Lower D's learning rate (or raise G's), take more G steps per D step, use the "
        "non-saturating or hinge loss instead of minimax, turn on spectral normalisation in D, "
        "or make D smaller.")


def _vanishing(window: Sequence[Any], before: Sequence[Any]) -> Alert | None:
    recent, reference = _values(window, "grad_norm_g"), _values(before, "grad_norm_g")
    if min(len(recent), len(reference)) < MIN_RECORDS:
        return None
    now, typical = statistics.median(recent), statistics.median(reference)
    if typical <= 0 or now >= VANISH_RATIO * typical:
        return None
    return Alert(
        "vanishing_gradient", window[-1].step, "G's gradients are vanishing",
        f"G's gradient norm fell to {now:.2g}, under {VANISH_RATIO:.0%} of its earlier "
        f"{typical:.2g}: G has almost nothing to learn from, usually because D saturates "
        "(the minimax loss does this when D wins).",
        "Switch to the non-saturating, hinge or WGAN-GP loss, lower D's learning rate, or take "
        "more G steps per D step.")


def _collapse(history: Sequence[Mapping[str, Any]], step: int) -> Alert | None:
    latest = history[-1]
    for key, total_key, what in (("digits_covered", None, "digits"),
                                 ("modes_captured", "modes_total", "modes")):
        if latest.get(key) is None:
            continue
        now = int(latest[key])
        best = max(int(m[key]) for m in history if m.get(key) is not None)
        total = int(latest[total_key]) if total_key and latest.get(total_key) else 10
        dropped = best > 0 and now <= best * (1 - MODE_DROP)
        low = now < (MIN_DIGITS if what == "digits" else total / 2)
        # Samples unlike the data yet (early training) say nothing about modes: only warn
        # about few modes once G makes convincing samples.
        if what == "digits" and latest.get("precision", 1.0) < MIN_PRECISION:
            low = False
        if what == "modes" and latest.get("high_quality_pct", 100.0) < MIN_QUALITY_PCT:
            low = False
        if dropped or low:
            since = f", down from {best} at best" if best > now else ""
            return Alert(
                "mode_collapse", step, "Mode collapse",
                f"G now covers {now} of {total} {what}{since}: it makes only a few kinds of "
                "sample, a common failure where G finds outputs that fool D and stops exploring.",
                _COLLAPSE_FIXES)
    recalls = [float(m["recall"]) for m in history if m.get("recall") is not None]
    if recalls and latest.get("recall") is not None:
        best = max(recalls)
        if best >= 0.2 and recalls[-1] < RECALL_DROP * best:
            return Alert(
                "mode_collapse", step, "Coverage is dropping",
                f"Recall, the share of real samples that G's samples come close to, fell to "
                f"{recalls[-1]:.2f} from {best:.2f} at best: G is covering less of the data.",
                _COLLAPSE_FIXES)
    return None


_COLLAPSE_FIXES = ("Turn on PacGAN packing (pack 2-4) so D sees several samples at once, use the "
                   "WGAN-GP or hinge loss, lower G's learning rate, or roll back to an earlier "
                   "checkpoint and continue with these changes.")
