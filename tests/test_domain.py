"""The domain chart: samples inside dependent bounds, chart and inverse round-trip."""

import numpy as np
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from surrogate import Relation
from surrogate.declaration.sampling import edge_sides

x1, x2, x3, y = sp.symbols("x1 x2 x3 y", positive=True)
REL = Relation(
    sp.Eq(y, x1 + x2 + x3),
    bounds={x1: (500, 1000), x2: (1, x1), x3: (x2 / 2, 2 * x2 + x1)},
)
unit = arrays(np.float64, (7, 3), elements=st.floats(0, 1))


@settings(max_examples=60, deadline=None)
@given(unit)
def test_chart_points_inside_and_round_trip(u):
    x = REL.domain.chart(u)
    assert REL.domain.contains(x, rtol=1e-12).all()
    np.testing.assert_allclose(REL.domain.inverse(x), u, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(unit, arrays(np.bool_, (7, 3)))
def test_edge_sampling_stays_inside(u, mask):
    x = REL.domain.chart(u, edge_sides(REL.domain), mask, 1e-12)
    assert REL.domain.contains(x, rtol=1e-12).all()


def test_torch_and_numpy_charts_agree():
    u = np.random.default_rng(0).random((50, 3))
    np.testing.assert_allclose(REL.domain.chart(torch.from_numpy(u)).numpy(), REL.domain.chart(u), rtol=1e-12)


def test_sobol_and_uniform_samples_inside():
    assert REL.domain.contains(REL.domain.sobol(4096, seed=3).numpy(), rtol=1e-12).all()
    g = torch.Generator().manual_seed(0)
    assert REL.domain.contains(REL.domain.uniform(4096, generator=g, dtype=torch.float64).numpy(), rtol=1e-12).all()


def test_membership_flags_outside_and_nan():
    x = np.array([[600.0, 700.0, 500.0], [600.0, 500.0, 400.0], [np.nan, 2.0, 2.0]])
    assert REL.domain.contains(x).tolist() == [False, True, False]
    (row, name, value, lo, hi), *_ = REL.domain.violations(x)
    assert (row, name, value, hi) == (0, "x2", 700.0, 600.0)


def test_scales_follow_the_decade_rule():
    kinds = {s.name: s.scale for s in REL.domain.inputs}
    assert kinds == {"x1": "linear", "x2": "log", "x3": "log"}
