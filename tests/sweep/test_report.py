"""The error-versus-h report: files exist, parse, and the HTML stands on its own."""

import json
import re
import textwrap

import pytest

from harness import case, oracle, scratch
from harness.cli.main import main
from harness.sweep.measure import sweep_case
from harness.sweep.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    import jax.numpy as jnp
    import numpy as np

    cases = [
        case(
            "function_2/x=(3,4)",
            fn=scratch.function_2,
            reference=oracle.function_2,
            args=(np.array([3.0, 4.0]),),
        ),  # fmt: skip
        case(
            "cee/label=2",
            fn=scratch.cross_entropy_error,
            reference=oracle.cross_entropy_error,
            args=(np.array([0.1, 0.3, 0.6]), np.array(2)),
            wrt=0,
        ),
        case(
            "exp",
            fn=lambda x: float(np.sum(np.exp(x))),
            reference=lambda x: jnp.sum(jnp.exp(x)),
            args=(np.array([0.0]),),
        ),
    ]
    folder = tmp_path_factory.mktemp("report")
    write_report(cases, folder, ["test"])
    return folder


def test_every_file_is_written(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert {"report.md", "report.html", "sweep.json", "summary.png"} <= names
    assert "function_2_descent.png" in names
    assert sum(n.startswith("case_") for n in names) == 3
    assert not [n for n in names if n.endswith(".tmp")]


def test_pngs_are_pngs(report_dir):
    for png in report_dir.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC, png.name


def test_sweep_json_holds_every_point(report_dir):
    data = json.loads((report_dir / "sweep.json").read_text())
    assert data["format"] == "gradcheck-sweep"
    curves = [c for s in data["cases"] for c in s["curves"]]
    assert len(curves) == 3 * 2 * 3  # cases x dtypes x schemes
    for curve in curves:
        assert len(curve["h"]) == len(curve["error"]) == len(curve["model"]) >= 61
        assert curve["mode"] == "entries"


def test_html_is_self_contained(report_dir):
    page = (report_dir / "report.html").read_text()
    sources = re.findall(r'\bsrc\s*=\s*"([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    links = re.findall(r'\bhref\s*=\s*"([^"]*)"', page)
    assert links and all(link.startswith("#") for link in links)  # within the page only
    assert not re.search(r"<(?:link|script)\b", page)
    assert page.count("<img") == 5  # summary, descent, three cases
    assert "<table>" in page


def test_markdown_has_tables_and_generated_explanation(report_dir):
    text = (report_dir / "report.md").read_text()
    assert "| case" in text and "Which scheme won" in text
    data = json.loads((report_dir / "sweep.json").read_text())
    (exp_case,) = [s for s in data["cases"] if s["name"] == "exp"]
    forward = next(c for c in exp_case["curves"] if c["scheme"] == "forward")
    # the per-argument table quotes the measured slope, not a hand-written number
    section = text.split("### Best errors per argument, float64", 1)[1].split("\n<a id=", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|") and not line.startswith("|--")
    ]
    header, body = rows[0], rows[1:]
    (exp_row,) = [r for r in body if r[header.index("case")] == "exp"]
    slope_text = exp_row[header.index("forward slope")].split()[0]
    assert slope_text == f"{forward['truncation']['slope']:.2f}"
    # exp's forward truncation error is h f''/2: slope 1 in log-log
    assert 0.9 <= float(slope_text) <= 1.1


def test_gradcheck_report_command(tmp_path, capsys):
    case_file = tmp_path / "one_case.py"
    case_file.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from harness import case, oracle, scratch
            case("f1", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(5.0),))
            """
        )
    )
    out_dir = tmp_path / "out"
    assert main(["report", str(case_file), "--report-dir", str(out_dir)]) == 0
    assert (out_dir / "report.html").exists() and (out_dir / "sweep.json").exists()
    assert "report.html" in capsys.readouterr().out


def test_sweep_is_deterministic():
    import numpy as np

    made = case(
        "f2", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([3.0, 4.0]),)
    )
    first, second = sweep_case(made), sweep_case(made)
    assert [c.to_dict() for c in first.curves] == [c.to_dict() for c in second.curves]


def _report_bytes(folder):
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    sweep = json.loads(files.pop("sweep.json"))
    sweep.pop("timings")
    files.pop("report.md"), files.pop("report.html")  # they quote the generation time
    return files, sweep


def test_helper_process_draws_the_same_report(tmp_path):
    """Figures drawn in the spawned helper (as the command line does) are the same bytes, in the
    same order on the page, as figures drawn in this process."""
    import numpy as np

    cases = [
        case("small", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(5.0),)),
        case(
            "function_2/x=(3,4)",
            fn=scratch.function_2,
            reference=oracle.function_2,
            args=(np.array([3.0, 4.0]),),
        ),
    ]
    here, helper = tmp_path / "here", tmp_path / "helper"
    write_report(cases, here, ["test"])
    write_report(cases, helper, ["test"], helper_process=True)
    assert _report_bytes(here) == _report_bytes(helper)
    order = re.findall(r'<img alt="([^"]*)"', (helper / "report.html").read_text())
    assert order == [
        "Every forward and central curve",
        "small",
        "function_2/x=(3,4)",
        "function_2 and gradient descent",
    ]


def test_a_dead_helper_falls_back_to_drawing_here(tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    import numpy as np

    from harness.sweep import report as analysis

    class Dead:
        def submit(self, fn, *args):
            raise BrokenProcessPool("helper died")

        def shutdown(self, cancel_futures=False):
            pass

    monkeypatch.setattr(analysis, "_figure_pool", lambda helper: Dead())
    made = case("f1", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(5.0),))
    write_report([made], tmp_path, ["test"], helper_process=True)
    assert (tmp_path / "case_f1.png").read_bytes()[:8] == PNG_MAGIC
