"""Least-cost corridors with Linkage Mapper semantics, border crossings, pinch points and the CLI."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from econet.connectivity.corridors import TABLE_COLUMNS, least_cost_corridors
from econet.geo.raster import Raster, read_raster, write_raster

SIZE = 100.0


def _landscape():
    """A valley (resistance 1) through hills (5), cut by a ridge (50) with a 3-cell gap: a pinch point."""
    data = np.full((60, 80), 5.0)
    data[28:33, :] = 1.0
    data[:, 40] = 50.0
    data[29:32, 40] = 1.0
    r = Raster(data, Affine(SIZE, 0, 0, 0, -SIZE, 6000), None)
    cores = gpd.GeoDataFrame({"id": [1, 2, 3]},
                             geometry=[shapely.box(200, 2000, 1200, 4000), shapely.box(6800, 2000, 7800, 4000),
                                       shapely.box(3000, 100, 5000, 600)], crs="EPSG:3035")
    countries = gpd.GeoDataFrame({"iso": ["AAA", "BBB"]},
                                 geometry=[shapely.box(0, 0, 4200, 6000), shapely.box(4200, 0, 8000, 6000)],
                                 crs="EPSG:3035")
    return r, cores, countries


def test_lcd_path_and_normalized_corridor():
    r, cores, countries = _landscape()
    res = least_cost_corridors(cores, r, id_field="id", max_distance=10_000, width=2000,
                               countries=countries, country_field="iso")
    row = {(t["from"], t["to"]): t for t in res.table}[(1, 2)]
    # along the valley: 57 steps from column 11 (x=1150) to column 68 (x=6850) at resistance 1, the gap too
    assert row["cost_distance"] == pytest.approx(57 * SIZE)
    assert row["euclidean_distance"] == pytest.approx(5600)
    assert row["cwd_to_euclidean"] == pytest.approx(row["cost_distance"] / 5600)
    assert row["cwd_to_path_length"] == pytest.approx(1.0)
    assert row["crosses_border"] is True and row["countries"] == "AAA > BBB"
    x, y = map(float, row["border_crossings"].split(";")[0].split())
    assert x == pytest.approx(4200) and 2900 <= y <= 3200          # crosses in the valley gap
    # NLCC is 0 on the least-cost path and grows away from it; truncated beyond the width
    assert np.nanmin(res.nlcc) == pytest.approx(0.0)
    assert np.isnan(res.nlcc[5, 40])                             # ridge top far from any corridor
    assert np.nanmax(res.nlcc) <= 2000 + 1e-6
    assert (np.nan_to_num(res.nlcc_full, nan=np.inf) <= np.nan_to_num(res.nlcc, nan=np.inf)).all()


def test_pinch_point_in_the_ridge_gap():
    r, cores, _ = _landscape()
    res = least_cost_corridors(cores, r, id_field="id", pairs=[(1, 2)], width=3000)
    gap = res.pinchpoints[29:32, 40]
    assert np.nanmin(gap) > 0.2                                 # all current squeezes through 3 cells
    assert np.nansum(gap) == pytest.approx(1.0, rel=0.05)
    assert res.table[0]["effective_resistance"] > 0
    assert res.table[0]["crosses_border"] is None              # no countries given


def test_no_pair_within_distance_is_an_error():
    from econet.errors import EconetError
    r, cores, _ = _landscape()
    with pytest.raises(EconetError, match="no pair"):
        least_cost_corridors(cores, r, id_field="id", max_distance=100)


def test_cli_writes_every_output(tmp_path):
    r, cores, countries = _landscape()
    from rasterio.crs import CRS
    write_raster(tmp_path / "res.tif", Raster(r.data, r.transform, CRS.from_epsg(3035)))
    cores.to_file(tmp_path / "pas.gpkg")
    countries.to_file(tmp_path / "countries.gpkg")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "econet.cli.main", "corridors", str(tmp_path / "pas.gpkg"),
                        "--resistance", str(tmp_path / "res.tif"), "--max-distance", "10km", "--out", str(out),
                        "--id-field", "id", "--countries", str(tmp_path / "countries.gpkg"),
                        "--country-field", "iso", "--format", "json", "--quiet"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for name in ("corridors.tif", "corridors_untruncated.tif", "cwd_nearest_core.tif", "pinchpoints.tif",
                 "corridors.gpkg", "corridors.csv", "map.png"):
        assert (out / name).exists(), name
    import pyogrio
    layers = {n for n, _ in pyogrio.list_layers(out / "corridors.gpkg")}
    assert {"paths", "corridors", "cores"} <= layers
    paths = gpd.read_file(out / "corridors.gpkg", layer="paths")
    assert len(paths) == 3 and paths.geometry.geom_type.eq("LineString").all()
    assert read_raster(out / "corridors.tif").crs is not None
    import csv
    with open(out / "corridors.csv", newline="") as fh:
        assert next(csv.reader(fh)) == TABLE_COLUMNS
