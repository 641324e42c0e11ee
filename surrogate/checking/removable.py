"""Removable singularities of a formula, rewritten away before it is enclosed (prove.py).

A quotient whose numerator and denominator vanish together (LMTD's (dT1 - dT2)/log(dT1/dT2) on
dT1 = dT2, tanh(mL)/mL at mL = 0, (1 - exp(-Cr a))/Cr at Cr = 0, the counterflow effectiveness at
Cr = 1) has an interval enclosure that is the whole line on every box touching the singular set.
`rewrite` replaces such quotients by an equal expression without 0/0, written with two entire
functions of one variable:

- `Exprel(w) = (exp(w) - 1)/w` (1 at w = 0): every exp(w) of the quotient is written
  1 + w X with X = Exprel(w), a log(A/B) in the denominator with A a symbol is written w with
  A = B exp(w), and the rational function in X is cancelled (so (dT1 - dT2)/log(dT1/dT2) becomes
  dT2 Exprel(log dT1 - log dT2));
- `Tanhc(w) = tanh(w)/w` (1 at w = 0): tanh(w) * w**-1.

Every rewrite is accepted only where SymPy proves it equal to the original (`simplify` of the
difference, the functions written back as their quotients, is 0); else the original is kept (and
stays unbounded where it was). A Piecewise whose last piece holds only on a face of the domain
(Cr < 1 on 0 <= Cr <= 1) is replaced by its first piece where that piece, rewritten, is equal to the
last on the face: the continuous extension, which is what the reference takes there.

Their enclosures (`exprel`, `tanhc`: value, first and second derivative over intervals) are
rigorous up to the stated margin of interval.py: Exprel and all its derivatives are positive and
increasing (phi^(k)(x) = int_0^1 s^k e^(xs) ds), so their range over [a, b] is the values at the
ends, evaluated by a series (|x| <= 1) or the closed form, padded; Tanhc^(k)(X) lies in
range(sech^2^(k), hull(0, X)) / (k + 1) (the integral form tanh(x)/x = int_0^1 sech^2(xs) ds),
intersected away from 0 with the quotient rule.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .interval import Interval, _d2tanh, _dtanh, _monotone, _turning, widen
from .special import OneAtZero

__all__ = ["Exprel", "Tanhc", "exprel", "rewrite", "tanhc"]


class _RemovableQuotient(OneAtZero):
    """A quotient g(w)/w with its removable value 1 at w = 0, positive for real w."""


class Exprel(_RemovableQuotient):
    """(exp(w) - 1)/w, 1 at w = 0."""

    def _eval_rewrite_as_exp(self, w, **kwargs):
        return (sp.exp(w) - 1) / w


class Tanhc(_RemovableQuotient):
    """tanh(w)/w, 1 at w = 0."""

    def _eval_rewrite_as_tanh(self, w, **kwargs):
        return sp.tanh(w) / w


def expand(e: sp.Expr) -> sp.Expr:
    """e with Exprel and Tanhc written as their quotients."""
    return e.replace(lambda n: isinstance(n, Exprel), lambda n: (sp.exp(n.args[0]) - 1) / n.args[0]).replace(
        lambda n: isinstance(n, Tanhc), lambda n: sp.tanh(n.args[0]) / n.args[0])


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether SymPy proves a == b (a with its Exprel and Tanhc written as quotients)."""
    try:
        # Floats as the rationals they print as (0.22 -> 11/50): NTU**0.22 * NTU**0.78 is NTU**1.0
        d = sp.simplify(sp.powsimp(sp.nsimplify(expand(a) - b, rational=True), force=True))
        return d == 0
    except Exception:  # noqa: BLE001 -- a rewrite SymPy cannot check is not made
        return False


def _singular_denominator(e: sp.Mul) -> list[sp.Expr]:
    return [f.base for f in e.args if isinstance(f, sp.Pow) and f.exp.is_number and f.exp < 0 and f.base.free_symbols]


