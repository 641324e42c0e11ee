"""`train` and the one training loop (`run`), whatever the stepper: Adam (adam.py) or
Levenberg-Marquardt (lm.py).

The formula is known, so data is unlimited: every step draws a new batch in the
chart (half of the entries of inputs with an edge drawn log-uniformly towards it),
scored by the relation's objective (objective.py) on the model's device.  The loop
owns what both methods share: the budget (steps or seconds), validation on a fixed
set every `check_every` steps keeping the best weights, the tolerance asked of a
certificate, fresh starts after a collapse, the progress bar, Ctrl-C and the record in
`model.info`.  On CUDA it never waits for the device between validation checks.
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from dataclasses import asdict

import torch

from ..checking.verify import verify
from ..declaration.metric import resolve_atol
from ..declaration.relation import Relation
from ..declaration.sampling import edge_floors, edge_sides
from ..errors import BudgetWarning
from ..model.device import cpu_threads, resolve_device
from ..model.piecewise import PiecewiseSurrogate
from ..model.scaling import choose_features, choose_heads, n_channels
from ..model.surrogate import Surrogate
from . import lm
from .adam import AdamStepper
from .config import TrainConfig, check_applies, check_relation
from .lm import lm_stepper
from .objective import Objective
from .objective import objective as make_objective
from .pieces import train_pieces
from .progress import progress_bar
from .start import lsq_start, seeded_model

__all__ = ["train", "BudgetWarning"]


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
    `time_limit` seconds, whichever comes first (when neither limit is given: 60 s, or
    600 s with a tolerance, ``TrainConfig(default_time_limit=, tolerance_time_limit=)``),
    and returns the best model seen (``info["goal"]`` records the checks; a `BudgetWarning`
    says when the tolerance was not met).  Errors are normalised by
    max(S(x), atol) as in `verify`: give the atol you will verify with (seed 000
    uses 1e-2) so that training does not chase relative accuracy where the output
    is negligibly small.  By default (None) atol is 0 where every output's scale
    stays positive, and where a scale vanishes inside the domain (log10(x) at
    x = 1) the relation's suggested atol, said once in a ScaleWarning.  With the
    same seed and `max_steps` (no time limit) the CPU result is reproducible.
    Raises TrainingError with the step and the input when the network diverges.

    The method: `config` (a `TrainConfig`; default ``TrainConfig()``) holds every other
    setting, among them ``method``.  Its default, "auto", trains by Levenberg-Marquardt
    (a small float64 network, far closer to float precision) on the CPU against a time
    limit, for up to eight inputs, and by Adam otherwise -- in particular whenever
    `max_steps` is given without `time_limit`.  `max_steps` counts the chosen method's
    steps: Adam steps, or LM steps (each costing about a hundred Adam steps) under
    ``method="lm"``.  A few hundred Adam steps leave a stiff relation far from what LM
    reaches: Colebrook (implicit) with ``max_steps=300`` certified 0.125 and Haaland 0.029
    (seed 0), where 60 s of LM reach 1e-5.  When auto's Adam run stops at its step budget
    with a validation max error above 1e-3 where LM would have been chosen with a time
    limit, a `BudgetWarning` says so; pass ``time_limit=`` or
    ``config=TrainConfig(method="lm")`` instead.

    `device` is "auto" (CUDA when present, else the CPU), "cpu", "cuda" or a torch device;
    `seed` seeds the start and the batches; `progress` shows a progress bar (default: when
    standard error is a terminal); `relation` is the `Relation` to train.

    Interrupting (Ctrl-C, KeyboardInterrupt) ends training as a time limit does:
    the best model so far comes back, with ``info["stop"] == "interrupted"``.
    """
    cfg = config or TrainConfig()
    dev = resolve_device(device)
    if getattr(relation, "pieces", None):  # a Piecewise output: one network per piece (piecewise.py)
        for p in relation.pieces:  # every piece's method checked before the first trains
            if p.constant is None and not p.relation.parameters:
                _check_method(p.relation, cfg, dev, seed, max_steps, time_limit)
        return train_pieces(relation, train, tolerance=tolerance, time_limit=time_limit, max_steps=max_steps,
                            device=device, seed=seed, progress=progress, config=config, atol=atol)
    # model/device.py's rule by the Adam step's widest activation (the LM Jacobian, 8 P x P for
    # P <= 1000 parameters, stays under it too); cfg.cpu_threads overrides
    work = (cfg.batch_size or (8192 if dev.type == "cuda" else 512)) * (cfg.width or 128)
    with cpu_threads(work, override=cfg.cpu_threads, device=dev):
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
    time_limit = cfg.time_limit(tolerance, time_limit, max_steps)

    dom = relation.domain
    feature_specs, head_specs = _specs(relation, cfg, seed)
    use_lm = _check_method(relation, cfg, dev, seed, max_steps, time_limit, (feature_specs, head_specs))
    objective = make_objective(relation, head_specs, edge_sides(dom), edge_floors(dom, "train"), cfg.link_weight, atol)
    xv = objective.validation_points(cfg.validation_points, seed).to(dev)
    goal = Goal(tolerance, atol, seed)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    t0 = time.perf_counter()
    if use_lm:
        s = cfg.lm
        if s.floors != "train":  # batches and validation as deep towards an edge as the certificate
            objective = objective.like(edge_floors(dom, s.floors))
            xv = objective.validation_points(len(xv), seed).to(dev)
        gen = torch.Generator(device=dev).manual_seed(seed)

        def fresh(attempt: int):
            deadline = time.perf_counter() + s.warm_share * time_limit if time_limit else None
            stepper = lm_stepper(relation, objective, feature_specs, head_specs, seed=seed, attempt=attempt, gen=gen,
                                 dev=dev, cfg=cfg, deadline=deadline)
            return stepper
        restarts = 0
        first = fresh(0)
        xv = torch.cat([xv, first.corners])  # the corners, where LM's fit extrapolates, validated too
    else:
        gen = torch.Generator(device=dev).manual_seed(seed)
        batch = cfg.batch_size or (8192 if dev.type == "cuda" else 512)
        per_step = not (cfg.deferred_checks if cfg.deferred_checks is not None else dev.type != "cpu")
        # a four-output system (parallel pipes) certified 0.034 at width 64 and 0.0087 at 128 in 4-5 min
        width = cfg.width or (64 if n_channels(head_specs) <= 2 else 128)

        def fresh(attempt: int):
            model = seeded_model(relation, feature_specs, head_specs, seed=seed, attempt=attempt, width=width,
                                 depth=cfg.depth, activation=cfg.activation, skip=cfg.skip, device=dev,
                                 dtype=getattr(torch, cfg.dtype))
            if cfg.lsq_start and cfg.skip:
                lsq_start(model, objective, gen, dev, cfg)
            return AdamStepper(model, objective, gen, dev, batch=batch, lr=cfg.lr, decay=cfg.lr_final / cfg.lr,
                               edge_fraction=cfg.edge_fraction, boundary_fraction=cfg.boundary_fraction,
                               tail_weight=cfg.tail_weight, tail=cfg.tail, per_step=per_step,
                               check_every=cfg.check_every)
        restarts = cfg.restarts
        first = fresh(0)
    bar = _bar(show, time_limit, max_steps)
    try:
        model, info = run(first, fresh, objective=objective, xv=xv, goal=goal, max_steps=max_steps,
                          time_limit=time_limit, restarts=restarts, bar=bar, t0=t0)
    finally:
        bar.close()
    model.info = {**info, "device": str(dev), "seed": seed, "atol": atol, "goal": goal.record(),
                  "config": asdict(cfg)}
    if not use_lm and info["stop"] == "max_steps" and cfg.method == "auto" and info["validation"]["max"] > FAR:
        n_features, channels = len(feature_specs), n_channels(head_specs)
        if lm.use_lm(relation, cfg, n_features, channels, dev, max_steps=None, time_limit=cfg.default_time_limit):
            warnings.warn(
                f"training stopped at max_steps={max_steps} Adam steps with a validation max error of "
                f"{info['validation']['max']:.3g}: method='auto' trains by Adam under a step budget alone; with a "
                f"time limit it would train {relation.name or 'this relation'} by Levenberg-Marquardt, which gets "
                "much closer to float precision. Pass time_limit=SECONDS (or --time-limit), or "
                "config=TrainConfig(method='lm') to keep a step budget", BudgetWarning, stacklevel=3)
    if tolerance is not None and not goal.met and info["stop"] != "interrupted":
        checks = f"; its last certificate check gave {goal.checks[-1][1]:.3g}" if goal.checks else ""
        warnings.warn(
            f"tolerance={tolerance:g} was not met: training stopped at its {info['stop'].replace('_', ' ')} "
            f"({info['seconds']:.0f} s, {info['steps']} {info['method']} steps) with a validation max error of "
            f"{info['validation']['max']:.3g}{checks}. The best model comes back; sg.verify(model) certifies it. "
            "To go further, pass a longer time_limit=, a looser tolerance, or narrower bounds",
            BudgetWarning, stacklevel=3)
    return model


