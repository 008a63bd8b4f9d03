"""`playground train`: one run from a preset (or a checkpoint with --resume), on one process or
data-parallel under torchrun, with a progress bar, summary lines, alerts and Ctrl-C handling.

The flags are declared in `cli.build_parser`; errors go through `cli.main` as one line.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from .cli import EXIT_INTERRUPTED, CLIError, config_from_args


def cmd_train(args: argparse.Namespace) -> int:
    from .allocator import keep_freed_memory
    from .distributed import from_environment, leave

    keep_freed_memory()  # as the app does: each step's buffers are reused, not faulted in anew
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise CLIError(f"--threads {args.threads} must be at least 1")
        # Results on the CPU are bit-identical for the same config, seed and thread count;
        # a different thread count sums in a different order, and a GAN amplifies the difference.
        torch.set_num_threads(args.threads)
    # Started by torchrun with N > 1 processes: one data-parallel run (playground/distributed.py).
    group = from_environment(args.device or "auto")
    try:
        return _train(args, group)
    finally:
        leave()


def _train(args: argparse.Namespace, group: Any) -> int:
    from tqdm import tqdm

    from .checkpoint import load_checkpoint, save_checkpoint
    from .train import Trainer

    main = group is None or group.is_main  # only rank 0 prints and writes

    def say(text: str) -> None:
        if main:
            tqdm.write(text, file=sys.stderr)

    if args.resume:
        trainer = load_checkpoint(args.resume, device=args.device, group=group)
        if args.steps is not None:
            trainer.update(steps=args.steps)
        name = Path(args.resume).stem
    else:
        config = config_from_args(args)
        trainer = Trainer(config, group=group)
        name = args.preset
    out = Path(args.out or f"runs/{name}.safetensors")
    target = trainer.config.train.steps
    ranks = f" on {group.world_size} processes" if group else ""
    say(f"training {name}: {trainer.dataset.info}; device {trainer.device}{ranks}; "
        f"{target} steps -> {out}")
    log_every = args.log_every or max(1, target // 10)
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        interrupted = True

    def save() -> None:
        if main:
            save_checkpoint(trainer, out, slim=args.slim)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with tqdm(total=target, initial=min(trainer.step_count, target), unit="step",
                  disable=args.quiet or not main, dynamic_ncols=True) as bar:
            while trainer.step_count < target:
                # Every rank stops at the same step, whichever of them saw the Ctrl-C.
                if group.any(interrupted) if group else interrupted:
                    interrupted = True
                    break
                chunk = min(args.chunk, target - trainer.step_count)
                before = trainer.step_count
                records = trainer.step(chunk)
                last = records[-1]
                if last.event:  # the same on every rank: the losses are averaged over them
                    say(last.event)
                    save()
                    say(f"saved the last good state to {out}")
                    return 1
                bar.update(trainer.step_count - before)
                bar.set_postfix(loss_d=f"{last.loss_d:.3f}", loss_g=f"{last.loss_g:.3f}",
                                img_s=f"{last.images_per_s:.0f}")
                if trainer.step_count // log_every != before // log_every:
                    say(_summary(last))
                    for alert in _alerts(trainer):
                        say(f"alert: {alert}")
    finally:
        signal.signal(signal.SIGINT, previous)
    save()
    if interrupted:
        say(f"interrupted at step {trainer.step_count}; saved to {out}")
        return EXIT_INTERRUPTED
    say(f"saved {out} (step {trainer.step_count}, {trainer.elapsed_s:.1f} s of training)")
    return 0


def _summary(r: Any) -> str:
    return (f"step {r.step}: loss_D {r.loss_d:.4f}  loss_G {r.loss_g:.4f}  D(x) {r.d_real:.3f}  "
            f"D(G(z)) {r.d_fake:.3f}  |grad D| {r.grad_norm_d:.3g}  |grad G| {r.grad_norm_g:.3g}  "
            f"{r.images_per_s:.0f} img/s")


def _alerts(trainer: Any) -> list[str]:
    from .alerts import check

    alerts = check(trainer.history, loss=trainer.config.train.loss)
    return [f"{a.title}: {a.explanation} Try: {a.what_to_try}" for a in alerts]
