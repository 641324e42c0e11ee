"""Benchmark: the proven certificate (surrogate.prove, issue 14) on catalogue relations.

For each relation a surrogate is trained (`--train-time` seconds, seed 0; `--models DIR` keeps
and reuses the artifacts), certified by `surrogate.verify` (1e6 Sobol points and the search), and
then proven:

- within 2x of the largest error found, with `--time-2` seconds (default 60; three inputs 600);
- within 1.2x, with `--time-12` seconds (default 300), for two-input relations;
- gnielinski_haaland is built here (Gnielinski with Haaland's friction factor, three inputs);
- brute force: `--brute` points (default 1e7) uniform in the chart (NumPy generator), in chunks,
  whose max error must never exceed the proven bound (the column `brute <= bound`).

Columns: the sampled max (the certificate), the proven bound, its ratio to the largest error found,
the status (`proven` within the target, or `time_limit` with the best bound so far), the boxes and
the seconds.  Seconds are wall-clock and suffer when other work shares the cores.  No asserts:
this prints a table.  Run:
    OMP_NUM_THREADS=1 python bench/prove.py [--only haaland sieder_tate] [--models DIR]
    OMP_NUM_THREADS=1 python bench/prove.py --shipped [--only NAME ...]

`--shipped` proves the catalogue's shipped artifacts (`surrogate.catalogue(NAME)`, trained by
bench/build_catalogue.py) instead of training: every one of at most three inputs (explicit, or implicit of at
most three equations), piecewise ones piece by piece; the sampled max is the artifact's certificate.
`--only pump_pipe_system` proves the small implicit system of the tests (two equations, two inputs; its
artifact is tests/data/pump_pipe_system.surrogate, made by tests/data/pump_pipe_system.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np
import sympy as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import surrogate as sg
from surrogate.checking.score import point_errors

#: name -> module holding it; two and three inputs (Colebrook implicit)
CASES = {
    "haaland": "equations.pipe_flow",
    "swamee_jain": "equations.pipe_flow",
    "dittus_boelter_heating": "equations.convection",
    "churchill_bernstein": "equations.external",
    "gnielinski": "equations.convection",
    "ranz_marshall": "equations.external",
    "sieder_tate": "equations.convection",
    "hausen_laminar_entry": "equations.convection",
    "gnielinski_haaland": None,  # below: the prototype's three-input case
    "colebrook": "equations.implicit",  # implicit: the interval Newton step
}
#: the tests' implicit system (two equations; a Krawczyk step), loaded from its committed artifact
SYSTEM = Path(__file__).resolve().parent.parent / "tests" / "data" / "pump_pipe_system.surrogate"


def gnielinski_haaland() -> sg.Relation:
    """Gnielinski with Haaland's friction factor: three inputs, the prototype's hard case."""
    Re, Pr, eps_D, Nu = sp.symbols("Re Pr eps_D Nu", positive=True)
    f = (-1.8 * sp.log((eps_D / 3.7) ** 1.11 + 6.9 / Re, 10)) ** -2
    return sg.Relation(
        sp.Eq(Nu, (f / 8) * (Re - 1000) * Pr / (1 + 12.7 * sp.sqrt(f / 8) * (Pr ** sp.Rational(2, 3) - 1))),
        bounds={Re: (4e3, 5e6), Pr: (0.5, 2000), eps_D: (1e-6, 0.05)}, name="gnielinski_haaland")


def shipped_cases() -> list[str]:
    """The shipped artifacts prove can take: at most three inputs, explicit or implicit of at most three equations."""
    from surrogate.checking.bounder import MAX_EQUATIONS
    from surrogate.checking.prove import MAX_INPUTS
    from surrogate.persistence import shipped

    out = []
    for name in shipped.names():
        rel = sg.catalogue(name).relation
        if (rel.is_explicit or len(rel.residuals) <= MAX_EQUATIONS) and rel.domain.dim <= MAX_INPUTS:
            out.append(name)
    return out


def model_for(name: str, models: Path | None, train_time: float):
    rel = gnielinski_haaland() if CASES[name] is None else getattr(importlib.import_module(CASES[name]), name)
    path = models / f"{name}.surrogate" if models else None
    if path is not None and path.exists():
        return sg.load(path)
    m = sg.train(rel, time_limit=train_time, seed=0, progress=False)
    m.certificate = sg.verify(m)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        m.save(path)
    return m


def brute(model, n: int, seed: int = 0, chunk: int = 500_000) -> float:
    rel = model.relation
    rng = np.random.default_rng(seed)
    worst = 0.0
    for i in range(0, n, chunk):
        x = rel.domain.clip(rel.domain.chart(rng.random((min(chunk, n - i), rel.domain.dim))))
        err, ok = point_errors(model, x, atol=model.certificate.atol)
        worst = max(worst, float(err[ok].max()))
    return worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--train-time", type=float, default=60.0)
    ap.add_argument("--time-2", type=float, default=None, help="seconds for 2x (default 60; 600 for 3 inputs)")
    ap.add_argument("--time-12", type=float, default=300.0)
    ap.add_argument("--brute", type=int, default=10_000_000)
    ap.add_argument("--no-12", action="store_true", help="skip the 1.2x runs")
    ap.add_argument("--shipped", action="store_true", help="prove the shipped catalogue artifacts")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in args.only or (shipped_cases() if args.shipped else CASES):
        m = sg.load(SYSTEM) if name == "pump_pipe_system" else sg.catalogue(name) if args.shipped else \
            model_for(name, args.models, args.train_time)
        d = m.relation.domain.dim
        sampled = m.certificate.max_error
        targets = [(2.0, args.time_2 or (60.0 if d <= 2 else 600.0))]
        if d <= 2 and not args.no_12:
            targets.append((1.2, args.time_12))
        bound = None
        for within, limit in targets:
            t = time.perf_counter()
            p = sg.prove(m, within=within, time_limit=limit, attach=False)
            wall = time.perf_counter() - t
            bound = p.bound if bound is None else min(bound, p.bound)
            rows.append([name, d, f"{sampled:.3g}", f"{within:g}x", f"{p.bound:.3g}", f"{p.bound / p.lower:.2f}",
                         p.status, f"{p.boxes:,}", f"{wall:.1f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
            if p.limit:
                print("   limit:", p.limit, flush=True)
        if args.brute:
            t = time.perf_counter()
            b = brute(m, args.brute)
            print(f"   brute force {args.brute:,} points: max {b:.4g} in {time.perf_counter() - t:.0f} s; "
                  f"<= bound: {b <= bound}", flush=True)
            rows[-1].append(f"{b:.3g} ({'yes' if b <= bound else 'NO'})")
    print()
    print("| relation | inputs | sampled max | target | proven bound | bound / found | status | boxes | s | "
          "brute force max (<= bound) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(map(str, r + [""] * (10 - len(r)))) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
