"""Kept for the README's first examples: the strategies live in `harness.fuzz`.

from harness.generate import function_examples, input_arrays  # same as harness.fuzz
"""

from harness.fuzz import *  # noqa: F403
from harness.fuzz import __all__  # noqa: F401
