"""Train the small MNIST classifier used by the image metrics and save it as safetensors.

    .venv/bin/python scripts/train_classifier.py   # -> checkpoints/mnist-classifier.safetensors

Trains on the bundled train split of `playground.data` (4,500 digits) with small random affine
augmentation, saves an average of the weights, and reports accuracy on the 500 held-out digits,
which it never trains on. Every random number comes from one seeded torch.Generator, so the same
command gives the same weights on the same machine. About 4 minutes on two busy CPU cores (see
checkpoints/mnist-classifier.md for the recipe and how it was chosen).
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from playground.classifier import DEFAULT_PATH, DigitClassifier, init_classifier  # noqa: E402


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random rotation (±10°), scale (0.9-1.1) and shift (±2 px) of images in [-1, 1]."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator) * 2 - 1  # four uniforms in [-1, 1] per image
    angle = u[:, 0] * math.radians(10)
    scale = 1 + 0.1 * u[:, 1]
    shift = u[:, 2:] * (2 / 14)  # 2 pixels in affine_grid's [-1, 1] coordinates
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0, so warp x + 1 (background 0) and shift back to keep it black.
    return F.grid_sample(x + 1, grid, align_corners=False) - 1


def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum((model(xb).argmax(1) == yb).sum().item()
                      for xb, yb in zip(x.split(500), y.split(500)))
    return correct / len(y)


def train(x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor, *,
          epochs: int, batch_size: int, lr: float, seed: int,
          ema: float) -> tuple[DigitClassifier, float]:
    """Adam with a one-cycle (warm-up then cosine) learning rate.

    Returns the exponential moving average of the weights (decay `ema`) and its held-out
    accuracy: the average varies much less from seed to seed than the last iterate does.
    """
    generator = torch.Generator().manual_seed(seed)
    model = DigitClassifier()
    init_classifier(model, generator)
    averaged = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for idx in order.split(batch_size):
            loss = F.cross_entropy(model(augment(x[idx], generator)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                for p_avg, p in zip(averaged.parameters(), model.parameters()):
                    p_avg.lerp_(p, 1 - ema)
            total += loss.item() * len(idx)
        last, avg = accuracy(model, x_val, y_val), accuracy(averaged, x_val, y_val)
        print(f"epoch {epoch + 1:2d}/{epochs}  loss {total / len(x):.4f}  held-out acc "
              f"{last:.4f} (average {avg:.4f})", flush=True)
    return averaged, accuracy(averaged, x_val, y_val)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--ema", type=float, default=0.998, help="decay of the weight average")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = p.parse_args(argv)
    torch.set_num_threads(2)  # the script only: the machine's two cores, shared fairly

    from playground.config import DataConfig
    from playground.data import load_dataset
    data = load_dataset(DataConfig(dataset="mnist"))
    start = time.perf_counter()
    model, acc = train(data.train.cpu(), data.train_labels.cpu(), data.heldout.cpu(),
                       data.heldout_labels.cpu(), epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, seed=args.seed, ema=args.ema)
    wall = time.perf_counter() - start
    flags = ("epochs", "batch_size", "lr", "ema", "seed")
    command = "python scripts/train_classifier.py " + " ".join(
        f"--{k.replace('_', '-')} {getattr(args, k)}" for k in flags)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(args.out), metadata={
        "accuracy": f"{acc:.4f}", "heldout": f"{len(data.heldout)} bundled MNIST held-out digits",
        "command": command, "seed": str(args.seed), "wall_time_s": f"{wall:.1f}",
        "torch": torch.__version__})
    print(f"held-out accuracy {acc:.4f} ({round(acc * len(data.heldout))}/{len(data.heldout)}); "
          f"{wall:.1f} s; saved {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
