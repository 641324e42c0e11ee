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

import math

import torch

from ..declaration.metric import error
from ..declaration.relation import Relation
from ..declaration.sampling import draw, validation_points
from ..model.scaling import heads, links

__all__ = ["ExplicitObjective", "ImplicitObjective", "Objective", "objective"]


def objective(relation: Relation, head_specs: list[dict], edges: dict[int, str], edge_floor: dict[int, float],
              link_weight: float = 1.0, atol: float = 0.0) -> Objective:
    """The objective of `relation`'s kind (declaration/kinds.py): one class per kind."""
    kind = ExplicitObjective if relation.kind.name == "explicit" else ImplicitObjective
    return kind(relation, head_specs, edges, edge_floor, link_weight, atol)


class Objective:
    """Draws batches in the chart and scores a model on them: `loss` to train, `errors` to
    validate.  Each kind of relation is a subclass (`objective` picks it)."""

    def __init__(self, relation: Relation, head_specs: list[dict], edges: dict[int, str], edge_floor: dict[int, float],
                 link_weight: float = 1.0, atol: float = 0.0):
        self.relation = relation
        self.head_specs = head_specs
        self.edges = edges
        self.edge_floor = edge_floor
        self.link_weight = link_weight
        self.atol = atol

    def like(self, edge_floor: dict[int, float]) -> Objective:
        """The same objective, drawing as deep towards the edges as `edge_floor` says."""
        return type(self)(self.relation, self.head_specs, self.edges, edge_floor, self.link_weight, self.atol)

    # -- sampling ----------------------------------------------------------------------------
    def draw(self, n: int, gen: torch.Generator, device, edge_fraction: float, boundary_fraction: float = 0.0,
             dtype=torch.float64) -> torch.Tensor:
        """A training batch of n points (sampling.draw, at this objective's edge floors)."""
        return draw(self.relation.domain, n, gen, device, self.edges, self.edge_floor, edge_fraction,
                    boundary_fraction, dtype)

    def validation_points(self, n: int, seed: int) -> torch.Tensor:
        """The fixed validation set (sampling.validation_points, at this objective's edge floors)."""
        return validation_points(self.relation.domain, n, seed, self.edges, self.edge_floor)

    # -- scoring -----------------------------------------------------------------------------
    def _columns(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {n: x[:, j] for j, n in enumerate(self.relation.inputs)}

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample loss [N] (float64) of `model` at points x."""
        raise NotImplementedError

    @torch.no_grad()
    def errors(self, model, x: torch.Tensor) -> torch.Tensor:
        """Per-sample error [N] for model selection (validation)."""
        raise NotImplementedError

    #: whether `lsq_targets` has values (an implicit relation has none without a solve)
    has_targets = False

    def lsq_targets(self, head: dict, k: int, cols: dict) -> list:
        """The values head `k`'s channels should take at the columns `cols`, in the head's own
        coordinates, for the least-squares start (start.py)."""
        raise NotImplementedError


class ExplicitObjective(Objective):
    """y = f(x): the term-scale relative error through log1p, plus, for log and signed-log
    heads, the same error to first order in the head's log space."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        relation = self.relation
        self.exprs = [relation.compiled("expression", o) for o in relation.outputs]
        self.scales = [relation.compiled("scale", o) for o in relation.outputs]
        self.groups = [_group_functions(relation, h) for h in self.head_specs]

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        cols = self._columns(x)
        ch = model.module.channels(x)
        pred = heads(ch, self.head_specs).double()
        y, s, ok = self._references(cols, pred)
        per = torch.log1p(error(pred, y, s, self.atol)).sum(1)
        s = s.clamp(min=self.atol)
        if self.link_weight:
            for j, (lk, fs) in enumerate(zip(links(ch, self.head_specs), self.groups)):
                for value, f in zip(lk, fs):
                    target = f(cols)
                    # a group that vanishes (x2 == x1 makes seed 001's gap term 0) carries no weight
                    # and no log; torch.where keeps the 0 * inf of its log out of the gradient
                    live = target > 0
                    gap = (value.double() - torch.where(live, target, torch.ones_like(target)).log()).abs()
                    per = per + self.link_weight * torch.where(live, (target / s[:, j]) * gap, torch.zeros_like(gap))
        return torch.where(ok, per, torch.zeros_like(per))

    def _references(self, cols: dict, pred: torch.Tensor):
        """(y, S, ok): references and scales [N, m] where defined, and the mask [N] of
        points whose reference is finite (and whose scale is positive or covered by
        atol).  Elsewhere -- a removable singularity hit exactly, 0/0 in float64 --
        y is the prediction and S is 1, so the point carries neither loss nor a NaN
        gradient; training does not die on a point the formula cannot evaluate."""
        n = len(pred)
        y = torch.stack([torch.broadcast_to(torch.as_tensor(f(cols), dtype=pred.dtype), (n,)) for f in self.exprs], 1)
        s = torch.stack([torch.broadcast_to(torch.as_tensor(f(cols), dtype=pred.dtype), (n,)) for f in self.scales], 1)
        good = torch.isfinite(y) & torch.isfinite(s) & ((s > 0) | (self.atol > 0))
        y = torch.where(good, y, pred.detach())
        s = torch.where(good, s, torch.ones_like(s))
        return y, s, good.all(1)

    @torch.no_grad()
    def errors(self, model, x: torch.Tensor) -> torch.Tensor:
        """The worst output's term-scale error."""
        cols = self._columns(x)
        pred = model.module(x).double()
        y, s, ok = self._references(cols, pred)
        err = torch.where(ok, error(pred, y, s, self.atol).amax(1), torch.zeros(len(pred), dtype=pred.dtype))
        return torch.nan_to_num(err, nan=float("inf"))

    has_targets = True

    def lsq_targets(self, head: dict, k: int, cols: dict) -> list:
        if head["kind"] == "linear":
            return [(self.exprs[self.relation.outputs.index(head["output"])](cols) - head["a"]) / head["b"]]
        ends = [(head["a"], head["b"])] if head["kind"] == "log" else [(head["ap"], head["bp"]), (head["an"], head["bn"])]
        return [(fn(cols).log() - a0) / b0 for fn, (a0, b0) in zip(self.groups[k], ends)]


class ImplicitObjective(Objective):
    """Outputs on both sides, or systems: the Newton estimate of the relative output error
    where the Jacobian can be solved, else the normalised residual; no solved data."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        relation = self.relation
        n = len(relation.equations)
        self.residuals = [relation.compiled("residual", i) for i in range(n)]
        self.residual_scales = [relation.compiled("residual_scale", i) for i in range(n)]
        self.residual_groups = [
            (relation.compiled("group_pos", i), relation.compiled("group_neg", i))
            if relation.program.groups.get(i) is not None else None for i in range(n)]
        self.jacobian = [[relation.compiled("jacobian", (i, j)) for j in range(len(relation.outputs))]
                         for i in range(n)]

    def loss(self, model, x: torch.Tensor) -> torch.Tensor:
        cols = self._columns(x)
        pred = heads(model.module.channels(x), self.head_specs).double()
        return self._residual_loss(cols, pred)

    @torch.no_grad()
    def errors(self, model, x: torch.Tensor) -> torch.Tensor:
        """The Newton estimate of the relative output error, as verify measures it."""
        cols = self._columns(x)
        pred = model.module(x).double()
        env = dict(cols)
        env.update({o: pred[:, j] for j, o in enumerate(self.relation.outputs)})
        r = torch.stack([f(env) for f in self.residuals], 1)
        newton = self._newton_errors(env, pred, r).abs().amax(1)
        err = torch.where(torch.isfinite(newton), newton, self._residual_errors(cols, pred).amax(1))
        return torch.nan_to_num(err, nan=float("inf"))

    def _newton_errors(self, env: dict, pred: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """First-order relative output errors [N, k]: the Newton step J^-1 r with
        J_ij = y_j dr_i/dy_j at the prediction (held constant in the gradient).

        This is what verification measures (|y_hat - y*| / |y*|), estimated without
        a solve: a point where the residual is flat in y (Colebrook at low Re and
        high roughness) gets the weight its output error deserves, and the gradient
        with respect to log y_hat is the identity, as in Gauss-Newton."""
        return (self._newton_inverse(env, pred) @ r.unsqueeze(2)).squeeze(2)

    def _newton_inverse(self, env: dict, pred: torch.Tensor) -> torch.Tensor:
        """[N, k, k]: J^-1 for the Newton step above, detached (inf/NaN where J is singular)."""
        fixed = {k: v.detach() for k, v in env.items()}
        y = pred.detach()
        jac = torch.stack([torch.stack([_full(f(fixed), y[:, 0]) for f in row], 1) for row in self.jacobian], 1)
        jac = jac * y[:, None, :]
        if jac.shape[1] == 1:
            return 1.0 / jac
        inv, info = torch.linalg.inv_ex(jac)
        return torch.where((info == 0)[:, None, None], inv, torch.full_like(inv, math.nan))

    def _residual_loss(self, cols: dict, pred: torch.Tensor) -> torch.Tensor:
        """log1p of the Newton-estimated relative output errors where the Jacobian
        can be solved; elsewhere the normalised residual (below)."""
        env = dict(cols)
        env.update({o: pred[:, j] for j, o in enumerate(self.relation.outputs)})
        r = torch.stack([f(env) for f in self.residuals], 1)
        delta = self._newton_errors(env, pred, r)  # the Jacobian is evaluated once per step
        ok = torch.isfinite(delta.detach()).all(1)
        newton = torch.log1p(delta.abs()).sum(1)
        return torch.where(ok, newton, self._normalised_residual_loss(env))

    def _normalised_residual_loss(self, env: dict) -> torch.Tensor:
        """Sum over equations: |log P - log N| / 2 where the residual's terms split
        into a positive group P and a negative group -N of fixed signs, else |r| / S.

        Both equal the normalised residual |P - N| / (P + N) to first order at a
        root, but the log form keeps its gradient when P and N are orders of
        magnitude apart, where |r| / S sits on a plateau at 1: the head-loss balance
        L1 Q1^2 f1 / D1^5 = L2 Q2^2 f2 / D2^5 of the parallel-pipe system never
        trained without it."""
        total = 0.0
        for f, scale, groups in zip(self.residuals, self.residual_scales, self.residual_groups):
            if groups is not None:
                p, n = groups
                tiny = torch.finfo(torch.float64).tiny  # an exactly vanishing group stays finite
                total = total + 0.5 * (p(env).clamp(min=tiny).log() - n(env).clamp(min=tiny).log()).abs()
            else:
                total = total + f(env).abs() / scale(env).detach()
        return total

    def _residual_errors(self, cols: dict, pred: torch.Tensor) -> torch.Tensor:
        env = dict(cols)
        env.update({o: pred[:, j] for j, o in enumerate(self.relation.outputs)})
        r = torch.stack([f(env) for f in self.residuals], 1)
        s = torch.stack([f(env) for f in self.residual_scales], 1).detach()
        return r.abs() / s


def _full(v, like: torch.Tensor) -> torch.Tensor:
    """A derivative that folded to a constant comes back as a float: give it a shape."""
    return torch.full_like(like, v) if isinstance(v, (int, float)) else v


def _group_functions(relation: Relation, head: dict) -> list:
    """Compiled |y| (log head) or P and N (signed-log head) for the log-space loss."""
    o = head["output"]
    if head["kind"] == "log":
        return [relation.compiled("abs", o)]
    if head["kind"] == "signed_log":
        return [relation.compiled("group_pos", o), relation.compiled("group_neg", o)]
    return []
