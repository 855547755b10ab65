"""gradcheck: prove from-scratch NumPy gradients right or wrong against JAX's exact gradients.

The public API is imported lazily so that ``import harness.scratch`` (the code under test)
never pulls in JAX.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["case", "check", "assert_check", "CheckResult", "CheckRecord", "Case"]

if TYPE_CHECKING:  # pragma: no cover
    from harness.cases import Case, case
    from harness.check import assert_check, check
    from harness.types import CheckRecord, CheckResult

_HOMES = {
    "case": "harness.cases",
    "Case": "harness.cases",
    "check": "harness.check",
    "assert_check": "harness.check",
    "CheckResult": "harness.types",
    "CheckRecord": "harness.types",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
