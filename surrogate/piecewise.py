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

`train` trains one network per piece (the budget split evenly) and returns a
`PiecewiseSurrogate`, which evaluates each point with the network of the piece whose
region holds it (the comparisons of the conditions, strict or not as written);
`verify` certifies each piece on its own sub-domain and reports each one in the
certificate's ``pieces``.  A point on a zero-measure piece (not sampled by any
certificate) goes to the first piece whose closed region holds it.

This module imports torch only inside the functions that train, verify or save, so
that `surrogate.runtime` (NumPy only) can dispatch with it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .inputs import Predictor

__all__ = ["Piece", "PiecewiseSurrogate", "PiecewiseWarning", "assign", "plan"]


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
    from .errors import RelationError
    from .relation import Relation

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
            sub = Relation([sp.Eq(syms[o], e) for o, e in exprs.items()], bounds=bounds, outputs=outputs,
                           scales={n: dom[n].scale for n in inputs}, normalizer=dict(relation.normalizer) or None,
                           name=f"{relation.name or 'relation'} piece {number}")
    except RelationError as e:
        raise _Inexpressible(f"{what} does not make a relation of its own: {e}") from None
    sub.pieces = None  # a piece is one network, whatever nested Piecewise its expression holds
    return Piece(number, index, _describe(box), region, sub, tuple(relation.inputs.index(n) for n in inputs))


