"""Float64 references that can be trusted: detected cancellation is redone in extended precision.

A formula evaluated in float64 can be wrong where it is fine mathematically:
0/0 at a removable singularity (LMTD at dT1 = dT2, tanh(mL)/mL at mL = 0,
epsilon-NTU at Cr = 1) and, next to it, digits lost to cancellation.  The
certificate must not blame the model for that (docs/architecture.md).

`explicit_reference` evaluates every output and its scale in float64, then flags
the points where float64 cannot be trusted: the value or the scale is not finite,
or perturbing the inputs by a few ulps, in sign patterns that separate every pair
of inputs, moves the value by more than `NOISE` of its scale (a well-conditioned
formula moves by ~1e-15).  Flagged points are evaluated again by SymPy's `evalf`
at 40 significant digits on the exact float64 inputs; where that is still
undefined, the continuous extension is taken: the formula at a point nudged
1e-25 of the way towards the middle of the domain (a different share for each
input, so that dT1 = dT2 is left), at 60 digits, accepted where a nudge of 1e-20
agrees with it to 1e-9 of the scale (at a pole the two differ by orders of
magnitude).  Points that stay undefined are reported as undefined.  No source text is generated or executed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = ["explicit_reference", "Reference", "NOISE", "MAX_REFINED"]

#: A float64 value that moves by more than this share of its scale when its inputs
#: move by a few ulps has lost its digits to cancellation.
NOISE = 1e-9
#: At most this many points per call are re-evaluated in extended precision (evalf
#: costs about a millisecond a point); the rest of the flagged points keep their
#: float64 value and are counted.
MAX_REFINED = 4000
_ULPS = 4.0


@dataclass
class Reference:
    """Reference values [N, m] and scales [N, m]; `refined` counts the points redone
    in extended precision, `unrefined` those flagged beyond MAX_REFINED."""

    values: np.ndarray
    scales: np.ndarray
    refined: int = 0
    unrefined: int = 0


def _patterns(d: int) -> np.ndarray:
    """Sign patterns [T, d] such that every pair of inputs differs in sign in one of them."""
    bits = max(1, math.ceil(math.log2(max(d, 2))))
    k = np.arange(d)
    return np.array([np.where((k >> b) & 1, -1.0, 1.0) for b in range(bits)])


def explicit_reference(relation, x: np.ndarray, *, refine: bool = True, max_refined: int = MAX_REFINED) -> Reference:
    """Float64 outputs and scales of an explicit relation at x [N, d] (inputs order)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    cols = {k: x[:, j] for j, k in enumerate(relation.inputs)}
    outs = relation.outputs
    y = np.stack([np.broadcast_to(relation.compiled("expression", o, "numpy")(cols), (n,)) for o in outs], 1)
    s = np.stack([np.broadcast_to(relation.compiled("scale", o, "numpy")(cols), (n,)) for o in outs], 1)
    ref = Reference(np.array(y, dtype=np.float64), np.array(s, dtype=np.float64))
    if not refine or n == 0:
        return ref
    bad = ~np.all(np.isfinite(ref.values) & np.isfinite(ref.scales), 1)
    for pattern in _patterns(x.shape[1]):
        xp = x * (1.0 + _ULPS * np.finfo(np.float64).eps * pattern)
        pc = {k: xp[:, j] for j, k in enumerate(relation.inputs)}
        yp = np.stack([np.broadcast_to(relation.compiled("expression", o, "numpy")(pc), (n,)) for o in outs], 1)
        with np.errstate(all="ignore"):
            moved = np.abs(yp - ref.values) > NOISE * np.abs(ref.scales)
        bad |= np.any(moved & np.isfinite(ref.values), 1)
    ye = _extended(relation, x)
    if ye is not None:
        with np.errstate(all="ignore"):
            gap = np.abs(ye - ref.values)
            # finite, stable under ulp moves, and still wrong: exp(-2.4e-18) rounds to 1, so
            # counterflow's epsilon at Cr = 1 - 2**-52, NTU = 0.011 is 0 in float64, 0.0109 in fact
            bad |= np.any(np.isfinite(ye) & (gap > NOISE * np.maximum(np.abs(ref.scales), np.abs(ye))), 1)
            # agreement to 1e-12 of the scale: flagged for a genuine sensitivity to the inputs
            # (seed 001's gap x1 - x2, exact in float64), not for digits lost in the evaluation
            agrees = np.all(np.isfinite(ref.values) & (gap <= 1e-12 * np.abs(ref.scales)), 1)
        bad &= ~agrees
    rows = np.nonzero(bad)[0]
    if not rows.size:
        return ref
    ref.unrefined = max(0, rows.size - max_refined)
    rows = rows[:max_refined]
    exact = _Exact(relation)
    for i in rows:
        ref.values[i], ref.scales[i] = exact(x[i])
    ref.refined = int(rows.size)
    return ref


