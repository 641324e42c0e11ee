"""The bound of a surrogate's error over one box of its chart, for every box of a batch:
the formula's and the network's enclosures (natural interval extension, mean-value and
second-order forms) combined into the certificate's error (prove.py runs the branch and
bound; docs/prove.md has the method)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..declaration.compile import compile_expr
from ..errors import SurrogateError
from ..model.surrogate import Surrogate
from .enclosure import Dual, Enclosure
from .interval import (
    ABS,
    REL,
    Interval,
    activation,
    affine,
    affine_grad,
    col,
    square_outer,
    taylor,
    tighten,
    tighten2,
    widen,
)
from .interval import ACTIVATIONS as _ACTS
from .removable import rewrite as _removable
from .special import factored, scaled_erfc
from .system import MAX_EQUATIONS, SystemBound

__all__ = ["MAX_EQUATIONS", "MAX_INPUTS", "_Bounder", "_check"]


#: Inputs beyond this are refused: the number of boxes grows as (1/h)^d.
MAX_INPUTS = 3

#: A box this thin (its smallest side, in the chart) whose bound is still infinite (or above
#: 1e300) stops the proof: the enclosure has a singularity there that splitting will not remove.
SINGULAR_SIDE = 1e-4
#: ... and a box thinner than this still above the target, whatever its bound.
THINNEST = 1e-9

#: Bounds at or below this error count as reached (`prove`'s floor): float64 evaluates the
#: network to about 1e-15 relative, and the proof's stated rounding allowance is about 1e-13.
FLOOR = 1e-12

_U = 2.0**-53

def _width(a: Interval) -> np.ndarray:
    """Half the width of each interval (what the enclosure adds to the mean-value spread)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(0.5 * (a.hi - a.lo), nan=np.inf)


# -- what can be proven ------------------------------------------------------------------------
def _check(model, relation, atol: float) -> None:
    if not isinstance(model, Surrogate) or not hasattr(model.module, "feature_specs"):
        raise SurrogateError(
            f"prove supports a single-network Surrogate (features, one MLP, heads), not a {type(model).__name__}")
    _check_relation(relation)
    _check_network(model, relation, atol)


def _check_relation(relation) -> None:
    """What prove refuses in the relation itself: too many inputs, or an implicit system it has no step for."""
    name = relation.name or "the relation"
    if not relation.is_explicit and (len(relation.outputs) != len(relation.residuals)
                                     or len(relation.residuals) > MAX_EQUATIONS):
        raise SurrogateError(
            f"prove supports implicit relations of up to {MAX_EQUATIONS} equations in as many outputs (an "
            f"interval Newton or Krawczyk step on the residuals); {name} has {len(relation.residuals)} equations "
            f"in {len(relation.outputs)} outputs ({', '.join(relation.outputs)}): use verify for its sampled "
            "certificate")
    if relation.domain.dim > MAX_INPUTS:
        raise SurrogateError(
            f"prove supports relations of at most {MAX_INPUTS} inputs; {name} has {relation.domain.dim} "
            f"({', '.join(relation.inputs)}): the number of boxes grows as (1/h)^d; use verify")


def _check_network(model, relation, atol: float) -> None:
    """What prove refuses in the network and the error's definition."""
    name = relation.name or "the relation"
    act = model.module.net.config["activation"]
    if act not in _ACTS:
        raise SurrogateError(
            f"prove encloses the activations {', '.join(_ACTS)}; this network uses {act!r} "
            "(train with TrainConfig(activation='silu') to prove it)")
    for h in model.module.head_specs:
        if h["kind"] not in ("log", "signed_log", "linear") or (h.get("bound") is not None and relation.is_explicit):
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


def rewrite(e: sp.Expr, bounds: dict) -> sp.Expr:
    """The formula as the proof encloses it: removable 0/0 rewritten away (removable.py), then
    exp(A) erfc(B) as exp(A - B^2) erfcx(B) and a rational sum of both signs factored (special.py);
    each proven equal to the original."""
    return factored(scaled_erfc(_removable(e, bounds)))


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
        g = rewrite(g, _bounds(relation))
        t = sp.log(g) if use_log else g
    return 2 * (t - sp.Float(f["lo"])) / (sp.Float(f["hi"]) - sp.Float(f["lo"])) - 1