def _try_quotient(e: sp.Mul) -> sp.Expr:
    """e (a product with a denominator) with its exps and log denominators written in Exprel and
    cancelled, where SymPy proves the result equal to e; else e."""
    # tanh(w) * w**-1
    facs = list(e.args)
    for f in facs:
        if isinstance(f, sp.tanh) and sp.Pow(f.args[0], -1) in facs:
            rest = [g for g in facs if g is not f and g != sp.Pow(f.args[0], -1)]
            cand = sp.Mul(*rest) * Tanhc(f.args[0])
            if _equal(cand, e):
                return cand
    # the factors with a negative integer power are the denominator (no `together`, which would
    # move exp(-w) below the line)
    nf, df = [], []
    for f in e.args:
        if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0:
            df.append(f.base ** -f.exp)
        else:
            nf.append(f)
    num, den = sp.Mul(*nf), sp.Mul(*df)
    back = {}
    # a log(A/B) denominator, A a symbol: A = B exp(w), w = log A - log B
    for lg in den.atoms(sp.log):
        q = sp.together(lg.args[0])
        A, B = sp.fraction(q)
        if A.is_Symbol and A in num.free_symbols:
            w = sp.log(A) - sp.log(B)
            X, W = sp.Dummy("X"), sp.Dummy("W")
            num = num.subs(A, B * (1 + W * X))
            den = den.subs(lg, W)
            back[X], back[W] = Exprel(w), w
    exps = sorted(num.atoms(sp.exp) | den.atoms(sp.exp), key=sp.default_sort_key)
    # each exp alone first (an inner exp(-NTU) need not be touched), then all of them
    for chosen in [[x] for x in exps] + [exps] if exps else [[]]:
        cand = _substituted(e, num, den, chosen, dict(back))
        if cand is not None:
            return cand
    return e


def _substituted(e, num, den, chosen, back):
    """num/den with exp(w) = 1 + w Exprel(w) for the chosen exps, cancelled: where the result's
    numerator and denominator had a common factor (cancelled) and SymPy proves it equal to e; else None."""
    subs = {}
    for ex in chosen:
        X = sp.Dummy("X")
        subs[ex] = 1 + ex.args[0] * X
        back[X] = Exprel(ex.args[0])
    if not back:
        return None
    try:
        ns, ds = num.xreplace(subs), den.xreplace(subs)
        if not sp.gcd(ns, ds).free_symbols:  # no common factor: the 0/0 is not removed by these
            return None
        cand = sp.cancel(ns / ds).xreplace(back)
    except Exception:  # noqa: BLE001
        return None
    if sp.count_ops(cand) > 4 * sp.count_ops(e) + 20 or not _equal(cand, e):
        return None
    return cand


def _abs_quotient(e: sp.Mul) -> sp.Expr:
    """Abs(a) * Abs(b)**-1 -> Abs(a / b) (real a, b), so that the quotient can be rewritten inside."""
    absn = [f for f in e.args if isinstance(f, sp.Abs)]
    absd = [f for f in e.args if isinstance(f, sp.Pow) and isinstance(f.base, sp.Abs) and f.exp == -1]
    if len(absn) == 1 and len(absd) == 1:
        rest = [f for f in e.args if f is not absn[0] and f is not absd[0]]
        return sp.Mul(*rest) * sp.Abs(absn[0].args[0] / absd[0].base.args[0])
    return e


def rewrite(e: sp.Expr, bounds: dict | None = None) -> sp.Expr:
    """e with its removable 0/0 quotients rewritten (bottom up); `bounds` maps symbols to their
    (lo, hi) for collapsing a Piecewise whose last piece holds only on a face."""
    if not e.args or isinstance(e, (Exprel, Tanhc)):
        return e
    new = e.func(*[rewrite(a, bounds) for a in e.args]) if not isinstance(e, sp.Piecewise) else \
        sp.Piecewise(*[(rewrite(v, bounds), c) for v, c in e.args])
    if isinstance(new, sp.Mul):
        new = _abs_quotient(new)
        if isinstance(new, sp.Abs):
            return sp.Abs(rewrite(new.args[0], bounds))
        if isinstance(new, sp.Mul) and _singular_denominator(new):
            new = _try_quotient(new)
    if isinstance(new, sp.Piecewise) and bounds:
        new = _collapse(new, bounds)
    return new


def _collapse(p: sp.Piecewise, bounds: dict) -> sp.Expr:
    """Piecewise((f, x < c), (g, True)) with c the top of x's range (or x > c, c its bottom) -> f,
    where f has no 0/0 left (no denominator vanishing at x = c: checked by substitution) and
    f = g at x = c, proven by SymPy."""
    if len(p.args) != 2 or p.args[1][1] is not sp.true:
        return p
    (f, cond), (g, _) = p.args
    if not isinstance(cond, (sp.StrictLessThan, sp.StrictGreaterThan)) or not cond.lhs.is_Symbol:
        return p
    x, c = cond.lhs, cond.rhs
    if x not in bounds or not c.is_number:
        return p
    lo, hi = bounds[x]
    face = hi if isinstance(cond, sp.StrictLessThan) else lo
    if float(c) != float(face):
        return p
    at = f.subs(x, c)
    if at.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or _singular_quotient_at(f, x, c):
        return p
    try:
        if sp.simplify(expand(at) - g.subs(x, c)) != 0:
            return p
    except Exception:  # noqa: BLE001
        return p
    return f