# -- training ------------------------------------------------------------------------------------
def train_pieces(relation, train_one, *, tolerance, time_limit, max_steps, device, seed, progress, config, atol):
    """One network per piece, the budget split evenly; `train_one` is `train.train`."""
    import time

    from .train import TrainConfig, _check_relation, resolve_atol

    _check_relation(relation)
    pieces = relation.pieces
    cfg = config or TrainConfig()
    atol = resolve_atol(relation, atol)  # once, for the whole relation; each piece gets it as given
    if max_steps is not None and (not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, not {max_steps!r}")
    if time_limit is None and max_steps is None:
        time_limit = cfg.default_time_limit
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0
                                       and math.isfinite(time_limit)):
        raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
    t0 = time.perf_counter()
    models, interrupted = [], False
    trained = [p for p in pieces if p.constant is None]  # a constant piece is exact and takes no budget
    for p in pieces:
        if p.constant is not None:
            models.append(ConstantPiece(p.constant, relation.outputs))
            continue
        left = len(trained) - trained.index(p)
        share_time = None
        if time_limit is not None:  # what earlier pieces left unused goes to the later ones
            share_time = max((time_limit - (time.perf_counter() - t0)) / left, 1e-3)
        share_steps = max(1, max_steps // len(trained)) if max_steps is not None else None
        if interrupted:  # Ctrl-C: the pieces not reached get a one-step network, so the model is whole
            share_time, share_steps = None, 1
        m = train_one(p.relation, tolerance=tolerance, time_limit=share_time, max_steps=share_steps, device=device,
                      seed=seed, progress=progress, config=config, atol=atol)
        interrupted = interrupted or m.info.get("stop") == "interrupted"
        models.append(m)
    infos = [m.info for m in models]
    stops = sorted({i["stop"] for i in infos})
    info = {
        "method": next((i["method"] for i in infos if "method" in i), "constant"),
        "pieces": [{"piece": p.number, "condition": p.condition, **i} for p, i in zip(pieces, infos)],
        "steps": sum(i.get("steps", 0) for i in infos),
        "seconds": round(time.perf_counter() - t0, 3),
        "stop": "interrupted" if interrupted else ", ".join(stops),
        "device": next((i["device"] for i in infos if "device" in i), "cpu"),
        "seed": seed,
        "atol": atol,
        "validation": {"max": max(i["validation"].get("max", math.inf) for i in infos),
                       "mean": float(np.mean([i["validation"].get("mean", math.inf) for i in infos]))},
    }
    return PiecewiseSurrogate(relation, models, info=info)


# -- the model -----------------------------------------------------------------------------------
class ConstantPiece:
    """The model of a piece whose expression uses no input: its values, exactly (float64)."""

    def __init__(self, values, outputs):
        self.values = np.asarray(values, dtype=np.float64)
        self.outputs = list(outputs)
        self.info = {"steps": 0, "seconds": 0.0, "stop": "constant", "validation": {"max": 0.0, "mean": 0.0}}
        self._module = None

    def evaluate(self, x, **kw) -> np.ndarray:
        return np.broadcast_to(self.values, (np.asarray(x).shape[0], len(self.values))).copy()

    @property
    def module(self):
        """A torch module returning the values for every row (full inputs in)."""
        if self._module is None:
            import torch

            class _Constant(torch.nn.Module):
                def __init__(self, values):
                    super().__init__()
                    self.register_buffer("values", torch.from_numpy(values))

                def forward(self, x):
                    return torch.ones_like(x[:, :1], dtype=self.values.dtype) * self.values

            self._module = _Constant(self.values)
        return self._module

    def to(self, device=None, dtype=None):
        return self


class PiecewiseSurrogate(Predictor):
    """A surrogate of a piecewise relation: one `Surrogate` per piece, each point
    evaluated by the network of the piece that holds it.

    Takes and refuses the same inputs as `Surrogate` (keyword arrays, DataFrames,
    the domain check), saves to one file, exports to one ONNX graph.  `models[k]`
    is piece k's own Surrogate, over its sub-relation `pieces[k].relation`.
    """

    def __init__(self, relation, models, *, certificate=None, info=None):
        pieces = relation.pieces
        if not pieces or len(pieces) != len(models):
            from .errors import SurrogateError

            raise SurrogateError(f"{relation.name or 'the relation'} has {len(pieces or ())} pieces; "
                                 f"{len(models)} models were given")
        self.relation = relation
        self.pieces = pieces
        self.models = list(models)
        self.certificate = certificate
        self.info = dict(info or {})

    @property
    def networks(self) -> list:
        """The pieces' Surrogates (constant pieces have none)."""
        return [m for m in self.models if not isinstance(m, ConstantPiece)]

    def __repr__(self) -> str:
        nets = self.networks
        cfg = nets[0].module.net.config if nets else None
        what = f"MLP {cfg['depth']}x{cfg['width']} {cfg['activation']} each" if cfg else "constants"
        consts = len(self.models) - len(nets)
        cert = f", max error {self.certificate.max_error:.3g}" if self.certificate is not None else ""
        return (f"PiecewiseSurrogate({self.relation.name or 'relation'}: {', '.join(self.inputs)} -> "
                f"{', '.join(self.outputs)}; {len(self.models)} pieces, {what}"
                f"{f' ({consts} constant)' if consts and cfg else ''}{cert})")

    @property
    def device(self):
        import torch

        return self.networks[0].device if self.networks else torch.device("cpu")

    @property
    def dtype(self):
        import torch

        return self.networks[0].dtype if self.networks else torch.float64

    def to(self, device=None, dtype=None):
        for m in self.models:
            m.to(device=device, dtype=dtype)
        return self

    def piece_of(self, x: np.ndarray) -> np.ndarray:
        """The 0-based piece of each row of x (NumPy [N, len(inputs)])."""
        return assign(self.pieces, self.inputs, np.asarray(x, dtype=np.float64))

    def evaluate(self, x: np.ndarray, **kw) -> np.ndarray:
        """float64 NumPy [N, d] -> [N, m]: each row by its piece's network (no domain check)."""
        x = np.asarray(x, dtype=np.float64)
        idx = self.piece_of(x)
        out = np.empty((x.shape[0], len(self.outputs)), dtype=np.float64)
        for k, (p, m) in enumerate(zip(self.pieces, self.models)):
            rows = idx == k
            if rows.any():
                out[rows] = m.evaluate(x[rows][:, list(p.columns)], **kw)
        return out

    def forward(self, x):
        """Tensor in, tensor out, [N, len(inputs)] -> [N, len(outputs)]: every piece's network,
        then torch.where by the regions (differentiable, and exportable to ONNX)."""
        return _dispatch(self.pieces, self.inputs, [m.module for m in self.models], x)

    def save(self, path) -> None:
        """One safetensors file: the relation, every piece's network, the certificate."""
        save(self, path)

    def export_onnx(self, path, *, precision: str | None = None) -> None:
        """One ONNX graph for all pieces (see artifact.export_onnx)."""
        from .artifact import export_onnx

        export_onnx(self, path, precision=precision)


def _dispatch(pieces, inputs, modules, x):
    import torch

    idx = assign(pieces, inputs, x, torch)
    out = None
    for k in reversed(range(len(pieces))):
        y = modules[k](x[:, list(pieces[k].columns)])
        out = y if out is None else torch.where((idx == k)[:, None], y, out)
    return out


def onnx_module(model, precision: str):
    """A torch module of the composite whose networks run in `precision`, for export."""
    import copy

    import torch

    from .model import SurrogateModule

    mods = torch.nn.ModuleList([
        m.module if isinstance(m, ConstantPiece) else
        SurrogateModule(m.relation, m.module.feature_specs, m.module.head_specs,
                        copy.deepcopy(m.module.net).cpu().eval().to(getattr(torch, precision)))
        for m in model.models])

    class _Composite(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = mods

        def forward(self, x):
            return _dispatch(model.pieces, model.inputs, list(self.mods), x)

    return _Composite()


# -- verification --------------------------------------------------------------------------------
def verify_pieces(model, relation, *, points, atol, seed, search, starts, steps):
    """Certify each piece on its own sub-domain; the certificate's figures are over all pieces."""
    import time

    from .errors import SurrogateError
    from .train import resolve_atol
    from .verify import Certificate, verify

    t0 = time.perf_counter()
    relation = relation or model.relation
    if relation.pieces is None or len(relation.pieces) != len(model.models) or \
            list(relation.inputs) != list(model.inputs) or list(relation.outputs) != list(model.outputs):
        raise SurrogateError(
            f"the model has {len(model.models)} pieces over {', '.join(model.inputs)} -> {', '.join(model.outputs)}; "
            f"the relation {relation.name or ''} has {len(relation.pieces or ())} pieces over "
            f"{', '.join(relation.inputs)} -> {', '.join(relation.outputs)}")
    if points < 16:
        raise ValueError(f"points must be at least 16, not {points!r}")
    if atol is None and model.info.get("atol") is not None:
        atol = model.info["atol"]
    atol = resolve_atol(relation, atol)
    n = len(model.models)
    each = max(16, points // n)
    certs = [_verify_constant(model, relation, k, each, atol, seed) if p.constant is not None else
             verify(m, p.relation, points=each, atol=atol, seed=seed, search=search, starts=starts, steps=steps)
             for k, (p, m) in enumerate(zip(relation.pieces, model.models))]
    worst = max(range(n), key=lambda k: certs[k].max_error if not math.isnan(certs[k].max_error) else math.inf)
    c = certs[worst]
    weights = np.array([x.points - x.undefined_points for x in certs], dtype=np.float64)
    weights = weights / max(weights.sum(), 1.0)
    per_output = {o: {"max": max(x.per_output[o]["max"] for x in certs),
                      "p99": max(x.per_output[o]["p99"] for x in certs),
                      "mean": float(sum(w * x.per_output[o]["mean"] for w, x in zip(weights, certs)))}
                  for o in relation.outputs}
    notes = [f"piece {p.number}: {x.note}" for p, x in zip(relation.pieces, certs) if x.note]
    search_info = {**c.search, "pieces": n,
                   "method": f"each of the {n} pieces on its own sub-domain ({each} points each): "
                             + str(c.search.get("method", "none")),
                   "found_max_error": max(x.search.get("found_max_error", -math.inf) for x in certs)}
    return Certificate(
        relation=relation.name or "relation",
        outputs=list(relation.outputs),
        max_error=max(x.max_error for x in certs),
        p99_error=max(x.p99_error for x in certs),  # an upper bound of the whole domain's p99
        mean_error=float(sum(w * x.mean_error for w, x in zip(weights, certs))),
        worst=dict(c.worst),
        dense_max_error=max(x.dense_max_error for x in certs),
        per_output=per_output,
        points=sum(x.points for x in certs),
        atol=float(atol),
        seed=int(seed),
        search=search_info,
        undefined_points=sum(x.undefined_points for x in certs),
        seconds=round(time.perf_counter() - t0, 3),
        error=c.error,
        refined_points=sum(x.refined_points for x in certs),
        note="; ".join(notes),
        pieces=[{"piece": p.number, "condition": p.condition, "max_error": x.max_error, "p99_error": x.p99_error,
                 "mean_error": x.mean_error, "dense_max_error": x.dense_max_error, "points": x.points,
                 "worst": dict(x.worst)}
                for p, x in zip(relation.pieces, certs)],
    )


def _verify_constant(model, relation, k: int, points: int, atol: float, seed: int):
    """A constant piece's certificate: the model against the whole relation's reference on
    the relation's own dense sample, at the points that fall in the piece's region."""
    from .verify import Certificate, _dense_points, point_errors

    x, _ = _dense_points(relation, max(points, 4096), seed)
    x = x[assign(relation.pieces, relation.inputs, x) == k][:points]
    err, defined = point_errors(model, x, atol=atol, relation=relation)
    e = err[defined].max(1) if len(x) else np.zeros(0)
    mx = float(e.max()) if e.size else 0.0
    i = int(np.argmax(e)) if e.size else None
    worst = {n: float(v) for n, v in zip(relation.inputs, x[defined][i])} if i is not None else {}
    per = {o: {"max": float(err[defined][:, j].max()) if e.size else 0.0,
               "p99": float(np.quantile(err[defined][:, j], 0.99)) if e.size else 0.0,
               "mean": float(err[defined][:, j].mean()) if e.size else 0.0} for j, o in enumerate(relation.outputs)}
    cert = Certificate(relation=relation.name or "relation", outputs=list(relation.outputs), max_error=mx,
                       p99_error=float(np.quantile(e, 0.99)) if e.size else 0.0,
                       mean_error=float(e.mean()) if e.size else 0.0, worst=worst, dense_max_error=mx,
                       per_output=per, points=len(x), atol=float(atol), seed=int(seed),
                       search={"method": "none: a constant piece", "edges": False},
                       undefined_points=int((~defined).sum()),
                       note="" if len(x) else "no sampled point fell in this constant piece's region")
    return cert


# -- the file ------------------------------------------------------------------------------------
def save(model: PiecewiseSurrogate, path) -> None:
    """The relation once, then per piece its features, heads and network; tensors
    prefixed ``piece<k>.``; schema 3."""
    from . import format as fmt
    from .artifact import _jsonable, _versions

    parts, tensors = [], {}
    for k, m in enumerate(model.models):
        if isinstance(m, ConstantPiece):
            parts.append({"constant": [float(v) for v in m.values]})
            continue
        net = m.module.net
        parts.append({"features": m.module.feature_specs, "heads": m.module.head_specs,
                      "network": {**net.config, "dtype": str(m.dtype).replace("torch.", "")}})
        tensors.update({f"piece{k}.{name}": v.detach().cpu().numpy() for name, v in net.state_dict().items()})
    info = {k: v for k, v in model.info.items() if k != "versions"}
    manifest = {
        "relation": fmt.relation_to_dict(model.relation),
        "pieces": parts,
        "certificate": _jsonable(model.certificate.to_dict()) if model.certificate is not None else None,
        "training": _jsonable(info),
        "versions": _versions(),
    }
    fmt.write(path, _jsonable(manifest), tensors, schema=fmt.PIECEWISE_SCHEMA)


def load(manifest, tensors, device="cpu") -> PiecewiseSurrogate:
    from . import format as fmt
    from .artifact import certificate_and_info, network
    from .model import Surrogate

    relation, parts = fmt.piece_parts(manifest, tensors)
    models = []
    for p, part in zip(relation.pieces, parts):
        if p.constant is not None:
            models.append(ConstantPiece(p.constant, relation.outputs))
            continue
        feats, heads, cfg, weights = part
        models.append(Surrogate(p.relation, feats, heads, network(cfg, weights, device)))
    cert, info = certificate_and_info(manifest)
    return PiecewiseSurrogate(relation, models, certificate=cert, info=info)
