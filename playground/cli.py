"""The command line: `playground train | sample | judge | eval | presets | export | lesson(s)`.

Every subcommand drives the same core objects as the web app. Errors (bad flags, bad files, bad
values) print one line on stderr and exit with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .presets import PRESETS, get_preset

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """An error to print as one line."""


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field (`--g-lr 1e-3`, `--spectral-norm/--no-spectral-norm`, ...)."""
    for klass in (DataConfig, ModelConfig, TrainConfig):
        group = parser.add_argument_group(f"{klass.__name__} fields (override the preset)")
        for f in dataclasses.fields(klass):
            if f.name == "points":  # a list: read from a CSV file (playground/points_io.py)
                group.add_argument("--points", dest="points", default=None, metavar="CSV",
                                   help="your own 2D points (dataset points): a CSV of x,y rows")
                continue
            flags = [f"--{f.name.replace('_', '-')}"]
            if "_" in f.name:
                flags.append(f"--{f.name}")
            default = f.default
            if isinstance(default, bool):
                group.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction,
                                   default=None)
            else:
                kind = type(default) if default is not None else str
                group.add_argument(*flags, dest=f.name, type=kind, default=None,
                                   metavar=kind.__name__.upper())


def config_from_args(args: argparse.Namespace) -> RunConfig:
    config = get_preset(args.preset)
    names = [f.name for k in (DataConfig, ModelConfig, TrainConfig) for f in dataclasses.fields(k)]
    changes = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if "points" in changes:
        from .points_io import read_points_csv

        path = Path(changes["points"])
        try:
            changes["points"] = read_points_csv(path.read_bytes(), path.name)
        except OSError as e:
            raise CLIError(f"cannot read {path}: {e.strerror or e}") from None
        changes.setdefault("dataset", "points")
    return config.replace(**changes) if changes else config


