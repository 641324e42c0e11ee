"""Removable singularities in the proof (checking/removable.py): soundness tests that can fail.

- Exprel and Tanhc's enclosures (value, first and second derivative over intervals, touching and
  straddling 0) contain 60-digit mpmath values at points inside; halving or dropping a part of
  them is caught (the mutation checks below);
- the rewrite of every shipped relation with a removable 0/0 equals the reference (which takes the
  limit) at dense points, those on the singular set included, and a wrong rewrite is refused;
- over random sub-boxes touching the singular set, the formula's enclosure contains the reference
  and the box's bound is above the error at dense points inside it;
- the straight fin and LMTD (shipped artifacts) are proven, with a bound above a brute-force max
  over 2e5 chart points and points on the singular set.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import surrogate as sg
from surrogate.checking import removable
from surrogate.checking.prove import _Bounder, prove
from surrogate.checking.removable import Exprel, Tanhc, exprel, rewrite, tanhc
from surrogate.checking.score import point_errors
from surrogate.declaration.reference import explicit_reference

mp.mp.dps = 60


def _exprel_ref(x, k):
    x = mp.mpf(x)
    if x == 0:
        return mp.mpf(1) / (k + 1)
    return mp.diff(lambda t: mp.expm1(t) / t, x, k) if abs(x) > mp.mpf("1e-6") else \
        sum(x**n / (mp.factorial(n) * (n + k + 1)) for n in range(40))


def _tanhc_ref(x, k):
    x = mp.mpf(x)
    if abs(x) < mp.mpf("1e-6"):  # the series: 1 - x^2/3 + 2 x^4/15 - 17 x^6/315
        c = [mp.mpf(1), 0, -mp.mpf(1) / 3, 0, mp.mpf(2) / 15, 0, -mp.mpf(17) / 315]
        return sum(c[n] * mp.factorial(n) / mp.factorial(n - k) * x ** (n - k) for n in range(k, 7))
    return mp.diff(lambda t: mp.tanh(t) / t, x, k)


def _intervals(rng, n=400):
    a = rng.uniform(-5, 5, n)
    w = 10.0 ** rng.uniform(-8, 0.5, n)
    lo = np.concatenate([a, -w[:100], -w[100:200] / 3, np.zeros(50)])
    hi = np.concatenate([a + w, np.zeros(100), w[100:200], w[200:250]])
    return lo, hi


def _violations(fn, ref, seed=0, stop=False) -> int:
    """Points of random intervals (many touching or straddling 0) where fn's enclosure of
    f, f' or f'' misses the 60-digit value."""
    rng = np.random.default_rng(seed)
    lo, hi = _intervals(rng)
    encl = fn(removable.Interval(lo, hi))
    bad = 0
    for i in range(len(lo)):
        for x in np.concatenate([[lo[i], hi[i]], rng.uniform(lo[i], hi[i], 6)]):
            for k in range(3):
                v = ref(float(x), k)
                if not (encl[k].lo[i] <= v <= encl[k].hi[i]):
                    bad += 1
                    if stop:  # a mutation: one miss is enough
                        return bad
    return bad


@pytest.mark.parametrize("fn, ref", [(exprel, _exprel_ref), (tanhc, _tanhc_ref)])
def test_enclosures_contain_mpmath(fn, ref):
    assert _violations(fn, ref) == 0


def test_mutations_are_caught(monkeypatch):
    """Halving the integral form's second derivative, or dropping the hull over the interval
    (the value at the lower end only), makes the enclosure test fail."""
    def half(a):
        v, d1, d2 = tanhc(a)
        m = removable.Interval(0.5 * (d2.lo + d2.hi), 0.5 * (d2.lo + d2.hi))
        return v, d1, removable.Interval(m.lo - 0.25 * (d2.hi - d2.lo), m.hi + 0.25 * (d2.hi - d2.lo))

    def half_integral(a):  # the integral form's f'' = range(sech^2'') / 3 halved to / 6
        h = removable.Interval(np.minimum(a.lo, 0.0), np.maximum(a.hi, 0.0))
        S = removable._turning(removable._dtanh, h, [0.0])
        d2 = (S * (removable.Interval.const(4.0, S.lo.shape) - S.scale(6.0))).scale(1.0 / 6.0)
        v, d1, _ = tanhc(a)
        return v, d1, d2

    def lower_end(a):
        out = exprel(removable.Interval(a.lo, a.lo))
        return out

    assert _violations(half, _tanhc_ref, stop=True) > 0
    assert _violations(half_integral, _tanhc_ref, stop=True) > 0
    assert _violations(lower_end, _exprel_ref, stop=True) > 0


