"""Special functions in the proof (checking/special.py): soundness tests that can fail.

- the float64 ends of Bessel I0, I1, K0, K1 (and the orders up to 4 their derivatives use) and of
  erfcx and its derivatives agree with 30-digit mpmath to MARGIN / 16 at thousands of points: the
  stated margin covers scipy's error with room;
- the enclosures of the value, the first and second derivative, and of (log f)' and (log f)'',
  contain mpmath's values (by mpmath's own differentiation) at points of random intervals; a broken
  rule (a monotonicity reversed, the centred form's remainder dropped) is caught;
- the rewrites (exp(A) erfc(B) -> exp(A - B^2) erfcx(B), a rational sum factored) equal the formula
  at dense points, and leave alone what they should;
- over random sub-boxes of the shipped annular fin and semi-infinite solid, the box's bound is above
  the error at dense points inside it.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc
import sympy as sp

import surrogate as sg
from surrogate.checking import special
from surrogate.checking.bounder import _Bounder, rewrite
from surrogate.checking.interval import Interval
from surrogate.checking.prove import _errors_at
from surrogate.checking.special import MARGIN, Erfcx, bessel, bessel_log, erfcx, factored, scaled_erfc
from surrogate.declaration.compile import compile_expr

mp.mp.dps = 30

_MP = {"I": mp.besseli, "K": mp.besselk}
_TABLE: dict = {}


def _table(kind):
    """x (log-uniform on [1e-3, 40], and the ends) and 30-digit I_n(x) or K_n(x), n = 0..6: mpmath's
    K is slow (10-40 ms a value at large x), so the points are few and shared by the tests."""
    if kind not in _TABLE:
        xs = np.concatenate([10 ** np.random.default_rng(0).uniform(-3, np.log10(40), 110), [1e-3, 0.5, 40.0]])
        _TABLE[kind] = xs, [[_MP[kind](n, mp.mpf(float(x))) for n in range(7)] for x in xs]
    return _TABLE[kind]


def _ref(kind, order, row):
    """(f, f', f'') from the orders 0..3 (DLMF 10.29.1: I_n' = (I_{n-1} + I_{n+1})/2,
    K_n' = -(K_{n-1} + K_{n+1})/2; checked against mpmath's differentiation below)."""
    s = 1 if kind == "I" else -1
    if order == 0:
        return row[0], s * row[1], (row[0] + row[2]) / 2
    return row[1], s * (row[0] + row[2]) / 2, (3 * row[1] + row[3]) / 4


@pytest.mark.parametrize("kind", ["I", "K"])
def test_float64_bessel_values_are_within_the_margin(kind):
    """Every order the enclosures evaluate (0-6, through special._bessel_parts) against mpmath."""
    xs, rows = _table(kind)
    worst = 0.0
    for n in range(7):
        got = special._i(n, xs) if kind == "I" else special._k(n, xs)
        for g, row in zip(got, rows):
            worst = max(worst, float(abs((mp.mpf(float(g)) - row[n]) / row[n])))
    assert worst < MARGIN / 16, worst


def test_the_derivative_identities_against_mpmath_differentiation():
    """_ref's identities and special._bessel_parts (DLMF 10.29.5, in float64, up to the 4th
    derivative) against mpmath's own differentiation."""
    for kind in ("I", "K"):
        for x in (0.01, 1.3, 17.0):
            row = [_MP[kind](n, mp.mpf(x)) for n in range(5)]
            for order in (0, 1):
                f = lambda t: _MP[kind](order, t)  # noqa: E731,B023
                for k, ref in enumerate(_ref(kind, order, row)):
                    assert abs(mp.diff(f, mp.mpf(x), k) - ref) < mp.mpf(10) ** -20 * abs(ref)
                if kind == "K" and x != 1.3:
                    continue  # mpmath's K is slow at high derivative orders: one point for K
                parts = special._bessel_parts(kind, order, np.array([x]))
                for k, got in enumerate(parts):
                    ref = mp.diff(f, mp.mpf(x), k)
                    assert abs(mp.mpf(float(got[0])) - ref) < 1e-13 * abs(ref), (kind, order, x, k)


