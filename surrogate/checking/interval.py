"""Interval enclosures, vectorised over boxes, for the proven certificate (prove.py).

Everything here works on NumPy float64 arrays whose first axis runs over boxes.  An
`Interval` is a pair of arrays (lo, hi); a `Dual` is an interval value together with
interval enclosures of its partial derivatives with respect to the box coordinates
(forward-mode differentiation, [B, d] per derivative), so that a function is enclosed
over a box both by its natural interval extension and by the mean-value form.

Rounding.  Every operation widens its result outward by `REL` of its magnitude plus
`ABS` (`widen`): a relative margin of 2**-50 (8 units in the last place), which covers
the correctly rounded +, -, *, / of IEEE float64 (half an ulp) and NumPy's exp, log,
sqrt, tanh and pow, whose errors are within a few ulps.  Matrix products (`affine`)
carry the classical bound gamma_n |W| |x| of a float64 dot product of length n.  This
is the stated safety margin of docs/prove.md, not directed rounding.

Expressions.  `Enclosure` walks a SymPy expression tree once per call, sharing common
sub-expressions, over boxes in the unit cube of the relation's chart (u coordinates):
an input x_k is lo + (hi - lo) u_k or exp(log lo + log(hi/lo) u_k).  Monomials of
log-charted inputs (0.023 Re**0.8 Pr**0.4, 6.9/Re) are exp of a linear function of u and
are enclosed exactly; log of a log-charted input is linear in u.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = [
    "ABS",
    "ACTIVATIONS",
    "REL",
    "Dual",
    "Enclosure",
    "Interval",
    "activation",
    "affine",
    "tighten",
    "widen",
]

#: Outward widening of every interval operation, relative (8 ulps) and absolute.
REL = 2.0**-50
ABS = 1e-300
_U = 2.0**-53  # unit roundoff of float64


def widen(lo, hi):
    """(lo, hi) widened outward by the stated margin; NaN becomes the whole line."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.abs(lo)
        t *= REL
        t += ABS
        lo = lo - t
        t = np.abs(hi)
        t *= REL
        t += ABS
        t += hi
    return _nan_to(lo, -np.inf), _nan_to(t, np.inf)


def _nan_to(x, v: float):
    """x with NaN replaced by v (in place where x is an array)."""
    if np.ndim(x) == 0:
        return np.float64(v) if np.isnan(x) else np.float64(x)
    np.copyto(x, v, where=np.isnan(x))
    return x


