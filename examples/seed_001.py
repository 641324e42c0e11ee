"""Seed 001: y = x5/x2 - (x1 - x2)/(2 x3 x4) * x2/x1 with 1 <= x2 <= x1, end to end.

The asker fed raw inputs spanning nine decades to stacked linear layers with no
activation between them; the answer added ReLUs.  Both end with a mean error near
0.6 -- no better than predicting zero.  Here the bounds (one of them depends on
another input) give log features and a feature for the gap x1 - x2; the output
changes sign inside the domain, so the head predicts exp(p) - exp(n) for the
positive and negative terms, and errors are measured against the term scale
|x5/x2| + |(x1 - x2)/(2 x3 x4) x2/x1|.

    python examples/seed_001.py [seconds]
"""

import sys
import tempfile
from pathlib import Path

import pandas as pd
import sympy as sp

import surrogate as sg

x1, x2, x3, x4, x5, y = sp.symbols("x1:6 y", positive=True)
relation = sg.Relation(
    sp.Eq(y, x5 / x2 - (x1 - x2) / (2 * x3 * x4) * x2 / x1),
    bounds={x1: (500, 1000), x2: (1, x1), x3: (1000, 50000), x4: (1e-6, 1e-3), x5: (1, 10000)},
    name="seed-001",
)

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
model = sg.train(relation, time_limit=seconds, seed=0)
print(model, f"({model.info['steps']} steps on {model.info['device']})")

certificate = sg.verify(model)
print(certificate)
print(certificate.to_frame())
model.certificate = certificate

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "seed-001.surrogate"
    model.save(path)
    loaded = sg.load(path)
    inputs = pd.DataFrame({"x1": [600.0, 999.0], "x2": [5.0, 998.9], "x3": [2000.0, 1000.0],
                           "x4": [1e-5, 1e-6], "x5": [30.0, 1.0]})
    out = loaded.predict(inputs)
    out["exact"] = relation.evaluate({c: inputs[c].to_numpy() for c in inputs})["y"]
    print(pd.concat([inputs, out], axis=1).to_string(index=False))
    try:
        loaded.predict(inputs.assign(x2=inputs.x1 + 1))
    except sg.DomainError as err:
        print("outside the domain is refused:", err)
