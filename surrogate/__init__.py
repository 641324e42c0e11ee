"""surrogate: turn a physical formula into a verified, fast, shippable neural surrogate.

    rel = sg.Relation(sp.Eq(y, f(x)), bounds={x: (lo, hi)})
    model = sg.train(rel, time_limit=120)
    cert = sg.verify(model)
    model.save("f.surrogate"); same = sg.load("f.surrogate")

Importing the package does not import torch: the torch-dependent names below are
loaded on first use, so `surrogate.runtime` works on a machine without torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import (
    ArtifactError,
    DomainError,
    FitError,
    RelationError,
    SurrogateError,
    TrainingError,
    UnsupportedExpressionError,
)
from .relation import Relation

__version__ = "0.1.0"

__all__ = [
    "Relation",
    "train",
    "TrainConfig",
    "verify",
    "Certificate",
    "Surrogate",
    "load",
    "fit",
    "FitResult",
    "SurrogateError",
    "RelationError",
    "UnsupportedExpressionError",
    "DomainError",
    "TrainingError",
    "ArtifactError",
    "FitError",
    "__version__",
]

_LAZY = {
    "train": ".train",
    "TrainConfig": ".train",
    "verify": ".verify",
    "Certificate": ".verify",
    "Surrogate": ".model",
    "load": ".artifact",
    "fit": ".fit",
    "FitResult": ".fit",
}

if TYPE_CHECKING:  # pragma: no cover
    from .artifact import load
    from .fit import FitResult, fit
    from .model import Surrogate
    from .train import TrainConfig, train
    from .verify import Certificate, verify


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'surrogate' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
