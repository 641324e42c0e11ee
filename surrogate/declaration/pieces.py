"""Piecewise relations: one network per piece, dispatched exactly where the formula switches.

A relation whose output is a SymPy ``Piecewise`` (after `sympy.piecewise_fold` lifts a
Piecewise factor to the top) with conditions that are thresholds on inputs (banded
constants, a laminar/turbulent switch) is split at declaration (`plan`): piece k's
region is its condition AND NOT the earlier ones, as SymPy's Piecewise reads them.
Where that region is a box of the domain (each condition a threshold on one input with
numeric bounds), the piece is a sub-`Relation` with that input's bounds narrowed and
the piece's expression.  A region of zero measure (a face, such as epsilon-NTU's
``Cr = 1`` limit) or an empty one is not a piece; a relation left with fewer than two
pieces stays one network.  A condition that cannot be expressed as bounds leaves the
relation one network and says why in a `PiecewiseWarning`.

`assign` gives each point its piece (the comparisons of the conditions, strict or not
as written); a point on a zero-measure piece (not sampled by any certificate) goes to
the first piece whose closed region holds it.  The stages that use the plan:
training (`surrogate.training.pieces`, one network per piece), the model
(`surrogate.model.piecewise`), checking (`surrogate.checking.pieces`, each piece on its
own sub-domain).  NumPy and SymPy only: the NumPy runtime dispatches with it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import RelationError

__all__ = ["Piece", "PiecewiseWarning", "assign", "plan"]


class PiecewiseWarning(UserWarning):
    """A Piecewise relation is trained as one network: its pieces could not be separated."""


@dataclass(frozen=True)
class Piece:
    """One piece of a piecewise relation.

    `region` maps each input whose bounds the piece narrows to
    ``(low, high, low_closed, high_closed)``; an end on the domain's own bound is
    -inf or +inf, so that dispatch covers everything outside the domain too (the
    nearest piece extrapolates where ``outside="allow"``).  `relation` is the
    sub-relation trained and certified for the piece; its inputs are those the
    piece's expression uses (a subset of the parent's, in the parent's order)."""

    number: int  # 1-based, among the pieces kept
    index: int  # position of the expression among the Piecewise's arguments
    condition: str  # the region, as text ("4 <= Re < 40")
    region: dict[str, tuple[float, float, bool, bool]]
    relation: Any  # the sub-Relation; None for a constant piece
    columns: tuple[int, ...]  # the parent's input columns the sub-relation takes
    constant: tuple[float, ...] | None = None  # a piece whose expression uses no input: its values, no network

    def mask(self, x, inputs: list[str], xp=np, closed: bool = False):
        """Boolean [N]: which rows of x (parent input order) lie in the region (or its closure)."""
        m = None
        for name, (lo, hi, lc, hc) in self.region.items():
            v = x[:, inputs.index(name)]
            a = (v >= lo) if (lc or closed) else (v > lo)
            b = (v <= hi) if (hc or closed) else (v < hi)
            m = (a & b) if m is None else (m & a & b)
        if m is None:
            return xp.ones(x.shape[0], dtype=bool) if xp is np else xp.ones(x.shape[0], dtype=xp.bool, device=x.device)
        return m


def assign(pieces, inputs: list[str], x, xp=np):
    """The piece (0-based position in `pieces`) of every row of x: the first whose region
    holds it, else (a face of zero measure between pieces) the first whose closed
    region does.  NumPy or torch (xp=torch), for ONNX as well."""
    if xp is np:
        idx = np.full(x.shape[0], -1, dtype=np.int64)
        for closed in (False, True):
            for k, p in enumerate(pieces):
                idx = np.where((idx < 0) & p.mask(x, inputs, np, closed), k, idx)
        return np.where(idx < 0, 0, idx)
    idx = xp.full((x.shape[0],), len(pieces), dtype=xp.int64, device=x.device)
    for closed in (True, False):  # reversed, so the first match wins
        for k in reversed(range(len(pieces))):
            idx = xp.where(pieces[k].mask(x, inputs, xp, closed), xp.full_like(idx, k), idx)
    return xp.where(idx >= len(pieces), xp.zeros_like(idx), idx)