#: A validation max error above this after a step budget is far from what LM reaches: a hundred
#: times LM's 60 s default on Colebrook (6.4e-6 and 9.3e-6, docs/architecture.md).  `BudgetWarning`.
FAR = 1e-3


def run(stepper, fresh, *, objective, xv, goal: Goal, max_steps, time_limit, restarts: int, bar, t0: float):
    """The one training loop, whatever the stepper (Adam or LM): steps until the budget
    (`max_steps` steps or `time_limit` seconds since t0), a validation every
    `stepper.check_every` steps keeping the best weights, the tolerance asked of a
    certificate (`goal`), a fresh start (`fresh(attempt)`) when a run collapses (up to
    `restarts`), and Ctrl-C ending it like a time limit.  Returns the model with the best
    weights seen and the training record."""
    model = stepper.model
    best_state, best_stats = None, {"max": math.inf, "mean": math.inf}
    attempt, step, stop = 0, 0, "max_steps"
    t_start, step_start = t0, 0
    history: list[tuple] = []  # (step, seconds, attempt, validation max, validation mean)

    def spent() -> str | None:
        if max_steps is not None and step >= max_steps:
            return "max_steps"
        if time_limit is not None and time.perf_counter() - t0 >= time_limit:
            return "time_limit"
        return None

    def validate() -> dict:
        nonlocal best_state, best_stats
        stepper.sync()
        stats = _validate(model, objective, xv)
        elapsed = time.perf_counter() - t0
        history.append((step, round(elapsed, 2), attempt, stats["max"], stats["mean"]))
        if stats["max"] < best_stats["max"]:
            best_stats, best_state = stats, copy.deepcopy(model.module.net.state_dict())
        bar.set_postfix_str(f"max {stats['max']:.3g} mean {stats['mean']:.3g}", refresh=False)
        bar.update((min(elapsed, time_limit) if time_limit else step) - bar.n)
        return stats

    try:  # Ctrl-C ends training like a time limit: the best model so far comes back
        while (why := spent()) is None:
            frac = _progress(step - step_start, time.perf_counter() - t_start, max_steps and max_steps - step_start,
                             time_limit and time_limit - (t_start - t0))
            stepper.step(step, frac)
            step += 1
            if step % stepper.check_every or spent():  # the last validation comes after the loop
                continue
            stats = validate()
            if best_stats is stats and goal.reached(model, stats):
                why = "tolerance"
                break
            if attempt < restarts and frac > 0.2 and best_stats["mean"] > 0.5:  # collapsed (predicts ~0)
                attempt += 1
                stepper = fresh(attempt)
                model = stepper.model
                best_state, best_stats = None, {"max": math.inf, "mean": math.inf}
                t_start, step_start = time.perf_counter(), step
        stop = why
    except KeyboardInterrupt:
        stop = "interrupted"
    stats = validate()
    if best_stats is not stats and best_state is not None:
        model.module.net.load_state_dict(best_state)
    return model, {"method": stepper.method, "steps": step, "seconds": round(time.perf_counter() - t0, 3),
                   "stop": stop, "restarts": attempt, "validation": best_stats, "history": history, **stepper.info()}


