"""The special functions engineering formulas use, in both backends from the one table.

The NumPy side *is* scipy.special, so its tests check the wiring (argument order,
branch, value at 0, NaN where SymPy's value is not real).  The torch side is
torch.special plus autograd Functions of our own; it is compared with the NumPy
side in float64 and its gradients with the exact derivatives.

Tolerances, and why:
  * 1e-12 relative (torch vs scipy): both sides are float64 implementations good to
    a few ulp (~1e-15); 1e-12 leaves three decades for differing algorithms but
    still fails on a wrong branch, order or argument.
  * gamma: torch computes exp(lgamma(x)), whose relative error is about
    eps * |lgamma(x)| <= 2.2e-16 * 710 ~ 1.6e-13 up to x = 171; 1e-12 covers it.
  * Functions with zeros (J, Y, loggamma, digamma) are compared relative to their
    scale (the envelope sqrt(2/(pi x)) for J and Y, 1 elsewhere), because near a zero
    both sides are accurate only in absolute terms.
  * LambertW against mpmath: the intrinsic conditioning of W is |x W'(x)| =
    |W/(1+W)|, which grows without bound at the branch point x = -1/e, so the bound
    is a few ulp of |W| + |W/(1+W)|.
  * torch.special's Bessel J and Y are NOT float64-accurate (measured before this
    file was written: ~1e-6 of the envelope for x >= 5, ~3e-8 below); the tolerance
    of test_torch_bessel_j_y_is_float32_grade was set after that measurement, and
    test_torch_bessel_j_y_float64 records the gap as a strict xfail.
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sc
import sympy as sp
import torch

from surrogate.declaration.compile import SUPPORTED_FUNCTIONS, compile_expr, derivative, unsupported_functions
from surrogate.declaration.trees import expr_from_json, expr_to_json
from surrogate.errors import ArtifactError, UnsupportedExpressionError

x, y = sp.symbols("x y", real=True)
EPS = np.finfo(np.float64).eps


def both(expr, xs, **more):
    """(numpy result, torch float64 result as numpy) of `expr` at x = xs."""
    values = {"x": np.asarray(xs, dtype=np.float64), **{k: np.asarray(v, dtype=np.float64) for k, v in more.items()}}
    got_np = compile_expr(expr, "numpy")(values)
    got_t = compile_expr(expr, "torch")({k: torch.tensor(v) for k, v in values.items()})
    assert got_t.dtype == torch.float64
    return got_np, got_t.numpy()


def max_rel(a, b, scale=None):
    scale = np.abs(b) if scale is None else scale
    scale = np.where(scale == 0, 1.0, scale)  # an exact zero of the reference: compare absolutely
    return float(np.max(np.abs(a - b) / scale))


# -- the NumPy side is scipy.special, wired right -------------------------------------------
GRID = np.linspace(0.05, 9.5, 301)

WIRING = [
    (sp.erf(x), sc.erf, GRID - 5),
    (sp.erfc(x), sc.erfc, GRID - 5),
    (sp.erfinv(x), sc.erfinv, np.linspace(-0.999, 0.999, 301)),
    (sp.besselj(0, x), sc.j0, GRID),
    (sp.besselj(1, x), sc.j1, GRID),
    (sp.bessely(0, x), sc.y0, GRID),
    (sp.bessely(1, x), sc.y1, GRID),
    (sp.besseli(0, x), sc.i0, GRID),
    (sp.besseli(1, x), sc.i1, GRID),
    (sp.besselk(0, x), sc.k0, GRID),
    (sp.besselk(1, x), sc.k1, GRID),
    (sp.gamma(x), sc.gamma, GRID - 5.001),
    (sp.loggamma(x), sc.gammaln, GRID),
    (sp.polygamma(0, x), sc.psi, GRID),
    (sp.polygamma(1, x), lambda v: sc.polygamma(1, v), GRID),
    (sp.LambertW(x), lambda v: sc.lambertw(v).real, GRID - 0.3),
]


@pytest.mark.parametrize("expr,ref,xs", WIRING, ids=[str(e) for e, _, _ in WIRING])
def test_numpy_side_is_scipy(expr, ref, xs):
    got = compile_expr(expr, "numpy")({"x": xs})
    np.testing.assert_array_equal(got, ref(xs))  # the same library: bit for bit


@pytest.mark.parametrize("expr", [e for e, _, _ in WIRING] + [sp.sinc(x), sp.Heaviside(x - 0.6), sp.Mod(x, 0.25)],
                         ids=str)
def test_numpy_side_matches_sympy(expr):
    """SymPy's own value at a few points: the order, branch and argument order are SymPy's."""
    for v in (0.3, 0.6, 0.9):
        ref = complex(expr.evalf(30, subs={x: v}))
        got = compile_expr(expr, "numpy")({"x": np.array([v])})[0]
        assert ref.imag == 0 and got == pytest.approx(ref.real, rel=1e-13, abs=1e-15)  # a few ulp of scipy


def test_sympy_conventions():
    assert sp.Heaviside(x).args == (x, sp.S.Half)  # SymPy's value at 0
    for h0 in (sp.S.Half, sp.S.Zero, sp.S.One):
        e = sp.Heaviside(x, h0)
        np_, t = both(e, [-1.0, 0.0, 2.0, math.nan])
        want = [0.0, float(h0), 1.0, math.nan]
        np.testing.assert_array_equal(np_, want)
        np.testing.assert_array_equal(t, want)
    # Mod takes the sign of the divisor, as np.mod and torch.remainder do
    for a, b in [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0)]:
        want = float(sp.Mod(sp.Float(a), sp.Float(b)))
        got_np, got_t = both(sp.Mod(x, y), [a], y=[b])
        assert got_np[0] == want and got_t[0] == want
    # sinc is SymPy's sin(x)/x, not NumPy's normalised sinc, and exact at 0
    got_np, got_t = both(sp.sinc(x), [0.0, 1.0, math.pi / 2])
    np.testing.assert_allclose(got_np, [1.0, math.sin(1.0), 2 / math.pi], rtol=2 * EPS)
    np.testing.assert_allclose(got_t, got_np, rtol=2 * EPS)
    # logarithms of any base are log(x)/log(b)
    e = sp.log(x, 10)
    assert e == sp.log(x) / sp.log(10)
    np.testing.assert_allclose(both(e, [1e-3, 1.0, 1e5])[0], [-3.0, 0.0, 5.0], rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(both(sp.log(x, 2), [8.0])[1], [3.0], rtol=4 * EPS)


def test_not_real_is_nan_in_both_backends():
    cases = [
        (sp.loggamma(x), [-0.5, -2.5]),  # SymPy's loggamma of a negative real is complex
        (sp.gamma(x), [0.0, -1.0, -3.0]),  # poles
        (sp.LambertW(x), [-0.37, -1.0, float(-sp.exp(-1).evalf(30)) - 1e-16]),  # below -1/e
        (sp.erfinv(x), [1.5, -2.0]),
        (sp.bessely(0, x), [-1.0]),
        (sp.besselk(1, x), [-1.0]),
    ]
    for expr, xs in cases:
        got_np, got_t = both(expr, xs)
        assert np.isnan(got_np).all() and np.isnan(got_t).all(), (expr, got_np, got_t)
    # and the values just inside are real
    got_np, got_t = both(sp.loggamma(x), [1e-300, 0.5])
    assert np.isfinite(got_np).all() and np.isfinite(got_t).all()


def test_gamma_signs_for_negative_arguments():
    xs = np.array([-0.5, -1.5, -2.5, -3.5, -10.25, -20.5])
    got_np, got_t = both(sp.gamma(x), xs)
    np.testing.assert_array_equal(np.sign(got_t), np.sign(sc.gamma(xs)))
    assert max_rel(got_t, got_np) < 1e-12


# -- torch agrees with scipy in float64 ---------------------------------------------------
AGREE = [  # expression, x grid: the ranges engineering uses
    (sp.erf(x), np.linspace(-6, 6, 2001)),
    (sp.erfc(x), np.linspace(-6, 26, 2001)),
    (sp.erfinv(x), np.concatenate([np.linspace(-0.999999, 0.999999, 2001), [1e-300, -1e-10]])),
    (sp.besseli(0, x), np.geomspace(1e-3, 700, 2001)),
    (sp.besseli(1, x), np.geomspace(1e-3, 700, 2001)),
    (sp.besselk(0, x), np.geomspace(1e-3, 700, 2001)),
    (sp.besselk(1, x), np.geomspace(1e-3, 700, 2001)),
    (sp.gamma(x), np.concatenate([np.linspace(0.01, 171, 2001), np.arange(-20.75, 0, 0.5)])),
    (sp.sinc(x), np.linspace(-50, 50, 2001)),
]


@pytest.mark.parametrize("expr,xs", AGREE, ids=[str(e) for e, _ in AGREE])
def test_torch_matches_scipy(expr, xs):
    got_np, got_t = both(expr, xs)
    assert np.isfinite(got_np).all()
    assert max_rel(got_t, got_np) < 1e-12


def test_torch_matches_scipy_near_zeros():
    xs = np.geomspace(1e-3, 50, 2001)
    for expr in (sp.loggamma(x), sp.polygamma(0, x)):  # zeros at 1, 2 and 1.4616...
        got_np, got_t = both(expr, xs)
        assert max_rel(got_t, got_np, np.maximum(np.abs(got_np), 1.0)) < 1e-12, expr


def test_torch_trigamma_is_good_to_1e9():
    """torch.special.polygamma(1, x) is less accurate than scipy's (measured ~5e-10 relative)."""
    got_np, got_t = both(sp.polygamma(1, x), np.geomspace(1e-3, 50, 2001))
    assert max_rel(got_t, got_np) < 1e-8


