"""gradcheck: prove from-scratch NumPy gradients right or wrong against JAX's exact gradients.

Importing the package does not import JAX (check() loads the oracle on first use), so
``import harness.scratch`` -- the code under test -- never pulls JAX in.
"""

# The release, as pyproject.toml gives it (`gradcheck --version` prefers the installed metadata).
__version__ = "0.1.0"

from harness.adapters.layer import check_layer, layer_case
from harness.adapters.net import check_net, net_case
from harness.adapters.numerical import fixed_step
from harness.judge.check import assert_check, check
from harness.results import CheckRecord, CheckResult
from harness.suite.case import Case, case

__all__ = [
    "case",
    "check",
    "assert_check",
    "check_layer",
    "check_net",
    "layer_case",
    "net_case",
    "fixed_step",
    "CheckResult",
    "CheckRecord",
    "Case",
]
