"""Test-wide set-up: the derandomized hypothesis profile (override with HYPOTHESIS_PROFILE)."""

import os

import pytest
from hypothesis import settings

from harness.fuzz.profiles import CI, register_profiles

register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", CI))


@pytest.fixture
def ci_settings():
    """ci_settings(n): the loaded profile with n examples and no example database."""

    def make(examples: int) -> settings:
        return settings(settings(), max_examples=examples, database=None)

    return make
