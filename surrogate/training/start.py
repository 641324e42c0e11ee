"""How a network starts: its weights drawn from the seed, then the linear parts at their
least-squares solution (both steppers, Adam and LM, start this way)."""

from __future__ import annotations

import torch

from ..model.network import MLP
from ..model.scaling import features, n_channels
from ..model.surrogate import Surrogate

__all__ = ["lsq_start", "seeded_model"]


def seeded_model(relation, feature_specs: list[dict], head_specs: list[dict], *, seed: int, attempt: int, width: int,
                 depth: int, activation: str, skip: bool, device, dtype) -> Surrogate:
    """A fresh network whose weights depend on (seed, attempt) alone, not on the global RNG's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed * 1000 + attempt)
        net = MLP(len(feature_specs), n_channels(head_specs), width=width, depth=depth, activation=activation,
                  skip=skip)
    return Surrogate(relation, feature_specs, head_specs, net.to(device=device, dtype=dtype))


@torch.no_grad()
def lsq_start(model: Surrogate, objective, gen, dev, cfg, points: int = 8192) -> None:
    """Start the linear parts from their least-squares solution: the skip path's
    weights and the last layer's bias fitted to each channel's target (in the head's
    own coordinates: log|y| for a log head, log P and log N for a signed-log head,
    y for a linear one) on a fresh batch.  Costs a fraction of a second; the MLP
    then learns only what the linear fit leaves.  Targets that are not finite (a
    group that vanishes on a face) are left out.  Implicit relations have no
    targets without a solve and keep the default start."""
    if not objective.has_targets or model.module.net.skip is None:
        return
    x = objective.draw(points, gen, dev, cfg.edge_fraction, cfg.boundary_fraction)
    cols = objective._columns(x)
    f = features(x, model.module.feature_specs, model.relation).double()
    a = torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype, device=f.device)], 1)
    net = model.module.net
    for k, h in enumerate(model.module.head_specs):
        targets = objective.lsq_targets(h, k, cols)
        for c, t in zip(h["channels"], targets):
            t = torch.broadcast_to(torch.as_tensor(t, dtype=f.dtype), (len(f),))
            ok = torch.isfinite(t)
            if ok.sum() < a.shape[1]:
                continue
            # driver "gelsd" (SVD), not the CPU default "gelsy": torch passes gelsy's pivot array
            # uninitialised, so its column order, and the last bits of the solution, followed
            # whatever the allocator handed back -- one seed gave other weights from run to run
            # (bench/reproducible.py; PYTHONHASHSEED alone changed them)
            sol = torch.linalg.lstsq(a[ok].cpu(), t[ok].cpu()[:, None], driver="gelsd").solution[:, 0]
            if not torch.all(torch.isfinite(sol)):
                continue
            net.skip.weight[c] = sol[:-1].to(net.skip.weight)
            net.last.bias[c] = sol[-1].to(net.last.bias)
