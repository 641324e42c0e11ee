"""Checking a piecewise model: each piece certified on its own sub-domain, the figures over all pieces."""

from __future__ import annotations

import math
import time

import numpy as np

from ..declaration.metric import resolve_atol
from ..declaration.pieces import assign
from ..declaration.sampling import dense_points
from ..errors import SurrogateError
from ..model.records import Certificate
from .certify import certify
from .score import point_errors

__all__ = ["verify_constant", "verify_pieces"]


def verify_pieces(model, relation, *, points, atol, seed, search, starts, steps):
    """Certify each piece on its own sub-domain; the certificate's figures are over all pieces."""
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
    certs = [verify_constant(model, relation, k, each, atol, seed) if p.constant is not None else
             certify(m, p.relation, points=each, atol=atol, seed=seed, search=search, starts=starts, steps=steps)
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


def verify_constant(model, relation, k: int, points: int, atol: float, seed: int):
    """A constant piece's certificate: the model against the whole relation's reference on
    the relation's own dense sample, at the points that fall in the piece's region."""
    x, _ = dense_points(relation, max(points, 4096), seed)
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


