"""Issue 14, item 11: a record always serialises (results.json is written whatever a case did),
non-finite numbers are written as "inf"/"-inf"/"nan" and read back as floats."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np

from harness.cli.main import main
from harness.files import dumps_json
from harness.results import CheckRecord, CheckResult, Entry


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_and_numpy_scalars_serialise_and_round_trip():
    record = CheckRecord(
        case="c",
        check="value",
        arg=None,
        verdict="fail",
        max_abs_error=math.inf,
        max_rel_error=math.nan,
        tolerance=np.float64(-math.inf),
        worst=Entry("x", (np.int64(1),), got=np.float32(math.inf), expected=2.0),
        details={"ratio": np.float32(0.5), "steps": (1e-6, math.nan), "n": np.int64(3)},
    )
    result = CheckResult("c", (record,))
    data = _strict_json(dumps_json(result.to_dict()))
    written = data["checks"][0]
    assert written["max_abs_error"] == "inf" and written["tolerance"] == "-inf"
    assert written["max_rel_error"] == "nan" and written["worst"]["got"] == "inf"
    assert written["details"] == {"ratio": 0.5, "steps": [1e-6, "nan"], "n": 3}
    back = CheckRecord.from_dict(written)
    assert back.max_abs_error == math.inf and back.tolerance == -math.inf
    assert math.isnan(back.max_rel_error) and back.worst.got == math.inf
    assert back.worst.index == (1,)


CASES = """
import numpy as np
import jax.numpy as jnp
from harness import case

# fn and reference overflow to opposite ends of float64: the value error is inf.
case("overflow", fn=lambda x: 1e308 + float(np.sum(x**2)),
     reference=lambda x: -1e308 + jnp.sum(x**2), args=(np.array([3.0, 4.0]),))
case("fine", fn=lambda x: float(np.sum(x**2)), reference=lambda x: jnp.sum(x**2),
     args=(np.array([3.0, 4.0]),))
"""


def test_results_json_is_written_when_a_record_holds_inf(tmp_path, capsys):
    (tmp_path / "cases.py").write_text(textwrap.dedent(CASES))
    out = tmp_path / "out"
    status = main(["run", str(tmp_path / "cases.py"), "--no-report", "--report-dir", str(out)])
    assert status == 1
    data = _strict_json((out / "results.json").read_text())
    by_name = {r["name"]: r for r in data["results"]}
    assert by_name["overflow"]["checks"][0]["max_abs_error"] == "inf"
    assert by_name["fine"]["verdict"] == "pass"
