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

import copy
import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import SurrogateError
from .metric import DEFINITION, error
from .reference import explicit_reference
from .relation import Relation
from .scaling import edge_floors, edge_sides

__all__ = ["verify", "Certificate", "point_errors"]


@dataclass(frozen=True)
class Certificate:
    """How accurate a surrogate is over its domain, and how that was established."""

    relation: str
    outputs: list[str]
    max_error: float
    p99_error: float
    mean_error: float
    worst: dict[str, float]  # the inputs at the worst point, then the outputs (predicted and reference)
    dense_max_error: float  # before the search
    per_output: dict[str, dict[str, float]]
    points: int
    atol: float
    seed: int
    search: dict[str, Any] = field(default_factory=dict)
    undefined_points: int = 0  # points where the reference itself is NaN or inf (excluded)
    seconds: float = 0.0
    error: str = DEFINITION
    residual: dict[str, float] | None = None  # implicit: normalised residual at y_hat (max, p99, mean)
    unsolved: dict[str, Any] = field(default_factory=dict)  # implicit: points the solver could not settle
    # explicit: points whose float64 reference lost its digits (0/0 at a removable
    # singularity, cancellation next to it) and was redone in extended precision (reference.py)
    refined_points: int = 0
    note: str = ""  # why a figure is what it is (an infinite max where a scale vanishes without atol)
    # a piecewise model (piecewise.py): per piece its condition, max, p99, mean, dense max, points, worst
    pieces: list[dict[str, Any]] = field(default_factory=list)
    # a proven upper bound over the whole domain (prove.Proof.to_dict()), where one was proven
    proof: dict[str, Any] | None = None

    def to_frame(self):
        """One row per output (and 'all'): max, p99 and mean error."""
        import pandas as pd

        rows = dict(self.per_output)
        rows["all"] = {"max": self.max_error, "p99": self.p99_error, "mean": self.mean_error}
        return pd.DataFrame.from_dict(rows, orient="index")[["max", "p99", "mean"]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        return cls(**d)

    def plot(self, model, **kw):
        """The error map of `model` with this certificate's max and worst point (see surrogate.plot.plot_error)."""
        from .plot import plot_error

        return plot_error(model, certificate=self, **kw)

    def passes(self, tolerance: float) -> bool:
        return self.max_error <= tolerance

    def __str__(self) -> str:
        worst = ", ".join(f"{k}={v:.9g}" for k, v in self.worst.items())
        lines = [
            f"certificate for {self.relation} ({', '.join(self.outputs)})",
            f"  error      {self.error}" + (f", atol={self.atol:g}" if self.atol else ""),
            f"  max        {self.max_error:.4g}   (dense sample {self.dense_max_error:.4g}, then search)",
            f"  p99        {self.p99_error:.4g}",
            f"  mean       {self.mean_error:.4g}",
            f"  worst at   {worst}",
            f"  sample     {self.points} scrambled Sobol points, seed {self.seed}"
            + (", half drawn log-uniformly towards edges" if self.search.get("edges") else ""),
            f"  search     {self.search.get('method', 'none')}",
        ]
        if self.residual:
            lines.append(f"  residual   |r(x, y_hat)| / S_r: max {self.residual['max']:.4g}, p99 {self.residual['p99']:.4g}, "
                         f"mean {self.residual['mean']:.4g}")
        if self.unsolved:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.unsolved["counts"].items() if v)
            lines.append(f"  unsolved   {counts} of {self.points} points (excluded from the errors above); e.g.")
            for ex in self.unsolved["examples"]:
                lines.append("             " + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                                       for k, v in ex.items()))
        elif self.undefined_points:
            lines.append(f"  undefined  the relation is NaN/inf at {self.undefined_points} sampled points (excluded)")
        if self.refined_points:
            lines.append(f"  refined    {self.refined_points} references where float64 loses its digits (0/0, "
                         "cancellation) redone in 40-digit arithmetic")
        if self.note:
            lines.append(f"  note       {self.note}")
        for p in self.pieces:
            lines.append(f"  piece {p['piece']:<4} {p['condition']}: max {p['max_error']:.4g}, p99 {p['p99_error']:.4g}, "
                         f"mean {p['mean_error']:.4g} ({p['points']} points)")
        if self.proof:
            from .prove import Proof

            lines.append(str(Proof.from_dict(self.proof)))
        return "\n".join(lines)


