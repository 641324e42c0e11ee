"""Everything a relation is turned into, derived and compiled once, at declaration.

`CompiledRelation` holds every expression a later stage uses -- outputs, term
scales, the log-space groups of the heads, residuals, their scales and Jacobians
-- compiled for float64 NumPy and (where torch is installed) torch, and the facts
that stages decide from: where each output is one-signed, where it vanishes on a
face of the domain, where its scale vanishes and the atol to use there.  It
probes the formula on the corners, a random sample and the edge layers of the
domain, so a formula that is undefined somewhere is refused at declaration with
the point.  Training, verification, solving, testing, fitting and the artifact
read from it; nothing is compiled later (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from typing import Any

import numpy as np
import sympy as sp

from ..errors import RelationError, UnsupportedExpressionError
from .blocks import Block, block_order
from .compile import compile_expr, compile_joint, derivative
from .display import number, text
from .groups import feature_groups, values_at
from .metric import magnitude
from .reference import explicit_reference
from .sampling import edge_floors, edge_sides

__all__ = ["CompiledRelation"]

#: A scale at or below this is zero to float64 (it underflowed, erfc(158)).
TINY = 1e-300
#: The atol suggested where the scale vanishes: this share of the scale's median.
ATOL_SHARE = 1e-3


def _backends() -> tuple[str, ...]:
    return ("numpy", "torch") if importlib.util.find_spec("torch") is not None else ("numpy",)


class CompiledRelation:
    """The compiled functions and probed facts of one Relation (see the module doc)."""

    def __init__(self, rel):
        rel._program = self  # the probes below evaluate through rel.compiled(...)
        self.problems: list[str] = []
        self.fns: dict[tuple, Any] = {}
        self.backends = _backends()
        self.scale_exprs: dict[str, sp.Expr] = {}
        self.relation_expressions: dict[str, sp.Expr] = {}
        self.groups: dict[str, tuple[sp.Expr, sp.Expr] | None] = {}
        self.sign: dict[str, int] = {}  # +1 / -1: one sign wherever not zero on a face; 0 otherwise
        self.zero_faces: dict[str, list[tuple[int, str]]] = {}  # faces (input column, side) where y is 0
        self.vanishing: dict[str, dict[str, float]] = {}  # output -> a point where its scale vanishes
        self.suggested_atol: dict[str, float] = {}
        self.removable: int = 0  # probe points where float64 needed the extended-precision fallback
        self.feature_groups: list[tuple[sp.Expr, bool]] = []  # the formula's own groups (feature_groups)
        self.group_ranges: list[tuple[float, float]] = []
        #: an implicit system's blocks in solve order (blocks.py); () for an explicit relation
        self.blocks: tuple[Block, ...] = ()
        self.probe, self.faces = _probe(rel.domain)
        cols = _columns(rel.inputs, self.probe)
        if rel.is_explicit:
            self._explicit(rel, cols)
        else:
            self._implicit(rel, cols)
        if self.problems:
            raise RelationError(self.problems, rel.name)

    # -- compiling -------------------------------------------------------------------------
    def add(self, key: tuple, expr: sp.Expr, where: str) -> bool:
        for b in self.backends:
            try:
                self.fns[key + (b,)] = compile_expr(expr, b)
            except UnsupportedExpressionError as e:
                self.problems.append(f"{where}: {e}")
                return False
        return True

    def extended(self, output: str):
        """The output's expression in NumPy extended precision (reference.py's check),
        compiled on first use: only points flagged for lost digits need it."""
        key = ("expression", output, "longdouble")
        if key not in self.fns:
            self.fns[key] = compile_expr(self.relation_expressions[output], "longdouble")
        return self.fns[key]

    def get(self, kind: str, which, backend: str):
        try:
            return self.fns[(kind, which, backend)]
        except KeyError:
            if backend not in self.backends:
                raise ModuleNotFoundError(f"the {backend} backend needs {backend}, which is not installed") from None
            raise KeyError(f"no compiled {kind} for {which!r}") from None

    # -- explicit relations ----------------------------------------------------------------
    def _explicit(self, rel, cols: dict[str, np.ndarray]) -> None:
        def changes_sign(e: sp.Expr, where=sp.true) -> bool:
            if any(s.name not in cols for s in e.free_symbols | where.free_symbols):
                return False  # parameters without values: decided again once substituted
            v = values_at(e, cols)
            if where is not sp.true:
                v = v[np.asarray(compile_expr(where, "numpy")(cols), dtype=bool) * np.ones(len(v), dtype=bool)]
            v = v[np.isfinite(v)]
            tol = 1e-9 * float(np.max(np.abs(v))) if v.size else 0.0  # rounding of the chart at a bound
            return bool(v.size and v.max() > tol and v.min() < -tol)

        for o in rel.outputs:
            expr = rel.expression(o)
            scale = sp.Abs(rel.normalizer[o]) if o in rel.normalizer else magnitude(expr, changes_sign)
            self.scale_exprs[o] = scale
            self.relation_expressions[o] = expr
            ok = self.add(("expression", o), expr, f"the expression of {o}")
            ok = ok and self.add(("scale", o), scale, f"the term scale of {o}")
            ok = ok and self.add(("abs", o), sp.Abs(expr), f"|{o}|")
            if not ok:
                return
            if rel.parameters:  # probed once the parameters have values (Relation.substitute)
                continue
            # the terms of fixed sign, at the top level or once products are multiplied out
            # (sigma (T1^4 - T2^4) / D is sigma T1^4 / D minus sigma T2^4 / D).  A normalizer
            # only sets the error's scale: with the groups left out when one was given, the
            # catalogue's grey-surface exchange got a linear head and certified 1.06
            self.groups[o] = _sign_groups(expr, cols) or _sign_groups(sp.expand_mul(expr), cols)
            if self.groups[o] is not None:
                p, n = self.groups[o]
                self.add(("group_pos", o), p, f"the positive terms of {o}")
                self.add(("group_neg", o), n, f"the negative terms of {o}")
        if self.problems or rel.parameters:
            return
        # the probe's facts need a few hundred careful points at most: a formula undefined over
        # half its domain is refused on the first ones
        ref = explicit_reference(rel, self.probe, max_refined=256)
        self.removable = ref.refined
        y, s = ref.values, ref.scales
        bad = ~np.all(np.isfinite(y) & np.isfinite(s), 1)
        if bad.any():
            i = int(np.argmax(bad))
            j = int(np.argmax(~(np.isfinite(y[i]) & np.isfinite(s[i]))))
            what = "not finite"
            try:  # say complex-valued where that is why (sqrt of a negative number)
                v = complex(rel.expression(rel.outputs[j]).evalf(
                    30, subs={rel.symbols[k]: sp.Float(float(c), 30) for k, c in zip(rel.inputs, self.probe[i])}))
                if v.imag != 0 and math.isfinite(v.imag):
                    what = f"complex-valued ({v:.6g})"
            except (TypeError, ValueError, ArithmeticError):
                pass
            self.problems.append(
                f"{rel.outputs[j]} is {what} at {_where(rel.inputs, self.probe[i])} "
                f"({y[i, j] if not np.isfinite(y[i, j]) else f'its scale {s[i, j]}'}; "
                f"also in {int(bad.sum()) - 1} more of {len(bad)} probe points, even as a limit in 60-digit arithmetic); "
                "narrow the bounds so the formula is defined over the whole domain"
            )
            return
        for j, o in enumerate(rel.outputs):
            pole = _pole(rel, o, self.probe, y[:, j])
            if pole is not None:
                self.problems.append(pole)
                return
            self._signs(rel, o, y[:, j], s[:, j])
        self._groups(rel, cols)

    def _groups(self, rel, cols: dict[str, np.ndarray]) -> None:
        """The formula's own groups as features (feature_groups), compiled, with their ranges."""
        self.feature_groups = feature_groups(rel, cols)
        self.group_ranges = []
        for i, (g, use_log) in enumerate(self.feature_groups):
            self.add(("feature_group", i), sp.log(g) if use_log else g, f"the group {g}")
            t = values_at(sp.log(g) if use_log else g, cols)
            self.group_ranges.append((float(t.min()), float(t.max())))

    def _signs(self, rel, o: str, y: np.ndarray, s: np.ndarray) -> None:
        zero = np.abs(y) <= TINY  # exactly zero (log10(1)) or underflowed
        on_face = self.faces.any(1)
        # a zero face: the output vanishes over (at least half of) the face, not only at a
        # corner or an edge of it (grey plates: q = 0 at corners where T1 = T2)
        one_face = self.faces.sum(1) == 1
        faces = []
        for c in range(self.faces.shape[1]):
            rows = self.faces[:, c] & (one_face if self.faces.shape[1] > 2 else on_face)
            if rows.any() and zero[rows].mean() >= 0.5:
                faces.append((c // 2, ("low", "high")[c % 2]))
        self.zero_faces[o] = faces
        # one sign: never both signs.  Zeros are allowed -- on a face (log10(x) at x = 1), at
        # a corner (x**2 + y**2), or where the output underflows (erfc(158)): a log head
        # comes as close to 0 as float64 does, and the scale there asks for an atol anyway
        if np.all(y >= 0) and np.any(y > 0):
            self.sign[o] = 1
        elif np.all(y <= 0) and np.any(y < 0):
            self.sign[o] = -1
        else:
            self.sign[o] = 0
        smax = float(np.max(s))
        low = s <= TINY  # exactly zero (log10(1)) or underflowed; a scale that is merely small is fine
        where = None
        if low.any():
            where = self.probe[int(np.argmax(low))]
        elif self.sign[o] == 0 and np.any(y > 0) and np.any(y < 0):
            xm, ym, sm = _crossings(rel, o, self.probe, y)
            pole = ~np.isfinite(ym) | (ym > 1e3 * float(np.max(np.abs(y))))
            if pole.any():
                i = int(np.argmax(pole))
                self.problems.append(_pole_message(rel, o, xm[i], rel.domain.inverse(xm[i : i + 1])[0],
                                                   f"it changes sign through a pole (|{o}| = {number(ym[i], 3)} there)"))
                return
            vanish = sm <= 1e-9 * smax
            if vanish.any():
                where = xm[int(np.argmax(vanish))]
        if where is not None:
            self.vanishing[o] = {n: float(v) for n, v in zip(rel.inputs, where)}
            self.suggested_atol[o] = float(f"{ATOL_SHARE * float(np.median(s)):.1g}")

    # -- implicit relations ----------------------------------------------------------------
    def _implicit(self, rel, cols: dict[str, np.ndarray]) -> None:
        syms = rel.symbols
        probe = dict(cols)
        probe.update(_output_probe(rel, len(self.probe)))
        derivs: dict[tuple[int, int], sp.Expr] = {}
        for i, r in enumerate(rel.residuals):
            scale = sp.Add(*[sp.Abs(t) for t in sp.Add.make_args(r)])
            self.scale_exprs[i] = scale
            ok = self.add(("residual", i), r, f"equation {i + 1}")
            ok = ok and self.add(("residual_scale", i), scale, f"the term scale of equation {i + 1}")
            if not ok:
                continue
            for j, o in enumerate(rel.outputs):
                d = derivative(r, syms[o])
                derivs[(i, j)] = d
                self.add(("jacobian", (i, j)), d, f"d(equation {i + 1})/d{o}")
                self.fns[("depends", (i, j), "numpy")] = d != 0
            if rel.parameters:
                continue
            groups = _sign_groups(r, probe, strict=True)
            self.groups[i] = groups
            if groups is not None:
                self.add(("group_pos", i), groups[0], f"the positive terms of equation {i + 1}")
                self.add(("group_neg", i), groups[1], f"the negative terms of equation {i + 1}")
        if not rel.parameters and not self.problems:
            self._groups(rel, cols)
        # the system's block-lower-triangular order, once: the solve goes block by block
        blocks = []
        for b in block_order(rel.residuals, [syms[o] for o in rel.outputs]):
            if b.explicit is not None:
                try:  # the solve is NumPy only
                    self.fns[("solved_output", b.outputs[0], "numpy")] = compile_expr(b.explicit, "numpy")
                except UnsupportedExpressionError:
                    b = dataclasses.replace(b, explicit=None)
            blocks.append(b)
        self.blocks = tuple(blocks)
        # each block to solve, its residuals, term scales and Jacobian as one NumPy function whose
        # common subexpressions are evaluated once (the solve's Newton iterations; solve.py)
        for k, b in enumerate(self.blocks):
            parts = [(i, j) for i in b.equations for j in b.outputs]
            if b.explicit is not None or not all(ij in derivs for ij in parts):
                continue
            exprs = [rel.residuals[i] for i in b.equations] + [self.scale_exprs[i] for i in b.equations]
            try:
                # the Jacobian's entries that are not identically 0, by equation then output
                self.fns[("block", k, "numpy")] = compile_joint(exprs + [derivs[ij] for ij in parts if derivs[ij] != 0])
            except UnsupportedExpressionError:
                pass  # the solve evaluates the separate functions


# -- the probe -------------------------------------------------------------------------------
def _probe(domain, n: int = 2048, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probe points [N, d] (corners, faces, random, arcsine and edge-layer draws) and a
    boolean [N, 2d] telling which lie on which face (columns: low of input k at 2k,
    high at 2k + 1)."""
    d = domain.dim
    rng = np.random.default_rng(seed)
    parts = []
    if d <= 10:
        parts.append(((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(np.float64))
    faces = rng.random((64 * d, d))
    for k in range(d):
        faces[64 * k : 64 * k + 32, k] = 0.0
        faces[64 * k + 32 : 64 * (k + 1), k] = 1.0
    parts += [faces, rng.random((n, d)), 0.5 - 0.5 * np.cos(math.pi * rng.random((n // 2, d)))]
    u = np.concatenate(parts)
    on = np.zeros((len(u), 2 * d), dtype=bool)
    on[:, 0::2] = u == 0.0
    on[:, 1::2] = u == 1.0
    x = domain.chart(u)
    edges = edge_sides(domain)
    if edges:
        ue = rng.random((n // 2, d))
        xe = domain.chart(ue, edges, np.ones_like(ue, dtype=bool), edge_floors(domain, "verify"))
        x = np.concatenate([x, xe])
        on = np.concatenate([on, np.zeros((len(xe), 2 * d), dtype=bool)])
    return x, on


def _columns(names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    return {k: x[:, j] for j, k in enumerate(names)}


def _where(names, row) -> str:
    return ", ".join(f"{k}={v:.9g}" for k, v in zip(names, row))


def _sign_groups(expr: sp.Expr, cols: dict[str, np.ndarray], strict: bool = False):
    """(P, N): the positive terms of `expr` and minus its negative ones, if every term
    keeps one sign on the probe and both groups are non-empty; else None."""
    pos, neg = [], []
    for term in sp.Add.make_args(expr):
        v = values_at(term, cols)
        if not np.all(np.isfinite(v)):
            return None
        # a term that vanishes on a face may come out an ulp the other side of zero where
        # the chart rounds (seed 001's gap term at x2 = x1)
        tol = 0.0 if strict else 1e-12 * float(np.max(np.abs(v)))
        if np.all(v > 0) or (not strict and np.all(v >= -tol)):
            pos.append(term)
        elif np.all(v < 0) or (not strict and np.all(v <= tol)):
            neg.append(-term)
        else:
            return None
    if not pos or not neg:
        return None
    return sp.Add(*pos), sp.Add(*neg)


def _crossings(rel, o: str, x: np.ndarray, y: np.ndarray):
    """Where output `o` changes sign: (points, |y|, scale) at the crossings found by
    bisecting, in chart coordinates, between up to 16 pairs of probe points of
    opposite signs.  A zero, a jump, or a pole (|y| grows without bound)."""
    dom = rel.domain
    u = dom.inverse(x)
    pos, neg = np.nonzero(y > 0)[0][:16], np.nonzero(y < 0)[0][:16]
    m = min(len(pos), len(neg))
    a, b = u[pos[:m]], u[neg[:m]]
    f = rel.compiled("expression", o, "numpy")
    g = rel.compiled("scale", o, "numpy")
    for _ in range(60):
        mid = 0.5 * (a + b)
        v = np.asarray(f(_columns(rel.inputs, dom.chart(mid))), dtype=np.float64) * np.ones(m)
        up = v > 0
        a = np.where(up[:, None], mid, a)
        b = np.where(up[:, None], b, mid)
    xm = dom.chart(0.5 * (a + b))
    cols = _columns(rel.inputs, xm)
    with np.errstate(all="ignore"):
        ym = np.abs(np.asarray(f(cols), dtype=np.float64) * np.ones(m))
        sm = np.asarray(g(cols), dtype=np.float64) * np.ones(m)
    return xm, ym, sm


def _output_probe(rel, n: int) -> dict[str, np.ndarray]:
    """Outputs spread over their declared ranges (log-uniform where log-scaled)."""
    rng = np.random.default_rng(0)
    out = {}
    for o in rel.outputs:
        lo, hi = rel.output_ranges[o]
        u = rng.random(n)
        out[o] = lo * (hi / lo) ** u if rel.output_scale(o) == "log" else lo + (hi - lo) * u
    return out


# -- poles -----------------------------------------------------------------------------------
def _singular_parts(expr: sp.Expr) -> list[tuple[sp.Expr, str]]:
    """(g, what): every sub-expression g of `expr` whose zero sends a node of it to infinity
    -- the base of a negative power, the argument of log, cos of tan's argument, ... --
    with words for it.  Whether the output itself goes to infinity there is decided by
    `_grows` (sin(x)/x does not)."""
    found: dict[sp.Expr, str] = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and node.exp.is_number and node.exp.is_negative:
            found.setdefault(node.base, f"the base of {node}")
        elif isinstance(node, sp.log):
            found.setdefault(node.args[0], f"the argument of {node}")
        elif isinstance(node, (sp.tan, sp.sec)):
            found.setdefault(sp.cos(node.args[0]), f"cos of the argument of {node}")
        elif isinstance(node, (sp.cot, sp.csc)):
            found.setdefault(sp.sin(node.args[0]), f"sin of the argument of {node}")
        elif isinstance(node, (sp.coth, sp.csch)):
            found.setdefault(sp.sinh(node.args[0]), f"sinh of the argument of {node}")
        elif isinstance(node, (sp.atanh, sp.erfinv)):
            found.setdefault(1 - node.args[0] ** 2, f"1 - (the argument of {node})**2")
        elif isinstance(node, (sp.gamma, sp.loggamma, sp.polygamma)):  # poles at 0, -1, -2, ...
            found.setdefault(sp.sin(sp.pi * node.args[-1]), f"sin(pi x) of the argument x of {node}")
        elif isinstance(node, (sp.besselk, sp.bessely)):  # orders 0 and 1: infinite at 0
            found.setdefault(node.args[1], f"the argument of {node}")
    # one sign over the whole domain by the symbols' assumptions (which follow the bounds):
    # continuous on a closed domain, it keeps away from 0
    return [(g, w) for g, w in found.items() if g.free_symbols and not (g.is_positive or g.is_negative)]


def _zeros(dom, g, u0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local minima of |g| from the chart points u0 [S, d], by a pattern search in the chart
    (the unit cube, so dependent bounds come for free): each coordinate moved by +-h, h
    halved when no move helps, down to 1e-15.  A zero that keeps its sign ((x - 1)**2) is
    found like one that changes it.  Returns the points [S, d] and |g| there [S]."""
    f = compile_expr(g, "numpy")
    names = dom.names

    def absg(u):
        with np.errstate(all="ignore"):
            v = np.abs(np.asarray(f(_columns(names, dom.chart(u))), dtype=np.float64) * np.ones(len(u)))
        return np.where(np.isfinite(v), v, np.inf)

    u = np.array(u0, dtype=np.float64)
    best = absg(u)
    h = np.full(len(u), 1.0 / 16)
    d = u.shape[1]
    for _ in range(2000):
        live = (h > 1e-15) & (best > 0)
        if not live.any():
            break
        moved = np.zeros(len(u), dtype=bool)
        for k in range(d):
            for s in (1.0, -1.0):
                t = u.copy()
                t[:, k] = np.clip(t[:, k] + s * h, 0.0, 1.0)
                v = absg(t)
                better = live & (v < best)
                u[better], best[better] = t[better], v[better]
                moved |= better
        h = np.where(moved | ~live, h, 0.5 * h)
    return u, best


def _approach(rel, o: str, u_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|o| on the way to the chart point u_star, by its careful reference (explicit_reference:
    a removable singularity is its limit), at chart distances 1e-1 .. 1e-8 from u_star towards
    the farthest corner; and those points x (nearest last).  `_grows` reads them."""
    corner = np.where(u_star < 0.5, 1.0, 0.0)
    w = (corner - u_star) / np.linalg.norm(corner - u_star)
    t = 10.0 ** -np.arange(1, 9)
    x = rel.domain.chart(np.clip(u_star[None, :] + t[:, None] * w[None, :], 0.0, 1.0))
    j = rel.outputs.index(o)
    with np.errstate(all="ignore"):
        y = np.abs(explicit_reference(rel, x, max_refined=len(x)).values[:, j])
    return y, x


def _pole(rel, o: str, probe: np.ndarray, y_probe: np.ndarray) -> str | None:
    """The message refusing output `o` where a part of it vanishes inside the domain and
    the output goes to infinity there, whether or not it changes sign; None if nowhere."""
    dom = rel.domain
    u_probe = dom.inverse(probe)
    ymax = float(np.max(np.abs(y_probe)))
    for g, what in _singular_parts(rel.expression(o)):
        with np.errstate(all="ignore"):
            v = np.abs(values_at(g, _columns(rel.inputs, probe)))
        fin = np.isfinite(v)
        if not fin.any():
            continue
        gmax = float(v[fin].max())
        # starts: the probe points where |g| is smallest, and a spread of others
        order = np.argsort(np.where(fin, v, np.inf))
        starts = np.unique(np.concatenate([order[:8], order[fin[order]][:: max(1, fin.sum() // 8)][:8]]))
        u, best = _zeros(dom, g, u_probe[starts])
        seen: list[np.ndarray] = []
        for i in np.argsort(best):
            # |g| keeps away from 0 (relative to its own size; 1e-9 as for a vanishing scale)
            if not best[i] <= 1e-9 * gmax:
                break
            if any(np.max(np.abs(u[i] - s)) < 1e-6 for s in seen):
                continue
            seen.append(u[i])
            if len(seen) > 4:
                break
            yk, xk = _approach(rel, o, u[i])
            if _grows(yk, ymax):
                at = dom.chart(u[i][None, :])[0]
                return _pole_message(rel, o, at, u[i], f"{text(g)}, {what}, vanishes there,"
                                     f" and |{o}| grows without bound towards it (|{o}| = {yk[-1]:.3g} at "
                                     f"{_where(rel.inputs, xk[-1])})",
                                     {s.name for s in g.free_symbols})
    return None


def _grows(y: np.ndarray, ymax: float) -> bool:
    """Whether |o| at `_approach`'s points (nearest last) grows without bound: it is not finite,
    or it keeps growing without converging.  A limit is approached geometrically (the
    increments shrink ~10x a step: analytic, or t log t); a pole's increments grow and log's
    stay constant, so the last four may shrink by at most half a step each.  The growth must
    exceed 1e-6 of the largest |o| on the probe, far above rounding (1e-16 amplified by
    1/t <= 1e8)."""
    if not np.all(np.isfinite(y)):
        return True
    d = np.diff(y)[-4:]
    return bool(np.all(d > 0) and np.all(d[1:] >= 0.5 * d[:-1]) and y[-1] - y[-5] > 1e-6 * ymax)


def _pole_message(rel, o: str, x: np.ndarray, u: np.ndarray, why: str, near: set[str] | None = None) -> str:
    """The refusal of a pole of output `o` at x (chart point u) inside the domain: where,
    why, and which bound to move past it (of the inputs in `near`, default all)."""
    def bound(b: sp.Expr) -> str:
        return number(float(b)) if b.is_number else text(b)

    fixes = []
    for k, spec in enumerate(rel.domain.inputs):
        if near is not None and spec.name not in near:
            continue
        if u[k] < 0.5:
            fixes.append(f"raise the low bound of {spec.name} (now {bound(spec.low)}) above {number(x[k])}")
        else:
            fixes.append(f"lower the high bound of {spec.name} (now {bound(spec.high)}) below {number(x[k])}")
    return (f"{o} goes to infinity at {_where(rel.inputs, x)}, inside the domain: {why}; a surrogate cannot "
            f"follow a pole: {' or '.join(fixes)}, so that the domain leaves the pole out")
