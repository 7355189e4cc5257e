"""The demo region: the Ussuri / Lake Khanka / Tumen border landscape of China and Russia (and the Tumen mouth
at North Korea), built from the real land cover, elevation, borders, rivers, lakes and protected-area facts.

`build_region()` makes a resistance surface on an equal-area grid and approximate PA footprints (circles of
the published area at the published point); `extract_demo_data()` regenerates the clipped inputs shipped in
`econet/data/demo_region/` from ../shared/data (``python -m econet.demo.region ../shared/data``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable

import numpy as np

from econet.errors import EconetError
from econet.geo.raster import Raster

#: (west, south, east, north) in degrees: Tumen mouth and Hunchun in the south-west, Lake Khanka in the
#: middle, the Ussuri up to its mouth at Khabarovsk in the north, Sikhote-Alin and Bikin in the east.
DEMO_BOUNDS = (129.5, 41.8, 137.2, 48.6)
#: Default cell size (m) of the equal-area grid.
CELL_SIZE = 1500.0
#: Resistance multiplier per degree of slope: R = R_class * (1 + SLOPE_FACTOR * slope_deg).
SLOPE_FACTOR = 0.05
FOOTPRINT = "approximate circle of published area"

ISO3_BY_NUMERIC = {"156": "CHN", "643": "RUS", "408": "PRK", "410": "KOR", "392": "JPN", "496": "MNG"}
COUNTRY_NAMES = {"CHN": "China", "RUS": "Russia", "PRK": "North Korea", "KOR": "South Korea",
                 "JPN": "Japan", "MNG": "Mongolia"}

# Files inside the data folder.
NE_GPKG = "natural_earth/natural_earth.gpkg"
LANDCOVER_TIF = "modis_mcd12c1_2019/landcover_igbp_2019.tif"
ELEVATION_TIF = "etopo1/elevation_etopo1_10arcmin.tif"
PA_FACTS = "protected_areas/pa_facts.csv"
RESISTANCE_CSV = "resistance/resistance_igbp.csv"


def data_dir() -> Path:
    """The demo inputs shipped with econet."""
    return Path(str(files("econet"))) / "data" / "demo_region"


# --------------------------------------------------------------------------------------------- table
def load_resistance_table(path: str | Path | None = None) -> dict[int, float]:
    """Resistance per IGBP class (0-16) from a CSV with columns igbp_class,name,resistance[,...].

    Every class must be present once with a resistance > 0 (Circuitscape cannot use zero resistance).
    """
    path = Path(path) if path is not None else data_dir() / RESISTANCE_CSV
    if not path.exists():
        raise EconetError("file not found", path=path)
    table: dict[int, float] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(row for row in fh if not row.lstrip().startswith("#"))
        for col in ("igbp_class", "resistance"):
            if col not in (reader.fieldnames or []):
                raise EconetError(f"missing column '{col}'", path=path, field=col)
        for i, row in enumerate(reader, start=2):
            try:
                cls = int(row["igbp_class"])
            except (TypeError, ValueError):
                raise EconetError(f"not a class number: {row['igbp_class']!r}", path=path, row=i,
                                  field="igbp_class") from None
            try:
                value = float(row["resistance"])
            except (TypeError, ValueError):
                raise EconetError(f"not a number: {row['resistance']!r}", path=path, row=i,
                                  field="resistance") from None
            if not (math.isfinite(value) and value > 0):
                raise EconetError(f"resistance must be a positive number, got {value}", path=path, row=i,
                                  field="resistance")
            if cls in table:
                raise EconetError(f"class {cls} listed twice", path=path, row=i, field="igbp_class")
            table[cls] = value
    missing = sorted(set(range(17)) - set(table))
    if missing:
        raise EconetError(f"no resistance for IGBP class(es) {missing}", path=path, field="igbp_class")
    return table


def resistance_from(landcover: np.ndarray, slope_deg: np.ndarray, table: dict[int, float],
                    slope_factor: float = SLOPE_FACTOR) -> np.ndarray:
    """Resistance = class resistance x (1 + slope_factor x slope in degrees); NaN where land cover is NaN."""
    lut = np.full(256, np.nan)
    for cls, value in table.items():
        lut[cls] = value
    valid = ~np.isnan(landcover)
    out = np.full(landcover.shape, np.nan)
    out[valid] = lut[landcover[valid].astype(np.int64)]
    slope = np.nan_to_num(slope_deg, nan=0.0)
    return out * (1.0 + slope_factor * slope)


def slope_degrees(elevation: Raster) -> np.ndarray:
    """Slope in degrees from an elevation grid in metres on a projected (metre) grid."""
    z = elevation.data
    dzdy, dzdx = np.gradient(z, abs(elevation.transform.e), abs(elevation.transform.a))
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


# --------------------------------------------------------------------------------------------- PAs
def read_pa_facts(path: str | Path | None = None):
    """The protected-area facts table as a DataFrame (empty cells become NaN)."""
    import pandas as pd
    path = Path(path) if path is not None else data_dir() / PA_FACTS
    if not path.exists():
        raise EconetError("file not found", path=path)
    df = pd.read_csv(path, dtype={"iso3": str, "name": str})
    for col in ("name", "iso3", "area_km2", "lat", "lon"):
        if col not in df.columns:
            raise EconetError(f"missing column '{col}'", path=path, field=col)
    for col in ("area_km2", "lat", "lon"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def pa_footprints(facts, bounds_lonlat, crs, countries=None):
    """Split the PA facts into footprints and a left-out list.

    Footprints are circles of the published area at the published point, in the equal-area `crs`, then
    clipped to the PA's own country (a reserve cannot extend across the border or into the sea), all marked
    approximate. Returns (GeoDataFrame of footprints with focal_id 1..n, DataFrame of left-out rows with
    the reason).
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    west, south, east, north = bounds_lonlat
    kept, left = [], []
    for _, row in facts.iterrows():
        base = {"name": row["name"], "iso3": row["iso3"], "designation": row.get("designation"),
                "area_km2": row["area_km2"], "lat": row["lat"], "lon": row["lon"]}
        if pd.isna(row["lat"]) or pd.isna(row["lon"]):
            left.append({**base, "reason": "no published point (the sources give no coordinates)"})
        elif pd.isna(row["area_km2"]) or row["area_km2"] <= 0:
            left.append({**base, "reason": "no published area"})
        elif not (west <= row["lon"] <= east and south <= row["lat"] <= north):
            left.append({**base, "reason": "published point outside the demo region"})
        else:
            kept.append(row)
    cols = ["focal_id", "name", "name_native", "iso3", "country", "designation", "iucn_cat", "year",
            "area_km2", "area_as_stated", "lat", "lon", "radius_km", "footprint_km2", "footprint",
            "transboundary_partner", "source_url"]
    if not kept:
        pas = gpd.GeoDataFrame(columns=cols, geometry=[], crs=crs)
    else:
        df = pd.DataFrame(kept).reset_index(drop=True)
        pts = gpd.GeoSeries([Point(x, y) for x, y in zip(df["lon"], df["lat"])], crs=4326).to_crs(crs)
        radius = np.sqrt(df["area_km2"].to_numpy() * 1e6 / np.pi)
        circles = gpd.GeoSeries([p.buffer(r, quad_segs=64) for p, r in zip(pts, radius)], crs=crs)
        if countries is not None:
            clipped = []
            for iso, circle in zip(df["iso3"], circles):
                own = countries[countries["iso3"] == iso]
                clipped.append(circle.intersection(own.union_all()) if len(own) else circle)
            circles = gpd.GeoSeries(clipped, crs=crs)
        pas = gpd.GeoDataFrame({
            "focal_id": np.arange(1, len(df) + 1, dtype=np.int32),
            "name": df["name"], "name_native": df.get("name_native"), "iso3": df["iso3"],
            "country": [COUNTRY_NAMES.get(i, i) for i in df["iso3"]],
            "designation": df.get("designation"), "iucn_cat": df.get("iucn_cat"), "year": df.get("year"),
            "area_km2": df["area_km2"], "area_as_stated": df.get("area_as_stated"),
            "lat": df["lat"], "lon": df["lon"], "radius_km": radius / 1000.0,
            "footprint_km2": circles.area.to_numpy() / 1e6, "footprint": FOOTPRINT,
            "transboundary_partner": df.get("transboundary_partner"), "source_url": df.get("source_url"),
        }, geometry=circles, crs=crs)
        empty = pas.geometry.is_empty
        for _, r in pas[empty].iterrows():
            left.append({"name": r["name"], "iso3": r["iso3"], "designation": r["designation"],
                         "area_km2": r["area_km2"], "lat": r["lat"], "lon": r["lon"],
                         "reason": "footprint falls outside its own country's land"})
        pas = pas[~empty].reset_index(drop=True)
        pas["focal_id"] = np.arange(1, len(pas) + 1, dtype=np.int32)
    left_df = pd.DataFrame(left, columns=["name", "iso3", "designation", "area_km2", "lat", "lon", "reason"])
    return pas, left_df


