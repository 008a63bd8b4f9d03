"""Data-parallel training across processes, as `torchrun` starts them.

    torchrun --standalone --nproc_per_node 2 -m playground train --preset ring8

Each of the N processes (ranks) holds the whole of G and D. Every step, every rank draws the
same global batch of B real samples, labels and noise vectors from the run's seeded streams and
keeps its own B/N of them (rank r: rows r*B/N to (r+1)*B/N), so the ranks see different data
and the run is the same run as one process with batch B: after each backward the ranks average
their gradients (one all-reduce of the flattened gradients, gloo on the CPU, nccl on CUDA), and
the mean of N equal shards' mean gradients is the batch's mean gradient. Why not DDP's module
wrapper: D is called on the real and the fake batch before one backward, G's step runs D with
its weights frozen, and WGAN-GP differentiates D through `torch.autograd.grad`; averaging the
gradients by hand, after each backward, has none of the wrapper's traps (buffer broadcasts
between forwards, unused parameters, hooks on frozen weights). What stays identical on every
rank, and why:
- the weights and the optimisers' moments: the same init (the same seed) and the same averaged
  gradients every step;
- spectral norm's u and v: they are updated from the weights in each forward, and the forwards
  are the same on every rank;
- the EMA of G: updated from identical weights;
- the random streams: the same seeds, the same draws.
What does not: BatchNorm in the DCGAN's G normalises over the rank's own shard (B/N samples, as
DDP does by default), so a DCGAN run is not the 1-process run exactly, and rank 0's running
statistics are the ones saved. The reported losses and scores are averaged over the ranks.
Only rank 0 writes checkpoints and prints; Ctrl-C stops every rank at the same step.
Exact equality with one process is not possible: the all-reduce adds N partial gradients where
one process sums the whole batch at once, in a different order (float addition is not
associative); the difference is rounding, ~1e-7 relative, which a GAN amplifies over steps.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Group:
    """This process's place in a data-parallel run of `world_size` processes."""
    rank: int
    world_size: int
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's rows of a global batch (its size a multiple of world_size)."""
        if x is None:
            return None
        n = x.shape[0] // self.world_size
        return x[self.rank * n:(self.rank + 1) * n]

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Replace each parameter's gradient with its mean over the ranks (one all-reduce)."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def average(self, x: torch.Tensor) -> torch.Tensor:
        """x averaged over the ranks (a new tensor)."""
        x = x.clone()
        dist.all_reduce(x)
        return x / self.world_size

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on one (e.g. a Ctrl-C seen by one rank)."""
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        dist.barrier()

    def _device(self) -> torch.device:
        return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")


def from_environment(device: str = "auto") -> Group | None:
    """The process group torchrun describes (WORLD_SIZE > 1), joined; None for one process.

    gloo on the CPU, nccl when the run trains on CUDA (each rank on GPU LOCAL_RANK)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    on_cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if on_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if on_cuda else "gloo")
    return Group(rank, world_size, local_rank)


def check_batch(batch_size: int, pack: int, world_size: int) -> None:
    """A ValueError unless the global batch splits into equal shards of whole pack groups."""
    if batch_size % (world_size * pack):
        raise ValueError(f"batch_size={batch_size} must split evenly across {world_size} "
                         f"processes{f' in groups of pack={pack}' if pack > 1 else ''}: use a "
                         f"multiple of {world_size * pack}")


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
