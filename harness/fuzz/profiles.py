"""Hypothesis settings profiles: ``ci`` (fast, derandomized: the same examples every run, so a
check never flips on an unchanged tree) and ``thorough`` (for `gradcheck fuzz`)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

CI, THOROUGH = "ci", "thorough"


def register_profiles() -> None:
    """Register the ``ci`` and ``thorough`` profiles (idempotent)."""
    common = {
        "deadline": None,  # JAX compiles on first use; wall time is not a property
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "print_blob": True,
    }
    settings.register_profile(CI, max_examples=40, derandomize=True, database=None, **common)
    settings.register_profile(THOROUGH, max_examples=2000, **common)