def _singular_quotient_at(f: sp.Expr, x: sp.Symbol, c) -> bool:
    """Whether some denominator of f (outside Exprel and Tanhc, which are entire) can vanish at x = c."""
    for node in sp.preorder_traversal(f):
        if isinstance(node, sp.Pow) and node.exp.is_number and node.exp < 0:
            b = node.base.subs(x, c)
            if b.is_zero is not False:
                return True
    return False


# -- enclosures ----------------------------------------------------------------------------------
_PAD = 2.0**-40  # relative: the closed forms lose at most a few digits to cancellation on |x| >= 1


def _series(x: np.ndarray, k: int) -> np.ndarray:
    """phi^(k)(x) = sum_n x^n / (n! (n + k + 1)), |x| <= 1: 24 terms leave < 1e-24."""
    out = np.zeros_like(x)
    term = np.ones_like(x)  # x^n / n!
    for n in range(24):
        out += term / (n + k + 1)
        term = term * x / (n + 1)
    return out


def _closed(x: np.ndarray, k: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        e, m = np.exp(x), np.expm1(x)
        if k == 0:
            return m / x
        if k == 1:
            return (x * e - m) / (x * x)
        return (e * (x * x - 2 * x + 2) - 2) / (x * x * x)


def _phi_point(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    small = np.abs(x) <= 1.0
    v = np.where(small, _series(np.where(small, x, 0.0), k), _closed(np.where(small, 1.0, x), k))
    pad = _PAD * np.abs(v) + 1e-300
    return v - pad, v + pad


def exprel(a: Interval) -> tuple[Interval, Interval, Interval]:
    """Exprel and its first two derivatives over a: each positive and increasing."""
    out = []
    for k in range(3):
        lo, _ = _phi_point(a.lo, k)
        _, hi = _phi_point(a.hi, k)
        lo = np.where(np.isfinite(a.lo), np.maximum(lo, 0.0), 0.0)
        hi = np.where(np.isfinite(a.hi), hi, np.inf)
        out.append(Interval(*widen(lo, hi)))
    return tuple(out)


def tanhc(a: Interval) -> tuple[Interval, Interval, Interval]:
    """Tanhc and its first two derivatives over a: the integral form over hull(0, a), intersected
    with the quotient rule where 0 is not in a."""
    h = Interval(np.minimum(a.lo, 0.0), np.maximum(a.hi, 0.0))
    S = _turning(_dtanh, h, [0.0])  # sech^2 over the hull
    d1 = _turning(_d2tanh, h, [-0.6584789484624085, 0.6584789484624085])
    d2 = S * (Interval.const(4.0, S.lo.shape) - S.scale(6.0))
    integral = [S, d1.scale(0.5), d2.scale(1.0 / 3.0)]
    # value: even, decreasing in |x|: exact from the ends
    m_lo = np.where((a.lo <= 0) & (a.hi >= 0), 0.0, np.minimum(np.abs(a.lo), np.abs(a.hi)))
    m_hi = np.maximum(np.abs(a.lo), np.abs(a.hi))
    with np.errstate(all="ignore"):
        f = lambda z: np.where(z == 0, 1.0, np.tanh(z) / np.where(z == 0, 1.0, z))  # noqa: E731
        v = Interval(*widen(f(m_hi), f(m_lo)))
        v = Interval(np.where(np.isfinite(m_hi), v.lo, 0.0), np.minimum(v.hi, 1.0))
        away = (a.lo > 0) | (a.hi < 0)
        x = Interval(np.where(away, a.lo, 1.0), np.where(away, a.hi, 1.0))
        t, s = _monotone(np.tanh, x), _turning(_dtanh, x, [0.0])
        inv = x.recip()
        q1 = (s - t * inv) * inv  # (sech^2 - tanh/x) / x
        q2 = (_turning(_d2tanh, x, [-0.6584789484624085, 0.6584789484624085]) - q1.scale(2.0)) * inv
    outs = [v]
    for q, i in ((q1, integral[1]), (q2, integral[2])):
        lo = np.where(away, np.maximum(q.lo, i.lo), i.lo)
        hi = np.where(away, np.minimum(q.hi, i.hi), i.hi)
        outs.append(Interval(lo, hi))
    outs[0] = Interval(np.maximum(outs[0].lo, integral[0].lo), np.minimum(outs[0].hi, integral[0].hi))
    return tuple(outs)

