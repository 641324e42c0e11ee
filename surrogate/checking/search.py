"""The worst-case search that follows the dense sample: starts, corners, gradient ascent,
compass and shrinking random search, in chart coordinates (log-distance inside edge layers)."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from ..declaration.metric import error
from ..declaration.relation import Relation
from ..declaration.sampling import edge_floors, edge_sides
from .score import Scorer

#: The search reaches this much deeper into an edge layer than the dense sample does.
_SEARCH_DEPTH = 1e-4
#: Points closer than this (relative to the local range) to an edge are searched in
#: log-distance to it: Adam's or the compass's steps in the plain chart would jump
#: over the whole layer, where errors change over decades of distance.
_SEARCH_LAYER = 1e-2


#: The worst corners of the chart that join the search's starts.
CORNER_STARTS = 4
def start_points(relation: Relation, x: np.ndarray, e: np.ndarray, k: int) -> np.ndarray:
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


def ascend(model, relation: Relation, x0: np.ndarray, atol: float, steps: int) -> np.ndarray:
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


def local_search(scorer: Scorer, relation: Relation, x0: np.ndarray, seed: int, rounds: int = 8,
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
