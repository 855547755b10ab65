"""Running cases: time limits, interruption, determinism of results.json."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from harness import case, oracle, scratch
from harness.cli.main import main
from harness.results import ERROR
from harness.suite.collect import select
from harness.suite.run import run_suite


def _hanging(x):
    time.sleep(30)
    return np.sum(x**2)


def test_a_hanging_case_is_stopped_reported_and_the_run_goes_on():
    x = np.array([3.0, 4.0])
    before = x.tobytes()
    hang = case("hangs", fn=_hanging, reference=oracle.function_2, args=(x,))
    fine = case(
        "fine", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([1.0, 2.0]),)
    )
    start = time.perf_counter()
    results = run_suite([hang, fine], timeout=5.0)
    assert time.perf_counter() - start < 25  # not the 30 s the case would sleep
    assert results[0].verdict == ERROR
    assert results[0].checks[0].check == "timeout"
    assert "stopped after 5 s" in results[0].checks[0].message
    assert results[1].ok
    assert x.tobytes() == before


def test_select_matches_names_and_tags_case_insensitively():
    a = case("Alpha", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(1.0),))
    b = case(
        "beta",
        fn=scratch.function_1,
        reference=oracle.function_1,
        args=(np.array(1.0),),
        tags=("Net",),
    )
    assert select([a, b], ["alp"]) == [a]
    assert select([a, b], ["net"]) == [b]
    assert select([a, b], None) == [a, b]


CASES = """
import numpy as np
from harness import case, oracle, scratch
for x0 in (1.0, 2.0, 3.0):
    case(f"f1/{x0}", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(x0),))
case("f2", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([3.0, 4.0]),),
     grad=lambda x: 2 * x)
"""


def test_same_command_twice_gives_identical_results_apart_from_timings(tmp_path, capsys):
    (tmp_path / "cases.py").write_text(textwrap.dedent(CASES))
    out = tmp_path / "out"
    texts = []
    for _ in range(2):
        assert main(["run", str(tmp_path / "cases.py"), "--report-dir", str(out)]) == 0
        texts.append((out / "results.json").read_text())
    first, second = (json.loads(t) for t in texts)
    for doc in (first, second):
        doc.pop("timings")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    # Nothing run-dependent hides outside the timings block.
    assert "seconds" not in json.dumps(first) and "started" not in json.dumps(first)


SLOW = """
import pathlib, time
import numpy as np
from harness import case, oracle
MARKER = pathlib.Path(__file__).with_name("started")
def slow(x):
    MARKER.touch()
    time.sleep(0.05)
    return np.sum(x**2)
case("slow", fn=slow, reference=oracle.function_2, args=(np.ones(400),))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupt_mid_run_leaves_previous_results_intact(tmp_path, signum):
    (tmp_path / "slow.py").write_text(textwrap.dedent(SLOW))
    out = tmp_path / "out"
    out.mkdir()
    # A previous run's results.json (gradcheck replaces only its own kind of file).
    previous = '{"format": "gradcheck-results", "version": 1, "previous": true}\n'
    (out / "results.json").write_text(previous)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            str(tmp_path / "slow.py"),
            "--report-dir",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (tmp_path / "started").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert (out / "results.json").read_text() == previous
    assert sorted(os.listdir(out)) == ["results.json"]
