"""The Adam stepper: one step on a fresh batch, the loss the relation's objective gives, its
worst share pushed on too (the certificate is a max).  The loop (loop.py) drives it."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..declaration.relation import Relation
from ..errors import TrainingError
from ..model.surrogate import Surrogate

__all__ = ["AdamStepper", "report_nonfinite"]


class AdamStepper:
    """Adam on `model`: the rate decays from `lr` by `decay` over the budget (lr * decay**frac).

    A NaN or inf is caught at each step (`per_step`, reading the loss costs nothing on the
    CPU) or remembered on the device and read at `sync` (CUDA: no host synchronisation
    between validation checks)."""

    method = "adam"

    def __init__(self, model: Surrogate, objective, gen, dev, *, batch: int, lr: float, decay: float,
                 edge_fraction: float, boundary_fraction: float, tail_weight: float = 0.0, tail: float = 0.05,
                 per_step: bool = True, fused: bool = True, check_every: int = 250):
        self.model, self.objective, self.gen, self.dev = model, objective, gen, dev
        self.batch, self.lr, self.decay = batch, lr, decay
        self.fractions = (edge_fraction, boundary_fraction)
        self.tail_weight, self.tail, self.per_step = tail_weight, tail, per_step
        self.check_every = check_every
        # fused: one kernel, not one per tensor (the warm start of LM keeps the plain one)
        self.opt = torch.optim.Adam(model.module.net.parameters(), lr=lr, **({"fused": True} if fused else {}))
        self.first_bad = torch.full((), -1, dtype=torch.long, device=dev)
        self.bad_row = torch.zeros(model.relation.domain.dim, dtype=torch.float64, device=dev)

    def step(self, step: int, frac: float) -> None:
        for g in self.opt.param_groups:
            g["lr"] = self.lr * self.decay ** frac
        # points, features and references in float64: a gap like x1 - x2 that float32
        # cannot hold is where seed 001's worst errors live; the network runs in its dtype
        x = self.objective.draw(self.batch, self.gen, self.dev, *self.fractions)
        per = self.objective.loss(self.model, x)
        loss = per.mean()
        if self.tail_weight:  # the certificate is a max: push on the worst points of each batch too
            loss = loss + self.tail_weight * per.topk(max(1, int(self.tail * len(per)))).values.mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.per_step:  # stop at the first bad step
            if not math.isfinite(float(loss.detach())):
                report_nonfinite(self.model, self.model.relation, step,
                                 x[(~torch.isfinite(per)).to(torch.uint8).argmax()].detach().numpy())
        else:  # remember the first bad step and point on the device; read them at sync
            nonfinite = ~torch.isfinite(per)
            new = nonfinite.any() & (self.first_bad < 0)
            self.first_bad = torch.where(new, torch.full_like(self.first_bad, step), self.first_bad)
            self.bad_row = torch.where(new, x[nonfinite.to(torch.uint8).argmax()], self.bad_row)

    def sync(self) -> None:
        """Before a validation: the deferred NaN check (the one host synchronisation)."""
        if int(self.first_bad) >= 0:
            report_nonfinite(self.model, self.model.relation, int(self.first_bad), self.bad_row.double().cpu().numpy())

    def info(self) -> dict:
        return {"batch_size": self.batch}


def report_nonfinite(model: Surrogate, relation: Relation, step: int, row: np.ndarray) -> None:
    """Raise TrainingError naming the step and the input where the prediction (or, for an
    implicit relation, an equation's residual) stopped being finite."""
    point = {n: float(v) for n, v in zip(relation.inputs, row)}
    where = ", ".join(f"{n}={v:.9g}" for n, v in point.items())
    cols = {n: np.array([v]) for n, v in point.items()}
    if relation.kind.residual:
        pred = model.evaluate(row[None])[0]
        env = {**cols, **{o: np.array([v]) for o, v in zip(relation.outputs, pred)}}
        said = ", ".join(f"{o}={v:.6g}" for o, v in zip(relation.outputs, pred))
        bad = [i + 1 for i in range(len(relation.equations))
               if not np.isfinite(relation.compiled("residual", i, "numpy")(env)[0])]
        if bad and np.all(np.isfinite(pred)):
            raise TrainingError(
                f"the residual of equation {', '.join(map(str, bad))} is undefined at step {step}, input {where}, "
                f"where the network predicts {said}; declare output ranges inside which the equations are defined "
                "(a positive range keeps an output positive)"
            )
    raise TrainingError(
        f"training diverged: the prediction became NaN or inf at step {step}, input {where}; "
        "try a smaller learning rate (TrainConfig(lr=...)) or float64"
    )
