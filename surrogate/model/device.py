"""Where torch runs: the device a user asks for, and the CPU threads a stage uses."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["cpu_threads", "resolve_device"]


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """torch's intra-op threads set to n for the block (None: left alone), then restored.
    Small batches gain little from a second thread, and lose a factor of ten when
    another process holds a core (TrainConfig.cpu_threads)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device) -> torch.device:
    """'auto' -> CUDA when present, else the CPU; an unavailable CUDA is an error."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device; use device='auto' or 'cpu'")
    return dev
