"""The model area of a report: a polygon file (GeoPackage, GeoJSON, shapefile) or a named area - a protected
area's name (as the PA facts and the hub's registry write it) or the demo region."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econet.errors import EconetError

NAMED = {"demo-region": "Ussuri / Lake Khanka / Tumen border region (econet demo region)"}
PA_BUFFER_KM = 25.0  # a report on one PA shows its neighbours within this distance


@dataclass
class Area:
    name: str
    kind: str        # file | protected area | named area
    geometry: Any    # shapely (Multi)Polygon, WGS84
    source: str

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(float(v) for v in self.geometry.bounds)


def resolve(spec: str | Path, *, buffer_km: float | None = None, files: bool = True) -> Area:
    """The area `spec` names; a one-line EconetError when it is neither a polygon file nor a known name.
    `files=False` (the API): names and WKT / GeoJSON polygons only, never a path on the server."""
    import shapely
    text = str(spec).strip()
    if not text:
        raise EconetError("AREA is empty: give a polygon file or the name of an area", field="area")
    if text[:1] == "{" or text.upper().startswith(("POLYGON", "MULTIPOLYGON")):
        return from_geometry(text, buffer_km)
    path = Path(text).expanduser()
    looks_like_file = path.suffix.lower() in (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".kml")
    if files and (path.exists() or looks_like_file):
        if not path.is_file():
            raise EconetError("polygon file not found", path=path, field="area")
        return _from_file(path, buffer_km)
    if text.lower() in NAMED:
        from econet.demo.region import DEMO_BOUNDS
        g = shapely.box(*DEMO_BOUNDS)
        return Area(NAMED[text.lower()], "named area", _buffered(g, buffer_km or 0.0), "econet demo region bounds")
    pa = _pa(text)
    if pa is not None:
        name, geom = pa
        return Area(name, "protected area", _buffered(geom, PA_BUFFER_KM if buffer_km is None else buffer_km),
                    f"PA footprint (approximate) plus {PA_BUFFER_KM if buffer_km is None else buffer_km:g} km")
    raise EconetError(f"AREA {text!r} is neither a polygon file nor a named area (a protected area's name, "
                      f"or one of: {', '.join(NAMED)})", field="area")


def from_geometry(text: str, buffer_km: float | None = None, name: str = "drawn area") -> Area:
    """An area from WKT or a GeoJSON geometry / feature (WGS84)."""
    import json

    import shapely
    import shapely.geometry
    try:
        if text.lstrip()[:1] == "{":
            obj = json.loads(text)
            obj = obj.get("geometry", obj) if obj.get("type") == "Feature" else obj
            g = shapely.geometry.shape(obj)
        else:
            g = shapely.from_wkt(text)
    except Exception:
        raise EconetError("area must be a WKT or GeoJSON Polygon/MultiPolygon in WGS84", field="area") from None
    if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        raise EconetError("area must be a Polygon or MultiPolygon", field="area")
    return Area(name, "drawn area", _buffered(shapely.make_valid(g), buffer_km or 0.0), "polygon given")


def _from_file(path: Path, buffer_km: float | None) -> Area:
    import shapely
    from econet.geo.vector import read_vector
    gdf = read_vector(path, to_crs=4326)
    polys = [g for g in gdf.geometry.values if g is not None and not g.is_empty
             and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise EconetError("no polygon in the file (a report needs an area)", path=path, field="area")
    g = shapely.make_valid(shapely.union_all(polys))
    name = None
    for col in ("name", "NAME", "title"):
        if col in gdf.columns and gdf[col].notna().any():
            name = "; ".join(str(v) for v in gdf[col].dropna().unique()[:3])
            break
    return Area(name or path.stem, "file", _buffered(g, buffer_km or 0.0), str(path))


def _buffered(g, km: float):
    """`g` grown by `km` (in an equal-area CRS), back in WGS84."""
    if not km:
        return g
    import geopandas as gpd
    from econet.geo.crs import equal_area_crs
    s = gpd.GeoSeries([g], crs=4326)
    ea = equal_area_crs(tuple(s.total_bounds))
    return s.to_crs(ea).buffer(km * 1000.0).to_crs(4326).iloc[0]


def _pa(text: str):
    """(name, footprint in WGS84) of the PA named (exact, else a unique part of a name), or None."""
    from econet.demo.region import read_pa_facts
    import geopandas as gpd
    from econet.geo.crs import equal_area_crs
    from econet.demo.region import pa_footprints
    try:
        facts = read_pa_facts()
    except EconetError:
        return None
    low = text.lower()
    hit = facts[facts["name"].str.lower() == low]
    if hit.empty:
        hit = facts[facts["name"].str.lower().str.contains(low, regex=False)]
    if len(hit) != 1:
        if len(hit) > 1:
            raise EconetError(f"AREA {text!r} names {len(hit)} protected areas: "
                              f"{'; '.join(hit['name'].head(5))}", field="area")
        return None
    row = hit.iloc[0]
    if row.isna()["lon"] or row.isna()["lat"]:
        raise EconetError(f"protected area {row['name']!r} has no published location, so no footprint", field="area")
    b = (row["lon"] - 1, row["lat"] - 1, row["lon"] + 1, row["lat"] + 1)
    crs = equal_area_crs(b)
    pas, _ = pa_footprints(hit, b, crs)
    if pas.empty:
        return None
    return row["name"], gpd.GeoSeries(pas.geometry.values, crs=crs).to_crs(4326).iloc[0]
