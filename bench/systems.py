"""Measure the systems catalogue (equations/systems.py) with the package's own solve.

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/systems.py            # every system, 10^5 Sobol points
    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/systems.py --only oil_cooler --points 10000

For each system: the solve's statuses at the 2^d corners of the domain and at N scrambled Sobol
points (every one must be 0, a root), the interval the roots cover for each output against its
declared range (the margin: how far the range reaches beyond the roots, as a factor for a log-scaled
output and as a fraction of the range for a linear one), and the solve's time per point.  The
comments in equations/systems.py quote these figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from equations import systems
from surrogate.declaration.sampling import corner_points
from surrogate.declaration.solve import solve


def measure(relation, points: int, seed: int = 0) -> dict:
    x = np.concatenate([corner_points(relation), np.asarray(relation.domain.sobol(points, seed=seed).numpy(), np.float64)])
    t = time.perf_counter()
    got = solve(relation, x)
    seconds = time.perf_counter() - t
    out = {"points": len(x), "ns_per_point": 1e9 * seconds / len(x), "counts": got.counts(), "outputs": {}}
    bad = np.flatnonzero(got.status != 0)
    out["failed"] = [(dict(zip(relation.inputs, x[i].tolist())), int(got.status[i])) for i in bad[:5]]
    for j, o in enumerate(relation.outputs):
        v = got.values[got.status == 0, j]
        lo, hi = relation.output_ranges[o]
        if relation.output_scale(o) == "log":
            margin = (v.min() / lo, hi / v.max())
        else:
            margin = ((v.min() - lo) / (hi - lo), (hi - v.max()) / (hi - lo))
        out["outputs"][o] = {"min": float(v.min()), "max": float(v.max()), "range": (lo, hi), "margin": margin}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", metavar="NAME")
    p.add_argument("--points", type=int, default=100_000)
    args = p.parse_args(argv)
    failed = False
    for name in args.only or systems.__all__:
        rel = getattr(systems, name)
        m = measure(rel, args.points)
        print(f"{name}: {len(rel.inputs)} inputs, {len(rel.equations)} equations, blocks "
              f"{[len(b.outputs) if hasattr(b, 'outputs') else b for b in rel.program.blocks]}, "
              f"{m['points']} points, {m['counts']}, {m['ns_per_point']:.0f} ns/point")
        for o, r in m["outputs"].items():
            print(f"  {o}: roots in [{r['min']:.4g}, {r['max']:.4g}], range {r['range']}, "
                  f"margin {r['margin'][0]:.3g} / {r['margin'][1]:.3g}")
        for point, status in m["failed"]:
            print(f"  status {status} at {point}")
        failed |= bool(m["failed"])
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main())
