"""Write the model card `checkpoints/<name>.md` of a bundled checkpoint from its own measurements.

    python scripts/checkpoint_card.py --name ring8 --metrics eval.json --wall-s 41.2 \
        --load-before "1.02 0.80 0.55" --load-after "1.80 1.10 0.70" --command "..."

Called by scripts/make_checkpoints.sh after `playground train` and `playground eval --json`; it
reads the preset, seed, steps and training time from the checkpoint's own metadata, the metrics
from the `playground eval --json` output, and says for each bar whether it is met. Nothing here
is typed in by hand.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playground.checkpoint import read_metadata  # noqa: E402
from playground.presets import get_preset  # noqa: E402

Check = tuple[str, Callable[[dict[str, Any]], bool]]


def _shares(m: dict[str, Any]) -> list[float]:
    return m["class_shares"]


# The bars of issue 4, as measured by `playground eval` (tests/test_pretrained.py asserts the same).
BARS: dict[str, list[Check]] = {
    "ring8": [("8/8 modes", lambda m: m["modes_captured"] == 8),
              (">= 90 % high quality", lambda m: m["high_quality_pct"] >= 90)],
    "grid25": [("25/25 modes", lambda m: m["modes_captured"] == 25),
               (">= 90 % high quality", lambda m: m["high_quality_pct"] >= 90)],
    "mnist-mlp": [("10/10 digits each >= 5 %", lambda m: min(_shares(m)) >= 0.05)],
    "mnist-dcgan": [("FD <= 2x baseline", lambda m: m["fd_ratio"] <= 2),
                    ("10/10 digits each 5-15 %",
                     lambda m: min(_shares(m)) >= 0.05 and max(_shares(m)) <= 0.15),
                    ("mean classifier confidence >= 0.9", lambda m: m["mean_confidence"] >= 0.9)],
    "mnist-cgan": [(">= 95 % classified as the requested digit",
                    lambda m: m["label_accuracy"] >= 0.95),
                   ("FD <= 2x baseline", lambda m: m["fd_ratio"] <= 2)],
}


def _metric_lines(m: dict[str, Any]) -> list[str]:
    if m.get("metric_set") == "2d":
        return [f"- modes captured: **{m['modes_captured']}/{m['modes_total']}**",
                f"- high-quality samples (within 3 sigma of a mode): **{m['high_quality_pct']:.1f} %**",
                f"- samples per mode: {m['mode_counts']}",
                f"- KL(real || fake) {m['kl']:.3f} nats (real-vs-real {m['kl_baseline']:.3f}); "
                f"JS {m['js']:.3f} (real-vs-real {m['js_baseline']:.3f})"]
    lines = [f"- FD (classifier features) **{m['fd']:.2f}**, real-vs-real baseline "
             f"{m['fd_baseline']:.2f}: ratio **{m['fd_ratio']:.2f}x**",
             f"- digits covered (>= 5 % of samples): **{m['digits_covered']}/10**; shares "
             f"{', '.join(f'{s:.3f}' for s in m['class_shares'])} (digits 0-9)",
             f"- mean classifier confidence **{m['mean_confidence']:.3f}**; entropy "
             f"{m['entropy']:.3f} of {m['entropy_max']:.3f}",
             f"- precision {m['precision']:.3f} / recall {m['recall']:.3f} (real-vs-real "
             f"{m['precision_baseline']:.3f} / {m['recall_baseline']:.3f})"]
    if "label_accuracy" in m:
        lines.append(f"- samples classified as the requested digit: **{100 * m['label_accuracy']:.1f} %**")
    return lines


def card(name: str, path: Path, metrics: dict[str, Any], wall_s: float, load_before: str,
         load_after: str, command: str) -> tuple[str, bool]:
    """The card's markdown and whether every bar is met."""
    meta = read_metadata(path)
    config = meta["config"]
    preset = get_preset(name)
    differs = {k: v for k, v in config.to_dict()["train"].items()
               if preset.to_dict()["train"][k] != v and k != "seed"}
    checks = [(text, bool(ok(metrics))) for text, ok in BARS[name]]
    passed = all(ok for _, ok in checks)
    m, t = config.model, config.train
    lines = [
        f"# `{name}.safetensors`", "",
        f"Preset `{name}` of `playground/presets.py` (its comment explains the recipe), seed "
        f"{t.seed}, {int(meta['step']):,} steps, trained and measured by `scripts/make_checkpoints.sh` "
        f"(`make checkpoints`).", "",
        "## How it was made", "",
        "```", command, f"python -m playground eval --checkpoint checkpoints/{name}.safetensors --json",
        "```", "",
        f"- data `{config.data.dataset}`; {m.arch} G/D, z {m.z_dim}, G width {m.g_width} x "
        f"depth {m.g_depth}, D width {m.d_width} x depth {m.d_depth}"
        f"{', conditional' if m.conditional else ''}{', spectral norm on D' if m.spectral_norm else ''}"
        f"{f', pack {m.pack}' if m.pack > 1 else ''}",
        f"- {t.loss} loss, G lr {t.g_lr:g} / D lr {t.d_lr:g}, Adam betas ({t.beta1:g}, {t.beta2:g}), "
        f"batch {t.batch_size}, {t.d_steps} D : {t.g_steps} G steps, EMA of G "
        f"{t.ema_decay:g}" + (f", precision {t.precision}" + (
            f" ({meta['precision']} here)" if t.precision == "auto" and meta.get("precision")
            else "") if t.precision != "fp32" else "")
        + (f"; differs from the preset in {differs}" if differs else ""),
        f"- training time {float(meta['elapsed_s']):.0f} s (the trainer's own clock); the whole "
        f"`playground train` command took {wall_s:.0f} s wall time",
        f"- machine: {platform.processor() or platform.machine()}, 2 CPU cores shared with other "
        f"work; load average {load_before} before, {load_after} after (1, 5, 15 min)",
        f"- file size {path.stat().st_size / 1e6:.2f} MB (weights of G, D and G's EMA, "
        + ("random-stream states and 1,000 records of the training history; saved `--slim`: "
           "no Adam moments, so a resumed run restarts them" if meta.get("slim") else
           "Adam moments, random-stream states and the training history") + ")", "",
        f"## Metrics (`playground eval`, n={metrics['n']}, seed {metrics['seed']})", "",
        *_metric_lines(metrics), "",
        "## Bars (issue 4)", "",
        *[f"- [{'x' if ok else ' '}] {text}" for text, ok in checks], "",
        "Samples are drawn from the EMA of G when the preset uses one (`Trainer.sampler()`).",
    ]
    return "\n".join(lines) + "\n", passed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, choices=sorted(BARS))
    p.add_argument("--checkpoint", default=None, help="default checkpoints/<name>.safetensors")
    p.add_argument("--metrics", required=True, help="`playground eval --json` output file")
    p.add_argument("--wall-s", type=float, required=True)
    p.add_argument("--load-before", default="?")
    p.add_argument("--load-after", default="?")
    p.add_argument("--command", default="")
    args = p.parse_args(argv)
    path = Path(args.checkpoint or ROOT / "checkpoints" / f"{args.name}.safetensors")
    metrics = json.loads(Path(args.metrics).read_text())
    text, passed = card(args.name, path, metrics, args.wall_s, args.load_before, args.load_after,
                        args.command)
    path.with_suffix(".md").write_text(text)
    print(f"{path.with_suffix('.md').name}: {'every bar met' if passed else 'BAR MISSED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
