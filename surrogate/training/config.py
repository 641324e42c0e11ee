"""What a user can set for training: the network and optimiser settings, checked once."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..declaration.relation import Relation
from ..errors import RelationError

__all__ = ["LMSettings", "TrainConfig", "check_applies", "check_relation"]


@dataclass(frozen=True)
class LMSettings:
    width: int = 24
    depth: int = 2
    activation: str = "tanh"
    points_per_param: int = 8  # batch = 8 x parameters
    resample: int = 10  # steps per batch
    lam0: float = 1e-2
    mu: float = 1e-12  # absolute damping, relative to the mean of diag(J^T J)
    # how deep towards an edge batches and validation reach: "verify" (the certificate's,
    # scaling.Edge) or "train" (Adam's).  A tight LM fit extrapolates badly into the layer
    # between the two: Churchill-Bernstein (60 s, seeds 0, 1) certified 8.0e-3 and 3.4e-4
    # with the training floor, 6.5e-6 and 1.2e-5 with the certificate's
    floors: str = "verify"
    # Adam steps on the LM network before its LM steps (several cold starts instead, each given 5 %
    # of the budget, picked a stuck one in one of three 60 s Colebrook runs: removed).  Colebrook (250 LM steps, one
    # start): seeds 0 and 1 stuck at 3.9e-3 and 2.3e-2 from a cold start, 4.2e-5 and 7.1e-5 after
    # 2000 Adam steps (docs/architecture.md)
    warm_steps: int = 2000
    warm_lr: float = 1e-2
    warm_share: float = 0.1
    # the chart's 2^d corners in every batch and in the validation set.  None: for three inputs or
    # more.  Measured once each: two inputs (area_ratio seed 1), max 2.4e-2 -> 3.0e-3 but p99
    # 9e-5 -> 9e-4; four (the pump-pipe system, 300 steps, seed 0), certified max 6.4e-4 -> 3.4e-4
    # (the worst point had been the corner H0 = 20, L = 2000, D = 0.05, k_s = 2.6e-4), p99 5.6e-5 -> 4.8e-5
    corners: bool | None = None

    def uses_corners(self, n_inputs: int) -> bool:
        return self.corners if self.corners is not None else n_inputs >= CORNERS_FROM


#: LMSettings(corners=None) puts the corners in the batches from this many inputs on.
CORNERS_FROM = 3



@dataclass(frozen=True)
class TrainConfig:
    """Settings of the network and the optimiser; the defaults were measured on the seeds."""

    width: int | None = None  # None: 64, or 128 for networks with more than two output channels
    depth: int = 3
    activation: str = "silu"
    skip: bool = True  # a linear path from features to outputs beside the MLP
    batch_size: int | None = None  # None: 512 on the CPU, 8192 on CUDA
    lr: float = 1e-2
    lr_final: float = 1e-5
    edge_fraction: float = 0.5
    boundary_fraction: float = 1.0  # share of chart coordinates drawn from the arcsine law (denser at faces)
    validation_points: int = 16384
    check_every: int = 250
    dtype: str = "float32"
    # The certificate is a max, so each batch also pushes on its worst `tail` share
    # (a CVaR term).  Measured at equal time: seed 001 (120 s) certified 0.006-0.012
    # over four runs with it and 0.008-0.020 without; seed 000 0.0045 vs 0.0077;
    # Colebrook 3.4e-4 vs 4.1e-4.
    tail_weight: float = 1.0
    tail: float = 0.05
    link_weight: float = 1.0  # weight of the log-space part of the loss (0: plain relative L1)
    restarts: int = 2  # fresh starts allowed when a run collapses (predicts ~0)
    # features from the formula's own groups and structure (compiled.feature_groups; the logs of
    # positive inputs charted linearly with them: model/scaling.choose_features) and the linear
    # skip path started from its least-squares fit to the heads' targets
    # (docs/architecture.md has the measurements behind both defaults)
    group_features: bool = True
    lsq_start: bool = True
    default_time_limit: float = 60.0  # when neither time_limit nor max_steps is given
    # ... and when a tolerance is given without either: the most it may take, stopping as soon as a
    # certificate meets it (issue 23 asks for 1e-4 on systems of 4-8 inputs within 10 CPU-minutes)
    tolerance_time_limit: float = 600.0
    # torch's intra-op threads while training (restored afterwards).  None: model/device.py's rule
    # (one thread unless a step is large; the measurements are there and in bench/threads.py);
    # a number overrides it, on the CPU or beside a GPU.
    cpu_threads: int | None = None
    # "auto" (LM where lm.use_lm's rule picks it: on the CPU, against a time limit, a network of at
    # most 1 000 parameters), "adam", or "lm" (Levenberg-Marquardt on a small float64 network,
    # warm-started by Adam; lm.py).  docs/architecture.md has the measurements behind "auto".
    method: str = "auto"
    lm: LMSettings = field(default_factory=LMSettings)  # the LM phase's network and schedule
    # how a NaN is caught: at each step, reading the loss (False), or remembered on the device and
    # read at the validation checks only, with no per-step host synchronisation (True).  None:
    # per step on the CPU, deferred on CUDA.  The suite forces True on the CPU, so the branch a
    # GPU takes is tested where no GPU is.
    deferred_checks: bool | None = None

    def time_limit(self, tolerance: float | None, time_limit: float | None, max_steps: int | None) -> float | None:
        """The time limit training runs against: the one given, else, without a step budget,
        `tolerance_time_limit` when a tolerance is given and `default_time_limit` otherwise."""
        if time_limit is not None or max_steps is not None:
            return time_limit
        return self.tolerance_time_limit if tolerance is not None else self.default_time_limit

    def __post_init__(self):
        if isinstance(self.lm, dict):  # a config read back from a model's info
            object.__setattr__(self, "lm", LMSettings(**self.lm))
        if self.method not in ("auto", "adam", "lm"):
            raise ValueError(f"method must be 'auto', 'adam' or 'lm', not {self.method!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', not {self.dtype!r}")
        if not 0.0 < self.tail <= 1.0 or self.tail_weight < 0:
            raise ValueError(f"tail must lie in (0, 1] and tail_weight be >= 0, not {self.tail!r}, {self.tail_weight!r}")
        if not 0.0 <= self.edge_fraction <= 1.0:
            raise ValueError(f"edge_fraction must lie in [0, 1], not {self.edge_fraction!r}")
        if self.lr <= 0 or self.lr_final <= 0:
            raise ValueError(f"learning rates must be positive, not lr={self.lr!r}, lr_final={self.lr_final!r}")


# TrainConfig fields only the Adam loop reads, each with what to use under LM instead
ADAM_ONLY = {
    "width": "TrainConfig(lm=LMSettings(width=...))",
    "depth": "TrainConfig(lm=LMSettings(depth=...))",
    "activation": "TrainConfig(lm=LMSettings(activation=...))",
    "batch_size": "TrainConfig(lm=LMSettings(points_per_param=...)): LM's batch is that many points per parameter",
    "lr": "TrainConfig(lm=LMSettings(warm_lr=...)) for LM's Adam warm start",
    "lr_final": "nothing: LM's warm start decays its rate by a fixed 100x",
    "check_every": "TrainConfig(lm=LMSettings(resample=...)): LM validates at each new batch",
    "dtype": "nothing: LM always runs in float64",
    "tail_weight": "nothing: LM minimises the batch's sum of squares (weighing the worst points more, by IRLS, "
                   "was measured to hurt and removed)",
    "tail": "nothing: LM minimises the batch's sum of squares",
    "restarts": "nothing: LM starts once, from its Adam warm start",
    "deferred_checks": "nothing: LM reads the batch's loss at every step",
}


def check_applies(cfg: TrainConfig, method: str, why: str = "") -> None:
    """Refuse, before any training, a setting the chosen method ("adam" or "lm") would ignore.

    A field counts as set when it differs from its default (a default set explicitly changes
    nothing, so it is no lie).  `why` says how the method was chosen."""
    default = TrainConfig()
    how = f"method={cfg.method!r}" + (f" chose {method!r} ({why})" if cfg.method == "auto" else "")
    if method == "lm":
        for name, instead in ADAM_ONLY.items():
            if getattr(cfg, name) != getattr(default, name):
                raise ValueError(
                    f"TrainConfig({name}={getattr(cfg, name)!r}) is an Adam setting, but {how} trains by "
                    f"Levenberg-Marquardt, which ignores it; pass TrainConfig(method='adam', {name}=...) to train "
                    f"with Adam, or under LM use {instead}")
    elif cfg.lm != default.lm:
        changed = [f"{k}={v!r}" for k, v in vars(cfg.lm).items() if v != getattr(default.lm, k)]
        raise ValueError(
            f"TrainConfig(lm=LMSettings({', '.join(changed)})) sets Levenberg-Marquardt, but {how} trains by Adam, "
            "which ignores it; pass TrainConfig(method='lm', lm=...) to train by LM, or drop lm= and set "
            "TrainConfig's own width, depth, activation, lr ... for Adam")


def check_relation(relation: Relation) -> None:
    """Refuse, before any work, a relation training cannot take."""
    if relation.parameters:
        raise RelationError(
            f"parameters {', '.join(relation.parameters)} have no values; fit them first "
            "(sg.fit(relation, data).relation_fitted) or relation.substitute({...})",
            relation.name,
        )


