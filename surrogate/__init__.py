"""surrogate: turn a physical formula into a verified, fast, shippable neural surrogate.

    rel = sg.Relation(sp.Eq(y, f(x)), bounds={x: (lo, hi)})
    model = sg.train(rel, time_limit=120)
    cert = sg.verify(model)
    model.save("f.surrogate"); same = sg.load("f.surrogate")
    nu = sg.load("gnielinski")             # a shipped, certified textbook correlation: no training
    sg.catalogue_names()                   # the shipped names; "convection:gnielinski" loads too

Without the `train` extra (torch, pandas) the package still imports, with the torch-free
parts: `Relation`, `catalogue` and `catalogue_names`, and `surrogate.runtime`, whose `load`
takes the same paths and names and predicts with NumPy.
"""

from __future__ import annotations

from ._version import __version__
from .declaration.relation import Relation
from .errors import INSTALL_TRAIN as _INSTALL_TRAIN
from .errors import (
    ArtifactError,
    DomainError,
    FitError,
    RelationError,
    SurrogateError,
    TrainingError,
    UnitError,
    UnsupportedExpressionError,
)
from .persistence.shipped import load as catalogue
from .persistence.shipped import names as catalogue_names

__all__ = [
    "Relation",
    "catalogue",
    "catalogue_names",
    "train",
    "TrainConfig",
    "verify",
    "prove",
    "Proof",
    "Certificate",
    "Surrogate",
    "load",
    "fit",
    "FitResult",
    "plot_error",
    "plot_training",
    "SurrogateError",
    "RelationError",
    "UnsupportedExpressionError",
    "DomainError",
    "UnitError",
    "TrainingError",
    "ArtifactError",
    "FitError",
    "__version__",
]

_NEEDS_TORCH = ("train", "TrainConfig", "verify", "prove", "Proof", "Certificate", "Surrogate", "load", "fit", "FitResult", "plot_error",
                "plot_training")

try:  # everything that trains or runs a torch model; absent without the `train` extra
    import pandas as _pandas  # noqa: F401  (surrogate.fit needs it: torch alone is not enough)
    import torch as _torch  # noqa: F401
except ModuleNotFoundError:  # the NumPy runtime (surrogate.runtime) still works
    _torch = None
if _torch is not None:
    from .checking.prove import prove
    from .checking.verify import verify
    from .fitting.fit import FitResult, fit
    from .interface.plot import plot_error, plot_training  # matplotlib is imported when they are called
    from .model.records import Certificate, Proof
    from .model.surrogate import Surrogate
    from .persistence.load import load
    from .training.config import TrainConfig
    from .training.loop import train


def __getattr__(name: str):
    if name in _NEEDS_TORCH:
        raise ImportError(
            f"surrogate.{name} needs torch and pandas (the `train` extra), which are not installed here: "
            f"{_INSTALL_TRAIN} (or use surrogate.runtime, which predicts from a saved artifact with NumPy only)"
        )
    raise AttributeError(f"module 'surrogate' has no attribute {name!r}")
