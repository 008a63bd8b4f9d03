"""The generator G and discriminator D: MLP and DCGAN, optionally conditional, packed, spectral-normed.

`build_models(cfg, data_shape, num_classes, generator)` is the one entry point. Every parameter and
random buffer (spectral-norm u/v included) is drawn from `generator`, so one seed gives bit-identical
networks; the global RNG is neither used nor disturbed. Also here: `init_weights` (the one init
function) and `EMA`, the moving average of G used for sampling.

Conventions (docs/ARCHITECTURE.md): G(z, y=None) -> x of shape (N, *data_shape); D(x, y=None) ->
logits of shape (N // pack,). Images are in [-1, 1] (G ends in tanh); 2D toy points are unbounded
(G's output is linear), since the toy sets reach beyond +-4.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm

from .config import ModelConfig


# ReLU and leaky ReLU work in place, on the output of the layer before them (a Linear or a
# convolution, whose backward does not need its output; BatchNorm's needs its input): the same
# numbers forward and backward (their backward reads the sign of the result, the same as the
# input's), without a fresh activation buffer written to cold memory each call. Measured on
# the 2D MLPs (issue 16): ~50 us of a 256x256 leaky ReLU in a training step against ~9 us when
# its buffer is warm; ring8 1.04x, grid25 1.05x, mnist-dcgan 1.01x the steps/s
# (`python -m benchmarks.step_parts`).
def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "elu":
        return nn.ELU()
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"activation={name!r} is not one of: relu, leaky_relu, elu, tanh")


def _check_labels(y: torch.Tensor | None, n: int, who: str) -> torch.Tensor:
    if y is None:
        raise ValueError(f"this {who} is conditional: pass y, a ({n},) tensor of class indices")
    if y.shape != (n,) or y.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"labels y must be a ({n},) integer tensor of class indices, "
                         f"got shape {tuple(y.shape)} and dtype {y.dtype}")
    return y


def _generator_input(z: torch.Tensor, y: torch.Tensor | None, embed: nn.Module | None) -> torch.Tensor:
    """z, with the label embedding appended when G is conditional."""
    if embed is None:
        return z
    return torch.cat([z, embed(_check_labels(y, z.shape[0], "generator"))], dim=1)


def _group(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(N, ...) -> (N // pack, pack * first dim, ...): consecutive samples judged as one input."""
    n = x.shape[0]
    if n % pack:
        raise ValueError(f"the discriminator got {n} samples, which is not a multiple of pack={pack}")
    return x.reshape(n // pack, pack * x.shape[1], *x.shape[2:])


class _Discriminator(nn.Module):
    """What both Ds share: the head (features -> 1 logit) and the projection of the labels.

    Projection discriminator (Miyato & Koyama 2018): logit = head(h) + <embed(y), h>. With packing,
    each slot of a group has its own label table (index slot * num_classes + y), so D can tell
    which sample of the group carries which label, and pack=1 is the usual projection D.
    """

    def __init__(self, features: nn.Module, width: int, num_classes: int, pack: int) -> None:
        super().__init__()
        self.features = features  # (N // pack, ...) -> (N // pack, width)
        self.pack = pack  # read by losses.gradient_penalty: a group is one input of the critic
        self.num_classes = num_classes  # 0 = unconditional
        self.head = nn.Linear(width, 1)
        self.label_embed = nn.Embedding(num_classes * pack, width) if num_classes else None

    def _logits(self, h: torch.Tensor, y: torch.Tensor | None, n: int) -> torch.Tensor:
        logits = self.head(h).squeeze(1)  # (N // pack,)
        if self.label_embed is None:
            return logits  # an unconditional D ignores labels it is given
        y = _check_labels(y, n, "discriminator")
        slots = torch.arange(self.pack, device=y.device).repeat(n // self.pack) * self.num_classes
        e = self.label_embed(y + slots).view(n // self.pack, self.pack, -1).sum(1)  # (N // pack, F)
        return logits + (e * h).sum(1)


class MLPGenerator(nn.Module):
    """z (+ label embedding) -> hidden widths g_width * 2**i -> prod(data_shape), reshaped."""

    def __init__(self, cfg: ModelConfig, data_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.z_dim, self.data_shape, self.num_classes = cfg.z_dim, data_shape, num_classes
        self.label_embed = nn.Embedding(num_classes, num_classes) if num_classes else None
        layers: list[nn.Module] = []
        width = cfg.z_dim + num_classes
        for i in range(cfg.g_depth):
            layers += [nn.Linear(width, cfg.g_width * 2**i), _activation(cfg.activation)]
            width = cfg.g_width * 2**i
        layers.append(nn.Linear(width, math.prod(data_shape)))  # (N, prod(data_shape))
        if len(data_shape) > 1:
            layers.append(nn.Tanh())  # images live in [-1, 1]; 2D points stay linear
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_generator_input(z, y, self.label_embed)).view(-1, *self.data_shape)


class MLPDiscriminator(_Discriminator):
    """pack flattened samples -> hidden widths d_width * 2**(d_depth-1-i) (leaky ReLU) -> 1 logit."""

    def __init__(self, cfg: ModelConfig, data_shape: tuple[int, ...], num_classes: int) -> None:
        layers: list[nn.Module] = []
        width = math.prod(data_shape) * cfg.pack
        for i in range(cfg.d_depth):
            layers += [nn.Linear(width, cfg.d_width * 2**(cfg.d_depth - 1 - i)),
                       nn.LeakyReLU(0.2, inplace=True)]
            width = cfg.d_width * 2**(cfg.d_depth - 1 - i)
        super().__init__(nn.Sequential(*layers), cfg.d_width, num_classes, cfg.pack)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(_group(x.flatten(1), self.pack))
        return self._logits(h, y, x.shape[0])


def _dcgan_levels(data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(base side, number of 2x steps): 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ValueError(f"arch='dcgan' needs square images (C, H, H), not data_shape={data_shape}; "
                         "use arch='mlp'")
    base, steps = data_shape[1], 0
    while base % 2 == 0 and base // 2 >= 4:
        base, steps = base // 2, steps + 1
    if steps == 0:
        raise ValueError(f"arch='dcgan' needs an even image side of at least 8, not {data_shape[1]}; "
                         "use arch='mlp'")
    return base, steps


class DCGANGenerator(nn.Module):
    """z -> (4 g_width, base, base) -> transposed convs doubling the side -> (C, H, H), tanh.

    For 28x28: (4g, 7, 7) -> (2g, 14, 14) -> (C, 28, 28). For 32x32: (4g, 4, 4) -> (2g, 8, 8) ->
    (g, 16, 16) -> (C, 32, 32). BatchNorm + ReLU between layers, as in DCGAN.
    """

    def __init__(self, cfg: ModelConfig, data_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.z_dim, self.data_shape, self.num_classes = cfg.z_dim, data_shape, num_classes
        self.label_embed = nn.Embedding(num_classes, num_classes) if num_classes else None
        base, steps = _dcgan_levels(data_shape)
        g = cfg.g_width
        chans = [max(g, 4 * g // 2**i) for i in range(steps)] + [data_shape[0]]
        layers: list[nn.Module] = [
            # (N, z + labels, 1, 1) -> (N, 4g, base, base); no bias: BatchNorm follows
            nn.ConvTranspose2d(cfg.z_dim + num_classes, chans[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(chans[0]), nn.ReLU(inplace=True)]
        for i in range(steps):
            last = i == steps - 1
            # (N, chans[i], s, s) -> (N, chans[i+1], 2s, 2s)
            layers.append(nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(chans[i + 1]), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = _generator_input(z, y, self.label_embed)
        return self.net(h[:, :, None, None])


class DCGANDiscriminator(_Discriminator):
    """(pack * C, H, H) -> stride-2 convs (d, 2d, 4d... channels), leaky ReLU -> flatten -> 1 logit.

    No BatchNorm in D, on purpose: BN makes each logit depend on the rest of the batch, which breaks
    the per-group gradient of the gradient penalty, lets packed groups leak into each other, and
    gives real and fake batches different normalisations. WGAN-GP and SNGAN critics drop it too.
    """

    def __init__(self, cfg: ModelConfig, data_shape: tuple[int, ...], num_classes: int) -> None:
        base, steps = _dcgan_levels(data_shape)
        chans = [data_shape[0] * cfg.pack] + [cfg.d_width * 2**i for i in range(steps)]
        layers: list[nn.Module] = []
        for i in range(steps):
            # (N // pack, chans[i], s, s) -> (N // pack, chans[i+1], s/2, s/2)
            layers += [nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Flatten())  # (N // pack, chans[-1] * base * base)
        super().__init__(nn.Sequential(*layers), chans[-1] * base * base, num_classes, cfg.pack)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(_group(x, self.pack))
        return self._logits(h, y, x.shape[0])


def build_models(cfg: ModelConfig, data_shape: tuple[int, ...], num_classes: int,
                 generator: torch.Generator) -> tuple[nn.Module, nn.Module]:
    """(G, D) for `data_shape`, every weight and random buffer drawn from `generator` (on the CPU)."""
    data_shape = tuple(int(s) for s in data_shape)
    if len(data_shape) not in (1, 3):
        raise ValueError(f"data_shape={data_shape} must be (features,) or (C, H, W)")
    if num_classes < 0 or (cfg.conditional and num_classes == 0):
        raise ValueError(f"conditional=True needs labelled data, but num_classes={num_classes}")
    if cfg.arch == "dcgan" and len(data_shape) != 3:
        raise ValueError(f"arch='dcgan' needs images, not data_shape={data_shape}; use arch='mlp'")
    classes = num_classes if cfg.conditional else 0
    # Module constructors (and spectral_norm) draw their default init from the global RNG; fork it
    # so building leaves it untouched. Everything they drew is overwritten by init_weights below.
    with torch.random.fork_rng(devices=[]):
        if cfg.arch == "mlp":
            G, D = MLPGenerator(cfg, data_shape, classes), MLPDiscriminator(cfg, data_shape, classes)
        else:
            G, D = DCGANGenerator(cfg, data_shape, classes), DCGANDiscriminator(cfg, data_shape, classes)
        if cfg.spectral_norm:
            for m in list(D.modules()):
                if isinstance(m, (nn.Linear, nn.Conv2d, nn.Embedding)):
                    spectral_norm(m)
    init_weights(G, generator)
    init_weights(D, generator)
    return G, D


def count_parameters(cfg: ModelConfig, data_shape: tuple[int, ...],
                     num_classes: int = 0) -> tuple[int, int]:
    """(G, D) parameter counts of the models `cfg` builds, without allocating a single weight.

    The models are built on PyTorch's "meta" device (shapes only), so a server can refuse a
    config of billions of parameters before trying to allocate it.
    """
    with torch.device("meta"):
        G, D = build_models(cfg, data_shape, num_classes, torch.Generator())
    return (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters()))


def _raw_weight(m: nn.Module) -> torch.Tensor:
    """The stored weight: under spectral norm `m.weight` is computed, the parameter is `original`."""
    if parametrize.is_parametrized(m, "weight"):
        return m.parametrizations.weight.original
    return m.weight


def _reset_spectral_norm(m: nn.Module, generator: torch.Generator) -> None:
    """Redraw spectral norm's u, v from `generator`, then 15 power iterations as torch's own init does."""
    if not parametrize.is_parametrized(m, "weight"):
        return
    weight = m.parametrizations.weight.original
    for p in m.parametrizations.weight:
        if isinstance(p, _SpectralNorm) and weight.ndim > 1:
            mat = p._reshape_weight_to_matrix(weight)
            for buf, size in ((p._u, mat.shape[0]), (p._v, mat.shape[1])):
                draw = torch.randn(size, generator=generator, device=generator.device)
                buf.copy_(F.normalize(draw, dim=0, eps=p.eps))
            p._power_method(mat, 15)


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every parameter and random buffer of `module` and its children from `generator`.

    Convolutions: N(0, 0.02) and zero bias (DCGAN). BatchNorm: weight N(1, 0.02), zero bias, fresh
    running stats. Linear: PyTorch's default (kaiming-uniform, a=sqrt(5); bias U(+-1/sqrt(fan_in)))
    made reproducible. Embedding: xavier-uniform, so label codes start on the scale of z. A layer
    type not listed here raises TypeError rather than keep an init from the global RNG.
    """
    done: set[int] = set()
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(_raw_weight(m), 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(_raw_weight(m), a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                bound = 1.0 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.Embedding):
            nn.init.xavier_uniform_(_raw_weight(m), generator=generator)
        else:
            continue
        _reset_spectral_norm(m, generator)
        done.update(id(p) for p in m.parameters())
    missed = [name for name, p in module.named_parameters() if id(p) not in done]
    if missed:
        raise TypeError(f"init_weights does not know how to initialise: {', '.join(missed)}")


class EMA:
    """Exponential moving average of a model's weights: shadow = decay * shadow + (1 - decay) * model.

    Warm-up: after n updates the decay used is min(decay, (1 + n) / (10 + n)) (TensorFlow's
    `ExponentialMovingAverage(num_updates=...)`), so the average does not hold on to the first,
    random weights for hundreds of steps; it reaches a decay of 0.99 after ~900 updates and 0.999
    after ~9,000. `updates` counts them (the trainer saves it with the run).
    Buffers (BatchNorm running stats) are copied, not averaged. `shadow` is an eval-mode copy with
    gradients off, used for sampling; it sits on the device `model` was on when EMA was made.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay={decay} is out of range: allowed [0, 1)")
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)
            p.grad = None

    def current_decay(self) -> float:
        """The decay the next update uses (the warm-up's, until it reaches `decay`)."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        mine, theirs = list(self.shadow.parameters()), [p.detach() for p in model.parameters()]
        if len(mine) != len(theirs):
            raise ValueError("EMA.update got a model with different parameters from the one it copied")
        # shadow += (1 - decay)(model - shadow)
        torch._foreach_lerp_(mine, theirs, 1.0 - self.current_decay())
        for s, b in zip(self.shadow.buffers(), model.buffers()):
            s.copy_(b)
        self.updates += 1
