"""Vectorised root solving for implicit outputs, in float64 NumPy (no torch).

`solve(relation, x)` finds the outputs of an implicit relation at every row of x,
block by block in the order found at declaration (blocks.py: the incidence of outputs
in equations, a perfect matching, strongly connected components in block-lower-triangular
order), each block with the outputs of the blocks before it as known columns:

- **One equation linear in its output** (`y3 = y1 y2`, `a y + b = 0`): evaluated, status 1
  where the value is not finite or outside the output's declared range.
- **One equation in one output.**  The residual is evaluated on `grid` points across the
  output's declared range (log-spaced for a log-scaled output) and its sign changes are
  counted.  None: status 1 (no root in the range).  More than one: status 2
  (several roots; the answer is ambiguous, so NaN is returned, not a guess).  One:
  safeguarded Newton inside that bracket (the Newton step is taken in the chart
  variable, log y or y, and replaced by bisection whenever it leaves the bracket),
  converged to a relative step of `tol`.  Two roots closer together than one grid
  cell (an even number of sign changes inside a cell) are not seen: raise `grid`
  where roots may crowd.
  **Proven monotone** (blocks.py: SymPy proves the derivative in the output of one strict
  sign, Colebrook and the surface temperature among the catalogue's): the residual crosses
  zero at most once, so the scan is cut to the range's ends and `_COARSE` points between
  (whether the range holds the root, and a narrow bracket), and Newton knows the bracket's
  orientation from the sign of the residual alone.  Same statuses, same convergence tests;
  a row where float64 contradicts the proof (a non-finite residual at a scan point, two
  sign changes) or where Newton does not converge is solved again the dense way.
- **k equations in k outputs that need each other** (an algebraic loop).  Damped Newton
  with the Jacobian from SymPy derivatives, in the chart variables, started from the
  centre of the output box and `starts - 1` quasi-random points inside it, iterates kept
  inside the box.  Status 0 when the starts that converge agree, 2 when they converge to
  distinct roots (relative difference above 1e-6), 1 when none converges and every start
  ended against the boundary of the box (the root lies outside it), 3 otherwise.
  Several starts make a missed root unlikely, not impossible.  The starts run as one
  batch where the points are few (up to `_BLOCK` rows), and each iteration evaluates the
  block's residuals, scales and Jacobian through one function compiled at declaration with
  their common subexpressions shared (compile.py's `compile_joint`).

A row takes the status of the first block that fails there (its later blocks would read
outputs it does not have); its values are then all NaN.  A system without a perfect
matching is one block.

Every step is vectorised over the rows of x; rows never interact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DomainError
from .roots import _NOISE, _all_rows, _Axis, _full, _linear_solve, _newton_bracketed, _newton_monotone, _start_points

__all__ = ["SolveResult", "solve", "SOLVED", "NO_ROOT", "SEVERAL_ROOTS", "NOT_CONVERGED"]

SOLVED, NO_ROOT, SEVERAL_ROOTS, NOT_CONVERGED = 0, 1, 2, 3
_STATUS_NAMES = ("solved", "no_root", "several_roots", "not_converged")
# Two roots are distinct when they differ by more than this, relatively.
DISTINCT = 1e-6
# Cells evaluated at once during the grid scan: keeps the working set in cache.
_SCAN_CELLS = 1 << 16
# Scan points for a block whose residual is proven monotone in its output (blocks.py): the
# sign changes at most once, so these only narrow the bracket Newton starts in.
_COARSE = 4
_BLOCK = 1 << 15


@dataclass(frozen=True)
class SolveResult:
    """Roots of an implicit relation at N points.

    values: [N, k] float64 in `relation.outputs` order, NaN where status != 0.
    status: [N] int8, 0 solved, 1 no root in the output range, 2 several roots in
    the range, 3 not converged.  iterations: the most Newton iterations any row took.
    """

    values: np.ndarray
    status: np.ndarray
    iterations: int

    def counts(self) -> dict[str, int]:
        """Rows per status: {"solved", "no_root", "several_roots", "not_converged"}."""
        found = np.bincount(self.status.astype(np.int64), minlength=len(_STATUS_NAMES))
        return {name: int(found[i]) for i, name in enumerate(_STATUS_NAMES)}

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the solved rows."""
        return self.status == SOLVED

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.counts().items() if v)
        return f"SolveResult({len(self.status)} points: {parts or 'none'}; {self.iterations} iterations)"