def test_float64_erfcx_parts_are_within_the_margin():
    """erfcx, erfcx' and erfcx'' from special._erfcx_parts, against mpmath, relative to the
    magnitude of the terms (the pad the enclosure uses)."""
    xs = np.concatenate([np.random.default_rng(1).uniform(-3, 8, 600), [0.0, 1e-8, 25.0]])
    parts = special._erfcx_parts(xs)
    worst = 0.0
    for i, x in enumerate(xs):
        X = mp.mpf(float(x))
        f = lambda t: mp.exp(t * t) * mp.erfc(t)  # noqa: E731
        refs = [f(X), mp.diff(f, X, 1), mp.diff(f, X, 2)]
        for (v, m), ref in zip(parts, refs):
            worst = max(worst, float(abs(mp.mpf(float(v[i])) - ref) / mp.mpf(float(m[i]))))
    assert worst < MARGIN / 16, worst


def _bessel_misses(kind, order, seed=0) -> int:
    """Points of the table where an enclosure over an interval holding them (inside, or at an end)
    misses f, f', f'', (log f)' or (log f)''."""
    xs, rows = _table(kind)
    rng = np.random.default_rng(seed)
    w = xs * 10 ** rng.uniform(-6, -0.3, len(xs))
    t = rng.random(len(xs))
    t[::4], t[1::4] = 0.0, 1.0  # a quarter at the lower end, a quarter at the upper
    lo, hi = xs - t * w, xs + (1 - t) * w
    lo[::4], hi[1::4] = xs[::4], xs[1::4]
    a = Interval(lo, hi)
    encl = bessel(kind, order, a) + bessel_log(kind, order, a)
    misses = 0
    for i, row in enumerate(rows):
        f, d1, d2 = _ref(kind, order, row)
        for enc, ref in zip(encl, (f, d1, d2, d1 / f, d2 / f - (d1 / f) ** 2)):
            misses += not (enc.lo[i] <= ref <= enc.hi[i])
    return misses


@pytest.mark.parametrize("kind,order", [("I", 0), ("I", 1), ("K", 0), ("K", 1)])
def test_bessel_enclosures_contain_mpmath(kind, order):
    assert _bessel_misses(kind, order) == 0


def test_bessel_log_enclosures_are_the_centred_forms():
    """(log f)'' over [20, 20.1] is enclosed at least 10x tighter than the plain quotients of the
    ranges (what kept the annular fin at 25x the sampled max), and (log f)' too."""
    a = Interval(np.array([20.0]), np.array([20.1]))
    for kind in ("I", "K"):
        psi, dpsi = bessel_log(kind, 1, a)
        plain = special._log_parts(special._ranges(kind, 1, a, 4))
        assert dpsi.hi[0] - dpsi.lo[0] < 0.1 * (plain[1].hi[0] - plain[1].lo[0])
        assert psi.hi[0] - psi.lo[0] < 0.1 * (plain[0].hi[0] - plain[0].lo[0])


def test_a_broken_bessel_rule_is_caught(monkeypatch):
    """Mutations: K's value taken as increasing; the Taylor forms' remainders dropped; the ratios
    f^(k)/f over the pieces taken at the pieces' left ends."""
    monkeypatch.setitem(special._RISING, "K", (True,) + special._RISING["K"][1:])
    assert _bessel_misses("K", 0) > 0
    monkeypatch.undo()
    real = special._log_parts

    def no_curvature(F, mu=None):  # the remainders of the Taylor forms of psi and psi' dropped
        psi, dpsi, d2, d3 = real(F, mu)
        zero = Interval(np.zeros_like(d2.lo), np.zeros_like(d2.hi))
        return psi, dpsi, zero, None if d3 is None else Interval(np.zeros_like(d3.lo), np.zeros_like(d3.hi))

    monkeypatch.setattr(special, "_log_parts", no_curvature)
    assert _bessel_misses("I", 1) > 0
    monkeypatch.undo()
    ratios = special._piece_ratios

    def left_end_only(P, grid, pieces, bad):  # the pieces' mean-value slope dropped
        return [Interval(q.lo, np.minimum(q.hi, q.lo + 1e-300)) for q in ratios(P, grid, pieces, bad)]

    monkeypatch.setattr(special, "_piece_ratios", left_end_only)
    assert _bessel_misses("K", 1) > 0


