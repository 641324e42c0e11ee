"""A proven certificate: a rigorous upper bound on a surrogate's max error over its domain.

`verify` samples: its max is a lower bound on the true max error, and a spike between
samples goes unseen.  `prove` bounds the error over every point of the domain by
branch and bound over boxes in the chart's unit cube (independent bounds keep boxes
as boxes), for explicit relations of up to three inputs:

- on a box, each head's error in its own link space, e = g - t (g the network's value
  before the exponential, t = log|y|, log P, log N, or y for a linear head), is
  enclosed by the better of its natural interval extension and the mean-value form
  |e(centre)| + sum_i r_i max|de/du_i|, the network's gradient enclosed layer by
  layer (interval Jacobians; SiLU, tanh and their derivatives bounded between their
  turning points) and the formula's by forward-mode interval differentiation over
  its expression tree (interval.py);
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

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .errors import SurrogateError
from .interval import (
    ABS,
    REL,
    Dual,
    Enclosure,
    Interval,
    UnsupportedEnclosure,
    activation,
    affine,
    affine_grad,
    tighten,
    widen,
)
from .interval import ACTIVATIONS as _ACTS
from .metric import DEFINITION

__all__ = ["MAX_INPUTS", "ROUNDING", "Proof", "prove"]

#: Inputs beyond this are refused: the number of boxes grows as (1/h)^d.
MAX_INPUTS = 3

_U = 2.0**-53

ROUNDING = (
    "stated safety margin, not directed rounding: every interval operation is widened outward by 2^-50 "
    "relative (8 ulps; covers correctly rounded float64 arithmetic and NumPy's exp/log/pow/tanh to within "
    "a few ulps), matrix products by gamma_n |W||x|; the float64 evaluation of the network (features to "
    "16 ulps, each layer by gamma_n |W||h|, through the activations' Lipschitz bounds) and of its head's "
    "exponential is added to the bound"
)


@dataclass(frozen=True)
class Proof:
    """A proven upper bound on the max error of a surrogate over its whole domain."""

    bound: float  # proven: no point of the domain has a larger error
    lower: float  # the largest error found at a point (so the true max lies in [lower, bound])
    within: float  # the target: bound <= within * lower
    status: str  # "proven" (within the target) or "time_limit" / "box_limit" (the best bound so far)
    boxes: int  # boxes bounded
    seconds: float
    atol: float
    error: str = DEFINITION
    rounding: str = ROUNDING
    worst_box: dict[str, list[float]] = field(default_factory=dict)  # the box holding the bound, per input
    limit: str = ""  # what kept the bound from the target, when it was not reached

    @property
    def proven(self) -> bool:
        return self.status == "proven"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proof:
        return cls(**d)

    def _ratio(self) -> float:
        b, lo = _num(self.bound), _num(self.lower)
        return b / lo if lo > 0 else math.inf

    def summary(self) -> str:
        """One line: the bound, what it is measured against, and how it was reached."""
        state = "proven" if self.proven else f"{self.status.replace('_', ' ')} reached, best bound so far"
        return (f"max error <= {_fmt(self.bound)} over every point of the domain ({state}; {self._ratio():.3g}x the "
                f"largest error found, {_fmt(self.lower)}; {self.boxes:,} boxes, {self.seconds:.1f} s)")

    def __str__(self) -> str:
        state = (f"within {self.within:g}x of the largest error found" if self.proven
                 else f"NOT within {self.within:g}x: {self.status.replace('_', ' ')} reached, best bound so far")
        lines = [
            (f"  proven max <= {_fmt(self.bound)}   (rigorous, every point of the domain; {state}: "
            f"{self._ratio():.3g}x)"),
            f"  found max  {_fmt(self.lower)}   (largest error at a point: box centres, Sobol sample, worst point)",
            (f"  proof      branch and bound over {self.boxes:,} boxes in {self.seconds:.1f} s; rounding: stated "
            "margin (docs/prove.md)"),
        ]
        if self.limit:
            lines.append(f"  limit      {self.limit}")
        return "\n".join(lines)


def _width(a: Interval) -> np.ndarray:
    """Half the width of each interval (what the enclosure adds to the mean-value spread)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(0.5 * (a.hi - a.lo), nan=np.inf)


def _num(v) -> float:
    return math.inf if v is None else float(v)  # null in JSON: an infinite bound