@dataclass
class Interval:
    lo: np.ndarray
    hi: np.ndarray

    @staticmethod
    def const(c: float, shape) -> Interval:
        lo, hi = widen(np.full(shape, c), np.full(shape, c))
        return Interval(lo, hi)

    def mag(self) -> np.ndarray:
        """max |x| over the interval."""
        return np.maximum(np.abs(self.lo), np.abs(self.hi))

    def __add__(self, o: Interval) -> Interval:
        return Interval(*widen(self.lo + o.lo, self.hi + o.hi))

    def __sub__(self, o: Interval) -> Interval:
        return Interval(*widen(self.lo - o.hi, self.hi - o.lo))

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __mul__(self, o: Interval) -> Interval:
        # the four end products; 0 * inf is NaN, which minimum and maximum propagate and widen
        # turns into the whole line
        with np.errstate(invalid="ignore"):
            p1, p2, p3, p4 = self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi
            lo = np.minimum(np.minimum(p1, p2), np.minimum(p3, p4))
            hi = np.maximum(np.maximum(p1, p2), np.maximum(p3, p4))
        return Interval(*widen(lo, hi))

    def scale(self, c: float) -> Interval:
        a, b = self.lo * c, self.hi * c
        return Interval(*widen(np.minimum(a, b), np.maximum(a, b)))

    def recip(self) -> Interval:
        zero = (self.lo <= 0) & (self.hi >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = widen(1.0 / self.hi, 1.0 / self.lo)
        return Interval(np.where(zero, -np.inf, lo), np.where(zero, np.inf, hi))

    def hull(self, o: Interval) -> Interval:
        return Interval(np.minimum(self.lo, o.lo), np.maximum(self.hi, o.hi))


def _monotone(f, a: Interval, increasing: bool = True) -> Interval:
    with np.errstate(all="ignore"):
        lo, hi = (f(a.lo), f(a.hi)) if increasing else (f(a.hi), f(a.lo))
    return Interval(*widen(lo, hi))


def _turning(f, a: Interval, points: list[float], pad: float = 1e-12) -> Interval:
    """Range of f over a, f monotone between the given turning points: f at the ends and
    at the turning points inside (their values padded outward)."""
    with np.errstate(all="ignore"):
        flo, fhi = f(a.lo), f(a.hi)
        lo, hi = np.minimum(flo, fhi), np.maximum(flo, fhi)
        for t in points:
            inside = (a.lo < t) & (t < a.hi)
            v = float(f(np.float64(t)))
            lo = np.where(inside, np.minimum(lo, v - pad), lo)
            hi = np.where(inside, np.maximum(hi, v + pad), hi)
    return Interval(*widen(lo, hi))


def _contains(a: Interval, phase: float, period: float = 2 * math.pi) -> np.ndarray:
    """Whether [lo, hi] holds a point phase + k period (padded: when unsure, it does)."""
    with np.errstate(invalid="ignore"):
        k = np.ceil((a.lo - phase) / period - 1e-12)
        return ~np.isfinite(a.lo) | ~np.isfinite(a.hi) | (phase + k * period <= a.hi + 1e-12 * (1 + np.abs(a.hi)))


def isin(a: Interval, shift: float = 0.0) -> Interval:
    """sin(a + shift) over a: the ends, and +-1 where a crest or a trough lies inside."""
    with np.errstate(all="ignore"):
        fl, fh = np.sin(a.lo + shift), np.sin(a.hi + shift)
    lo, hi = np.minimum(fl, fh), np.maximum(fl, fh)
    hi = np.where(_contains(a, math.pi / 2 - shift), 1.0, hi)
    lo = np.where(_contains(a, -math.pi / 2 - shift), -1.0, lo)
    lo, hi = widen(lo, hi)
    return Interval(np.maximum(np.nan_to_num(lo, nan=-1.0), -1.0), np.minimum(np.nan_to_num(hi, nan=1.0), 1.0))


def itan(a: Interval) -> Interval:
    """tan over a: monotone between its poles; the whole line where a pole lies inside."""
    pole = _contains(a, math.pi / 2, math.pi)
    with np.errstate(all="ignore"):
        lo, hi = widen(np.tan(a.lo), np.tan(a.hi))
    return Interval(np.where(pole, -np.inf, lo), np.where(pole, np.inf, hi))


def ipow(a: Interval, p: float) -> Interval:
    """a ** p for a real constant p (a >= 0 unless p is an integer)."""
    if p == int(p):
        n = int(p)
        if n == 0:
            return Interval.const(1.0, a.lo.shape)
        if n < 0:
            return ipow(a, -n).recip()
        if n % 2:
            return _monotone(lambda v: v**n, a)
        m = Interval(np.where((a.lo <= 0) & (a.hi >= 0), 0.0, np.minimum(np.abs(a.lo), np.abs(a.hi))), a.mag())
        return _monotone(lambda v: v**n, m)
    neg = a.lo < 0
    out = _monotone(lambda v: np.power(v, p), a, increasing=p > 0)
    if p < 0:
        zero = a.lo <= 0
        out = Interval(out.lo, np.where(zero, np.inf, out.hi))
    return Interval(np.where(neg, -np.inf, out.lo), np.where(neg, np.inf, out.hi))


# -- activations of the network: value and derivative, piecewise monotone -------------------
def _silu(z):
    return z / (1.0 + np.exp(-z))


def _dsilu(z):
    # sigma(z) (1 + z sigma(-z)): 1 - sigma(z) written without cancellation
    return (1.0 + z / (1.0 + np.exp(z))) / (1.0 + np.exp(-z))


def _dtanh(z):
    return 1.0 / np.cosh(z) ** 2  # not 1 - tanh^2, which loses its digits where tanh is near 1


def _d2silu(z):
    # s (1 - s) (2 + z (1 - 2 s)) with s = sigma(z): s (1 - s) = 1 / ((1 + e^-z)(1 + e^z)), 1 - 2 s = -tanh(z / 2)
    return (2.0 - z * np.tanh(0.5 * z)) / ((1.0 + np.exp(-z)) * (1.0 + np.exp(z)))


def _d2tanh(z):
    return -2.0 * np.tanh(z) / np.cosh(z) ** 2


#: SiLU's minimum, the extremes of its derivative (roots of s'' = 0: z = +-2.3994) and of its
#: second derivative (roots of the third: z = 0, +-3.4358); tanh'' = -2 tanh sech^2 turns
#: where tanh = +-1/sqrt(3).
SILU_MIN = -1.2784645427610738
SILU_D_TURN = (-2.399357280515467, 2.399357280515467)
SILU_D2_TURN = (-3.435840993535111, 0.0, 3.435840993535111)
TANH_D2_TURN = (-0.6584789484624085, 0.6584789484624085)


def _padded(enclose):
    """An activation's enclosure, widened by a few ulps of 1 + |z|: its float64 formula
    adds and multiplies terms of that size, so near a zero of the result the relative
    margin of `widen` alone would not cover it (SiLU' at z = -1.28)."""
    def run(a: Interval) -> Interval:
        v = enclose(a)
        pad = 8 * _U * (1.0 + a.mag())
        return Interval(v.lo - pad, v.hi + pad)
    return run


#: name -> (value enclosure, derivative enclosure)
ACTIVATIONS = {
    "silu": (_padded(lambda a: _turning(_silu, a, [SILU_MIN])),
             _padded(lambda a: _turning(_dsilu, a, list(SILU_D_TURN)))),
    "tanh": (_padded(lambda a: _monotone(np.tanh, a)), _padded(lambda a: _turning(_dtanh, a, [0.0]))),
}


#: name -> enclosure of the second derivative (the second-order Taylor form of the network)
CURVATURES = {
    "silu": _padded(lambda a: _turning(_d2silu, a, list(SILU_D2_TURN))),
    "tanh": _padded(lambda a: _turning(_d2tanh, a, list(TANH_D2_TURN))),
}


def activation(name: str):
    """(value, derivative, second derivative) enclosures of an activation."""
    return ACTIVATIONS[name] + (CURVATURES[name],)


def tighten(v: Interval, vc: Interval, g: Interval, r: np.ndarray) -> Interval:
    """v cut down to the mean-value form vc + sum_i g_i [-r_i, r_i] (g [..., d] encloses the
    derivatives over the box, vc the value at its centre, r [B, d] the half-widths)."""
    shape = (r.shape[0],) + (1,) * (g.lo.ndim - 2) + (r.shape[1],)
    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.nan_to_num((r.reshape(shape) * g.mag()).sum(-1), nan=np.inf)
    lo, hi = widen(vc.lo - spread, vc.hi + spread)
    return Interval(np.maximum(v.lo, lo), np.minimum(v.hi, hi))


def col(a: Interval, axes: int = 1) -> Interval:
    """a with `axes` trailing axes of length 1: a per-box (or per-unit) value against rows of
    [..., d] (or matrices [..., d, d] with axes=2)."""
    at = (Ellipsis,) + (None,) * axes
    return Interval(a.lo[at], a.hi[at])


def outer(a: Interval, b: Interval) -> Interval:
    """a_i b_j: [..., d] x [..., d] -> [..., d, d]."""
    return Interval(a.lo[..., :, None], a.hi[..., :, None]) * Interval(b.lo[..., None, :], b.hi[..., None, :])


def square_outer(g: Interval) -> Interval:
    """g_i g_j [..., d, d], its diagonal as squares (never negative)."""
    o = outer(g, g)
    eye = np.eye(g.lo.shape[-1], dtype=bool)
    sq = ipow(g, 2)
    return Interval(np.where(eye, sq.lo[..., :, None], o.lo), np.where(eye, sq.hi[..., :, None], o.hi))


def quadratic(H: Interval, r: np.ndarray) -> Interval:
    """(1/2) delta^T H delta over |delta_i| <= r_i (H [B, ..., d, d] symmetric, r [B, d]): the
    diagonal terms over delta_i^2 in [0, r_i^2], the others over [-r_i r_j, r_i r_j]."""
    rr = r.reshape((r.shape[0],) + (1,) * (H.lo.ndim - 3) + (r.shape[1],))
    rij = 0.5 * rr[..., :, None] * rr[..., None, :]
    eye = np.eye(r.shape[1], dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.where(eye, np.minimum(H.lo, 0.0) * rij, -H.mag() * rij).sum((-2, -1))
        hi = np.where(eye, np.maximum(H.hi, 0.0) * rij, H.mag() * rij).sum((-2, -1))
        return Interval(*widen(np.nan_to_num(lo, nan=-np.inf), np.nan_to_num(hi, nan=np.inf)))


def taylor(vc: Interval, gc: Interval, H: Interval, r: np.ndarray) -> Interval:
    """The second-order form over boxes: v(c) + grad v(c) . delta + (1/2) delta^T H delta, with vc
    and gc enclosing the value and the gradient at the centres, H the Hessian over the boxes."""
    rr = r.reshape((r.shape[0],) + (1,) * (gc.lo.ndim - 2) + (r.shape[1],))
    with np.errstate(invalid="ignore", over="ignore"):
        lin = np.nan_to_num((rr * gc.mag()).sum(-1), nan=np.inf)
        q = quadratic(H, r)
        return Interval(*widen(vc.lo - lin + q.lo, vc.hi + lin + q.hi))


def tighten2(v: Interval, g: Interval, vc: Interval, gc: Interval, H: Interval, r: np.ndarray):
    """(v, g) cut down to the second-order form of the value and the mean-value form of the
    gradient, g_i within gc_i + sum_j H_ij [-r_j, r_j]."""
    t = taylor(vc, gc, H, r)
    rr = r.reshape((r.shape[0],) + (1,) * (H.lo.ndim - 3) + (1, r.shape[1]))
    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.nan_to_num((H.mag() * rr).sum(-1), nan=np.inf)
        glo, ghi = widen(gc.lo - spread, gc.hi + spread)
    return (Interval(np.maximum(v.lo, t.lo), np.minimum(v.hi, t.hi)),
            Interval(np.maximum(g.lo, glo), np.minimum(g.hi, ghi)))


def _mid_rad(x: Interval) -> tuple[np.ndarray, np.ndarray]:
    """Centre and radius covering x; an infinite end gives centre 0, radius inf."""
    with np.errstate(invalid="ignore"):
        m = 0.5 * (x.lo + x.hi)
        r = np.maximum(x.hi - m, m - x.lo)
    return np.where(np.isfinite(m), m, 0.0), np.where(np.isfinite(m), r, np.inf)


def affine(W: np.ndarray, b: np.ndarray | None, x: Interval) -> Interval:
    """x @ W.T + b over intervals x [B, n] (W exact float64), with the float64 dot-product bound."""
    m, r = _mid_rad(x)
    aW = np.abs(W)
    n = W.shape[1]
    gamma = (n + 2) * _U / (1 - (n + 2) * _U)
    c = m @ W.T + (0.0 if b is None else b)
    rad = r @ aW.T
    rad = rad * (1 + gamma) + gamma * ((np.abs(m) @ aW.T) + (0.0 if b is None else np.abs(b))) + ABS
    return Interval(c - rad, c + rad)


def affine_grad(W: np.ndarray, g: Interval) -> Interval:
    """W @ g over interval Jacobians g [B, n, d]."""
    m, r = _mid_rad(g)
    aW = np.abs(W)
    n = W.shape[1]
    gamma = (n + 2) * _U / (1 - (n + 2) * _U)
    B, _, d = m.shape

    def mm(A, x):  # A @ x over the middle axis, as one BLAS product
        return (x.transpose(0, 2, 1).reshape(B * d, n) @ A.T).reshape(B, d, -1).transpose(0, 2, 1)

    c = mm(W, m)
    rad = mm(aW, r) * (1 + gamma) + gamma * mm(aW, np.abs(m)) + ABS
    return Interval(c - rad, c + rad)


# -- forward-mode interval differentiation of SymPy expressions ------------------------------
@dataclass
class Dual:
    v: Interval
    g: Interval  # [B, d]: enclosures of the partial derivatives in u
    L: Interval | None = None  # [B, d]: of the derivatives of log v, where v > 0 (`Enclosure.log_slope`)
    H: Interval | None = None  # [B, d, d]: of the second derivatives (with `Enclosure(..., hessian=True)`)
    LH: Interval | None = None  # [B, d, d]: of the second derivatives of log v, where v > 0 (with H)


class UnsupportedEnclosure(Exception):
    """An expression node without an interval rule."""


class Enclosure:
    """Encloses expressions of the relation's inputs over boxes of u in [0, 1]^d.

    `inputs`: [(symbol name, chart scale, lo, hi)] in column order, lo and hi the
    input's global range.  `charts`: for inputs whose bounds depend on other inputs,
    the chart as an expression of the other inputs and a unit symbol (`unit(k)`):
    x_k = low + (high - low) u_k, or its log-scaled form; such inputs are enclosed
    through it, so that a box of u stays a box.
    """

    def __init__(self, inputs: list[tuple[str, str, float, float]], charts: dict[int, sp.Expr] | None = None,
                 floors: dict[int, float] | None = None):
        self.inputs = inputs
        self.index = {n: k for k, (n, _, _, _) in enumerate(inputs)}
        self.charts = dict(charts or {})
        self.units = {self.unit(k).name: k for k in range(len(inputs))}
        self.floors = dict(floors or {})
        self.rels = {self.rel(k).name: k for k in self.floors}

    @staticmethod
    def unit(k: int) -> sp.Symbol:
        """The chart coordinate u_k as a symbol (a name no input can have)."""
        return sp.Symbol(f"\x00u{k}", real=True)

    @staticmethod
    def rel(k: int) -> sp.Symbol:
        """The relative distance to input k's edge as a function of u_k (`edge_rel`), as a symbol."""
        return sp.Symbol(f"\x00r{k}", nonnegative=True)

    def edge_rel(self, k: int) -> Dual:
        """rel = 4 floor u on u <= 1/4 (a thin slab at the edge), floor**((1 - u) 4/3) above: boxes of u
        are then boxes in the log-distance to the edge, where the network's edge feature is smooth."""
        floor = self.floors[k]
        lo, hi = self.ulo[:, k], self.uhi[:, k]
        lin = Interval(*widen(4 * floor * lo, 4 * floor * hi))
        lin.lo = np.maximum(lin.lo, 0.0)  # a distance
        c = -math.log(floor) * 4.0 / 3.0  # rel = exp(-c (1 - u))
        t = Interval(*widen(-c * (1 - lo), -c * (1 - hi)))
        lg = _monotone(np.exp, t)
        slab = hi <= 0.25
        above = lo >= 0.25
        v = Interval(np.where(slab, lin.lo, np.where(above, lg.lo, np.minimum(lin.lo, lg.lo))),
                     np.where(slab, lin.hi, np.where(above, lg.hi, np.maximum(lin.hi, lg.hi))))
        glo = np.where(slab, 4 * floor, np.where(above, widen(lg.lo * c, lg.lo * c)[0], -np.inf))
        ghi = np.where(slab, 4 * floor, np.where(above, widen(lg.hi * c, lg.hi * c)[1], np.inf))
        g = self.zero_grad()
        g.lo[:, k], g.hi[:, k] = glo, ghi
        H = self.zero_hess()
        if H is not None:  # 0 in the slab, c^2 rel above, unknown across the kink at u = 1/4
            c2lo, c2hi = widen(lg.lo * c * c, lg.hi * c * c)
            H.lo[:, k, k] = np.where(slab, 0.0, np.where(above, c2lo, -np.inf))
            H.hi[:, k, k] = np.where(slab, 0.0, np.where(above, c2hi, np.inf))
        return Dual(v, g, H=H)

    @staticmethod
    def edge_rel_numpy(u: np.ndarray, floor: float) -> np.ndarray:
        return np.where(u <= 0.25, 4 * floor * u, floor ** ((1 - u) * 4.0 / 3.0))

    def independent_log(self, name: str) -> bool:
        k = self.index.get(name)
        return k is not None and k not in self.charts and self.inputs[k][1] == "log"

    # the box: u in [ulo, uhi] [B, d]
    def __call__(self, exprs: list[sp.Expr], ulo: np.ndarray, uhi: np.ndarray, centre=None,
                 hessian: bool = False, given: dict | None = None) -> list[Dual]:
        """Duals of `exprs` over the boxes.  With `centre` = (memo of a pass over the boxes'
        centres, half-widths r), every node's value is also cut down to its mean-value form
        v(c) + sum_i [-r_i, r_i] max|dv/du_i|: the values inside products and function
        derivatives are then as tight as the derivatives allow.  With `hessian`, every node
        also carries an enclosure of its Hessian in u (`Dual.H`), and with a centre its value
        is cut to its second-order form and its gradient to grad v(c) + H delta.  `given`
        maps symbols that are not inputs (a network's output channel) to their Duals."""
        self.ulo, self.uhi = ulo, uhi
        self.B, self.d = ulo.shape
        self.centre = centre
        self.hessian = hessian
        self.memo: dict[sp.Basic, Dual] = dict(given or {})
        return [self.walk(e) for e in exprs]

    # -- helpers ----------------------------------------------------------------------
    def zero_grad(self) -> Interval:
        z = np.zeros((self.B, self.d))
        return Interval(z, z.copy())

    def zero_hess(self) -> Interval | None:
        if not self.hessian:
            return None
        z = np.zeros((self.B, self.d, self.d))
        return Interval(z, z.copy())

    def unknown_hess(self, where: np.ndarray, H: Interval | None) -> Interval | None:
        """H, the whole line in the boxes `where` (a kink or a jump may lie inside them)."""
        if H is None:
            return None
        w = where[:, None, None]
        return Interval(np.where(w, -np.inf, H.lo), np.where(w, np.inf, H.hi))

    def const(self, c: float) -> Dual:
        return Dual(Interval.const(c, (self.B,)), self.zero_grad(), H=self.zero_hess())

    def chain(self, a: Dual, value: Interval, slope: Interval, curvature=None) -> Dual:
        """f(a) with f'(a) enclosed by `slope`; with `hessian`, f''(a) by `curvature()` (a
        callable: only computed when asked)."""
        g = col(slope) * a.g
        H = None
        if self.hessian:
            c = curvature()
            H = col(c, 2) * square_outer(a.g) + col(slope, 2) * a.H
        return Dual(value, g, H=H)

    def linear_log(self, node) -> tuple[float, np.ndarray] | None:
        """node = c * exp(sum_k p_k log x_k) over log-charted inputs: (c, p) or None."""
        c, p = 1.0, np.zeros(self.d)
        for f in sp.Mul.make_args(node):
            if not f.free_symbols:
                c *= float(f)
                continue
            base, ex = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.S.One)
            if not (base.is_Symbol and self.independent_log(base.name) and ex.is_number):
                return None
            p[self.index[base.name]] += float(ex)
        return c, p

    def log_linear(self, p: np.ndarray, c0: float) -> Dual:
        """exp(c0 + sum_k p_k log x_k) exactly: log x_k = L_k + S_k u_k."""
        L = np.array([math.log(lo) if s == "log" else 0.0 for _, s, lo, _ in self.inputs])
        S = np.array([math.log(hi / lo) if s == "log" else 0.0 for _, s, lo, hi in self.inputs])
        a = p * S
        base = c0 + float(p @ L)
        lo = base + np.where(a > 0, self.ulo, self.uhi) @ a
        hi = base + np.where(a > 0, self.uhi, self.ulo) @ a
        t = Interval(*widen(lo, hi))  # the exponent, linear in u
        v = _monotone(np.exp, t)
        # d/du_k exp(t) = a_k exp(t)
        glo = np.where(a >= 0, v.lo[:, None] * a, v.hi[:, None] * a)
        ghi = np.where(a >= 0, v.hi[:, None] * a, v.lo[:, None] * a)
        H = None
        if self.hessian:  # a_j a_k exp(t)
            aa = np.outer(a, a)
            H = Interval(*widen(np.where(aa >= 0, v.lo[:, None, None] * aa, v.hi[:, None, None] * aa),
                                np.where(aa >= 0, v.hi[:, None, None] * aa, v.lo[:, None, None] * aa)))
        return Dual(v, Interval(*widen(glo, ghi)), H=H)

    # -- the walk -------------------------------------------------------------------------
    def walk(self, e: sp.Basic) -> Dual:
        got = self.memo.get(e)
        if got is None:
            got = self.log_slope(e, self._node(e))
            if self.centre is not None and e.free_symbols:
                memo, r = self.centre
                at = memo.get(e)
                if at is not None:
                    v, g = tighten(got.v, at.v, got.g, r), got.g
                    if got.H is not None:
                        v, g = tighten2(v, g, at.v, at.g, got.H, r)
                    got = Dual(v, g, got.L, got.H, got.LH)
            self.memo[e] = got
        return got

    def log_slope(self, e: sp.Basic, d: Dual) -> Dual:
        """d with L, an enclosure of grad log v where v > 0, and its gradient cut down to v L.

        Log-derivatives add over products and powers, and a sum of positive terms has the
        weighted mean of its terms' (weights v_i / sum v): so 0.0668 Pr Re / (L (1 + 0.04 M))
        has the exact slope of its monomial minus a narrow interval, where the product rule
        subtracts two wide ones."""
        pos = d.v.lo > 0
        if not pos.any():
            return d
        kids = [self.memo.get(a) for a in e.args]
        L = None
        hess = self.hessian and d.H is not None
        LH = None  # the Hessian of log v, by the same rules one order up
        if isinstance(e, (sp.Mul, sp.Pow, sp.Symbol)) and (mono := self.linear_log(e)) is not None and mono[0] > 0:
            a = mono[1] * self.spans()
            L = Interval(*widen(np.broadcast_to(a, (self.B, self.d)), np.broadcast_to(a, (self.B, self.d))))
            LH = self.zero_hess()  # log of a monomial is linear in u
        elif isinstance(e, sp.Symbol) and e.name in self.rels:
            k = self.rels[e.name]
            above = self.ulo[:, k] >= 0.25  # rel = exp(-c (1 - u)): log rel is linear in u there
            clo, chi = widen(-math.log(self.floors[k]) * 4.0 / 3.0, -math.log(self.floors[k]) * 4.0 / 3.0)
            L = self.zero_grad()
            L.lo[:, k] = np.where(above, clo, -np.inf)
            L.hi[:, k] = np.where(above, chi, np.inf)
            LH = self.unknown_hess(~above, self.zero_hess())
        elif isinstance(e, sp.Mul) and kids and all(k is not None and k.L is not None for k in kids):
            L = kids[0].L
            for k in kids[1:]:
                L = L + k.L
            if hess and all(self._lh(k) is not None for k in kids):
                LH = self._lh(kids[0])
                for k in kids[1:]:
                    LH = LH + self._lh(k)
        elif isinstance(e, sp.Pow) and e.exp.is_number and kids[0] is not None and kids[0].L is not None:
            L = kids[0].L.scale(float(e.exp))
            if hess and self._lh(kids[0]) is not None:
                LH = self._lh(kids[0]).scale(float(e.exp))
        elif isinstance(e, sp.exp):
            L = kids[0].g
            LH = kids[0].H if hess else None
        elif isinstance(e, sp.Add) and kids and all(k is not None and k.L is not None and k.v.lo.min() > 0
                                                     for k in kids if k.v.lo.size):
            # a weighted mean of the terms' slopes: within their hull, and sum (v_i / S) L_i
            lo = np.min([k.L.lo for k in kids], 0)
            hi = np.max([k.L.hi for k in kids], 0)
            inv = d.v.recip()
            mean = None
            ws = []
            for k in kids:
                w = k.v * inv
                w = Interval(np.maximum(w.lo, 0.0), np.minimum(w.hi, 1.0))  # a weight
                ws.append(w)
                t = col(w) * k.L
                mean = t if mean is None else mean + t
            L = Interval(np.maximum(lo, mean.lo), np.minimum(hi, mean.hi))
            if hess and all(self._lh(k) is not None for k in kids):
                # log sum v_i: sum_i w_i LH_i + sum_{i<j} w_i w_j (L_i - L_j)(L_i - L_j)^T (the weights'
                # covariance of the slopes: exact where the terms are monomials)
                LH = None
                for i, k in enumerate(kids):
                    t = col(ws[i], 2) * self._lh(k)
                    LH = t if LH is None else LH + t
                    for j in range(i):
                        ww = ws[i] * ws[j]
                        ww = Interval(np.maximum(ww.lo, 0.0), np.minimum(ww.hi, 0.25))
                        LH = LH + col(ww, 2) * square_outer(k.L - kids[j].L)
        if L is None:  # any positive value: g / v
            inv = d.v.recip()
            L = col(inv) * d.g
        L = Interval(np.where(pos[:, None], L.lo, -np.inf), np.where(pos[:, None], L.hi, np.inf))
        vL = col(d.v) * L
        g = Interval(np.maximum(d.g.lo, vL.lo), np.minimum(d.g.hi, vL.hi))
        if isinstance(e, sp.log) and kids[0] is not None and kids[0].L is not None:
            g = Interval(np.maximum(g.lo, kids[0].L.lo), np.minimum(g.hi, kids[0].L.hi))  # (log a)' = L_a
        H = d.H
        if hess and LH is not None:  # a rule gave it: v (LH + L L^T) encloses H too
            LH = self.unknown_hess(~pos, LH)
            vH = col(d.v, 2) * (LH + square_outer(L))
            H = Interval(np.maximum(H.lo, vH.lo), np.minimum(H.hi, vH.hi))
        if hess and isinstance(e, sp.log) and kids[0] is not None and (lh := self._lh(kids[0])) is not None:
            H = Interval(np.maximum(H.lo, lh.lo), np.minimum(H.hi, lh.hi))  # (log a)'' = LH_a
        return Dual(d.v, g, L, H, LH)

    def _lh(self, k: Dual) -> Interval | None:
        """The Hessian of log v of a node: by the rules where they gave it, else H / v - L L^T
        (computed only when a parent asks: most nodes' is never used)."""
        if k is None or k.H is None or k.L is None:
            return None
        if k.LH is None:
            k.LH = self.unknown_hess(~(k.v.lo > 0), col(k.v.recip(), 2) * k.H - square_outer(k.L))
        return k.LH

    def spans(self) -> np.ndarray:
        """d log x_k / d u_k of the independent log-charted inputs (0 for the others)."""
        return np.array([math.log(hi / lo) if s == "log" and self.independent_log(n) else 0.0
                         for n, s, lo, hi in self.inputs])

    def _node(self, e: sp.Basic) -> Dual:
        if not e.free_symbols:
            return self.const(float(e))
        if e.is_Symbol:
            if e.name in self.units:
                k = self.units[e.name]
                g = self.zero_grad()
                g.lo[:, k], g.hi[:, k] = 1.0, 1.0
                return Dual(Interval(self.ulo[:, k].copy(), self.uhi[:, k].copy()), g, H=self.zero_hess())
            if e.name in self.rels:
                return self.edge_rel(self.rels[e.name])
            k = self.index[e.name]
            if k in self.charts:
                d = self.walk(self.charts[k])
                # the input lies in its declared range whatever the rounding of its chart says
                _, _, lo, hi = self.inputs[k]
                return Dual(Interval(np.clip(d.v.lo, lo, hi), np.clip(d.v.hi, lo, hi)), d.g, H=d.H)
            _, scale, lo, hi = self.inputs[k]
            if scale == "log":
                p = np.zeros(self.d)
                p[k] = 1.0
                return self.log_linear(p, 0.0)
            v = Interval(*widen(lo + (hi - lo) * self.ulo[:, k], lo + (hi - lo) * self.uhi[:, k]))
            g = self.zero_grad()
            g.lo[:, k], g.hi[:, k] = widen(np.float64(hi - lo), np.float64(hi - lo))
            return Dual(v, g, H=self.zero_hess())
        if isinstance(e, (sp.Mul, sp.Pow)):
            mono = self.linear_log(e)
            if mono is not None and mono[0] != 0.0:
                c, p = mono
                d = self.log_linear(p, math.log(abs(c)))
                return d if c > 0 else Dual(-d.v, -d.g, H=None if d.H is None else -d.H)
        if isinstance(e, sp.Add):
            out = None
            for a in e.args:
                d = self.walk(a)
                out = d if out is None else Dual(out.v + d.v, out.g + d.g,
                                                 H=None if d.H is None else out.H + d.H)
            return out
        if isinstance(e, sp.Mul):
            out = None
            for a in e.args:
                d = self.walk(a)
                if out is None:
                    out = d
                else:
                    gv, dv = col(out.v), col(d.v)
                    H = None
                    if self.hessian:  # (fg)'' = f'' g + f' g'^T + g' f'^T + f g''
                        cross = outer(out.g, d.g)
                        H = out.H * col(dv) + cross + Interval(np.swapaxes(cross.lo, 1, 2),
                                                               np.swapaxes(cross.hi, 1, 2)) + col(gv) * d.H
                    out = Dual(out.v * d.v, out.g * dv + gv * d.g, H=H)
            return out
        if isinstance(e, sp.Pow):
            if not e.exp.is_number:
                return self.walk(sp.exp(e.exp * sp.log(e.base)))
            p = float(e.exp)
            a = self.walk(e.base)
            return self.chain(a, ipow(a.v, p),
                              ipow(a.v, p - 1.0).scale(p) if p != 1.0 else Interval.const(1.0, (self.B,)),
                              lambda: ipow(a.v, p - 2.0).scale(p * (p - 1.0)) if p not in (0.0, 1.0)
                              else Interval.const(0.0, (self.B,)))
        if isinstance(e, sp.log) and len(e.args) == 1:
            arg = e.args[0]
            if arg.is_Symbol and self.independent_log(arg.name):
                k = self.index[arg.name]
                _, _, lo, hi = self.inputs[k]
                S = math.log(hi / lo)
                v = Interval(*widen(math.log(lo) + S * self.ulo[:, k], math.log(lo) + S * self.uhi[:, k]))
                g = self.zero_grad()
                g.lo[:, k], g.hi[:, k] = widen(np.float64(S), np.float64(S))
                return Dual(v, g, H=self.zero_hess())
            a = self.walk(arg)
            bad = a.v.lo <= 0
            v = _monotone(np.log, a.v)
            v = Interval(np.where(bad, -np.inf, v.lo), np.where(a.v.hi <= 0, np.inf, v.hi))
            return self.chain(a, v, a.v.recip(), lambda: -ipow(a.v, -2.0))
        if isinstance(e, sp.exp):
            a = self.walk(e.args[0])
            v = _monotone(np.exp, a.v)
            return self.chain(a, v, v, lambda: v)
        if isinstance(e, (sp.sin, sp.cos)):
            a = self.walk(e.args[0])
            q = 0.0 if isinstance(e, sp.sin) else math.pi / 2  # cos x = sin(x + pi/2)
            v, slope = isin(a.v, q), isin(a.v, q + math.pi / 2)
            return self.chain(a, v, slope, lambda: -v)
        if isinstance(e, sp.tan):
            a = self.walk(e.args[0])
            v = itan(a.v)
            sec2 = ipow(v, 2) + Interval.const(1.0, (self.B,))
            return self.chain(a, v, sec2, lambda: (v * sec2).scale(2.0))
        if isinstance(e, sp.tanh):
            a = self.walk(e.args[0])
            return self.chain(a, _monotone(np.tanh, a.v), _turning(_dtanh, a.v, [0.0]),
                              lambda: _turning(_d2tanh, a.v, list(TANH_D2_TURN)))
        if isinstance(e, sp.atan):
            a = self.walk(e.args[0])
            return self.chain(a, _monotone(np.arctan, a.v), _turning(lambda z: 1.0 / (1.0 + z * z), a.v, [0.0]),
                              lambda: _turning(lambda z: -2.0 * z / (1.0 + z * z) ** 2, a.v,
                                               [-1 / math.sqrt(3.0), 1 / math.sqrt(3.0)]))
        if isinstance(e, (sp.erf, sp.erfc)):
            from scipy.special import erf, erfc

            a = self.walk(e.args[0])
            slope = _turning(lambda z: 2.0 / math.sqrt(math.pi) * np.exp(-z * z), a.v, [0.0])

            def curv(sign):
                return lambda: _turning(lambda z: sign * -4.0 / math.sqrt(math.pi) * z * np.exp(-z * z), a.v,
                                        [-math.sqrt(0.5), math.sqrt(0.5)])
            if isinstance(e, sp.erf):
                return self.chain(a, _monotone(erf, a.v), slope, curv(1.0))
            return self.chain(a, _monotone(erfc, a.v, increasing=False), -slope, curv(-1.0))
        if isinstance(e, sp.Abs):
            a = self.walk(e.args[0])
            pos, neg = a.v.lo >= 0, a.v.hi <= 0
            v = Interval(np.where(pos, a.v.lo, np.where(neg, -a.v.hi, 0.0)), a.v.mag())
            # the derivative's sign, [-1, 1] where a may be zero (a Clarke gradient: the
            # mean-value form stays valid for this Lipschitz function)
            s = Interval(np.where(pos, 1.0, -1.0), np.where(neg, -1.0, 1.0))
            out = self.chain(a, v, s, lambda: Interval.const(0.0, (self.B,)))
            return Dual(out.v, out.g, H=self.unknown_hess(~pos & ~neg, out.H))
        if isinstance(e, (sp.Max, sp.Min)):
            ds = [self.walk(a) for a in e.args]
            out = ds[0]
            for d in ds[1:]:
                if isinstance(e, sp.Max):
                    v = Interval(np.maximum(out.v.lo, d.v.lo), np.maximum(out.v.hi, d.v.hi))
                    first, second = out.v.lo >= d.v.hi, d.v.lo >= out.v.hi
                else:
                    v = Interval(np.minimum(out.v.lo, d.v.lo), np.minimum(out.v.hi, d.v.hi))
                    first, second = out.v.hi <= d.v.lo, d.v.hi <= out.v.lo
                h = out.g.hull(d.g)  # Clarke gradient of a max of two smooth functions
                g = Interval(np.where(first[:, None], out.g.lo, np.where(second[:, None], d.g.lo, h.lo)),
                             np.where(first[:, None], out.g.hi, np.where(second[:, None], d.g.hi, h.hi)))
                H = None
                if self.hessian:
                    f3, s3 = first[:, None, None], second[:, None, None]
                    H = Interval(np.where(f3, out.H.lo, np.where(s3, d.H.lo, -np.inf)),
                                 np.where(f3, out.H.hi, np.where(s3, d.H.hi, np.inf)))
                out = Dual(v, g, H=H)
            return out
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        raise UnsupportedEnclosure(f"{type(e).__name__} (in {e})")

    def piecewise(self, e: sp.Piecewise) -> Dual:
        """The piece whose condition holds over the whole box; where the box straddles a
        condition, the hull of the possible pieces' values and no usable derivative (a
        piecewise formula may jump there)."""
        B = self.B
        undecided_before = np.zeros(B, dtype=bool)
        taken = np.zeros(B, dtype=bool)
        vlo, vhi = np.full(B, np.inf), np.full(B, -np.inf)
        glo, ghi = np.zeros((B, self.d)), np.zeros((B, self.d))
        Hlo, Hhi = np.zeros((B, self.d, self.d)), np.zeros((B, self.d, self.d))
        straddle = np.zeros(B, dtype=bool)
        for value, cond in e.args:
            t, f = self.condition(cond)
            possible = ~taken & ~f
            if not possible.any():
                continue
            d = self.walk(value)
            sole = possible & t & ~undecided_before
            vlo = np.where(possible, np.minimum(vlo, d.v.lo), vlo)
            vhi = np.where(possible, np.maximum(vhi, d.v.hi), vhi)
            glo = np.where(sole[:, None], d.g.lo, glo)
            ghi = np.where(sole[:, None], d.g.hi, ghi)
            if self.hessian:
                Hlo = np.where(sole[:, None, None], d.H.lo, Hlo)
                Hhi = np.where(sole[:, None, None], d.H.hi, Hhi)
            straddle |= possible & ~sole
            undecided_before |= possible & ~t
            taken |= possible & t
        straddle |= ~taken  # a point of the box may lie outside every piece: undefined
        vlo = np.where(taken, vlo, -np.inf)
        vhi = np.where(taken, vhi, np.inf)
        glo = np.where(straddle[:, None], -np.inf, glo)
        ghi = np.where(straddle[:, None], np.inf, ghi)
        H = self.unknown_hess(straddle, Interval(Hlo, Hhi)) if self.hessian else None
        return Dual(Interval(vlo, vhi), Interval(glo, ghi), H=H)

    def condition(self, c) -> tuple[np.ndarray, np.ndarray]:
        """(certainly true, certainly false) over each box."""
        B = self.B
        if c is sp.true:
            return np.ones(B, dtype=bool), np.zeros(B, dtype=bool)
        if c is sp.false:
            return np.zeros(B, dtype=bool), np.ones(B, dtype=bool)
        if isinstance(c, sp.And):
            parts = [self.condition(a) for a in c.args]
            return np.all([p[0] for p in parts], 0), np.any([p[1] for p in parts], 0)
        if isinstance(c, sp.Or):
            parts = [self.condition(a) for a in c.args]
            return np.any([p[0] for p in parts], 0), np.all([p[1] for p in parts], 0)
        if isinstance(c, sp.Not):
            t, f = self.condition(c.args[0])
            return f, t
        if isinstance(c, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            small, big = (c.lhs, c.rhs) if isinstance(c, (sp.StrictLessThan, sp.LessThan)) else (c.rhs, c.lhs)
            d = self.walk(small).v - self.walk(big).v  # small - big
            strict = isinstance(c, (sp.StrictLessThan, sp.StrictGreaterThan))
            true = d.hi < 0 if strict else d.hi <= 0
            false = d.lo >= 0 if strict else d.lo > 0
            return true, false
        raise UnsupportedEnclosure(f"condition {c}")
