"""The seed note's numerical-differentiation examples (section 수치 미분 / 편미분)."""

import numpy as np

from harness import case, oracle, scratch

# function_1 = 0.01 x^2 + 0.1 x; the note's exact derivatives are 0.2 at x = 5 and 0.3 at x = 10.
for x0 in (5.0, 10.0):
    case(
        f"function_1/x={x0:g}",
        fn=scratch.function_1,
        reference=oracle.function_1,
        args=(np.array(x0),),
        tags=("seed", "function"),
    )

# function_2 = x0^2 + x1^2; exact gradients (6, 8), (0, 4), (6, 0).
for point in ((3.0, 4.0), (0.0, 2.0), (3.0, 0.0)):
    case(
        f"function_2/x=({point[0]:g},{point[1]:g})",
        fn=scratch.function_2,
        reference=oracle.function_2,
        args=(np.array(point),),
        tags=("seed", "function"),
    )

# The same examples with the note's first formula, the forward difference, which the note shows
# to be less accurate than the central one: the checker's tolerance follows the scheme.
case(
    "function_2/x=(3,4)/forward",
    fn=scratch.function_2,
    reference=oracle.function_2,
    args=(np.array([3.0, 4.0]),),
    scheme="forward",
    tags=("seed", "function", "forward"),
)