def _envelope(xs):
    return np.minimum(1.0, np.sqrt(2 / (np.pi * xs)))


J_Y = [sp.besselj(0, x), sp.besselj(1, x), sp.bessely(0, x), sp.bessely(1, x)]


@pytest.mark.parametrize("expr", J_Y, ids=str)
def test_torch_bessel_j_y_is_float32_grade(expr):
    """torch.special.bessel_j0/j1/y0/y1 agree with scipy to ~1e-6 of the envelope: float32 grade.

    Training runs in float32, so its targets are unaffected; the float64 certificate
    uses the NumPy (scipy) side.  Tolerance set after measuring (see the module doc).
    """
    xs = np.geomspace(1e-3, 50, 4001)
    got_np, got_t = both(expr, xs)
    scale = np.maximum(np.abs(got_np), _envelope(xs))
    assert max_rel(got_t, got_np, scale) < 1e-5
    small = xs < 5
    assert max_rel(got_t[small], got_np[small], scale[small]) < 1e-7


@pytest.mark.xfail(strict=True, reason="torch.special's Bessel J and Y are float32-grade in float64 (torch 2.13)")
@pytest.mark.parametrize("expr", J_Y, ids=str)
def test_torch_bessel_j_y_float64(expr):
    xs = np.geomspace(1e-3, 50, 4001)
    got_np, got_t = both(expr, xs)
    assert max_rel(got_t, got_np, np.maximum(np.abs(got_np), _envelope(xs))) < 1e-12


