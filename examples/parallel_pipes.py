"""Two pipes in parallel: a system of four implicit equations, trained from its residuals.

Water (nu = 1e-6 m^2/s) flows at Q through two commercial-steel pipes (roughness 45 um) that
join the same two nodes.  The split Q1 + Q2 = Q is set by equal Darcy-Weisbach head loss,
f1 L1 Q1^2 / D1^5 = f2 L2 Q2^2 / D2^5, with each friction factor given by Colebrook at that
pipe's Reynolds number: four equations in Q1, Q2, f1, f2, none explicit.  The textbook way is
to iterate by hand (guess f, split, update f); here a surrogate learns all four outputs from
the residuals, is verified against a multi-start Newton solve of the system, and predicts the
split for a table of pipe pairs.

The relation is equations.implicit.parallel_pipes (its source and ranges are documented there).

Run:  python examples/parallel_pipes.py [--seconds 180]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

import surrogate as sg
from equations.implicit import parallel_pipes


def main(seconds: float) -> None:
    # 1. declare: Q, D1, D2, L1, L2 in; Q1, Q2, f1, f2 out, each with the range that brackets it
    print(parallel_pipes)
    for i, eq in enumerate(parallel_pipes.equations, 1):
        print(f"  ({i}) {eq}")

    # 2. train from the four residuals
    model = sg.train(parallel_pipes, time_limit=seconds, seed=0)
    print(model)

    # 3. verify each output against the system solve
    cert = sg.verify(model)
    print(cert)
    print(cert.to_frame())

    # 4. save and load
    path = Path(tempfile.mkdtemp()) / "parallel_pipes.surrogate"
    model.save(path)
    same = sg.load(path)

    # 5. predict the split for a few pipe pairs, next to the solver's answer
    pairs = pd.DataFrame({
        "Q": [0.1, 0.3, 0.45, 0.05],
        "D1": [0.15, 0.2, 0.3, 0.1],
        "D2": [0.15, 0.1, 0.25, 0.3],
        "L1": [500, 200, 900, 1000],
        "L2": [500, 800, 150, 100],
    })
    out = same.predict(pairs)
    exact = parallel_pipes.evaluate({c: pairs[c].to_numpy() for c in parallel_pipes.inputs})
    for o in parallel_pipes.outputs:
        pairs[o] = out[o]
        pairs[f"{o} rel err"] = (out[o] - exact[o]).abs() / exact[o]
    pairs["share 1"] = out["Q1"] / pairs["Q"]
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print(pairs.to_string(index=False))
    print(f"saved to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Parallel pipes: declare, train, verify, save, load, predict.")
    parser.add_argument("--seconds", type=float, default=180.0, help="training time limit")
    main(parser.parse_args().seconds)