# -- detection, at declaration -------------------------------------------------------------------
class _Inexpressible(Exception):
    pass


def plan(relation) -> tuple[Piece, ...] | None:
    """The pieces of `relation`, or None where it is trained as one network.

    Called once by `Relation.__init__`.  Warns (PiecewiseWarning) where a Piecewise
    could be split in principle but its conditions cannot be expressed as bounds.
    """
    if relation.parameters or not relation.is_explicit or relation.domain is None:
        return None
    found = []
    for o in relation.outputs:
        e = relation.expression(o)
        if e.has(sp.Piecewise):
            f = sp.piecewise_fold(e)
            if isinstance(f, sp.Piecewise):
                found.append((o, f))
    if not found:
        return None
    label = relation.name or "relation"
    try:
        conditions = [tuple(c for _, c in pw.args) for _, pw in found]
        if any(c != conditions[0] for c in conditions[1:]):
            raise _Inexpressible(f"outputs {', '.join(o for o, _ in found)} are Piecewise with different "
                                 "conditions; pieces are separated where every Piecewise output has the same ones")
        kept = _regions(relation, found[0][1])
        if len(kept) < 2:
            return None  # one piece of positive measure: the current single network
        return tuple(_piece(relation, {o: pw.args[index].expr for o, pw in found}, number, index, box)
                     for number, (index, _, box) in enumerate(kept, 1))
    except _Inexpressible as why:
        warnings.warn(f"{label}: its Piecewise is trained as one network, not one per piece, because {why}; "
                      "a smooth network is then fitted across the switch (write each condition as a threshold "
                      "on one input, e.g. Re < 4000, to get one network per piece)", PiecewiseWarning, stacklevel=3)
        return None


def _regions(relation, pw: sp.Piecewise) -> list[tuple[int, sp.Expr, dict[str, sp.Interval]]]:
    """(index, expression, box) of every piece whose region has positive measure."""
    dom = {s.name: s for s in relation.domain.inputs}
    full = {}
    for n, s in dom.items():
        if not s.dependent:
            full[n] = sp.Interval(s.low, s.high)
    earlier: list = []
    kept = []
    for index, (expr, cond) in enumerate(pw.args):
        region = sp.And(cond, *[sp.Not(c) for c in earlier])
        earlier.append(cond)
        box = _box(region, relation, dom, full)
        if box is None:
            continue
        kept.append((index, expr, box))
    return kept


def _box(region, relation, dom, full) -> dict[str, sp.Interval] | None:
    """{input: interval} narrowing the domain to `region`, or None where it has zero measure."""
    if region is sp.false:
        return None
    if region is sp.true:
        return {}
    atoms = region.atoms(sp.core.relational.Relational)
    names = set()
    for a in atoms:
        syms = a.free_symbols
        if len(syms) != 1:
            raise _Inexpressible(f"the condition {a} is not a threshold on one input")
        (s,) = syms
        if s.name not in dom:
            raise _Inexpressible(f"the condition {a} depends on {s.name}, which is not an input")
        if dom[s.name].dependent:
            raise _Inexpressible(f"the condition {a} is on {s.name}, whose bounds depend on other inputs")
        names.add(s.name)
    if not atoms:
        raise _Inexpressible(f"the condition {region} is not a comparison of inputs")
    if len(names) == 1:  # a threshold on one input: the region is a set on its line
        (n,) = names
        conjuncts = [{n: _as_set(region, relation.symbols[n])}]
    else:
        dnf = sp.to_dnf(region)
        conjuncts = []
        for c in sp.Or.make_args(dnf):
            sets: dict[str, sp.Set] = {}
            for a in sp.And.make_args(c):
                (s,) = a.free_symbols
                sets[s.name] = sets.get(s.name, sp.S.Reals) & _as_set(a, s)
            conjuncts.append(sets)
    boxes = []
    for sets in conjuncts:
        box = {}
        for n, st in sets.items():
            st = st & full[n]
            if not isinstance(st, sp.Interval) and st is not sp.S.EmptySet and not isinstance(st, sp.FiniteSet):
                raise _Inexpressible(f"the region {region} is not one interval of {n} ({st})")
            if st is sp.S.EmptySet or isinstance(st, sp.FiniteSet) or not st.start < st.end:
                box = None  # empty, or a face: zero measure
                break
            box[n] = st
        if box is not None:
            boxes.append(box)
    if not boxes:
        return None
    if len(boxes) > 1:
        raise _Inexpressible(f"the region {region} is a union of {len(boxes)} boxes, not one box of bounds")
    return boxes[0]