def test_erfcx_enclosures_contain_mpmath_and_a_broken_rule_is_caught(monkeypatch):
    rng = np.random.default_rng(3)
    lo = rng.uniform(-3, 8, 200)
    hi = lo + 10 ** rng.uniform(-6, 0.5, 200)
    f = lambda t: mp.exp(t * t) * mp.erfc(t)  # noqa: E731

    def misses(encl):
        out = 0
        for i in range(len(lo)):
            for t in (0.0, rng.random(), 1.0):
                x = mp.mpf(float(lo[i])) + (mp.mpf(float(hi[i])) - mp.mpf(float(lo[i]))) * mp.mpf(t)
                for enc, k in zip(encl, range(3)):
                    out += not (enc.lo[i] <= mp.diff(f, x, k) <= enc.hi[i])
        return out

    assert misses(erfcx(Interval(lo, hi))) == 0
    # mutation: erfcx' taken as decreasing
    monkeypatch.setattr(special, "_ERFCX_RISING", (False, False, False))
    assert misses(erfcx(Interval(lo, hi))) > 0


def test_the_scaled_erfc_rewrite():
    eta, beta, x, y = sp.symbols("eta beta x y", real=True)
    e = sp.erfc(eta) - sp.exp(2 * eta * beta + beta**2) * sp.erfc(eta + beta)
    new = scaled_erfc(e)
    assert new.has(Erfcx) and not new.has(sp.exp(2 * eta * beta + beta**2))
    assert new == sp.erfc(eta) - sp.exp(-eta**2) * Erfcx(eta + beta)
    f_old = compile_expr(e, "numpy")
    f_new = sp.lambdify((eta, beta), new, modules=[{"Erfcx": sc.erfcx, "erfc": sc.erfc}, "numpy"])
    rng = np.random.default_rng(0)
    E, B = rng.uniform(0, 2, 2000), 10 ** rng.uniform(np.log10(0.05), np.log10(3), 2000)
    np.testing.assert_allclose(f_new(E, B), f_old({"eta": E, "beta": B}), rtol=1e-9, atol=1e-12)
    # the scales' |erfc(B)| too
    assert scaled_erfc(sp.exp(x**2 + 2 * x) * sp.Abs(sp.erfc(x + 1))) == sp.exp(-1) * Erfcx(x + 1)
    # A - B^2 longer than A: left alone
    assert scaled_erfc(sp.exp(x) * sp.erfc(y)) == sp.exp(x) * sp.erfc(y)


def test_a_rational_sum_is_factored_and_equal():
    m, r = sp.symbols("m r", positive=True)
    a, b = m / (r - 1), m * r / (r - 1)
    assert factored(b**2 - a**2) == m**2 * (r + 1) / (r - 1)
    assert factored(m + r) == m + r  # one sign: nothing to gain
    assert factored(1 - r) == 1 - r  # -(r - 1): no factor split off
    assert factored(sp.Float(0.5) * m - r) == sp.Float(0.5) * m - r  # Floats: left alone