def _fmt(v) -> str:
    return "inf" if v is None or not math.isfinite(v) else f"{v:.4g}"


# -- what can be proven ------------------------------------------------------------------------
def _check(model, relation, atol: float) -> None:
    from .model import Surrogate

    if not isinstance(model, Surrogate) or not hasattr(model.module, "feature_specs"):
        raise SurrogateError(
            f"prove supports a single-network Surrogate (features, one MLP, heads), not a {type(model).__name__}")
    name = relation.name or "the relation"
    if not relation.is_explicit:
        raise SurrogateError(
            f"prove does not support implicit relations ({name}): the error is measured against a numeric "
            "solve, and enclosing the root needs an interval Newton step on the residual, not built yet; "
            "use verify for its sampled certificate")
    if relation.domain.dim > MAX_INPUTS:
        raise SurrogateError(
            f"prove supports relations of at most {MAX_INPUTS} inputs; {name} has {relation.domain.dim} "
            f"({', '.join(relation.inputs)}): the number of boxes grows as (1/h)^d; use verify")
    act = model.module.net.config["activation"]
    if act not in _ACTS:
        raise SurrogateError(
            f"prove encloses the activations {', '.join(_ACTS)}; this network uses {act!r} "
            "(train with TrainConfig(activation='silu') to prove it)")
    for h in model.module.head_specs:
        if h["kind"] not in ("log", "signed_log", "linear") or h.get("bound") is not None:
            raise SurrogateError(f"prove does not support the {h['kind']} head of {h.get('output')} "
                                 f"{'with a bound' if h.get('bound') is not None else ''}".rstrip())
    for f in model.module.feature_specs:
        if f["kind"] not in ("linear", "log", "edge", "log_edge", "group"):
            raise SurrogateError(f"prove does not support the feature kind {f['kind']!r}")
    vanish = relation.program.vanishing
    if vanish and not atol:
        where = "; ".join(f"{o} at " + ", ".join(f"{k}={v:.6g}" for k, v in p.items()) for o, p in vanish.items())
        raise SurrogateError(
            f"the error of {name} is undefined where its scale vanishes ({where}) and atol is 0: no finite bound "
            f"exists; prove with atol={relation.suggested_atol():g} (or another)")


def _feature_expr(f: dict, relation) -> sp.Expr:
    """The feature of spec f as a SymPy expression of the inputs (scaling.features); an edge
    feature is log(rel + delta) of the input's edge coordinate (`Enclosure.rel`), which is
    what it computes from the point, without the cancellation of x - low over a box."""
    x = relation.symbols[f["input"]]
    if f["kind"] == "linear":
        t = x
    elif f["kind"] == "log":
        t = sp.log(x)
    elif f["kind"] in ("edge", "log_edge"):
        t = sp.log(Enclosure.rel(relation.domain.names.index(f["input"])) + sp.Float(f["delta"]))
    else:  # group: as compiled ("feature_group", index)
        g, use_log = relation.program.feature_groups[int(f["index"])]
        t = sp.log(g) if use_log else g
    return 2 * (t - sp.Float(f["lo"])) / (sp.Float(f["hi"]) - sp.Float(f["lo"])) - 1


def _charts(relation, feature_specs) -> tuple[dict[int, sp.Expr], dict[int, float]]:
    """Per input, its chart x_k(u_k, other inputs) where it is not the plain chart of a
    numeric range: inputs with an edge feature are charted by the distance to that
    edge (`Enclosure.edge_rel`, floors at 1e-2 of the feature's delta), inputs with
    dependent bounds by the domain's chart."""
    dom = relation.domain
    charts, floors = {}, {}
    for f in feature_specs:
        if f["kind"] in ("edge", "log_edge"):
            k = dom.names.index(f["input"])
            spec, r = dom.inputs[k], Enclosure.rel(k)
            lo, hi = spec.low, spec.high
            if f["kind"] == "log_edge":
                llo, lhi = sp.log(lo), sp.log(hi)
                charts[k] = sp.exp(lhi - (lhi - llo) * r) if f["side"] == "high" else sp.exp(llo + (lhi - llo) * r)
            else:
                charts[k] = hi - (hi - lo) * r if f["side"] == "high" else lo + (hi - lo) * r
            floors[k] = 1e-2 * float(f["delta"])
    for k, spec in enumerate(dom.inputs):
        if spec.dependent and k not in charts:
            u, lo, hi = Enclosure.unit(k), spec.low, spec.high
            charts[k] = sp.exp(sp.log(lo) + (sp.log(hi) - sp.log(lo)) * u) if spec.scale == "log" else \
                lo + (hi - lo) * u
    return charts, floors