def _as_set(cond, sym) -> sp.Set:
    try:
        return cond.as_set() if cond.free_symbols else (sp.S.Reals if cond else sp.S.EmptySet)
    except (NotImplementedError, TypeError, ValueError) as e:
        raise _Inexpressible(f"SymPy cannot solve the condition {cond} for {sym} ({e})") from None


def _describe(box: dict[str, sp.Interval]) -> str:
    if not box:
        return "everywhere"
    parts = []
    for n, iv in box.items():
        lo = f"{_num(iv.start)} {'<' if iv.left_open else '<='} "
        hi = f" {'<' if iv.right_open else '<='} {_num(iv.end)}"
        parts.append(f"{lo}{n}{hi}")
    return " and ".join(parts)


def _num(v) -> str:
    return f"{float(v):.12g}"


def _piece(relation, own: dict[str, sp.Expr], number: int, index: int, box) -> Piece:
    """Piece `number`: `own` gives the piece's expression of each Piecewise output."""
    dom = {s.name: s for s in relation.domain.inputs}
    syms = relation.symbols
    exprs = {o: own.get(o, relation.expression(o)) for o in relation.outputs}
    used = set()
    for e in [*exprs.values(), *relation.normalizer.values()]:
        used |= {s.name for s in e.free_symbols}
    grow = True
    while grow:  # an input whose bounds depend on a kept input keeps that one too
        before = set(used)
        for n in list(used):
            if n in dom:
                used |= dom[n].depends_on
        grow = used != before
    inputs = [n for n in relation.inputs if n in used]
    what = f"piece {number} ({_describe(box)}, {', '.join(f'{o} = {e}' for o, e in own.items())})"
    region = {}
    for n, iv in box.items():
        lo = -math.inf if iv.start == dom[n].low else float(iv.start)
        hi = math.inf if iv.end == dom[n].high else float(iv.end)
        region[n] = (lo, hi, not iv.left_open, not iv.right_open)
    if not inputs:  # banded constants: the piece is its value, exactly; no network
        try:
            values = tuple(float(exprs[o]) for o in relation.outputs)
        except (TypeError, ValueError):
            values = (math.nan,)
        if not all(math.isfinite(v) for v in values):
            raise _Inexpressible(f"{what} is a constant that is not a finite real number")
        return Piece(number, index, _describe(box), region, None, tuple(range(len(relation.inputs))), values)
    bounds = {}
    for n in inputs:
        lo, hi = relation.bounds[n]
        if n in box:
            lo, hi = box[n].start, box[n].end
        bounds[syms[n]] = (lo, hi)
    ranges = relation.output_ranges
    outputs = ({syms[o]: r for o, r in ranges.items()} if any(r is not None for r in ranges.values())
               else [syms[o] for o in relation.outputs])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PiecewiseWarning)
            sub = type(relation)([sp.Eq(syms[o], e) for o, e in exprs.items()], bounds=bounds, outputs=outputs,
                           scales={n: dom[n].scale for n in inputs}, normalizer=dict(relation.normalizer) or None,
                           name=f"{relation.name or 'relation'} piece {number}")
    except RelationError as e:
        raise _Inexpressible(f"{what} does not make a relation of its own: {e}") from None
    sub.pieces = None  # a piece is one network, whatever nested Piecewise its expression holds
    return Piece(number, index, _describe(box), region, sub, tuple(relation.inputs.index(n) for n in inputs))
