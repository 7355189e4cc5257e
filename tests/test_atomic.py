"""Outputs appear whole or not at all."""

from __future__ import annotations

import pytest

from econet.atomic import OutputSet, atomic_path


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n1,2\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n1,2\n"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_output_set_all_or_nothing(tmp_path):
    with pytest.raises(ValueError):
        with OutputSet(tmp_path) as outs:
            outs.path("a.txt").write_text("a")
            outs.path("b.txt").write_text("b")
            raise ValueError("second step failed")
    assert list(tmp_path.iterdir()) == []
    with OutputSet(tmp_path) as outs:
        outs.path("a.txt").write_text("a")
        outs.path("sub/b.txt").write_text("b")
    assert (tmp_path / "a.txt").read_text() == "a"
    assert (tmp_path / "sub" / "b.txt").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "sub"]