def _extended(relation, x: np.ndarray) -> np.ndarray | None:
    """The outputs [N, m] evaluated in x87 extended precision (64-bit mantissa) on the same
    inputs, rounded to float64; None where longdouble is float64 or a function has no
    extended-precision loop.  Functions SciPy has only in float64 are evaluated there in
    float64, so agreement with float64 is necessary, not sufficient -- but what they
    lose, both lose."""
    if not np.finfo(np.longdouble).eps < np.finfo(np.float64).eps:
        return None
    cols = {k: x[:, j].astype(np.longdouble) for j, k in enumerate(relation.inputs)}
    out = np.empty((len(x), len(relation.outputs)))
    for j, o in enumerate(relation.outputs):
        try:
            with np.errstate(all="ignore"):
                out[:, j] = np.broadcast_to(np.asarray(relation.program.extended(o)(cols), dtype=np.float64), (len(x),))
        except (TypeError, ValueError):  # a function with no extended-precision loop
            return None
    return out


class _Exact:
    """Outputs and scales of one point by SymPy's evalf, with the continuous extension."""

    def __init__(self, relation):
        self.relation = relation
        syms = relation.symbols
        self.syms = [syms[k] for k in relation.inputs]
        self.exprs = [relation.expression(o) for o in relation.outputs]
        self.scales = [relation.scale_expression(o) for o in relation.outputs]
        self.middle = [0.5 * (spec.range[0] + spec.range[1]) for spec in relation.domain.inputs]

    def _at(self, point: list, digits: int) -> tuple[np.ndarray, np.ndarray]:
        subs = dict(zip(self.syms, point))
        return (np.array([_value(e, subs, digits) for e in self.exprs]),
                np.array([_value(e, subs, digits) for e in self.scales]))

    def __call__(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        point = [sp.Float(float(v), 40) for v in row]
        y, s = self._at(point, 40)
        if np.all(np.isfinite(y)) and np.all(np.isfinite(s)):
            return y, s
        # the continuous extension: the formula at points nudged 1e-25 and 1e-20 of the way
        # towards the middle of the domain must agree (a removable singularity); at a pole
        # they differ by orders of magnitude and the point stays undefined
        (y1, s1), (y2, s2) = (self._at(self._nudged(row, share), 60) for share in ("1e-25", "1e-20"))
        agree = (np.abs(y1 - y2) <= 1e-9 * np.abs(s1)) & np.isfinite(y1) & np.isfinite(s1)
        y1, s1 = np.where(agree, y1, np.nan), np.where(agree, s1, np.nan)
        return np.where(np.isfinite(y), y, y1), np.where(np.isfinite(s), s, s1)

    def _nudged(self, row: np.ndarray, share: str) -> list:
        return [sp.Float(float(v), 60) + sp.Float(share, 60) * (1 + sp.Rational(37, 100) * k)
                * (sp.Float(c, 60) - sp.Float(float(v), 60))
                for k, (v, c) in enumerate(zip(row, self.middle))]


def _value(expr: sp.Expr, subs: dict, digits: int) -> float:
    try:
        c = complex(expr.evalf(digits, subs=subs))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, ArithmeticError):
        return math.nan
    if c.imag != 0.0 and abs(c.imag) > 1e-30 * max(1.0, abs(c.real)):
        return math.nan
    return c.real if math.isfinite(c.real) else math.nan