# -- LambertW: Halley's iteration in torch -------------------------------------------------
def _lambertw_points():
    q = np.geomspace(1e-15, 0.1, 300)  # distance above the branch point
    near = np.array([float(mpmath.mpf(v) - 1 / mpmath.e) for v in q])
    return np.unique(np.concatenate([near, np.linspace(-0.3, 3, 300), np.geomspace(1e-300, 1e300, 600),
                                     -np.geomspace(1e-300, 0.25, 200), [0.0, -0.0, math.e]]))


def test_torch_lambertw_against_mpmath_float64():
    xs = _lambertw_points()
    got_np, got_t = both(sp.LambertW(x), xs)
    mpmath.mp.dps = 40
    ref = np.array([float(mpmath.lambertw(mpmath.mpf(v))) for v in xs])
    # ulp of W plus its conditioning |x W'(x)| = |W/(1+W)| (1+W is 0 in float64 right at the branch point)
    cond = np.abs(ref) + np.abs(ref) / np.maximum(np.abs(1 + ref), EPS) + np.finfo(np.float64).tiny
    assert np.max(np.abs(got_t - ref) / cond) < 4 * EPS
    assert np.max(np.abs(got_np - ref) / cond) < 64 * EPS  # scipy is looser right at the branch point
    far = xs > -0.3
    assert max_rel(got_t[far & (xs != 0)], got_np[far & (xs != 0)]) < 1e-14
    assert got_t[xs == 0][0] == 0.0


