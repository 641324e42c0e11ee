"""The vectorised root solver: roots against SciPy, status reporting, the implicit catalogue."""

import itertools

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq, fsolve

from equations import implicit
from equations.implicit import colebrook, mach_subsonic, mach_supersonic, parallel_pipes, surface_temperature
from equations.seeds import paraboloid
from surrogate import DomainError, Relation
from surrogate.declaration.solve import NO_ROOT, NOT_CONVERGED, SEVERAL_ROOTS, SOLVED, SolveResult, solve

CATALOGUE = [getattr(implicit, name) for name in implicit.__all__]


def sample(relation, n, seed=0):
    return relation.domain.sobol(n, seed=seed).numpy()


def corners(relation):
    u = np.array(list(itertools.product([0.0, 1.0], repeat=relation.domain.dim)))
    return relation.domain.chart(u)


def residual_at(relation, x, y, i=0):
    values = {n: x[:, j] for j, n in enumerate(relation.inputs)}
    values.update({o: y[:, j] for j, o in enumerate(relation.outputs)})
    r = relation.compiled("residual", i, "numpy")(values)
    return np.abs(r) / relation.compiled("residual_scale", i, "numpy")(values)


# -- one output: against brentq -----------------------------------------------------------
@pytest.mark.parametrize("relation", [colebrook, surface_temperature, mach_subsonic, mach_supersonic],
                         ids=lambda r: r.name)
def test_single_output_matches_brentq(relation):
    x = sample(relation, 64, seed=3)
    got = solve(relation, x)
    assert (got.status == SOLVED).all()
    residual = relation.compiled("residual", 0, "numpy")
    (o,) = relation.outputs
    lo, hi = relation.output_ranges[o]
    for row, y in zip(x, got.values[:, 0]):
        point = dict(zip(relation.inputs, row))
        ref = brentq(lambda v, point=point: float(residual({**point, o: v})), lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500)
        assert y == pytest.approx(ref, rel=1e-12, abs=0)


def test_colebrook_residual_at_rounding_level():
    x = sample(colebrook, 4096, seed=1)
    got = solve(colebrook, x)
    assert got.iterations <= 10
    assert residual_at(colebrook, x, got.values).max() < 1e-14


def test_root_on_a_grid_point_is_exact():
    y, a = sp.symbols("y a", real=True)
    rel = Relation(sp.Eq(y**2, a), bounds={a: (0.5, 1)}, outputs={y: (0, 2)})
    got = solve(rel, np.array([[1.0], [0.5]]), grid=5)  # y = 1 is a scan point
    assert got.values[0, 0] == 1.0
    assert got.values[1, 0] == pytest.approx(np.sqrt(0.5), rel=1e-15)


def test_residual_undefined_on_part_of_the_range():
    y, a = sp.symbols("y a", real=True)
    rel = Relation(sp.Eq(sp.sqrt(y), a), bounds={a: (0.5, 1.5)}, outputs={y: (-1, 4)})  # NaN for y < 0
    x = np.linspace(0.5, 1.5, 11)[:, None]
    np.testing.assert_allclose(solve(rel, x).values, x**2, rtol=1e-14)


def test_root_at_zero_of_a_linear_range():
    y, a = sp.symbols("y a", real=True)
    rel = Relation(sp.Eq(y**3 + y, a), bounds={a: (-1, 1)}, outputs={y: (-2, 2)})
    x = np.array([[0.0], [1e-300], [-1e-20], [1e-8], [0.5]])
    got = solve(rel, x)
    assert (got.status == SOLVED).all()
    np.testing.assert_allclose(got.values[:, 0] ** 3 + got.values[:, 0], x[:, 0], rtol=1e-15, atol=1e-16)


def test_relation_evaluate_uses_the_solver():
    x = sample(colebrook, 16)
    out = colebrook.evaluate({"Re": x[:, 0], "eps": x[:, 1]})
    np.testing.assert_array_equal(out["f"], solve(colebrook, x).values[:, 0])


