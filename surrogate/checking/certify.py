"""Verification: a dense check, a worst-case search, and the certificate they produce.

The error of an explicit output is |y_hat - y| / max(S(x), atol), with S the term
scale of the relation (docs/architecture.md) and the reference y in float64; an implicit
output's is |y_hat - y*| / |y*| against a vectorised numeric solve (solve.py),
where points with no root or several roots in the output range are counted and
shown, not dropped silently.

The dense sample is scrambled Sobol in the chart; when the domain has edges (a
dependent bound, a zero bound) half of it is drawn log-uniformly towards them,
down to a relative distance below the one training reaches (scaling.Edge),
because that is where errors hide.  The search starts from the worst points, from
the worst point of every other orthant of the chart and from the worst corners of
the chart (every edge input also at its deepest sampled distance), climbs the error by
gradient ascent (explicit outputs), then runs a compass search that reaches
faces and corners exactly and a shrinking random search; inside edge layers it
moves in log-distance to the edge.  The certificate's max is the largest error
seen anywhere.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..declaration.metric import resolve_atol
from ..declaration.relation import Relation
from ..declaration.sampling import corner_points, dense_points
from ..errors import SurrogateError
from ..model.device import cpu_threads
from ..model.records import Certificate
from .score import Scorer, unsolved_report
from .search import CORNER_STARTS, ascend, local_search, start_points

__all__ = ["certify"]


def certify(
    model,
    relation: Relation | None = None,
    *,
    points: int = 1_000_000,
    atol: float | None = None,
    seed: int = 0,
    search: bool = True,
    starts: int = 32,
    steps: int = 150,
) -> Certificate:
    """The certificate of one network (`verify` for a single model; the arguments are verify's)."""
    t0 = time.perf_counter()
    relation = relation or model.relation
    if list(relation.inputs) != list(model.inputs) or list(relation.outputs) != list(model.outputs):
        raise SurrogateError(
            f"the model maps {', '.join(model.inputs)} -> {', '.join(model.outputs)} but the relation has "
            f"inputs {', '.join(relation.inputs)} and outputs {', '.join(relation.outputs)}"
        )
    if points < 16:
        raise ValueError(f"points must be at least 16, not {points!r}")
    if atol is None and isinstance(getattr(model, "info", None), dict) and model.info.get("atol") is not None:
        atol = model.info["atol"]
    atol = resolve_atol(relation, atol)
    scorer = Scorer(model, relation, atol)
    x, has_edges = dense_points(relation, points, seed)
    err, pred, _, defined = scorer.errors(x)
    undefined = int((~defined).sum())
    unsolved = unsolved_report(relation, x, scorer.last_status) if scorer.last_status is not None else {}
    residual = None
    if relation.kind.residual:
        r = scorer.residual_errors(x, pred)
        residual = {"max": float(np.max(r)), "p99": float(np.quantile(r, 0.99)), "mean": float(np.mean(r))}
    x, err = x[defined], err[defined]
    if not len(err):
        raise SurrogateError(f"the reference is undefined at every sampled point of {relation.name or 'the relation'}"
                             + (f"; unsolved: {unsolved['counts']}" if unsolved else ""))
    e = err.max(1)
    dense_max = float(e.max())
    per_output = {
        o: {"max": float(err[:, j].max()), "p99": float(np.quantile(err[:, j], 0.99)), "mean": float(err[:, j].mean())}
        for j, o in enumerate(relation.outputs)
    }
    search_info: dict[str, Any] = {"method": "none", "edges": has_edges}
    best_x, best_e = x[int(np.argmax(e))], dense_max
    if search and math.isfinite(dense_max):
        k = min(starts, len(e))
        top = start_points(relation, x, e, k)
        corners = corner_points(relation)
        if len(corners):  # a worst corner the dense sample's basins do not lead to (Ranz-Marshall)
            ke, _, _, kdef = scorer.errors(corners)
            ke = np.where(kdef, ke.max(1), -np.inf)
            i = int(np.argmax(ke))
            if ke[i] > best_e:
                best_x, best_e = corners[i], float(ke[i])
            top = np.concatenate([top, corners[np.argsort(ke)[::-1][:CORNER_STARTS]]])
        with cpu_threads():  # batches of tens of points: one thread (model/device.py's rule)
            cand = ascend(model, relation, top, atol, steps) if relation.kind.differentiable else top
            cand = np.concatenate([top, cand])
            cand = local_search(scorer, relation, cand, seed)
        ce, _, _, cdef = scorer.errors(cand)
        ce = np.where(cdef, ce.max(1), -np.inf)
        i = int(np.argmax(ce))
        if ce[i] > best_e:
            best_x, best_e = cand[i], float(ce[i])
        search_info = {
            "method": (f"gradient ascent ({steps} Adam steps) from {len(top)} points (the worst, the worst of "
                       "other orthants, and the worst corners of the chart), then a compass search and a shrinking "
                       "random search, in chart coordinates (log-distance inside edge layers)") if relation.kind.differentiable else
                      f"compass search and shrinking random search from {len(top)} points (the worst, the worst of "
                      "other orthants, and the worst corners of the chart), each scored against the solver",
            "starts": len(top),
            "corners": len(corners),
            "steps": steps,
            "edges": has_edges,
            "found_max_error": float(ce.max()),
        }
    pred = model.evaluate(best_x[None])[0]
    yref, _ = scorer.reference(best_x[None])
    worst = {n: float(v) for n, v in zip(relation.inputs, best_x)}
    for j, o in enumerate(relation.outputs):
        worst[o] = float(pred[j])
        worst[f"{o}_reference"] = float(yref[0, j])
    return Certificate(
        relation=relation.name or "relation",
        outputs=list(relation.outputs),
        max_error=max(best_e, dense_max),
        p99_error=float(np.quantile(e, 0.99)),
        mean_error=float(e.mean()),
        worst=worst,
        dense_max_error=dense_max,
        per_output=per_output,
        points=int(points),
        atol=float(atol),
        seed=int(seed),
        search=search_info,
        undefined_points=undefined,
        seconds=round(time.perf_counter() - t0, 3),
        error=relation.kind.error,
        residual=residual,
        unsolved=unsolved,
        refined_points=scorer.refined,
        note=_note(relation, atol, max(best_e, dense_max)),
    )


def _note(relation: Relation, atol: float, max_error: float) -> str:
    """Why the max error is what it is, where the figure alone would mislead: a scale
    that vanishes while atol is 0 (relative errors grow without bound there), or a
    prediction that is not finite."""
    where = "; ".join(f"{o} at " + ", ".join(f"{k}={v:.6g}" for k, v in p.items())
                      for o, p in relation.program.vanishing.items())
    if where and not atol:
        return (f"the term scale vanishes ({where}) and atol is 0: relative errors grow without bound next to it "
                f"(and any miss there is infinite); verify with atol={relation.suggested_atol():g} (or another)")
    if not math.isfinite(max_error):
        return "the max is infinite: the model's prediction is not finite somewhere (see the worst point)"
    return ""


