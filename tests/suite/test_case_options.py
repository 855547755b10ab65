"""Issue 14, item 21 (args=): case() refuses an args= that is not a tuple of arguments, naming
the case and the argument, instead of splitting an array into one argument per row."""

from __future__ import annotations

import numpy as np
import pytest

from harness import case, oracle, scratch


@pytest.mark.parametrize(
    "args", [np.array([3.0, 4.0]), np.array(3.0), "x", 3.0], ids=["array", "0-d", "str", "float"]
)
def test_args_that_are_not_a_tuple_are_a_clear_error(args):
    with pytest.raises(TypeError) as info:
        case("f2/args", fn=scratch.function_2, reference=oracle.function_2, args=args)
    message = str(info.value)
    assert "'f2/args'" in message and "args=" in message and "args=(x,)" in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("args", [(np.array([3.0, 4.0]),), [np.array([3.0, 4.0])]])
def test_a_tuple_or_list_of_arguments_is_accepted(args):
    made = case("f2/ok", fn=scratch.function_2, reference=oracle.function_2, args=args)
    assert len(made.args) == 1 and made.run().ok
