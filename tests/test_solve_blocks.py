"""The solve goes block by block (declaration/blocks.py): every root the declared ranges bracket.

Systems of our own, each checked per point against scipy's brentq on the scalar problems
the structure reduces them to; and the catalogue's two loops (parallel pipes, the pump on
its pipe) against the values the one-block solver gave before the split (golden file).
"""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

from equations.implicit import parallel_pipes
from equations.pipe_flow import pump_pipe_operating_point
from surrogate import Relation
from surrogate.declaration.blocks import block_order, linear_solution
from surrogate.declaration.solve import NO_ROOT, SEVERAL_ROOTS, SOLVED, solve

GOLDEN = Path(__file__).parent / "golden" / "solve_systems.npz"


def root(fn, lo, hi):
    return brentq(fn, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500)


def blocks_of(rel):
    return [(tuple(rel.outputs[j] for j in b.outputs), b.explicit is not None) for b in rel.program.blocks]


# -- (a) two scalar equations, each in one output alone, and a third explicit in both ------------------
# Each range brackets one root; exp(v) - 4 v has a second root above ln 4 and v^3 - 3 v a local maximum
# at -1, outside or short of the root: one Newton over all three outputs from 8 starts solved 54 % of
# the points (46 % several_roots) before the system was split into blocks.
a, b = sp.symbols("a b", positive=True)
v1, v2, v3 = sp.symbols("v1 v2 v3", real=True)
SEPARABLE = Relation(
    [
        sp.Eq(sp.exp(v1) - 4 * v1, a),  # v1 alone, transcendental
        sp.Eq(v2**3 - 3 * v2, b),  # v2 alone
        sp.Eq(v3, v1 * v2 + v1 + v2),  # v3 from both, an equation between outputs (so the relation is implicit)
    ],
    bounds={a: (1.5, 8), b: (2.5, 8)},
    outputs={v3: (-8, 4), v1: (-3, 1.3), v2: (-4, 4)},  # not in block order, on purpose
    name="separable",
)


def test_separable_system_has_three_blocks():
    assert blocks_of(SEPARABLE) == [(("v1",), False), (("v2",), False), (("v3",), True)]


def test_separable_system_solves_everywhere_and_matches_brentq():
    x = SEPARABLE.domain.sobol(1024, seed=0).numpy()
    got = solve(SEPARABLE, x)
    assert got.counts()["solved"] == len(x), got.counts()
    for (a_, b_), (w3, w1, w2) in zip(x, got.values):
        r1 = root(lambda t, a_=a_: np.exp(t) - 4 * t - a_, -3, 1.3)
        r2 = root(lambda t, b_=b_: t**3 - 3 * t - b_, -4, 4)
        assert w1 == pytest.approx(r1, rel=1e-10, abs=0)
        assert w2 == pytest.approx(r2, rel=1e-10, abs=0)
        assert w3 == pytest.approx(r1 * r2 + r1 + r2, rel=1e-10, abs=0)


# -- (b) a chain y1 -> y2 -> y3 of scalar implicit blocks -------------------------------------------------
y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
CHAIN_EQUATIONS = [
    sp.Eq(y3 + sp.sin(y3) / 2, y2 + y1),  # y3 from y1 and y2
    sp.Eq(y2**3 + y1 * y2, b),  # y2 from y1
    sp.Eq(y1 * sp.exp(y1), a),  # y1 alone (Lambert's W)
]
CHAIN = Relation(CHAIN_EQUATIONS, bounds={a: (0.1, 10), b: (1, 8)},
                 outputs={y3: (0.1, 6), y2: (0.1, 3), y1: (0.05, 2.5)}, name="chain")


def chain_reference(a_, b_):
    r1 = root(lambda v: v * np.exp(v) - a_, 0.05, 2.5)
    r2 = root(lambda v: v**3 + r1 * v - b_, 0.1, 3)
    r3 = root(lambda v: v + np.sin(v) / 2 - r2 - r1, 0.1, 6)
    return r3, r2, r1


def test_chain_is_solved_in_order():
    assert blocks_of(CHAIN) == [(("y1",), False), (("y2",), False), (("y3",), False)]
    x = CHAIN.domain.sobol(256, seed=1).numpy()
    got = solve(CHAIN, x)
    assert got.counts()["solved"] == len(x), got.counts()
    for row, y in zip(x, got.values):
        np.testing.assert_allclose(y, chain_reference(*row), rtol=1e-12, atol=0)


def test_a_failing_block_marks_its_point_and_the_blocks_after_it():
    # y2's range (0.1, 1.5) misses its root where b > 1.5^3 + 1.5 y1: those points get no_root, all NaN
    narrow = Relation(CHAIN_EQUATIONS, bounds={a: (0.1, 10), b: (1, 8)},
                      outputs={y3: (0.1, 6), y2: (0.1, 1.5), y1: (0.05, 2.5)})
    x = CHAIN.domain.sobol(512, seed=2).numpy()
    full = solve(CHAIN, x).values
    missed = full[:, 1] > 1.5
    assert 0 < missed.sum() < len(x)
    got = solve(narrow, x)
    np.testing.assert_array_equal(got.status, np.where(missed, NO_ROOT, SOLVED))
    assert np.isnan(got.values[missed]).all()
    np.testing.assert_allclose(got.values[~missed], full[~missed], rtol=1e-13)