class _Bounder:
    """Bounds the error of a model over boxes of the chart's unit cube."""

    def __init__(self, model, relation, atol: float):
        self.relation, self.atol = relation, float(atol)
        dom = relation.domain
        self.inputs = [(s.name, s.scale, float(s.range[0]), float(s.range[1])) for s in dom.inputs]
        m = model.module
        charts, self.floors = _charts(relation, m.feature_specs)
        self.enc = Enclosure(self.inputs, charts, self.floors)
        from .compile import compile_expr

        self.chart_fns = {k: compile_expr(e, "numpy") for k, e in charts.items()}
        self.d = dom.dim
        self.features = [_feature_expr(f, relation) for f in m.feature_specs]
        net = m.net
        self.act = activation(net.config["activation"])
        lin = [mod for mod in net.hidden if hasattr(mod, "weight")]
        self.layers = [(layer.weight.detach().double().cpu().numpy(), layer.bias.detach().double().cpu().numpy())
                       for layer in lin]
        self.last = (net.last.weight.detach().double().cpu().numpy(), net.last.bias.detach().double().cpu().numpy())
        self.skip = None if net.skip is None else net.skip.weight.detach().double().cpu().numpy()
        # per head: its targets (link space) and what turns E into the certificate's error
        self.heads = []
        targets: list[sp.Expr] = []
        values: list[sp.Expr] = []  # value-only enclosures: scales, |y|, P + N
        prog = relation.program
        for h in m.head_specs:
            o = h["output"]
            expr = relation.expression(o)
            scale = sp.Abs(relation.normalizer[o]) if o in relation.normalizer else prog.scale_exprs[o]
            entry = {"head": h, "t": len(targets), "s": len(values)}
            values.append(scale)
            if h["kind"] == "log":
                targets.append(sp.expand_log(sp.log(h["sign"] * expr)))
                entry["le1"] = o not in relation.normalizer  # |y| <= S: the magnitude's construction
                values.append(sp.Abs(expr))
            else:  # the formula itself: linear heads, and signed-log ones (bound as exp(p) - exp(n) - y)
                targets.append(expr)
            self.heads.append(entry)
        self.targets, self.values = targets, values

    def points(self, u: np.ndarray) -> np.ndarray:
        """The inputs x [N, d] at chart points u [N, d] of this proof's chart."""
        dom = self.relation.domain
        u = np.clip(u, 0.0, 1.0)
        plain = dom.chart(u)
        cols: dict[str, np.ndarray] = {}
        for k in dom.order:
            if k in self.chart_fns:
                env = {**cols, Enclosure.unit(k).name: u[:, k]}
                if k in self.floors:
                    env[Enclosure.rel(k).name] = Enclosure.edge_rel_numpy(u[:, k], self.floors[k])
                cols[dom.names[k]] = np.broadcast_to(self.chart_fns[k](env), (len(u),))
            else:
                cols[dom.names[k]] = plain[:, k]
        return dom.clip(np.stack([cols[n] for n in dom.names], 1))

    # -- the network over boxes ---------------------------------------------------------
    def network(self, F: Interval, FG: Interval, grad: bool = True, centre=None):
        """(channels, their u-Jacobian [B, c, d], float64 evaluation error bound [B, c], the
        pre-activations of each layer).  With `centre` = (pre-activations and channels at the
        boxes' centres, half-widths r) each layer's pre-activation (and the channels) are cut
        down to their mean-value form before the activation is enclosed."""
        h, hg = F, FG
        fmag = F.mag()
        dlt = 16 * _U * (fmag + 1.0)  # features evaluated to 16 ulps
        zs = []
        for i, (W, b) in enumerate(self.layers):
            z = affine(W, b, h)
            zg = affine_grad(W, hg) if grad else None
            if centre is not None:
                z = tighten(z, centre[0][i], zg, centre[2])
            zs.append(z)
            n = W.shape[1]
            gamma = (n + 2) * _U
            dz = dlt @ np.abs(W).T + gamma * (h.mag() @ np.abs(W).T + np.abs(b))
            val, der = self.act
            a, da = val(z), der(z)
            dlt = dz * da.mag() + 4 * _U * (a.mag() + 1e-300)
            if grad:
                hg = Interval(da.lo[:, :, None], da.hi[:, :, None]) * zg
            h = a
        W, b = self.last
        out = affine(W, b, h)
        gamma = (W.shape[1] + 2) * _U
        dout = dlt @ np.abs(W).T + gamma * (h.mag() @ np.abs(W).T + np.abs(b))
        og = affine_grad(W, hg) if grad else None
        if self.skip is not None:
            out = out + affine(self.skip, None, F)
            gs = (self.skip.shape[1] + 2) * _U
            dout = dout + (16 * _U * (fmag + 1.0)) @ np.abs(self.skip).T + gs * (fmag @ np.abs(self.skip).T) \
                + 2 * _U * out.mag()
            if grad:
                og = og + affine_grad(self.skip, FG)
        if centre is not None:
            out = tighten(out, centre[1], og, centre[2])
        return out, og, dout, zs

    def _stack(self, duals: list[Dual]):
        F = Interval(np.stack([q.v.lo for q in duals], 1), np.stack([q.v.hi for q in duals], 1))
        FG = Interval(np.stack([q.g.lo for q in duals], 1), np.stack([q.g.hi for q in duals], 1))
        return F, FG

    def enclose(self, ulo: np.ndarray, uhi: np.ndarray):
        """Over boxes [ulo, uhi] and at their centres: the network's channels (interval [B, c]),
        their u-Jacobian ([B, c, d]; None at the centres), the bound on their float64 evaluation
        error ([B, c]), the targets (Duals) and the value-only enclosures (scales, |y|)."""
        nf, nt = len(self.features), len(self.targets)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        exprs = self.features + self.targets + self.values
        with np.errstate(all="ignore"):
            cen = self.enc(exprs, c, c)
            memo = self.enc.memo
            Fc, _ = self._stack(cen[:nf])
            Nc, _, dNc, zc = self.network(Fc, None, grad=False)
            box = self.enc(exprs, ulo, uhi, centre=(memo, r))
            F, FG = self._stack(box[:nf])
            N, NG, dN, _ = self.network(F, FG, centre=(zc, Nc, r))
        vals = [q.v for q in box[nf + nt:]]
        return (N, NG, dN, box[nf:nf + nt], vals), (Nc, None, dNc, cen[nf:nf + nt], None)

    # -- the bound ---------------------------------------------------------------------------
    @staticmethod
    def _mv(r, e_box: Interval, e_c: Interval, eg: Interval):
        """min(natural, mean-value) bound on |e| over the boxes, the per-coordinate contributions
        of the mean-value form, and where it is the one used."""
        natural = e_box.mag()
        contrib = r * eg.mag()
        mv = e_c.mag() + contrib.sum(1)
        with np.errstate(invalid="ignore"):
            E = np.fmin(natural, mv)
        return np.where(np.isnan(E), np.inf, E), contrib, np.isfinite(mv) & (mv <= natural)

    def _link(self, h, entry, r, box, cen, denom, vals):
        """Log and linear heads: e = a + b n - t in link space (t = log|y| or y)."""
        (N, NG, dN, tb), (Nc, dNc, tc) = box, cen
        B = len(r)
        ch = h["channels"][0]
        a, bcoef = h["a"], h["b"]
        t, t0 = tb[entry["t"]], tc[entry["t"]]
        g = Interval(N.lo[:, ch], N.hi[:, ch]).scale(bcoef) + Interval.const(a, (B,))
        gc = Interval(Nc.lo[:, ch], Nc.hi[:, ch]).scale(bcoef) + Interval.const(a, (B,))
        ng = Interval(NG.lo[:, ch, :], NG.hi[:, ch, :]).scale(bcoef)
        E, contrib, use_mv = self._mv(r, g - t.v, gc - t0.v, ng - t.g)
        # the float64 evaluation of the network and of a + b n, in link space
        E = E + abs(bcoef) * np.maximum(dN[:, ch], dNc[:, ch]) + 4 * _U * (abs(a) + abs(bcoef) * N.mag()[:, ch])
        E = E * (1 + REL) + ABS
        rows = [(E, contrib, use_mv, (r * _width(ng)).sum(1), (r * _width(t.g)).sum(1))]
        if h["kind"] == "linear":
            with np.errstate(divide="ignore", invalid="ignore"):
                return E / denom, rows
        with np.errstate(over="ignore"):
            grow = np.expm1(E)
        with np.errstate(divide="ignore", invalid="ignore"):
            R = vals[entry["s"] + 1].hi / denom  # |y| / max(S, atol)
        R = np.where(np.isnan(R), np.inf, R)
        if entry["le1"]:
            R = np.minimum(R, 1.0)
        # |y_hat - y| = |y| |e^e - 1|; exp in float64 adds a few ulps of |y_hat| <= |y| e^E
        return R * (grow + 8 * _U * (1.0 + grow)), rows

    def _signed(self, h, entry, r, box, cen, denom):
        """A signed-log head: D = exp(p) - exp(n) - y enclosed directly (its two channels are
        not each fitted to P and N, only their difference to y)."""
        (N, NG, dN, tb), (Nc, dNc, tc) = box, cen
        B = len(r)
        c0, c1 = h["channels"]

        def link(M, ch, a, b):
            return Interval(M.lo[:, ch], M.hi[:, ch]).scale(b) + Interval.const(a, (B,))

        def exp(v):
            with np.errstate(over="ignore"):
                return Interval(*widen(np.exp(v.lo), np.exp(v.hi)))

        eP, eQ = exp(link(N, c0, h["ap"], h["bp"])), exp(link(N, c1, h["an"], h["bn"]))
        ePc, eQc = exp(link(Nc, c0, h["ap"], h["bp"])), exp(link(Nc, c1, h["an"], h["bn"]))
        t, t0 = tb[entry["t"]], tc[entry["t"]]

        def col(v):
            return Interval(v.lo[:, None], v.hi[:, None])

        gn = col(eP) * Interval(NG.lo[:, c0, :], NG.hi[:, c0, :]).scale(h["bp"]) \
            - col(eQ) * Interval(NG.lo[:, c1, :], NG.hi[:, c1, :]).scale(h["bn"])
        E, contrib, use_mv = self._mv(r, eP - eQ - t.v, ePc - eQc - t0.v, gn - t.g)
        # float64: the channels (dN), the exponentials and the difference (a few ulps each)
        d0, d1 = np.maximum(dN[:, c0], dNc[:, c0]), np.maximum(dN[:, c1], dNc[:, c1])
        with np.errstate(over="ignore", invalid="ignore"):
            E = E + eP.hi * np.expm1(abs(h["bp"]) * d0) + eQ.hi * np.expm1(abs(h["bn"]) * d1) \
                + 8 * _U * (eP.hi + eQ.hi)
            E = E * (1 + REL) + ABS
            err = E / denom
        return err, [(E, contrib, use_mv, (r * _width(gn)).sum(1), (r * _width(t.g)).sum(1))]

    def bound(self, ulo: np.ndarray, uhi: np.ndarray):
        """(error bound [B], split coordinate [B], parts) over boxes [ulo, uhi] of the unit cube.

        parts: per box, the mean-value spread of the network and of the formula
        (sum_i r_i max|dg/du_i| and sum_i r_i max|dt/du_i|), for reporting what limits."""
        B = len(ulo)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        (N, NG, dN, tb, vals), (Nc, _, dNc, tc, _) = self.enclose(ulo, uhi)
        ub = np.zeros(B)
        split = np.argmax(r, 1)
        parts = np.zeros((B, 2))
        for entry in self.heads:
            h = entry["head"]
            denom = np.maximum(vals[entry["s"]].lo, self.atol)
            if h["kind"] == "signed_log":
                err, rows = self._signed(h, entry, r, (N, NG, dN, tb), (Nc, dNc, tc), denom)
            else:
                err, rows = self._link(h, entry, r, (N, NG, dN, tb), (Nc, dNc, tc), denom, vals)
            err = np.where(np.isnan(err), np.inf, err) * (1 + REL)
            worse = err > ub
            ub = np.maximum(ub, err)
            best = np.full(B, -1.0)
            for E, contrib, use_mv, pn, pt in rows:  # the channel that makes most of this head's bound
                pick = worse & (E > best)
                best = np.where(pick, E, best)
                with np.errstate(invalid="ignore"):
                    k = np.argmax(np.nan_to_num(contrib, nan=np.inf), 1)
                split = np.where(pick & use_mv, k, np.where(pick, np.argmax(r, 1), split))
                parts = np.where(pick[:, None], np.stack([pn, pt], 1), parts)
        return ub, split, parts


