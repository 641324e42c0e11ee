"""A small implicit system for the proof's tests (tests/test_prove_system.py): a pump against a pipe
with a fixed friction factor, two equations in two outputs (the flow Q and the head H) and two inputs.

    H = H0 - k Q^2                       (the pump curve)
    H = dz + f (L/D) 8 Q^2 / (pi^2 g D^4)  (the system curve, Darcy-Weisbach, f = 0.02, L = 300 m)

Each equation holds both outputs, so the system is one algebraic loop of two equations (the solver's
multivariate Newton, docs/architecture.md), and its exact solution is known:
Q = sqrt((H0 - dz) / (k + c)), c = 8 f L / (pi^2 g D^5), H = H0 - k Q^2.

Run `python tests/data/pump_pipe_system.py` (from the repository root, OMP_NUM_THREADS=1) to train it
again into tests/data/pump_pipe_system.surrogate: 300 Levenberg-Marquardt steps, seed 0, verified
with 1e5 points.  The artifact is committed so that the tests train nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

from surrogate import Relation

H0, D, Q, H = sp.symbols("H0 D Q H")
K_PUMP, LIFT, FRICTION, LENGTH, G = 4000, 10, 0.02, 300, 9.80665

pump_pipe_system = Relation(
    [sp.Eq(H, H0 - K_PUMP * Q**2),
     sp.Eq(H, LIFT + FRICTION * LENGTH / D * 8 * Q**2 / (sp.pi**2 * G * D**4))],
    bounds={H0: (20, 80), D: (0.08, 0.3)},
    outputs={Q: (4e-3, 0.2), H: (5, 100)},
    name="pump_pipe_system",
)

ARTIFACT = Path(__file__).with_name("pump_pipe_system.surrogate")


def exact(h0, d):
    """(Q, H) in closed form."""
    import numpy as np

    c = 8 * FRICTION * LENGTH / (np.pi**2 * G * d**5)
    q = np.sqrt((h0 - LIFT) / (K_PUMP + c))
    return q, h0 - K_PUMP * q**2


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import time

    import surrogate as sg

    t = time.perf_counter()
    m = sg.train(pump_pipe_system, max_steps=int(sys.argv[1]) if len(sys.argv) > 1 else 300, seed=0,
                 progress=False, config=sg.TrainConfig(method="lm"))
    m.certificate = sg.verify(m, points=100_000)
    m.save(ARTIFACT)
    print(f"{time.perf_counter() - t:.1f} s; certified max {m.certificate.max_error:.3g}")