NAMES = ["straight_fin_efficiency", "lmtd", "counterflow_effectiveness", "crossflow_unmixed_effectiveness",
         "crossflow_cmax_mixed_effectiveness"]


def _numpy(e, syms):
    import scipy.special as ss

    mods = [{"Exprel": ss.exprel, "Tanhc": lambda z: np.where(z == 0, 1.0, np.tanh(z) / np.where(z == 0, 1, z))},
            "numpy"]
    return sp.lambdify(syms, e, modules=mods)


def _singular_points(name, rng, n):
    """Points on the singular set, in inputs order."""
    if name == "straight_fin_efficiency":
        return np.zeros((n, 1))
    if name == "lmtd":
        t = 10 ** rng.uniform(0, 2, n)
        return np.stack([t, t], 1)
    ntu = 10 ** rng.uniform(np.log10(0.01), np.log10(5), n)
    return np.stack([ntu, np.full(n, 1.0 if name == "counterflow_effectiveness" else 0.0)], 1)


@pytest.mark.parametrize("name", NAMES)
def test_rewrite_equals_reference(name):
    rel = sg.catalogue(name).relation
    o = rel.outputs[0]
    syms = [rel.symbols[k] for k in rel.inputs]
    bounds = {rel.symbols[s.name]: s.range for s in rel.domain.inputs}
    new = rewrite(rel.expression(o), bounds)
    assert new.has(Exprel) or new.has(Tanhc)
    assert not new.has(sp.Piecewise)
    rng = np.random.default_rng(1)
    lo = np.array([s.range[0] for s in rel.domain.inputs])
    hi = np.array([s.range[1] for s in rel.domain.inputs])
    x = lo + (hi - lo) * rng.random((20000, len(lo)))
    ref = explicit_reference(rel, x).values[:, 0]
    got = _numpy(new, syms)(*x.T)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)  # the reference loses digits near the set
    on = _singular_points(name, rng, 200)  # on it: the limit (the float64 reference has a bug there, below)
    got = _numpy(new, syms)(*on.T)
    np.testing.assert_allclose(got, [float(v) for v in _exact(name, rel, on)], rtol=1e-13)


def test_wrong_rewrite_refused():
    x = sp.Symbol("x", positive=True)
    assert removable._equal(x * Exprel(x), sp.exp(x) - 1)
    assert not removable._equal(x * Exprel(x), sp.exp(x) - 2)
    assert not removable._equal(Tanhc(x), sp.tanh(x) / (2 * x))


def _touching(name, rng, n):
    """Random sub-boxes of the unit cube touching the singular set (in the proof's chart)."""
    if name == "straight_fin_efficiency":
        w = 10 ** rng.uniform(-4, -1, (n, 1))
        return np.zeros((n, 1)), w
    w = 10 ** rng.uniform(-4, -1.5, (n, 2))
    if name == "lmtd":  # the diagonal u1 = u2 (both inputs on (1, 100), log charts)
        c = rng.uniform(0.05, 0.95, n)
        lo = np.stack([c - w[:, 0] * rng.random(n), c - w[:, 1] * rng.random(n)], 1)
        return lo, lo + w
    lo = np.stack([rng.uniform(0, 0.9, n), np.zeros(n)], 1)
    if name == "counterflow_effectiveness":
        lo[:, 1] = 1 - w[:, 1]
    return lo, lo + w


def _exact(name, rel, x):
    """The formula at points x in 50-digit mpmath, its limit on the singular set (the extension)."""
    syms = [rel.symbols[k] for k in rel.inputs]
    f = sp.lambdify(syms, rel.expression(rel.outputs[0]), "mpmath")
    out = []
    mp.mp.dps = 50
    for row in x:
        a = [mp.mpf(float(v)) for v in row]
        if name == "straight_fin_efficiency" and a[0] == 0:
            v = mp.mpf(1)
        elif name == "lmtd" and a[0] == a[1]:
            v = a[0]
        elif name == "counterflow_effectiveness" and a[1] == 1:
            v = a[0] / (1 + a[0])
        elif name.startswith("crossflow") and a[1] == 0:
            v = 1 - mp.exp(-a[0])
        else:
            v = f(*a)
        out.append(v)
    return out


