"""The small MNIST classifier behind the image metrics, and its loader.

`DigitClassifier` is a two-convolution CNN with one hidden fully connected layer; its 128-d
penultimate activations (`features`) are the feature space for the Fréchet distance and for
precision/recall in `metrics.py`, the way Inception-v3's pool features are for FID. The weights
are trained by `scripts/train_classifier.py` on the bundled train split only (never the 500
held-out digits) and shipped as `checkpoints/mnist-classifier.safetensors`; see the card next to it.
Loading uses safetensors only: nothing is ever unpickled.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO / "checkpoints" / "mnist-classifier.safetensors"
FEATURE_DIM = 128


class DigitClassifier(nn.Module):
    """Images (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); `features` gives the 128-d layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 3 * 3, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations (N, 128): what the metrics compare."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 32, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 64, 7, 7)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (N, 64, 3, 3)
        return F.relu(self.fc(x.flatten(1)))  # (N, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def init_classifier(model: DigitClassifier, generator: torch.Generator) -> None:
    """He-uniform weights and zero biases, drawn from `generator` (never the global RNG)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            bound = math.sqrt(6.0 / fan_in)
            with torch.no_grad():
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.zero_()


def load_classifier(path: str | Path = DEFAULT_PATH) -> DigitClassifier:
    """The trained classifier from a safetensors file, in eval mode on the CPU; cached per process.

    Callers must not train or move the returned model: it is shared.
    """
    return _load_cached(str(Path(path).resolve()))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> DigitClassifier:
    if not Path(path).is_file():
        raise FileNotFoundError(f"classifier weights not found at {path}; run "
                                "scripts/train_classifier.py to create them")
    model = DigitClassifier()
    model.load_state_dict(load_file(path), strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@torch.no_grad()
def classify(model: DigitClassifier, x: torch.Tensor,
             batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, 128) and softmax probabilities (N, 10) as CPU float32, computed in batches."""
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"the digit classifier needs images of shape (N, 1, 28, 28), got "
                         f"{tuple(x.shape)}")
    feats, probs = [], []
    for chunk in x.detach().to("cpu", torch.float32).split(batch_size):
        f = model.features(chunk)
        feats.append(f)
        probs.append(model.head(f).softmax(dim=1))
    return torch.cat(feats), torch.cat(probs)