class _Scorer:
    """Float64 error of a model against the relation at points x (NumPy [N, d]).

    Explicit outputs: the term-scale error against the formula.  Implicit ones:
    the relative error against a vectorised numeric solve (solve.py); points
    where the solver finds no root or several in the output range are undefined.
    """

    def __init__(self, model, relation: Relation, atol: float):
        self.model, self.relation, self.atol = model, relation, atol
        self.explicit = relation.is_explicit
        self.last_status = None
        self.refined = 0  # points whose reference was redone in extended precision (reference.py)

    def reference(self, x: np.ndarray):
        if not self.explicit:
            from .solve import solve

            sol = solve(self.relation, x)
            self.last_status = sol.status
            y = sol.values
            return y, np.abs(y)
        ref = explicit_reference(self.relation, x)
        self.refined += ref.refined
        return ref.values, ref.scales

    def errors(self, x: np.ndarray):
        """(per-output errors [N, m], predictions, references, defined mask)."""
        y, s = self.reference(x)
        pred = self.model.evaluate(x)
        err = error(pred, y, s, self.atol)
        defined = np.all(np.isfinite(y) & np.isfinite(s), 1)
        err = np.where(np.isnan(err), np.inf, err)
        return err, pred, y, defined

    def residual_errors(self, x: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Worst normalised residual |r_i(x, y_hat)| / S_i(x, y_hat) over the equations."""
        rel = self.relation
        env = {n: x[:, j] for j, n in enumerate(rel.inputs)}
        env.update({o: pred[:, j] for j, o in enumerate(rel.outputs)})
        r = np.stack([rel.compiled("residual", i, "numpy")(env) for i in range(len(rel.equations))], 1)
        s = np.stack([rel.compiled("residual_scale", i, "numpy")(env) for i in range(len(rel.equations))], 1)
        with np.errstate(all="ignore"):
            return np.abs(r / s).max(1)


def point_errors(model, x, *, atol: float = 0.0, relation: Relation | None = None):
    """The certificate's error of `model` at points x (NumPy [N, d], inputs order).

    Returns (errors [N, m] float64 per output, defined [N] bool): `defined` is False
    where the reference itself is undefined (NaN or inf, or an implicit point the
    solver could not settle); those rows are what the certificate excludes and
    counts.  This is the one definition that `verify`, plots and reports use.
    """
    relation = relation or model.relation
    err, _, _, defined = _Scorer(model, relation, atol).errors(np.asarray(x, dtype=np.float64))
    return err, defined


_STATUS = {1: "no_root", 2: "several_roots", 3: "not_converged"}


def _unsolved(relation: Relation, x: np.ndarray, status: np.ndarray, limit: int = 5) -> dict[str, Any]:
    counts = {name: int((status == code).sum()) for code, name in _STATUS.items()}
    rows = np.nonzero(status != 0)[0][:limit]
    examples = [{**{n: float(v) for n, v in zip(relation.inputs, x[i])}, "status": _STATUS.get(int(status[i]), "?")}
                for i in rows]
    return {"counts": counts, "examples": examples} if rows.size else {}


def _dense_points(relation: Relation, n: int, seed: int) -> tuple[np.ndarray, bool]:
    dom = relation.domain
    edges = edge_sides(dom)
    u = torch.quasirandom.SobolEngine(dom.dim, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    if not edges:
        return dom.chart(u).numpy(), False
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, dom.dim, generator=gen, dtype=torch.float64) < 0.5
    mask[: n // 2] = False
    return dom.chart(u, edges, mask, edge_floors(dom, "verify")).numpy(), True


def verify(
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
    """Certify `model` against `relation` (its own by default) over the whole domain.

    Evaluates the error on `points` quasi-random points, then searches for a worse
    point from the `starts` worst ones (`steps` of gradient ascent, then a random
    local search).  `atol` defaults to the one the model was trained with (or,
    for a model without that record, the relation's suggestion where a scale
    vanishes; train.resolve_atol).  Returns a Certificate; never raises for a bad
    model, only for a relation that does not match the model.
    """
    if hasattr(model, "pieces"):  # one network per piece: each certified on its own sub-domain (piecewise.py)
        from .piecewise import verify_pieces

        return verify_pieces(model, relation, points=points, atol=atol, seed=seed, search=search, starts=starts,
                             steps=steps)
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
    from .train import resolve_atol

    atol = resolve_atol(relation, atol)
    scorer = _Scorer(model, relation, atol)
    x, has_edges = _dense_points(relation, points, seed)
    err, pred, _, defined = scorer.errors(x)
    undefined = int((~defined).sum())
    unsolved = _unsolved(relation, x, scorer.last_status) if not scorer.explicit else {}
    residual = None
    if not scorer.explicit:
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
        top = _starts(relation, x, e, k)
        corners = _corners(relation)
        if len(corners):  # a worst corner the dense sample's basins do not lead to (Ranz-Marshall)
            ke, _, _, kdef = scorer.errors(corners)
            ke = np.where(kdef, ke.max(1), -np.inf)
            i = int(np.argmax(ke))
            if ke[i] > best_e:
                best_x, best_e = corners[i], float(ke[i])
            top = np.concatenate([top, corners[np.argsort(ke)[::-1][:CORNER_STARTS]]])
        from .train import cpu_threads

        with cpu_threads(1):  # batches of tens of points: a second thread only spins (train.cpu_threads)
            cand = _ascend(model, relation, top, atol, steps) if scorer.explicit else top
            cand = np.concatenate([top, cand])
            cand = _local_search(scorer, relation, cand, seed)
        ce, _, _, cdef = scorer.errors(cand)
        ce = np.where(cdef, ce.max(1), -np.inf)
        i = int(np.argmax(ce))
        if ce[i] > best_e:
            best_x, best_e = cand[i], float(ce[i])
        search_info = {
            "method": (f"gradient ascent ({steps} Adam steps) from {len(top)} points (the worst, the worst of "
                       "other orthants, and the worst corners of the chart), then a compass search and a shrinking "
                       "random search, in chart coordinates (log-distance inside edge layers)") if scorer.explicit else
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
        error=Certificate.error if scorer.explicit else "|y_hat - y*| / |y*|, y* from a bracketed Newton solve",
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


#: The search reaches this much deeper into an edge layer than the dense sample does.
_SEARCH_DEPTH = 1e-4
#: Points closer than this (relative to the local range) to an edge are searched in
#: log-distance to it: Adam's or the compass's steps in the plain chart would jump
#: over the whole layer, where errors change over decades of distance.
_SEARCH_LAYER = 1e-2


#: The worst corners of the chart that join the search's starts.
CORNER_STARTS = 4
#: At most this many corners are scored (3 values per edge input, 2 per other input).
MAX_CORNERS = 4096


def _corners(relation: Relation) -> np.ndarray:
    """The chart's corners, with every edge input also at the deepest distance the
    dense sample reaches (its verify floor): Ranz-Marshall's worst point, Re = 2e-8 at
    Pr = 250, was a corner of that kind, found by a 2e4-point check's search and missed
    by a 1e6-point one whose starts lay in other basins.  Empty above MAX_CORNERS."""
    dom = relation.domain
    edges = edge_sides(dom)
    # per column: (u, masked) pairs -- the two faces, and the edge floor where there is an edge
    choices = [[(0.0, False), (1.0, False)] + ([(1.0, True)] if k in edges else []) for k in range(dom.dim)]
    if math.prod(len(c) for c in choices) > MAX_CORNERS:
        return np.zeros((0, dom.dim))
    rows = list(itertools.product(*choices))
    u = torch.tensor([[v for v, _ in r] for r in rows], dtype=torch.float64)
    if not edges:  # clipped: a log chart puts u = 1 an ulp outside (exp(log(10)) = 10.000000000000002)
        return dom.clip(dom.chart(u).numpy())
    mask = torch.tensor([[m for _, m in r] for r in rows], dtype=torch.bool)
    return dom.clip(dom.chart(u, edges, mask, edge_floors(dom, "verify")).numpy())


def _starts(relation: Relation, x: np.ndarray, e: np.ndarray, k: int) -> np.ndarray:
    """k start points: the k/2 worst, then the worst of each other orthant of the chart.

    The worst points of a dense sample tend to crowd into one basin; a worse basin
    elsewhere (another corner) whose sampled points are only nearly as bad would
    otherwise never be climbed.
    """
    order = np.argsort(e)[::-1]
    if k < 2:
        return x[order[:k]]
    u = relation.domain.inverse(x)
    d = min(u.shape[1], 62)
    cell = (u[:, :d] > 0.5).astype(np.int64) @ (np.int64(1) << np.arange(d, dtype=np.int64))
    _, first = np.unique(cell[order], return_index=True)
    chosen = dict.fromkeys(order[: k - k // 2].tolist())
    for i in np.concatenate([order[np.sort(first)], order]).tolist():
        if len(chosen) >= k:
            break
        chosen.setdefault(i)
    return x[np.array(list(chosen))]


def _search_chart(dom) -> tuple[dict[int, str], dict[int, float]]:
    """(edges, floors) of the search chart: edge coordinates in log-distance, deeper than the dense sample."""
    return edge_sides(dom), {k: f * _SEARCH_DEPTH for k, f in edge_floors(dom, "verify").items()}


def _to_search(dom, edges: dict[int, str], floors: dict[int, float], x: np.ndarray):
    """Search coordinates (u, mask) of points x: the chart's u, except inside an edge
    layer (mask True), where u is the log of the relative distance to the edge."""
    u = np.clip(dom.inverse(x), 0.0, 1.0)
    mask = np.zeros(u.shape, dtype=bool)
    if edges:
        lows, highs = dom.bounds(x)
        for k, side in edges.items():
            lo, hi = lows[k], highs[k]
            with np.errstate(all="ignore"):
                rel = dom.edge_distance(k, side, x[:, k], lo, hi, np)
            layer = (rel > 0) & (rel < _SEARCH_LAYER)
            mask[:, k] = layer
            v = np.log(np.where(layer, rel, 1.0)) / math.log(floors[k])
            u[:, k] = np.where(layer, np.clip(v, 0.0, 1.0), u[:, k])
    return u, mask


def _from_search(dom, edges: dict[int, str], floors: dict[int, float], u, mask):
    return dom.chart(u, edges, mask, floors) if edges else dom.chart(u)


def _ascend(model, relation: Relation, x0: np.ndarray, atol: float, steps: int) -> np.ndarray:
    """Gradient ascent of the error in search coordinates, on a float64 copy of the model."""
    if steps <= 0:
        return x0
    dom = relation.domain
    edges, floors = _search_chart(dom)
    module = copy.deepcopy(model.module).to("cpu", torch.float64)
    return _ascend_steps(module, relation, dom, edges, floors, x0, atol, steps)


def _ascend_steps(module, relation: Relation, dom, edges, floors, x0: np.ndarray, atol: float, steps: int):
    exprs = [relation.compiled("expression", o) for o in relation.outputs]
    scales = [relation.compiled("scale", o) for o in relation.outputs]
    u0, mask0 = _to_search(dom, edges, floors, x0)
    mask = torch.from_numpy(mask0)
    u = torch.from_numpy(u0).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=1e-2)
    best_u, best_e = u.detach().clone(), torch.full((len(x0),), -math.inf, dtype=torch.float64)
    for _ in range(steps):
        x = _from_search(dom, edges, floors, u, mask)
        cols = {n: x[:, j] for j, n in enumerate(relation.inputs)}
        y = torch.stack([f(cols) for f in exprs], 1)
        s = torch.stack([f(cols) for f in scales], 1)
        e = error(module(x), y, s, atol).amax(1)
        e = torch.nan_to_num(e, nan=-math.inf, posinf=-math.inf)  # undefined: not a direction to climb
        better = e.detach() > best_e
        best_e = torch.where(better, e.detach(), best_e)
        best_u = torch.where(better[:, None], u.detach(), best_u)
        opt.zero_grad()
        (-e[torch.isfinite(e)].sum()).backward()
        opt.step()
        with torch.no_grad():
            u.clamp_(0.0, 1.0)
    with torch.no_grad():
        return dom.clip(_from_search(dom, edges, floors, best_u, mask).numpy())


def _local_search(scorer: _Scorer, relation: Relation, x0: np.ndarray, seed: int, rounds: int = 8,
                  tries: int = 16, compass: int = 80) -> np.ndarray:
    """Derivative-free climbing in search coordinates, keeping improvements: a compass
    search (every coordinate up and down, the step halving from 1e-1 to 1e-9 where
    no move helps; steps clip onto the faces, so corners are reached exactly), then
    random perturbations shrinking from 1e-1 to 1e-8."""
    dom = relation.domain
    edges, floors = _search_chart(dom)
    rng = np.random.default_rng(seed)
    u, mask = _to_search(dom, edges, floors, x0)
    n, d = u.shape

    def score(uu, mm):
        err, _, _, ok = scorer.errors(dom.clip(_from_search(dom, edges, floors, uu, mm)))
        return np.where(ok, err.max(1), -np.inf)

    def keep(rows, trial, te, width):
        j = te.argmax(1)
        best = te[np.arange(len(rows)), j]
        gain = best > e[rows]
        u[rows[gain]] = trial.reshape(len(rows), width, d)[np.arange(len(rows)), j][gain]
        e[rows[gain]] = best[gain]
        return gain

    e = score(u, mask)
    step = np.full(n, 0.1)
    moves = np.concatenate([np.eye(d), -np.eye(d)])
    for _ in range(compass):
        rows = np.nonzero(step >= 1e-9)[0]
        if not rows.size:
            break
        trial = np.repeat(u[rows], 2 * d, 0) + np.tile(moves, (rows.size, 1)) * np.repeat(step[rows], 2 * d)[:, None]
        trial = np.clip(trial, 0.0, 1.0)
        gain = keep(rows, trial, score(trial, np.repeat(mask[rows], 2 * d, 0)).reshape(rows.size, 2 * d), 2 * d)
        step[rows[~gain]] /= 2
    rows = np.arange(n)
    for r in np.logspace(-1, -8, rounds):
        trial = np.clip(np.repeat(u, tries, 0) + r * rng.standard_normal((n * tries, d)), 0.0, 1.0)
        keep(rows, trial, score(trial, np.repeat(mask, tries, 0)).reshape(n, tries), tries)
    return dom.clip(_from_search(dom, edges, floors, u, mask))
