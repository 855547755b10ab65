"""Case declaration and case-file collection."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness import case
from harness.files import relative_path
from harness.suite.collect import collect, find_case_files, is_case_file, split_source

GOOD = """
import numpy as np
from harness import case, oracle, scratch
case("good/f2", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([3.0, 4.0]),))
case("good/f1", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(5.0),))
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_collect_keeps_declaration_order_and_source_lines(tmp_path):
    _write(tmp_path, "a_good.py", GOOD)
    cases, errors = collect([tmp_path])
    assert errors == []
    assert [c.name for c in cases] == ["good/f2", "good/f1"]
    assert cases[0].source.endswith("a_good.py:4")
    assert cases[0].run().ok


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("x = 1\ndef broken(:\n", 2, "SyntaxError"),
        ("import numpy\nimport no_such_module_xyz\n", 2, "ModuleNotFoundError"),
        ("a = 1\nb = 2\nraise RuntimeError('bad case file')\n", 3, "RuntimeError: bad case file"),
    ],
    ids=["syntax", "import", "exception"],
)
def test_broken_case_file_is_reported_with_file_and_line_and_others_still_run(
    tmp_path, text, line, needle
):
    _write(tmp_path, "a_good.py", GOOD)
    _write(tmp_path, "b_broken.py", text)
    cases, errors = collect([tmp_path])
    assert [c.name for c in cases] == ["good/f2", "good/f1"]
    assert len(errors) == 1
    assert errors[0].path.endswith("b_broken.py")
    assert errors[0].line == line
    assert needle in errors[0].message
    assert f"b_broken.py:{line}" in errors[0].describe()


def test_duplicate_case_names_are_errors(tmp_path):
    _write(tmp_path, "a_good.py", GOOD)
    _write(tmp_path, "b_dup.py", GOOD.replace('"good/f1"', '"other"'))
    cases, errors = collect([tmp_path])
    assert [c.name for c in cases] == ["good/f2", "good/f1", "other"]
    assert len(errors) == 1 and "duplicate case name 'good/f2'" in errors[0].message
    assert errors[0].line == 4  # where the second declaration stands


def test_find_case_files_skips_private_files_and_rejects_missing_paths(tmp_path):
    _write(tmp_path, "a.py", "")
    _write(tmp_path, "_helpers.py", "")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "b.py", "")
    assert [p.name for p in find_case_files([tmp_path])] == ["a.py", "b.py"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_case_files([tmp_path / "missing"])


def test_is_case_file_is_the_folder_rule():
    assert is_case_file(Path("cases/losses.py"))
    assert not is_case_file(Path("cases/_helpers.py"))
    assert not is_case_file(Path("cases/.hidden.py"))
    assert not is_case_file(Path("cases/notes.txt"))


def test_split_source_and_relative_path(tmp_path, monkeypatch):
    assert split_source("cases/a.py:12") == ("cases/a.py", 12)
    assert split_source("/x/y:z/a.py:3") == ("/x/y:z/a.py", 3)
    assert split_source("cases/a.py") == ("cases/a.py", None)
    assert split_source("") == ("", None)
    monkeypatch.chdir(tmp_path)
    assert relative_path(tmp_path / "cases" / "a.py") == "cases/a.py"
    assert relative_path("cases/") == "cases"
    assert relative_path("/elsewhere/a.py") == "/elsewhere/a.py"
    assert relative_path(tmp_path / "a.py", tmp_path.parent) == f"{tmp_path.name}/a.py"


def test_case_outside_a_case_file_is_just_returned():
    from harness import oracle, scratch

    made = case("adhoc", fn=scratch.function_1, reference=oracle.function_1, args=(np.array(10.0),))
    result = made.run()
    assert result.ok and result.name == "adhoc"
    assert result.source.endswith("test_collect.py:" + made.source.rsplit(":", 1)[1])


def test_case_run_overrides_replace_the_case_options():
    from harness import oracle, scratch

    made = case(
        "adhoc", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([1.0, 2.0]),)
    )
    assert made.run(scheme="forward").checks[1].scheme == "forward"


SIBLING_A = """
import numpy as np
from harness import case, oracle, scratch


def point():
    return np.array([3.0, 4.0])


case("sibling/a", fn=scratch.function_2, reference=oracle.function_2, args=(point(),))
"""

SIBLING_B = """
from harness import case, oracle, scratch
from a_cases import point  # a helper from the sibling case file

case("sibling/b", fn=scratch.function_2, reference=oracle.function_2, args=(point(),))
"""


