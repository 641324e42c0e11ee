"""The seed problems: the threads' own code next to `surrogate`, on the same problems.

Every method is scored by the same independent evaluation (bench/seed_code.py, written by hand, not the
package's `verify`) on 10^6 points drawn from the bounds the threads state, uniformly and log-uniformly,
next to the package's own certificate.  CPU seconds are process time (all threads).

    python bench/seeds.py                 # full run: seed 000 (60 s budget), seed 001 (120 s budget)
    python bench/seeds.py --scale 0.1     # every budget x 0.1, for a quick look
    python bench/seeds.py --only 001

Prints one table.  Nothing here asserts: the figures are for people to read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import seed_code as sc  # noqa: E402

import surrogate as sg  # noqa: E402
from equations.seeds import paraboloid, seed001  # noqa: E402

PROBLEMS = {
    # name: (relation, reference, sampler, atol, package time limit, seeds' own methods)
    "000": (paraboloid, sc.reference_000, sc.sample_000, 1e-2, 60.0,
            [("thread: asker", lambda s, tl: sc.seed000_asker(seed=s, time_limit=tl)),
             ("thread: answer", lambda s, tl: sc.seed000_answer(seed=s, time_limit=tl))]),
    "001": (seed001, sc.reference_001, sc.sample_001, 0.0, 120.0,
            [("thread: asker", lambda s, tl: sc.seed001_asker(seed=s, steps=10**9, time_limit=tl)),
             ("thread: answer", lambda s, tl: sc.seed001_answer(seed=s, steps=10**9, time_limit=tl))]),
}


def evaluate(predict, reference, sampler, names, atol, n, seed):
    rows = {}
    for kind in ("uniform", "loguniform"):
        pts = sampler(n, np.random.default_rng(seed), kind)
        ref, scale = reference(pts)
        pred = predict({k: pts[k] for k in names})
        rows[kind] = sc.error_stats(pred, ref, scale, atol)
    return rows


def run(name: str, scale: float, points: int, seed: int, verify_points: int) -> list[dict]:
    rel, reference, sampler, atol, limit, theirs = PROBLEMS[name]
    limit *= scale
    out = []
    for label, make in theirs:
        predict, cpu = make(seed, limit)
        out.append({"problem": name, "method": label, "cpu_s": cpu,
                    **_flat(evaluate(predict, reference, sampler, rel.inputs, atol, points, seed + 1))})
    t = time.process_time()
    model = sg.train(rel, time_limit=limit, seed=seed, progress=False, atol=atol)
    cpu = time.process_time() - t
    cert = sg.verify(model, points=verify_points, atol=atol, seed=seed)

    def predict(p):
        return model.evaluate(np.stack([p[k] for k in rel.inputs], 1))[:, 0]

    row = {"problem": name, "method": f"surrogate ({model.info['steps']} steps)", "cpu_s": cpu,
           **_flat(evaluate(predict, reference, sampler, rel.inputs, atol, points, seed + 1)),
           "cert_max": cert.max_error, "cert_p99": cert.p99_error, "cert_mean": cert.mean_error}
    out.append(row)
    print(cert, file=sys.stderr)
    return out


def _flat(rows):
    return {f"{k}_{s}": v for k, d in rows.items() for s, v in d.items()}


def print_table(rows):
    cols = ["uniform_max", "uniform_p99", "uniform_mean", "loguniform_max", "loguniform_p99", "loguniform_mean",
            "cert_max", "cert_p99", "cert_mean"]
    head = f"{'problem':<7} {'method':<28} {'cpu_s':>7} | " + " ".join(f"{c:>15}" for c in cols)
    print(head)
    print("-" * len(head))
    for r in rows:
        vals = " ".join(f"{r[c]:>15.3g}" if c in r else f"{'':>15}" for c in cols)
        print(f"{r['problem']:<7} {r['method']:<28} {r['cpu_s']:>7.1f} | {vals}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=sorted(PROBLEMS), action="append")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every time budget by this")
    p.add_argument("--points", type=int, default=1_000_000, help="points of the independent evaluation")
    p.add_argument("--verify-points", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; "
          f"error = |pred - ref| / max(S, atol), S = sum of |terms|; seed 000 uses atol = 1e-2", flush=True)
    rows = []
    for name in args.only or sorted(PROBLEMS):
        rows += run(name, args.scale, args.points, args.seed, args.verify_points)
    print_table(rows)


if __name__ == "__main__":
    main()
