"""Benchmark: does the certificate's worst-case search find the worst error?

For each catalogue relation (seed 000's paraboloid with atol = 1e-2, seed 001, seed 002's cosexp with
a = 0.583, b = 0.112 substituted) a surrogate is trained for a short budget, certified with
`surrogate.verify` (its defaults: 1e6 Sobol points, half towards edges, then the search), and then
attacked independently of the verifier's own machinery:

- uniform     `--points` pseudo-random points uniform in the chart (NumPy generator, not Sobol);
- edge        `--points` pseudo-random points with every coordinate, with probability 1/2, drawn
              log-uniformly in its distance to one of its two bounds (the side chosen per chunk; an
              input with a dependent or zero bound leans to that bound), down to 1e-15 of the local
              range -- deeper than the verifier's 1e-12;
- refined     from the 64 worst brute-force points, a compass search in chart coordinates (every
              coordinate up and down, step halving from 1e-1 to 1e-13) followed by random perturbations,
              keeping improvements.

The error is the certificate's, |y_hat - y| / max(S, atol), computed here from the relation in float64.
ratio = certificate max / brute-force max (the largest of the three); >= 1 means the certificate found
at least as bad a point as brute force, < 1 that it missed part of the worst error.  The target is >= 0.9.
Wall-clock seconds suffer when other work shares the cores.

No asserts: this prints a table.  Run:
    OMP_NUM_THREADS=1 python bench/certificate.py [--time-limit 20] [--points 10000000] [--models DIR]
(`--models DIR` keeps the trained artifacts there and reuses them on the next run; `--train-seed` and
`--time-limit` give other models, e.g. `--only seed001 --time-limit 5 --train-seed 7 --points 1000000`.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import surrogate as sg  # noqa: E402
from equations.seeds import cosexp, paraboloid, seed001  # noqa: E402
from surrogate.declaration.sampling import edge_sides  # noqa: E402

#: (relation, atol of the certificate)
CASES = {
    "paraboloid": (paraboloid, 1e-2),
    "seed001": (seed001, 0.0),
    "cosexp": (cosexp.substitute({"a": 0.583, "b": 0.112}, name="cosexp"), 0.0),
}
EDGE_DEPTH = 15.0  # decades: relative distance to the bound down to 1e-15
TOP = 64


class Errors:
    """The certificate's error, computed directly from the relation (float64) and the model."""

    def __init__(self, model, relation, atol: float):
        self.model, self.relation, self.atol = model, relation, atol
        self.exprs = [relation.compiled("expression", o, "numpy") for o in relation.outputs]
        self.scales = [relation.compiled("scale", o, "numpy") for o in relation.outputs]
        self.count = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.count += len(x)
        cols = {n: x[:, j] for j, n in enumerate(self.relation.inputs)}
        y = np.stack([f(cols) * np.ones(len(x)) for f in self.exprs], 1)
        s = np.stack([f(cols) * np.ones(len(x)) for f in self.scales], 1)
        with np.errstate(all="ignore"):
            e = (np.abs(self.model.evaluate(x) - y) / np.maximum(s, self.atol)).max(1)
        defined = np.all(np.isfinite(y) & np.isfinite(s), 1)
        e = np.where(np.isfinite(e), e, np.inf)
        return np.where(defined, e, -np.inf)


class Top:
    """The k worst points seen so far."""

    def __init__(self, k: int, d: int):
        self.x, self.e = np.empty((0, d)), np.empty(0)
        self.k = k

    def add(self, x: np.ndarray, e: np.ndarray) -> None:
        keep = np.argsort(e)[-self.k :]
        self.x, self.e = np.concatenate([self.x, x[keep]]), np.concatenate([self.e, e[keep]])
        keep = np.argsort(self.e)[-self.k :]
        self.x, self.e = self.x[keep], self.e[keep]


def brute_force(errors: Errors, relation, n: int, chunk: int, seed: int, edges: bool, top: Top) -> float:
    dom = relation.domain
    sides = edge_sides(dom)
    rng = np.random.default_rng(seed)
    best = -np.inf
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        u = rng.random((m, dom.dim))
        if edges:
            near = rng.random((m, dom.dim)) < 0.5
            dist = 10.0 ** (-EDGE_DEPTH * rng.random((m, dom.dim)))
            for k in range(dom.dim):
                high = rng.random() < (0.75 if sides.get(k) == "high" else 0.25 if k in sides else 0.5)
                u[:, k] = np.where(near[:, k], 1.0 - dist[:, k] if high else dist[:, k], u[:, k])
        x = dom.chart(u)
        e = errors(x)
        top.add(x, e)
        best = max(best, float(e.max()))
    return best


