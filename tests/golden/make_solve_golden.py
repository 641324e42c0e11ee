"""Writes solve_systems.npz: the catalogue's two loops solved at 512 Sobol points (seed 7) by the
one-block solver of commit fb2f7d2, before systems were split into blocks (tests/test_solve_blocks.py).
Run from the repository root with that commit's package on the path."""

import numpy as np

from equations.implicit import parallel_pipes
from equations.pipe_flow import pump_pipe_operating_point
from surrogate.declaration.solve import solve

out = {}
for rel in (parallel_pipes, pump_pipe_operating_point):
    x = rel.domain.sobol(512, seed=7).numpy()
    r = solve(rel, x)
    out[rel.name + "_x"], out[rel.name + "_values"], out[rel.name + "_status"] = x, r.values, r.status
np.savez("tests/golden/solve_systems.npz", **out)
