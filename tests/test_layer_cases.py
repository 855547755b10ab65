"""The shipped chapter 5-7 cases pass, and the broken examples fail exactly where their bugs
are: the layer's or network's parameter and entry, nothing else."""

import pytest

from harness.suite.collect import collect

SHIPPED = ["cases/ch05_layers.py", "cases/ch06_layers.py", "cases/ch07_layers.py"]


@pytest.fixture(scope="module")
def shipped():
    cases, errors = collect([*SHIPPED, "cases/networks.py"])
    assert errors == []
    return cases


def test_every_shipped_layer_and_network_case_passes(shipped):
    assert len(shipped) == 12
    failures = [(c.name, r.verdict) for c in shipped if not (r := c.run()).ok]
    assert failures == []


def test_network_cases_report_per_parameter_name(shipped):
    extend = next(c for c in shipped if c.name.startswith("net/MultiLayerNetExtend"))
    result = extend.run()
    names = [c.arg for c in result.checks if c.check == "analytic"]
    assert names == ["W1", "b1", "W2", "b2", "gamma1", "beta1"]
    # The net's own numerical gradient, judged at the book's step.
    assert {c.h for c in result.checks if c.check == "numerical"} == {1e-4}


def test_layer_and_network_cases_stay_out_of_the_sweep(shipped):
    from harness.sweep.measure import sweep_case

    assert all(not c.sweep for c in shipped)
    assert sweep_case(shipped[0]).skipped == "left out of the sweep (sweep=False)"


def _failures(path):
    cases, errors = collect([path])
    assert errors == []
    return {c.name: [(r.check, r.arg, r.worst.index) for r in c.run().failures()] for c in cases}


def test_the_broken_layers_fail_at_their_bugs():
    found = _failures("examples/broken_layers.py")
    assert found["broken/Affine/db"] == [("analytic", "b", (2,))]
    assert [f[:2] for f in found["broken/BatchNormalization/dx"]] == [("analytic", "x")]
    assert [f[:2] for f in found["broken/Sigmoid/dx"]] == [("analytic", "x")]


def test_the_broken_network_fails_at_its_bugs():
    (failures,) = _failures("examples/broken_network.py").values()
    numerical = {arg for check, arg, _ in failures if check == "numerical"}
    analytic = {arg for check, arg, _ in failures if check == "analytic"}
    assert numerical == {"W1", "b1", "W2", "b2"}  # h instead of 2h, in every parameter
    assert analytic == {"W1", "W2"}  # the weight decay's lambda W, in the weights only
