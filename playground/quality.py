"""A quality measurement (`metrics.evaluate_generator`) in words, next to the bar it is judged by.

`quality_sentence(result)` gives one sentence such as "25/25 modes, 93 % high quality (a good
model: 25/25, ≥ 90 %)"; `quality_rows(result)` the numbers behind it, for a folded-away table.
The bars are the ones the bundled checkpoints are held to (README, "Presets and bundled
checkpoints").
"""
from __future__ import annotations

from typing import Any

HIGH_QUALITY_BAR = 90.0  # % of 2D samples within 3 sigma of a mode
FD_BAR = 2.0  # digits: FD at most this many times the real-vs-real baseline
CONFIDENCE_BAR = 0.9
LABEL_BAR = 0.95  # conditional: share drawn as the digit asked for
SHARE_RANGE = (0.05, 0.15)  # each digit's share of the samples
HIDDEN = ("dataset", "seed", "metric_set", "class_counts", "mode_counts", "reliability")


def quality_sentence(result: dict[str, Any]) -> str:
    """One sentence: what was measured, and the bar a good model meets."""
    kind = result.get("metric_set")
    if kind == "2d" and "points_total" in result:
        hq, reached = result["high_quality_pct"], result["points_reached_pct"]
        good = hq >= HIGH_QUALITY_BAR
        return (f"{hq:.0f} % of samples on your data (within {result['near_radius']:.2g} of a "
                f"point), {reached:.0f} % of your {result['points_total']:,} points reached (a "
                f"good model: ≥ {HIGH_QUALITY_BAR:.0f} % on the data){': met' if good else ''}.")
    if kind == "2d" and "modes_total" in result:
        total, got, hq = result["modes_total"], result["modes_captured"], result["high_quality_pct"]
        good = got == total and hq >= HIGH_QUALITY_BAR
        return (f"{got}/{total} modes, {hq:.0f} % high quality (a good model: {total}/{total}, "
                f"≥ {HIGH_QUALITY_BAR:.0f} %){': met' if good else ''}.")
    if kind == "2d":
        return (f"KL(real ‖ generated) {result['kl']:.3f} nats, JS {result['js']:.3f} (a fresh "
                f"real sample scores KL {result['kl_baseline']:.3f}: the closer, the better).")
    if kind == "classifier":
        ratio = result.get("fd_ratio")
        shares = result.get("class_shares") or []
        fd = f"FD {ratio:.2f}× the real-vs-real baseline" if ratio is not None else "FD n/a"
        text = (f"{fd}, {result['digits_covered']}/10 digits, confidence "
                f"{result['mean_confidence']:.2f}")
        if "label_accuracy" in result:
            text += f", {100 * result['label_accuracy']:.1f} % drawn as the digit asked for"
        lo, hi = SHARE_RANGE
        good = (ratio is not None and ratio <= FD_BAR
                and result["mean_confidence"] >= CONFIDENCE_BAR
                and all(lo <= s <= hi for s in shares)
                and result.get("label_accuracy", 1.0) >= LABEL_BAR)
        bar = (f"a good model: FD ≤ {FD_BAR:g}×, every digit {lo:.0%}-{hi:.0%} of the samples, "
               f"confidence ≥ {CONFIDENCE_BAR:g}")
        if "label_accuracy" in result:
            bar += f", ≥ {LABEL_BAR:.0%} the digit asked for"
        return f"{text} ({bar}){': met' if good else ''}."
    if kind == "pixels":
        ratio = result.get("fd_ratio")
        fd = f"{ratio:.2f}× the real-vs-real baseline" if ratio is not None else \
            f"{result['fd']:.3g}"
        return (f"Pixel FD {fd} (lower is better; raw pixels, less reliable than the digit "
                "classifier's features).")
    return "Measured."


def quality_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) rows of a measurement's numbers, for the table under the sentence."""
    rows = []
    for key, value in result.items():
        if key in HIDDEN or isinstance(value, bool):
            continue
        if isinstance(value, float):
            rows.append((key, f"{value:.4g}"))
        elif isinstance(value, (int, str)):
            rows.append((key, str(value)))
        elif isinstance(value, list) and len(value) <= 10:
            rows.append((key, ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v)
                                        for v in value)))
    return rows
