"""Benchmark: the implicit solve, ns per point, old against new, with a hand-written Newton for scale.

Rows, at each point count (`--points`, default 10^3 and 10^5 scrambled-Sobol points of each
relation's domain):

- old      `surrogate/declaration/solve.py` as it was at `--old` (default f2ba99e, before the
           monotone fast path), read with `git show` and imported under another name
           (surrogate.declaration._solve_old); the relation, its compiled functions and
           blocks are the current ones
- new      `surrogate.declaration.solve.solve` of this checkout
- hand     Colebrook only: bench/implicit.py's Newton written for that one equation
           (x = 1/sqrt(f), three iterations from Swamee-Jain, no bracket, no status)

Timing: best of `--repeats` runs, old and new interleaved in one process (so a load that
comes and goes hits both alike), after one warm-up each; set OMP_NUM_THREADS=1.  The
`agree` column is the largest relative difference between the old and new values and
whether the statuses are identical: the new solve must find what the old one found.

No asserts: this prints a table.  Run:
    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/solve.py [--points 1000 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from implicit import hand_newton  # noqa: E402  (bench/implicit.py)

from equations import implicit  # noqa: E402
from equations.pipe_flow import pump_pipe_operating_point  # noqa: E402
from surrogate.declaration.solve import solve  # noqa: E402


def old_solve(rev: str):
    """`solve` as it was at git revision `rev`, imported as surrogate.declaration._solve_old."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:surrogate/declaration/solve.py"],
                            check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("surrogate.declaration._solve_old", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "surrogate.declaration"
    sys.modules[spec.name] = module
    exec(compile(source, f"{rev}:surrogate/declaration/solve.py", "exec"), module.__dict__)
    return module.solve


def best_of(fns: dict, repeats: int) -> dict:
    """Best seconds of each callable, run in turn `repeats` times after one warm-up each."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, np.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def agreement(old, new) -> str:
    same = np.array_equal(old.status, new.status)
    both = (old.status == 0) & (new.status == 0)
    a, b = old.values[both], new.values[both]
    rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300))) if a.size else 0.0
    return f"{rel:.1e}{'' if same else ' STATUS DIFFERS'}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old", default="f2ba99e", help="git revision of the old solve")
    parser.add_argument("--all", action="store_true", help="every implicit relation of the catalogue, not two")
    args = parser.parse_args(argv)

    old = old_solve(args.old)
    relations = [implicit.colebrook, pump_pipe_operating_point]
    if args.all:
        relations = [getattr(implicit, n) for n in implicit.__all__] + [pump_pipe_operating_point]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}; best of {args.repeats}, interleaved\n")
    print(f"{'relation':<28} {'points':>8} {'old ns/pt':>10} {'new ns/pt':>10} {'speed-up':>8} "
          f"{'hand ns/pt':>10} {'max rel diff':>14}")
    for rel in relations:
        for n in args.points:
            x = rel.domain.sobol(n, seed=0).numpy()
            fns = {"old": lambda x=x, rel=rel: old(rel, x), "new": lambda x=x, rel=rel: solve(rel, x)}
            if rel is implicit.colebrook:
                re, eps = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
                fns["hand"] = lambda re=re, eps=eps: hand_newton(re, eps)
            t = best_of(fns, args.repeats)
            ns = {k: v / n * 1e9 for k, v in t.items()}
            hand = f"{ns['hand']:>10.0f}" if "hand" in ns else f"{'':>10}"
            print(f"{rel.name:<28} {n:>8} {ns['old']:>10.0f} {ns['new']:>10.0f} {ns['old'] / ns['new']:>7.1f}x "
                  f"{hand} {agreement(old(rel, x), solve(rel, x)):>14}")


if __name__ == "__main__":
    main()
