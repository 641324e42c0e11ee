"""The solve's fast path for a scalar block whose residual SymPy proves monotone in its output
(blocks.py's `monotone`; solve.py's `_solve_monotone`): a 6-point scan instead of 64, then Newton.

Every root the dense scan finds must still be found: the fast path is checked against the dense
path (the same relation with `monotone` cleared) and against closed forms, where Newton overshoots
out of the range, where the residual is flat, where it overflows, and where a range holds two roots
(which no proof of monotonicity can cover, so the dense scan must still run and say so).
"""

import dataclasses

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

from equations import implicit
from equations.pipe_flow import pump_pipe_operating_point
from surrogate import Relation
from surrogate.declaration.solve import NO_ROOT, SEVERAL_ROOTS, SOLVED, solve

y, a = sp.symbols("y a", real=True)


def monotone(rel):
    return [b.monotone for b in rel.program.blocks]


def dense(rel, monkeypatch):
    """rel with every block's monotone flag cleared: the solve scans 64 points, as before the fast path."""
    monkeypatch.setattr(rel.program, "blocks", tuple(dataclasses.replace(b, monotone=0) for b in rel.program.blocks))
    return rel


def test_which_blocks_are_proven_monotone():
    assert monotone(implicit.colebrook) == [-1]  # 1/sqrt(f) + 2 log10(...) falls with f
    assert monotone(implicit.surface_temperature) == [-1]
    assert monotone(implicit.mach_subsonic) == [0]  # true, but beyond SymPy's assumptions
    assert monotone(pump_pipe_operating_point) == [0]  # a loop of two: not a scalar block
    assert monotone(Relation(sp.Eq(y**2, a), bounds={a: (0.5, 1)}, outputs={y: (-2, 2)})) == [0]


@pytest.mark.parametrize("name", ["colebrook", "surface_temperature"])
def test_fast_path_agrees_with_the_dense_scan(name, monkeypatch):
    rel = getattr(implicit, name)
    x = np.vstack([rel.domain.sobol(20_000, seed=7).numpy(), rel.domain.chart(np.array([[0.0] * rel.domain.dim,
                                                                                         [1.0] * rel.domain.dim]))])
    fast = solve(rel, x)
    slow = solve(dense(rel, monkeypatch), x)
    np.testing.assert_array_equal(fast.status, slow.status)
    assert (fast.status == SOLVED).all()
    np.testing.assert_allclose(fast.values, slow.values, rtol=1e-13, atol=0)


def test_range_missing_the_root_agrees_with_the_dense_scan(monkeypatch):
    f, Re, eps = sp.symbols("f Re eps", positive=True)
    narrow = Relation(implicit.colebrook.equations[0], bounds={Re: (4e3, 1e8), eps: (1e-6, 5e-2)},
                      outputs={f: (0.01, 0.03)})  # misses the root at both ends, on different points
    assert monotone(narrow) == [-1]
    x = narrow.domain.sobol(4096, seed=2).numpy()
    fast = solve(narrow, x)
    counts = fast.counts()
    assert counts["no_root"] > 0 and counts["solved"] > 0
    slow = solve(dense(narrow, monkeypatch), x)
    np.testing.assert_array_equal(fast.status, slow.status)
    ok = fast.status == SOLVED
    np.testing.assert_allclose(fast.values[ok], slow.values[ok], rtol=1e-13, atol=0)


def test_newton_overshooting_the_range_and_a_flat_residual():
    # atan: Newton from a point far from the root leaps out of any bracket; over (-1e6, 1e6) the
    # residual is flat (within 1e-6 of +-pi/2) on all but a sliver of the range
    rel = Relation(sp.Eq(sp.atan(y), a), bounds={a: (-1.5707, 1.5707)}, outputs={y: (-1e6, 1e6)})
    assert monotone(rel) == [1]
    x = np.concatenate([np.linspace(-1.5707, 1.5707, 201), [0.0, 1e-300, -1e-12, 1.5706, -1.57069]])[:, None]
    got = solve(rel, x)
    assert (got.status == SOLVED).all()
    np.testing.assert_allclose(got.values[:, 0], np.tan(x[:, 0]), rtol=1e-12, atol=1e-300)
    # beyond the range: tan(1.5707963) = 3.7e7 > 1e6, on both sides
    rel_wide = Relation(sp.Eq(sp.atan(y), a), bounds={a: (-1.5707963, 1.5707963)}, outputs={y: (-1e6, 1e6)})
    got = solve(rel_wide, np.array([[1.5707963], [-1.5707963], [1.5]]))
    np.testing.assert_array_equal(got.status, [NO_ROOT, NO_ROOT, SOLVED])


def test_wide_range_with_strong_curvature_matches_brentq():
    rel = Relation(sp.Eq(y + sp.exp(y), a), bounds={a: (-45, 1e20)}, outputs={y: (-50, 50)})
    assert monotone(rel) == [1]
    x = np.concatenate([np.linspace(-45, 10, 56), np.logspace(1, 20, 40)])[:, None]
    got = solve(rel, x)
    assert (got.status == SOLVED).all()
    for (a_,), (v,) in zip(x, got.values):
        ref = brentq(lambda t, a_=a_: t + np.exp(t) - a_, -50, 50, xtol=1e-300, rtol=1e-15, maxiter=500)
        # a root converged to rounding level (the solve's own test: the residual within 8 ulps of its
        # term scale |y| + exp(y) + |a|; the derivative 1 + exp(y) >= 1) is that close in absolute terms
        noise = 8 * np.finfo(float).eps * (abs(ref) + np.exp(ref) + abs(a_))
        assert v == pytest.approx(ref, rel=1e-12, abs=noise)


