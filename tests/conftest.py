"""Shared test configuration: the Hypothesis profile this repository's tests run under.

``ci`` (the default) is derandomised, so a run is reproducible and a failure in CI
is a failure locally; it has no deadline, because the first call of a compiled
expression or a model is much slower than the rest.  Choose another profile with
``HYPOTHESIS_PROFILE=default pytest`` (randomised) or ``surrogate-thorough``.
"""

import os

from hypothesis import settings

from surrogate.testing import register_profiles

settings.register_profile("ci", derandomize=True, deadline=None)
register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