# -- systems: against fsolve -------------------------------------------------------------------
def test_system_matches_fsolve():
    rel = parallel_pipes
    x = sample(rel, 32, seed=5)
    got = solve(rel, x)
    assert (got.status == SOLVED).all()
    fns = [rel.compiled("residual", i, "numpy") for i in range(4)]
    syms = rel.outputs  # Q1, Q2, f1, f2
    for row, y in zip(x, got.values):
        point = dict(zip(rel.inputs, row))
        Q, D1, D2 = point["Q"], point["D1"], point["D2"]
        share = D1**2.5 / (D1**2.5 + D2**2.5)  # a rough split to start from
        guess = np.log([Q * share, Q * (1 - share), 0.02, 0.02])

        def equations(logs, point=point, Q=Q):
            vals = {**point, **dict(zip(syms, np.exp(logs)))}
            return [float(fn(vals)) / scale for fn, scale in zip(fns, (Q, 1.0, 10.0, 10.0))]

        ref, info, ier, msg = fsolve(equations, guess, xtol=1e-13, full_output=True)
        assert ier == 1, msg
        np.testing.assert_allclose(y, np.exp(ref), rtol=1e-9)
    for i in range(4):
        assert residual_at(rel, x, got.values, i).max() < 1e-13


def test_system_solution_is_conserved():
    x = sample(parallel_pipes, 2048)
    got = solve(parallel_pipes, x)
    np.testing.assert_allclose(got.values[:, 0] + got.values[:, 1], x[:, 0], rtol=1e-12)


# -- status reporting -----------------------------------------------------------------------------
def test_range_missing_the_root_gives_status_1_there():
    f, Re, eps = sp.symbols("f Re eps", positive=True)
    narrow = Relation(colebrook.equations[0], bounds={Re: (4e3, 1e8), eps: (1e-6, 5e-2)}, outputs={f: (0.01, 0.1)})
    x = sample(colebrook, 4096)
    truth = solve(colebrook, x).values[:, 0]
    got = solve(narrow, x)
    below = truth < 0.01
    assert 0 < below.sum() < len(x)  # the narrow range misses the root on part of the domain only
    np.testing.assert_array_equal(got.status, np.where(below, NO_ROOT, SOLVED))
    assert np.isnan(got.values[below]).all()
    np.testing.assert_allclose(got.values[~below, 0], truth[~below], rtol=1e-13)
    assert got.counts() == {"solved": int((~below).sum()), "no_root": int(below.sum()),
                            "several_roots": 0, "not_converged": 0}


def test_range_holding_two_roots_gives_status_2():
    y, a = sp.symbols("y a", real=True)
    x = np.linspace(0.5, 1.0, 101)[:, None]
    both = Relation(sp.Eq(y**2, a), bounds={a: (0.5, 1)}, outputs={y: (-2, 2)})
    got = solve(both, x)
    assert (got.status == SEVERAL_ROOTS).all()
    assert np.isnan(got.values).all()
    one = Relation(sp.Eq(y**2, a), bounds={a: (0.5, 1)}, outputs={y: (0, 2)})
    np.testing.assert_allclose(solve(one, x).values, np.sqrt(x), rtol=1e-14)


def test_system_with_two_roots_in_range_gives_status_2():
    u, v, r, c = sp.symbols("u v r c", real=True)
    circle_and_line = [sp.Eq(u**2 + v**2, r**2), sp.Eq(v, c * u)]
    bounds = {r: (0.5, 1), c: (0.5, 2)}
    x = np.stack(np.meshgrid(np.linspace(0.5, 1, 9), np.linspace(0.5, 2, 9)), -1).reshape(-1, 2)
    both = Relation(circle_and_line, bounds=bounds, outputs={u: (-2, 2), v: (-2, 2)})
    got = solve(both, x)
    assert (got.status == SEVERAL_ROOTS).all()
    one = Relation(circle_and_line, bounds=bounds, outputs={u: (0, 2), v: (0, 2)})
    got = solve(one, x)
    assert (got.status == SOLVED).all()
    expect_u = x[:, 0] / np.sqrt(1 + x[:, 1] ** 2)
    np.testing.assert_allclose(got.values, np.stack([expect_u, x[:, 1] * expect_u], 1), rtol=1e-12)


