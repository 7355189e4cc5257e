"""Protected-area layers: the WDPA schema understood as is, other layers by naming their fields.

Geographic input is reprojected to an equal-area CRS (and the note says which); invalid geometries are
repaired and reported by id; layers in different CRSs are brought to one with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from econet.errors import EconetError
from econet.geo.crs import equal_area_crs, is_geographic

WDPA_FIELDS = ("WDPAID", "NAME", "DESIG", "IUCN_CAT", "STATUS", "ISO3", "MARINE", "REP_AREA")


@dataclass
class Layer:
    """A polygon layer ready for area and distance work, with the notes a user should read."""

    gdf: gpd.GeoDataFrame
    id_field: str
    name_field: str | None = None
    country_field: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def crs(self) -> CRS:
        return CRS.from_user_input(self.gdf.crs)


def is_wdpa(gdf: gpd.GeoDataFrame) -> bool:
    return {"WDPAID", "NAME", "ISO3"} <= set(gdf.columns)


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, Shapefile, GeoJSON) with econet's reader and its error messages."""
    from econet.geo.vector import read_vector
    return read_vector(path, layer)


def choose_crs(*gdfs: gpd.GeoDataFrame, crs: CRS | str | int | None = None) -> tuple[CRS, str | None]:
    """The working CRS: the given one; else the first layer's if projected; else a LAEA centred on the data."""
    if crs is not None:
        target = CRS.from_user_input(crs)
        if target.is_geographic:
            raise EconetError("the working CRS must be projected (metres), not geographic")
        return target, None
    first = gdfs[0]
    if first.crs is None:
        raise EconetError("layer has no coordinate reference system")
    if not is_geographic(first.crs):
        return CRS.from_user_input(first.crs), None
    bounds = [g.to_crs(4326).total_bounds for g in gdfs if len(g)]
    b = np.array(bounds)
    lonlat = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
    target = equal_area_crs(lonlat)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proj = target.to_proj4()
    return target, (f"geographic coordinates reprojected to the equal-area CRS {proj} "
                    "(Lambert azimuthal equal-area centred on the data)")