def _errors_at(model, bounder, u: np.ndarray, atol: float) -> np.ndarray:
    """The certificate's error (max over outputs) at chart points u; -inf where undefined."""
    from .verify import point_errors

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
    attach: bool = True,
) -> Proof:
    """Prove an upper bound on the max error of `model` over its relation's whole domain.

    Runs branch and bound until the bound is within `within` times the largest error
    found at a point, or until `time_limit` seconds or `max_boxes` boxes: then the best
    bound so far comes back with that status (an anytime answer).  `atol` defaults as
    in `verify` (the model's own).  Refuses, with the reason, models and relations it
    cannot bound: implicit relations, more than three inputs, dependent bounds,
    activations other than SiLU and tanh, a scale that vanishes without atol.

    With `attach` (the default) the proof is also put on the model's certificate, when
    it has one computed with the same atol, so that saving the model keeps it.
    """
    t0 = time.perf_counter()
    if not within >= 1.0:
        raise ValueError(f"within must be at least 1 (the bound over the largest error found), not {within!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive seconds, not {time_limit!r}")
    from .model import Surrogate

    if hasattr(model, "pieces"):
        raise SurrogateError(
            "prove does not support piecewise surrogates yet (one network per piece, each on its own sub-domain: "
            "the proof would run per piece over its box); use verify, which certifies each piece")
    if not isinstance(model, Surrogate):
        raise SurrogateError(
            f"prove supports a single-network Surrogate (features, one MLP, heads), not a {type(model).__name__}")
    relation = model.relation
    if atol is None and isinstance(getattr(model, "info", None), dict) and model.info.get("atol") is not None:
        atol = model.info["atol"]
    from .train import cpu_threads, resolve_atol

    atol = resolve_atol(relation, atol)
    _check(model, relation, atol)
    with cpu_threads(1):
        try:
            bounder = _Bounder(model, relation, atol)
            proof = _search(model, relation, bounder, atol, within, time_limit, max_boxes, batch, sample, seed, t0)
        except UnsupportedEnclosure as e:
            raise SurrogateError(f"prove has no interval enclosure for {e}; use verify") from None
    cert = getattr(model, "certificate", None)
    if attach and cert is not None and cert.atol == proof.atol:
        import dataclasses

        model.certificate = dataclasses.replace(cert, proof=proof.to_dict())
    return proof