def test_a_helper_imported_from_a_sibling_case_file_declares_nothing_twice(tmp_path, monkeypatch):
    # Issue 14, item 17: b imports a, which runs a's case(...) again -- under b's import. (The
    # folder is put on sys.path here too, as it was for the report: the duplicates are the bug.)
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path, "a_cases.py", SIBLING_A)
    _write(tmp_path, "b_cases.py", SIBLING_B)
    cases, errors = collect([tmp_path])
    assert errors == []
    assert [(c.name, Path(split_source(c.source)[0]).name) for c in cases] == [
        ("sibling/a", "a_cases.py"),
        ("sibling/b", "b_cases.py"),
    ]
    # Collected alone, b still declares only its own case.
    assert [c.name for c in collect([tmp_path / "b_cases.py"])[0]] == ["sibling/b"]


def test_an_import_cycle_between_case_files_is_no_duplicate(tmp_path, monkeypatch):
    # Issue 14, item 22: a imports b imports a; a's cases ran twice and a named itself its dup.
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path, "a_cycle.py", SIBLING_A.replace("def point", "import b_cycle\n\n\ndef point"))
    _write(tmp_path, "b_cycle.py", SIBLING_B.replace("a_cases", "a_cycle"))
    cases, errors = collect([tmp_path])
    assert errors == []
    assert [c.name for c in cases] == ["sibling/a", "sibling/b"]


def test_a_case_declared_by_a_helper_function_belongs_to_the_file_that_calls_it(tmp_path):
    _write(
        tmp_path,
        "_helpers.py",
        """
        import numpy as np
        from harness import case, oracle, scratch

        def declare(name):
            case(name, fn=scratch.function_2, reference=oracle.function_2, args=(np.ones(2),))
        """,
    )
    _write(tmp_path, "uses.py", "from _helpers import declare\n\ndeclare('via/helper')\n")
    cases, errors = collect([tmp_path])
    assert errors == [] and [c.name for c in cases] == ["via/helper"]


def test_a_case_file_raising_keyboard_interrupt_is_a_collection_error_not_ctrl_c(tmp_path):
    # Issue 14, item 22: it was reported as "interrupted" and stopped the run.
    _write(tmp_path, "a_good.py", GOOD)
    _write(tmp_path, "b_raises.py", "x = 1\nraise KeyboardInterrupt\n")
    _write(tmp_path, "c_exits.py", "import sys\nsys.exit(3)\n")
    cases, errors = collect([tmp_path])
    assert [c.name for c in cases] == ["good/f2", "good/f1"]
    assert [(Path(e.path).name, e.line, e.message) for e in errors] == [
        ("b_raises.py", 2, "KeyboardInterrupt"),
        ("c_exits.py", 2, "SystemExit: 3"),
    ]


def test_ctrl_c_while_a_case_file_imports_still_interrupts(tmp_path):
    _write(tmp_path, "presses.py", "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n")
    with pytest.raises(KeyboardInterrupt):
        collect([tmp_path])


def test_case_files_import_their_projects_modules_and_leave_sys_path_alone(tmp_path):
    import sys

    project = tmp_path / "myproj"
    (project / "cases" / "deep").mkdir(parents=True)
    _write(
        project, "mymodel_xyz.py", "import numpy as np\n\n\ndef f(x):\n    return np.sum(x**2)\n"
    )
    text = """
    import numpy as np
    import mymodel_xyz
    from harness import case, oracle
    case("mine", fn=mymodel_xyz.f, reference=oracle.function_2, args=(np.array([3.0, 4.0]),))
    """
    _write(project / "cases", "mine.py", text)
    before = list(sys.path)
    cases, errors = collect([project / "cases"])
    assert errors == [] and [c.name for c in cases] == ["mine"] and cases[0].run().ok
    assert sys.path == before
    # With a pyproject.toml the project root is the folder holding it, however deep the case.
    (project / "pyproject.toml").write_text("[project]\nname = 'myproj'\n")
    _write(project / "cases" / "deep", "deeper.py", text.replace('"mine"', '"deeper"'))
    from harness.suite.collect import import_roots

    assert import_roots(project / "cases" / "deep" / "deeper.py") == [
        project / "cases" / "deep",
        project,
    ]
    assert [c.name for c in collect([project / "cases" / "deep"])[0]] == ["deeper"]
