"""What training minimises: the normalised residual of a relation, batch by batch.

Explicit outputs (``y = f(x)``): the term-scale relative error e = |y_hat - y| /
max(S(x), atol), taken through log1p: the same as e where e is small, but a point
where an exponential head overshoots by a factor 1e12 (seed 000 near the origin)
no longer outweighs the whole batch.  For log and signed-log heads the same error
to first order in the head's log space is added, whose gradient does not vanish
when the network starts far too small (the collapse to zero seen on seed 001).

Implicit relations (outputs on both sides, or systems): the sum over equations of
|r_i(x, y_hat)| / S_i(x, y_hat), the residual over its own term scale, with the
scale held constant in the gradient so the network cannot lower the loss by
inflating the terms.  No solved data is needed.

Points, features and references are float64: a gap like x1 - x2 that float32
cannot hold is where seed 001's worst errors live; the network runs in its own
dtype.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from .compile import compile_expr
from .relation import Relation
from .scaling import heads, links, sign_groups

__all__ = ["Objective"]


class Objective:
    """Draws batches in the chart and scores a model on them."""

    def __init__(self, relation: Relation, head_specs: list[dict], edges: dict[int, str], edge_floor: dict[int, float],
                 sample: dict[str, np.ndarray], link_weight: float = 1.0, atol: float = 0.0):
        self.relation = relation
        self.head_specs = head_specs
        self.edges = edges
        self.edge_floor = edge_floor
        self.link_weight = link_weight
        self.atol = atol
        self.explicit = relation.is_explicit
        if self.explicit:
            self.exprs = [relation.compiled("expression", o) for o in relation.outputs]
            self.scales = [relation.compiled("scale", o) for o in relation.outputs]
            self.groups = [_group_functions(relation, h, sample) for h in head_specs]
        else:
            n = len(relation.equations)
            self.residuals = [relation.compiled("residual", i) for i in range(n)]
            self.residual_scales = [relation.compiled("residual_scale", i) for i in range(n)]

    # -- sampling ----------------------------------------------------------------------------
    def draw(self, n: int, gen: torch.Generator, device, edge_fraction: float, dtype=torch.float64) -> torch.Tensor:
        """n points in the domain; inputs with an edge are drawn towards it with
        probability `edge_fraction` (log-uniform in the distance)."""
        dom = self.relation.domain
        u = torch.rand(n, dom.dim, generator=gen, dtype=dtype, device=device)
        if not self.edges:
            return dom.chart(u)
        mask = torch.rand(n, dom.dim, generator=gen, dtype=dtype, device=device) < edge_fraction
        return dom.chart(u, self.edges, mask, self.edge_floor)

    def validation_points(self, n: int, seed: int) -> torch.Tensor:
        """Scrambled Sobol points, the second half drawn towards the edges (float64, CPU)."""
        dom = self.relation.domain
        u = torch.quasirandom.SobolEngine(dom.dim, scramble=True, seed=seed + 7919).draw(n, dtype=torch.float64)
        if not self.edges:
            return dom.chart(u)
        mask = torch.zeros_like(u, dtype=torch.bool)
        mask[n // 2 :] = True
        return dom.chart(u, self.edges, mask, self.edge_floor)

    # -- scoring -----------------------------------------------------------------------------
    def _columns(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {n: x[:, j] for j, n in enumerate(self.relation.inputs)}

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample loss [N] (float64) of `model` at points x."""
        cols = self._columns(x)
        ch = model.module.channels(x)
        pred = heads(ch, self.head_specs).double()
        if not self.explicit:
            return self._residual_errors(cols, pred).sum(1)
        y = torch.stack([f(cols) for f in self.exprs], 1)
        s = torch.stack([f(cols) for f in self.scales], 1).clamp(min=self.atol)
        per = torch.log1p((pred - y).abs() / s).sum(1)
        if self.link_weight:
            for j, (lk, fs) in enumerate(zip(links(ch, self.head_specs), self.groups)):
                for value, f in zip(lk, fs):
                    target = f(cols)
                    per = per + self.link_weight * (target / s[:, j]) * (value.double() - target.log()).abs()
        return per

    def _residual_errors(self, cols: dict, pred: torch.Tensor) -> torch.Tensor:
        env = dict(cols)
        env.update({o: pred[:, j] for j, o in enumerate(self.relation.outputs)})
        r = torch.stack([f(env) for f in self.residuals], 1)
        s = torch.stack([f(env) for f in self.residual_scales], 1).detach()
        return r.abs() / s

    @torch.no_grad()
    def errors(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample error [N] for model selection: the worst output's term-scale
        error (explicit) or the worst equation's normalised residual (implicit)."""
        cols = self._columns(x)
        pred = model.module(x).double()
        if self.explicit:
            y = torch.stack([f(cols) for f in self.exprs], 1)
            s = torch.stack([f(cols) for f in self.scales], 1).clamp(min=self.atol)
            err = ((pred - y).abs() / s).amax(1)
        else:
            err = self._residual_errors(cols, pred).amax(1)
        return torch.nan_to_num(err, nan=float("inf"))


def _group_functions(relation: Relation, head: dict, sample) -> list:
    """Compiled |y| (log head) or P and N (signed-log head) for the log-space loss."""
    o = head["output"]
    if head["kind"] == "log":
        return [compile_expr(sp.Abs(relation.expression(o)))]
    if head["kind"] == "signed_log":
        return [compile_expr(g) for g in sign_groups(relation, o, sample)]
    return []
