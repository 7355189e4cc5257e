"""The demo region on the real data: grid and CRS, resistance per class, PAs on both sides, left-out list."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from pyproj import CRS

from econet.demo.region import (DEMO_BOUNDS, ELEVATION_TIF, FOOTPRINT, LANDCOVER_TIF, NE_GPKG, PA_FACTS, RESISTANCE_CSV,
                                build_region, data_dir, extract_demo_data, focal_points,
                                load_resistance_table)
from econet.errors import EconetError


@pytest.fixture(scope="module")
def region():
    return build_region()


def test_grid_is_equal_area_and_a_few_hundred_thousand_cells(region):
    crs = CRS.from_user_input(region.resistance.crs.to_wkt())
    assert crs.coordinate_operation.method_name == "Lambert Azimuthal Equal Area"
    assert region.resistance.cellsize == 1500.0
    rows, cols = region.resistance.shape
    assert 100_000 < rows * cols < 1_000_000
    assert region.info["valid_cells"] > 100_000
    # the grid covers the whole lon/lat box
    from pyproj import Transformer
    t = Transformer.from_crs(4326, crs, always_xy=True)
    left, bottom, right, top = region.resistance.bounds
    for lon in (DEMO_BOUNDS[0], DEMO_BOUNDS[2]):
        for lat in (DEMO_BOUNDS[1], DEMO_BOUNDS[3]):
            x, y = t.transform(lon, lat)
            assert left <= x <= right and bottom <= y <= top


def test_resistance_follows_the_table(region):
    table = load_resistance_table()
    lc = region.landcover.data
    ok = np.isfinite(region.resistance.data)
    assert np.array_equal(ok, np.isfinite(lc))
    base = region.resistance.data[ok] / (1 + region.slope_factor * region.slope.data[ok])
    expected = np.array([table[int(c)] for c in lc[ok]])
    np.testing.assert_allclose(base, expected, rtol=1e-12)
    # forests dominate this landscape, cropland and water are costly
    assert table[5] == 1 and table[12] > 10 * table[5] and table[0] >= table[12]
    classes = set(np.unique(lc[ok]).astype(int))
    assert {4, 5, 12, 0} <= classes          # broadleaf, mixed forest, cropland, Lake Khanka


def test_sea_is_nodata_and_lake_khanka_is_water(region):
    from pyproj import Transformer
    t = Transformer.from_crs(4326, region.crs, always_xy=True)
    sea_x, sea_y = t.transform(133.5, 42.2)      # Sea of Japan off Primorye
    lake_x, lake_y = t.transform(132.4, 45.0)    # middle of Lake Khanka
    (r1, r2), (c1, c2) = region.resistance.xy_to_rowcol(np.array([sea_x, lake_x]), np.array([sea_y, lake_y]))
    assert np.isnan(region.resistance.data[r1, c1])
    assert region.landcover.data[r2, c2] == 0
    assert region.resistance.data[r2, c2] >= load_resistance_table()[0]


def test_pas_on_both_sides_of_the_border(region):
    pas = region.pas
    assert {"CHN", "RUS"} <= set(pas["iso3"])
    names = set(pas["name"])
    for expected in ("Land of the Leopard National Park", "Hunchun National Nature Reserve",
                     "Xingkai Lake National Nature Reserve", "Sikhote-Alin Nature Reserve"):
        assert expected in names
    assert (pas["footprint"] == FOOTPRINT).all()
    assert (pas["cells"] > 0).all()
    assert list(pas["focal_id"]) == list(range(1, len(pas) + 1))
    # every footprint's cells carry its id; the published point's cell is the focal point
    pts = focal_points(region)
    for k in pas["focal_id"]:
        assert (pts == k).sum() == 1 and region.focal[pts == k][0] == k


def test_footprints_keep_the_published_area_unless_clipped(region):
    pas = region.pas.set_index("name")
    bikin = pas.loc["Bikin National Park"]         # inland: the circle is whole
    assert abs(bikin["footprint_km2"] - bikin["area_km2"]) / bikin["area_km2"] < 0.001
    cells_km2 = bikin["cells"] * 1.5 ** 2
    assert abs(cells_km2 - bikin["area_km2"]) / bikin["area_km2"] < 0.02
    leopard = pas.loc["Land of the Leopard National Park"]  # clipped at the Chinese border and the sea
    assert leopard["footprint_km2"] < leopard["area_km2"]
    china = region.countries[region.countries["iso3"] == "CHN"].union_all()
    assert leopard.geometry.intersection(china).area < 1e-6 * leopard.geometry.area


def test_left_out_lists_every_pa_without_a_point(region, shared):
    with open(shared / "data/protected_areas_facts/pa_facts.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    no_point = {r["name"] for r in rows if not r["lat"].strip() or not r["lon"].strip()}
    assert no_point  # the facts table has such rows
    left = region.left_out
    assert no_point <= set(left["name"])
    assert (left[left["name"].isin(no_point)]["reason"].str.contains("no published point")).all()
    assert "Northeast China Tiger and Leopard National Park" in no_point
    # nothing is both kept and left out, and nothing is lost
    assert not set(left["name"]) & set(region.pas["name"])
    assert len(left) + len(region.pas) == len(rows)


def test_build_is_deterministic(region):
    again = build_region()
    assert np.array_equal(again.resistance.data, region.resistance.data, equal_nan=True)
    assert np.array_equal(again.focal, region.focal)


def test_resistance_table_errors(tmp_path):
    src = (data_dir() / RESISTANCE_CSV).read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "r.csv"
    bad.write_text("\n".join(src[:-1]) + "\n", encoding="utf-8")        # class 16 missing
    with pytest.raises(EconetError, match=r"class\(es\) \[16\]"):
        load_resistance_table(bad)
    lines = list(src)
    lines[13] = lines[13].replace(",60,", ",-5,")                      # cropland negative
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EconetError) as e:
        load_resistance_table(bad)
    assert e.value.row == 14 and e.value.field == "resistance"
    with pytest.raises(EconetError, match="not found"):
        load_resistance_table(tmp_path / "none.csv")


def test_a_user_table_changes_the_surface(tmp_path, region):
    src = (data_dir() / RESISTANCE_CSV).read_text(encoding="utf-8").replace(",60,", ",600,")
    t = tmp_path / "r.csv"
    t.write_text(src, encoding="utf-8")
    other = build_region(table=t)
    crop = region.landcover.data == 12
    np.testing.assert_allclose(other.resistance.data[crop], 10 * region.resistance.data[crop])


def test_shipped_data_regenerates_from_shared(tmp_path, shared):
    """The clipped inputs in the repository are exactly what extract_demo_data makes from ../shared."""
    from econet.geo.raster import read_raster
    from econet.geo.vector import read_vector
    out = extract_demo_data(shared / "data", tmp_path)
    a, b = read_raster(out / LANDCOVER_TIF), read_raster(data_dir() / LANDCOVER_TIF)
    assert np.array_equal(a.data, b.data, equal_nan=True) and a.transform == b.transform
    a, b = read_raster(out / ELEVATION_TIF), read_raster(data_dir() / ELEVATION_TIF)
    assert np.array_equal(a.data, b.data, equal_nan=True) and a.transform == b.transform
    for layer in ("countries", "boundary_lines", "rivers", "lakes"):
        assert len(read_vector(out / NE_GPKG, layer)) == len(read_vector(data_dir() / NE_GPKG, layer))
    assert (out / PA_FACTS).read_bytes() == (data_dir() / PA_FACTS).read_bytes()
