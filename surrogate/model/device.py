"""Where torch runs: the device a user asks for, and the CPU threads a stage uses."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["PARALLEL_WORK", "cpu_threads", "resolve_device", "threads_for"]

# The one rule for CPU threads, used by every stage that runs torch on the CPU (train, LM,
# verify's search, prove, fit): one thread unless a step's largest tensor holds at least
# PARALLEL_WORK elements.  A second thread gains little on small steps and loses a factor of
# ten when another process holds a core: a 64-wide MLP at batch 512 went from 2.4 ms to 23 ms
# a step (seed 001 did 5 154 steps in 120 s instead of ~55 000 beside a test run); fitting seed
# 002's constants took 7.9 s with two threads against 0.78 s with one beside a busy loop
# (bench/threads.py, on a 2-core box at load average ~6: 12.3 s with two threads against 2.9 s
# with one, 14.2 s and 3.9 s beside a busy loop; the rule 3.0 and 3.1 s).
PARALLEL_WORK = 1 << 26


def threads_for(work: int | None) -> int:
    """Threads for a step whose largest tensor holds `work` elements (None: small): 1, or
    torch's default when the step is large."""
    return torch.get_num_threads() if work is not None and work >= PARALLEL_WORK else 1


@contextlib.contextmanager
def cpu_threads(work: int | None = None, *, override: int | None = None, device=None):
    """torch's intra-op threads for the block by the rule (threads_for(work)), or `override`
    when given (TrainConfig.cpu_threads); restored afterwards.  On a CUDA `device` without an
    override, left alone."""
    before = torch.get_num_threads()
    if override:
        n = override
    elif device is not None and torch.device(device).type != "cpu":
        n = before
    else:
        n = threads_for(work)
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
