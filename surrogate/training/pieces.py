"""Training a piecewise relation: one network per piece, the budget split between them."""

from __future__ import annotations

import math
import time

import numpy as np

from ..declaration.metric import resolve_atol
from ..model.piecewise import ConstantPiece, PiecewiseSurrogate
from .config import TrainConfig, check_relation

__all__ = ["train_pieces"]


def train_pieces(relation, train_one, *, tolerance, time_limit, max_steps, device, seed, progress, config,
                 atol) -> PiecewiseSurrogate:
    """One network per piece, the budget split evenly; `train_one` is `train.train`."""
    check_relation(relation)
    pieces = relation.pieces
    cfg = config or TrainConfig()
    atol = resolve_atol(relation, atol)  # once, for the whole relation; each piece gets it as given
    if max_steps is not None and (not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, not {max_steps!r}")
    time_limit = cfg.time_limit(tolerance, time_limit, max_steps)
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0
                                       and math.isfinite(time_limit)):
        raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
    t0 = time.perf_counter()
    models, interrupted = [], False
    trained = [p for p in pieces if p.constant is None]  # a constant piece is exact and takes no budget
    for p in pieces:
        if p.constant is not None:
            models.append(ConstantPiece(p.constant, relation.outputs))
            continue
        left = len(trained) - trained.index(p)
        share_time = None
        if time_limit is not None:  # what earlier pieces left unused goes to the later ones
            share_time = max((time_limit - (time.perf_counter() - t0)) / left, 1e-3)
        share_steps = max(1, max_steps // len(trained)) if max_steps is not None else None
        if interrupted:  # Ctrl-C: the pieces not reached get a one-step network, so the model is whole
            share_time, share_steps = None, 1
        m = train_one(p.relation, tolerance=tolerance, time_limit=share_time, max_steps=share_steps, device=device,
                      seed=seed, progress=progress, config=config, atol=atol)
        interrupted = interrupted or m.info.get("stop") == "interrupted"
        models.append(m)
    infos = [m.info for m in models]
    stops = sorted({i["stop"] for i in infos})
    info = {
        "method": next((i["method"] for i in infos if "method" in i), "constant"),
        "pieces": [{"piece": p.number, "condition": p.condition, **i} for p, i in zip(pieces, infos)],
        "steps": sum(i.get("steps", 0) for i in infos),
        "seconds": round(time.perf_counter() - t0, 3),
        "stop": "interrupted" if interrupted else ", ".join(stops),
        "device": next((i["device"] for i in infos if "device" in i), "cpu"),
        "seed": seed,
        "atol": atol,
        "validation": {"max": max(i["validation"].get("max", math.inf) for i in infos),
                       "mean": float(np.mean([i["validation"].get("mean", math.inf) for i in infos]))},
    }
    return PiecewiseSurrogate(relation, models, info=info)


