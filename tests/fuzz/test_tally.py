"""Generated networks and the `gradcheck fuzz` command."""

import numpy as np
import pytest

from harness.cli.main import main
from harness.fuzz.properties import check_network
from harness.fuzz.tally import run_property
from harness.generate import network_configs
from harness.scratch.mlp import mlp_gradient

# Few distinct shapes keep JAX's per-shape work (and so the test) short.
SMALL = network_configs(
    max_hidden_layers=2, wide_every=0, seed_network_every=0, max_width=3, max_batch=4
)


def backprop_without_bias_gradient(*args):
    """The planted bug: backprop that forgets the biases (their gradients come back zero)."""
    grads = list(mlp_gradient(*args))
    for k in range(1, len(grads), 2):
        grads[k] = np.zeros_like(grads[k])
    return tuple(grads)


def test_dropped_bias_gradient_is_caught_and_shrunk(ci_settings):
    tally = run_property(
        "networks",
        SMALL,
        lambda config: check_network(
            config, backprop=backprop_without_bias_gradient, numerical=False
        ),
        ci_settings(10),
    )
    assert tally.failed == 1
    assert "analytic of b" in tally.failure
    shrunk = tally.shrunk
    # One hidden layer of one unit already has biases: the shrunk network is tiny.
    assert len(shrunk.sizes) == 3, shrunk.describe()
    assert shrunk.parameter_count <= 8, shrunk.describe()
    assert shrunk.batch <= 2


def test_correct_backprop_passes(ci_settings):
    tally = run_property("networks", SMALL, check_network, ci_settings(6))
    assert tally.failed == 0, tally.failure
    assert tally.passed + tally.inconclusive == tally.tried > 0


def test_inconclusive_examples_are_counted_apart_and_fail_nothing(ci_settings):
    from hypothesis import strategies as st

    from harness import check

    def powerless(offset):
        # Under a constant offset of 1e9 the finite differences cannot resolve a slope of ~1.
        return check(
            lambda x: offset + float(np.sum(x**2)),
            lambda x: offset + (x**2).sum(),
            np.array([0.3, -0.7]),
            checks=("numerical",),
        )

    tally = run_property("functions", st.sampled_from([1e9, 2e9]), powerless, ci_settings(4))
    assert tally.failed == 0 and tally.passed == 0
    assert tally.inconclusive == tally.tried > 0


def test_fuzz_command_prints_the_summary(capsys):
    status = main(["fuzz", "--kind", "functions", "--examples", "5", "--seed", "3"])
    out = capsys.readouterr().out
    assert status == 0
    for column in (
        "tried",
        "passed",
        "kinks",
        "rejected",
        "inconclusive",
        "failed",
        "worst error/tolerance",
    ):
        assert column in out


def test_same_seed_same_examples(capsys):
    main(["fuzz", "--kind", "functions", "--examples", "6", "--seed", "7"])
    first = capsys.readouterr().out.splitlines()[2]
    main(["fuzz", "--kind", "functions", "--examples", "6", "--seed", "7"])
    second = capsys.readouterr().out.splitlines()[2]
    # The row minus the examples/s column.
    assert first.rsplit(maxsplit=1)[0] == second.rsplit(maxsplit=1)[0]


@pytest.mark.parametrize("argv", [["--examples", "0"], ["--kind", "lines"], ["--seed", "x"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(["fuzz", *argv])
    assert exc.value.code == 2