# --------------------------------------------------------------------------------------------- region
@dataclass
class Region:
    """Everything the demo steps share about the landscape, on one equal-area grid."""

    bounds_lonlat: tuple[float, float, float, float]
    crs: Any
    landcover: Raster          # IGBP class per cell (NaN = sea / outside)
    elevation: Raster          # metres
    slope: Raster              # degrees
    resistance: Raster         # the resistance surface (NaN = nodata)
    focal: np.ndarray          # int32, focal_id of the PA footprint covering each cell, 0 elsewhere
    countries: Any             # GeoDataFrames in the equal-area CRS
    borders: Any
    rivers: Any
    lakes: Any
    pas: Any                   # footprints, with `cells` = number of focal cells
    left_out: Any              # DataFrame: name, iso3, ..., reason
    table: dict[int, float]
    slope_factor: float
    info: dict[str, Any] = field(default_factory=dict)


def read_layers(data: Path, crs) -> dict[str, Any]:
    """The Natural Earth layers of the demo data (countries, boundary_lines, rivers, lakes) in `crs`."""
    from econet.geo.vector import read_vector
    gpkg = data / NE_GPKG
    layers = {name: read_vector(gpkg, name, to_crs=crs)
              for name in ("countries", "boundary_lines", "rivers", "lakes")}
    if "iso3" not in layers["countries"].columns:
        raise EconetError("countries layer lacks the iso3 column", path=gpkg, field="iso3")
    return layers


