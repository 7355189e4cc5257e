"""Vector IO: real Natural Earth layers read with their CRS; bad input gives one clear EconetError; atomic writes."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from econet.demo.region import NE_GPKG, data_dir
from econet.errors import EconetError
from econet.geo.vector import list_layers, read_vector, reproject, write_gpkg

GPKG = data_dir() / NE_GPKG


def test_reads_shipped_layers_with_crs():
    assert set(list_layers(GPKG)) == {"countries", "boundary_lines", "rivers", "lakes"}
    countries = read_vector(GPKG, "countries")
    assert countries.crs.to_epsg() == 4326
    assert {"CHN", "RUS", "PRK"} <= set(countries["iso3"])
    lakes = read_vector(GPKG, "lakes", columns=["name"])
    assert list(lakes.columns) == ["name", "geometry"]
    assert "Lake Khanka" in set(lakes["name"])


def test_topojson_without_crs_is_wgs84(shared):
    path = shared / "data/ne_admin0/world-atlas_countries-10m.topojson"
    gdf = read_vector(path, "countries", bbox=(130, 42, 131, 43))
    assert gdf.crs.to_epsg() == 4326
    assert {"China", "Russia"} <= set(gdf["name"])


def test_reproject_to_equal_area_keeps_area():
    from econet.geo.crs import equal_area_crs
    lakes = read_vector(GPKG, "lakes")
    khanka = lakes[lakes["name"] == "Lake Khanka"]
    laea = reproject(khanka, equal_area_crs((131, 44, 133.5, 46)))
    area_km2 = laea.area.iloc[0] / 1e6
    # Lake Khanka: about 4,070 km2 at mean level (Natural Earth's 1:10m outline is generalised)
    assert 3500 < area_km2 < 4700


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(EconetError) as e:
        read_vector(tmp_path / "nope.gpkg")
    assert "nope.gpkg" in str(e.value) and "not found" in str(e.value)


def test_bad_layer_lists_the_layers():
    with pytest.raises(EconetError) as e:
        read_vector(GPKG, "roads")
    msg = str(e.value)
    assert "roads" in msg and "countries" in msg and str(GPKG) in msg


def test_several_layers_need_a_name():
    with pytest.raises(EconetError, match="several layers"):
        read_vector(GPKG)


def test_missing_column_is_named():
    with pytest.raises(EconetError) as e:
        read_vector(GPKG, "rivers", columns=["name", "discharge"])
    assert e.value.field == "discharge"


def test_unreadable_and_unsupported_files(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{not json")
    with pytest.raises(EconetError, match="cannot read"):
        read_vector(bad)
    table = tmp_path / "x.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(EconetError, match="unsupported vector format"):
        read_vector(table)


def test_shapefile_without_prj_is_an_error(tmp_path):
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(500000, 4800000)], crs=32652)
    shp = tmp_path / "pts.shp"
    gdf.to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(EconetError, match="no coordinate reference system"):
        read_vector(shp)
    assert read_vector(shp, assume_crs=32652).crs.to_epsg() == 32652


def test_write_gpkg_round_trip_and_atomic(tmp_path):
    poly = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326)
    pts = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326)
    out = write_gpkg(tmp_path / "two.gpkg", {"polys": poly, "points": pts})
    assert set(list_layers(out)) == {"polys", "points"}
    assert len(read_vector(out, "points")) == 2
    # a failure while writing leaves neither the file nor a temporary behind
    with pytest.raises(Exception):
        write_gpkg(tmp_path / "bad.gpkg", {"ok": poly, "bad": "not a layer"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.gpkg"]


def test_reproject_needs_a_crs():
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0)])
    with pytest.raises(EconetError):
        reproject(gdf, 3857)