def test_system_range_missing_the_root_gives_status_1_there():
    u, v, a, b = sp.symbols("u v a b", real=True)
    rel = Relation([sp.Eq(u + v, a), sp.Eq(u - v, b)], bounds={a: (0.2, 1.8), b: (-0.1, 0.1)},
                   outputs={u: (0, 0.8), v: (0, 1)})
    x = np.stack(np.meshgrid(np.linspace(0.2, 1.8, 17), np.linspace(-0.1, 0.1, 5)), -1).reshape(-1, 2)
    got = solve(rel, x)
    u_true, v_true = (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2
    outside = u_true > 0.8
    assert 0 < outside.sum() < len(x)
    np.testing.assert_array_equal(got.status, np.where(outside, NO_ROOT, SOLVED))
    np.testing.assert_allclose(got.values[~outside], np.stack([u_true, v_true], 1)[~outside], rtol=1e-12, atol=1e-15)


def test_too_few_iterations_gives_status_3():
    x = sample(colebrook, 256)
    got = solve(colebrook, x, max_iter=1)
    assert (got.status == NOT_CONVERGED).all()
    assert np.isnan(got.values).all()
    pipes = solve(parallel_pipes, sample(parallel_pipes, 64), max_iter=2)
    assert (pipes.status == NOT_CONVERGED).all()


def test_explicit_relation_is_evaluated():
    x = sample(paraboloid, 32)
    got = solve(paraboloid, x)
    np.testing.assert_allclose(got.values[:, 0], x[:, 0] ** 2 + x[:, 1] ** 2, rtol=1e-15)
    assert got.counts()["solved"] == 32


def test_counts_and_str():
    got = SolveResult(np.full((4, 1), np.nan), np.array([0, 1, 1, 3], dtype=np.int8), 7)
    assert got.counts() == {"solved": 1, "no_root": 2, "several_roots": 0, "not_converged": 1}
    assert "no_root 2" in str(got) and "7 iterations" in str(got)


@pytest.mark.parametrize(
    "x, kwargs, error, fragment",
    [
        (np.ones((3, 3)), {}, DomainError, "[N, 2]"),
        (np.ones(3), {}, DomainError, "shape (3,)"),
        (np.array([[1e4, np.nan]]), {}, DomainError, "non-finite values in 1 rows"),
        (np.array([[1e4, 1e-3]]), {"grid": 1}, ValueError, "grid must be at least 2"),
        (np.array([[1e4, 1e-3]]), {"starts": 0}, ValueError, "starts must be at least 1"),
    ],
    ids=["wrong-width", "one-dimensional", "nan", "grid-too-small", "no-starts"],
)
def test_bad_arguments(x, kwargs, error, fragment):
    with pytest.raises(error) as info:
        solve(colebrook, x, **kwargs)
    assert fragment in str(info.value)


# -- the catalogue: one root in range everywhere ---------------------------------------------------
def _assert_solves_everywhere(relation, x):
    got = solve(relation, x)
    assert got.counts()["solved"] == len(x), got.counts()
    for j, o in enumerate(relation.outputs):
        lo, hi = relation.output_ranges[o]
        assert (got.values[:, j] > lo).all() and (got.values[:, j] < hi).all()


@pytest.mark.parametrize("relation", CATALOGUE, ids=lambda r: r.name)
def test_catalogue_solves_everywhere(relation):
    assert not relation.is_explicit
    _assert_solves_everywhere(relation, np.vstack([corners(relation), sample(relation, 10_000)]))


@pytest.mark.slow
@pytest.mark.parametrize("relation", CATALOGUE, ids=lambda r: r.name)
def test_catalogue_solves_everywhere_dense(relation):
    _assert_solves_everywhere(relation, sample(relation, 100_000, seed=1))
