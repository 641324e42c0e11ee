"""What kind of relation a declaration is, as a type: explicit (each output a formula of the
inputs) or implicit (outputs defined by equations, found by a numeric solve).

The stages ask the kind for what differs between the two instead of branching on a flag:
the reference and its scale at points, what an undefined point means, the error's
definition, whether the reference is differentiable (the worst-case search climbs it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metric import DEFINITION
from .reference import explicit_reference
from .solve import solve

__all__ = ["EXPLICIT", "IMPLICIT", "Kind", "Truth"]


@dataclass
class Truth:
    """The reference at points x: values [N, m] and scales [N, m] (undefined where not finite);
    `status` per point from the solve (0 solved; None for a formula), `refined` the points
    whose float64 value was redone in extended precision."""

    values: np.ndarray
    scales: np.ndarray
    status: np.ndarray | None = None
    refined: int = 0


class Kind:
    """The interface both kinds give (`Relation.kind`)."""

    name: str
    error: str  # the certificate's error definition
    undefined: str  # what a point without a reference is
    description: str  # one line for a datasheet
    differentiable: bool  # the reference can be climbed by gradient ascent (the certificate's search)
    residual: bool  # the certificate reports the residual at the prediction (the equations are not the output)

    def truth(self, relation, x: np.ndarray) -> Truth:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.name} relation>"


class _Explicit(Kind):
    name = "explicit"
    error = DEFINITION
    undefined = "reference undefined"
    differentiable = True
    residual = False
    description = "explicit"

    def truth(self, relation, x):
        ref = explicit_reference(relation, x)
        return Truth(ref.values, ref.scales, None, ref.refined)


class _Implicit(Kind):
    name = "implicit"
    error = "|y_hat - y*| / |y*|, y* from a bracketed Newton solve"
    undefined = "solver could not settle"
    differentiable = False
    residual = True
    description = "implicit (the outputs come from a numeric solve)"

    def truth(self, relation, x):
        sol = solve(relation, x)
        return Truth(sol.values, np.abs(sol.values), sol.status, 0)


EXPLICIT: Kind = _Explicit()
IMPLICIT: Kind = _Implicit()