def test_torch_lambertw_edges():
    t = compile_expr(sp.LambertW(x), "torch")
    v = t({"x": torch.tensor([math.inf, math.nan, -1.0, 1e308, 1.7976931348623157e308], dtype=torch.float64)})
    assert v[0] == math.inf and math.isnan(v[1]) and math.isnan(v[2])
    assert v[3].item() == pytest.approx(float(mpmath.lambertw(mpmath.mpf(1e308))), rel=4 * EPS)
    assert math.isfinite(v[4].item())


def test_float32_runs_in_float32():
    xs64 = torch.tensor([-0.3, -0.1, 0.0, 0.5, 2.0, 10.0, 1e6, 1e30], dtype=torch.float64)
    f = compile_expr(sp.LambertW(x) + sp.erf(x / 1e30), "torch")
    got32 = f({"x": xs64.float()})
    assert got32.dtype == torch.float32
    # float32 rounding of x and of W, times W's conditioning (below 2 here), with margin
    torch.testing.assert_close(got32.double(), f({"x": xs64}), rtol=1e-6, atol=1e-7)
    pos = torch.tensor([0.5, 1.0, 3.0, 7.0], dtype=torch.float64)
    for expr in (sp.besselj(0, x), sp.besselj(1, x), sp.bessely(0, x), sp.bessely(1, x), sp.besselk(0, x),
                 sp.besselk(1, x), sp.besseli(1, x), sp.gamma(x), sp.loggamma(x), sp.sinc(x), sp.Heaviside(x - 1)):
        g = compile_expr(expr, "torch")
        p = pos.float().requires_grad_()
        out = g({"x": p})
        assert out.dtype == torch.float32, expr
        out.sum().backward()
        assert p.grad is not None and p.grad.dtype == torch.float32, expr
        torch.testing.assert_close(out.double(), g({"x": pos}), rtol=1e-5, atol=1e-6)  # float32-grade


# -- gradients ------------------------------------------------------------------------------
GRADS = [  # expression, points (away from poles and branch points), scipy derivative
    (sp.besselj(0, x), [0.0, 0.3, 2.0, 4.5], lambda v: sc.jvp(0, v)),
    (sp.besselj(1, x), [0.0, 0.3, 2.0, 4.5], lambda v: sc.jvp(1, v)),
    (sp.bessely(0, x), [0.3, 2.0, 4.5], lambda v: sc.yvp(0, v)),
    (sp.bessely(1, x), [0.3, 2.0, 4.5], lambda v: sc.yvp(1, v)),
    (sp.besseli(0, x), [0.0, 0.3, 2.0, 40.0], lambda v: sc.ivp(0, v)),
    (sp.besseli(1, x), [0.0, 0.3, 2.0, 40.0], lambda v: sc.ivp(1, v)),
    (sp.besselk(0, x), [0.3, 2.0, 40.0], lambda v: sc.kvp(0, v)),
    (sp.besselk(1, x), [0.3, 2.0, 40.0], lambda v: sc.kvp(1, v)),
    (sp.LambertW(x), [-0.3, -0.1, 0.0, 0.5, 3.0, 1e5], lambda v: 1 / (np.exp(sc.lambertw(v).real) * (1 + sc.lambertw(v).real))),
    (sp.gamma(x), [-2.5, -0.5, 0.5, 3.7, 20.0], lambda v: sc.gamma(v) * sc.psi(v)),
    (sp.loggamma(x), [0.5, 3.7, 20.0], sc.psi),
    (sp.erfinv(x), [-0.9, 0.0, 0.5], lambda v: math.sqrt(math.pi) / 2 * np.exp(sc.erfinv(v) ** 2)),
    (sp.sinc(x), [0.0, 0.5, 4.0],
     lambda v: np.where(v == 0, 0.0, np.cos(v) / np.where(v == 0, 1, v) - np.sin(v) / np.where(v == 0, 1, v) ** 2)),
]