def cmd_sample(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .sample import generate, grid, parse_seeds

    trainer = load_checkpoint(args.checkpoint, device=args.device)
    seeds = parse_seeds(args.seeds)
    if args.label is not None and not trainer.config.model.conditional:
        raise CLIError("--label needs a conditional checkpoint")
    if args.label is not None and not 0 <= args.label < trainer.num_classes:
        raise CLIError(f"--label {args.label} is out of range: "
                       f"allowed 0..{trainer.num_classes - 1}")
    if args.out is None and args.csv is None:
        raise CLIError("give --out FILE.png (a picture), --csv FILE.csv (2D points), or both")
    if args.csv is not None and not trainer.is_2d:
        raise CLIError("--csv writes 2D points: this checkpoint makes images (use --out)")
    labels = args.label if trainer.config.model.conditional else None
    if trainer.config.model.conditional and labels is None:
        labels = [s % trainer.num_classes for s in seeds]
    samples = generate(trainer.sampler(), seeds, trainer.config.model.z_dim,
                       noise=trainer.config.model.noise,
                       truncation=args.truncation, labels=labels, device=trainer.device)
    if args.csv is not None:
        _write_points(Path(args.csv), seeds, samples)
        print(f"wrote {len(seeds)} points to {args.csv}", file=sys.stderr)
    if args.out is not None:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if trainer.is_2d:  # the Sample tab's picture: the points over the real data
            from .frames import real_points, view_lim
            from .plots import points_view

            names = [str(s) for s in seeds] if len(seeds) <= 64 else []
            points_view(samples, view_lim(trainer), names, real=real_points(trainer)).save(out)
        else:
            grid(samples, nrow=args.nrow).save(out)
        print(f"wrote {len(seeds)} samples to {out}", file=sys.stderr)
    return 0


def _write_points(path: Path, seeds: list[int], points: Any) -> None:
    """Generated 2D points as CSV: seed,x,y (a header line first)."""
    from .points_io import points_csv

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(points_csv(seeds, points))


def cmd_judge(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .images import image_to_tensor, open_image
    from .judge import score_image

    trainer = load_checkpoint(args.checkpoint, device=args.device)
    if trainer.is_2d:
        raise CLIError("this checkpoint is a 2D model: it judges points, not images")
    for path in args.images:
        image = image_to_tensor(open_image(path), trainer.data_shape).to(trainer.device)
        score = score_image(trainer.D, image, label=args.label)
        print(f"{path}\t{score:.4f}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint, read_metadata
    from .metrics import evaluate_generator

    trainer = load_checkpoint(args.checkpoint, device=args.device)
    meta = read_metadata(args.checkpoint)
    trained_in = meta.get("precision") or trainer.precision
    result = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model,
                                n=args.samples, seed=args.seed, device=trainer.device)
    # How it was trained, before what it does.
    result = {"trained_steps": trainer.step_count, "trained_precision": trained_in,
              "trained_world_size": meta["world_size"], **result}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    for name, config in PRESETS.items():
        m, t = config.model, config.train
        print(f"{name:12s} data={config.data.dataset} arch={m.arch}"
              f"{' conditional' if m.conditional else ''} loss={t.loss} steps={t.steps}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the run (a preset with any flags, or a checkpoint's config) as one Python file."""
    from .export import export_script

    if args.checkpoint:
        from .checkpoint import read_metadata
        config, origin = read_metadata(args.checkpoint)["config"], Path(args.checkpoint).name
    else:
        config, origin = config_from_args(args), f"preset {args.preset}"
    Path(args.out).write_text(export_script(config, origin))
    print(f"wrote {args.out}: python {args.out} trains it and writes run.safetensors")
    return 0


def cmd_lessons(args: argparse.Namespace) -> int:
    from .lessons import LESSONS

    for lesson in LESSONS.values():
        print(f"{lesson.name:18s} {lesson.title}")
        for r in lesson.runs:
            then = f", then {r.then} for {r.then_steps} steps" if r.then else ""
            print(f"{'':18s} {r.label}: {r.query()}{then}")
    return 0


def cmd_lesson(args: argparse.Namespace) -> int:
    """Train the lesson's runs headless and print each claim: expected, measured, holds."""
    import torch

    from .lessons import check, get_lesson

    lesson = get_lesson(args.name)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{lesson.title}\n{lesson.see}\n")
    say = None if args.quiet else (lambda words: print(f"  ... {words}", flush=True))
    outcomes = check(lesson, device=args.device, progress=say)
    for outcome in outcomes:
        print(outcome.line())
    held = all(o.holds for o in outcomes)
    print(f"\n{lesson.shows}" if held else "\nNot every claim held on this machine.")
    return 0 if held else 1


def build_parser() -> argparse.ArgumentParser:
    from .cli_train import cmd_train

    parser = argparse.ArgumentParser(prog="playground", description="GAN Playground from the "
                                     "command line (the web app is `python app.py`).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a preset (any config field can be overridden)")
    p.add_argument("--preset", default="ring8", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--resume", help="continue training from this checkpoint")
    p.add_argument("--out", help="checkpoint to write (default runs/<preset>.safetensors)")
    p.add_argument("--chunk", type=int, default=50, help="steps between progress updates")
    p.add_argument("--log-every", type=int, default=0, help="steps between summary lines")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--slim", action="store_true",
                   help="save without the optimisers' state (about half the size; a resumed "
                        "run restarts Adam's moments)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: one per core)")
    _add_config_flags(p)
    p.set_defaults(func=cmd_train)  # playground/cli_train.py

    p = sub.add_parser("sample", help="write the samples of a list of seeds: a grid of images, "
                       "or 2D points as a picture and/or a CSV")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--seeds", default="0-63", help='e.g. "0-63" or "1,5,9"')
    p.add_argument("--truncation", type=float, default=1.0, help="psi in (0, 1]")
    p.add_argument("--label", type=int, help="class for conditional models")
    p.add_argument("--nrow", type=int, default=8)
    p.add_argument("--device", default=None)
    p.add_argument("--out", help="PNG file to write (a grid of images, or the 2D points drawn "
                   "over the real data)")
    p.add_argument("--csv", help="2D models: CSV file of the points (seed,x,y)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("judge", help="print the discriminator's score of each image")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--label", type=int, help="class for conditional models")
    p.add_argument("--device", default=None)
    p.add_argument("images", nargs="+")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("eval", help="quality metrics of a checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--samples", type=int, default=None, help="number of generated samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("export", help="write a run's recipe as one standalone Python file "
                       "(torch only): python run.py trains it and saves a checkpoint")
    p.add_argument("--preset", default="ring8", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--checkpoint", help="export this checkpoint's config instead of a preset")
    p.add_argument("--out", default="run.py")
    _add_config_flags(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("lessons", help="list the lessons (guided experiments)")
    p.set_defaults(func=cmd_lessons)

    p = sub.add_parser("lesson", help="train a lesson's runs headless and check its claims "
                       "(exit status 1 when one does not hold)")
    p.add_argument("name")
    p.add_argument("--device", default="cpu", help="the claims were measured on the CPU")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_lesson)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .data import DatasetUnavailable

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, CheckpointError, DatasetUnavailable, OSError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
