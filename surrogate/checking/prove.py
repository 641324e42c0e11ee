"""A proven certificate: a rigorous upper bound on a surrogate's max error over its domain.

`verify` samples: its max is a lower bound on the true max error, and a spike between
samples goes unseen.  `prove` bounds the error over every point of the domain by
branch and bound over boxes in the chart's unit cube (independent bounds keep boxes
as boxes), for relations of up to three inputs, explicit or implicit of one equation in
one output (an interval Newton step on the residual) or of two or three equations in as many
outputs (a Krawczyk step, system.py; docs/prove.md):

- on a box, each head's error in its own link space, e = g - t (g the network's value
  before the exponential, t = log|y|, log P, log N, or y for a linear head), is
  enclosed by the better of its natural interval extension and the mean-value form
  |e(centre)| + sum_i r_i max|de/du_i|, the network's gradient enclosed layer by
  layer (interval Jacobians; SiLU, tanh and their derivatives bounded between their
  turning points) and the formula's by forward-mode interval differentiation over
  its expression tree (interval.py, enclosure.py);
- the error of the certificate, metric.error = |y_hat - y| / max(S, atol), follows:
  |y|/max(S, atol) * (exp(E) - 1) for a log head (|y| <= S holds by the construction of
  the magnitude S) and E / max(S, atol) for a linear one; a signed-log head's error
  D = exp(p) - exp(n) - y is enclosed directly (its channels are fitted only through
  their difference), E / max(S, atol);
- the box with the largest bound is split in two along the coordinate that
  contributes most, until the bound is within `within` of the largest error found at
  a point (box centres, a Sobol sample, the certificate's worst point), or the time
  runs out: the answer is then the best bound so far (anytime).

docs/prove.md has the method, the rounding statement and the measured figures.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..declaration.metric import resolve_atol
from ..errors import SurrogateError
from ..model.device import cpu_threads
from ..model.piecewise import PiecewiseSurrogate
from ..model.records import ROUNDING, Proof
from ..model.records import fmt_bound as _fmt
from ..model.surrogate import Surrogate
from .bounder import FLOOR, MAX_INPUTS, SINGULAR_SIDE, THINNEST, _Bounder, _check
from .enclosure import UnsupportedEnclosure
from .pieces import verify_constant
from .score import point_errors

__all__ = ["FLOOR", "MAX_INPUTS", "ROUNDING", "Proof", "provable", "prove"]

def _errors_at(model, bounder, u: np.ndarray, atol: float) -> np.ndarray:
    """The certificate's error (max over outputs) at chart points u; -inf where undefined."""
    relation = bounder.relation
    x = bounder.points(u)
    err, ok = point_errors(model, x, atol=atol, relation=relation)
    e = err.max(1)
    # undefined, or infinite where the scale vanishes at an exact point (0/0): not a lower bound
    return np.where(ok & np.isfinite(e), e, -np.inf)


