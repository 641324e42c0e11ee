"""Where points are drawn, the one sampler of every stage: the edges of a domain and how deep
each stage reaches into them, training batches (`draw`), the validation set
(`validation_points`), the certificate's dense sample (`dense_points`) and the chart's
corners (`corner_points`).

An edge is a bound where the output is expected to change character: a bound that depends on
other inputs (``1 <= x2 <= x1``: the layer x2 -> x1), a zero bound of a linearly scaled input
(``0 <= x``), or a face where an output vanishes.  Training and verification draw
log-uniformly towards edges, verification deeper than training.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .domain import Domain

__all__ = ["DEPENDENT_EDGE", "MAX_CORNERS", "ZERO_EDGE", "Edge", "corner_points", "dense_points", "draw", "edge_floors",
           "edge_kind", "edge_sides", "validation_points"]


@dataclass(frozen=True)
class Edge:
    """How an edge is resolved: the offset delta inside the log of its feature, and
    the smallest relative distance that training and verification draw
    (log-uniformly).  Verification always reaches deeper than training.  Where the
    training floor sits against delta was measured: a floor far above delta leaves
    the layer next to the edge an extrapolation (3 % errors at x = 1e-12 on seed
    000 with delta 1e-7 and floor 1e-6), a floor far below it spends samples
    where nothing changes."""

    delta: float
    train_floor: float
    verify_floor: float


#: A bound that depends on other inputs (1 <= x2 <= x1): seed 001's worst errors sat
#: in the layer x2 -> x1, where x5/x2 and the gap term are of one size down to
#: relative gaps of 1e-9.  Seed 001 at 120 s certified 0.0082 with the floor at
#: 1e-14 and 0.0197 at 1e-16 (same seed); x2 == x1 exactly (log(delta)) is then a
#: small extrapolation that the certificate's edge sample and search do cover.
DEPENDENT_EDGE = Edge(delta=1e-15, train_floor=1e-14, verify_floor=1e-16)
#: A zero bound of a linearly scaled input (0 <= x): relative accuracy as x -> 0,
#: resolved to 1e-4 of the range, the floor below delta.  Deeper layers cost
#: accuracy where it matters: on seed 000 (atol 1e-2, 60 s) delta 1e-4 certified
#: 0.0075, 1e-5 0.012, 1e-7 0.016.
ZERO_EDGE = Edge(delta=1e-4, train_floor=1e-5, verify_floor=1e-6)


def edge_sides(domain: Domain) -> dict[int, str]:
    """Inputs (by column) with an edge worth resolving, and which side it is on."""
    out: dict[int, str] = {}
    for k, spec in enumerate(domain.inputs):
        if spec.high.free_symbols:
            out[k] = "high"
        elif spec.low.free_symbols:
            out[k] = "low"
        elif spec.scale == "linear" and float(spec.low) == 0.0:
            out[k] = "low"
        elif spec.scale == "linear" and float(spec.high) == 0.0:
            out[k] = "high"
    for k, side in domain.zero_faces.items():
        out.setdefault(k, side)
    return out


def edge_kind(domain: Domain, k: int) -> Edge:
    return DEPENDENT_EDGE if domain.inputs[k].dependent else ZERO_EDGE


def edge_floors(domain: Domain, which: str) -> dict[int, float]:
    """Per edge input, the smallest relative distance drawn by 'train' or 'verify'."""
    return {k: getattr(edge_kind(domain, k), f"{which}_floor") for k in edge_sides(domain)}


def dense_points(relation, n: int, seed: int) -> tuple[np.ndarray, bool]:
    """The certificate's dense sample of `n` points ([n, d] float64) and whether the domain has edges:
    scrambled Sobol in the chart, half of the rows drawn log-uniformly towards the edges
    (down to each edge's verify floor)."""
    import torch  # the train extra: only checking samples densely

    dom = relation.domain
    edges = edge_sides(dom)
    u = torch.quasirandom.SobolEngine(dom.dim, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    if not edges:
        return dom.chart(u).numpy(), False
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, dom.dim, generator=gen, dtype=torch.float64) < 0.5
    mask[: n // 2] = False
    return dom.chart(u, edges, mask, edge_floors(dom, "verify")).numpy(), True


def draw(domain: Domain, n: int, gen, device, edges: dict[int, str], floors: dict[int, float], edge_fraction: float,
         boundary_fraction: float = 0.0, dtype=None):
    """A training batch: n points (torch, float64 by default) in the domain; inputs with an
    edge are drawn towards it with probability `edge_fraction` (log-uniform in the distance,
    down to `floors`), and each chart coordinate follows the arcsine law (1 - cos(pi v)) / 2,
    denser towards both bounds, with probability `boundary_fraction`: a network is least
    accurate at the faces and corners of its domain, where uniform draws are sparse."""
    import torch

    dtype = dtype or torch.float64
    u = torch.rand(n, domain.dim, generator=gen, dtype=dtype, device=device)
    if boundary_fraction:
        pick = torch.rand(n, domain.dim, generator=gen, dtype=dtype, device=device) < boundary_fraction
        u = torch.where(pick, 0.5 - 0.5 * torch.cos(math.pi * u), u)
    if not edges:
        return domain.chart(u)
    mask = torch.rand(n, domain.dim, generator=gen, dtype=dtype, device=device) < edge_fraction
    return domain.chart(u, edges, mask, floors)


def validation_points(domain: Domain, n: int, seed: int, edges: dict[int, str], floors: dict[int, float]):
    """The validation set: scrambled Sobol points (torch float64, CPU), a third plain, a third
    with the arcsine law in every coordinate (faces and corners, where the worst errors sit),
    and a third drawn towards the edges, if any."""
    import torch

    u = torch.quasirandom.SobolEngine(domain.dim, scramble=True, seed=seed + 7919).draw(n, dtype=torch.float64)
    third = n // 3
    u[third : 2 * third] = 0.5 - 0.5 * torch.cos(math.pi * u[third : 2 * third])
    if not edges:
        return domain.chart(u)
    mask = torch.zeros_like(u, dtype=torch.bool)
    mask[2 * third :] = True
    return domain.chart(u, edges, mask, floors)


#: At most this many corners are scored (3 values per edge input, 2 per other input).
MAX_CORNERS = 4096


def corner_points(relation) -> np.ndarray:
    """The chart's corners, with every edge input also at the deepest distance the
    dense sample reaches (its verify floor): Ranz-Marshall's worst point, Re = 2e-8 at
    Pr = 250, was a corner of that kind, found by a 2e4-point check's search and missed
    by a 1e6-point one whose starts lay in other basins.  Empty above MAX_CORNERS."""
    import torch

    dom = relation.domain
    edges = edge_sides(dom)
    # per column: (u, masked) pairs -- the two faces, and the edge floor where there is an edge
    choices = [[(0.0, False), (1.0, False)] + ([(1.0, True)] if k in edges else []) for k in range(dom.dim)]
    if math.prod(len(c) for c in choices) > MAX_CORNERS:
        return np.zeros((0, dom.dim))
    rows = list(itertools.product(*choices))
    u = torch.tensor([[v for v, _ in r] for r in rows], dtype=torch.float64)
    if not edges:  # clipped: a log chart puts u = 1 an ulp outside (exp(log(10)) = 10.000000000000002)
        return dom.clip(dom.chart(u).numpy())
    mask = torch.tensor([[m for _, m in r] for r in rows], dtype=torch.bool)
    return dom.clip(dom.chart(u, edges, mask, edge_floors(dom, "verify")).numpy())