def solve(relation, x: np.ndarray, *, tol: float = 1e-13, max_iter: int = 100, grid: int = 64,
          starts: int = 8) -> SolveResult:
    """Solve `relation` for its outputs at each row of x ([N, len(relation.inputs)], inputs order).

    tol: relative step (in the output) at which Newton stops; a residual at rounding
    level (8 ulps of its term scale) also counts as converged.  max_iter: Newton
    iterations at most.  grid: scan points for a block of one equation in one output
    (at least 2).  starts: Newton starts for an algebraic loop (a block of several equations).  An explicit relation is
    evaluated directly (status 1 where the value is undefined or outside a declared
    range).  Raises DomainError for a badly shaped or non-finite x, ValueError for
    an output without a declared range.
    """
    x = _check_inputs(relation, x)
    if grid < 2:
        raise ValueError(f"grid must be at least 2 scan points, not {grid!r}")
    if starts < 1:
        raise ValueError(f"starts must be at least 1, not {starts!r}")
    cols = {n: x[:, j] for j, n in enumerate(relation.inputs)}
    if relation.is_explicit:
        return _evaluate_explicit(relation, cols, len(x))
    missing = [o for o in relation.outputs if relation.output_ranges.get(o) is None]
    if missing:
        raise ValueError(f"outputs {', '.join(missing)} need a declared range to be solved for: outputs={{name: (low, high)}}")
    fns = _Functions(relation)  # looks up functions compiled at declaration
    axes = [_Axis.of(relation, o) for o in relation.outputs]
    blocks = relation.program.blocks  # the block-lower-triangular order found at declaration
    # NaN and inf are expected on the way (an undefined residual, a singular Jacobian)
    # and are handled by the status logic, row by row
    with np.errstate(all="ignore"):
        return _solve_blocks(fns, axes, blocks, cols, len(x), tol, max_iter, grid, starts)