def prove(
    model,
    *,
    within: float = 2.0,
    time_limit: float = 60.0,
    atol: float | None = None,
    max_boxes: int = 5_000_000,
    batch: int = 1024,
    sample: int = 4096,
    seed: int = 0,
    floor: float = FLOOR,
    attach: bool = True,
) -> Proof:
    """Prove an upper bound on the max error of `model` over its relation's whole domain.

    Runs branch and bound until the bound is within `within` times the largest error
    found at a point, or until `time_limit` seconds or `max_boxes` boxes: then the best
    bound so far comes back with that status (an anytime answer).  `atol` defaults as
    in `verify` (the model's own).  Explicit relations and implicit ones of one equation in
    one output (an interval Newton step on the residual) or of up to three equations in as many
    outputs (a Krawczyk step, which checks that the root near the surrogate is unique;
    docs/prove.md) are proven; it refuses, with the reason, what it cannot bound: implicit
    systems of more than three equations, more than three inputs, activations other than SiLU and tanh, a scale that
    vanishes without atol.  Boxes are bounded `batch` at a time; the largest error at a
    point starts from a scrambled Sobol sample of `sample` points drawn with `seed` (and
    the certificate's worst point).  A bound at or below `floor`
    counts as reached whatever `within` says: below it the proof would only be refining
    its own allowance for float64 rounding (a surrogate exact to rounding, such as a
    power law carried by the skip path, has errors of 1e-15).  A piecewise surrogate is
    proven piece by piece over each piece's box (`Proof.pieces`), the time shared out.

    With `attach` (the default) the proof is also put on the model's certificate, when
    it has one computed with the same atol, so that saving the model keeps it.
    """
    t0 = time.perf_counter()
    if not within >= 1.0:
        raise ValueError(f"within must be at least 1 (the bound over the largest error found), not {within!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive seconds, not {time_limit!r}")

    if not floor >= 0.0:
        raise ValueError(f"floor must be a non-negative error, not {floor!r}")
    if isinstance(model, PiecewiseSurrogate):
        proof = _prove_pieces(model, within=within, time_limit=time_limit, atol=atol, max_boxes=max_boxes,
                              batch=batch, sample=sample, seed=seed, floor=floor, t0=t0)
        return _attach(model, proof) if attach else proof
    atol, bounder = _provable(model, atol)
    relation = model.relation
    with cpu_threads():  # boxes in batches of hundreds: one thread (model/device.py's rule)
        try:
            proof = _search(model, relation, bounder, atol, within, time_limit, max_boxes, batch, sample, seed, t0,
                            floor)
        except UnsupportedEnclosure as e:
            raise SurrogateError(f"prove has no interval enclosure for {e}; use verify") from None
    return _attach(model, proof) if attach else proof


def provable(model, atol: float | None = None) -> float:
    """Raise `SurrogateError`, naming the reason, if `prove` cannot take this model (an
    implicit system of more than three equations, more than three inputs, an activation or a formula node without an
    enclosure, a vanishing scale without atol); else return the atol the proof would use.
    Cheap (one box is bounded): call it before minutes of other work, as
    `surrogate verify --prove` does before verifying."""
    return _provable(model, atol)[0]


def _provable(model, atol: float | None):
    """`provable`, and the bounder it built for a single network (None for pieces)."""
    if atol is None and isinstance(getattr(model, "info", None), dict) and model.info.get("atol") is not None:
        atol = model.info["atol"]
    if isinstance(model, PiecewiseSurrogate):
        atol = resolve_atol(model.relation, atol)
        for p, m in zip(model.relation.pieces, model.models):
            if p.constant is None:
                provable(m, atol)
        return atol, None
    if not isinstance(model, Surrogate):
        raise SurrogateError(
            f"prove supports a single-network Surrogate (features, one MLP, heads), not a {type(model).__name__}")
    relation = model.relation
    atol = resolve_atol(relation, atol)
    _check(model, relation, atol)
    try:
        bounder = _Bounder(model, relation, atol)
        with np.errstate(all="ignore"):
            bounder.bound(np.zeros((1, relation.domain.dim)), np.ones((1, relation.domain.dim)))
    except UnsupportedEnclosure as e:
        raise SurrogateError(f"prove has no interval enclosure for {e}; use verify") from None
    return atol, bounder


def _attach(model, proof: Proof) -> Proof:
    """Put the proof on the model's certificate when that was computed with the same atol."""
    cert = getattr(model, "certificate", None)
    if cert is not None and cert.atol == proof.atol:
        model.certificate = dataclasses.replace(cert, proof=proof.to_dict())
    return proof


