"""The numeric kernels of the solve (solve.py), vectorised over rows in float64 NumPy.

An output's chart (`_Axis`: log y or y over its declared range), Newton inside a bracket
(`_newton_bracketed`, and `_newton_monotone` for a residual of known monotonicity), the start
points of an algebraic loop's Newton and the batched small linear solve of its steps.  They read
compiled functions as arguments and know nothing of blocks (`_Axis.of` reads an output's declared
range); solve.py's module doc describes the method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A residual within this many ulps of its term scale is at rounding level: no step can improve it.
_NOISE = 8 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class _Axis:
    """One output's range and chart variable z (log y or y)."""

    name: str
    low: float
    high: float
    log: bool

    @classmethod
    def of(cls, relation, name: str) -> _Axis:
        lo, hi = relation.output_ranges[name]
        return cls(name, float(lo), float(hi), relation.output_scale(name) == "log")

    @property
    def zlow(self) -> float:
        return math.log(self.low) if self.log else self.low

    @property
    def zhigh(self) -> float:
        return math.log(self.high) if self.log else self.high

    def value(self, z):
        return np.exp(z) if self.log else z

    def step_scale(self, y):
        """What a step in z is measured against: relative for log, |y| for linear."""
        return np.ones_like(y) if self.log else np.abs(y)


def _full(a, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(a, dtype=np.float64), (n,))


def _newton_monotone(joint, scale, axis: _Axis, cols, lo, hi, rlo, rhi, sign, tol, max_iter):
    """`_newton_bracketed` for a residual known to increase (sign +1) or decrease (-1) with z: which
    end of the bracket an iterate replaces follows from the sign of its residual alone, and the
    arithmetic is cut to what a step needs.  Same steps, same convergence tests."""
    n = len(lo)
    lo, hi = np.array(lo), np.array(hi)  # updated in place
    out = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    z = lo - rlo * (hi - lo) / (rhi - rlo)  # regula falsi: a good first guess inside the bracket
    z = np.where((z > lo) & (z < hi), z, 0.5 * (lo + hi))
    idx = np.arange(n)
    vals = dict(cols)
    last = np.zeros(n)  # the previous Newton step (0: none, or a bisection)
    unit = tol  # log chart: steps are relative already
    it = 0
    while idx.size and it < max_iter:
        it += 1
        y = axis.value(z)
        vals[axis.name] = y
        r, s, d = joint(vals)
        if axis.log:
            d = d * y
        else:
            unit = tol * np.abs(y)
        above = r > 0.0 if sign > 0 else r < 0.0  # z is above the root
        np.copyto(hi, z, where=above)
        np.copyto(lo, z, where=~above)
        zn = z - r / d
        # a Newton step that lands on the bracket's end (within tol) is kept, clipped
        zc = np.minimum(np.maximum(zn, lo), hi)
        newton = np.abs(zc - zn) <= unit  # False for NaN
        zn = np.where(newton, zc, 0.5 * (lo + hi))
        step = np.abs(zn - z)
        conv = (step <= unit) | (hi - lo <= unit)
        # converging quadratically: what this step leaves is about step^3 / last^2
        conv |= newton & (step <= 1e-2 * last) & (step**3 <= 1e-2 * unit * last**2)
        zero = r == 0.0
        if zero.any():
            conv |= zero
            zn = np.where(zero, z, zn)
        if it > 3:  # stuck at rounding level: the residual cannot get smaller
            conv |= np.abs(r) <= _NOISE * _full(scale(vals) if s is None else s, z.size)
        last = np.where(newton, step, 0.0)
        if conv.any():
            done = idx[conv]
            out[done], ok[done] = zn[conv], True
            keep = ~conv
            if not keep.any():
                break
            idx, zn, lo, hi, last = idx[keep], zn[keep], lo[keep], hi[keep], last[keep]
            vals = {k: v[keep] for k, v in vals.items() if k != axis.name}
            if not axis.log:
                unit = unit[keep]
        z = zn
    return out, ok, it


