"""The training loop: fresh points every step, Adam, the normalised residual loss.

The formula is known, so data is unlimited: every step draws a new batch in the
chart (half of the entries of inputs with an edge drawn log-uniformly towards it),
scores it with the relation's objective (objective.py) on the model's device,
and takes one Adam step with gradients zeroed first.  The model with the lowest worst-case
error on a fixed validation set is kept.  On CUDA the loop never waits for the
device between validation checks.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import asdict

import numpy as np
import torch

from ..checking.verify import verify
from ..declaration.metric import resolve_atol
from ..declaration.relation import Relation
from ..declaration.sampling import edge_floors, edge_sides
from ..errors import TrainingError
from ..model.device import cpu_threads, resolve_device
from ..model.network import MLP
from ..model.piecewise import PiecewiseSurrogate
from ..model.scaling import choose_features, choose_heads, features, n_channels
from ..model.surrogate import Surrogate
from . import lm
from .config import TrainConfig, check_relation
from .objective import Objective
from .pieces import train_pieces

__all__ = ["train"]


class Goal:
    """`tolerance` as the user's intent: the certificate, not the training loss, decides.

    When the validation max reaches the target, a quick certificate (verify on 10^5
    points with its worst-case search) is taken; training stops only if that meets
    the tolerance, else it goes on with the validation target lowered by the ratio
    between the two (a validation set misses the worst points a search finds)."""

    CHECK_POINTS = 100_000

    def __init__(self, tolerance: float | None, atol: float, seed: int):
        self.tolerance, self.target, self.atol, self.seed = tolerance, tolerance, atol, seed
        self.met = False
        self.checks: list[tuple[float, float]] = []  # (validation max, certified max)

    def reached(self, model: Surrogate, stats: dict) -> bool:
        if self.tolerance is None or stats["max"] > self.target:
            return False

        module = model.module
        was_training = module.training
        module.eval()
        try:
            cert = verify(model, points=self.CHECK_POINTS, atol=self.atol, seed=self.seed)
        finally:
            module.train(was_training)
        self.checks.append((stats["max"], cert.max_error))
        if cert.max_error <= self.tolerance:
            self.met = True
            return True
        self.target = min(self.target, stats["max"] * self.tolerance / cert.max_error)
        return False

    def record(self) -> dict | None:
        if self.tolerance is None:
            return None
        return {"tolerance": self.tolerance, "met": self.met, "checks": self.checks}


def train(
    relation: Relation,
    *,
    tolerance: float | None = None,
    time_limit: float | None = None,
    max_steps: int | None = None,
    device="auto",
    seed: int = 0,
    progress: bool | None = None,
    config: TrainConfig | None = None,
    atol: float | None = None,
) -> Surrogate | PiecewiseSurrogate:
    """Train a surrogate of `relation` over its whole domain: a `Surrogate`, or for a relation
    with a Piecewise output a `PiecewiseSurrogate` (one network per piece).

    Stops when a certificate (verify on 10^5 points, taken each time the validation
    max reaches the target) meets `tolerance`, after `max_steps` steps or
    `time_limit` seconds, whichever comes first (60 s when neither limit is given),
    and returns the best model seen (``info["goal"]`` records the checks).  Errors are normalised by
    max(S(x), atol) as in `verify`: give the atol you will verify with (seed 000
    uses 1e-2) so that training does not chase relative accuracy where the output
    is negligibly small.  By default (None) atol is 0 where every output's scale
    stays positive, and where a scale vanishes inside the domain (log10(x) at
    x = 1) the relation's suggested atol, said once in a ScaleWarning.  With the
    same seed and `max_steps` (no time limit) the CPU result is reproducible.
    Raises TrainingError with the step and the input when the network diverges.

    Interrupting (Ctrl-C, KeyboardInterrupt) ends training as a time limit does:
    the best model so far comes back, with ``info["stop"] == "interrupted"``.
    """
    if getattr(relation, "pieces", None):  # a Piecewise output: one network per piece (piecewise.py)
        return train_pieces(relation, train, tolerance=tolerance, time_limit=time_limit, max_steps=max_steps,
                            device=device, seed=seed, progress=progress, config=config, atol=atol)
    cfg = config or TrainConfig()
    dev = resolve_device(device)
    with cpu_threads(cfg.cpu_threads if dev.type == "cpu" else None):
        return _train(relation, tolerance, time_limit, max_steps, dev, seed, progress, cfg, atol)


def _train(relation: Relation, tolerance, time_limit, max_steps, dev: torch.device, seed: int, progress,
           cfg: TrainConfig, atol: float) -> Surrogate:
    check_relation(relation)
    for name, v in (("tolerance", tolerance), ("time_limit", time_limit)):
        if v is not None and not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a positive number of {'seconds' if name == 'time_limit' else 'error'}, not {v!r}")
    atol = resolve_atol(relation, atol)
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, not {max_steps!r}")
    if time_limit is None and max_steps is None:
        time_limit = cfg.default_time_limit
    # the Adam phase leaves `polish` of the budget to L-BFGS
    adam_time = time_limit * (1.0 - cfg.polish) if time_limit else None
    adam_steps = max(1, int(round(max_steps * (1.0 - cfg.polish)))) if max_steps else None

    dtype = getattr(torch, cfg.dtype)
    batch = cfg.batch_size or (8192 if dev.type == "cuda" else 512)
    dom = relation.domain
    probe = dom.sobol(1 << 14, seed=seed).numpy()
    probe_cols = {n: probe[:, j] for j, n in enumerate(relation.inputs)}
    feature_specs = choose_features(relation, groups=cfg.group_features)
    head_specs = choose_heads(relation, probe_cols)
    objective = Objective(relation, head_specs, edge_sides(dom), edge_floors(dom, "train"), cfg.link_weight, atol)
    xv = objective.validation_points(cfg.validation_points, seed).to(dev)
    goal = Goal(tolerance, atol, seed)
    if lm.use_lm(relation, cfg, len(feature_specs), n_channels(head_specs), dev, max_steps, time_limit):
        bar = _bar(sys.stderr.isatty() if progress is None else bool(progress), time_limit, max_steps)
        model = lm.train_lm(relation, objective, feature_specs, head_specs, xv, goal=goal,
                            time_limit=time_limit, max_steps=max_steps, dev=dev, seed=seed, cfg=cfg,
                            lsq_start=_lsq_start, validate=_validate, bar=bar)
        bar.close()
        model.info.update(atol=atol, config=asdict(cfg), goal=goal.record())
        return model

    gen = torch.Generator(device=dev).manual_seed(seed)

    def fresh(attempt: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1000 + attempt)
            channels = n_channels(head_specs)
            # a four-output system (parallel pipes) certified 0.034 at width 64 and 0.0087 at 128 in 4-5 min
            width = cfg.width or (64 if channels <= 2 else 128)
            net = MLP(len(feature_specs), channels, width=width, depth=cfg.depth,
                      activation=cfg.activation, skip=cfg.skip)
        model = Surrogate(relation, feature_specs, head_specs, net.to(device=dev, dtype=dtype))
        if cfg.lsq_start and cfg.skip:
            _lsq_start(model, objective, gen, dev, cfg)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, fused=True)  # one kernel, not one per tensor
        return model, opt

    model, opt = fresh(0)
    best_state, best_score, best_stats = None, math.inf, {}
    attempt, t0 = 0, time.perf_counter()
    t_start, step_start = t0, 0
    per_step = not (cfg.deferred_checks if cfg.deferred_checks is not None else dev.type != "cpu")
    first_bad = torch.full((), -1, dtype=torch.long, device=dev)
    bad_row = torch.zeros(dom.dim, dtype=torch.float64, device=dev)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _bar(show, time_limit, max_steps)
    step = 0
    history: list[tuple] = []  # (step, seconds, attempt, validation max, validation mean)
    stop_reason = "max_steps"
    try:  # Ctrl-C ends training like a time limit: the best model so far comes back
        while True:
            elapsed = time.perf_counter() - t0
            if adam_steps is not None and step >= adam_steps:
                stop_reason = "max_steps"
                break
            if adam_time is not None and elapsed >= adam_time:
                stop_reason = "time_limit"
                break
            frac = _progress(step - step_start, elapsed - (t_start - t0), adam_steps and adam_steps - step_start,
                             adam_time and adam_time - (t_start - t0))
            for g in opt.param_groups:
                g["lr"] = cfg.lr * (cfg.lr_final / cfg.lr) ** frac

            # points, features and references in float64: a gap like x1 - x2 that float32
            # cannot hold is where seed 001's worst errors live; the network runs in `dtype`
            x = objective.draw(batch, gen, dev, cfg.edge_fraction, cfg.boundary_fraction)
            per = objective.loss(model, x)
            loss = per.mean()
            if cfg.tail_weight:  # the certificate is a max: push on the worst points of each batch too
                loss = loss + cfg.tail_weight * per.topk(max(1, int(cfg.tail * len(per)))).values.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

            if per_step:  # reading a scalar costs nothing on the CPU: stop at the first bad step
                if not math.isfinite(float(loss.detach())):
                    _report_nonfinite(model, relation, step, x[(~torch.isfinite(per)).to(torch.uint8).argmax()]
                                      .detach().numpy())
            else:  # (CUDA) remember the first bad step and point on the device; read them at checks
                nonfinite = ~torch.isfinite(per)
                new = nonfinite.any() & (first_bad < 0)
                first_bad = torch.where(new, torch.full_like(first_bad, step), first_bad)
                bad_row = torch.where(new, x[nonfinite.to(torch.uint8).argmax()], bad_row)
            step += 1

            if step % cfg.check_every == 0:
                if int(first_bad) >= 0:  # the one host sync, at checks only
                    _report_nonfinite(model, relation, int(first_bad), bad_row.double().cpu().numpy())
                stats = _validate(model, objective, xv)
                history.append((step, round(elapsed, 2), attempt, stats["max"], stats["mean"]))
                if stats["max"] < best_score:
                    best_score, best_stats = stats["max"], stats
                    best_state = copy.deepcopy(model.module.net.state_dict())
                bar.set_postfix_str(f"max {stats['max']:.3g} mean {stats['mean']:.3g}", refresh=False)
                bar.update((min(elapsed, time_limit) if time_limit else step) - bar.n)
                if best_stats is stats and goal.reached(model, stats):
                    stop_reason = "tolerance"
                    break
                collapsed = frac > 0.2 and best_stats.get("mean", 1.0) > 0.5
                if collapsed and attempt < cfg.restarts:
                    attempt += 1
                    model, opt = fresh(attempt)
                    best_state, best_score, best_stats = None, math.inf, {}
                    t_start, step_start = time.perf_counter(), step
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    if int(first_bad) >= 0:
        _report_nonfinite(model, relation, int(first_bad), bad_row.double().cpu().numpy())
    stats = _validate(model, objective, xv)
    if stats["max"] < best_score or best_state is None:
        best_score, best_stats = stats["max"], stats
    else:
        model.module.net.load_state_dict(best_state)
    if cfg.polish and stop_reason != "tolerance":
        polish_steps = max(1, int(round(max_steps * cfg.polish / 20))) if max_steps else None
        deadline = t0 + time_limit if time_limit else None
        best_stats, n = _polish(model, objective, xv, gen, dev, cfg, best_stats, polish_steps, deadline, history)
        step += n
    bar.close()
    model.info = {
        "method": "adam",
        "steps": step,
        "seconds": round(time.perf_counter() - t0, 3),
        "stop": stop_reason,
        "device": str(dev),
        "batch_size": batch,
        "seed": seed,
        "atol": atol,
        "restarts": attempt,
        "validation": best_stats,
        "goal": goal.record(),
        "config": asdict(cfg),
        "history": history,
    }
    return model


def _polish(model, objective: Objective, xv, gen, dev, cfg: TrainConfig, best_stats: dict, steps, deadline,
            history: list) -> tuple[dict, int]:
    """L-BFGS on one fixed batch from the best Adam model, keeping the best on validation.

    Returns the best validation stats and the number of L-BFGS steps taken."""
    net = model.module.net
    x = objective.draw(cfg.polish_points, gen, dev, cfg.edge_fraction, cfg.boundary_fraction)
    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=20, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = objective.loss(model, x).mean()
        loss.backward()
        return loss

    best_state = copy.deepcopy(net.state_dict())
    n = 0
    while (steps is None or n < steps) and (deadline is None or time.perf_counter() < deadline):
        loss = opt.step(closure)
        n += 1
        if not math.isfinite(float(loss.detach())):
            break
        stats = _validate(model, objective, xv)
        history.append(("lbfgs", n, stats["max"], stats["mean"]))
        if stats["max"] < best_stats["max"]:
            best_stats, best_state = stats, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    return best_stats, n


@torch.no_grad()
def _lsq_start(model: Surrogate, objective: Objective, gen, dev, cfg: TrainConfig, points: int = 8192) -> None:
    """Start the linear parts from their least-squares solution: the skip path's
    weights and the last layer's bias fitted to each channel's target (in the head's
    own coordinates: log|y| for a log head, log P and log N for a signed-log head,
    y for a linear one) on a fresh batch.  Costs a fraction of a second; the MLP
    then learns only what the linear fit leaves.  Targets that are not finite (a
    group that vanishes on a face) are left out.  Implicit relations have no
    targets without a solve and keep the default start."""
    if not objective.explicit or model.module.net.skip is None:
        return
    x = objective.draw(points, gen, dev, cfg.edge_fraction, cfg.boundary_fraction)
    cols = objective._columns(x)
    f = features(x, model.module.feature_specs, model.relation).double()
    a = torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype, device=f.device)], 1)
    net = model.module.net
    for h, fns in zip(model.module.head_specs, objective.groups):
        if h["kind"] == "linear":
            targets = [(objective.exprs[objective.relation.outputs.index(h["output"])](cols) - h["a"]) / h["b"]]
        else:
            ends = [(h["a"], h["b"])] if h["kind"] == "log" else [(h["ap"], h["bp"]), (h["an"], h["bn"])]
            targets = [(fn(cols).log() - a0) / b0 for fn, (a0, b0) in zip(fns, ends)]
        for c, t in zip(h["channels"], targets):
            t = torch.broadcast_to(torch.as_tensor(t, dtype=f.dtype), (len(f),))
            ok = torch.isfinite(t)
            if ok.sum() < a.shape[1]:
                continue
            sol = torch.linalg.lstsq(a[ok].cpu(), t[ok].cpu()[:, None]).solution[:, 0]
            if not torch.all(torch.isfinite(sol)):
                continue
            net.skip.weight[c] = sol[:-1].to(net.skip.weight)
            net.last.bias[c] = sol[-1].to(net.last.bias)


def _progress(steps: int, seconds: float, max_steps, time_limit) -> float:
    p = 0.0
    if max_steps:
        p = max(p, steps / max_steps)
    if time_limit:
        p = max(p, seconds / time_limit)
    return min(p, 1.0)


@torch.no_grad()
def _validate(model: Surrogate, objective: Objective, xv: torch.Tensor) -> dict[str, float]:
    model.module.eval()
    err = objective.errors(model, xv)
    model.module.train()
    return {"max": float(err.max()), "mean": float(err.mean())}


def _report_nonfinite(model: Surrogate, relation: Relation, step: int, row: np.ndarray) -> None:
    point = {n: float(v) for n, v in zip(relation.inputs, row)}
    where = ", ".join(f"{n}={v:.9g}" for n, v in point.items())
    cols = {n: np.array([v]) for n, v in point.items()}
    if not relation.is_explicit:
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


def _bar(show: bool, time_limit, max_steps):
    from tqdm.auto import tqdm

    if time_limit:
        return tqdm(total=float(time_limit), unit="s", disable=not show, desc="training",
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")
    return tqdm(total=max_steps, unit="step", disable=not show, desc="training")
