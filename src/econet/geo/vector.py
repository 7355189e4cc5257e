"""Vector IO: read GeoPackage, Shapefile, GeoJSON, TopoJSON with clear errors; reproject; write GeoPackage atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import geopandas as gpd
from pyproj import CRS

from econet.atomic import atomic_path
from econet.errors import EconetError

#: Formats whose specification fixes the CRS to WGS84 lon/lat when the file states none.
_WGS84_FORMATS = (".geojson", ".json", ".topojson", ".geojsonl", ".geojsons")
SUPPORTED = (".gpkg", ".shp", ".zip", ".fgb") + _WGS84_FORMATS


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise EconetError("file not found", path=p)
    if p.is_dir():
        raise EconetError("is a folder, expected a vector file (.gpkg, .shp, .geojson, .topojson)", path=p)
    if not p.name.lower().endswith(SUPPORTED):
        raise EconetError(f"unsupported vector format (use one of {', '.join(SUPPORTED)})", path=p)
    return p


def list_layers(path: str | Path) -> list[str]:
    """Names of the layers in a vector file (one for GeoJSON and Shapefile, several for GeoPackage/TopoJSON)."""
    import pyogrio

    p = _check_path(path)
    try:
        return [str(name) for name, _ in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises DataSourceError for unreadable files
        raise EconetError(f"cannot read vector file ({_short(exc)})", path=p) from None


def _short(exc: Exception) -> str:
    return str(exc).split(";")[0].replace("\n", " ").strip()


def read_vector(path: str | Path, layer: str | None = None, *,
                bbox: tuple[float, float, float, float] | None = None,
                columns: Sequence[str] | None = None,
                to_crs: CRS | str | int | None = None,
                assume_crs: CRS | str | int | None = None) -> gpd.GeoDataFrame:
    """Read one layer as a GeoDataFrame.

    `bbox` (in the file's CRS) keeps only intersecting features; `columns` keeps those attributes and
    fails naming any that are missing. A layer without a CRS gets `assume_crs`, or WGS84 for
    GeoJSON/TopoJSON (their specifications fix it); otherwise it is an error, since areas and distances
    would be meaningless. `to_crs` reprojects the result.
    """
    import pyogrio

    p = _check_path(path)
    layers = list_layers(p)
    if layer is None:
        if len(layers) > 1 and p.suffix.lower() == ".gpkg":
            raise EconetError(f"file holds several layers ({', '.join(layers)}); name one", path=p)
        layer = layers[0] if layers else None
    elif layer not in layers:
        raise EconetError(f"no layer '{layer}' (layers: {', '.join(layers) or 'none'})", path=p, field=layer)
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer, bbox=bbox)
    except Exception as exc:
        raise EconetError(f"cannot read layer '{layer}' ({_short(exc)})", path=p) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise EconetError(f"layer '{layer}' has no geometry column", path=p)
    if columns is not None:
        missing = [c for c in columns if c not in gdf.columns]
        if missing:
            raise EconetError(f"missing column(s) {', '.join(missing)} (has: {', '.join(map(str, gdf.columns))})",
                              path=p, field=missing[0])
        gdf = gdf[list(columns) + [gdf.geometry.name]]
    if gdf.crs is None:
        if assume_crs is not None:
            gdf = gdf.set_crs(assume_crs)
        elif p.name.lower().endswith(_WGS84_FORMATS):
            gdf = gdf.set_crs(4326)
        else:
            raise EconetError("layer has no coordinate reference system (e.g. the .prj file is missing)", path=p)
    if to_crs is not None:
        gdf = reproject(gdf, to_crs)
    return gdf


def reproject(gdf: gpd.GeoDataFrame, crs: CRS | str | int) -> gpd.GeoDataFrame:
    """The layer in `crs` (a copy); an error if the layer has no CRS to start from."""
    if gdf.crs is None:
        raise EconetError("cannot reproject a layer without a coordinate reference system")
    target = CRS.from_user_input(crs)
    if gdf.crs == target:
        return gdf.copy()
    return gdf.to_crs(target)


def write_gpkg(path: str | Path, layers: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
               layer: str | None = None) -> Path:
    """Write one or several layers into one GeoPackage, atomically (the file appears complete or not at all).

    An existing file at `path` is replaced as a whole.
    """
    import pyogrio

    path = Path(path)
    if isinstance(layers, gpd.GeoDataFrame):
        layers = {layer or path.stem: layers}
    if not layers:
        raise EconetError("nothing to write (no layers)", path=path)
    with atomic_path(path) as tmp:  # tmp ends in .gpkg, so GDAL picks the right driver
        try:
            for name, gdf in layers.items():
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG",
                                        append=tmp.exists())
        finally:
            for extra in ("-journal", "-wal", "-shm"):
                Path(str(tmp) + extra).unlink(missing_ok=True)
    return path
