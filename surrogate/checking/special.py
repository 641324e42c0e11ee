"""Interval enclosures of the special functions of the catalogue's formulas, and the scaled
complementary error function the proof rewrites exp(A) erfc(B) into (prove.py, issue 20).

Each enclosure takes an Interval of the argument and returns (value, first derivative, second
derivative) as Intervals, which `Enclosure.chain` turns into the second-order forms of the box.

**Bessel I0, I1, K0, K1** (the annular fin).  On x > 0 every I_n (n >= 0) is a power series in x
with positive coefficients, so I_n and all its derivatives are positive and increasing; K_n is
completely monotone (K_n(x) = int_0^inf exp(-x cosh t) cosh(n t) dt), so its derivatives alternate
in sign and each is monotone.  The derivatives are DLMF 10.29.5,

    I_n^(k) = 2^-k sum_j C(k, j) I_(n-k+2j),   K_n^(k) = (-2)^-k sum_j C(k, j) K_(n-k+2j)

(I_-m = I_m, K_-m = K_m): sums of positive terms (I0'' = (I0 + I2)/2, K1'' = (3 K1 + K3)/4, ...),
with K2 ... K6 by the forward recurrence K_(m+1) = K_(m-1) + (2m/x) K_m and I2 ... I6 by the backward
one I_(m-1) = I_(m+1) + (2m/x) I_m from two `iv` values: positive terms again, no cancellation.  So
f, f' and f'' over [lo, hi] are their values at the ends (`bessel`); `bessel_log` encloses (log f)'
and (log f)'' (what the log-derivative rules of enclosure.py use), whose plain quotients would be
e^(width) wide, by Taylor forms up to f^(5).  Where the interval reaches x <= 0 the enclosures are
the whole line (the catalogue's arguments are positive).

**erfcx(x) = exp(x^2) erfc(x) = (2/sqrt(pi)) int_0^inf exp(-t^2 - 2 x t) dt** for every real x:
its k-th derivative is (2/sqrt(pi)) int (-2t)^k exp(-t^2 - 2xt) dt, so erfcx is positive and
decreasing, erfcx' = 2x erfcx - 2/sqrt(pi) negative and increasing, erfcx'' = (2 + 4x^2) erfcx -
4x/sqrt(pi) positive and decreasing, on the whole line: again values at the ends.  The two
derivative formulas cancel for large x (erfcx' ~ -1/(sqrt(pi) x^2)); their ends are padded by the
margin times the magnitude of the terms, not of the result.

**Floating point.**  The values at the ends come from scipy.special (Cephes' i0, i1, k0, k1,
whose documented peak relative errors are below 2e-15 on [0, 30]; scipy's iv at the two highest
orders; the Faddeeva package's erfcx, documented to about 13 significant digits in the worst case of
its complex w(z), its real erfcx better) and the recurrences above.  `MARGIN` = 2^-40 (9.1e-13 relative) is added to each
end, outward: hundreds of times the documented errors, and far below the errors a proof resolves
(1e-9 and up).  tests/test_prove_special.py compares every enclosure with 30-digit mpmath
values at points of random intervals, and checks that the largest relative discrepancy of the
float64 values (every order used, 0 to 6) is below MARGIN / 16.

**The rewrites** (`scaled_erfc`, and `factored` for a rational sum of both signs): in a product,
a factor exp(A) times erfc(B) (or |erfc(B)|, the scales' form) becomes exp(A - B^2) erfcx(B) where
A - B^2, expanded, has no more operations than A: the semi-infinite solid's exp(2 beta eta + beta^2)
erfc(eta + beta), a huge exponential times a tiny erfc enclosed factor by factor, becomes
exp(-eta^2) erfcx(eta + beta).  It is an identity (erfc(B) = exp(-B^2) erfcx(B)), and the expansion
of A - B^2 is checked to be equal to it by SymPy before the rewrite is kept.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc
import sympy as sp

from .interval import Interval, widen

__all__ = ["BESSEL", "MARGIN", "Erfcx", "bessel", "bessel_log", "erfcx", "factored", "scaled_erfc"]

#: relative margin added outward to the float64 values of the special functions (module docstring)
MARGIN = 2.0**-40

_SQPI = 2.0 / math.sqrt(math.pi)


# -- the ends of the six monotone functions, and their float64 error -------------------------
def _i(n: int, x: np.ndarray, upto: bool = False):
    """I_n: I0 and I1 from Cephes, the higher orders from scipy's iv at the top two and the backward
    recurrence I_(m-1) = I_(m+1) + (2m/x) I_m below (sums of positive terms, stable); with `upto`, the
    list I_0 ... I_n."""
    low = [sc.i0(x), sc.i1(x)]
    if n <= 1:
        return low[: n + 1] if upto else low[n]
    hi = {n: sc.iv(n, x), n - 1: sc.iv(n - 1, x)}
    for m in range(n - 1, 2, -1):
        hi[m - 1] = hi[m + 1] + (2.0 * m / x) * hi[m]
    out = low + [hi[m] for m in range(2, n + 1)]
    return out if upto else out[n]


def _k(n: int, x: np.ndarray, upto: bool = False):
    """K_n from K0 and K1 by K_{m+1} = K_{m-1} + (2m/x) K_m: sums of positive terms (with `upto`, the
    list K_0 ... K_n)."""
    k = [sc.k0(x), sc.k1(x)]
    for m in range(1, n):
        k.append(k[m - 1] + (2.0 * m / x) * k[m])
    return k[: n + 1] if upto else k[n]


#: derivatives of f the enclosures use: f, f', ..., f^(5)
DERIVATIVES = 6


def _bessel_parts(kind: str, order: int, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """(f, f', ..., f^(4)) of I_order or K_order at x > 0 by DLMF 10.29.5: I_n^(k) = 2^-k sum_j C(k, j)
    I_(n-k+2j), K_n^(k) = (-2)^-k sum_j C(k, j) K_(n-k+2j), with I_-m = I_m and K_-m = K_m: sums of
    positive terms, each good to a few ulps."""
    top = order + DERIVATIVES - 1
    f = (_i if kind == "I" else _k)(top, x, upto=True)
    out = []
    for k in range(DERIVATIVES):
        acc = 0.0
        for j in range(k + 1):
            acc = acc + math.comb(k, j) * f[abs(order - k + 2 * j)]
        out.append(acc * (0.5**k if kind == "I" else (-0.5) ** k))
    return tuple(out)


def _ends(f_lo: np.ndarray, f_hi: np.ndarray, increasing: bool, pad_lo=None, pad_hi=None) -> Interval:
    """The range of a monotone function from its values at the interval's ends, each moved outward
    by MARGIN of its magnitude (or by the given pads, the magnitude of the terms it was computed from)."""
    lo, hi = (f_lo, f_hi) if increasing else (f_hi, f_lo)
    plo, phi = (pad_lo, pad_hi) if increasing else (pad_hi, pad_lo)
    plo = MARGIN * np.abs(lo) if plo is None else plo
    phi = MARGIN * np.abs(hi) if phi is None else phi
    with np.errstate(invalid="ignore"):
        return Interval(*widen(lo - plo, hi + phi))


#: I: every part increasing (positive, increasing derivatives); K: completely monotone, its parts alternate
_RISING = {"I": (True,) * DERIVATIVES, "K": (False, True) * (DERIVATIVES // 2) + (False,) * (DERIVATIVES % 2)}


def _safe(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x with the points outside (0, inf) replaced by 1; (x, x <= 0 or NaN, x = inf)."""
    bad, top = ~(x > 0), np.isinf(x)
    return np.where(bad | top, 1.0, x), bad, top


def _range_from(kind: str, at_lo, at_hi, bad: np.ndarray, top: np.ndarray, parts: int) -> tuple[Interval, ...]:
    """The ranges of the first `parts` of (f, f', f'', f^(3)) from their values at the ends (each
    monotone); `top` where the upper end is infinite, the whole line where `bad`."""
    out = []
    for f_lo, f_hi, up in list(zip(at_lo, at_hi, _RISING[kind]))[:parts]:
        v = _ends(f_lo, f_hi, up)
        if kind == "I":  # I_n and its derivatives grow without bound
            v = Interval(v.lo, np.where(top, np.inf, v.hi))
        else:  # K_n and its derivatives tend to 0
            v = Interval(np.where(top & ~up, np.minimum(v.lo, 0.0), v.lo), np.where(top & up, 0.0, v.hi))
        out.append(Interval(np.where(bad, -np.inf, v.lo), np.where(bad, np.inf, v.hi)))
    return tuple(out)


def _ranges(kind: str, order: int, a: Interval, parts: int = 3) -> tuple[Interval, ...]:
    """(f, f', ...) of I_order or K_order over a, the first `parts`: values at the ends; the whole
    line where a reaches x <= 0."""
    xl, bad, _ = _safe(a.lo)
    xh, _, top = _safe(a.hi)
    with np.errstate(all="ignore"):
        return _range_from(kind, _bessel_parts(kind, order, xl), _bessel_parts(kind, order, xh), bad, top, parts)


def bessel(kind: str, order: int, a: Interval) -> tuple[Interval, Interval, Interval]:
    """I_order or K_order (order 0 or 1), its first and second derivatives over a: values at the ends
    (each monotone on x > 0); the whole line where a reaches x <= 0."""
    return _ranges(kind, order, a)


#: pieces of the argument's interval over which psi'' is enclosed (bessel_log)
SPLIT = 8


def bessel_log(kind: str, order: int, a: Interval) -> tuple[Interval, Interval]:
    """psi = f'/f and psi' (the first two derivatives of log f) over a, f = I_order or K_order (positive
    on x > 0).  The plain quotients of the ranges of f and its derivatives are as wide as e^(width of a)
    makes them (f grows or decays like e^(+-x)), so psi and psi' are taken from their Taylor forms at
    the centre c, with the remainder over a:

        psi'(x) in psi'(c) + psi''(c) (x - c) + psi^(3)(a) (x - c)^2 / 2,
        psi(x)  in psi(c) + psi'(c) (x - c) + psi''(a) (x - c)^2 / 2,

    psi'' and psi^(3) over a enclosed as the hull of their plain quotients over SPLIT pieces of a (each
    that much narrower), psi'' also by psi''(c) + psi^(3)(a) (x - c).  Every form is intersected with the
    others.  The whole line where a reaches x <= 0 or infinity."""
    c = 0.5 * (a.lo + a.hi)
    n = 1 if np.array_equal(a.lo, a.hi) else SPLIT  # the centres' pass: intervals of one point
    t = np.linspace(0.0, 1.0, n + 1)
    grid = a.lo[..., None] + (a.hi - a.lo)[..., None] * t
    grid[..., 0], grid[..., -1] = a.lo, a.hi  # the pieces cover a exactly
    with np.errstate(all="ignore"):
        x, bad, top = _safe(grid)
        P = _bessel_parts(kind, order, x)  # each part at the grid's points, once
        xc, badc, topc = _safe(c)
        at_c = _bessel_parts(kind, order, xc)
        C = _range_from(kind, at_c, at_c, badc, topc, 4)
        whole = _range_from(kind, [q[..., 0] for q in P], [q[..., -1] for q in P], bad[..., 0], top[..., -1], 5)
        badp, topp = bad[..., :-1] | bad[..., 1:] | top[..., :-1], top[..., 1:]
        pieces = _range_from(kind, [q[..., :-1] for q in P], [q[..., 1:] for q in P], badp, topp, DERIVATIVES)
        psi_n, dpsi_n, d2_n, _ = _log_parts(whole)
        _, _, d2p, d3p = _log_parts(None, _piece_ratios(P, grid, pieces, badp | topp))
        d2psi = _meet(Interval(d2p.lo.min(-1), d2p.hi.max(-1)), d2_n)
        d3psi = Interval(d3p.lo.min(-1), d3p.hi.max(-1))
        psi_c, dpsi_c, d2psi_c, _ = _log_parts(C)
        dx = Interval(*widen(a.lo - c, a.hi - c))
        half_dx2 = _sq(dx).scale(0.5)
        d2psi = _meet(d2psi, d2psi_c + d3psi * dx)
        dpsi = _meet(_meet(dpsi_c + d2psi_c * dx + d3psi * half_dx2, dpsi_c + d2psi * dx), dpsi_n)
        psi = _meet(_meet(psi_c + dpsi_c * dx + d2psi * half_dx2, psi_c + dpsi * dx), psi_n)
    bad = ~(a.lo > 0) | ~np.isfinite(a.hi)
    return tuple(Interval(np.where(bad | np.isnan(q.lo), -np.inf, q.lo), np.where(bad | np.isnan(q.hi), np.inf, q.hi))
                 for q in (psi, dpsi))


def _log_parts(F: tuple[Interval, ...], mu: list[Interval] | None = None) -> tuple[Interval | None, ...]:
    """psi, psi', psi'' and psi^(3) of log f (psi^(3) None without f^(4)): the cumulants of the ratios
    m_k = f^(k)/f (given as `mu`, or the quotients of the ranges F), psi = m_1, psi' = m_2 - m_1^2,
    psi'' = m_3 - 3 m_1 m_2 + 2 m_1^3, psi^(3) = m_4 - 4 m_1 m_3 - 3 m_2^2 + 12 m_1^2 m_2 - 6 m_1^4."""
    if mu is None:
        rF = F[0].recip()
        mu = [F[k] * rF for k in range(1, min(len(F), 5))]
    m1, m2, m3 = mu[:3]
    s1 = _sq(m1)
    d3 = None
    if len(mu) > 3:
        d3 = mu[3] - (m1 * m3).scale(4.0) - _sq(m2).scale(3.0) + (s1 * m2).scale(12.0) - _sq(s1).scale(6.0)
    return m1, m2 - s1, m3 - (m1 * m2).scale(3.0) + (s1 * m1).scale(2.0), d3


def _piece_ratios(P, grid: np.ndarray, pieces: tuple[Interval, ...], bad: np.ndarray) -> list[Interval]:
    """m_k = f^(k)/f (k = 1..4) over each piece [x_j, x_(j+1)] of the grid, by the mean-value form from
    the piece's left end: m_k(x_j) + m_k'(piece) [0, h_j], m_k' = m_(k+1) - m_k m_1 enclosed by the
    plain quotients of the piece's ranges (needs f^(5)); intersected with the plain quotients."""
    rF = pieces[0].recip()
    plain = [pieces[k] * rF for k in range(1, 6)]
    f0 = Interval(*widen(P[0][..., :-1] * (1 - MARGIN), P[0][..., :-1] * (1 + MARGIN)))
    r0 = Interval(np.minimum(f0.lo, f0.hi), np.maximum(f0.lo, f0.hi)).recip()
    step = grid[..., 1:] - grid[..., :-1]
    h = Interval(np.zeros_like(step), step * (1 + 4 * 2.0**-53) + 1e-300)  # x - x_j over the piece
    out = []
    for k in range(1, 5):
        fk = P[k][..., :-1]
        pad = MARGIN * np.abs(fk)
        at = Interval(*widen(fk - pad, fk + pad)) * r0  # m_k at the left end
        slope = plain[k] - plain[k - 1] * plain[0]
        out.append(_meet(at + slope * h, plain[k - 1]))
    return [Interval(np.where(bad | np.isnan(q.lo), -np.inf, q.lo), np.where(bad | np.isnan(q.hi), np.inf, q.hi))
            for q in out]


def _sq(a: Interval) -> Interval:
    """a^2, never negative."""
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.where((a.lo <= 0) & (a.hi >= 0), 0.0, np.minimum(a.lo * a.lo, a.hi * a.hi))
        return Interval(*widen(lo, np.maximum(a.lo * a.lo, a.hi * a.hi)))


def _meet(a: Interval, b: Interval) -> Interval:
    return Interval(np.maximum(a.lo, b.lo), np.minimum(a.hi, b.hi))


#: SymPy class -> its kind ("I" or "K") and the orders with interval rules: the proof's Bessel functions
BESSEL = {sp.besseli: ("I", (0, 1)), sp.besselk: ("K", (0, 1))}


# -- erfcx ----------------------------------------------------------------------------------------
class OneAtZero(sp.Function):
    """A function of one real argument that is 1 at 0 and positive and real for real arguments: the
    proof's own nodes (Erfcx here, removable.py's Exprel and Tanhc) tell SymPy so."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.One
        return None

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None

    def _eval_is_extended_real(self):
        return True if self.args[0].is_extended_real else None


class Erfcx(OneAtZero):
    """The scaled complementary error function exp(x^2) erfc(x), positive for real x."""

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.exp(x**2) * sp.erfc(x)


def _erfcx_parts(x: np.ndarray):
    """(f, f', f'') of erfcx at x and the magnitude of the terms each was computed from."""
    f = sc.erfcx(x)
    t1 = 2.0 * x * f
    d1 = t1 - _SQPI
    t2 = (2.0 + 4.0 * x * x) * f
    d2 = t2 - 2.0 * _SQPI * x
    return (f, np.abs(f)), (d1, np.abs(t1) + _SQPI), (d2, np.abs(t2) + 2.0 * _SQPI * np.abs(x))


#: erfcx decreasing, erfcx' increasing, erfcx'' decreasing (the module docstring)
_ERFCX_RISING = (False, True, False)


def erfcx(a: Interval) -> tuple[Interval, Interval, Interval]:
    """erfcx, erfcx' and erfcx'' over a: decreasing, increasing, decreasing on the whole line."""
    fin_lo, fin_hi = np.isfinite(a.lo), np.isfinite(a.hi)
    xl, xh = np.where(fin_lo, a.lo, 0.0), np.where(fin_hi, a.hi, 0.0)
    with np.errstate(all="ignore"):
        at_lo, at_hi = _erfcx_parts(xl), _erfcx_parts(xh)
    out = []
    # limits: erfcx(-inf) = inf, erfcx(inf) = 0; erfcx'(-inf) = -inf, erfcx'(inf) = 0; erfcx''(-inf) = inf, (inf) = 0
    for (fl, ml), (fh, mh), up in zip(at_lo, at_hi, _ERFCX_RISING):
        # a value from terms of magnitude m is good to a few ulps of m: MARGIN of m, outward
        v = _ends(fl, fh, up, MARGIN * ml, MARGIN * mh)
        lo = np.where(~fin_hi, np.minimum(v.lo, 0.0), v.lo) if not up else np.where(~fin_lo, -np.inf, v.lo)
        hi = np.where(~fin_lo, np.inf, v.hi) if not up else np.where(~fin_hi, np.maximum(v.hi, 0.0), v.hi)
        if not up:
            lo = np.maximum(lo, 0.0)  # erfcx and erfcx'' are positive
        else:
            hi = np.minimum(hi, 0.0)  # erfcx' is negative
        out.append(Interval(lo, hi))
    return tuple(out)


def _erfc_of(f: sp.Expr) -> sp.Expr | None:
    """B where f is erfc(B) or |erfc(B)| (B real: erfc is positive), else None."""
    if isinstance(f, sp.Abs) and isinstance(f.args[0], sp.erfc):
        f = f.args[0]
    return f.args[0] if isinstance(f, sp.erfc) and f.args[0].is_extended_real else None


def factored(e: sp.Expr) -> sp.Expr:
    """e with every sum that is a rational function with exact (not Float) coefficients and terms of
    both signs replaced by its factored form where that is a product (the annular fin's
    (m r_2c)^2 - (m r_1)^2, written in mL_c and r_2c/r_1, is mL_c^2 (r + 1)/(r - 1): no cancellation
    left), bottom up; kept only where SymPy's `cancel` proves the two equal."""
    if not e.args or isinstance(e, Erfcx):
        return e
    new = e.func(*[factored(a) for a in e.args]) if not isinstance(e, sp.Piecewise) else \
        sp.Piecewise(*[(factored(v), c) for v, c in e.args])
    if not isinstance(new, sp.Add) or new.has(sp.Float) or not new.is_rational_function(*new.free_symbols):
        return new
    signs = {t.could_extract_minus_sign() for t in new.args}
    if len(signs) < 2:
        return new
    try:
        f = sp.factor(new)
        # a product of at least two non-constant factors (1 - x as -(x - 1) gains nothing)
        if isinstance(f, sp.Mul) and sum(not g.is_number for g in f.args) >= 2 and sp.cancel(f - new) == 0:
            return f
    except Exception:  # noqa: BLE001 -- a sum SymPy cannot factor is kept as it is
        pass
    return new


def scaled_erfc(e: sp.Expr) -> sp.Expr:
    """e with every product exp(A) erfc(B) written exp(A - B^2) erfcx(B), bottom up, where the
    expanded A - B^2 is no longer than A (it removes the cancellation of a huge exponential
    against a tiny erfc); the identity is checked by SymPy before the rewrite is kept."""
    if not e.args or isinstance(e, Erfcx):
        return e
    new = e.func(*[scaled_erfc(a) for a in e.args]) if not isinstance(e, sp.Piecewise) else \
        sp.Piecewise(*[(scaled_erfc(v), c) for v, c in e.args])
    if not isinstance(new, sp.Mul):
        return new
    facs = list(new.args)
    for i, f in enumerate(facs):
        B = _erfc_of(f)
        if B is None:
            continue
        for j, g in enumerate(facs):
            if j == i or not isinstance(g, sp.exp):
                continue
            A = g.args[0]
            C = sp.expand(A - B**2)
            if sp.count_ops(C) > sp.count_ops(A) or sp.expand(C - A + B**2) != 0:
                continue
            rest = [h for k, h in enumerate(facs) if k not in (i, j)]
            return scaled_erfc(sp.Mul(*rest) * sp.exp(C) * Erfcx(B))
    return new