@pytest.mark.parametrize("expr,points,deriv", GRADS, ids=[str(e) for e, _, _ in GRADS])
def test_torch_gradients(expr, points, deriv):
    f = compile_expr(expr, "torch")
    p = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f({"x": p}).sum(), p)
    want = deriv(np.array(points))
    # J and Y: torch's forward values are float32-grade (see above), so their derivatives too
    tol = 1e-6 if isinstance(expr, (sp.besselj, sp.bessely)) else 1e-12
    np.testing.assert_allclose(g.numpy(), want, rtol=tol, atol=tol)
    torch.autograd.gradcheck(lambda t: f({"x": t}), (p,))  # the backward agrees with finite differences


@pytest.mark.parametrize("expr", [sp.besselj(1, x), sp.bessely(1, x), sp.besselk(1, x), sp.LambertW(x)], ids=str)
def test_torch_second_derivatives(expr):
    f = compile_expr(expr, "torch")
    p = torch.tensor([0.7, 2.0, 4.2], dtype=torch.float64, requires_grad=True)
    torch.autograd.gradgradcheck(lambda t: f({"x": t}), (p,))


def test_heaviside_and_mod_keep_the_graph():
    p = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    for expr, want in [(x * sp.Heaviside(x), [0.0, 1.0, 1.0]), (sp.Mod(x, 2), [1.0, 1.0, 1.0])]:
        (g,) = torch.autograd.grad(compile_expr(expr, "torch")({"x": p}).sum(), p)
        np.testing.assert_array_equal(g.numpy(), want)


def test_derivative_stays_translatable():
    """sp.diff writes besselj(2, x), DiracDelta and unevaluated Derivatives; derivative() does not."""
    cases = [sp.besselj(1, x) * y, sp.besseli(1, x * y), sp.besselk(1, x), sp.bessely(1, x), x * sp.Heaviside(x - 1),
             sp.Mod(x, 3), sp.Mod(y, x), sp.floor(x / y), sp.polygamma(1, x), sp.LambertW(x), sp.erfinv(x / 2)]
    for e in cases:
        assert unsupported_functions(derivative(e, x)) == [], e
    d = derivative(sp.besselj(1, x), x)
    got = compile_expr(d, "numpy")({"x": np.array([0.5, 2.0])})
    np.testing.assert_allclose(got, sc.jvp(1, np.array([0.5, 2.0])), rtol=1e-14)
    assert derivative(sp.Mod(y, x), x) == -sp.floor(y / x)


# -- refusals, with what to write instead ---------------------------------------------------
@pytest.mark.parametrize("expr,words", [
    (sp.besselj(2, x), ["besselj of order 2", "orders 0 and 1", "recurrence"]),
    (sp.besselk(sp.Rational(1, 2), x), ["besselk of order 1/2", "orders 0 and 1"]),
    (sp.besseli(y, x), ["besseli of order y"]),
    (sp.LambertW(x, -1), ["LambertW branch -1", "principal branch"]),
    (sp.Heaviside(x, y), ["Heaviside", "must be a number"]),
    (sp.expint(1, x), ["expint", "no torch translation"]),
    (sp.Ei(x), ["Ei", "no torch translation"]),
    (sp.erfcinv(x), ["erfcinv", "erfinv(1 - x)"]),
    (sp.factorial(x), ["factorial", "gamma(x + 1)"]),
    (sp.polygamma(40, x), ["polygamma of order 40"]),
    (sp.zeta(x), ["zeta"]),
    (sp.re(sp.Symbol("z")), ["re", "complex-valued", "declare real symbols"]),
    (x + sp.I * y, ["imaginary", "complex-valued"]),
])
def test_refused_with_hint(expr, words):
    bad = unsupported_functions(expr)
    assert len(bad) == 1, bad
    for w in words:
        assert w in bad[0], (w, bad)
    with pytest.raises(UnsupportedExpressionError, match=words[0].split()[0]):
        compile_expr(expr, "numpy")


