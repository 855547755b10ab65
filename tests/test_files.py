"""Report files: atomic writes, one run's files at a time, strict reading of versioned JSON."""

import json
import os
import stat
import subprocess
import sys

import pytest

from harness.files import (
    ReportFileError,
    locked_folder,
    read_versioned_json,
    write_atomic,
    write_json_atomic,
)


def test_write_atomic_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "results.json"
    write_atomic(target, "old")
    write_atomic(target, "new contents")
    assert target.read_text() == "new contents"
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]
    assert target.stat().st_mode & stat.S_IROTH  # readable by others, not mkstemp's 0600


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "results.json"
    write_atomic(target, "previous")
    with pytest.raises(ValueError):
        write_json_atomic(target, {"bad": float("nan")})  # NaN is not JSON: refused
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


PUBLISHER = """
import sys
from harness.files import publish
folder, token = sys.argv[1], sys.argv[2]
for i in range(60):
    payload = f"{token}-{i}" * 2000
    publish(folder, {"a.txt": payload, "b.txt": payload, "c.txt": payload})
"""


def test_concurrent_runs_into_one_folder_never_mix_files(tmp_path):
    folder = tmp_path / "latest"
    workers = [
        subprocess.Popen([sys.executable, "-c", PUBLISHER, str(folder), token])
        for token in ("first", "second")
    ]
    seen_mixed = 0
    while any(w.poll() is None for w in workers):
        with locked_folder(folder):
            texts = {
                (folder / n).read_text()
                for n in ("a.txt", "b.txt", "c.txt")
                if (folder / n).exists()
            }
        seen_mixed += len(texts) > 1
    assert [w.wait() for w in workers] == [0, 0]
    final = {(folder / n).read_text() for n in ("a.txt", "b.txt", "c.txt")}
    assert len(final) == 1 and seen_mixed == 0
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        ('{"format": "gradcheck-results", "version": 1, "resu', "truncated or corrupt"),
        ("\x00\x01garbage", "truncated or corrupt"),
        ('{"format": "something-else", "version": 1}', "is not a gradcheck-results file"),
        ('{"format": "gradcheck-results", "version": 99}', "version 99"),
        ("[1, 2, 3]", "is not a gradcheck-results file"),
    ],
)
def test_bad_json_files_are_rejected_with_a_remedy_and_left_untouched(tmp_path, content, needle):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    before = path.read_bytes() if content is not None else None
    with pytest.raises(ReportFileError) as info:
        read_versioned_json(path, "gradcheck-results", 1, "run `gradcheck run` to make one")
    assert needle in str(info.value) and "gradcheck run" in str(info.value)
    assert str(path) in str(info.value)
    if before is not None:
        assert path.read_bytes() == before


def test_good_json_is_read(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"format": "gradcheck-results", "version": 1, "x": [1, 2]})
    assert read_versioned_json(path, "gradcheck-results", 1, "")["x"] == [1, 2]
    assert json.loads(path.read_text())["x"] == [1, 2]
