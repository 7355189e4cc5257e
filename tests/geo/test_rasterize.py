"""Rasterizing and warping onto an equal-area grid: areas, cell positions and resampled values are right."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from econet.demo.region import LANDCOVER_TIF, data_dir
from econet.errors import EconetError
from econet.geo.crs import equal_area_crs
from econet.geo.raster import Raster, read_raster
from econet.geo.rasterize import cell_area, grid_from_bounds, projected_bounds, rasterize, warp

CRS = equal_area_crs((129.5, 41.8, 137.2, 48.6))


def test_grid_snaps_outward_to_whole_cells():
    g = grid_from_bounds((-1234.0, -10.0, 2990.0, 4001.0), 1000.0, CRS)
    assert g.shape == (6, 5)
    assert g.bounds == (-2000.0, -1000.0, 3000.0, 5000.0)
    assert cell_area(g) == 1e6
    with pytest.raises(EconetError):
        grid_from_bounds((0, 0, 1, 1), 0, CRS)


@pytest.mark.parametrize("area_km2,cell", [(179.0, 1000.0), (2799.0, 1500.0), (11600.0, 2000.0)])
def test_circle_rasterizes_to_its_area(area_km2, cell):
    """A circle of a published PA area (Kedrovaya Pad, Land of the Leopard, Bikin) keeps that area on the grid."""
    r = np.sqrt(area_km2 * 1e6 / np.pi)
    circle = gpd.GeoSeries([Point(12345.0, -6789.0).buffer(r, quad_segs=64)], crs=CRS)
    grid = grid_from_bounds((-r * 1.2, -r * 1.2 - 20000, r * 1.2 + 20000, r * 1.2), cell, CRS)
    burned = rasterize(circle, grid, 1, fill=0)
    got = burned.sum() * cell_area(grid) / 1e6
    # centre-in-cell rasterization: the error is the boundary cells, about perimeter x cell / 4 at most
    tolerance = 2 * np.pi * r * cell / 4 / 1e6
    assert abs(got - area_km2) <= tolerance
    assert abs(got - area_km2) / area_km2 < 0.03


def test_points_and_lines_land_in_their_cells():
    grid = grid_from_bounds((0, 0, 10000, 10000), 1000.0, CRS)
    pts = gpd.GeoSeries([Point(2500, 7500), Point(9999, 1)], crs=CRS)
    burned = rasterize(pts, grid, [3, 4], fill=0)
    assert burned[2, 2] == 3 and burned[9, 9] == 4 and burned.sum() == 7
    line = gpd.GeoSeries([LineString([(500, 500), (9500, 500)])], crs=CRS)
    assert rasterize(line, grid, 1)[9].sum() == 10  # a thin river never vanishes


def test_rasterize_reprojects_lonlat_input():
    grid = grid_from_bounds(projected_bounds((132.0, 44.0, 133.0, 45.0), CRS), 2000.0, CRS)
    pt = gpd.GeoSeries([Point(132.5, 44.5)], crs=4326)
    burned = rasterize(pt, grid, 1)
    x, y = Transformer.from_crs(4326, CRS, always_xy=True).transform(132.5, 44.5)
    row, col = grid.xy_to_rowcol(np.array([x]), np.array([y]))
    assert burned[row[0], col[0]] == 1 and burned.sum() == 1


def test_later_shapes_win_and_bad_values_fail():
    grid = grid_from_bounds((0, 0, 10000, 10000), 1000.0, CRS)
    big = Point(5000, 5000).buffer(4000)
    small = Point(5000, 5000).buffer(1500)
    out = rasterize(gpd.GeoSeries([big, small], crs=CRS), grid, [1, 2])
    assert out[5, 5] == 2 and out[5, 1] == 1
    with pytest.raises(EconetError):
        rasterize(gpd.GeoSeries([big], crs=CRS), grid, [1, 2])
    with pytest.raises(EconetError):
        rasterize(gpd.GeoDataFrame(geometry=[big], crs=CRS), grid, "missing")


def test_warp_nearest_matches_source_lookup():
    """Every target cell takes the MODIS class of the source cell under its centre."""
    src = read_raster(data_dir() / LANDCOVER_TIF)
    grid = grid_from_bounds(projected_bounds((130.0, 42.5, 136.5, 48.0), CRS), 3000.0, CRS)
    out = warp(src, grid, "nearest")
    rng = np.random.default_rng(1)
    rows = rng.integers(0, grid.shape[0], 300)
    cols = rng.integers(0, grid.shape[1], 300)
    x, y = grid.rowcol_to_xy(rows, cols)
    lon, lat = Transformer.from_crs(CRS, 4326, always_xy=True).transform(x, y)
    sr, sc = src.xy_to_rowcol(lon, lat)
    expected = src.data[sr, sc]
    agree = np.mean((out.data[rows, cols] == expected) | (np.isnan(expected) & np.isnan(out.data[rows, cols])))
    assert agree > 0.97  # the rest sit within a hair of a source cell edge
    assert str(out.crs) == str(grid.crs)


def test_warp_bilinear_reproduces_a_linear_field():
    lon = np.arange(128.025, 138.0, 0.05)
    lat = np.arange(49.975, 40.0, -0.05)
    from affine import Affine
    from rasterio.crs import CRS as RioCRS
    src = Raster(data=np.tile(lon, (lat.size, 1)), transform=Affine(0.05, 0, 128.0, 0, -0.05, 50.0),
                 crs=RioCRS.from_epsg(4326))
    grid = grid_from_bounds(projected_bounds((130.0, 42.5, 136.5, 48.0), CRS), 5000.0, CRS)
    out = warp(src, grid, "bilinear")
    x, y = grid.rowcol_to_xy(*np.indices(grid.shape))
    true_lon, _ = Transformer.from_crs(CRS, 4326, always_xy=True).transform(x, y)
    assert np.nanmax(np.abs(out.data - true_lon)) < 0.01


def test_warp_errors():
    grid = grid_from_bounds((0, 0, 10000, 10000), 1000.0, CRS)
    with pytest.raises(EconetError, match="resampling"):
        warp(grid, grid, "lanczos9")
    no_crs = Raster(data=np.zeros((2, 2)), transform=grid.transform, crs=None)
    with pytest.raises(EconetError, match="coordinate reference system"):
        warp(no_crs, grid)
