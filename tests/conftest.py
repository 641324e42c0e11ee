"""Shared test configuration: the Hypothesis profile this repository's tests run under.

``ci`` (the default) is derandomised, so a run is reproducible and a failure in CI
is a failure locally; it has no deadline, because the first call of a compiled
expression or a model is much slower than the rest.  Choose another profile with
``HYPOTHESIS_PROFILE=default pytest`` (randomised) or ``surrogate-thorough``.
"""

import os

# One BLAS/OpenMP thread a process: the suite runs its files in parallel worker processes
# (pytest -n auto, pytest-xdist), one per core, and threads on top of them would fight for the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import sympy as sp
from hypothesis import settings

from surrogate.testing import register_profiles

settings.register_profile("ci", derandomize=True, deadline=None)
register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- trained models that several test files need identically (same relation, steps, seed) ---------
#: y = x1 x2 + x1 on a box: the easy relation test_train and test_verify declare alike.
_x1, _x2, _y = sp.symbols("x1 x2 y", positive=True)


@pytest.fixture(scope="session")
def easy_model():
    """EASY trained 1500 steps at seed 0, once per session (test_verify and test_train read it;
    nothing may modify it)."""
    import surrogate as sg

    easy = sg.Relation(sp.Eq(_y, _x1 * _x2 + _x1), bounds={_x1: (1, 2), _x2: (0.5, 3)}, name="easy")
    return sg.train(easy, max_steps=1500, seed=0, progress=False)
