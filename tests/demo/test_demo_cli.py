"""`econet demo` end to end: every file of the region and circuit steps, valid GeoTIFFs and PNG, all-or-nothing."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import econet.demo as demo_pkg
from econet.cli.main import main

MY_FILES = ["resistance.tif", "landcover.tif", "elevation.tif", "protected_areas.gpkg", "pas_left_out.csv",
            "current.tif", "pa_resistances.csv", "connectivity_map.png", "summary.json"]
GEOTIFFS = ["resistance.tif", "landcover.tif", "elevation.tif", "current.tif"]


def _my_steps():
    return [importlib.import_module("econet.demo.steps.10_region"),
            importlib.import_module("econet.demo.steps.20_circuit")]


def _run_cli(out: Path, monkeypatch) -> str:
    """`econet demo --out OUT` through the CLI entry point, limited to the region and circuit steps (the
    other capabilities' steps have their own tests); returns what it printed on stdout."""
    import io
    from contextlib import redirect_stdout

    from econet.cli import console
    monkeypatch.setattr(demo_pkg, "step_modules", _my_steps)
    buf = io.StringIO()
    # the private attribute: `file` is a property, and restoring it would pin the console to this
    # test's captured stdout for every later test
    monkeypatch.setattr(console.out, "_file", buf)
    with redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(["demo", "--out", str(out), "--quiet"])
    assert e.value.code in (0, None)
    return buf.getvalue()


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        out = tmp_path_factory.mktemp("demo") / "econet-demo"
        return out, _run_cli(out, mp)
    finally:
        mp.undo()


def test_demo_writes_every_output_and_says_where(demo_out):
    out, printed = demo_out
    for name in MY_FILES:
        assert (out / name).is_file(), name
        assert str(out / name) in printed.replace("\n", "")   # it tells where it wrote each output
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temporaries left


def test_geotiffs_open_with_crs_on_one_grid(demo_out):
    import rasterio
    out, _ = demo_out
    profiles = {}
    for name in GEOTIFFS:
        with rasterio.open(out / name) as src:
            assert src.crs is not None and src.crs.is_projected
            assert "Lambert_Azimuthal_Equal_Area" in src.crs.to_wkt() or "laea" in src.crs.to_proj4()
            profiles[name] = (src.shape, tuple(src.transform))
            data = src.read(1, masked=True)
            assert data.count() > 100_000
    assert len(set(profiles.values())) == 1
    with rasterio.open(out / "current.tif") as src:
        cur = src.read(1, masked=True)
        assert cur.max() > 0


def test_png_map_is_a_valid_image(demo_out):
    import matplotlib.image as mpimg
    out, _ = demo_out
    assert (out / "connectivity_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(out / "connectivity_map.png")
    assert img.shape[0] > 1000 and img.shape[1] > 1000
    assert img[..., :3].std() > 0.1                      # not a blank canvas


def test_pair_table_and_summary(demo_out):
    import csv
    out, _ = demo_out
    rows = list(csv.DictReader(open(out / "pa_resistances.csv", encoding="utf-8")))
    n = len(json.loads((out / "summary.json").read_text())["10_region"]["protected_areas"])
    assert len(rows) == n * (n - 1) // 2
    tb = [r for r in rows if r["transboundary"] == "yes"]
    assert tb and all(r["iso3_1"] != r["iso3_2"] for r in tb)
    assert all(float(r["effective_resistance"]) > 0 for r in rows if r["connected"] == "yes")
    # nearby PAs are better connected than distant ones: Land of the Leopard - Kedrovaya Pad (adjacent)
    # versus Land of the Leopard - Bolshekhekhtsirsky (about 600 km apart)
    r = {(x["name_1"], x["name_2"]): float(x["effective_resistance"]) for x in rows}
    assert r[("Land of the Leopard National Park", "Kedrovaya Pad Nature Reserve")] < \
        r[("Land of the Leopard National Park", "Bolshekhekhtsirsky Nature Reserve")]
    left = list(csv.DictReader(open(out / "pas_left_out.csv", encoding="utf-8")))
    assert left and all(x["reason"] for x in left)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["20_circuit"]["linear_solves"] <= summary["20_circuit"]["focal_regions"]


@pytest.mark.slow
def test_region_and_circuit_steps_are_deterministic(demo_out, tmp_path, monkeypatch):
    """A second run gives byte-identical tables and equal rasters."""
    import rasterio
    out, _ = demo_out
    _run_cli(tmp_path / "again", monkeypatch)
    for name in ("pa_resistances.csv", "pas_left_out.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()
    for name in GEOTIFFS:
        with rasterio.open(out / name) as a, rasterio.open(tmp_path / "again" / name) as b:
            assert np.array_equal(a.read(1), b.read(1))


def test_failing_demo_leaves_no_partial_files(tmp_path, monkeypatch, capsys):
    """A step failing after the region step was written: no output appears, old files stay untouched."""
    import types

    from econet.errors import EconetError

    def boom(ctx):
        ctx.output("half_written.csv").write_text("partial")
        raise EconetError("simulated bad input", path="somewhere.csv")

    failing = types.SimpleNamespace(ORDER=15, TITLE="fails", run=boom, __name__="econet.demo.steps.15_fail")
    monkeypatch.setattr(demo_pkg, "step_modules", lambda: [_my_steps()[0], failing])
    fresh = tmp_path / "fresh"
    with pytest.raises(SystemExit) as e:
        main(["demo", "--out", str(fresh), "--quiet"])
    assert e.value.code == 2
    assert "somewhere.csv" in capsys.readouterr().err
    assert not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        main(["demo", "--out", str(existing), "--quiet"])
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


def test_demo_help_lists_options():
    proc = subprocess.run([sys.executable, "-m", "econet.cli.main", "demo", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    for opt in ("--out", "--db", "--quiet"):
        assert opt in proc.stdout


def test_rerun_into_the_same_folder_replaces_outputs(tmp_path, monkeypatch):
    """`make demo` twice: files and folder outputs of the first run are replaced, nothing else is touched."""
    import types

    def write(ctx):
        ctx.output("table.csv").write_text(f"run,{ctx.results.get('run')}\n")
        folder = ctx.output("maps")
        folder.mkdir()
        (folder / "a.txt").write_text(str(ctx.results.get("run")))
        return {}

    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    for run in (1, 2):
        step = types.SimpleNamespace(ORDER=1, TITLE="t", __name__="econet.demo.steps.01_t",
                                     run=lambda ctx, run=run: (ctx.results.update(run=run), write(ctx))[1])
        monkeypatch.setattr(demo_pkg, "step_modules", lambda step=step: [step])
        ctx = demo_pkg.run_demo(out, "sqlite://")
        assert (out / "table.csv").read_text() == f"run,{run}\n"
        assert (out / "maps" / "a.txt").read_text() == str(run)
    assert sorted(p.name for p in out.iterdir()) == ["maps", "mine.txt", "summary.json", "table.csv"]
    assert ctx.files[-1] == out / "summary.json"


def test_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "a_file.txt"
    target.write_text("x")
    with pytest.raises(SystemExit) as e:
        main(["demo", "--out", str(target)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "a_file.txt" in err and "not a folder" in err and "Traceback" not in err