def _newton_bracketed(joint, scale, axis: _Axis, cols, za, zb, ra, rb, tol, max_iter):
    """Newton in z with bisection fallback inside [za, zb] (residuals of opposite signs).

    Works on compacted arrays: converged rows leave the working set, so each
    iteration costs only what is still moving.
    """
    n = len(za)
    out = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    sign_a = np.sign(ra)
    lo, hi = np.minimum(za, zb), np.maximum(za, zb)
    z = za - ra * (zb - za) / (rb - ra)  # regula falsi: a good first guess inside the bracket
    z = np.where(np.isfinite(z) & (z > lo) & (z < hi), z, 0.5 * (za + zb))
    idx = np.arange(n)
    vals = dict(cols)
    last = np.zeros(n)  # the previous Newton step (0: none, or a bisection)
    it = 0
    while idx.size and it < max_iter:
        it += 1
        y = axis.value(z)
        vals[axis.name] = y
        r, s, d = joint(vals)
        r, d = _full(r, z.size), _full(d, z.size)
        if axis.log:
            d = d * y
        left = np.sign(r) == sign_a
        za = np.where(left, z, za)
        zb = np.where(left, zb, z)
        lo, hi = np.minimum(za, zb), np.maximum(za, zb)
        unit = tol * axis.step_scale(y)
        zn = z - r / d
        # a Newton step that lands on the bracket's end (within tol) is kept, clipped:
        # near convergence one end often is the root to rounding
        newton = np.isfinite(zn) & (zn >= lo - unit) & (zn <= hi + unit)
        zn = np.where(newton, np.clip(zn, lo, hi), 0.5 * (lo + hi))
        zero = r == 0.0
        step = np.abs(zn - z)
        # Newton converging quadratically: the error left after this step is about
        # step^3 / previous_step^2, which saves the iteration that would only confirm it
        quadratic = newton & (last > 0) & (step <= 1e-2 * last) & (step**3 <= 1e-2 * unit * last**2)
        conv = zero | (step <= unit) | (hi - lo <= unit) | quadratic
        if it > 3:  # stuck at rounding level: the residual cannot get smaller
            conv |= np.abs(r) <= _NOISE * _full(scale(vals) if s is None else s, z.size)
        zn = np.where(zero, z, zn)
        if conv.all():
            out[idx], ok[idx] = zn, True
            idx = idx[:0]
            break
        if conv.any():
            out[idx[conv]], ok[idx[conv]] = zn[conv], True
            keep = ~conv
            idx, zn, za, zb, sign_a = idx[keep], zn[keep], za[keep], zb[keep], sign_a[keep]
            step, newton = step[keep], newton[keep]
            vals = {k: v[keep] for k, v in vals.items()}
        z = zn
        last = np.where(newton, step, 0.0)
    return out, ok, it


def _start_points(k: int, count: int) -> np.ndarray:
    """The centre of the unit box, then an additive-recurrence (Roberts R_k) sequence in [0.1, 0.9]^k."""
    phi = 2.0
    for _ in range(64):  # the root of phi^(k+1) = phi + 1
        phi = (1.0 + phi) ** (1.0 / (k + 1))
    alpha = (1.0 / phi) ** np.arange(1, k + 1)
    i = np.arange(1, count)[:, None]
    u = 0.1 + 0.8 * ((0.5 + i * alpha) % 1.0)
    return np.vstack([np.full((1, k), 0.5), u])


def _all_rows(m: int) -> np.ndarray:
    return np.arange(m)


def _linear_solve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve a[:, :, i] x[:, i] = b[:, i] for a [k, k, m] and b [k, m], vectorised over m.

    Gaussian elimination with partial pivoting on contiguous [m] rows: for small k far
    faster than one LAPACK call per matrix.  Returns x [k, m] and a mask of the singular
    (or non-finite) systems, whose x is meaningless.
    """
    k, m = b.shape
    a = [[a[i, j].copy() for j in range(k)] for i in range(k)]
    b = [b[i].copy() for i in range(k)]
    with np.errstate(all="ignore"):
        size = np.max(np.abs(np.stack([e for row in a for e in row])), 0)
        singular = ~np.isfinite(size) | (size == 0.0)
        tiny = k * np.finfo(np.float64).eps * size
        for c in range(k):
            if c < k - 1:  # bring the largest remaining entry of column c to row c
                best = np.abs(a[c][c])
                pick = np.full(m, c)
                for r in range(c + 1, k):
                    bigger = np.abs(a[r][c]) > best
                    best = np.where(bigger, np.abs(a[r][c]), best)
                    pick = np.where(bigger, r, pick)
                for r in range(c + 1, k):
                    swap = pick == r
                    if swap.any():
                        for j in range(c, k):
                            a[c][j], a[r][j] = np.where(swap, a[r][j], a[c][j]), np.where(swap, a[c][j], a[r][j])
                        b[c], b[r] = np.where(swap, b[r], b[c]), np.where(swap, b[c], b[r])
            singular |= ~(np.abs(a[c][c]) > tiny)
            pivot = np.where(singular, 1.0, a[c][c])
            for r in range(c + 1, k):
                factor = a[r][c] / pivot
                for j in range(c + 1, k):
                    a[r][j] = a[r][j] - factor * a[c][j]
                b[r] = b[r] - factor * b[c]
        x = [None] * k
        for r in range(k - 1, -1, -1):
            acc = b[r]
            for j in range(r + 1, k):
                acc = acc - a[r][j] * x[j]
            x[r] = acc / np.where(singular, 1.0, a[r][r])
    return np.stack(x), singular
