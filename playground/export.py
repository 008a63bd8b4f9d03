""""Show the code": a run's recipe as one standalone Python file, readable as a lesson.

`export_script(config)` writes a file that needs only torch (and torchvision for MNIST from the
internet): the run's settings filled in, the data, the networks and losses of the chosen game
(their source taken from `models.py` and `losses.py`, so the file trains exactly these networks),
and the loop, top-down. `python run.py` trains the same recipe (not the same random stream: the
app's seeds are derived differently) in fp32 and saves a checkpoint the app opens (Continue from
a checkpoint file, the Sample tab, `playground sample`). `playground export` and the Train tab's
"Show the code" use it.
"""
from __future__ import annotations

import inspect
import pprint
import textwrap

from . import __version__, losses, models, toy2d
from .checkpoint import FORMAT, FORMAT_VERSION
from .config import RunConfig
from .settings import LOSSES

EXPORTABLE_IMAGES = ("mnist",)  # the bundled digits (or torchvision's MNIST)
_CURVE_CONSTANTS = {"spiral": ("_SPIRAL_TURNS", "_SPIRAL_SCALE"), "moons": (),
                    "line": ("_LINE_START", "_LINE_END")}


def export_script(config: RunConfig, origin: str = "") -> str:
    """The standalone training script of `config` (a ValueError for data it cannot carry)."""
    data, model, train = config.data, config.model, config.train
    if not data.is_2d and data.dataset not in EXPORTABLE_IMAGES:
        raise ValueError(f"dataset={data.dataset!r}: the export carries the 2D sets and the "
                         "digits (mnist); train other data in the app")
    saved = config.replace(precision="fp32", device="auto").to_dict()
    parts = [_header(config, origin), _IMPORTS, _settings(saved), _data(config),
             "# ---------------------------------------------------------------- the networks\n"
             "# (from playground/models.py, unchanged)",
             *(_source(getattr(models, name)) for name in _model_parts(model.arch)),
             _BUILD.replace("ARCH", "MLP" if model.arch == "mlp" else "DCGAN"),
             "# ---------------------------------------------------------------- the game\n"
             "# (from playground/losses.py, unchanged)",
             f"LOSSES = {LOSSES!r}",
             *(_source(f) for f in (losses._unknown, losses.d_loss, losses.g_loss)),
             *([_source(losses.gradient_penalty)] if train.loss == "wgan-gp" else []),
             _LOOP.replace("PENALTY", _PENALTY if train.loss == "wgan-gp" else ""), _SAVE, _MAIN]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _source(obj: object) -> str:
    return textwrap.dedent(inspect.getsource(obj))


def _model_parts(arch: str) -> list[str]:
    shared = ["_check_labels", "_generator_input", "_group", "_Discriminator"]
    own = (["_activation", "MLPGenerator", "MLPDiscriminator"] if arch == "mlp"
           else ["_dcgan_levels", "DCGANGenerator", "DCGANDiscriminator"])
    return shared + own + ["_raw_weight", "_reset_spectral_norm", "init_weights", "EMA"]


def _header(config: RunConfig, origin: str) -> str:
    t = config.train
    where = f" ({origin})" if origin else ""
    return f'''"""A GAN, as one file: {config.data.dataset}, {config.model.arch}, the {t.loss} game{where}.

Exported by GAN Playground {__version__} with the settings below filled in. Read it top-down:
the settings, the data, the two networks (G draws a sample from noise z; D scores a sample,
a logit: D(x) = sigmoid(logit)), the losses of the game, then the loop: a D step, then a G step.

    python {{this file}} [--steps N] [--out run.safetensors] [--digits mnist_5k.npz]

It trains in fp32 on the CPU (or CUDA where there is one) and writes a checkpoint that GAN
Playground opens: "Continue from a checkpoint file" in the Train tab, or the Sample tab.
Needs torch; torchvision only to fetch MNIST from the internet when no --digits file is given
(the playground's bundled digits are playground/assets/mnist_5k.npz).
"""'''


_IMPORTS = '''from __future__ import annotations

import argparse
import copy
import json
import math
import struct
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm'''