def _bounds(relation) -> dict:
    """symbol -> (lo, hi) of the inputs with numeric ranges (`removable.rewrite` collapses a Piecewise on a face)."""
    out = {}
    for spec in relation.domain.inputs:
        if not spec.dependent:
            out[relation.symbols[spec.name]] = (float(spec.range[0]), float(spec.range[1]))
    return out


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
        bounds = _bounds(relation)
        for h in (m.head_specs if relation.is_explicit else []):
            o = h["output"]
            # removable 0/0 (LMTD's diagonal, tanh(mL)/mL at 0) rewritten without it, proven equal (removable.py)
            expr = rewrite(relation.expression(o), bounds)
            scale = sp.Abs(relation.normalizer[o]) if o in relation.normalizer else rewrite(prog.scale_exprs[o], bounds)
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
        self.implicit = not relation.is_explicit
        self.system = None
        if self.implicit and len(relation.residuals) > 1:  # a Krawczyk step (system.py)
            self.system = SystemBound(self, m.head_specs)
        elif self.implicit:
            self._implicit_setup(m.head_specs[0])

    #: a network channel and an interval of the output, as symbols no input can be named
    CHANNEL, OUTPUT = sp.Symbol("\x00n", real=True), sp.Symbol("\x00y", real=True)

    def _implicit_setup(self, h: dict) -> None:
        """An implicit relation F(x, y) = 0: the residual at the surrogate's output, y_hat as
        an expression of its channel (scaling: y = a + b B tanh(n / B), exponentiated for a
        log head), and dF/dy over an interval of y (the Newton step)."""
        rel = self.relation
        y = rel.symbols[rel.outputs[0]]
        F = rel.residuals[0]
        n = self.CHANNEL
        squashed = n if h.get("bound") is None else sp.Float(h["bound"]) * sp.tanh(n / sp.Float(h["bound"]))
        link = sp.Float(h["a"]) + sp.Float(h["b"]) * squashed
        yhat = sp.Float(h.get("sign", 1.0)) * sp.exp(link) if h["kind"] == "log" else link
        self.head = h
        self.yhat = yhat
        self.residual = F.subs(y, yhat)
        self.slope = sp.diff(F, y).subs(y, self.OUTPUT)

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
    def network(self, F: Interval, FG: Interval | None, FH: Interval | None = None, centre=None):
        """The network over boxes (or points), forward mode: a dict with the channels `N`
        (interval [B, c]), their u-Jacobian `G` ([B, c, d], with FG) and Hessian `H`
        ([B, c, d, d], with FH), the bound `dN` [B, c] on their float64 evaluation error, and
        the pre-activations of each layer and their Jacobians (`z`, `zg`).  With `centre` (the
        dict of a pass at the boxes' centres, and the half-widths r) each layer's
        pre-activation and the channels are cut down to their second-order form and their
        Jacobians to the mean-value form (or, without FH, the values to their mean-value form)
        before the activation is enclosed."""
        h, hg, hH = F, FG, FH
        fmag = F.mag()
        dlt = 16 * _U * (fmag + 1.0)  # features evaluated to 16 ulps
        zs, zgs = [], []
        val, der, der2 = self.act

        def cut(v, g, H, at, at_g):
            if centre is None:
                return v, g
            r = centre[1]
            if g is not None:
                v = tighten(v, at, g, r)
            if H is not None:
                v, g = tighten2(v, g, at, at_g, H, r)
            return v, g

        def hess(W, H):  # W @ H over [B, n, d, d]
            B, n, d, _ = H.lo.shape
            out = affine_grad(W, Interval(H.lo.reshape(B, n, d * d), H.hi.reshape(B, n, d * d)))
            return Interval(out.lo.reshape(B, -1, d, d), out.hi.reshape(B, -1, d, d))

        for i, (W, b) in enumerate(self.layers):
            z = affine(W, b, h)
            zg = affine_grad(W, hg) if hg is not None else None
            zH = hess(W, hH) if hH is not None else None
            if centre is not None:
                z, zg = cut(z, zg, zH, centre[0]["z"][i], centre[0]["zg"][i])
            zs.append(z)
            zgs.append(zg)
            n = W.shape[1]
            gamma = (n + 2) * _U
            dz = dlt @ np.abs(W).T + gamma * (h.mag() @ np.abs(W).T + np.abs(b))
            a, da = val(z), der(z)
            dlt = dz * da.mag() + 4 * _U * (a.mag() + 1e-300)
            if zH is not None:  # sigma'' zg zg^T + sigma' zH
                dda = der2(z)
                hH = col(dda, 2) * square_outer(zg) + col(da, 2) * zH
            if zg is not None:
                hg = col(da) * zg
            h = a
        W, b = self.last
        out = affine(W, b, h)
        gamma = (W.shape[1] + 2) * _U
        dout = dlt @ np.abs(W).T + gamma * (h.mag() @ np.abs(W).T + np.abs(b))
        og = affine_grad(W, hg) if hg is not None else None
        oH = hess(W, hH) if hH is not None else None
        if self.skip is not None:
            out = out + affine(self.skip, None, F)
            gs = (self.skip.shape[1] + 2) * _U
            dout = dout + (16 * _U * (fmag + 1.0)) @ np.abs(self.skip).T + gs * (fmag @ np.abs(self.skip).T) \
                + 2 * _U * out.mag()
            if og is not None:
                og = og + affine_grad(self.skip, FG)
            if oH is not None:
                oH = oH + hess(self.skip, FH)
        if centre is not None:
            out, og = cut(out, og, oH, centre[0]["N"], centre[0]["G"])
        return {"N": out, "G": og, "H": oH, "dN": dout, "z": zs, "zg": zgs}

    @staticmethod
    def _stack(duals: list[Dual], what: str):
        parts = [getattr(q, what) for q in duals]
        if any(p is None for p in parts):
            return None
        return Interval(np.stack([p.lo for p in parts], 1), np.stack([p.hi for p in parts], 1))

    def enclose(self, ulo: np.ndarray, uhi: np.ndarray):
        """Over boxes [ulo, uhi] and at their centres: the network's pass (`network`: channels,
        u-Jacobian and Hessian over the boxes; channels and Jacobian at the centres), the
        targets (Duals: value, gradient and Hessian over the boxes; value and gradient at the
        centres) and the value-only enclosures (scales, |y|) over the boxes."""
        nf, nt = len(self.features), len(self.targets)
        cen, box, at, net = self._passes(self.features + self.targets + self.values, ulo, uhi)
        vals = [q.v for q in box[nf + nt:]]
        return (net, box[nf:nf + nt], vals), (at, cen[nf:nf + nt])

    def _passes(self, exprs: list[sp.Expr], ulo: np.ndarray, uhi: np.ndarray):
        """`exprs` (the features first) at the boxes' centres and over the boxes, and the
        network on those features: (centre Duals, box Duals, centre pass, box pass)."""
        nf = len(self.features)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        with np.errstate(all="ignore"):
            cen = self.enc(exprs, c, c)
            memo = self.enc.memo
            at = self.network(self._stack(cen[:nf], "v"), self._stack(cen[:nf], "g"))
            box = self.enc(exprs, ulo, uhi, centre=(memo, r), hessian=True)
            net = self.network(self._stack(box[:nf], "v"), self._stack(box[:nf], "g"), self._stack(box[:nf], "H"),
                               centre=(at, r))
        return cen, box, at, net

    # -- the bound ---------------------------------------------------------------------------
    @staticmethod
    def _forms(r, e_box: Interval, e_c: Interval, eg: Interval, eg_c: Interval, eH: Interval, grads, hessians):
        """The smallest of three bounds on |e| over the boxes -- the natural interval
        extension, the mean-value form |e(c)| + sum_i r_i max|de/du_i| and the second-order
        form e(c) + grad e(c) . delta + (1/2) delta^T H delta -- with the per-coordinate
        contributions of the form used (to choose the split), where one of the two forms won
        (else the widest coordinate is split) and what the network's and the formula's
        enclosures add to the bound: (grads) their gradients' widths, or (hessians) the
        second-order remainders of their Hessians."""
        natural = e_box.mag()
        contrib = r * eg.mag()
        mv = e_c.mag() + contrib.sum(1)
        second = taylor(e_c, eg_c, eH, r).mag()
        rr = 0.5 * r[:, :, None] * r[:, None, :]
        with np.errstate(invalid="ignore", over="ignore"):
            c2 = r * eg_c.mag() + (eH.mag() * rr).sum(2)
            E = np.fmin(natural, np.fmin(mv, second))
            use2 = np.isfinite(second) & (second <= mv) & (second <= natural)
            use1 = ~use2 & np.isfinite(mv) & (mv <= natural)
            contrib = np.where(use2[:, None], c2, contrib)
            rem_n = np.where(use2, (_width(hessians[0]) * rr).sum((1, 2)), (r * _width(grads[0])).sum(1))
            rem_t = np.where(use2, (_width(hessians[1]) * rr).sum((1, 2)), (r * _width(grads[1])).sum(1))
        return np.where(np.isnan(E), np.inf, E), contrib, use1 | use2, rem_n, rem_t

    def _bound_implicit(self, ulo: np.ndarray, uhi: np.ndarray):
        """An interval Newton step: over a box, |F(x, y_hat(x))| <= Fmax by the three forms
        (the residual at the network's output, its gradient and Hessian through the channel's
        enclosures), and on Y = y_hat(box) widened by 2 Fmax / m0 (m0 = min |dF/dy| over
        y_hat(box)), m = min |dF/dy| > 0 makes F(x, .) monotone on Y, so that the root lies
        within Fmax / m of y_hat(x) whenever Fmax / m fits in the widening: the error is at most
        D / max(|y_hat| - D, atol), D = Fmax / m, relative to the root (|y| >= |y_hat| - D)."""
        B = len(ulo)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        ch = self.head["channels"][0]
        _, _, at, net = self._passes(self.features, ulo, uhi)
        with np.errstate(all="ignore"):

            def chan(M, H=True):
                return Dual(Interval(M["N"].lo[:, ch], M["N"].hi[:, ch]), Interval(M["G"].lo[:, ch], M["G"].hi[:, ch]),
                            H=Interval(M["H"].lo[:, ch], M["H"].hi[:, ch]) if H else None)

            Rc, _ = self.enc([self.residual, self.yhat], c, c, given={self.CHANNEL: chan(at, H=False)})
            memo = self.enc.memo
            Rb, Yb = self.enc([self.residual, self.yhat], ulo, uhi, centre=(memo, r), hessian=True,
                              given={self.CHANNEL: chan(net)})
            zg = Interval(np.zeros((B, self.d)), np.zeros((B, self.d)))
            zH = Interval(np.zeros((B, self.d, self.d)), np.zeros((B, self.d, self.d)))
            Fmax, contrib, use, _, pt = self._forms(r, Rb.v, Rc.v, Rb.g, Rc.g, Rb.H, (zg, Rb.g), (zH, Rb.H))
            Fmax = Fmax * (1 + REL) + ABS

            def slope_min(Y: Interval) -> np.ndarray:
                s = self.enc([self.slope], ulo, uhi, given={self.OUTPUT: Dual(Y, zg)})[0].v
                return np.where((s.lo > 0) | (s.hi < 0), np.minimum(np.abs(s.lo), np.abs(s.hi)), 0.0)

            Y0 = Yb.v
            m0 = slope_min(Y0)
            w = 2.0 * Fmax / m0
            m = slope_min(Interval(*widen(Y0.lo - w, Y0.hi + w)))
            D = Fmax / m
            ok = (m > 0) & (D <= w) & np.isfinite(D)
            # the float64 evaluation of the channel moves y_hat by |dy/dn| dN <= |b| (|y_hat| for a log head) dN
            h = self.head
            dy = abs(h["b"]) * np.maximum(net["dN"][:, ch], at["dN"][:, ch]) * (Y0.mag() if h["kind"] == "log" else 1.0)
            D = D + dy * (1 + 1e-6) + 8 * _U * Y0.mag()
            ymin = np.where((Y0.lo > 0) | (Y0.hi < 0), np.minimum(np.abs(Y0.lo), np.abs(Y0.hi)), 0.0)
            denom = np.maximum(ymin - D, self.atol)
            err = np.where(ok & (denom > 0), D / denom, np.inf) * (1 + REL)
        err = np.where(np.isnan(err), np.inf, err)
        split = np.where(use, np.argmax(np.nan_to_num(contrib, nan=np.inf), 1), np.argmax(r, 1))
        parts = np.stack([np.zeros(B), pt], 1)
        return err, split, parts

    def _link(self, h, entry, r, box, cen, denom, vals):
        """Log and linear heads: e = a + b n - t in link space (t = log|y| or y)."""
        (net, tb), (at, tc) = box, cen
        B = len(r)
        ch = h["channels"][0]
        a, bcoef = h["a"], h["b"]
        t, t0 = tb[entry["t"]], tc[entry["t"]]

        def pick(M):
            return Interval(M.lo[:, ch], M.hi[:, ch]).scale(bcoef)

        g = pick(net["N"]) + Interval.const(a, (B,))
        gc = pick(at["N"]) + Interval.const(a, (B,))
        ng, ngc, nH = pick(net["G"]), pick(at["G"]), pick(net["H"])
        E, contrib, use, pn, pt = self._forms(r, g - t.v, gc - t0.v, ng - t.g, ngc - t0.g, nH - t.H, (ng, t.g),
                                              (nH, t.H))
        # the float64 evaluation of the network and of a + b n, in link space
        dN, dNc = net["dN"], at["dN"]
        E = E + abs(bcoef) * np.maximum(dN[:, ch], dNc[:, ch]) + 4 * _U * (abs(a) + abs(bcoef) * net["N"].mag()[:, ch])
        E = E * (1 + REL) + ABS
        rows = [(E, contrib, use, pn, pt)]
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
        (net, tb), (at, tc) = box, cen
        B = len(r)
        c0, c1 = h["channels"]

        def chan(M, ch, b):
            return Interval(M.lo[:, ch], M.hi[:, ch]).scale(b)

        def exp(v):
            with np.errstate(over="ignore"):
                return Interval(*widen(np.exp(v.lo), np.exp(v.hi)))

        def parts(M, ch, a, b):  # exp(a + b n), its gradient and (over boxes) its Hessian
            e = exp(chan(M["N"], ch, b) + Interval.const(a, (B,)))
            G = chan(M["G"], ch, b)
            eG = col(e) * G
            eH = None
            if M["H"] is not None:  # e (b^2 G G^T + b H)
                eH = col(e, 2) * (square_outer(G) + chan(M["H"], ch, b))
            return e, eG, eH

        eP, gP, HP = parts(net, c0, h["ap"], h["bp"])
        eQ, gQ, HQ = parts(net, c1, h["an"], h["bn"])
        ePc, gPc, _ = parts(at, c0, h["ap"], h["bp"])
        eQc, gQc, _ = parts(at, c1, h["an"], h["bn"])
        t, t0 = tb[entry["t"]], tc[entry["t"]]
        nH = HP - HQ
        E, contrib, use, pn, pt = self._forms(r, eP - eQ - t.v, ePc - eQc - t0.v, gP - gQ - t.g, gPc - gQc - t0.g,
                                              nH - t.H, (gP - gQ, t.g), (nH, t.H))
        # float64: the channels (dN), the exponentials and the difference (a few ulps each)
        dN, dNc = net["dN"], at["dN"]
        d0, d1 = np.maximum(dN[:, c0], dNc[:, c0]), np.maximum(dN[:, c1], dNc[:, c1])
        with np.errstate(over="ignore", invalid="ignore"):
            E = E + eP.hi * np.expm1(abs(h["bp"]) * d0) + eQ.hi * np.expm1(abs(h["bn"]) * d1) \
                + 8 * _U * (eP.hi + eQ.hi)
            E = E * (1 + REL) + ABS
            err = E / denom
        return err, [(E, contrib, use, pn, pt)]

    def bound(self, ulo: np.ndarray, uhi: np.ndarray):
        """(error bound [B], split coordinate [B], parts) over boxes [ulo, uhi] of the unit cube.

        parts: per box, what the widths of the network's and the formula's enclosures add to
        the bound (`_forms`), for reporting what limits."""
        if self.system is not None:
            return self.system.bound(ulo, uhi)
        if self.implicit:
            return self._bound_implicit(ulo, uhi)
        B = len(ulo)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        (net, tb, vals), (at, tc) = self.enclose(ulo, uhi)
        ub = np.zeros(B)
        split = np.argmax(r, 1)
        parts = np.zeros((B, 2))
        for entry in self.heads:
            h = entry["head"]
            denom = np.maximum(vals[entry["s"]].lo, self.atol)
            if h["kind"] == "signed_log":
                err, rows = self._signed(h, entry, r, (net, tb), (at, tc), denom)
            else:
                err, rows = self._link(h, entry, r, (net, tb), (at, tc), denom, vals)
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