def _scale(name, y):
    """The certificate's scale S (metric.magnitude: the sum of the terms' magnitudes) in terms of y:
    |1| + |exp(...)| = 2 - y for the unmixed cross-flow effectiveness, |y| for the others."""
    return 2 - y if name == "crossflow_unmixed_effectiveness" else abs(y)


def _subbox_misses(name, n=24) -> int:
    """Points of random sub-boxes touching the singular set where the formula's enclosure misses
    the exact (mpmath) formula or the box's bound is below the exact error."""
    model = sg.catalogue(name)
    rel = model.relation
    b = _Bounder(model, rel, 0.0)
    rng = np.random.default_rng(2)
    ulo, uhi = _touching(name, rng, n)
    ub = b.bound(ulo, uhi)[0]
    (_, tb, _), _ = b.enclose(ulo, uhi)
    assert np.all(np.isfinite(ub))
    d = ulo.shape[1]
    misses = 0
    for i in range(len(ulo)):
        u = ulo[i] + (uhi[i] - ulo[i]) * rng.random((60, d))
        u = np.concatenate([u, ulo[i][None], uhi[i][None]])
        if name == "lmtd":  # and points on the diagonal inside the box
            a, z = max(ulo[i].max(), 0), min(uhi[i].min(), 1)
            if a < z:
                s = rng.uniform(a, z, 20)
                u = np.concatenate([u, np.stack([s, s], 1)])
        x = b.points(u)
        if name == "lmtd":
            x[-20:, 1] = x[-20:, 0]  # exactly on the diagonal
        y = _exact(name, rel, x)
        yhat = model.evaluate(x)[:, 0]
        for j, v in enumerate(y):
            t = mp.log(abs(v))  # log heads: the target in link space
            err = abs(mp.mpf(float(yhat[j])) - v) / _scale(name, v)
            misses += not (tb[0].v.lo[i] <= t <= tb[0].v.hi[i]) or err > ub[i]
    return misses


@pytest.mark.parametrize("name", NAMES)
def test_subboxes_touching_the_singular_set(name):
    """Against the exact formula (mpmath; the float64 reference loses up to 1e-9 of the
    cross-flow effectiveness to cancellation at Cr = 1e-8, which the enclosure must not follow)."""
    assert _subbox_misses(name) == 0


@pytest.mark.parametrize("factor", [0.0, 0.5])
def test_curvature_mutations_are_caught(monkeypatch, factor):
    """Dropping or halving the second derivative of Exprel and Tanhc (the remainder of the
    second-order form) gives bounds or enclosures that miss on the fin's and LMTD's sub-boxes."""
    import surrogate.checking.enclosure as enc

    def mutate(fn):
        def run(a):
            v, d1, d2 = fn(a)
            return v, d1, d2.scale(factor) if factor else removable.Interval(0 * d2.lo, 0 * d2.hi)
        return run

    monkeypatch.setattr(enc, "exprel", mutate(exprel))
    monkeypatch.setattr(enc, "tanhc", mutate(tanhc))
    assert _subbox_misses("straight_fin_efficiency") > 0
    assert _subbox_misses("lmtd") > 0


@pytest.mark.parametrize("name, boxes", [("straight_fin_efficiency", 20_000), ("lmtd", 200_000)])
def test_proven_above_brute_force(name, boxes):
    model = sg.catalogue(name)
    proof = prove(model, within=2.0, time_limit=120, max_boxes=boxes)
    assert proof.status == "proven", proof.limit
    rel = model.relation
    rng = np.random.default_rng(3)
    lo = np.array([s.range[0] for s in rel.domain.inputs])
    hi = np.array([s.range[1] for s in rel.domain.inputs])
    u = rng.random((200_000, len(lo)))
    scale = np.array([s.scale for s in rel.domain.inputs])
    x = lo + (hi - lo) * u
    for k in np.where(scale == "log")[0]:
        x[:, k] = lo[k] * (hi[k] / lo[k]) ** u[:, k]
    err, ok = point_errors(model, x, atol=proof.atol)
    assert ok.all()
    assert err.max() <= proof.bound
    on = _singular_points(name, rng, 300)  # on the singular set: the exact limit
    y = np.array([float(v) for v in _exact(name, rel, on)])
    assert np.max(np.abs(model.evaluate(on)[:, 0] - y) / _scale(name, y)) <= proof.bound
    assert proof.lower <= proof.bound
