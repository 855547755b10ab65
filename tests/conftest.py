"""Test-wide set-up: the derandomized hypothesis profile (override with HYPOTHESIS_PROFILE)."""

import os

from hypothesis import settings

from harness.profiles import CI, register_profiles

register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", CI))
