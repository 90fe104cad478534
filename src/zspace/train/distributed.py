"""Multi-process data parallelism with torch.distributed, launched by ``torchrun``.

``torchrun --nproc_per_node=2 -m zspace train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; the
trainer then joins a process group (gloo on CPU, nccl on GPU), wraps the model in
DistributedDataParallel, gives each rank an equal slice of every global batch, and lets rank 0
alone write checkpoints and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job: rank in [0, world_size)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: torch.device) -> DistInfo:
    """Join the process group described by torchrun's environment; single process otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(info.local_rank)  # object collectives use the current device
    if not dist.is_initialized():
        # gloo for the small CPU-side collectives (NaN consensus, RNG states), nccl for gradients.
        backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return info


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over ranks in place (no-op on one process)."""
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_objects(obj: object, info: DistInfo) -> list[object]:
    """Collect one picklable object per rank, in rank order (used for per-rank RNG states)."""
    if not info.enabled:
        return [obj]
    out: list[object] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def teardown(info: DistInfo) -> None:
    """Leave the process group; call after the DDP wrapper has been dropped.

    gloo's worker thread frees finished work items, which needs the GIL, while the process
    group's destructor joins that thread holding the GIL: if the two meet, the process hangs at
    exit (seen with torch 2.13 + gloo). Two synchronous barriers, waited for with the GIL
    released, leave the worker idle before the group is destroyed.
    """
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.barrier()
        dist.destroy_process_group()