def _specs(relation: Relation, cfg: TrainConfig, seed: int):
    """The network's input features and output heads (heads chosen on a Sobol probe)."""
    probe = relation.domain.sobol(1 << 14, seed=seed).numpy()
    probe_cols = {n: probe[:, j] for j, n in enumerate(relation.inputs)}
    return choose_features(relation, groups=cfg.group_features), choose_heads(relation, probe_cols)


def _check_method(relation, cfg, dev, seed, max_steps, time_limit, specs=None) -> bool:
    """Whether LM trains `relation` (lm.use_lm); raises if cfg sets a knob that method ignores."""
    time_limit = cfg.time_limit(None, time_limit, max_steps)
    feature_specs, head_specs = specs or _specs(relation, cfg, seed)
    n_params = lm.lm_parameters(len(feature_specs), n_channels(head_specs), cfg.lm, cfg.skip)
    use = lm.use_lm(relation, cfg, len(feature_specs), n_channels(head_specs), dev, max_steps, time_limit)
    why = (f"on the CPU against a time limit, {len(relation.inputs)} inputs, an LM network of {n_params} parameters"
           if use else "a GPU, a step budget alone, or too many inputs or LM parameters")
    check_applies(cfg, "lm" if use else "adam", f"lm.use_lm: {why}")
    return use


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


def _bar(show: bool, time_limit, max_steps):
    if time_limit:
        return progress_bar(show, total=float(time_limit), unit="s", desc="training",
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")
    return progress_bar(show, total=max_steps, unit="step", desc="training")
