"""The text tests write into case files: the imports and the square-sum pair that most of them
check, so a test's case file states only what it adds (`case_file(body)`)."""

SQUARES = """\
import os, signal, sys, time
import numpy as np
import jax.numpy as jnp
from harness import case


def square_sum(x):
    return float(np.sum(x**2))


def square_sum_jax(x):
    return jnp.sum(x**2)
"""


def case_file(body: str) -> str:
    """A case file's text: SQUARES, then `body`.

    Args:
      body: the functions and case(...) calls of the test's own.

    Returns:
      The file's text.
    """
    return SQUARES + "\n\n" + body