def _named(crs, name: str):
    """The same CRS with a name, so GIS software shows more than "unknown"."""
    from pyproj import CRS
    wkt = crs.to_wkt()
    return CRS.from_wkt(wkt.replace('PROJCRS["unknown"', f'PROJCRS["{name}"', 1)) if wkt.startswith(
        'PROJCRS["unknown"') else crs


def build_region(data: str | Path | None = None, *, bounds: tuple[float, float, float, float] = DEMO_BOUNDS,
                 cell_size: float = CELL_SIZE, table: str | Path | dict[int, float] | None = None,
                 slope_factor: float = SLOPE_FACTOR,
                 progress: Callable[..., None] | None = None) -> Region:
    """Build the demo region from the shipped (or given) inputs: resistance surface and PA focal regions."""
    from econet.geo.crs import equal_area_crs
    from econet.geo.raster import read_raster
    from econet.geo.rasterize import grid_from_bounds, projected_bounds, rasterize, warp

    def step(i: int, what: str) -> None:
        if progress:
            progress(i, 6, what)

    data = Path(data) if data is not None else data_dir()
    if not data.is_dir():
        raise EconetError("demo data folder not found", path=data)
    table = table if isinstance(table, dict) else load_resistance_table(table or data / RESISTANCE_CSV)

    step(0, "grid")
    laea = equal_area_crs(bounds)
    lat0, lon0 = (p.value for p in laea.coordinate_operation.params[:2])
    crs = _named(laea, f"econet demo: Lambert azimuthal equal-area {lat0:g}N {lon0:g}E")
    grid = grid_from_bounds(projected_bounds(bounds, crs), cell_size, crs)
    step(1, "vectors")
    layers = read_layers(data, crs)
    countries = layers["countries"]
    land = rasterize(countries, grid, 1, fill=0, dtype="uint8").astype(bool)

    step(2, "land cover")
    lc_src = read_raster(data / LANDCOVER_TIF)
    landcover = warp(lc_src, grid, "nearest")
    lc = landcover.data
    lc[~land] = np.nan
    lc[lc > 16] = np.nan
    landcover = landcover.with_data(lc)
    landcover.nodata = 255

    step(3, "elevation")
    el_src = read_raster(data / ELEVATION_TIF)
    elevation = warp(el_src, grid, "bilinear")
    slope = elevation.with_data(slope_degrees(elevation))
    elevation.data[~land] = np.nan
    slope.data[~land] = np.nan

    step(4, "resistance")
    res = resistance_from(landcover.data, slope.data, table, slope_factor)
    resistance = grid.with_data(res)

    step(5, "protected areas")
    facts = read_pa_facts(data / PA_FACTS)
    pas, left = pa_footprints(facts, bounds, crs, countries)
    # Larger footprints first so that a small PA inside a larger one keeps its own cells.
    order = np.argsort(-pas["footprint_km2"].to_numpy(), kind="stable")
    focal = rasterize(pas.iloc[order], grid, pas["focal_id"].to_numpy()[order], fill=0, dtype="int32")
    focal[np.isnan(res)] = 0
    counts = np.bincount(focal.ravel(), minlength=len(pas) + 1)
    pas["cells"] = counts[pas["focal_id"].to_numpy()]
    none = pas["cells"] == 0
    if none.any():
        import pandas as pd
        extra = pas.loc[none, ["name", "iso3", "designation", "area_km2", "lat", "lon"]].assign(
            reason="no grid cell left (covered by another PA's footprint or smaller than a cell)")
        left = pd.concat([left, pd.DataFrame(extra)], ignore_index=True)
    step(6, "done")
    info = {"bounds_lonlat": list(bounds), "crs": laea.srs,
            "cell_size_m": cell_size, "shape": list(grid.shape),
            "cells": int(grid.shape[0] * grid.shape[1]), "valid_cells": int(np.isfinite(res).sum())}
    return Region(bounds_lonlat=tuple(bounds), crs=crs, landcover=landcover, elevation=elevation, slope=slope,
                  resistance=resistance, focal=focal, countries=countries,
                  borders=layers["boundary_lines"], rivers=layers["rivers"], lakes=layers["lakes"],
                  pas=pas, left_out=left.reset_index(drop=True), table=table, slope_factor=slope_factor,
                  info=info)


