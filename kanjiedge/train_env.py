"""Process placement for training: rank / world size under torchrun, the device, CPU threads, and the mixed
precision used on CUDA. Not here: the loop (kanjiedge.train_loop)."""

import os

import torch
import torch.distributed as dist


class Env:
    """Process placement: rank / world size under torchrun, the device, and whether this process writes files."""

    def __init__(self, device_arg: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device_arg == "auto":
            device_arg = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device_arg)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", local)
        self.main = self.rank == 0

    def init(self):
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum numbers over all workers (identity when not distributed)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()


def set_threads(n: int, env: Env):
    """Use every core this process may run on, shared fairly between the DDP workers of one machine."""
    if env.device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(n or max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", env.world))))


def amp_dtype_for(device: torch.device):
    """Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling); full fp32 on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