def prepare(gdf: gpd.GeoDataFrame, *, id_field: str | None = None, name_field: str | None = None,
            country_field: str | None = None, crs: CRS | None = None, source: str | Path | None = None,
            what: str = "protected areas", polygons_only: bool = True) -> Layer:
    """Check fields, reproject to `crs`, repair invalid geometries (reported by id) and drop empty ones."""
    notes: list[str] = []
    src = str(source) if source is not None else None
    if gdf.crs is None:
        raise EconetError("layer has no coordinate reference system", path=src)
    wdpa = is_wdpa(gdf)
    if id_field is None:
        id_field = "WDPAID" if wdpa else None
    if name_field is None and wdpa:
        name_field = "NAME"
    if country_field is None and wdpa:
        country_field = "ISO3"
    for f in (id_field, name_field, country_field):
        if f is not None and f not in gdf.columns:
            raise EconetError(f"no field '{f}' in the {what} layer (fields: {', '.join(map(str, gdf.columns[:30]))})",
                              path=src, field=f)
    gdf = gdf.copy()
    if id_field is None:
        gdf["id"] = np.arange(1, len(gdf) + 1)
        id_field = "id"
    if wdpa and "STATUS" in gdf.columns:
        proposed = gdf["STATUS"].astype(str).str.lower().isin(["proposed", "not reported"])
        if proposed.any():
            notes.append(f"{int(proposed.sum())} WDPA record(s) with STATUS proposed/not reported excluded "
                         "(as in Saura et al. 2017)")
            gdf = gdf[~proposed]
    if wdpa and "MARINE" in gdf.columns:
        marine = gdf["MARINE"].astype(str).str.strip().isin(["2", "marine"])
        if marine.any():
            notes.append(f"{int(marine.sum())} fully marine WDPA record(s) (MARINE = 2) excluded, as in Saura et al. 2017")
            gdf = gdf[~marine]
    if crs is not None and CRS.from_user_input(gdf.crs) != CRS.from_user_input(crs):
        notes.append(f"{what} layer reprojected from {CRS.from_user_input(gdf.crs).name} to the working CRS "
                     f"{CRS.from_user_input(crs).name}")
        gdf = gdf.to_crs(crs)
    if wdpa and "REP_AREA" in gdf.columns and len(gdf):
        # WDPA point records: a circle of the reported area (km2) around the point (Saura et al. 2017)
        pts = np.asarray(gdf.geometry.geom_type.isin(["Point", "MultiPoint"]))
        if pts.any():
            area = gdf["REP_AREA"].astype(float).to_numpy()
            ok = pts & (area > 0)
            sides = 64   # quad_segs=16: a 64-gon whose area equals REP_AREA exactly
            radius = np.sqrt(np.where(ok, area, 0) * 1e6 / (sides / 2 * np.sin(2 * np.pi / sides)))
            gdf.loc[ok, gdf.geometry.name] = shapely.buffer(
                np.asarray(gdf.geometry[ok].values, dtype=object), radius[ok], quad_segs=16)
            notes.append(f"{int(ok.sum())} WDPA point record(s) drawn as circles of their REP_AREA"
                         + (f"; {int((pts & ~ok).sum())} without REP_AREA skipped" if (pts & ~ok).any() else ""))
    geoms = gdf.geometry.values
    empty = shapely.is_empty(np.asarray(geoms, dtype=object)) | gdf.geometry.isna().values
    if empty.any():
        notes.append(f"{int(empty.sum())} empty geometr{'y' if empty.sum() == 1 else 'ies'} skipped "
                     f"(ids: {_ids(gdf[id_field][empty])})")
        gdf = gdf[~empty]
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        bad = gdf[id_field][invalid]
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(np.asarray(gdf.geometry[invalid].values,
                                                                            dtype=object))
        notes.append(f"{int(invalid.sum())} invalid geometr{'y' if invalid.sum() == 1 else 'ies'} repaired "
                     f"(ids: {_ids(bad)})")
    if polygons_only:
        g = np.asarray(gdf.geometry.values, dtype=object)
        polys = shapely.get_type_id(g)
        keep_poly = np.isin(polys, (3, 6))
        mixed = np.isin(polys, (7,))
        if mixed.any():
            fixed = [shapely.union_all([p for p in shapely.get_parts(x) if p.geom_type in ("Polygon", "MultiPolygon")])
                     for x in g[mixed]]
            gdf.loc[mixed, gdf.geometry.name] = fixed
            keep_poly |= mixed
        if (~keep_poly).any():
            notes.append(f"{int((~keep_poly).sum())} non-polygon feature(s) skipped (ids: {_ids(gdf[id_field][~keep_poly])})")
            gdf = gdf[keep_poly]
    return Layer(gdf.reset_index(drop=True), id_field, name_field, country_field, notes)


def _ids(values, limit: int = 10) -> str:
    v = [str(x) for x in list(values)[:limit]]
    more = len(values) - len(v)
    return ", ".join(v) + (f" and {more} more" if more > 0 else "")


def load_protected_areas(path: str | Path, *, id_field: str | None = None, name_field: str | None = None,
                         country_field: str | None = None, layer: str | None = None,
                         crs: CRS | None = None) -> Layer:
    """Read and prepare a PA layer (WDPA or any polygons); geographic input goes to an equal-area CRS."""
    gdf = read_layer(path, layer)
    target, note = choose_crs(gdf, crs=crs)
    out = prepare(gdf, id_field=id_field, name_field=name_field, country_field=country_field, crs=target,
                  source=path)
    if note:  # the equal-area note replaces the generic reprojection note
        out.notes = [note] + [n for n in out.notes if "reprojected from" not in n]
    return out