def focal_points(region: Region) -> np.ndarray:
    """One focal cell per PA (int32 grid, 0 elsewhere): the footprint cell nearest its published point.

    Used with the footprints as short-circuit regions, so each PA is one node of the circuit.
    """
    from pyproj import Transformer
    pts = np.zeros(region.focal.shape, dtype=np.int32)
    t = Transformer.from_crs(4326, region.crs, always_xy=True)
    for _, pa in region.pas.iterrows():
        k = int(pa["focal_id"])
        rows, cols = np.nonzero(region.focal == k)
        if rows.size == 0:
            continue
        x, y = t.transform(pa["lon"], pa["lat"])
        cx, cy = region.resistance.rowcol_to_xy(rows, cols)
        i = int(np.argmin((cx - x) ** 2 + (cy - y) ** 2))
        pts[rows[i], cols[i]] = k
    return pts


# --------------------------------------------------------------------------------------------- extraction
SHARED_FILES = {
    "countries": "ne_admin0/world-atlas_countries-10m.topojson",
    "boundary_lines": "ne_admin0/ne_10m_admin_0_boundary_lines_land.geojson",
    "rivers": "ne_hydro/ne_10m_rivers_lake_centerlines.geojson",
    "lakes": "ne_hydro/ne_10m_lakes.geojson",
    "landcover": "modis_mcd12c1_2019/MCD12C1.A2019001.006.2020220162300.tif",
    "elevation": "etopo1_10arcmin/earth-topography-10arcmin.nc",
    "pa_facts": "protected_areas_facts/pa_facts.csv",
}


