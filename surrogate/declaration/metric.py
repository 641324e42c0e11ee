"""The error metric: one definition, used by training, verification and testing.

The error of a prediction y_hat of an explicit output y is

    e = |y_hat - y| / max(S(x), atol)

with S the output's term scale (`magnitude`, docs/architecture.md) or the user's
normaliser; an implicit output's is |y_hat - y*| / max(|y*|, atol) against the
solved y*.  Works on NumPy arrays and torch tensors alike.
"""

from __future__ import annotations

import math
import warnings

import sympy as sp

from .compile import derivative
from .domain import array_module

__all__ = ["error", "magnitude", "DEFINITION"]

#: The error in words, as certificates and failing tests print it.
DEFINITION = "|y_hat - y| / max(S(x), atol), S = the output's magnitude (sum of |terms|; docs/architecture.md)"

#: Functions that pass through zero with a non-zero slope: float64 evaluates them with
#: an absolute error set by their argument's size, not a relative one.
_THROUGH_ZERO = (sp.sin, sp.cos, sp.tan, sp.log, sp.atan, sp.asin, sp.tanh, sp.sinh, sp.asinh, sp.atanh, sp.erf,
                 sp.erfinv, sp.besselj, sp.bessely, sp.LambertW)


def error(pred, ref, scale, atol: float = 0.0):
    """|pred - ref| / max(scale, atol), elementwise (NumPy or torch, any shape).

    NaN where the reference or the scale is not finite (the caller decides what an
    undefined reference means); +inf where the prediction is not finite or the
    denominator is zero while the prediction misses.
    """
    xp = array_module(pred)
    if xp.__name__ == "numpy":
        import numpy as np

        with np.errstate(all="ignore"):
            e = np.abs(pred - ref) / np.maximum(scale, atol)
        bad_ref = ~(np.isfinite(ref) & np.isfinite(scale))
        e = np.where(np.isnan(e) & ~bad_ref, np.where(pred == ref, 0.0, np.inf), e)
        return np.where(bad_ref, np.nan, np.where(np.isfinite(pred), e, np.inf))
    e = (pred - ref).abs() / scale.clamp(min=atol)
    bad_ref = ~(xp.isfinite(ref) & xp.isfinite(scale))
    e = xp.where(xp.isnan(e) & ~bad_ref, xp.where(pred == ref, xp.zeros_like(e), xp.full_like(e, float("inf"))), e)
    return xp.where(bad_ref, xp.full_like(e, float("nan")), xp.where(xp.isfinite(pred), e, xp.full_like(e, float("inf"))))


def magnitude(expr: sp.Expr, changes_sign) -> sp.Expr:
    """The natural magnitude of `expr`, defined through its expression tree.

    Sums that change sign inside the domain add the magnitudes of their parts
    (``T1**4 - T2**4`` is measured by ``T1**4 + T2**4``, the size float64 works at
    where T1 = T2); sums of one sign, function values and everything else are
    measured by their absolute value; products multiply magnitudes; a positive
    power takes the power of its base's magnitude; a negative power is the
    absolute value (a denominator's magnitude is its size), and a product whose
    denominator changes sign is measured by its value.  A function that passes
    through zero inside the domain (sin, cos, log, ...: it changes sign there) adds
    what its argument's size carries through it: M(f(a)) = |f(a)| + |f'(a)| M(a),
    the size float64 evaluates it at -- so exp(x)*cos(y) on 0 < y < 2 is measured by
    exp(x)(|cos y| + |y sin y|), which stays positive where cos(y) = 0.  A function
    that only reaches zero on the boundary (log10(x) at x = 1 on (1, 1e6),
    tanh(mL) at mL = 0) keeps its absolute value.  The top level of an
    output is always a sum of its terms' magnitudes, so for a one-signed sum of
    monomials this is the classic term scale sum |t_i|.

    `changes_sign(e, where)` tells whether the sub-expression e takes both signs over
    the part of the domain where the condition `where` holds (the piece of a
    Piecewise it sits in), decided numerically on the declaration's probe.
    """

    def walk(e: sp.Expr, top: bool, where=sp.true) -> sp.Expr:
        if not e.free_symbols:  # a constant, log(10) included, is its own size
            return sp.Abs(e)
        if isinstance(e, sp.Add):
            if top or changes_sign(e, where):
                return sp.Add(*[walk(a, False, where) for a in e.args])
            return sp.Abs(e)
        if isinstance(e, sp.Mul):
            # a denominator that changes sign vanishes with its numerator (LMTD's
            # (dT1 - dT2)/log(dT1/dT2) at dT1 = dT2): the quotient is measured by its value
            if any(isinstance(a, sp.Pow) and a.exp.is_number and a.exp < 0 and changes_sign(a.base, where)
                   for a in e.args):
                return sp.Abs(e)
            return sp.Mul(*[walk(a, False, where) for a in e.args])
        if isinstance(e, sp.Pow) and e.exp.is_number and e.exp.is_real:
            if e.exp > 0:
                return walk(e.base, False, where) ** e.exp
            return sp.Abs(e)
        if isinstance(e, sp.Piecewise):  # each piece is judged where it applies
            pieces, before = [], sp.false
            for v, c in e.args:
                pieces.append((walk(v, top, sp.And(where, c, sp.Not(before))), c))
                before = sp.Or(before, c)
            return sp.Piecewise(*pieces)
        if isinstance(e, _THROUGH_ZERO) and e.args and changes_sign(e, where):
            # a function through zero: its value plus what the size of its argument carries
            # through it, |f(a)| + |f'(a)| M(a) (cos y at pi/2 is measured by pi/2, log x at 1 by 1)
            t = sp.Dummy("t", real=True)
            a = e.args[-1]
            slope = derivative(e.func(*e.args[:-1], t), t).xreplace({t: a})
            return sp.Abs(e) + sp.Abs(slope) * walk(a, False, where)
        return sp.Abs(e)

    return walk(expr, True)


class ScaleWarning(UserWarning):
    """An output's term scale vanishes inside the domain, so an atol is used."""


def resolve_atol(relation, atol: float | None) -> float:
    """The atol to train and verify with: `atol` as given, or by default 0 where the
    relation's scales stay positive and its suggested atol where one vanishes (with a
    ScaleWarning naming the point)."""
    if atol is None:
        atol = relation.suggested_atol()
        if atol:
            where = "; ".join(f"{o} at " + ", ".join(f"{k}={v:.6g}" for k, v in p.items())
                              for o, p in relation.program.vanishing.items())
            warnings.warn(f"the term scale vanishes inside the domain ({where}): errors are normalised by "
                          f"max(S, atol) with atol={atol:g}; pass atol= to choose another", ScaleWarning, stacklevel=3)
        return atol
    if not (isinstance(atol, (int, float)) and atol >= 0 and math.isfinite(atol)):
        raise ValueError(f"atol must be a finite number >= 0, not {atol!r}")
    return float(atol)
