"""Property tests of a surrogate against its relation (Hypothesis), and the checks behind them.

The public home of `surrogate.checking.testing` (docs/architecture.md): import from here.
"""

from .checking.testing import *  # noqa: F403
from .checking.testing import __all__  # noqa: F401
