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

Expressions are enclosed by `enclosure.py`, on top of this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ABS", "ACTIVATIONS", "CURVATURES", "REL", "Interval", "activation", "affine", "tighten", "widen"]

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
