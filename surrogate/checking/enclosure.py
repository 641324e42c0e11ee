"""Enclosures of SymPy expressions over boxes, by forward-mode interval differentiation
(the formula's side of the proven certificate, prove.py).

`Enclosure` walks a SymPy expression tree once per call, sharing common sub-expressions,
over boxes in the unit cube of the relation's chart (u coordinates): an input x_k is
lo + (hi - lo) u_k or exp(log lo + log(hi/lo) u_k).  Monomials of log-charted inputs
(0.023 Re**0.8 Pr**0.4, 6.9/Re) are exp of a linear function of u and are enclosed
exactly; log of a log-charted input is linear in u.  A `Dual` is an interval value
together with interval enclosures of its partial derivatives with respect to the box
coordinates, so that a function is enclosed over a box both by its natural interval
extension and by the mean-value form.  The interval arithmetic is `interval.py`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .interval import (
    TANH_D2_TURN,
    Interval,
    _d2tanh,
    _dtanh,
    _monotone,
    _turning,
    col,
    ipow,
    isin,
    itan,
    outer,
    square_outer,
    tighten,
    tighten2,
    widen,
)
from .removable import Exprel, Tanhc, exprel, tanhc
from .special import BESSEL, Erfcx, bessel, bessel_log, erfcx

__all__ = ["Dual", "Enclosure", "UnsupportedEnclosure", "log1m_weights"]


def log1m_weights(s: Interval) -> tuple[Interval, Interval]:
    """phi'(t) = -s/(1 - s) and phi''(t) = -s/(1 - s)^2 of phi(t) = log(1 - e^t), s = e^t in [0, 1)
    (`Enclosure._difference`: log(P - Q) = log P + phi(log Q - log P), s = Q/P)."""
    r1 = (Interval.const(1.0, s.lo.shape) - s).recip()
    return -(s * r1), -(s * r1 * r1)


# -- forward-mode interval differentiation of SymPy expressions ------------------------------
@dataclass
class Dual:
    v: Interval
    g: Interval  # [B, d]: enclosures of the partial derivatives in u
    L: Interval | None = None  # [B, d]: of the derivatives of log v, where v > 0 (`Enclosure.log_slope`)
    H: Interval | None = None  # [B, d, d]: of the second derivatives (with `Enclosure(..., hessian=True)`)
    LH: Interval | None = None  # [B, d, d]: of the second derivatives of log v, where v > 0 (with H)


class UnsupportedEnclosure(Exception):
    """An expression node without an interval rule."""


class Enclosure:
    """Encloses expressions of the relation's inputs over boxes of u in [0, 1]^d.

    `inputs`: [(symbol name, chart scale, lo, hi)] in column order, lo and hi the
    input's global range.  `charts`: for inputs whose bounds depend on other inputs,
    the chart as an expression of the other inputs and a unit symbol (`unit(k)`):
    x_k = low + (high - low) u_k, or its log-scaled form; such inputs are enclosed
    through it, so that a box of u stays a box.
    """

    def __init__(self, inputs: list[tuple[str, str, float, float]], charts: dict[int, sp.Expr] | None = None,
                 floors: dict[int, float] | None = None):
        self.inputs = inputs
        self.index = {n: k for k, (n, _, _, _) in enumerate(inputs)}
        self.charts = dict(charts or {})
        self.units = {self.unit(k).name: k for k in range(len(inputs))}
        self.floors = dict(floors or {})
        self.rels = {self.rel(k).name: k for k in self.floors}

    @staticmethod
    def unit(k: int) -> sp.Symbol:
        """The chart coordinate u_k as a symbol (a name no input can have)."""
        return sp.Symbol(f"\x00u{k}", real=True)

    @staticmethod
    def rel(k: int) -> sp.Symbol:
        """The relative distance to input k's edge as a function of u_k (`edge_rel`), as a symbol."""
        return sp.Symbol(f"\x00r{k}", nonnegative=True)

    def edge_rel(self, k: int) -> Dual:
        """rel = 4 floor u on u <= 1/4 (a thin slab at the edge), floor**((1 - u) 4/3) above: boxes of u
        are then boxes in the log-distance to the edge, where the network's edge feature is smooth."""
        floor = self.floors[k]
        lo, hi = self.ulo[:, k], self.uhi[:, k]
        lin = Interval(*widen(4 * floor * lo, 4 * floor * hi))
        lin.lo = np.maximum(lin.lo, 0.0)  # a distance
        c = -math.log(floor) * 4.0 / 3.0  # rel = exp(-c (1 - u))
        t = Interval(*widen(-c * (1 - lo), -c * (1 - hi)))
        lg = _monotone(np.exp, t)
        slab = hi <= 0.25
        above = lo >= 0.25
        v = Interval(np.where(slab, lin.lo, np.where(above, lg.lo, np.minimum(lin.lo, lg.lo))),
                     np.where(slab, lin.hi, np.where(above, lg.hi, np.maximum(lin.hi, lg.hi))))
        glo = np.where(slab, 4 * floor, np.where(above, widen(lg.lo * c, lg.lo * c)[0], -np.inf))
        ghi = np.where(slab, 4 * floor, np.where(above, widen(lg.hi * c, lg.hi * c)[1], np.inf))
        g = self.zero_grad()
        g.lo[:, k], g.hi[:, k] = glo, ghi
        H = self.zero_hess()
        if H is not None:  # 0 in the slab, c^2 rel above, unknown across the kink at u = 1/4
            c2lo, c2hi = widen(lg.lo * c * c, lg.hi * c * c)
            H.lo[:, k, k] = np.where(slab, 0.0, np.where(above, c2lo, -np.inf))
            H.hi[:, k, k] = np.where(slab, 0.0, np.where(above, c2hi, np.inf))
        return Dual(v, g, H=H)

    @staticmethod
    def edge_rel_numpy(u: np.ndarray, floor: float) -> np.ndarray:
        return np.where(u <= 0.25, 4 * floor * u, floor ** ((1 - u) * 4.0 / 3.0))

    def independent_log(self, name: str) -> bool:
        k = self.index.get(name)
        return k is not None and k not in self.charts and self.inputs[k][1] == "log"

    # the box: u in [ulo, uhi] [B, d]
    def __call__(self, exprs: list[sp.Expr], ulo: np.ndarray, uhi: np.ndarray, centre=None,
                 hessian: bool = False, given: dict | None = None) -> list[Dual]:
        """Duals of `exprs` over the boxes.  With `centre` = (memo of a pass over the boxes'
        centres, half-widths r), every node's value is also cut down to its mean-value form
        v(c) + sum_i [-r_i, r_i] max|dv/du_i|: the values inside products and function
        derivatives are then as tight as the derivatives allow.  With `hessian`, every node
        also carries an enclosure of its Hessian in u (`Dual.H`), and with a centre its value
        is cut to its second-order form and its gradient to grad v(c) + H delta.  `given`
        maps symbols that are not inputs (a network's output channel) to their Duals."""
        self.ulo, self.uhi = ulo, uhi
        self.B, self.d = ulo.shape
        self.centre = centre
        self.hessian = hessian
        self.memo: dict[sp.Basic, Dual] = dict(given or {})
        return [self.walk(e) for e in exprs]

    # -- helpers ----------------------------------------------------------------------
    def zero_grad(self) -> Interval:
        z = np.zeros((self.B, self.d))
        return Interval(z, z.copy())

    def zero_hess(self) -> Interval | None:
        if not self.hessian:
            return None
        z = np.zeros((self.B, self.d, self.d))
        return Interval(z, z.copy())

    def unknown_hess(self, where: np.ndarray, H: Interval | None) -> Interval | None:
        """H, the whole line in the boxes `where` (a kink or a jump may lie inside them)."""
        if H is None:
            return None
        w = where[:, None, None]
        return Interval(np.where(w, -np.inf, H.lo), np.where(w, np.inf, H.hi))

    def const(self, c: float) -> Dual:
        return Dual(Interval.const(c, (self.B,)), self.zero_grad(), H=self.zero_hess())

    def chain(self, a: Dual, value: Interval, slope: Interval, curvature=None) -> Dual:
        """f(a) with f'(a) enclosed by `slope`; with `hessian`, f''(a) by `curvature()` (a
        callable: only computed when asked)."""
        g = col(slope) * a.g
        H = None
        if self.hessian:
            c = curvature()
            H = col(c, 2) * square_outer(a.g) + col(slope, 2) * a.H
        return Dual(value, g, H=H)

    def linear_log(self, node) -> tuple[float, np.ndarray] | None:
        """node = c * exp(sum_k p_k log x_k) over log-charted inputs: (c, p) or None."""
        c, p = 1.0, np.zeros(self.d)
        for f in sp.Mul.make_args(node):
            if not f.free_symbols:
                c *= float(f)
                continue
            base, ex = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.S.One)
            if not (base.is_Symbol and self.independent_log(base.name) and ex.is_number):
                return None
            p[self.index[base.name]] += float(ex)
        return c, p

    def log_linear(self, p: np.ndarray, c0: float) -> Dual:
        """exp(c0 + sum_k p_k log x_k) exactly: log x_k = L_k + S_k u_k."""
        L = np.array([math.log(lo) if s == "log" else 0.0 for _, s, lo, _ in self.inputs])
        S = np.array([math.log(hi / lo) if s == "log" else 0.0 for _, s, lo, hi in self.inputs])
        a = p * S
        base = c0 + float(p @ L)
        lo = base + np.where(a > 0, self.ulo, self.uhi) @ a
        hi = base + np.where(a > 0, self.uhi, self.ulo) @ a
        t = Interval(*widen(lo, hi))  # the exponent, linear in u
        v = _monotone(np.exp, t)
        # d/du_k exp(t) = a_k exp(t)
        glo = np.where(a >= 0, v.lo[:, None] * a, v.hi[:, None] * a)
        ghi = np.where(a >= 0, v.hi[:, None] * a, v.lo[:, None] * a)
        H = None
        if self.hessian:  # a_j a_k exp(t)
            aa = np.outer(a, a)
            H = Interval(*widen(np.where(aa >= 0, v.lo[:, None, None] * aa, v.hi[:, None, None] * aa),
                                np.where(aa >= 0, v.hi[:, None, None] * aa, v.lo[:, None, None] * aa)))
        return Dual(v, Interval(*widen(glo, ghi)), H=H)

    # -- the walk -------------------------------------------------------------------------
    def walk(self, e: sp.Basic) -> Dual:
        got = self.memo.get(e)
        if got is None:
            got = self.log_slope(e, self._node(e))
            if self.centre is not None and e.free_symbols:
                memo, r = self.centre
                at = memo.get(e)
                if at is not None:
                    v, g = tighten(got.v, at.v, got.g, r), got.g
                    if got.H is not None:
                        v, g = tighten2(v, g, at.v, at.g, got.H, r)
                    got = Dual(v, g, got.L, got.H, got.LH)
            self.memo[e] = got
        return got

    def log_slope(self, e: sp.Basic, d: Dual) -> Dual:
        """d with L, an enclosure of grad log v where v > 0, and its gradient cut down to v L.

        Log-derivatives add over products and powers, and a sum of positive terms has the
        weighted mean of its terms' (weights v_i / sum v): so 0.0668 Pr Re / (L (1 + 0.04 M))
        has the exact slope of its monomial minus a narrow interval, where the product rule
        subtracts two wide ones."""
        pos = d.v.lo > 0
        if not pos.any():
            return d
        kids = [self.memo.get(a) for a in e.args]
        L = None
        hess = self.hessian and d.H is not None
        LH = None  # the Hessian of log v, by the same rules one order up
        if isinstance(e, (sp.Mul, sp.Pow, sp.Symbol)) and (mono := self.linear_log(e)) is not None and mono[0] > 0:
            a = mono[1] * self.spans()
            L = Interval(*widen(np.broadcast_to(a, (self.B, self.d)), np.broadcast_to(a, (self.B, self.d))))
            LH = self.zero_hess()  # log of a monomial is linear in u
        elif isinstance(e, sp.Symbol) and e.name in self.rels:
            k = self.rels[e.name]
            above = self.ulo[:, k] >= 0.25  # rel = exp(-c (1 - u)): log rel is linear in u there
            clo, chi = widen(-math.log(self.floors[k]) * 4.0 / 3.0, -math.log(self.floors[k]) * 4.0 / 3.0)
            L = self.zero_grad()
            L.lo[:, k] = np.where(above, clo, -np.inf)
            L.hi[:, k] = np.where(above, chi, np.inf)
            LH = self.unknown_hess(~above, self.zero_hess())
        elif isinstance(e, sp.Mul) and kids and all(k is not None and k.L is not None for k in kids):
            L = kids[0].L
            for k in kids[1:]:
                L = L + k.L
            if hess and all(self._lh(k) is not None for k in kids):
                LH = self._lh(kids[0])
                for k in kids[1:]:
                    LH = LH + self._lh(k)
        elif isinstance(e, sp.Pow) and e.exp.is_number and kids[0] is not None and kids[0].L is not None:
            L = kids[0].L.scale(float(e.exp))
            if hess and self._lh(kids[0]) is not None:
                LH = self._lh(kids[0]).scale(float(e.exp))
        elif isinstance(e, sp.exp):
            L = kids[0].g
            LH = kids[0].H if hess else None
        elif isinstance(e, sp.Add) and kids and all(k is not None and k.L is not None and k.v.lo.min() > 0
                                                     for k in kids if k.v.lo.size):
            # a weighted mean of the terms' slopes: within their hull, and sum (v_i / S) L_i
            lo = np.min([k.L.lo for k in kids], 0)
            hi = np.max([k.L.hi for k in kids], 0)
            inv = d.v.recip()
            mean = None
            ws = []
            for k in kids:
                w = k.v * inv
                w = Interval(np.maximum(w.lo, 0.0), np.minimum(w.hi, 1.0))  # a weight
                ws.append(w)
                t = col(w) * k.L
                mean = t if mean is None else mean + t
            L = Interval(np.maximum(lo, mean.lo), np.minimum(hi, mean.hi))
            if hess and all(self._lh(k) is not None for k in kids):
                # log sum v_i: sum_i w_i LH_i + sum_{i<j} w_i w_j (L_i - L_j)(L_i - L_j)^T (the weights'
                # covariance of the slopes: exact where the terms are monomials)
                LH = None
                for i, k in enumerate(kids):
                    t = col(ws[i], 2) * self._lh(k)
                    LH = t if LH is None else LH + t
                    for j in range(i):
                        ww = ws[i] * ws[j]
                        ww = Interval(np.maximum(ww.lo, 0.0), np.minimum(ww.hi, 0.25))
                        LH = LH + col(ww, 2) * square_outer(k.L - kids[j].L)
        elif self._bessel(e) and kids[1] is not None:  # psi(a) grad a; psi'(a) grad a grad a^T + psi(a) H_a
            a = kids[1]
            psi, dpsi = bessel_log(BESSEL[type(e)][0], int(e.args[0]), a.v)
            L = col(psi) * a.g
            if hess and a.H is not None:
                LH = col(dpsi, 2) * square_outer(a.g) + col(psi, 2) * a.H
        elif isinstance(e, sp.Add) and len(e.args) == 2 and (pq := self._difference(e, hess)) is not None:
            L, LH = pq
        if L is None:  # any positive value: g / v
            inv = d.v.recip()
            L = col(inv) * d.g
        L = Interval(np.where(pos[:, None], L.lo, -np.inf), np.where(pos[:, None], L.hi, np.inf))
        vL = col(d.v) * L
        g = Interval(np.maximum(d.g.lo, vL.lo), np.minimum(d.g.hi, vL.hi))
        if isinstance(e, sp.log) and kids[0] is not None and kids[0].L is not None:
            g = Interval(np.maximum(g.lo, kids[0].L.lo), np.minimum(g.hi, kids[0].L.hi))  # (log a)' = L_a
        H = d.H
        if hess and LH is not None:  # a rule gave it: v (LH + L L^T) encloses H too
            LH = self.unknown_hess(~pos, LH)
            vH = col(d.v, 2) * (LH + square_outer(L))
            H = Interval(np.maximum(H.lo, vH.lo), np.minimum(H.hi, vH.hi))
        if hess and isinstance(e, sp.log) and kids[0] is not None and (lh := self._lh(kids[0])) is not None:
            H = Interval(np.maximum(H.lo, lh.lo), np.minimum(H.hi, lh.hi))  # (log a)'' = LH_a
        return Dual(d.v, g, L, H, LH)

    def _difference(self, e: sp.Add, hess: bool):
        """(L, LH) of v = P - Q, P a positive node and Q = |c| f_1 ... f_n (the other term c f_1 ... f_n,
        c < 0, each factor with its log-derivatives): log v = log P + phi(log Q - log P), phi(t) =
        log(1 - e^t), phi' = -s/(1 - s), phi'' = -s/(1 - s)^2 with s = Q/P.  Where Q is small beside P
        (the annular fin's K1(m r1) I1(m r2c) - I1(m r1) K1(m r2c)), log v's derivatives are P's nearly
        exactly, where H / v - L L^T would divide the wide Hessian of a difference by v."""
        for pe, qe in (e.args, e.args[::-1]):
            c, facs = qe.as_coeff_mul()
            P, T = self.memo.get(pe), self.memo.get(qe)
            Fs = [self.memo.get(f) for f in facs]
            if not facs or not c < 0 or P is None or T is None or P.L is None or any(F is None or F.L is None for F in Fs):
                continue
            LQ = Fs[0].L
            for F in Fs[1:]:
                LQ = LQ + F.L
            s = (-T.v) * P.v.recip()
            s = Interval(np.maximum(s.lo, 0.0), s.hi)  # Q / P, a ratio of positive values
            phi1, phi2 = log1m_weights(s)
            dL = LQ - P.L
            L = P.L + col(phi1) * dL
            LH = None
            if hess and self._lh(P) is not None and all(self._lh(F) is not None for F in Fs):
                LHQ = self._lh(Fs[0])
                for F in Fs[1:]:
                    LHQ = LHQ + self._lh(F)
                LH = self._lh(P) + col(phi1, 2) * (LHQ - self._lh(P)) + col(phi2, 2) * square_outer(dL)
            return L, LH
        return None

    def _lh(self, k: Dual) -> Interval | None:
        """The Hessian of log v of a node: by the rules where they gave it, else H / v - L L^T
        (computed only when a parent asks: most nodes' is never used)."""
        if k is None or k.H is None or k.L is None:
            return None
        if k.LH is None:
            k.LH = self.unknown_hess(~(k.v.lo > 0), col(k.v.recip(), 2) * k.H - square_outer(k.L))
        return k.LH

    def spans(self) -> np.ndarray:
        """d log x_k / d u_k of the independent log-charted inputs (0 for the others)."""
        return np.array([math.log(hi / lo) if s == "log" and self.independent_log(n) else 0.0
                         for n, s, lo, hi in self.inputs])

    def _node(self, e: sp.Basic) -> Dual:
        if not e.free_symbols:
            return self.const(float(e))
        if e.is_Symbol:
            if e.name in self.units:
                k = self.units[e.name]
                g = self.zero_grad()
                g.lo[:, k], g.hi[:, k] = 1.0, 1.0
                return Dual(Interval(self.ulo[:, k].copy(), self.uhi[:, k].copy()), g, H=self.zero_hess())
            if e.name in self.rels:
                return self.edge_rel(self.rels[e.name])
            k = self.index[e.name]
            if k in self.charts:
                d = self.walk(self.charts[k])
                # the input lies in its declared range whatever the rounding of its chart says
                _, _, lo, hi = self.inputs[k]
                return Dual(Interval(np.clip(d.v.lo, lo, hi), np.clip(d.v.hi, lo, hi)), d.g, H=d.H)
            _, scale, lo, hi = self.inputs[k]
            if scale == "log":
                p = np.zeros(self.d)
                p[k] = 1.0
                return self.log_linear(p, 0.0)
            v = Interval(*widen(lo + (hi - lo) * self.ulo[:, k], lo + (hi - lo) * self.uhi[:, k]))
            g = self.zero_grad()
            g.lo[:, k], g.hi[:, k] = widen(np.float64(hi - lo), np.float64(hi - lo))
            return Dual(v, g, H=self.zero_hess())
        if isinstance(e, (sp.Mul, sp.Pow)):
            mono = self.linear_log(e)
            if mono is not None and mono[0] != 0.0:
                c, p = mono
                d = self.log_linear(p, math.log(abs(c)))
                return d if c > 0 else Dual(-d.v, -d.g, H=None if d.H is None else -d.H)
        if isinstance(e, sp.Add):
            out = None
            for a in e.args:
                d = self.walk(a)
                out = d if out is None else Dual(out.v + d.v, out.g + d.g,
                                                 H=None if d.H is None else out.H + d.H)
            return out
        if isinstance(e, sp.Mul):
            out = None
            for a in e.args:
                d = self.walk(a)
                if out is None:
                    out = d
                else:
                    gv, dv = col(out.v), col(d.v)
                    H = None
                    if self.hessian:  # (fg)'' = f'' g + f' g'^T + g' f'^T + f g''
                        cross = outer(out.g, d.g)
                        H = out.H * col(dv) + cross + Interval(np.swapaxes(cross.lo, 1, 2),
                                                               np.swapaxes(cross.hi, 1, 2)) + col(gv) * d.H
                    out = Dual(out.v * d.v, out.g * dv + gv * d.g, H=H)
            return out
        if isinstance(e, sp.Pow):
            if not e.exp.is_number:
                return self.walk(sp.exp(e.exp * sp.log(e.base)))
            p = float(e.exp)
            a = self.walk(e.base)
            return self.chain(a, ipow(a.v, p),
                              ipow(a.v, p - 1.0).scale(p) if p != 1.0 else Interval.const(1.0, (self.B,)),
                              lambda: ipow(a.v, p - 2.0).scale(p * (p - 1.0)) if p not in (0.0, 1.0)
                              else Interval.const(0.0, (self.B,)))
        if isinstance(e, sp.log) and len(e.args) == 1:
            arg = e.args[0]
            if arg.is_Symbol and self.independent_log(arg.name):
                k = self.index[arg.name]
                _, _, lo, hi = self.inputs[k]
                S = math.log(hi / lo)
                v = Interval(*widen(math.log(lo) + S * self.ulo[:, k], math.log(lo) + S * self.uhi[:, k]))
                g = self.zero_grad()
                g.lo[:, k], g.hi[:, k] = widen(np.float64(S), np.float64(S))
                return Dual(v, g, H=self.zero_hess())
            a = self.walk(arg)
            bad = a.v.lo <= 0
            v = _monotone(np.log, a.v)
            v = Interval(np.where(bad, -np.inf, v.lo), np.where(a.v.hi <= 0, np.inf, v.hi))
            return self.chain(a, v, a.v.recip(), lambda: -ipow(a.v, -2.0))
        if isinstance(e, sp.exp):
            a = self.walk(e.args[0])
            v = _monotone(np.exp, a.v)
            return self.chain(a, v, v, lambda: v)
        if isinstance(e, (sp.sin, sp.cos)):
            a = self.walk(e.args[0])
            q = 0.0 if isinstance(e, sp.sin) else math.pi / 2  # cos x = sin(x + pi/2)
            v, slope = isin(a.v, q), isin(a.v, q + math.pi / 2)
            return self.chain(a, v, slope, lambda: -v)
        if isinstance(e, sp.tan):
            a = self.walk(e.args[0])
            v = itan(a.v)
            sec2 = ipow(v, 2) + Interval.const(1.0, (self.B,))
            return self.chain(a, v, sec2, lambda: (v * sec2).scale(2.0))
        if isinstance(e, sp.tanh):
            a = self.walk(e.args[0])
            return self.chain(a, _monotone(np.tanh, a.v), _turning(_dtanh, a.v, [0.0]),
                              lambda: _turning(_d2tanh, a.v, list(TANH_D2_TURN)))
        if isinstance(e, sp.atan):
            a = self.walk(e.args[0])
            return self.chain(a, _monotone(np.arctan, a.v), _turning(lambda z: 1.0 / (1.0 + z * z), a.v, [0.0]),
                              lambda: _turning(lambda z: -2.0 * z / (1.0 + z * z) ** 2, a.v,
                                               [-1 / math.sqrt(3.0), 1 / math.sqrt(3.0)]))
        if isinstance(e, (sp.erf, sp.erfc)):
            from scipy.special import erf, erfc

            a = self.walk(e.args[0])
            slope = _turning(lambda z: 2.0 / math.sqrt(math.pi) * np.exp(-z * z), a.v, [0.0])

            def curv(sign):
                return lambda: _turning(lambda z: sign * -4.0 / math.sqrt(math.pi) * z * np.exp(-z * z), a.v,
                                        [-math.sqrt(0.5), math.sqrt(0.5)])
            if isinstance(e, sp.erf):
                return self.chain(a, _monotone(erf, a.v), slope, curv(1.0))
            return self.chain(a, _monotone(erfc, a.v, increasing=False), -slope, curv(-1.0))
        if isinstance(e, sp.Abs):
            a = self.walk(e.args[0])
            pos, neg = a.v.lo >= 0, a.v.hi <= 0
            v = Interval(np.where(pos, a.v.lo, np.where(neg, -a.v.hi, 0.0)), a.v.mag())
            # the derivative's sign, [-1, 1] where a may be zero (a Clarke gradient: the
            # mean-value form stays valid for this Lipschitz function)
            s = Interval(np.where(pos, 1.0, -1.0), np.where(neg, -1.0, 1.0))
            out = self.chain(a, v, s, lambda: Interval.const(0.0, (self.B,)))
            return Dual(out.v, out.g, H=self.unknown_hess(~pos & ~neg, out.H))
        if isinstance(e, (sp.Max, sp.Min)):
            ds = [self.walk(a) for a in e.args]
            out = ds[0]
            for d in ds[1:]:
                if isinstance(e, sp.Max):
                    v = Interval(np.maximum(out.v.lo, d.v.lo), np.maximum(out.v.hi, d.v.hi))
                    first, second = out.v.lo >= d.v.hi, d.v.lo >= out.v.hi
                else:
                    v = Interval(np.minimum(out.v.lo, d.v.lo), np.minimum(out.v.hi, d.v.hi))
                    first, second = out.v.hi <= d.v.lo, d.v.hi <= out.v.lo
                h = out.g.hull(d.g)  # Clarke gradient of a max of two smooth functions
                g = Interval(np.where(first[:, None], out.g.lo, np.where(second[:, None], d.g.lo, h.lo)),
                             np.where(first[:, None], out.g.hi, np.where(second[:, None], d.g.hi, h.hi)))
                H = None
                if self.hessian:
                    f3, s3 = first[:, None, None], second[:, None, None]
                    H = Interval(np.where(f3, out.H.lo, np.where(s3, d.H.lo, -np.inf)),
                                 np.where(f3, out.H.hi, np.where(s3, d.H.hi, np.inf)))
                out = Dual(v, g, H=H)
            return out
        if isinstance(e, (Exprel, Tanhc)):  # (exp(w) - 1)/w and tanh(w)/w, removable.py
            a = self.walk(e.args[0])
            v, d1, d2 = (exprel if isinstance(e, Exprel) else tanhc)(a.v)
            return self.chain(a, v, d1, lambda: d2)
        if isinstance(e, Erfcx):  # exp(x^2) erfc(x), special.py
            a = self.walk(e.args[0])
            v, d1, d2 = erfcx(a.v)
            return self.chain(a, v, d1, lambda: d2)
        if self._bessel(e):  # I0, I1, K0, K1 (special.py)
            a = self.walk(e.args[1])
            v, d1, d2 = bessel(BESSEL[type(e)][0], int(e.args[0]), a.v)
            return self.chain(a, v, d1, lambda: d2)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        raise UnsupportedEnclosure(f"{type(e).__name__} (in {e})")

    @staticmethod
    def _bessel(e: sp.Basic) -> bool:
        return type(e) in BESSEL and e.args[0].is_Integer and int(e.args[0]) in BESSEL[type(e)][1]

    def piecewise(self, e: sp.Piecewise) -> Dual:
        """The piece whose condition holds over the whole box; where the box straddles a
        condition, the hull of the possible pieces' values and no usable derivative (a
        piecewise formula may jump there)."""
        B = self.B
        undecided_before = np.zeros(B, dtype=bool)
        taken = np.zeros(B, dtype=bool)
        vlo, vhi = np.full(B, np.inf), np.full(B, -np.inf)
        glo, ghi = np.zeros((B, self.d)), np.zeros((B, self.d))
        Hlo, Hhi = np.zeros((B, self.d, self.d)), np.zeros((B, self.d, self.d))
        straddle = np.zeros(B, dtype=bool)
        for value, cond in e.args:
            t, f = self.condition(cond)
            possible = ~taken & ~f
            if not possible.any():
                continue
            d = self.walk(value)
            sole = possible & t & ~undecided_before
            vlo = np.where(possible, np.minimum(vlo, d.v.lo), vlo)
            vhi = np.where(possible, np.maximum(vhi, d.v.hi), vhi)
            glo = np.where(sole[:, None], d.g.lo, glo)
            ghi = np.where(sole[:, None], d.g.hi, ghi)
            if self.hessian:
                Hlo = np.where(sole[:, None, None], d.H.lo, Hlo)
                Hhi = np.where(sole[:, None, None], d.H.hi, Hhi)
            straddle |= possible & ~sole
            undecided_before |= possible & ~t
            taken |= possible & t
        straddle |= ~taken  # a point of the box may lie outside every piece: undefined
        vlo = np.where(taken, vlo, -np.inf)
        vhi = np.where(taken, vhi, np.inf)
        glo = np.where(straddle[:, None], -np.inf, glo)
        ghi = np.where(straddle[:, None], np.inf, ghi)
        H = self.unknown_hess(straddle, Interval(Hlo, Hhi)) if self.hessian else None
        return Dual(Interval(vlo, vhi), Interval(glo, ghi), H=H)

    def condition(self, c) -> tuple[np.ndarray, np.ndarray]:
        """(certainly true, certainly false) over each box."""
        B = self.B
        if c is sp.true:
            return np.ones(B, dtype=bool), np.zeros(B, dtype=bool)
        if c is sp.false:
            return np.zeros(B, dtype=bool), np.ones(B, dtype=bool)
        if isinstance(c, sp.And):
            parts = [self.condition(a) for a in c.args]
            return np.all([p[0] for p in parts], 0), np.any([p[1] for p in parts], 0)
        if isinstance(c, sp.Or):
            parts = [self.condition(a) for a in c.args]
            return np.any([p[0] for p in parts], 0), np.all([p[1] for p in parts], 0)
        if isinstance(c, sp.Not):
            t, f = self.condition(c.args[0])
            return f, t
        if isinstance(c, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            small, big = (c.lhs, c.rhs) if isinstance(c, (sp.StrictLessThan, sp.LessThan)) else (c.rhs, c.lhs)
            d = self.walk(small).v - self.walk(big).v  # small - big
            strict = isinstance(c, (sp.StrictLessThan, sp.StrictGreaterThan))
            true = d.hi < 0 if strict else d.hi <= 0
            false = d.lo >= 0 if strict else d.lo > 0
            return true, false
        raise UnsupportedEnclosure(f"condition {c}")
