"""The bound of an implicit system's surrogate over boxes: a Krawczyk step around the surrogate's
prediction (prove.py, issue 20; docs/prove.md, "Implicit systems").

For F(x, y) = 0, m equations in m outputs (2 or 3), and the surrogate's y_hat(x), on a box X of
the chart:

- R = F(x, y_hat(x)) is enclosed over X by the three forms of the explicit case (its value,
  gradient and Hessian through the network's channels), |R_i| <= Rmax_i;
- C is the inverse of the midpoint of dF/dy at the box's centre and y_hat(centre) (any matrix will
  do: it is a preconditioner, and the test below is what proves), and w = 2 |C| Rmax;
- J encloses dF/dy over X and Y = hull(y_hat(X)) + [-w, w], and M = I - C J (interval matrix);
- for each x in X, the Krawczyk operator of F(x, .) on Y_x = y_hat(x) + [-w, w] lies in
  y_hat(x) + [-D, D] with D = |C| Rmax + |M| w.  Where D < w (componentwise), K(Y_x) is inside
  Y_x, so F(x, .) has exactly one root in Y_x (Krawczyk; Moore, Kearfott and Cloud, Introduction
  to Interval Analysis, 2009, Theorem 8.2), and that root lies in K(Y_x): |y_j - y_hat_j(x)| <= D_j.
  The error of output j, |y_hat_j - y_j| / |y_j|, is then at most D_j / max(min |y_hat_j| - D_j, atol).
  Elsewhere the box's bound is infinite and it is split.

Uniqueness is checked, not assumed, but only in Y_x: the bound is against the root nearest the
surrogate, which is the solver's root where the system has one root in the declared ranges (as for
one equation).  The float64 evaluation of the network (`dN`) moves y_hat, and is added to D.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .enclosure import Dual
from .interval import ABS, REL, Interval, widen

__all__ = ["MAX_EQUATIONS", "SystemBound"]

#: Implicit systems of more equations are refused (the Krawczyk step's matrices are m x m per box).
MAX_EQUATIONS = 3

_U = 2.0**-53


def _yhat(h: dict, n: sp.Symbol) -> sp.Expr:
    """The surrogate's output as an expression of its channel n (scaling's head: a + b B tanh(n / B),
    exponentiated for a log head)."""
    squashed = n if h.get("bound") is None else sp.Float(h["bound"]) * sp.tanh(n / sp.Float(h["bound"]))
    link = sp.Float(h["a"]) + sp.Float(h["b"]) * squashed
    return sp.Float(h.get("sign", 1.0)) * sp.exp(link) if h["kind"] == "log" else link


class SystemBound:
    """Bounds the error of a surrogate of an implicit system over boxes (the module docstring)."""

    def __init__(self, bounder, heads: list[dict]):
        rel = bounder.relation
        self.b = bounder
        self.m = len(rel.outputs)
        by_output = {h["output"]: h for h in heads}
        self.heads = [by_output[o] for o in rel.outputs]
        self.channels = [sp.Symbol(f"\x00n{j}", real=True) for j in range(self.m)]
        self.outs = [sp.Symbol(f"\x00y{j}", real=True) for j in range(self.m)]
        ys = [rel.symbols[o] for o in rel.outputs]
        self.yhat = [_yhat(h, n) for h, n in zip(self.heads, self.channels)]
        at_hat = dict(zip(ys, self.yhat))
        self.residuals = [F.subs(at_hat) for F in rel.residuals]
        at_out = dict(zip(ys, self.outs))
        self.jacobian = [sp.diff(F, y).subs(at_out) for F in rel.residuals for y in ys]

    def _chan(self, M: dict, j: int, hessian: bool = True) -> Dual:
        ch = self.heads[j]["channels"][0]
        return Dual(Interval(M["N"].lo[:, ch], M["N"].hi[:, ch]), Interval(M["G"].lo[:, ch], M["G"].hi[:, ch]),
                    H=Interval(M["H"].lo[:, ch], M["H"].hi[:, ch]) if hessian else None)

    def _jac(self, ulo, uhi, Y: list[Interval]) -> Interval:
        """dF/dy over the boxes and y in Y (value enclosures): [B, m, m]."""
        B, d = ulo.shape
        zg = Interval(np.zeros((B, d)), np.zeros((B, d)))
        got = self.b.enc(self.jacobian, ulo, uhi, given={o: Dual(y, zg) for o, y in zip(self.outs, Y)})
        lo = np.stack([q.v.lo for q in got], 1).reshape(B, self.m, self.m)
        hi = np.stack([q.v.hi for q in got], 1).reshape(B, self.m, self.m)
        return Interval(lo, hi)

    def bound(self, ulo: np.ndarray, uhi: np.ndarray):
        """(error bound [B], split coordinate [B], parts [B, 2]) over boxes [ulo, uhi]."""
        b, m = self.b, self.m
        B = len(ulo)
        c = 0.5 * (ulo + uhi)
        r = np.maximum(uhi - c, c - ulo)
        _, _, at, net = b._passes(b.features, ulo, uhi)
        with np.errstate(all="ignore"):
            exprs = self.residuals + self.yhat
            cen = b.enc(exprs, c, c, given={n: self._chan(at, j, False) for j, n in enumerate(self.channels)})
            memo = b.enc.memo
            box = b.enc(exprs, ulo, uhi, centre=(memo, r), hessian=True,
                        given={n: self._chan(net, j) for j, n in enumerate(self.channels)})
            d = ulo.shape[1]
            zg = Interval(np.zeros((B, d)), np.zeros((B, d)))
            zH = Interval(np.zeros((B, d, d)), np.zeros((B, d, d)))
            Fmax, contribs, uses, pts = [], [], [], []
            for i in range(m):
                Rb, Rc = box[i], cen[i]
                E, contrib, use, _, pt = b._forms(r, Rb.v, Rc.v, Rb.g, Rc.g, Rb.H, (zg, Rb.g), (zH, Rb.H))
                Fmax.append(E * (1 + REL) + ABS)
                contribs.append(contrib)
                uses.append(use)
                pts.append(pt)
            Fmax = np.stack(Fmax, 1)  # [B, m]
            Yb = [q.v for q in box[m:]]
            Yc = [q.v for q in cen[m:]]
            # the preconditioner: the inverse of dF/dy's midpoint at the centre
            Jc = self._jac(c, c, Yc)
            A = 0.5 * (Jc.lo + Jc.hi)
            good = np.isfinite(A).all((1, 2))
            A = np.where(good[:, None, None], A, np.eye(m))
            det = np.linalg.det(A)
            good &= np.isfinite(det) & (np.abs(det) > 0)
            Cm = np.linalg.inv(np.where(good[:, None, None], A, np.eye(m)))
            aC = np.abs(Cm)
            gamma = (m + 2) * _U / (1 - (m + 2) * _U)
            CF = np.einsum("bij,bj->bi", aC, Fmax) * (1 + gamma) + ABS  # |C| Rmax, rounded up
            w = 2.0 * CF
            Y = [Interval(*widen(y.lo - w[:, j], y.hi + w[:, j])) for j, y in enumerate(Yb)]
            J = self._jac(ulo, uhi, Y)
            Jm = 0.5 * (J.lo + J.hi)
            Jr = np.maximum(J.hi - Jm, Jm - J.lo)
            CJm = np.einsum("bik,bkj->bij", Cm, Jm)
            rad = np.einsum("bik,bkj->bij", aC, Jr) * (1 + gamma) + gamma * np.einsum("bik,bkj->bij", aC, np.abs(Jm))
            Mabs = np.abs(np.eye(m) - CJm) * (1 + 2 * _U) + rad + ABS  # |I - C J| over the box
            D = (CF + np.einsum("bij,bj->bi", Mabs, w) * (1 + gamma)) * (1 + REL)
            ok = good & np.isfinite(D).all(1) & (D < w).all(1)
            # the float64 evaluation of the channels moves y_hat_j by |dy/dn| dN
            errs = []
            for j, h in enumerate(self.heads):
                ch = h["channels"][0]
                y = Yb[j]
                ymag = np.maximum(np.abs(y.lo), np.abs(y.hi))
                dy = abs(h["b"]) * np.maximum(net["dN"][:, ch], at["dN"][:, ch]) * (ymag if h["kind"] == "log" else 1.0)
                Dj = D[:, j] + dy * (1 + 1e-6) + 8 * _U * ymag
                ymin = np.where((y.lo > 0) | (y.hi < 0), np.minimum(np.abs(y.lo), np.abs(y.hi)), 0.0)
                denom = np.maximum(ymin - Dj, b.atol)
                errs.append(np.where(denom > 0, Dj / denom, np.inf))
            err = np.where(ok, np.max(errs, 0), np.inf) * (1 + REL)
        err = np.where(np.isnan(err), np.inf, err)
        # split where the residual that weighs most in |C| Rmax is widest
        weight = aC.max(1) * Fmax  # [B, m]
        i = np.argmax(np.nan_to_num(weight, nan=np.inf), 1)
        rows = np.arange(B)
        contrib = np.stack(contribs, 1)[rows, i]
        use = np.stack(uses, 1)[rows, i]
        split = np.where(use, np.argmax(np.nan_to_num(contrib, nan=np.inf), 1), np.argmax(r, 1))
        parts = np.stack([np.zeros(B), np.stack(pts, 1)[rows, i]], 1)
        return err, split, parts
