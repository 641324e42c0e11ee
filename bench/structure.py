"""What the formula's structure gives: features from the formula's parts against the inputs alone.

Issue 23 item 1.  Each relation of four to eight inputs (or a system) is trained by Levenberg-Marquardt
on a step budget, once with the structure features (the default: the formula's groups, its inputs'
own parts, the logs of positive inputs; docs/architecture.md, "Heads and features from the formula")
and once with the input features alone (`TrainConfig(group_features=False)`), then certified
(10^6 points + search).  Step budgets, one thread: the figures do not depend on the machine's load,
only the seconds do.

    OMP_NUM_THREADS=1 python bench/structure.py                          # every relation, 200 steps
    OMP_NUM_THREADS=1 python bench/structure.py --only grey_two_surface_exchange --steps 300 --seeds 0 1
    OMP_NUM_THREADS=1 python bench/structure.py --with-only              # the structure features alone
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import surrogate as sg  # noqa: E402
from surrogate.training.config import TrainConfig  # noqa: E402


def relations() -> dict[str, sg.Relation]:
    """The relations of four to eight inputs and the systems issue 23 names."""
    from textbook import ten

    from equations.implicit import parallel_pipes
    from equations.pipe_flow import pump_pipe_operating_point
    from equations.radiation import grey_two_surface_exchange

    book = ten()
    return {"grey_two_surface_exchange": grey_two_surface_exchange,
            "pump_pipe_operating_point": pump_pipe_operating_point,
            "parallel_pipes": parallel_pipes,
            "cylinder_wall": book["cylinder_wall"],
            "grey_plates": book["grey_plates"]}


def run(name: str, rel: sg.Relation, steps: int, seed: int, structure: bool, points: int) -> dict:
    torch.set_num_threads(1)
    cfg = TrainConfig(method="lm", group_features=structure)
    t = time.process_time()
    model = sg.train(rel, max_steps=steps, seed=seed, config=cfg, progress=False)
    train_s = time.process_time() - t
    cert = sg.verify(model, points=points)
    kinds = [f["kind"] for f in model.module.feature_specs]
    return {"relation": name, "inputs": len(rel.inputs), "features": "structure" if structure else "inputs",
            "n_features": len(kinds), "parameters": model.info["lm"]["parameters"], "seed": seed, "steps": steps,
            "train_cpu_s": round(train_s), "validation_max": model.info["validation"]["max"],
            "certified_max": cert.max_error, "p99": cert.p99_error}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="a relation's name (repeatable)")
    ap.add_argument("--steps", type=int, default=200, help="LM steps per training (default 200)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="the certificate's dense points")
    ap.add_argument("--with-only", action="store_true", help="only the structure features (no comparison)")
    args = ap.parse_args(argv)
    rels = relations()
    unknown = set(args.only or []) - set(rels)
    if unknown:
        ap.error(f"unknown relation(s) {', '.join(sorted(unknown))}; choose from {', '.join(rels)}")
    print("| relation | inputs | features | n | params | seed | steps | train CPU s | validation max | certified max | p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rel in rels.items():
        if args.only and name not in args.only:
            continue
        for seed in args.seeds:
            for structure in ((True,) if args.with_only else (False, True)):
                r = run(name, rel, args.steps, seed, structure, args.points)
                print(f"| {r['relation']} | {r['inputs']} | {r['features']} | {r['n_features']} | {r['parameters']} | "
                      f"{r['seed']} | {r['steps']} | {r['train_cpu_s']} | {r['validation_max']:.2g} | "
                      f"{r['certified_max']:.2g} | {r['p99']:.2g} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
