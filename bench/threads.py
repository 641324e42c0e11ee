"""One rule for threads (issue 22 item 5): fitting seed 002's constants with torch's default
threads against model/device.py's rule, on an idle machine and beside a busy loop on one core.

Run:  PYTHONPATH=. python bench/threads.py [--repeat 3]
The busy loop is a child `python -c "while True: pass"`, killed by its id at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from seed_002_fit import thread_data  # noqa: E402

import surrogate.fitting.fit as fit_module  # noqa: E402
from equations.seeds import cosexp  # noqa: E402


def timed(data, threads: int | None, repeat: int) -> float:
    """Median wall seconds of fit; threads=None: the rule, else that many threads forced."""
    rule = fit_module.cpu_threads
    times = []
    try:
        if threads is not None:
            fit_module.cpu_threads = lambda *a, **k: contextlib.nullcontext()
            torch.set_num_threads(threads)
        for _ in range(repeat):
            t0 = time.perf_counter()
            fit_module.fit(cosexp, data, seed=0)
            times.append(time.perf_counter() - t0)
    finally:
        fit_module.cpu_threads = rule
        torch.set_num_threads(DEFAULT)
    return sorted(times)[len(times) // 2]


DEFAULT = torch.get_num_threads()

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = thread_data("N(0,500)")
    fit_module.fit(cosexp, data, seed=0)  # warm-up: compiled expressions, allocator
    print(f"seed 002 fit (N(0,500), 10 000 rows, 4096 starts), median of {args.repeat}; torch default {DEFAULT} threads")
    print(f"{'condition':<28}{'2 threads (old default)':>24}{'1 thread':>10}{'rule':>8}")
    for cond in ("idle", "busy loop on one core"):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if cond != "idle" else None
        try:
            time.sleep(0.5 if busy else 0)
            row = [timed(data, 2, args.repeat), timed(data, 1, args.repeat), timed(data, None, args.repeat)]
        finally:
            if busy:
                busy.kill()
                busy.wait()
        print(f"{cond:<28}" + f"{row[0]:>22.2f} s" + f"{row[1]:>8.2f} s" + f"{row[2]:>6.2f} s", flush=True)