# docs/functions.md's special functions, written out here (not read from the table): each is
# listed, compiles in both backends and gives SymPy's own value (mpmath at 30 digits) at x = 0.7
LISTED = [sp.erf(x), sp.erfc(x), sp.erfinv(x), sp.besselj(0, x), sp.besselj(1, x), sp.bessely(0, x),
          sp.bessely(1, x), sp.besseli(0, x), sp.besseli(1, x), sp.besselk(0, x), sp.besselk(1, x), sp.gamma(x),
          sp.loggamma(x), sp.polygamma(0, x), sp.polygamma(3, x), sp.Heaviside(x - 1), sp.LambertW(x),
          sp.Mod(x + 2, 1.5), sp.sinc(x)]


@pytest.mark.parametrize("expr", LISTED, ids=str)
def test_supported_names_listed_compile_and_match_sympy(expr):
    assert type(expr).__name__ in SUPPORTED_FUNCTIONS
    assert unsupported_functions(expr) == []
    want = float(expr.evalf(30, subs={x: sp.Rational(7, 10)}))
    v = np.array([0.7])
    assert compile_expr(expr, "numpy")({"x": v})[0] == pytest.approx(want, rel=1e-12, abs=1e-15)
    # torch.special's J and Y are float32-grade (module docstring): 1e-6 of the envelope there
    tol = 1e-6 if type(expr) in (sp.besselj, sp.bessely) else 1e-12
    got = compile_expr(expr, "torch")({"x": torch.from_numpy(v)})
    assert float(got[0]) == pytest.approx(want, rel=tol, abs=1e-15)


# -- artifacts -----------------------------------------------------------------------------
ROUND_TRIP = [sp.erf(x), sp.erfc(x * y), sp.erfinv(x / 2), sp.besselj(0, x), sp.besselj(1, x) + sp.bessely(0, y),
              sp.besseli(1, x), sp.besselk(0, 2 * x), sp.gamma(x), sp.loggamma(x), sp.polygamma(1, x), sp.sinc(x),
              sp.LambertW(x), sp.Heaviside(x), sp.Heaviside(x, 0), sp.Mod(x, 3), sp.Mod(x, y),
              x * sp.besselj(0, sp.Float(2.5)), sp.gamma(sp.Rational(7, 2)) * x]


@pytest.mark.parametrize("expr", ROUND_TRIP, ids=str)
def test_round_trip(expr):
    import json

    tree = json.loads(json.dumps(expr_to_json(expr)))
    assert expr_from_json(tree, {"x": x, "y": y}) == expr


@pytest.mark.parametrize("expr", [
    sp.gamma(sp.Integer(10) ** 300, evaluate=False),
    sp.besseli(0, sp.Float(1e6), evaluate=False),
    sp.besselk(0, sp.Integer(0), evaluate=False),
    sp.LambertW(sp.Integer(-1), evaluate=False),
    sp.loggamma(sp.Integer(-3), evaluate=False),
    sp.erfinv(sp.Integer(2), evaluate=False),
    sp.polygamma(sp.Integer(400), sp.Integer(1), evaluate=False),
], ids=str)
def test_hostile_constants_refused(expr):
    tree = {"op": "Add", "args": [{"Symbol": "x"}, expr_to_json(expr)]}
    with pytest.raises(ArtifactError):
        expr_from_json(tree, {"x": x})