class _Name:
    """A name written as itself in the settings (DATA's points are POINTS, listed once)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _settings(saved: dict) -> str:
    points = saved["data"].get("points") or ()
    if points:
        saved = {**saved, "data": {**saved["data"], "points": _Name("POINTS")}}
    groups = {k: pprint.pformat(v, sort_dicts=False, width=96) for k, v in saved.items()}
    listed = ""
    if points:
        rows = [", ".join(f"[{x!r}, {y!r}]" for x, y in points[i:i + 6])
                for i in range(0, len(points), 6)]
        listed = ("# Your points (dataset 'points'): the data is a small Gaussian around each.\n"
                  "POINTS = [\n" + "".join(f"    {row},\n" for row in rows) + "]\n")
    return f'''# ---------------------------------------------------------------- the settings
# The run's config, as GAN Playground names its fields (the checkpoint carries it).
{listed}DATA = {groups["data"]}
MODEL = {groups["model"]}
TRAIN = {groups["train"]}'''


def _data(config: RunConfig) -> str:
    name = config.data.dataset
    head = "# ---------------------------------------------------------------- the data\n"
    if name in ("ring8", "grid25", "points"):
        if name == "points":  # your points are listed with the settings (POINTS)
            toy, centres = toy2d.points_set(config.data.points), "POINTS"
            how = "every batch picks among them and adds the jitter"
        else:
            toy = toy2d.TOY2D[name]
            centres = repr([[round(float(v), 6) for v in row] for row in toy.centres.tolist()])
            how = "every batch is fresh points from the mixture"
        return head + f'''# {toy.description}: {how}.
CENTRES = torch.tensor({centres})
SIGMA = {toy.sigma!r}
DATA_SHAPE, NUM_CLASSES = (2,), 0


def real_batch(n: int, gen: torch.Generator) -> tuple[Tensor, None]:
    which = torch.randint(0, len(CENTRES), (n,), generator=gen)
    return CENTRES[which] + torch.randn(n, 2, generator=gen) * SIGMA, None


def load_data(args) -> None:
    pass'''
    if name in _CURVE_CONSTANTS:
        toy = toy2d.TOY2D[name]
        constants = "\n".join(f"{c} = {getattr(toy2d, c)!r}" for c in _CURVE_CONSTANTS[name])
        curve = _source(toy.curve)
        return head + f'''# {toy.description}: every batch is fresh points along the curve, blurred.
{constants}
SIGMA = {toy.sigma!r}
DATA_SHAPE, NUM_CLASSES = (2,), 0


{curve.strip()}


def real_batch(n: int, gen: torch.Generator) -> tuple[Tensor, None]:
    base = {toy.curve.__name__}(torch.rand(n, generator=gen))
    return base + torch.randn(n, 2, generator=gen) * SIGMA, None


def load_data(args) -> None:
    pass'''
    return head + '''# Handwritten digits, 28x28 grey, scaled to [-1, 1] (G ends in tanh). --digits reads an .npz of
# `images` (N, 28, 28) uint8 and `labels` (N,), like the playground's bundled 5,000 digits;
# without it, torchvision's MNIST (60,000 digits, downloaded to ./data).
DATA_SHAPE, NUM_CLASSES = (1, 28, 28), 10
IMAGES = LABELS = None


def load_data(args) -> None:
    global IMAGES, LABELS
    if args.digits:
        import numpy as np
        with np.load(args.digits) as npz:  # plain arrays only: no pickles
            images, labels = torch.from_numpy(npz["images"]), torch.from_numpy(npz["labels"])
    else:
        import torchvision
        mnist = torchvision.datasets.MNIST("data", train=True, download=True)
        images, labels = mnist.data, mnist.targets
    IMAGES = images[:, None].float().div(127.5).sub(1.0)  # (N, 1, 28, 28) in [-1, 1]
    LABELS = labels.long()


def real_batch(n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    idx = torch.randint(0, len(IMAGES), (n,), generator=gen)
    return IMAGES[idx], LABELS[idx]'''


_BUILD = '''ModelConfig = SimpleNamespace  # the MODEL settings by name, as playground/config.py has them


def build_models(seed: int) -> tuple[nn.Module, nn.Module]:
    """G and D for the settings, every weight drawn from one seeded generator."""
    cfg = ModelConfig(**MODEL)
    classes = NUM_CLASSES if cfg.conditional else 0
    G, D = ARCHGenerator(cfg, DATA_SHAPE, classes), ARCHDiscriminator(cfg, DATA_SHAPE, classes)
    if cfg.spectral_norm:  # keeps D's judgements smooth: each layer's largest gain is 1
        for m in list(D.modules()):
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.Embedding)):
                spectral_norm(m)
    gen = torch.Generator().manual_seed(seed)
    init_weights(G, gen)
    init_weights(D, gen)
    return G, D


def make_optimizer(kind: str, params, lr: float, betas: tuple[float, float]):
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr)
    return torch.optim.RMSprop(params, lr=lr)'''


_PENALTY = '''
            if t.gp_lambda > 0:  # WGAN-GP: D's gradient norm held near 1 between reals and fakes
                loss_d = loss_d + t.gp_lambda * gradient_penalty(D, x, fake, y)'''
_LOOP = '''# ---------------------------------------------------------------- the loop
def draw_noise(n: int, z_dim: int, gen: torch.Generator) -> Tensor:
    """n noise vectors z: N(0, 1) when MODEL["noise"] is "gaussian", else uniform on [-1, 1]."""
    if MODEL.get("noise", "gaussian") == "uniform":
        return torch.rand(n, z_dim, generator=gen) * 2 - 1
    return torch.randn(n, z_dim, generator=gen)


def train(steps: int, device: torch.device, log_every: int = 500) -> dict:
    t = SimpleNamespace(**TRAIN)
    conditional = MODEL["conditional"]
    seed = t.seed
    G, D = build_models(seed)
    G, D = G.to(device), D.to(device)
    ema = EMA(G, t.ema_decay) if t.ema_decay else None  # the average of G: what we sample from
    opt_g = make_optimizer(t.g_optimizer, G.parameters(), t.g_lr, (t.beta1, t.beta2))
    opt_d = make_optimizer(t.d_optimizer, D.parameters(), t.d_lr, (t.beta1, t.beta2))
    data_gen = torch.Generator().manual_seed(seed + 1)  # real batches (and labels)
    noise_gen = torch.Generator().manual_seed(seed + 2)  # z
    n = t.batch_size

    def noise() -> Tensor:  # z ~ N(0, I), or uniform on [-1, 1] (MODEL["noise"])
        return draw_noise(n, MODEL["z_dim"], noise_gen).to(device)

    def fake_labels() -> Tensor | None:
        return torch.randint(NUM_CLASSES, (n,), generator=data_gen).to(device) \\
            if conditional else None

    history, start = [], time.perf_counter()
    for step in range(1, steps + 1):
        # D step: maximise E[log D(x)] + E[log(1 - D(G(z)))] (or the chosen game's form)
        for _ in range(t.d_steps):
            x, y = real_batch(n, data_gen)
            x, y = x.to(device), (None if y is None else y.to(device))
            y_fake = fake_labels()
            with torch.no_grad():
                fake = G(noise(), y_fake)
            real_logits, fake_logits = D(x, y), D(fake, y_fake)
            loss_d = d_loss(t.loss, real_logits, fake_logits)PENALTY
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            norm_d = torch.linalg.vector_norm(torch.stack(
                [p.grad.norm() for p in D.parameters() if p.grad is not None]))
            opt_d.step()
        # G step: minimise the game's G loss (non-saturating: -E[log D(G(z))]), D held fixed
        for _ in range(t.g_steps):
            y_fake = fake_labels()
            for p in D.parameters():
                p.requires_grad_(False)
            loss_g = g_loss(t.loss, D(G(noise(), y_fake), y_fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            for p in D.parameters():
                p.requires_grad_(True)
            norm_g = torch.linalg.vector_norm(torch.stack(
                [p.grad.norm() for p in G.parameters() if p.grad is not None]))
            opt_g.step()
            if ema is not None:
                ema.update(G)
        elapsed = time.perf_counter() - start
        history.append({"step": step, "which": "both", "loss_d": loss_d.item(),
                        "loss_g": loss_g.item(),
                        "d_real": torch.sigmoid(real_logits).mean().item(),
                        "d_fake": torch.sigmoid(fake_logits).mean().item(),
                        "grad_norm_d": norm_d.item(), "grad_norm_g": norm_g.item(),
                        "images_per_s": step * n / max(elapsed, 1e-9), "elapsed_s": elapsed,
                        "event": ""})
        if not (math.isfinite(history[-1]["loss_d"]) and math.isfinite(history[-1]["loss_g"])):
            raise SystemExit(f"diverged at step {step}: try a lower learning rate")
        if log_every and step % log_every == 0:
            r = history[-1]
            print(f"step {step:>6}  loss_D {r['loss_d']:.3f}  loss_G {r['loss_g']:.3f}  "
                  f"D(x) {r['d_real']:.3f}  D(G(z)) {r['d_fake']:.3f}", flush=True)
    return {"G": G, "D": D, "ema": ema, "opt_g": opt_g, "opt_d": opt_d, "history": history,
            "data_gen": data_gen, "noise_gen": noise_gen, "elapsed_s": elapsed}'''


_SAVE = f'''# ---------------------------------------------------------------- the checkpoint
DTYPES = {{torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8", torch.float16: "F16",
          torch.bfloat16: "BF16", torch.int32: "I32", torch.bool: "BOOL", torch.float64: "F64"}}


def save_safetensors(tensors: dict[str, Tensor], path: str, metadata: dict[str, str]) -> None:
    """The safetensors format by hand: an 8-byte header length, a JSON header, the raw bytes."""
    header, blobs, offset = {{"__metadata__": metadata}}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        blob = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {{"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the header is padded to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def fixed_noise(count: int, z_dim: int) -> Tensor:
    """The playground's progress noise: one draw per seed 0..count-1."""
    return torch.cat([draw_noise(1, z_dim, torch.Generator().manual_seed(s))
                      for s in range(count)])


