"""The error-versus-h report: files exist, parse, and the HTML stands on its own."""

import json
import re
import textwrap
from html.parser import HTMLParser

import numpy as np
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
        case(  # steps of 1e-3 and more leave log's domain
            "log/x=1e-3",
            fn=lambda x: float(np.sum(np.log(x))),
            reference=lambda x: jnp.sum(jnp.log(x)),
            args=(np.array([1e-3]),),
        ),
    ]
    folder = tmp_path_factory.mktemp("report")
    write_report(cases, folder, ["test"])
    return folder


def test_every_file_is_written(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert {"report.md", "report.html", "sweep.json", "summary.png"} <= names
    assert "function_2_descent.png" in names
    assert sum(n.startswith("case_") for n in names) == 4
    assert not [n for n in names if n.endswith(".tmp")]


def test_pngs_are_pngs(report_dir):
    for png in report_dir.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC, png.name


def test_sweep_json_holds_every_point(report_dir):
    data = json.loads((report_dir / "sweep.json").read_text())
    assert data["format"] == "gradcheck-sweep"
    curves = [c for s in data["cases"] for c in s["curves"]]
    assert len(curves) == 4 * 2 * 3  # cases x dtypes x schemes
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
    assert page.count("<img") == 6  # summary, descent, four cases
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


class _Page(HTMLParser):
    """The parts of report.html the structure tests read: ids, links, figures, boxes."""

    def __init__(self):
        super().__init__()
        self.ids, self.links = [], []
        self.figures = []  # [has img, caption text]
        self.boxes = []  # one list of table rows (cell texts) per recommended-step box
        self._stack, self._caption, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append((tag, attrs.get("class", "")))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "figure":
            self.figures.append([False, ""])
        elif tag == "img" and self.figures:
            self.figures[-1][0] = True
        elif tag == "figcaption":
            self._caption = []
        elif tag == "div" and "box" in attrs.get("class", "").split():
            self.boxes.append([])
        elif tag == "tr" and self._in("box"):
            self.boxes[-1].append([])
        elif tag in ("td", "th") and self._in("box"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self.figures[-1][1] = "".join(self._caption)
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self.boxes[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def _in(self, cls):
        return any(cls in c.split() for t, c in self._stack if t == "div")


@pytest.fixture(scope="module")
def page(report_dir):
    parsed = _Page()
    parsed.feed((report_dir / "report.html").read_text())
    return parsed


def test_contents_links_resolve_to_ids(page):
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"
    internal = [link[1:] for link in page.links if link.startswith("#")]
    assert internal and set(internal) <= set(page.ids)
    # the contents link the summary, the overall box, every case and every table
    for anchor in ("summary", "recommended", "cases", "behaviour", "tables", "descent"):
        assert anchor in internal, anchor
    assert sum(a.startswith("case-") for a in internal) == 4


def test_every_plot_has_a_caption(page, report_dir):
    assert len(page.figures) == 6  # summary, four cases, descent
    for has_image, caption in page.figures:
        assert has_image and len(caption) > 40, caption
    captions = [c for _, c in page.figures]
    assert sum("checker's default steps" in c for c in captions) == 5  # the cases and summary
    # each case's caption counts its non-finite points as sweep.json has them
    data = json.loads((report_dir / "sweep.json").read_text())
    for swept in data["cases"]:
        lost = sum(e is None for c in swept["curves"] for e in c["error"])
        (caption,) = [c for c in captions if f"differences of {swept['name']} " in c]
        if lost:
            assert f"{lost} points" in caption and "left the function's domain" in caption
        else:
            assert "no non-finite point" in caption
    assert any("log/x=1e-3" in c and "points" in c for c in captions)


NUMBER = re.compile(r"^\d\.\de[-+]\d\d")


def test_recommended_step_boxes_hold_the_four_steps_with_numbers(page):
    # the overall box, then one per case
    assert len(page.boxes) == 1 + 4
    for box in page.boxes[1:]:
        header, *rows = box
        for column in ("measured best h", "model's best h", "checker's h", "error at 1e-4"):
            assert column in header, column
        assert len(rows) == 6  # three schemes, two dtypes
        for row in rows:
            cells = dict(zip(header, row, strict=True))
            for column in ("measured best h", "model's best h", "checker's h"):
                assert NUMBER.match(cells[column]), (column, cells[column])
            for column in ("lowest error", "checker's error", "error at 1e-4"):
                assert NUMBER.match(cells[column]) or cells[column] == "not finite", column
            # the checker's step as the checker computes it: eps^(1/3) central, eps^(1/2) else
            eps = float(np.finfo(cells["dtype"]).eps)
            power = 1 / 3 if cells["scheme"] == "central" else 1 / 2
            assert cells["checker's h"] == f"{eps**power:.1e}"
    overall_header, *overall = page.boxes[0]
    assert "checker's h" in overall_header and "1e-4: × lowest" in overall_header
    assert [r[:2] for r in overall][:1] == [["central", "float64"]]


def test_numbers_do_not_wrap(report_dir):
    page = (report_dir / "report.html").read_text()
    assert re.search(r"td\.num[^{]*\{[^}]*white-space:\s*nowrap", page)
    # every cell holding an h or an error is a number cell
    cells = re.findall(r"<td( class=\"num\")?>(\d\.\de[-+]\d\d)", page)
    assert cells and all(cls for cls, _ in cells)


def test_summary_comes_first_and_states_the_lesson(report_dir):
    page = (report_dir / "report.html").read_text()
    order = [page.index(f'id="{a}"') for a in ("contents", "summary", "recommended", "cases")]
    assert order == sorted(order)
    summary = page[page.index('id="summary"') : page.index('id="recommended"')]
    assert "checker" in summary and "1e-4" in summary
