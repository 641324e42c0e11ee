"""The error of a model at points: reference, scale, undefined mask and metric, in one place.

Explicit outputs: the term-scale error against the formula's careful float64 reference
(`surrogate.declaration.reference`).  Implicit ones: the relative error against a
vectorised numeric solve (`surrogate.declaration.solve`); points where the solver finds no
root or several in the output range are undefined, and counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..declaration.metric import error
from ..declaration.relation import Relation

__all__ = ["point_errors"]


class Scorer:
    """Float64 error of a model against the relation at points x (NumPy [N, d]).

    Explicit outputs: the term-scale error against the formula.  Implicit ones:
    the relative error against a vectorised numeric solve (solve.py); points
    where the solver finds no root or several in the output range are undefined.
    """

    def __init__(self, model, relation: Relation, atol: float):
        self.model, self.relation, self.atol = model, relation, atol
        self.kind = relation.kind
        self.last_status = None  # the solve's status at the last points (implicit relations)
        self.refined = 0  # points whose reference was redone in extended precision (reference.py)

    def reference(self, x: np.ndarray):
        truth = self.kind.truth(self.relation, x)
        self.last_status = truth.status
        self.refined += truth.refined
        return truth.values, truth.scales

    def errors(self, x: np.ndarray):
        """(per-output errors [N, m], predictions, references, defined mask)."""
        y, s = self.reference(x)
        pred = self.model.evaluate(x)
        err = error(pred, y, s, self.atol)
        defined = np.all(np.isfinite(y) & np.isfinite(s), 1)
        err = np.where(np.isnan(err), np.inf, err)
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


def point_errors(model, x, *, atol: float = 0.0, relation: Relation | None = None):
    """The certificate's error of `model` at points x (NumPy [N, d], inputs order).

    Returns (errors [N, m] float64 per output, defined [N] bool): `defined` is False
    where the reference itself is undefined (NaN or inf, or an implicit point the
    solver could not settle); those rows are what the certificate excludes and
    counts.  This is the one definition that `verify`, plots and reports use.
    """
    relation = relation or model.relation
    err, _, _, defined = Scorer(model, relation, atol).errors(np.asarray(x, dtype=np.float64))
    return err, defined


_STATUS = {1: "no_root", 2: "several_roots", 3: "not_converged"}


def unsolved_report(relation: Relation, x: np.ndarray, status: np.ndarray, limit: int = 5) -> dict[str, Any]:
    counts = {name: int((status == code).sum()) for code, name in _STATUS.items()}
    rows = np.nonzero(status != 0)[0][:limit]
    examples = [{**{n: float(v) for n, v in zip(relation.inputs, x[i])}, "status": _STATUS.get(int(status[i]), "?")}
                for i in rows]
    return {"counts": counts, "examples": examples} if rows.size else {}
