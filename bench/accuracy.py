"""Issue 13's bars: accuracy per CPU-second, by training method, over several seeds.

    OMP_NUM_THREADS=1 python bench/accuracy.py                      # every case, seeds 0 1 2
    python bench/accuracy.py --case colebrook --method lm --seeds 0,1
    python bench/accuracy.py --case seed001 --method adam,lm

Cases (relation, training seconds, atol, bar on the certified max):

    colebrook   60 s, residual only (no solved data), atol 0, certificate <= 1e-4
    seed001    120 s, atol 0, certificate <= 1e-4 and <= 1e-5 on 10^6 independent points
                      (half uniform, half log-uniform in every input, x2 drawn in [1, x1])
    seed000     60 s, atol 1e-2, certificate <= 1e-3

Each row: the method, the seed, the steps and seconds training took, the certificate's max
and p99 (sg.verify: 10^6 points and the worst-case search), and for seed 001 the max over
the independent points.  Figures vary from run to run with the load on the machine (a
time-limited run does fewer steps when another process holds a core): run one bench at a
time, with OMP_NUM_THREADS=1.  Nothing here asserts; the figures are for people to read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import surrogate as sg  # noqa: E402
from equations.implicit import colebrook  # noqa: E402
from equations.seeds import paraboloid, seed001  # noqa: E402
from surrogate.declaration.metric import error  # noqa: E402

CASES = {
    "colebrook": (colebrook, 60.0, 0.0, 1e-4),
    "seed001": (seed001, 120.0, 0.0, 1e-4),
    "seed000": (paraboloid, 60.0, 1e-2, 1e-3),
}


def independent_points(n: int, seed: int) -> np.ndarray:
    """Seed 001's inputs drawn independently of the package's sampler: half uniform, half
    log-uniform in each input, x2 within [1, x1]."""
    rng = np.random.default_rng(seed + 12345)
    lo = np.array([500.0, 1.0, 1000.0, 1e-6, 1.0])
    hi = np.array([1000.0, np.nan, 50000.0, 1e-3, 10000.0])
    half = n // 2
    u = rng.random((n, 5))
    x = np.empty((n, 5))
    for j in range(5):
        h = hi[j] if j != 1 else 1.0
        x[:half, j] = lo[j] + u[:half, j] * (h - lo[j]) if j != 1 else u[:half, j]
        x[half:, j] = np.exp(np.log(lo[j]) + u[half:, j] * (np.log(h) - np.log(lo[j]))) if j != 1 else u[half:, j]
    x1 = x[:, 0]
    x[:half, 1] = 1.0 + x[:half, 1] * (x1[:half] - 1.0)
    x[half:, 1] = np.exp(x[half:, 1] * np.log(x1[half:]))
    return x


def independent_max(model, n: int, seed: int) -> float:
    x = independent_points(n, seed)
    cols = {k: x[:, j] for j, k in enumerate(seed001.inputs)}
    y = seed001.compiled("expression", "y", "numpy")(cols)
    s = seed001.compiled("scale", "y", "numpy")(cols)
    pred = model.evaluate(x)[:, 0]
    return float(np.max(error(pred, y, s, 0.0)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", action="append", choices=sorted(CASES))
    p.add_argument("--method", default="lm,adam", help="comma-separated TrainConfig.method values")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--train", type=float, help="seconds of training (default: the case's)")
    p.add_argument("--points", type=int, default=1_000_000)
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU", flush=True)
    print(f"{'case':<10} {'method':<6} {'seed':>4} {'steps':>7} {'s':>6} | {'cert max':>9} {'p99':>9} "
          f"{'indep max':>9} | bar", flush=True)
    for name in args.case or list(CASES):
        rel, seconds, atol, bar = CASES[name]
        for method in args.method.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                cfg = sg.TrainConfig(method=method)
                t = time.perf_counter()
                model = sg.train(rel, time_limit=args.train or seconds, seed=seed, atol=atol, progress=False,
                                 config=cfg)
                took = time.perf_counter() - t
                cert = sg.verify(model, points=args.points, seed=seed, atol=atol)
                ind = f"{independent_max(model, args.points, seed):9.2e}" if rel is seed001 else f"{'':>9}"
                print(f"{name:<10} {model.info['method']:<6} {seed:>4} {model.info['steps']:>7} {took:>6.1f} | "
                      f"{cert.max_error:9.2e} {cert.p99_error:9.2e} {ind} | "
                      f"{'meets' if cert.max_error <= bar else 'misses'} {bar:g}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
