"""`verify`: the certificate of a model over its whole domain (a dense check, then a
worst-case search), for a single network (`certify`) or each piece of a piecewise one."""

from __future__ import annotations

from ..declaration.relation import Relation
from ..model.piecewise import PiecewiseSurrogate
from ..model.records import Certificate
from .certify import certify
from .pieces import verify_pieces

__all__ = ["Certificate", "verify"]


def verify(
    model,
    relation: Relation | None = None,
    *,
    points: int = 1_000_000,
    atol: float | None = None,
    seed: int = 0,
    search: bool = True,
    starts: int = 32,
    steps: int = 150,
) -> Certificate:
    """Certify `model` against `relation` (its own by default) over the whole domain.

    Evaluates the error on `points` quasi-random points, then (with `search`, the
    default) searches for a worse point from the `starts` worst ones (`steps` of
    gradient ascent, then a random local search); `seed` seeds the points and the
    search, so the same seed gives the same certificate.  `atol` defaults to the one the model was trained with (or,
    for a model without that record, the relation's suggestion where a scale
    vanishes; train.resolve_atol).  Returns a Certificate; never raises for a bad
    model, only for a relation that does not match the model.
    """
    if isinstance(model, PiecewiseSurrogate):  # each piece certified on its own sub-domain
        return verify_pieces(model, relation, points=points, atol=atol, seed=seed, search=search, starts=starts,
                             steps=steps)
    return certify(model, relation, points=points, atol=atol, seed=seed, search=search, starts=starts, steps=steps)