def _prove_pieces(model, *, within, time_limit, atol, max_boxes, batch, sample, seed, floor, t0) -> Proof:
    """Each piece's network proven over its piece's box (the closure of its region, which
    the sub-relation's bounds describe), the time left shared among the pieces left; a
    piece whose bound is already below the target of the pieces before it stops there.
    A constant piece's error is one number (its formula uses no input): computed once."""
    relation = model.relation
    atol = provable(model, atol)  # refuse before any work
    rows, lower, settled = [], 0.0, floor
    cert = getattr(model, "certificate", None)
    if cert is not None and all(n in cert.worst for n in relation.inputs):  # a lower bound from the start
        x = relation.domain.clip(np.array([[cert.worst[n] for n in relation.inputs]]))
        err, ok = point_errors(model, x, atol=atol, relation=relation)
        if ok.all() and np.isfinite(err).all():
            lower = float(err.max())
    for k, (p, m) in enumerate(zip(relation.pieces, model.models)):
        if p.constant is not None:
            c = verify_constant(model, relation, k, 4096, atol, seed)
            if not c.points:
                raise SurrogateError(f"piece {p.number} ({p.condition}) is a constant whose region no sampled point "
                                     "fell in: its error could not be evaluated; use verify")
            # the formula and the model are both constant there: the error is the same at every point
            rows.append({"piece": p.number, "condition": p.condition, "bound": c.max_error, "lower": c.max_error,
                         "status": "proven", "boxes": 0, "seconds": 0.0, "worst_box": {}, "limit": ""})
        else:
            left = max(time_limit - (time.perf_counter() - t0), 1e-3) / (len(relation.pieces) - k)
            q = prove(m, within=within, time_limit=left, atol=atol, max_boxes=max_boxes, batch=batch, sample=sample,
                      seed=seed, floor=max(settled, within * lower), attach=False)
            rows.append({"piece": p.number, "condition": p.condition, **{f: getattr(q, f) for f in (
                "bound", "lower", "status", "boxes", "seconds", "worst_box", "limit")}})
        lower = max(lower, rows[-1]["lower"])
    bound = max(r["bound"] for r in rows)
    if bound < lower:
        raise SurrogateError(f"internal error: the proven bound {bound:.6g} is below an error found at a point "
                             f"({lower:.6g}); the enclosures are unsound here, please report it")
    worst = max(rows, key=lambda r: r["bound"])
    status = "proven" if bound <= max(within * lower, floor) else \
        next(r["status"] for r in rows if r["status"] != "proven")
    return Proof(bound=float(bound), lower=float(lower), within=float(within), status=status,
                 boxes=sum(r["boxes"] for r in rows), seconds=round(time.perf_counter() - t0, 3), atol=float(atol),
                 worst_box=dict(worst["worst_box"]), floor=float(floor), pieces=rows,
                 limit=f"piece {worst['piece']} ({worst['condition']}): {worst['limit']}" if worst["limit"] and
                 status != "proven" else "")