def save_checkpoint(run: dict, path: str, steps: int) -> None:
    tensors = {{}}
    for prefix, module in (("G", run["G"]), ("D", run["D"])):
        tensors.update({{f"{{prefix}}.{{k}}": v for k, v in module.state_dict().items()}})
    if run["ema"] is not None:
        tensors.update({{f"EMA.{{k}}": v for k, v in run["ema"].shadow.state_dict().items()}})
    for prefix, opt in (("opt_g", run["opt_g"]), ("opt_d", run["opt_d"])):
        for index, state in opt.state_dict()["state"].items():
            for key, value in state.items():
                tensors[f"{{prefix}}.{{index}}.{{key}}"] = (value if torch.is_tensor(value)
                                                        else torch.tensor(value))
    tensors["rng.data"] = run["data_gen"].get_state()
    tensors["rng.noise"] = run["noise_gen"].get_state()
    count = 1000 if len(DATA_SHAPE) == 1 else 64
    tensors["fixed_noise"] = fixed_noise(count, MODEL["z_dim"])
    if MODEL["conditional"]:
        tensors["fixed_labels"] = torch.arange(count) % NUM_CLASSES
    history = run["history"]
    if len(history) > 20_000:  # the playground keeps at most 20,000 records: thin evenly
        history = history[::math.ceil(len(history) / 19_999)] + [history[-1]]
    config = {{"data": DATA, "model": MODEL, "train": dict(TRAIN, steps=steps)}}
    metadata = {{"format": {FORMAT!r}, "format_version": "{FORMAT_VERSION}",
                "library_version": {__version__!r}, "config": json.dumps(config),
                "data_shape": json.dumps(list(DATA_SHAPE)), "num_classes": str(NUM_CLASSES),
                "step": str(steps), "precision": "fp32", "elapsed_s": repr(run["elapsed_s"]),
                "dataset": DATA["dataset"], "history": json.dumps(history), "changes": "[]",
                "extra": json.dumps({{"exported": True}}), "slim": "0"}}
    save_safetensors(tensors, path, metadata)'''


_MAIN = '''def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TRAIN["steps"])
    parser.add_argument("--out", default="run.safetensors", help="the checkpoint to write")
    parser.add_argument("--digits", help="an .npz of digits (images, labels) for image data")
    parser.add_argument("--log-every", type=int, default=500)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    load_data(args)
    run = train(args.steps, device, args.log_every)
    save_checkpoint(run, args.out, args.steps)
    print(f"{args.steps} steps in {run['elapsed_s']:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()'''
