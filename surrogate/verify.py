"""Verification: a dense check, a worst-case search, and the certificate they produce.

The error of an explicit output is |y_hat - y| / max(S(x), atol), with S the term
scale of the relation (DESIGN.md) and the reference y in float64.  The dense
sample is scrambled Sobol in the chart; when the domain has edges (a dependent
bound, a zero bound) half of it is drawn log-uniformly towards them, down to a
relative distance below the one training reaches (scaling.Edge), because that is
where errors hide.  The search then
starts from the worst points found, climbs the error by gradient ascent in chart
coordinates, and finishes with a shrinking random local search that needs no
gradient.  The certificate's max is the largest error seen anywhere.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import SurrogateError
from .relation import Relation
from .scaling import edge_floors, edge_sides

__all__ = ["verify", "Certificate"]


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
    error: str = "|y_hat - y| / max(S(x), atol), S = sum of |terms|"
    residual: dict[str, float] | None = None  # implicit: normalised residual at y_hat (max, p99, mean)
    unsolved: dict[str, Any] = field(default_factory=dict)  # implicit: points the solver could not settle

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
        if self.explicit:
            self.exprs = [relation.compiled("expression", o, "numpy") for o in relation.outputs]
            self.scales = [relation.compiled("scale", o, "numpy") for o in relation.outputs]
        self.last_status = None

    def reference(self, x: np.ndarray):
        cols = {n: x[:, j] for j, n in enumerate(self.relation.inputs)}
        if not self.explicit:
            from .solve import solve

            sol = solve(self.relation, x)
            self.last_status = sol.status
            y = sol.values
            return y, np.abs(y)
        y = np.stack([f(cols) for f in self.exprs], 1)
        s = np.stack([f(cols) for f in self.scales], 1)
        return y, s

    def errors(self, x: np.ndarray):
        """(per-output errors [N, m], predictions, references, defined mask)."""
        y, s = self.reference(x)
        pred = self.model.evaluate(x)
        with np.errstate(all="ignore"):
            err = np.abs(pred - y) / np.maximum(s, self.atol)
        defined = np.all(np.isfinite(y) & np.isfinite(s), 1)
        err = np.where(np.isfinite(err), err, np.inf)
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
    atol: float = 0.0,
    seed: int = 0,
    search: bool = True,
    starts: int = 32,
    steps: int = 150,
) -> Certificate:
    """Certify `model` against `relation` (its own by default) over the whole domain.

    Evaluates the error on `points` quasi-random points, then searches for a worse
    point from the `starts` worst ones (`steps` of gradient ascent, then a random
    local search).  Returns a Certificate; never raises for a bad model, only for
    a relation that does not match the model.
    """
    t0 = time.perf_counter()
    relation = relation or model.relation
    if list(relation.inputs) != list(model.inputs) or list(relation.outputs) != list(model.outputs):
        raise SurrogateError(
            f"the model maps {', '.join(model.inputs)} -> {', '.join(model.outputs)} but the relation has "
            f"inputs {', '.join(relation.inputs)} and outputs {', '.join(relation.outputs)}"
        )
    if points < 16:
        raise ValueError(f"points must be at least 16, not {points!r}")
    if not (atol >= 0 and math.isfinite(atol)):
        raise ValueError(f"atol must be a finite number >= 0, not {atol!r}")
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
        top = x[np.argsort(e)[-k:]]
        cand = _ascend(model, relation, top, atol, steps) if scorer.explicit else top
        cand = np.concatenate([top, cand])
        cand = _local_search(scorer, relation, cand, seed)
        ce, _, _, cdef = scorer.errors(cand)
        ce = np.where(cdef, ce.max(1), -np.inf)
        i = int(np.argmax(ce))
        if ce[i] > best_e:
            best_x, best_e = cand[i], float(ce[i])
        search_info = {
            "method": (f"gradient ascent in chart coordinates ({steps} Adam steps) from the {k} worst points, "
                       "then a shrinking random local search") if scorer.explicit else
                      f"shrinking random local search from the {k} worst points, each scored against the solver",
            "starts": k,
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
    )


def _ascend(model, relation: Relation, x0: np.ndarray, atol: float, steps: int) -> np.ndarray:
    """Gradient ascent of the error in chart coordinates, on a float64 copy of the model."""
    if steps <= 0:
        return x0
    dom = relation.domain
    module = copy.deepcopy(model.module).to("cpu", torch.float64)
    exprs = [relation.compiled("expression", o) for o in relation.outputs]
    scales = [relation.compiled("scale", o) for o in relation.outputs]
    u = dom.inverse(torch.from_numpy(x0)).clamp(0.0, 1.0).detach().requires_grad_(True)
    opt = torch.optim.Adam([u], lr=1e-2)
    best_u, best_e = u.detach().clone(), torch.full((len(x0),), -math.inf, dtype=torch.float64)
    for _ in range(steps):
        x = dom.chart(u)
        cols = {n: x[:, j] for j, n in enumerate(relation.inputs)}
        y = torch.stack([f(cols) for f in exprs], 1)
        s = torch.stack([f(cols) for f in scales], 1).clamp(min=atol)
        e = ((module(x) - y).abs() / s).amax(1)
        e = torch.nan_to_num(e, nan=-math.inf)
        better = e.detach() > best_e
        best_e = torch.where(better, e.detach(), best_e)
        best_u = torch.where(better[:, None], u.detach(), best_u)
        opt.zero_grad()
        (-e[torch.isfinite(e)].sum()).backward()
        opt.step()
        with torch.no_grad():
            u.clamp_(0.0, 1.0)
    with torch.no_grad():
        return dom.chart(best_u).numpy()


def _local_search(scorer: _Scorer, relation: Relation, x0: np.ndarray, seed: int, rounds: int = 6,
                  tries: int = 16) -> np.ndarray:
    """Random perturbations in chart coordinates, shrinking from 1e-1 to 1e-6, keeping improvements."""
    dom = relation.domain
    rng = np.random.default_rng(seed)
    u = np.clip(dom.inverse(x0), 0.0, 1.0)
    e, _, _, d = scorer.errors(dom.chart(u))
    e = np.where(d, e.max(1), -np.inf)
    for r in np.logspace(-1, -6, rounds):
        trial = np.clip(np.repeat(u, tries, 0) + r * rng.standard_normal((len(u) * tries, u.shape[1])), 0.0, 1.0)
        te, _, _, td = scorer.errors(dom.chart(trial))
        te = np.where(td, te.max(1), -np.inf).reshape(len(u), tries)
        j = te.argmax(1)
        gain = te[np.arange(len(u)), j] > e
        u[gain] = trial.reshape(len(u), tries, -1)[np.arange(len(u)), j][gain]
        e[gain] = te[np.arange(len(u)), j][gain]
    return dom.chart(u)
