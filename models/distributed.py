"""Data-parallel training through torch.distributed, started by ``torchrun``; one process when it is not.

Every process draws the same global batch from the same seeded generator and computes its own shard of
it (``World.shard``), so a run of N processes at batch B makes the updates one process makes at batch
N * B: the gradients are averaged by DistributedDataParallel, and process 0 alone writes files and logs.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """The process that writes checkpoints and logs."""
        return self.rank == 0

    def shard(self, batch: int) -> slice:
        """This process's examples of a global batch of size * batch."""
        return slice(self.rank * batch, (self.rank + 1) * batch)

    def any(self, flag: bool, device: str | torch.device) -> bool:
        """Whether any process says so (every process must ask at the same step)."""
        if self.size == 1:
            return flag
        t = torch.tensor([int(flag)], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def wait(self) -> None:
        """Until every process is here (the writer's last checkpoint saved)."""
        if self.size > 1:
            dist.barrier()

    def sum_(self, t: torch.Tensor) -> torch.Tensor:
        """t summed over the processes, in place."""
        if self.size > 1:
            dist.all_reduce(t)
        return t


def current() -> World:
    """This process's place in the process group, once ``start`` made one."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def start(device: str) -> tuple[World, str]:
    """The process group when launched by torchrun (gloo on CPUs, NCCL on GPUs, one GPU per local rank),
    and the device this process trains on."""
    if not dist.is_torchelastic_launched():
        return World(), device
    cuda = device.startswith("cuda")
    if cuda:
        local = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
        atexit.register(dist.destroy_process_group)  # a group left to the interpreter's exit aborts it
    return World(dist.get_rank(), dist.get_world_size()), device


def wrap(net: torch.nn.Module, world: World, device: str) -> torch.nn.Module:
    """What a training step calls: the net, or its DistributedDataParallel wrapper across processes."""
    if world.size == 1:
        return net
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
