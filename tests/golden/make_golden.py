"""Write the golden artifacts that tests/test_artifact.py keeps loading.

    python tests/golden/make_golden.py            # from the repository root

Each artifact is a small network trained for a few steps and certified on a few
points (its accuracy does not matter; that it keeps loading and giving the same
numbers does), saved beside
`expected.json`, which records for each one the format schema it was written
with, a few input points and the outputs the torch model gave there.

Only run this to add an artifact for a new schema or feature: the files already
here are what earlier versions wrote, and a change that stops them loading (or
changes their outputs) breaks users' saved models.  Add new files; never
regenerate old ones to make a test pass.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import sympy as sp

import surrogate as sg
from equations.seeds import cosexp, paraboloid, seed001
from surrogate.model import format as fmt

HERE = pathlib.Path(__file__).parent
x, y, z = sp.symbols("x y z", real=True)

#: A relation whose manifest exercises more node types: Piecewise, relations, Max, Abs, sin, pi.
piecewise = sg.Relation(
    sp.Eq(z, sp.Piecewise((x * y, x < sp.Rational(1, 2)), (sp.Max(x, y) ** 2, True)) + sp.Abs(sp.sin(sp.pi * x) - y)),
    bounds={x: (0, 1), y: (-1, 1)},
    name="piecewise",
)

#: A relation split into pieces (schema 3, one network per piece): a threshold on x, a box on
#: x and y, a constant piece.
pieces = sg.Relation(
    sp.Eq(z, sp.Piecewise((x * y + 2, x < sp.Rational(1, 2)), (sp.Float(3), y < 0), (x + y**2 + 1, True))),
    bounds={x: (0, 1), y: (-1, 1)},
    name="pieces",
)

#: name -> (relation, training config, drop the network's 'skip' key)
CASES = {
    "paraboloid_silu": (paraboloid, sg.TrainConfig(width=16, depth=2, activation="silu"), False),
    "seed001_gelu": (seed001, sg.TrainConfig(width=16, depth=2, activation="gelu"), False),
    "cosexp_tanh_f64": (cosexp.substitute({"a": 0.583, "b": 0.112}),
                        sg.TrainConfig(width=16, depth=2, activation="tanh", dtype="float64"), False),
    # A schema-1 file: the layout from before the network had its linear skip path.
    "piecewise_relu_noskip": (piecewise, sg.TrainConfig(width=16, depth=2, activation="relu", skip=False), True),
    # A schema-3 file: one network per piece of a Piecewise relation (surrogate.piecewise).
    "pieces_silu": (pieces, sg.TrainConfig(width=16, depth=2, activation="silu"), False),
}


def main() -> None:
    expected_path = HERE / "expected.json"
    expected = json.loads(expected_path.read_text()) if expected_path.exists() else {}
    for name, (rel, cfg, drop_skip) in CASES.items():
        path = HERE / f"{name}.surrogate"
        if name in expected and path.exists():
            print(f"keeping {path.name} (written with schema {expected[name]['schema']})")
            continue
        model = sg.train(rel, max_steps=30, progress=False, device="cpu", seed=0, config=cfg)
        model.certificate = sg.verify(model, points=4096, starts=4, steps=10)
        model.save(path)
        schema = fmt.PIECEWISE_SCHEMA if hasattr(model, "pieces") else fmt.SINGLE_SCHEMA
        if drop_skip:  # as written before schema 2
            manifest, tensors = fmt.read(path)
            assert not manifest["network"].pop("skip")
            schema = 1
            fmt.write(path, manifest, tensors, schema=schema)
            model = sg.load(path)
        pts = rel.domain.sobol(6, seed=1).numpy()
        inputs = {n: pts[:, j].tolist() for j, n in enumerate(rel.inputs)}
        out = model(**inputs)
        expected[name] = {
            "file": path.name,
            "schema": schema,
            "surrogate": sg.__version__,
            "inputs": inputs,
            "outputs": {o: np.asarray(v).tolist() for o, v in out.items()},
        }
        print(f"wrote {path.name} ({path.stat().st_size} bytes)")
    expected_path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