def _search(model, relation, bounder, atol, within, time_limit, max_boxes, batch, sample, seed, t0) -> Proof:
    import torch

    d = relation.domain.dim
    # the largest error at a point so far: a Sobol sample and the certificate's worst point
    u = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(sample, dtype=torch.float64).numpy()
    lower = float(_errors_at(model, bounder, u, atol).max())
    cert = getattr(model, "certificate", None)
    if cert is not None and all(n in cert.worst for n in relation.inputs):
        x = relation.domain.clip(np.array([[cert.worst[n] for n in relation.inputs]]))
        from .verify import point_errors

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
        target = within * lower
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
        limit = (f"{len(ub):,} boxes above {within:g}x the largest error found when the "
                 f"{'time' if status == 'time_limit' else 'box count'} ran out; on the worst box "
                 f"({_box_text(bounder, lo[i], hi[i])}) the width of the gradient enclosures adds "
                 f"{pn:.3g} (network) and {pt:.3g} (formula) to the mean-value bound, in link space")
    if bound < lower:
        raise SurrogateError(f"internal error: the proven bound {bound:.6g} is below an error found at a point "
                             f"({lower:.6g}); the enclosures are unsound here, please report it")
    worst_box = {}
    if box is not None:
        x = _box_x(bounder, box[0], box[1])
        worst_box = {n: [float(x[0][k]), float(x[1][k])] for k, n in enumerate(relation.inputs)}
    return Proof(bound=float(bound), lower=float(lower), within=float(within), status=status, boxes=int(boxes),
                 seconds=round(time.perf_counter() - t0, 3), atol=float(atol), worst_box=worst_box, limit=limit)


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