@pytest.mark.parametrize("name", ["annular_fin_efficiency", "semi_infinite_convection"])
def test_shipped_bound_is_above_the_error_inside_random_sub_boxes(name):
    model = sg.catalogue(name)
    b = _Bounder(model, model.relation, model.certificate.atol)
    if name == "annular_fin_efficiency":
        assert any(t.has(sp.besseli) for t in b.targets)
    else:
        assert all(t.has(Erfcx) for t in b.targets)
    assert sp.simplify(special.Erfcx(sp.Symbol("z")).rewrite(sp.erfc) - sp.exp(sp.Symbol("z") ** 2)
                       * sp.erfc(sp.Symbol("z"))) == 0
    rng = np.random.default_rng(5)
    n = 24
    c = rng.random((n, 2))
    w = 10 ** rng.uniform(-3.5, -1.0, (n, 2))
    lo, hi = np.clip(c - w, 0, 1), np.clip(c + w, 0, 1)
    lo[0], hi[0] = 0.0, 1.0 / 64
    ub, _, _ = b.bound(lo, hi)
    for i in range(n):
        u = lo[i] + (hi[i] - lo[i]) * rng.random((1500, 2))
        e = _errors_at(model, b, u, b.atol)
        assert e.max() <= ub[i], (lo[i], hi[i], e.max(), ub[i])
    assert np.isfinite(ub).sum() >= n // 2


def test_the_proof_rewrite_is_the_formula():
    """The expressions the proof encloses equal the relation's at dense points (scipy's erfcx for Erfcx)."""
    for name in ("annular_fin_efficiency", "semi_infinite_convection"):
        rel = sg.catalogue(name).relation
        o = rel.outputs[0]
        e = rel.expression(o)
        new = rewrite(e, {})
        syms = [rel.symbols[n] for n in rel.inputs]
        f = sp.lambdify(syms, new, modules=[{"Erfcx": sc.erfcx, "besseli": sc.iv, "besselk": sc.kv, "erfc": sc.erfc}, "numpy"])
        x = rel.domain.chart(np.random.default_rng(0).random((3000, rel.domain.dim)))
        ref = compile_expr(e, "numpy")({n: x[:, k] for k, n in enumerate(rel.inputs)})
        np.testing.assert_allclose(f(*x.T), ref, rtol=1e-9)


def _difference_misses(seed=0) -> tuple[int, int]:
    """Points of random boxes where the log-derivative rules of P - Q (enclosure.Enclosure._difference)
    miss d/du log v or d2/du2 log v of v = exp(2x) - 3 x exp(x) / 2 on x in [1, 2] (u = x - 1); and how
    many boxes the rule served."""
    from surrogate.checking.enclosure import Enclosure

    x = sp.Symbol("x")
    v = sp.exp(2 * x) - sp.Rational(3, 2) * x * sp.exp(x)
    d1, d2 = (sp.lambdify(x, sp.diff(sp.log(v), x, k)) for k in (1, 2))
    enc = Enclosure([("x", "linear", 1.0, 2.0)])
    rng = np.random.default_rng(seed)
    c = rng.random((200, 1))
    w = 10 ** rng.uniform(-4, -0.5, (200, 1))
    lo, hi = np.clip(c - w, 0, 1), np.clip(c + w, 0, 1)
    mid = 0.5 * (lo + hi)
    enc([v], mid, mid)
    top = enc([v], lo, hi, centre=(enc.memo, np.maximum(hi - mid, mid - lo)), hessian=True)[0]
    misses = 0
    for i in range(len(lo)):
        for u in lo[i, 0] + (hi[i, 0] - lo[i, 0]) * np.array([0.0, rng.random(), 1.0]):
            misses += not (top.L.lo[i, 0] <= d1(1 + u) <= top.L.hi[i, 0])
            misses += not (top.LH.lo[i, 0, 0] <= d2(1 + u) <= top.LH.hi[i, 0, 0])
    return misses, int(np.isfinite(top.LH.hi[:, 0, 0]).sum())


def test_the_log_derivatives_of_a_difference_contain_the_exact_ones_and_a_broken_rule_is_caught(monkeypatch):
    from surrogate.checking import enclosure

    misses, served = _difference_misses()
    assert misses == 0 and served >= 150
    real = enclosure.log1m_weights
    monkeypatch.setattr(enclosure, "log1m_weights", lambda s: (real(s)[0], -real(s)[1]))  # phi'' of the wrong sign
    assert _difference_misses()[0] > 0
