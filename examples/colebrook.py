"""Colebrook end to end: an implicit relation trained from its residual alone.

The Colebrook-White equation gives the Darcy friction factor f of turbulent pipe flow only
implicitly (f is on both sides).  The surrogate is trained from the residual
1/sqrt(f) + 2 log10(eps/3.7 + 2.51/(Re sqrt(f))) without a single solved sample, verified
against a vectorised Newton solve, saved, loaded and used on a DataFrame.

The output range (0.005, 0.1) is required for an implicit output: it brackets the root for the
solver and sets the output scaling.  Over this domain the root lies in [0.0064, 0.077].

Run:  python examples/colebrook.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

import surrogate as sg


def main(seconds: float) -> None:
    # 1. declare (the same relation as equations.implicit.colebrook)
    f, Re, eps = sp.symbols("f Re eps", positive=True)
    colebrook = sg.Relation(
        sp.Eq(1 / sp.sqrt(f), -2 * sp.log(eps / 3.7 + 2.51 / (Re * sp.sqrt(f)), 10)),
        bounds={Re: (4e3, 1e8), eps: (1e-6, 5e-2)},
        outputs={f: (5e-3, 0.1)},
        name="colebrook",
    )
    print(colebrook)

    # 2. train from the residual alone
    model = sg.train(colebrook, time_limit=seconds, seed=0)
    print(model)

    # 3. verify: the relative error of f against a Newton solve, dense sample + worst-case search
    cert = sg.verify(model)
    print(cert)
    print(cert.to_frame())

    # 4. save and load (safetensors + JSON manifest; no pickle, no eval)
    path = Path(tempfile.mkdtemp()) / "colebrook.surrogate"
    model.save(path)
    same = sg.load(path)

    # 5. predict on a DataFrame, next to the exact solve and the Haaland approximation
    pipes = pd.DataFrame({"Re": [5e3, 1e5, 2e6, 8e7], "eps": [1e-2, 1e-4, 5e-5, 1e-6]})
    out = same.predict(pipes)
    exact = colebrook.evaluate({"Re": pipes["Re"].to_numpy(), "eps": pipes["eps"].to_numpy()})["f"]
    haaland = (-1.8 * np.log10((pipes["eps"] / 3.7) ** 1.11 + 6.9 / pipes["Re"])) ** -2
    table = pipes.assign(f_surrogate=out["f"], f_newton=exact, f_haaland=haaland,
                         rel_error=(out["f"] - exact).abs() / exact)
    print(table.to_string(index=False))
    print(f"saved to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Colebrook: declare, train, verify, save, load, predict.")
    parser.add_argument("--seconds", type=float, default=120.0, help="training time limit")
    main(parser.parse_args().seconds)
