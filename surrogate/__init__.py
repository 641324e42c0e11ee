"""surrogate: turn a physical formula into a verified, fast, shippable neural surrogate.

    rel = sg.Relation(sp.Eq(y, f(x)), bounds={x: (lo, hi)})
    model = sg.train(rel, time_limit=120)
    cert = sg.verify(model)
    model.save("f.surrogate"); same = sg.load("f.surrogate")
    nu = sg.catalogue("gnielinski")        # a shipped, certified textbook correlation: no training

Without the `train` extra (torch, pandas) the package still imports, with the torch-free
parts: `Relation` and `surrogate.runtime`, which predicts from a saved artifact with NumPy.
"""

from __future__ import annotations

from .errors import INSTALL_TRAIN as _INSTALL_TRAIN
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
from .shipped import load as catalogue

__version__ = "0.1.0"

__all__ = [
    "Relation",
    "catalogue",
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
    "TrainingError",
    "ArtifactError",
    "FitError",
    "__version__",
]

_NEEDS_TORCH = ("train", "TrainConfig", "verify", "prove", "Proof", "Certificate", "Surrogate", "load", "fit", "FitResult", "plot_error",
                "plot_training")

try:  # everything that trains or runs a torch model; absent without the `train` extra
    import torch as _torch  # noqa: F401
    import pandas as _pandas  # noqa: F401  (surrogate.fit needs it: torch alone is not enough)
except ModuleNotFoundError:  # the NumPy runtime (surrogate.runtime) still works
    _torch = None
if _torch is not None:
    # Imported eagerly, not lazily: importing the submodule surrogate.train would
    # otherwise replace the function `surrogate.train` by the module of that name.
    from .artifact import load
    from .fit import FitResult, fit
    from .model import Surrogate
    from .plot import plot_error, plot_training  # matplotlib is imported when they are called
    from .prove import Proof, prove
    from .train import TrainConfig, train
    from .verify import Certificate, verify


def __getattr__(name: str):
    if name in _NEEDS_TORCH:
        raise ImportError(
            f"surrogate.{name} needs torch and pandas (the `train` extra), which are not installed here: "
            f"{_INSTALL_TRAIN} (or use surrogate.runtime, which predicts from a saved artifact with NumPy only)"
        )
    raise AttributeError(f"module 'surrogate' has no attribute {name!r}")
