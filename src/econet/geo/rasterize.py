"""Put vectors and other rasters onto one grid: make a grid, burn polygons/lines/points into it, warp rasters onto it."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from affine import Affine
from pyproj import CRS

from econet.errors import EconetError
from econet.geo.raster import Raster

RESAMPLING = ("nearest", "bilinear", "cubic", "average", "mode", "min", "max")


def grid_from_bounds(bounds: tuple[float, float, float, float], cell_size: float, crs: CRS | str | int,
                     fill: float = np.nan) -> Raster:
    """An empty north-up grid covering `bounds` (left, bottom, right, top, in `crs` units), snapped outward
    to whole multiples of `cell_size` so that grids built for overlapping regions line up."""
    if not cell_size > 0:
        raise EconetError(f"cell size must be positive, got {cell_size}")
    left, bottom, right, top = bounds
    if not (right > left and top > bottom):
        raise EconetError(f"empty bounds {bounds}")
    left = math.floor(left / cell_size) * cell_size
    bottom = math.floor(bottom / cell_size) * cell_size
    right = math.ceil(right / cell_size) * cell_size
    top = math.ceil(top / cell_size) * cell_size
    cols = int(round((right - left) / cell_size))
    rows = int(round((top - bottom) / cell_size))
    transform = Affine(cell_size, 0.0, left, 0.0, -cell_size, top)
    from rasterio.crs import CRS as RioCRS
    return Raster(data=np.full((rows, cols), fill, dtype=np.float64), transform=transform,
                  crs=RioCRS.from_user_input(CRS.from_user_input(crs).to_wkt()))


def projected_bounds(bounds_lonlat: tuple[float, float, float, float], crs: CRS | str | int,
                     densify: int = 50) -> tuple[float, float, float, float]:
    """Bounds in `crs` of a lon/lat box (west, south, east, north), edges densified so curved edges are covered."""
    from pyproj import Transformer
    t = Transformer.from_crs(4326, CRS.from_user_input(crs), always_xy=True)
    return t.transform_bounds(*bounds_lonlat, densify_pts=densify)


def _as_geoseries(shapes, crs_like):
    import geopandas as gpd
    if isinstance(shapes, gpd.GeoDataFrame):
        shapes = shapes.geometry
    if isinstance(shapes, gpd.GeoSeries):
        if shapes.crs is None:
            raise EconetError("cannot rasterize: the layer has no coordinate reference system")
        if crs_like is not None and CRS.from_user_input(shapes.crs) != CRS.from_user_input(crs_like.to_wkt()):
            shapes = shapes.to_crs(crs_like.to_wkt())
        return shapes
    return gpd.GeoSeries(list(shapes))  # bare geometries: assumed to be in the grid's CRS


def rasterize(shapes, like: Raster, values: Iterable[float] | str | float = 1, *, fill: float = 0,
              all_touched: bool = False, dtype: str = "float64") -> np.ndarray:
    """Burn geometries into an array on `like`'s grid.

    `shapes` is a GeoDataFrame/GeoSeries (reprojected to the grid's CRS) or bare geometries in it;
    `values` a constant, a column name or one value per shape. Later shapes overwrite earlier ones.
    A polygon takes the cells whose centre it covers (or every cell it touches with `all_touched`);
    lines and points take every cell they pass through, so thin features never vanish.
    """
    import geopandas as gpd
    from rasterio import features

    geoms = _as_geoseries(shapes, like.crs)
    if isinstance(values, str):
        if not isinstance(shapes, gpd.GeoDataFrame) or values not in shapes.columns:
            raise EconetError(f"no column '{values}' to rasterize", field=values)
        vals = np.asarray(shapes[values], dtype=float)
    elif np.isscalar(values):
        vals = np.full(len(geoms), float(values))
    else:
        vals = np.asarray(list(values), dtype=float)
        if len(vals) != len(geoms):
            raise EconetError(f"{len(vals)} values for {len(geoms)} shapes")
    out = np.full(like.shape, fill, dtype=dtype)
    pairs = [(g, v) for g, v in zip(geoms, vals) if g is not None and not g.is_empty]
    if not pairs:
        return out
    return features.rasterize(pairs, out_shape=like.shape, transform=like.transform, fill=fill,
                              all_touched=all_touched, dtype=dtype, out=out)


def cell_area(like: Raster) -> float:
    """Area of one cell in squared CRS units (square metres on a projected metric grid)."""
    return abs(like.transform.a * like.transform.e - like.transform.b * like.transform.d)


def warp(src: Raster, like: Raster, resampling: str = "nearest") -> Raster:
    """`src` resampled onto `like`'s grid and CRS (rasterio.warp.reproject); cells without data become NaN.

    Use "nearest" or "mode" for classes (land cover), "bilinear" or "cubic" for continuous fields
    (elevation), "average" when going to coarser cells.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    if resampling not in RESAMPLING:
        raise EconetError(f"unknown resampling '{resampling}' (use one of {', '.join(RESAMPLING)})")
    if src.crs is None:
        raise EconetError("cannot warp a raster without a coordinate reference system", path=src.path)
    if like.crs is None:
        raise EconetError("the target grid has no coordinate reference system")
    dst = np.full(like.shape, np.nan, dtype=np.float64)
    reproject(source=np.ascontiguousarray(src.data, dtype=np.float64), destination=dst,
              src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
              dst_transform=like.transform, dst_crs=like.crs, dst_nodata=np.nan,
              resampling=getattr(Resampling, resampling))
    return like.with_data(dst)