def extract_demo_data(shared_data: str | Path, dest: str | Path | None = None, *,
                      bounds: tuple[float, float, float, float] = DEMO_BOUNDS, buffer_deg: float = 1.0) -> Path:
    """Clip the demo inputs from ../shared/data into `dest` (default: the shipped data folder).

    Vectors and rasters are clipped to `bounds` grown by `buffer_deg` degrees (so the equal-area grid,
    whose corners reach beyond the lon/lat box, is covered); the PA facts table is copied whole.
    SOURCE.md files are kept by hand next to the data and are not touched.
    """
    import shutil

    import geopandas as gpd
    from shapely.geometry import box

    from econet.geo.vector import read_vector, write_gpkg

    src = Path(shared_data)
    dest = Path(dest) if dest is not None else data_dir()
    for key, rel in SHARED_FILES.items():
        if not (src / rel).exists():
            raise EconetError(f"shared input for '{key}' not found", path=src / rel)
    w, s, e, n = bounds
    clip = (w - buffer_deg, s - buffer_deg, e + buffer_deg, n + buffer_deg)
    clip_box = box(*clip)

    layers = {}
    countries = read_vector(src / SHARED_FILES["countries"], "countries", bbox=clip)
    countries = countries.set_crs(4326, allow_override=True)
    countries["id"] = countries["id"].astype(str)
    countries["iso3"] = countries["id"].map(ISO3_BY_NUMERIC)
    layers["countries"] = _clipped(countries[["id", "iso3", "name", "geometry"]], clip_box)
    lines = read_vector(src / SHARED_FILES["boundary_lines"], bbox=clip)
    lines = lines[["featurecla", "adm0_a3_l", "adm0_a3_r", "geometry"]].copy()
    pair = lines.apply(lambda r: "-".join(sorted([str(r["adm0_a3_l"]), str(r["adm0_a3_r"])])), axis=1)
    lines["countries"] = pair.str.replace("CH1", "CHN")
    layers["boundary_lines"] = _clipped(lines, clip_box)
    rivers = read_vector(src / SHARED_FILES["rivers"], bbox=clip)
    layers["rivers"] = _clipped(rivers[["name", "name_en", "scalerank", "featurecla", "geometry"]], clip_box)
    lakes = read_vector(src / SHARED_FILES["lakes"], bbox=clip)
    layers["lakes"] = _clipped(lakes[["name", "scalerank", "featurecla", "geometry"]], clip_box)
    (dest / "natural_earth").mkdir(parents=True, exist_ok=True)
    write_gpkg(dest / NE_GPKG, {k: gpd.GeoDataFrame(v, geometry="geometry", crs=4326) for k, v in layers.items()})

    _clip_raster_tif(src / SHARED_FILES["landcover"], dest / LANDCOVER_TIF, clip)
    _clip_etopo(src / SHARED_FILES["elevation"], dest / ELEVATION_TIF, clip)
    (dest / "protected_areas").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / SHARED_FILES["pa_facts"], dest / PA_FACTS)
    return dest


def _clipped(gdf, clip_box):
    gdf = gdf.copy()
    gdf["geometry"] = gdf.geometry.intersection(clip_box)
    gdf = gdf[~gdf.geometry.is_empty].reset_index(drop=True)
    return gdf


def _clip_raster_tif(src_path: Path, dst_path: Path, clip) -> None:
    """Window of a global lon/lat GeoTIFF; the CRS is written as EPSG:4326 (see SOURCE.md)."""
    import rasterio
    from rasterio.windows import from_bounds

    from econet.atomic import atomic_path
    with rasterio.open(src_path) as src:
        win = from_bounds(*clip, transform=src.transform).round_offsets().round_lengths()
        data = src.read(1, window=win)
        transform = src.window_transform(win)
        profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype=data.dtype,
                       crs="EPSG:4326", transform=transform, nodata=src.nodata, compress="deflate")
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst_path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)


def _clip_etopo(src_path: Path, dst_path: Path, clip) -> None:
    """Window of the gridline-registered ETOPO1 netCDF as a GeoTIFF (cell centres on the grid lines)."""
    import netCDF4
    import rasterio
    from affine import Affine

    from econet.atomic import atomic_path
    with netCDF4.Dataset(src_path) as ds:
        lon = ds["longitude"][:].astype(float)
        lat = ds["latitude"][:].astype(float)
        ci = np.where((lon >= clip[0]) & (lon <= clip[2]))[0]
        ri = np.where((lat >= clip[1]) & (lat <= clip[3]))[0]
        var = ds["topography"]
        var.set_auto_mask(False)
        z = np.asarray(var[ri.min():ri.max() + 1, ci.min():ci.max() + 1]).astype(np.int16)
        fill = int(getattr(var, "_FillValue", 32000))
    d = float(lon[1] - lon[0])
    lats = lat[ri.min():ri.max() + 1]
    if lats[0] < lats[-1]:  # stored south to north: flip to north-up
        z = z[::-1]
        top = float(lats[-1])
    else:
        top = float(lats[0])
    transform = Affine(d, 0.0, float(lon[ci.min()]) - d / 2, 0.0, -d, top + d / 2)
    profile = dict(driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="int16",
                   crs="EPSG:4326", transform=transform, nodata=fill, compress="deflate")
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst_path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(z, 1)
            dst.update_tags(1, units="m", source="ETOPO1 ice surface via fatiando/data (smoothed, degree 720)")


if __name__ == "__main__":  # python -m econet.demo.region ../shared/data [DEST]
    import sys
    if len(sys.argv) < 2:
        sys.exit("usage: python -m econet.demo.region SHARED_DATA_DIR [DEST]")
    print(extract_demo_data(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