def _search(model, relation, bounder, atol, within, time_limit, max_boxes, batch, sample, seed, t0,
            floor) -> Proof:
    import torch

    d = relation.domain.dim
    # the largest error at a point so far: a Sobol sample and the certificate's worst point
    u = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(sample, dtype=torch.float64).numpy()
    lower = float(_errors_at(model, bounder, u, atol).max())
    cert = getattr(model, "certificate", None)
    if cert is not None and all(n in cert.worst for n in relation.inputs):
        x = relation.domain.clip(np.array([[cert.worst[n] for n in relation.inputs]]))
        err, ok = point_errors(model, x, atol=atol, relation=relation)
        if ok.all() and np.isfinite(err).all():
            lower = max(lower, float(err.max()))
    # a first grid of 4^d boxes
    g = np.arange(4) / 4.0
    grid = np.stack(np.meshgrid(*[g] * d, indexing="ij"), -1).reshape(-1, d)
    lo, hi = grid, grid + 0.25
    ub, split, parts = bounder.bound(lo, hi)
    boxes = len(lo)
    settled, settled_box = 0.0, None
    status = "proven"
    while True:
        target = max(within * lower, floor)
        done = ub <= target
        if done.any():
            i = int(np.argmax(np.where(done, ub, -np.inf)))
            if ub[i] > settled:
                settled, settled_box = float(ub[i]), (lo[i].copy(), hi[i].copy())
            keep = ~done
            lo, hi, ub, split, parts = lo[keep], hi[keep], ub[keep], split[keep], parts[keep]
        if not len(ub):
            break
        if time.perf_counter() - t0 > time_limit:
            status = "time_limit"
            break
        if boxes >= max_boxes:
            status = "box_limit"
            break
        k = min(batch, len(ub))
        top = np.argpartition(-ub, k - 1)[:k] if k < len(ub) else np.arange(len(ub))
        plo, phi, ps = lo[top], hi[top], split[top]
        mid = 0.5 * (plo[np.arange(k), ps] + phi[np.arange(k), ps])
        alo, ahi = plo.copy(), phi.copy()
        ahi[np.arange(k), ps] = mid
        blo, bhi = plo.copy(), phi.copy()
        blo[np.arange(k), ps] = mid
        clo, chi = np.concatenate([alo, blo]), np.concatenate([ahi, bhi])
        cub, csplit, cparts = bounder.bound(clo, chi)
        boxes += len(clo)
        thin = (chi - clo).min(1)
        stuck = (~(cub < 1e300) & (thin < SINGULAR_SIDE)) | ((thin < THINNEST) & (cub > max(within * lower, floor)))
        if stuck.any():  # splitting will not help: a singularity of the enclosures
            status = "unresolved"
            j = int(np.argmax(stuck))
            lo, hi, ub = clo[j:j + 1], chi[j:j + 1], cub[j:j + 1]
            split, parts = csplit[j:j + 1], cparts[j:j + 1]
            break
        # the children of the worst boxes: their centres are where the largest error may be
        worst = np.argsort(-cub)[: min(64, len(cub))]
        lower = max(lower, float(_errors_at(model, bounder, 0.5 * (clo[worst] + chi[worst]), atol).max()))
        rest = np.ones(len(ub), dtype=bool)
        rest[top] = False
        lo, hi = np.concatenate([lo[rest], clo]), np.concatenate([hi[rest], chi])
        ub, split, parts = np.concatenate([ub[rest], cub]), np.concatenate([split[rest], csplit]), \
            np.concatenate([parts[rest], cparts])
    bound, box, limit = settled, settled_box, ""
    if len(ub):
        i = int(np.argmax(ub))
        if ub[i] >= bound:
            bound, box = float(ub[i]), (lo[i], hi[i])
        pn, pt = parts[i]
        if status == "unresolved":
            limit = (f"on a box too thin to split further ({_box_text(bounder, lo[i], hi[i])}) the bound is still "
                     f"{_fmt(ub[i])}: the enclosure of the {'formula' if not pt < 1e300 or pt >= pn else 'network'} "
                     "has a singularity there -- a removable one such as 0/0 (tanh(x)/x at x = 0, an effectiveness at "
                     "Cr = 1), which interval arithmetic cannot see through, or a pole; prove has no bound there "
                     "(docs/prove.md)")
        else:
            limit = (f"{len(ub):,} boxes above {within:g}x the largest error found when the "
                     f"{'time' if status == 'time_limit' else 'box count'} ran out; on the worst box "
                     f"({_box_text(bounder, lo[i], hi[i])}) the widths of the enclosures (of the Hessians in the "
                     f"second-order form, of the gradients where the first-order form won) add {pn:.3g} "
                     f"(network) and {pt:.3g} (formula) to the bound, in link space")
            if not pt < 1e300:
                limit += ("; the formula's enclosure is unbounded there: a singularity such as 0/0 (tanh(x)/x at x = 0, "
                          "an effectiveness at Cr = 1) that interval arithmetic cannot see through (docs/prove.md)")
    if bound < lower:
        raise SurrogateError(f"internal error: the proven bound {bound:.6g} is below an error found at a point "
                             f"({lower:.6g}); the enclosures are unsound here, please report it")
    worst_box = {}
    if box is not None:
        x = _box_x(bounder, box[0], box[1])
        worst_box = {n: [float(x[0][k]), float(x[1][k])] for k, n in enumerate(relation.inputs)}
    return Proof(bound=float(bound), lower=float(lower), within=float(within), status=status, boxes=int(boxes),
                 seconds=round(time.perf_counter() - t0, 3), atol=float(atol), worst_box=worst_box, limit=limit,
                 floor=float(floor))


def _box_x(bounder, ulo, uhi):
    """Per input, the smallest and largest value over the corners of a box (a dependent
    bound makes a box of the chart a slanted one in the inputs)."""
    d = len(ulo)
    corners = ulo + (uhi - ulo) * ((np.arange(2**d)[:, None] >> np.arange(d)) & 1)
    x = bounder.points(corners)
    return x.min(0), x.max(0)


def _box_text(bounder, ulo, uhi) -> str:
    relation = bounder.relation
    xl, xh = _box_x(bounder, ulo, uhi)
    return ", ".join(f"{n} in [{a:.6g}, {b:.6g}]" for n, a, b in zip(relation.inputs, xl, xh))
