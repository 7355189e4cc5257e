"""`econet circuit run` on bad input: one-line error naming the file and problem, exit code 2, and no
output file left behind; plus a good run writing exactly Circuitscape's file set."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "data" / "circuitscape"
CASE = "input/raster/pairwise/2/sgVerify2.ini"


@pytest.fixture()
def work(tmp_path) -> Path:
    """A copy of one Circuitscape case (sgVerify2) with paths as in the suite."""
    shutil.copytree(SUITE / "input/raster/pairwise/2", tmp_path / "input/raster/pairwise/2")
    (tmp_path / "output").mkdir()
    return tmp_path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def run(capsys, monkeypatch):
    """Run `econet circuit run` through the CLI entry point in-process, in the case folder."""
    from econet.cli.main import main

    def _run(work: Path, ini: str = CASE, *extra: str) -> Result:
        monkeypatch.chdir(work)
        code = 0
        try:
            main(["circuit", "run", "--quiet", ini, *extra])
        except SystemExit as exc:
            code = exc.code or 0
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return _run


def outputs(work: Path) -> list[str]:
    return sorted(p.name for p in (work / "output").iterdir())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_good_run_writes_circuitscape_files(work, run):
    p = run(work)
    assert p.returncode == 0, p.stderr
    names = outputs(work)
    assert "sgVerify2_resistances.out" in names and "sgVerify2_resistances_3columns.out" in names
    assert "sgVerify2_cum_curmap.asc" in names and "sgVerify2_curmap_1_3.asc" in names
    assert "sgVerify2_voltmap_4_5.asc" in names and "sgVerify2.out" in names
    assert not [n for n in names if n.startswith(".")]          # no temporaries left


def assert_bad(p, *words):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    msg = p.stderr.strip()
    assert msg.startswith("error:") and "\n" not in msg and "Traceback" not in msg, msg
    for w in words:
        assert w in msg, msg


def test_grid_header_disagrees(work, run):
    edit(work / "input/raster/pairwise/2/polygons.asc", "ncols", "ncols 6\nxx")
    f = work / "input/raster/pairwise/2/polygons.asc"
    lines = f.read_text().splitlines()
    f.write_text("\n".join([ln for ln in lines if not ln.startswith("xx")]) + "\n")
    p = run(work)
    assert_bad(p, "polygons.asc")
    assert outputs(work) == []


def test_extent_disagrees(work, run):
    edit(work / "input/raster/pairwise/2/points.asc", "xllcorner", "xllcorner 500\n#")
    f = work / "input/raster/pairwise/2/points.asc"
    f.write_text("\n".join(ln for ln in f.read_text().splitlines() if not ln.startswith("#")) + "\n")
    p = run(work)
    assert_bad(p, "points.asc", "extent")
    assert outputs(work) == []


def test_negative_resistance(work, run):
    ini = work / CASE
    edit(ini, "habitat_map_is_resistances = False", "habitat_map_is_resistances = True")
    f = work / "input/raster/pairwise/2/cellmap.asc"
    lines = f.read_text().splitlines()
    row = lines[6].split()
    row[0] = "-3"
    lines[6] = " ".join(row)
    f.write_text("\n".join(lines) + "\n")
    p = run(work)
    assert_bad(p, "cellmap.asc", "negative")
    assert outputs(work) == []


def test_nan_in_grid(work, run):
    f = work / "input/raster/pairwise/2/cellmap.asc"
    lines = f.read_text().splitlines()
    row = lines[7].split()
    row[1] = "nan"
    lines[7] = " ".join(row)
    f.write_text("\n".join(lines) + "\n")
    p = run(work)
    assert_bad(p, "cellmap.asc", "NaN")


def test_focal_point_off_grid(work, run):
    pts = work / "input/raster/pairwise/2/points.txt"
    pts.write_text("1 0.5 0.5\n2 1000 1000\n")
    edit(work / CASE, "points.asc", "points.txt")
    p = run(work)
    assert_bad(p, "points.txt", "outside")
    assert outputs(work) == []


def test_focal_points_all_in_nodata(work, run):
    f = work / "input/raster/pairwise/2/cellmap.asc"
    lines = f.read_text().splitlines()
    lines[6:] = [" ".join("-9999" for _ in ln.split()) if i == 0 else ln for i, ln in enumerate(lines[6:])]
    pts = work / "input/raster/pairwise/2/points.txt"
    x0 = float(lines[2].split()[1])
    y0 = float(lines[3].split()[1])
    cs = float(lines[4].split()[1])
    nrows = int(lines[1].split()[1])
    top = y0 + cs * nrows - cs / 2
    pts.write_text(f"1 {x0 + cs / 2} {top}\n2 {x0 + 1.5 * cs} {top}\n")
    f.write_text("\n".join(lines) + "\n")
    ini = work / CASE
    edit(ini, "points.asc", "points.txt")
    edit(ini, "use_polygons = True", "use_polygons = False")
    p = run(work)
    assert_bad(p, "points.txt", "nodata")
    assert outputs(work) == []


def test_missing_file(work, run):
    (work / "input/raster/pairwise/2/cellmap.asc").unlink()
    p = run(work)
    assert_bad(p, "habitat_file", "cellmap.asc")
    assert outputs(work) == []


def test_missing_ini(work, run):
    assert_bad(run(work, "nowhere.ini"), "nowhere.ini", "not found")


@pytest.mark.parametrize("line,words", [("scenario = sideways", ["scenario", "sideways"]),
                                        ("this line has no equals sign", ["row", "key = value"]),
                                        ("connect_four_neighbors_only = maybe", ["connect_four_neighbors_only"])])
def test_malformed_ini(work, run, line, words):
    ini = work / CASE
    ini.write_text(ini.read_text() + "\n" + line + "\n")
    p = run(work)
    assert_bad(p, "sgVerify2.ini", *words)
    assert outputs(work) == []


def test_debug_raises_instead_of_one_line(work, run):
    from econet.errors import EconetError
    (work / "input/raster/pairwise/2/cellmap.asc").unlink()
    with pytest.raises(EconetError, match="cellmap.asc"):
        run(work, CASE, "--debug")
