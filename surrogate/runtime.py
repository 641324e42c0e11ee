"""Predict from a saved surrogate with NumPy alone (no torch): `runtime.load(path_or_name)`.

The public home of `surrogate.model.runtime` (docs/architecture.md): import from here.
`load` takes what `surrogate.load` takes, a file or a shipped name (``gnielinski``,
``convection:gnielinski``): it is `surrogate.persistence.load.load_runtime`, which resolves
the name in the catalogue (a layer above the model's runtime, hence here) without torch.
"""

from .model.runtime import *  # noqa: F403
from .model.runtime import __all__  # noqa: F401
from .persistence.load import load_runtime as load  # noqa: F401, F811  (paths and shipped names)
