"""Shared pytest set-up: small, deterministic, CPU-only by default."""
import torch

# Two cores here; one intra-op thread keeps tests deterministic and leaves room for the app server.
torch.set_num_threads(1)