def test_residual_that_overflows_on_part_of_the_range_goes_the_dense_way():
    # exp(exp(y)) is inf for y > 6.5: the fast path sees a non-finite residual and hands the row on
    rel = Relation(sp.Eq(sp.exp(sp.exp(y)), a), bounds={a: (2, 1e6)}, outputs={y: (-5, 10)})
    assert monotone(rel) == [1]
    x = np.logspace(np.log10(2), 6, 50)[:, None]
    got = solve(rel, x)
    assert (got.status == SOLVED).all()
    np.testing.assert_allclose(got.values[:, 0], np.log(np.log(x[:, 0])), rtol=1e-12)


def test_two_roots_in_a_range_are_still_found():
    # exp(v) - 4 v = a has two roots in (-3, 3) for every a in (1.5, 8): no proof of monotonicity
    # exists, so the 64-point scan runs and reports both
    v = sp.Symbol("v", real=True)
    both = Relation(sp.Eq(sp.exp(v) - 4 * v, a), bounds={a: (1.5, 8)}, outputs={v: (-3, 3)})
    assert monotone(both) == [0]
    x = np.linspace(1.5, 8, 33)[:, None]
    got = solve(both, x)
    assert (got.status == SEVERAL_ROOTS).all() and np.isnan(got.values).all()
    one = Relation(sp.Eq(sp.exp(v) - 4 * v, a), bounds={a: (1.5, 8)}, outputs={v: (-3, 1.3)})
    got = solve(one, x)
    assert (got.status == SOLVED).all()
    np.testing.assert_allclose(np.exp(got.values[:, 0]) - 4 * got.values[:, 0], x[:, 0], rtol=1e-13)


def test_root_on_the_end_of_the_range():
    rel = Relation(sp.Eq(y**3 + y, a), bounds={a: (-10, 10)}, outputs={y: (-2, 2)})  # 3 y^2 + 1 > 0
    assert monotone(rel) == [1]
    got = solve(rel, np.array([[10.0], [-10.0], [0.0], [10.0 + 1e-9]]))
    np.testing.assert_array_equal(got.status, [SOLVED, SOLVED, SOLVED, NO_ROOT])
    assert got.values[0, 0] == 2.0 and got.values[1, 0] == -2.0 and got.values[2, 0] == 0.0


def test_rows_the_coarse_scan_cannot_vouch_for_are_handed_on():
    # _solve_monotone trusts the proof only where float64 agrees with it: a residual that is NaN at a
    # scan point, or changes sign twice (rounding where the proof says once), must come back untrusted
    from surrogate.declaration.solve import _Axis, _solve_monotone

    axis = _Axis("y", -1.0, 2.0, False)  # linear: the scan points are evenly spaced, -1 and 2 among them

    def residual(vals):
        t, c = np.broadcast_arrays(vals["y"], vals["c"])
        out = t - c  # increasing, root y = c
        out = np.where((c > 10) & (t < -0.5), np.nan, out)  # row kind 1: NaN at the low end
        return np.where((c < -10) & (t > 0.5) & (t < 1.5), -1.0, out)  # row kind 2: a second sign change

    def joint(vals):
        return residual(vals), None, np.ones(np.shape(vals["c"]))

    c = np.array([0.5, 11.0, -11.0, 3.0])  # a root inside, NaN, two changes, no root (trusted)
    values, status, _, trusted = _solve_monotone(residual, joint, None, axis, {"c": c}, 4, 1e-13, 50, 1)
    np.testing.assert_array_equal(trusted, [True, False, False, True])
    assert values[0] == 0.5 and status[0] == SOLVED and status[3] == NO_ROOT


def test_joint_function_matches_the_separate_ones():
    # compiled.py's ("block", k) function: residuals, term scales and the Jacobian's nonzero entries of
    # a block, sharing subexpressions; the solve's Newton reads it in place of the separate functions
    rel = pump_pipe_operating_point
    x = rel.domain.sobol(512, seed=4).numpy()
    vals = {n: x[:, j] for j, n in enumerate(rel.inputs)}
    vals.update({"Q": np.linspace(3e-4, 0.2, 512), "f": np.linspace(0.008, 0.05, 512)})
    parts = rel.compiled("block", 0, "numpy")(vals)
    separate = [rel.compiled("residual", i, "numpy") for i in range(2)]
    separate += [rel.compiled("residual_scale", i, "numpy") for i in range(2)]
    separate += [rel.compiled("jacobian", (i, j), "numpy") for i in range(2) for j in range(2)
                 if rel.compiled("depends", (i, j), "numpy")]
    assert len(parts) == len(separate) == 8  # 2 residuals, 2 scales, 4 entries: both equations read Q and f
    for got, fn in zip(parts, separate):
        want = fn(vals)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.max(np.abs(want)))
