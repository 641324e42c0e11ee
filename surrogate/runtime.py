"""Predict from a saved surrogate with NumPy alone (no torch): `runtime.load(path)`.

The public home of `surrogate.model.runtime` (docs/architecture.md): import from here.
"""

from .model.runtime import *  # noqa: F403
from .model.runtime import __all__  # noqa: F401
