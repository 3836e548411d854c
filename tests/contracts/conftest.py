"""Hypothesis profiles for the schema-generated contract tests.

`ci` (chosen when CI=true): a fixed seed (derandomized) and a few dozen examples per route, a few
seconds each. `thorough` (the default by hand): hundreds of random examples per route.
Pick one explicitly with HYPOTHESIS_PROFILE=ci|thorough.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
              HealthCheck.function_scoped_fixture]  # fmt: skip
settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None, suppress_health_check=_SLOW_DATA,
                          print_blob=True)  # fmt: skip
settings.register_profile("thorough", max_examples=200, deadline=None, suppress_health_check=_SLOW_DATA)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "thorough"))
