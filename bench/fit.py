"""Benchmark: `surrogate.fit` against the seed-002 thread's own loops and SciPy, on the thread's data.

For x1 ~ U(0,10), N(0,5) and N(0,500) (x2 ~ U(-1,1), 10,000 points, `seed_code.seed002_data`) and
`--seeds` seeds each, every method fits a, b in y = cos(a x1) + exp(b x2) (truth 0.583, 0.112):

- surrogate   `surrogate.fit` with its defaults (Sobol search over the bounds, then LM polish)
- SGD         the asker's loop: SGD lr 1e-4, MSE, batch 512, 30 epochs from a=0.7, b=0.02
- Adam        Katherine's fix: the same loop with Adam lr 1e-3
- curve_fit   `scipy.optimize.curve_fit` (MINPACK LM) from (0.7, 0.02)
- DE          `scipy.optimize.differential_evolution` over the bounds a in (0,2), b in (0,1),
              vectorised, squared loss, its default L-BFGS-B polish

Columns: the fraction of seeds recovering both parameters to relative error <= 1e-6 (and, looser,
<= 1e-2: "found the right basin"), the median wall-clock seconds of one fit, and, with Gaussian noise
sigma = 0.05 added to y, the fraction of seeds whose 2-stderr interval covers the truth for a, for b
and for both (only methods that report a standard error).  Every method is run once on a small data
set before timing, so first-call costs (imports, compilation) are not counted.  Wall-clock seconds
suffer when other work shares the cores; median_cpu_s (process time, all threads) does less so.

No asserts: this prints a table.  Run:  python bench/fit.py [--seeds 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seed_code import SEED002_KINDS, seed002_adam, seed002_data, seed002_sgd  # noqa: E402

from equations.seeds import cosexp  # noqa: E402
from surrogate.fitting.fit import fit  # noqa: E402

A_TRUE, B_TRUE = 0.583, 0.112
NOISE = 0.05


# Each method: (x1, x2, y, seed) -> (a, b, stderr_a or None, stderr_b or None).
def run_surrogate(x1, x2, y, seed):
    result = fit(cosexp, pd.DataFrame({"x1": x1, "x2": x2, "y": y}), seed=seed)
    return result.values["a"], result.values["b"], result.stderr["a"], result.stderr["b"]


def run_sgd(x1, x2, y, seed):
    a, b, _ = seed002_sgd(x1, x2, y, seed=seed)
    return a, b, None, None


def run_adam(x1, x2, y, seed):
    a, b, _ = seed002_adam(x1, x2, y, seed=seed)
    return a, b, None, None


def run_curve_fit(x1, x2, y, seed):
    from scipy.optimize import curve_fit

    def model(x, a, b):
        return np.cos(a * x[0]) + np.exp(b * x[1])

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # OptimizeWarning when the covariance cannot be estimated
            p, cov = curve_fit(model, np.vstack([x1, x2]), y, p0=(0.7, 0.02))
    except RuntimeError:  # "Optimal parameters not found": maxfev reached
        return np.nan, np.nan, None, None
    se = np.sqrt(np.diag(cov))
    return p[0], p[1], se[0], se[1]


def run_de(x1, x2, y, seed):
    from scipy.optimize import differential_evolution

    def loss(p):
        # vectorized=True passes p as [2, S]; the final polish passes one point as [2].
        a, b = np.atleast_1d(p[0])[:, None], np.atleast_1d(p[1])[:, None]
        out = ((np.cos(a * x1) + np.exp(b * x2) - y) ** 2).mean(1)
        return out if np.ndim(p[0]) else float(out[0])

    r = differential_evolution(loss, [(0, 2), (0, 1)], seed=seed, vectorized=True, updating="deferred")
    return r.x[0], r.x[1], None, None


METHODS = {"surrogate": run_surrogate, "SGD": run_sgd, "Adam": run_adam, "curve_fit": run_curve_fit, "DE": run_de}


def recovered(a, b, rtol):
    return abs(a / A_TRUE - 1) <= rtol and abs(b / B_TRUE - 1) <= rtol


def covered(value, truth, se):
    return se is not None and np.isfinite(se) and abs(value - truth) <= 2 * se


def bench(seeds: int, methods: dict) -> pd.DataFrame:
    rows = []
    for kind in SEED002_KINDS:
        for name, method in methods.items():
            exact, basin, seconds, cpu, cover_a, cover_b, cover_both, has_se = 0, 0, [], [], 0, 0, 0, False
            for s in range(seeds):
                x1, x2, y = seed002_data(kind, seed=s)
                t0, c0 = time.perf_counter(), time.process_time()
                a, b, _, _ = method(x1, x2, y, s)
                seconds.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                exact += recovered(a, b, 1e-6)
                basin += recovered(a, b, 1e-2)
                if name in ("surrogate", "curve_fit"):  # the methods that report a standard error
                    has_se = True
                    x1, x2, y = seed002_data(kind, seed=1000 + s, noise=NOISE)
                    a, b, se_a, se_b = method(x1, x2, y, s)
                    ok_a, ok_b = covered(a, A_TRUE, se_a), covered(b, B_TRUE, se_b)
                    cover_a, cover_b, cover_both = cover_a + ok_a, cover_b + ok_b, cover_both + (ok_a and ok_b)
            rows.append({
                "x1": kind, "method": name,
                "recovered@1e-6": exact / seeds, "recovered@1e-2": basin / seeds,
                "median_s": float(np.median(seconds)), "max_s": float(np.max(seconds)),
                "median_cpu_s": float(np.median(cpu)),
                "cover_a": cover_a / seeds if has_se else np.nan,
                "cover_b": cover_b / seeds if has_se else np.nan,
                "cover_both": cover_both / seeds if has_se else np.nan,
            })
            print(f"  {kind:<9} {name:<10} done", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def warm_up(methods: dict) -> None:
    x1, x2, y = seed002_data("N(0,5)", n=500, seed=0)
    for method in methods.values():
        method(x1, x2, y, 0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds per data set (default 20)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: untouched)")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = {m: METHODS[m] for m in args.methods.split(",")}
    warm_up(methods)
    t0 = time.perf_counter()
    table = bench(args.seeds, methods)
    print(f"seed 002, {args.seeds} seeds per data set, 10,000 points, torch threads {torch.get_num_threads()}, "
          f"noise for coverage sigma = {NOISE}; wall time {time.perf_counter() - t0:.0f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"))


if __name__ == "__main__":
    main()