# -- shared pieces ----------------------------------------------------------------------
def _check_inputs(relation, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    d = len(relation.inputs)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise DomainError(f"x must be an array [N, {d}] with columns {', '.join(relation.inputs)}; got shape {x.shape!r}")
    bad = ~np.isfinite(x).all(1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DomainError(f"x has non-finite values in {int(bad.sum())} rows, the first at row {i}: {x[i].tolist()!r}")
    return x


class _Functions:
    """Compiled residuals, their term scales and their derivatives by output (NumPy)."""

    def __init__(self, relation=None):
        if relation is None:
            return
        n = len(relation.residuals)
        self.residual = [relation.compiled("residual", i, "numpy") for i in range(n)]
        self.scale = [relation.compiled("residual_scale", i, "numpy") for i in range(n)]
        # None where a residual does not depend on an output: the Jacobian entry is 0
        self.derivative = [
            [relation.compiled("jacobian", (i, j), "numpy") if relation.compiled("depends", (i, j), "numpy") else None
             for j in range(len(relation.outputs))]
            for i in range(n)
        ]
        # the value of an output its block's one equation gives explicitly (blocks.py)
        self.solved = {b.outputs[0]: relation.compiled("solved_output", b.outputs[0], "numpy")
                       for b in relation.program.blocks if b.explicit is not None}
        # per block: its residuals, scales and Jacobian entries in one function sharing their
        # subexpressions (compiled.py), or None where it could not be compiled
        self.joint = [relation.program.fns.get(("block", k, "numpy")) for k in range(len(relation.program.blocks))]

    def sub(self, equations, outputs) -> _Functions:
        """The functions of the equations of one block, in its outputs."""
        out = _Functions()
        out.residual = [self.residual[i] for i in equations]
        out.scale = [self.scale[i] for i in equations]
        out.derivative = [[self.derivative[i][j] for j in outputs] for i in equations]
        out.joint = None  # the block's joint function, set by the caller
        return out


def _evaluate_explicit(relation, cols, n: int) -> SolveResult:
    values = np.empty((n, len(relation.outputs)))
    ok = np.ones(n, dtype=bool)
    for j, o in enumerate(relation.outputs):
        y = np.broadcast_to(relation.compiled("expression", o, "numpy")(cols), (n,))
        ok &= np.isfinite(y)
        rng = relation.output_ranges.get(o)
        if rng is not None:
            ok &= (y >= rng[0]) & (y <= rng[1])
        values[:, j] = y
    values[~ok] = np.nan
    return SolveResult(values, np.where(ok, SOLVED, NO_ROOT).astype(np.int8), 0)


# -- block by block -------------------------------------------------------------------------
def _solve_blocks(fns: _Functions, axes: list[_Axis], blocks, cols, n: int, tol, max_iter, grid,
                  starts) -> SolveResult:
    values = np.full((n, len(axes)), np.nan)
    status = np.empty(n, dtype=np.int8)
    iterations = 0
    # Blocks of rows small enough for the temporaries to stay in cache: on large
    # arrays NumPy spends more time faulting in fresh pages than computing.
    for start in range(0, n, _BLOCK):
        sl = slice(start, min(n, start + _BLOCK))
        chunk = {k: np.ascontiguousarray(v[sl]) for k, v in cols.items()}
        values[sl], status[sl], it = _solve_rows(fns, axes, blocks, chunk, sl.stop - sl.start, tol, max_iter,
                                                 grid, starts)
        iterations = max(iterations, it)
    return SolveResult(values, status, iterations)


def _solve_rows(fns: _Functions, axes: list[_Axis], blocks, cols, n: int, tol, max_iter, grid, starts):
    """Every block in order at n rows.  A row leaves at its first block that fails,
    with that block's status: the blocks after it would read outputs it does not have."""
    values = np.full((n, len(axes)), np.nan)
    status = np.full(n, SOLVED, dtype=np.int8)
    live = np.arange(n)  # the rows every block so far has solved
    iterations = 0
    for k, b in enumerate(blocks):
        if not live.size:
            break
        if live.size == n:
            at = dict(cols)
        else:
            at = {k: v[live] for k, v in cols.items()}
        for j in b.needs:
            at[axes[j].name] = values[live, j]
        m = live.size
        if b.explicit is not None:
            y, s = _evaluate_output(fns.solved[b.outputs[0]], axes[b.outputs[0]], at, m)
            y = y[:, None]
        elif b.size == 1:
            (i,), (j,) = b.equations, b.outputs
            y, s, it = _solve_scalar_block(fns.residual[i], fns.derivative[i][j], fns.scale[i], axes[j], at, m,
                                           tol, max_iter, grid, b.monotone, fns.joint[k])
            y = y[:, None]
            iterations = max(iterations, it)
        else:
            sub = fns.sub(b.equations, b.outputs)
            sub.joint = fns.joint[k]
            y, s, it = _solve_system_block(sub, [axes[j] for j in b.outputs], at, m, tol, max_iter, starts)
            iterations = max(iterations, it)
        if len(blocks) == 1:  # one block (a single equation, one loop): its answer is the answer
            return y, s, iterations
        ok = s == SOLVED
        values[np.ix_(live[ok], b.outputs)] = y[ok]
        status[live[~ok]] = s[~ok]
        live = live[ok]
    values[status != SOLVED] = np.nan
    return values, status, iterations


def _evaluate_output(fn, axis: _Axis, cols, n: int):
    """An output its equation gives explicitly: status 1 where not finite or outside its range."""
    y = np.array(_full(fn(cols), n))
    ok = np.isfinite(y) & (y >= axis.low) & (y <= axis.high)
    y[~ok] = np.nan
    return y, np.where(ok, SOLVED, NO_ROOT).astype(np.int8)


# -- one output: grid scan, then safeguarded Newton -------------------------------------------
def _solve_scalar_block(residual, derivative, scale, axis: _Axis, cols, n: int, tol, max_iter, grid, monotone=0,
                        joint=None):
    """One equation in one output (derivative: its derivative in that output) at n rows:
    values [n], status [n], iterations.

    monotone (blocks.py: the residual proven strictly monotone in the output) lets a coarse
    scan of `_COARSE` points stand for the dense one: the residual crosses zero at most once,
    so the sign at the points (the range's ends among them) tells whether the range holds the
    root and which cell does.  Rows where that scan sees a non-finite residual or more than
    one sign change (rounding), and rows whose Newton does not converge, go the dense way.
    joint: the residual, its scale and derivative in one function (compiled.py), if compiled.
    """
    if joint is None:
        def joint(vals):
            return residual(vals), None, derivative(vals)
    if not monotone or grid <= _COARSE + 2:
        return _scan_and_newton(residual, joint, scale, axis, cols, n, tol, max_iter, grid)
    values, status, it, ok = _solve_monotone(residual, joint, scale, axis, cols, n, tol, max_iter, monotone)
    again = np.nonzero(~ok)[0]
    if again.size:
        sub = {k: v[again] for k, v in cols.items()}
        values[again], status[again], it2 = _scan_and_newton(residual, joint, scale, axis, sub, again.size,
                                                             tol, max_iter, grid)
        it = max(it, it2)
    return values, status, it


def _solve_monotone(residual, joint, scale, axis: _Axis, cols, n: int, tol, max_iter, sign: int):
    """A residual strictly monotone in the output (sign: that of its derivative): the residual at
    the range's ends and `_COARSE` points between, in the chart, then Newton in the cell where it
    changes sign.  Returns values, status, iterations and the rows it vouches for (False where a
    scan point gave a non-finite residual or two gave exactly 0, or Newton did not converge)."""
    zg = np.linspace(axis.zlow, axis.zhigh, _COARSE + 2)
    yg = axis.value(zg)
    yg[0], yg[-1] = axis.low, axis.high  # exactly the declared range, not exp(log(.)) of it
    vals = dict(cols)
    r = np.empty((len(yg), n))  # a row per scan point: reductions over points run along contiguous rows
    for k, yk in enumerate(yg):
        vals[axis.name] = np.float64(yk)
        r[k] = residual(vals)
    up = r if sign > 0 else -r  # increasing in the output
    below = np.count_nonzero(up < 0.0, 0)  # the scan points below the root, all first (monotone)
    zero = up == 0.0
    n_zero = np.count_nonzero(zero, 0)
    # what the proof says, seen in float64: every point finite, one sign change at most, one zero at most
    changes = np.count_nonzero((up[:-1] < 0.0) != (up[1:] < 0.0), 0)
    trusted = (np.count_nonzero(np.isfinite(up), 0) == len(yg)) & (n_zero <= 1) & (changes <= 1)
    inside = (below > 0) & (below < len(yg)) & (n_zero == 0)
    status = np.where((n_zero == 1) | inside, SOLVED, NO_ROOT).astype(np.int8)
    values = np.full(n, np.nan)
    exact = np.nonzero(n_zero == 1)[0]
    values[exact] = yg[np.argmax(zero[:, exact], 0)]
    todo = np.nonzero(inside & trusted)[0]
    iterations = 0
    if todo.size:
        j = below[todo] - 1
        z, ok, iterations = _newton_monotone(joint, scale, axis, {k: v[todo] for k, v in cols.items()},
                                             zg[j], zg[j + 1], r[j, todo], r[j + 1, todo], sign, tol, max_iter)
        values[todo[ok]] = axis.value(z[ok])
        status[todo[~ok]] = NOT_CONVERGED
        trusted[todo[~ok]] = False
    return values, status, iterations, trusted


def _scan_and_newton(residual, joint, scale, axis: _Axis, cols, n: int, tol, max_iter, grid):
    """The residual on `grid` points of the output's range, its sign changes counted, then
    bracketed Newton in the one cell where it changes sign: values, status, iterations."""
    zg = np.linspace(axis.zlow, axis.zhigh, grid)
    yg = axis.value(zg)
    yg[0], yg[-1] = axis.low, axis.high  # exactly the declared range, not exp(log(.)) of it
    status = np.empty(n, dtype=np.int8)
    za = np.empty(n)
    zb = np.empty(n)
    ra = np.empty(n)
    rb = np.empty(n)
    cell = np.empty(n, dtype=np.int64)
    exact = np.zeros(n, dtype=bool)  # the residual is 0 at scan point `cell`
    rows = max(1, _SCAN_CELLS // grid)
    for start in range(0, n, rows):
        sl = slice(start, min(n, start + rows))
        m = sl.stop - sl.start
        vals = {k: v[sl, None] for k, v in cols.items()}
        vals[axis.name] = yg[None, :]
        r = np.broadcast_to(residual(vals), (m, grid))
        pos, neg = r > 0.0, r < 0.0  # NaN is neither: no sign information
        change = (pos[:, :-1] & neg[:, 1:]) | (neg[:, :-1] & pos[:, 1:])
        zero = r == 0.0
        n_zero = np.count_nonzero(zero, 1)
        roots = n_zero + np.count_nonzero(change, 1)
        status[sl] = np.where(roots == 1, SOLVED, np.where(roots > 1, SEVERAL_ROOTS, NO_ROOT))
        has_zero = n_zero > 0
        j = np.argmax(change, 1)
        if has_zero.any():
            j = np.where(has_zero, np.argmax(zero, 1), j)
        jb = np.minimum(j + 1, grid - 1)
        i = np.arange(m)
        za[sl], zb[sl] = zg[j], zg[jb]
        ra[sl], rb[sl] = r[i, j], r[i, jb]
        cell[sl], exact[sl] = j, has_zero

    values = np.full(n, np.nan)
    done = (status == SOLVED) & exact
    values[done] = yg[cell[done]]
    todo = np.nonzero((status == SOLVED) & ~exact)[0]
    iterations = 0
    if todo.size:
        z, ok, iterations = _newton_bracketed(
            joint, scale, axis, {k: v[todo] for k, v in cols.items()},
            za[todo], zb[todo], ra[todo], rb[todo], tol, max_iter,
        )
        values[todo[ok]] = axis.value(z[ok])
        status[todo[~ok]] = NOT_CONVERGED
    return values, status, iterations


# -- systems: damped Newton from several starts ------------------------------------------------
def _solve_system_block(fns: _Functions, axes: list[_Axis], cols, n: int, tol, max_iter, starts):
    k = len(axes)
    zlo = np.array([a.zlow for a in axes])[:, None]
    zhi = np.array([a.zhigh for a in axes])[:, None]
    u = _start_points(k, starts)
    roots = np.full((starts, k, n), np.nan)
    converged = np.zeros((starts, n), dtype=bool)
    against_edge = np.zeros((starts, n), dtype=bool)
    iterations = 0
    # several starts at once, up to _BLOCK rows: row s*n + i is start s at point i (rows never
    # interact), so few points do not pay NumPy's cost a call once for every start
    group = max(1, min(starts, _BLOCK // max(n, 1)))
    for first in range(0, starts, group):
        g = min(group, starts - first)
        z0 = np.repeat(zlo + (zhi - zlo) * u[first:first + g].T, n, axis=1)  # [k, g * n]
        every = {key: np.tile(v, g) if np.ndim(v) else v for key, v in cols.items()} if g > 1 else cols
        z, conv, edge, it = _damped_newton(fns, axes, every, z0, zlo, zhi, tol, max_iter)
        iterations = max(iterations, it)
        conv, edge = conv.reshape(g, n), edge.reshape(g, n)
        for s in range(g):
            ok = conv[s]
            for j, a in enumerate(axes):
                roots[first + s, j, ok] = a.value(z[j, s * n:(s + 1) * n][ok])
        converged[first:first + g], against_edge[first:first + g] = conv, edge & ~conv
    found = converged.any(0)
    first = np.argmax(converged, 0)
    values = roots[first, :, np.arange(n)]  # [n, k]
    distinct = np.zeros(n, dtype=bool)
    linear = np.array([not a.log for a in axes])
    floor = DISTINCT * 1e-3 * (zhi - zlo)[:, 0]  # linear outputs: roots near zero differ by more than this
    for s in range(starts):
        other = roots[s].T
        gap = np.abs(other - values)
        apart = (gap > DISTINCT * np.maximum(np.abs(other), np.abs(values))) & (~linear | (gap > floor))
        distinct |= converged[s] & apart.any(1)
    status = np.where(found, np.where(distinct, SEVERAL_ROOTS, SOLVED),
                      np.where(against_edge.all(0), NO_ROOT, NOT_CONVERGED)).astype(np.int8)
    values[status != SOLVED] = np.nan
    return values, status, iterations


def _system_values(axes, cols, z) -> tuple[dict, list]:
    vals = dict(cols)
    ys = [a.value(z[j]) for j, a in enumerate(axes)]
    for a, y in zip(axes, ys):
        vals[a.name] = y
    return vals, ys


def _residuals(fns: _Functions, vals, m: int) -> np.ndarray:
    return np.stack([_full(fn(vals), m) for fn in fns.residual])


def _damped_newton(fns: _Functions, axes, cols, z, zlo, zhi, tol, max_iter):
    """Newton in z ([k, n]) with backtracking on |r/S|^2, iterates clipped to the box [zlo, zhi].

    Each equation is divided by its term scale S at the current iterate, so the merit
    function weighs every equation by its own size.  Returns the final z, the converged
    rows, the rows that ended against the box, and the iterations taken.
    """
    k, n = z.shape
    out = z.copy()
    conv = np.zeros(n, dtype=bool)
    idx = np.arange(n)
    raw = None  # the residuals at z when the line search has computed them already
    last = np.zeros(n)  # the previous full Newton step, relative (0: none, or a damped one)
    it = 0
    while idx.size and it < max_iter:
        it += 1
        m = idx.size
        vals, ys = _system_values(axes, cols, z)
        jac = np.zeros((k, k, m))  # [equation, output, row]: contiguous rows for the elimination
        if fns.joint is not None:  # residuals, scales and Jacobian sharing their subexpressions
            parts = fns.joint(vals)
            res = np.stack([_full(v, m) for v in parts[:k]])
            scale = np.stack([_full(v, m) for v in parts[k:2 * k]])
            derivs = iter(parts[2 * k:])
        else:
            res = _residuals(fns, vals, m) if raw is None else raw
            scale = np.stack([_full(fn(vals), m) for fn in fns.scale])
            derivs = iter([fn(vals) for row in fns.derivative for fn in row if fn is not None])
        scale = np.where(scale > 0, scale, 1.0)
        res = res / scale
        for i in range(k):
            for j, a in enumerate(axes):
                if fns.derivative[i][j] is not None:  # the entries not identically 0, in this order
                    jac[i, j] = _full(next(derivs), m) * (ys[j] if a.log else 1.0) / scale[i]
        merit = np.einsum("im,im->m", res, res)
        step, singular = _linear_solve(jac, -res)
        singular |= ~np.isfinite(merit)
        step[:, singular] = 0.0
        unit = np.stack([tol * a.step_scale(y) for a, y in zip(axes, ys)])
        size = np.max(np.abs(step) / unit, 0) * tol  # the step, relative
        noise = merit <= k * _NOISE**2  # every residual at rounding level
        # converging quadratically: what this step leaves is about size^3 / last^2 (as in one dimension)
        quadratic = (last > 0) & (size <= 1e-2 * last) & (size**3 <= 1e-2 * tol * last**2)
        small = ((size <= tol) | noise | quadratic) & ~singular
        # backtracking: halve the step until the merit falls (at most 12 times)
        trial = z.copy()
        raw = np.full((k, m), np.nan)
        alpha = 1.0
        full = np.zeros(0, dtype=np.int64)  # the rows whose full step was taken
        accepted = small | singular
        for _ in range(12):
            if not accepted.any():  # every row still to step (the common case): no gathering
                cand = np.clip(z + alpha * step, zlo, zhi)
                v_c, _ = _system_values(axes, cols, cand)
                r_c = _residuals(fns, v_c, m)
                scaled = r_c / scale
                better = np.einsum("im,im->m", scaled, scaled) < merit  # NaN compares False
                if better.all():
                    trial, raw, accepted = cand, r_c, better
                    if alpha == 1.0:
                        full = _all_rows(m)
                    break
                pending = _all_rows(m)
            else:
                pending = np.nonzero(~accepted)[0]
                if not pending.size:
                    break
                cand = np.clip(z[:, pending] + alpha * step[:, pending], zlo, zhi)
                v_c, _ = _system_values(axes, {key: v[pending] for key, v in cols.items()}, cand)
                r_c = _residuals(fns, v_c, pending.size)
                scaled = r_c / scale[:, pending]
                better = np.einsum("im,im->m", scaled, scaled) < merit[pending]  # NaN compares False
            ok = pending[better]
            trial[:, ok], raw[:, ok] = cand[:, better], r_c[:, better]
            accepted[ok] = True
            if alpha == 1.0:
                full = ok
            alpha *= 0.5
        newton_end = z + step
        inside = np.all((newton_end >= zlo) & (newton_end <= zhi), 0)
        if small.any():
            trial[:, small] = np.where(noise[small], z[:, small], np.clip(newton_end[:, small], zlo, zhi))
        # converged: the Newton step was within tol (or the residual at rounding level) inside the box
        done = small & (inside | noise)
        stop = small | singular | ~accepted
        out[:, idx] = trial
        conv[idx[done]] = True
        keep = ~stop
        last = np.zeros(m)
        last[full] = size[full]
        if not keep.all():
            idx, trial, raw, last = idx[keep], trial[:, keep], raw[:, keep], last[keep]
            cols = {key: v[keep] for key, v in cols.items()}
        z = trial
    span = zhi - zlo
    edge = np.any((out <= zlo + 1e-9 * span) | (out >= zhi - 1e-9 * span), 0)
    return out, conv, edge, it