def refine(errors: Errors, relation, x0: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """Compass search, then random perturbations, in chart coordinates; returns (max, point)."""
    dom = relation.domain
    rng = np.random.default_rng(seed)
    u = np.clip(dom.inverse(x0), 0.0, 1.0)
    e = errors(dom.chart(u))
    n, d = u.shape
    step = np.full(n, 0.1)
    for _ in range(200):
        if np.all(step < 1e-13):
            break
        trial = np.repeat(u, 2 * d, 0)
        moves = np.concatenate([np.eye(d), -np.eye(d)])
        trial = np.clip(trial + np.tile(moves, (n, 1)) * np.repeat(step, 2 * d)[:, None], 0.0, 1.0)
        te = errors(dom.chart(trial)).reshape(n, 2 * d)
        j = te.argmax(1)
        gain = te[np.arange(n), j] > e
        u[gain] = trial.reshape(n, 2 * d, d)[np.arange(n), j][gain]
        e[gain] = te[np.arange(n), j][gain]
        step = np.where(gain, step, step / 2)
    for r in np.logspace(-2, -12, 11):
        for _ in range(4):
            trial = np.clip(np.repeat(u, 32, 0) + r * rng.standard_normal((n * 32, d)), 0.0, 1.0)
            te = errors(dom.chart(trial)).reshape(n, 32)
            j = te.argmax(1)
            gain = te[np.arange(n), j] > e
            u[gain] = trial.reshape(n, 32, d)[np.arange(n), j][gain]
            e[gain] = te[np.arange(n), j][gain]
    i = int(np.argmax(e))
    return float(e[i]), dom.chart(u[i : i + 1])[0]


def model_for(name: str, relation, time_limit: float, models: Path | None, seed: int):
    path = models / f"{name}-{time_limit:g}s-seed{seed}.surrogate" if models else None
    if path is not None and path.exists():
        return sg.load(path), 0.0
    t0 = time.perf_counter()
    model = sg.train(relation, time_limit=time_limit, progress=False, seed=seed)
    seconds = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    return model, seconds


def run_case(name: str, args) -> dict:
    relation, atol = CASES[name]
    model, train_s = model_for(name, relation, args.time_limit, args.models, args.train_seed)
    t0 = time.perf_counter()
    cert = sg.verify(model, relation, atol=atol, seed=args.seed)
    cert_s = time.perf_counter() - t0
    errors = Errors(model, relation, atol)
    top = Top(TOP, relation.domain.dim)
    t0 = time.perf_counter()
    uniform = brute_force(errors, relation, args.points, args.chunk, args.seed + 1, False, top)
    edge = brute_force(errors, relation, args.points, args.chunk, args.seed + 2, True, top)
    refined, worst = refine(errors, relation, top.x, args.seed + 3)
    brute_s = time.perf_counter() - t0
    brute = max(uniform, edge, refined)
    where = ", ".join(f"{n}={v:.6g}" for n, v in zip(relation.inputs, worst))
    return {
        "relation": name, "atol": atol, "train_s": train_s, "cert_max": cert.max_error,
        "cert_dense": cert.dense_max_error, "cert_s": cert_s, "uniform_max": uniform, "edge_max": edge,
        "refined_max": refined, "brute_s": brute_s, "evaluations": errors.count,
        "ratio": cert.max_error / brute, "brute_worst": where,
        "cert_worst": ", ".join(f"{n}={cert.worst[n]:.6g}" for n in relation.inputs),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds of training per relation (default 20)")
    ap.add_argument("--points", type=int, default=10_000_000, help="brute-force points per sampler (default 1e7)")
    ap.add_argument("--chunk", type=int, default=500_000, help="points evaluated at once (default 5e5)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the certificate and the brute force")
    ap.add_argument("--train-seed", type=int, default=0, help="seed of the training (default 0)")
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated subset of " + ", ".join(CASES))
    ap.add_argument("--models", type=Path, default=None, help="keep trained artifacts here and reuse them")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: untouched)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    rows = [run_case(name, args) for name in args.only.split(",")]
    table = pd.DataFrame(rows)
    print(f"certificate vs brute force: {args.points:,} uniform + {args.points:,} edge points and a refinement; "
          f"training {args.time_limit:g} s (seed {args.train_seed}); torch threads {torch.get_num_threads()}; "
          f"wall time {time.perf_counter() - t0:.0f} s")
    cols = ["relation", "atol", "train_s", "cert_max", "cert_dense", "cert_s", "uniform_max", "edge_max",
            "refined_max", "brute_s", "ratio"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}",
                                formatters={"ratio": lambda v: f"{v:.4f}"}))
    for r in rows:
        print(f"{r['relation']}: certificate worst at {r['cert_worst']}\n"
              f"{'':>{len(r['relation'])}}  brute-force worst at {r['brute_worst']}")


if __name__ == "__main__":
    main()