def test_several_roots_in_a_later_block_is_reported():
    u, w, c = sp.symbols("u w c", real=True)
    rel = Relation([sp.Eq(u**3 + u, c), sp.Eq(w**2, u)], bounds={c: (1, 2)}, outputs={u: (0, 2), w: (-2, 2)})
    got = solve(rel, np.linspace(1, 2, 11)[:, None])
    assert (got.status == SEVERAL_ROOTS).all() and np.isnan(got.values).all()
    one = Relation([sp.Eq(u**3 + u, c), sp.Eq(w**2, u)], bounds={c: (1, 2)}, outputs={u: (0, 2), w: (0, 2)})
    got = solve(one, np.linspace(1, 2, 11)[:, None])
    assert (got.status == SOLVED).all()
    np.testing.assert_allclose(got.values[:, 1] ** 2, got.values[:, 0], rtol=1e-14)


# -- (c) a true 2x2 loop after a scalar block --------------------------------------------------------------
r, s = sp.symbols("r s", positive=True)
p, q, z = sp.symbols("p q z", positive=True)
LOOP = Relation(
    [
        sp.Eq(p**2 + q**2, (r + z) ** 2),  # p and q need each other: a loop of two
        sp.Eq(q, s * p),
        sp.Eq(z * sp.exp(z), r),  # z alone, first
    ],
    bounds={r: (0.2, 2), s: (0.5, 2)},
    outputs={p: (0.01, 5), q: (0.01, 5), z: (0.05, 1.5)},
    name="loop",
)


def test_loop_after_a_scalar_block():
    assert blocks_of(LOOP) == [(("z",), False), (("p", "q"), False)]
    x = LOOP.domain.sobol(256, seed=3).numpy()
    got = solve(LOOP, x)
    assert got.counts()["solved"] == len(x), got.counts()
    for (r_, s_), (pv, qv, zv) in zip(x, got.values):
        z_ref = root(lambda v, r_=r_: v * np.exp(v) - r_, 0.05, 1.5)
        p_ref = (r_ + z_ref) / np.sqrt(1 + s_**2)
        np.testing.assert_allclose([pv, qv, zv], [p_ref, s_ * p_ref, z_ref], rtol=1e-12)


# -- (d) the catalogue's loops: the values of the one-block solver, unchanged ------------------------------
@pytest.mark.parametrize("relation", [parallel_pipes, pump_pipe_operating_point], ids=lambda r: r.name)
def test_catalogue_loops_unchanged(relation):
    assert [b.size for b in relation.program.blocks] == [len(relation.outputs)]  # one loop: nothing to split
    golden = np.load(GOLDEN)
    got = solve(relation, golden[relation.name + "_x"])
    np.testing.assert_array_equal(got.status, golden[relation.name + "_status"])
    np.testing.assert_allclose(got.values, golden[relation.name + "_values"], rtol=1e-13)


# -- the structure itself -------------------------------------------------------------------------------------
def test_block_order_of_an_incidence():
    x1, x2, x3, x4, t = sp.symbols("x1 x2 x3 x4 t")
    res = [x4 - x3 * x1, x2 + sp.exp(x2) - t, x3**2 + x1 - x2, x1 + sp.sin(x3) - t]
    blocks = block_order(res, [x1, x2, x3, x4])
    assert [(bl.equations, bl.outputs, bl.needs) for bl in blocks] == [((1,), (1,), ()), ((2, 3), (0, 2), (1,)),
                                                                       ((0,), (3,), (0, 2))]
    assert blocks[-1].explicit == x3 * x1 and blocks[0].explicit is None


def test_structurally_singular_system_is_one_block():
    x1, x2, t = sp.symbols("x1 x2 t")
    (only,) = block_order([x1 - t, x1**2 - t], [x1, x2])
    assert only.equations == (0, 1) and only.outputs == (0, 1)


@pytest.mark.parametrize(
    "residual, expected",
    [("y - a*b", "a*b"), ("2*y + a", "-a/2"), ("a*y - log(b)", "log(b)/a"), ("y**2 - a", None),
     ("exp(y) - a", None), ("y*exp(a) - b*y - 1", "1/(exp(a) - b)")],
)
def test_linear_solution(residual, expected):
    y_, a_, b_ = sp.symbols("y a b")
    got = linear_solution(sp.sympify(residual, locals={"y": y_, "a": a_, "b": b_}), y_)
    if expected is None:
        assert got is None
    else:
        assert sp.simplify(got - sp.sympify(expected, locals={"a": a_, "b": b_})) == 0


def test_explicit_block_outside_its_range_is_no_root():
    u, v, c = sp.symbols("u v c", positive=True)
    rel = Relation([sp.Eq(u**3 + u, c), sp.Eq(v, 2 * u)], bounds={c: (0.5, 10)}, outputs={u: (0.1, 3), v: (0.1, 3)})
    x = np.linspace(0.5, 10, 40)[:, None]
    got = solve(rel, x)
    u_ref = np.array([root(lambda t, c_=c_: t**3 + t - c_, 0.1, 3) for c_ in x[:, 0]])
    outside = 2 * u_ref > 3
    assert 0 < outside.sum() < len(x)
    np.testing.assert_array_equal(got.status, np.where(outside, NO_ROOT, SOLVED))
    np.testing.assert_allclose(got.values[~outside], np.stack([u_ref, 2 * u_ref], 1)[~outside], rtol=1e-13)
