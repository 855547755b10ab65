"""Non-smooth points, told apart from the one-sided slopes at s, s/2 and s/4.

The same rule serves the numerical check (slopes of fn) and the hand-written gradient check
(slopes of the reference, which a bug in the code under test cannot move):

* smooth: the gap between the forward and backward slopes is s f'' + O(s^3), so it halves with s;
* kink: the gap is the jump in slope, whatever s. The valid gradients are the interval between
  the one-sided slopes (their convex hull), up to the slopes' own truncation and rounding;
* jump: f itself jumps within the step, so a one-sided slope is J / s and the gap doubles as s
  halves. A jump is never a kink: nothing between the slopes is a derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.judge import tolerance as policy

SMOOTH, KINK, JUMP = "smooth", "kink", "jump"
# A kink's gap keeps its size and a jump's grows 4x over two halvings; a gap that grew more than
# this over the two halvings is a jump (a smooth gap shrinks 4x).
JUMP_GROWTH = 2.5


@dataclass(frozen=True)
class SlopeReading:
    """What the one-sided slopes at one entry (or along one direction) say."""

    kind: str  # SMOOTH, KINK or JUMP
    low: float  # the bracket of valid derivatives at a kink: [low - slack, high + slack]
    high: float
    slack: float


def classify(
    slopes: list[tuple[float, float]], step: float, slope_noise: Callable[[float], float]
) -> SlopeReading:
    """Read the (forward, backward) slopes at step, step/2 and step/4.

    Args:
      slopes: [(forward, backward)] at step, step/2, step/4.
      step: the first step.
      slope_noise: the rounding error of one one-sided slope at a given step (a gap holds two).

    Returns:
      The reading; ``low``/``high``/``slack`` bound the valid derivatives at a kink.
    """
    (fw1, bw1), (fw2, bw2), (fw4, bw4) = slopes
    gap1, gap2, gap4 = fw1 - bw1, fw2 - bw2, fw4 - bw4
    noise4 = policy.NUMERICAL_SAFETY * 2.0 * slope_noise(step / 4)
    lo, hi = min(fw4, bw4), max(fw4, bw4)
    # A one-sided slope at s/4 is off the one-sided derivative by its truncation, which the change
    # from s/2 to s/4 measures (first order); without it an exact gradient on the edge of the
    # bracket (|x| seen through a curved function) was a false failure.
    truncation = abs(fw2 - fw4) + abs(bw2 - bw4)
    slack = policy.NUMERICAL_SAFETY * slope_noise(step / 4) + 2.0 * truncation
    if abs(gap4) > noise4 and abs(gap4) > JUMP_GROWTH * abs(gap1):
        return SlopeReading(JUMP, lo, hi, slack)
    # Two halvings are tested because a kink at distance s/3 from x fools one of them.
    for wide, narrow, s_narrow in ((gap1, gap2, step / 2), (gap2, gap4, step / 4)):
        noise = policy.NUMERICAL_SAFETY * 2.0 * slope_noise(s_narrow)
        if abs(narrow - wide / 2.0) > max(0.25 * abs(wide), noise):
            return SlopeReading(KINK, lo, hi, slack)
    return SlopeReading(SMOOTH, lo, hi, slack)
