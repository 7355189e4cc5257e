"""`econet omniscape CONFIG.ini`: Omniscape's files in the project folder from an unchanged .ini,
on a local dask cluster; bad input gives one line and exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

SUITE = Path(__file__).resolve().parents[1] / "data" / "omniscape" / "test"


@pytest.fixture()
def work(tmp_path, monkeypatch) -> Path:
    shutil.copytree(SUITE / "input", tmp_path / "input")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(capsys, *args):
    from econet.cli.main import main
    code = 0
    try:
        main(["omniscape", "--quiet", *args])
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_omniscape_outputs(work, capsys):
    from econet.geo.raster import read_raster
    code, _, err = _run(capsys, "input/config2.ini", "--workers", "1")
    assert code == 0, err
    out = work / "test2"
    assert sorted(p.name for p in out.iterdir()) == ["config.ini", "cum_currmap.asc"]
    got = read_raster(out / "cum_currmap.asc").data
    exp = read_raster(SUITE / "output_verify" / "test2" / "cum_currmap.asc").data
    np.testing.assert_allclose(got, exp, rtol=1e-4)
    assert not (work / ".econet-omniscape").exists()      # checkpoints removed after success
    # run again: Omniscape's rule, a new folder test2_1
    code, _, _ = _run(capsys, "input/config2.ini", "--workers", "0", "--tile-size", "9")
    assert code == 0 and (work / "test2_1" / "cum_currmap.asc").exists()
    again = read_raster(work / "test2_1" / "cum_currmap.asc").data
    np.testing.assert_allclose(again, got, rtol=1e-9)


@pytest.mark.parametrize("ini,needle", [("config7.ini", "negative"), ("bad_config.ini", "missing"),
                                        ("nonexistent.ini", "not found"), ("bad_comparison1.ini", "comparison1")])
def test_cli_bad_input_one_line_exit_2(work, capsys, ini, needle):
    code, out, err = _run(capsys, f"input/{ini}", "--workers", "0")
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err
    assert not (work / "test6").exists() and not (work / "test1").exists()


def test_cli_unreachable_scheduler(work, capsys):
    code, _, err = _run(capsys, "input/config2.ini", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "scheduler" in err
