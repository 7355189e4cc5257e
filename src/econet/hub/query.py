"""Observation queries with the filters the API and exports share: taxon, time, bbox, polygon, country,
dataset, individual, and distance from a border.

Spatial filters use the index of the back end - SQLite's R*Tree (boxes covering the area, then an exact
test with shapely) or PostGIS GiST (ST_Intersects) - so both give the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np
from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m

O = m.Observation

COLUMNS = ["hub_id", "occurrence_id", "dataset", "record_type", "observation_type", "scientific_name",
           "accepted_name", "iucn_category", "count", "time_utc", "time_local", "lon", "lat", "x_laea", "y_laea",
           "coordinate_uncertainty_m", "country_code", "individual", "sex", "life_stage", "behaviour", "locality",
           "batch", "source_row"]


@dataclass
class ObservationFilter:
    """What to select. Every field is optional; all given ones must hold."""

    taxon: str | None = None                       # a name (synonyms and lower ranks included)
    start: dt.datetime | dt.date | str | None = None  # UTC, inclusive
    end: dt.datetime | dt.date | str | None = None    # UTC, exclusive for datetimes, inclusive for dates
    bbox: Sequence[float] | None = None            # west, south, east, north (WGS84)
    polygon: Any = None                            # shapely geometry (WGS84) or WKT
    country: str | None = None                     # ISO 3166 alpha-2
    dataset: str | Sequence[str] | None = None     # dataset name(s)
    individual: str | None = None                  # individual key
    border: tuple[str, str] | None = None          # within border_distance_m of the a-b border
    border_distance_m: float = 10000.0
    year: int | None = None
    limit: int | None = None
    extra: dict = field(default_factory=dict)


def _time(v, end=False) -> dt.datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, dt.date):
        d = dt.datetime(v.year, v.month, v.day)
        return d + dt.timedelta(days=1) if end else d
    s = str(v)
    try:
        if len(s) == 4 and s.isdigit():
            d = dt.datetime(int(s) + (1 if end else 0), 1, 1)
            return d
        if len(s) == 10:
            return _time(dt.date.fromisoformat(s), end)
        return _time(dt.datetime.fromisoformat(s.replace("Z", "+00:00")), end)
    except ValueError:
        raise EconetError(f"not a date or time: {s!r}", field="end" if end else "start") from None


def taxon_ids(conn: Connection, name: str) -> list[int]:
    """Ids of the taxon named (accepted or synonym), its synonyms, and taxa below it (name + ' ...')."""
    from econet.hub.taxonomy import canonical
    c = canonical(name) or name
    T = m.Taxon
    rows = conn.execute(select(T.id, T.status, T.accepted_id).where(
        or_(func.lower(T.scientific_name) == c.lower(), func.lower(T.scientific_name).like(c.lower() + " %")))).all()
    if not rows:
        raise EconetError(f"unknown taxon {name!r}", field="taxon")
    ids = {r.accepted_id if r.status == "synonym" and r.accepted_id else r.id for r in rows}
    syn = conn.execute(select(T.id).where(T.accepted_id.in_(ids))).scalars().all()
    return sorted(ids | set(syn))


def _polygon(f: ObservationFilter):
    import shapely
    geoms = []
    if f.polygon is not None:
        g = shapely.from_wkt(f.polygon) if isinstance(f.polygon, str) else f.polygon
        if not g.is_valid:
            g = shapely.make_valid(g)
        geoms.append(g)
    if f.border:
        from econet.hub.spatial import border_buffer
        geoms.append(border_buffer(f.border[0].upper(), f.border[1].upper(), float(f.border_distance_m)))
    if not geoms:
        return None
    g = geoms[0]
    for other in geoms[1:]:
        g = g.intersection(other)
    return g


def _where(conn: Connection, f: ObservationFilter) -> list:
    w = []
    if f.taxon:
        w.append(O.taxon_id.in_(taxon_ids(conn, f.taxon)))
    start, end = _time(f.start), _time(f.end, end=True)
    if f.year:
        start, end = dt.datetime(f.year, 1, 1), dt.datetime(f.year + 1, 1, 1)
    if start:
        w.append(O.time_utc >= start)
    if end:
        w.append(O.time_utc < end)
    if f.country:
        w.append(O.country_code == f.country.upper()[:2])
    if f.dataset:
        names = [f.dataset] if isinstance(f.dataset, str) else list(f.dataset)
        ids = conn.execute(select(m.Dataset.id).where(m.Dataset.name.in_(names))).scalars().all()
        if len(ids) != len(set(names)):
            raise EconetError(f"unknown dataset in {names!r}", field="dataset")
        w.append(O.dataset_id.in_(ids))
    if f.individual:
        w.append(O.individual_key == f.individual)
    if f.bbox:
        west, south, east, north = map(float, f.bbox)
        if conn.dialect.name == "postgresql":  # && compares float4 boxes: the index step; lon/lat: exact
            w.append(text(f"observations.geom && ST_MakeEnvelope({west!r}, {south!r}, {east!r}, {north!r}, 4326)"))
            w += [O.lon >= west, O.lon <= east, O.lat >= south, O.lat <= north]
        else:
            w.append(O.id.in_(select(literal_column("id")).select_from(text("observations_rtree")).where(
                text(f"maxx >= {west!r} AND minx <= {east!r} AND maxy >= {south!r} AND miny <= {north!r}"))))
            w += [O.lon >= west, O.lon <= east, O.lat >= south, O.lat <= north]  # exact (R*Tree is float32)
    return w


#: R*Tree coordinates are 32-bit floats rounded outwards (about 1e-5 degree): boxes are queried by overlap
#: and "sure" boxes shrunk by this margin, so no point is lost at a box edge and none is taken by mistake.
_EPS = 1e-4


def _boxes_sql(boxes, eps: float = 0.0) -> str:
    """Ids of R*Tree entries overlapping any of the boxes (shrunk by eps): one join, no compound-select limit."""
    values = ", ".join(f"({b[0] + eps!r}, {b[2] - eps!r}, {b[1] + eps!r}, {b[3] - eps!r})" for b in boxes)
    return (f"WITH cover(x0, x1, y0, y1) AS (VALUES {values}) SELECT r.id FROM cover JOIN observations_rtree r "
            "ON r.maxx >= cover.x0 AND r.minx <= cover.x1 AND r.maxy >= cover.y0 AND r.miny <= cover.y1")


@dataclass
class _Spatial:
    """The spatial part of a query on SQLite: candidate ids (maybe) and ids certainly inside (sure)."""

    exact: Any
    maybe_sql: str
    sure_sql: str | None

    def maybe(self):
        return O.id.in_(select(literal_column("id")).select_from(text(f"({self.maybe_sql}) AS maybe")))

    def sure(self):
        if not self.sure_sql:
            return literal_column("0") == 1
        return O.id.in_(select(literal_column("id")).select_from(text(f"({self.sure_sql}) AS sure")))


@lru_cache(maxsize=32)
def _border_spatial(a: str, b: str, d: float) -> _Spatial:
    from econet.hub.spatial import border_buffer
    return _sqlite_spatial(border_buffer(a, b, d))


def _sqlite_spatial(poly) -> _Spatial:
    from econet.hub.spatial import cover_boxes
    boxes = cover_boxes(poly, max_boxes=8192)
    sure = [b for b, inside in boxes if inside and b[2] - b[0] > 2 * _EPS and b[3] - b[1] > 2 * _EPS]
    return _Spatial(exact=poly, maybe_sql=_boxes_sql([b for b, _ in boxes]),
                    sure_sql=_boxes_sql(sure, _EPS) if sure else None)


def select_ids(conn: Connection, f: ObservationFilter):
    """(WHERE clauses, spatial part still to test exactly or None) for the filter."""
    w = _where(conn, f)
    poly = _polygon(f)
    spatial = None
    if poly is not None:
        if conn.dialect.name == "postgresql":
            import shapely
            w.append(text(f"ST_Intersects(observations.geom, ST_GeomFromText('{shapely.to_wkt(poly)}', 4326))"))
        else:
            if f.border and f.polygon is None:
                spatial = _border_spatial(f.border[0].upper(), f.border[1].upper(), float(f.border_distance_m))
            else:
                spatial = _sqlite_spatial(poly)
            w.append(spatial.maybe())
    return w, spatial


def observation_rows(conn: Connection, f: ObservationFilter, chunk: int = 5000) -> Iterator[dict]:
    """The selected observations as flat rows (COLUMNS), streamed in id order."""
    import shapely
    from econet.hub.ingest.base import format_time
    w, spatial = select_ids(conn, f)
    exact = spatial.exact if spatial is not None else None
    T, D = m.Taxon, m.Dataset
    sure_col = (spatial.sure() if spatial is not None else literal_column("1") == 1).label("sure")
    q = (select(sure_col, O.id, O.occurrence_key, D.name.label("dataset"), O.record_type, O.observation_type,
                O.scientific_name, T.scientific_name.label("accepted_name"), T.iucn_category, O.count, O.time_utc,
                O.time_offset_min, O.lon, O.lat, O.x, O.y, O.coordinate_uncertainty_m, O.country_code,
                O.individual_key, O.sex, O.life_stage, O.behaviour, O.locality, O.batch_id, O.source_row)
         .join(D, D.id == O.dataset_id).join(T, T.id == O.taxon_id, isouter=True)
         .where(and_(*w)).order_by(O.id))
    if exact is not None:
        shapely.prepare(exact)
    n = 0
    result = conn.execute(q.execution_options(stream_results=True, yield_per=chunk))
    for part in result.partitions(chunk):
        if exact is not None:
            test = [i for i, r in enumerate(part) if not r.sure]
            if test:
                lon = np.array([part[i].lon for i in test], dtype=float)
                lat = np.array([part[i].lat for i in test], dtype=float)
                drop = {test[j] for j in np.flatnonzero(~shapely.intersects_xy(exact, lon, lat))}
                part = [r for i, r in enumerate(part) if i not in drop]
        for r in part:
            if f.limit is not None and n >= f.limit:
                result.close()
                return
            n += 1
            yield {"hub_id": r.id, "occurrence_id": r.occurrence_key, "dataset": r.dataset,
                   "record_type": r.record_type, "observation_type": r.observation_type,
                   "scientific_name": r.scientific_name, "accepted_name": r.accepted_name,
                   "iucn_category": r.iucn_category, "count": r.count,
                   "time_utc": format_time(r.time_utc, 0) if r.time_utc else None,
                   "time_local": format_time(r.time_utc, r.time_offset_min) if r.time_utc else None,
                   "lon": r.lon, "lat": r.lat, "x_laea": r.x, "y_laea": r.y,
                   "coordinate_uncertainty_m": r.coordinate_uncertainty_m, "country_code": r.country_code,
                   "individual": r.individual_key, "sex": r.sex, "life_stage": r.life_stage,
                   "behaviour": r.behaviour, "locality": r.locality, "batch": r.batch_id, "source_row": r.source_row}


def count(conn: Connection, f: ObservationFilter) -> int:
    """Number of observations the filter selects (exact, same as len(list(observation_rows)))."""
    import shapely
    w, spatial = select_ids(conn, f)
    if spatial is not None and len(w) == 1 and spatial.sure_sql:  # only the area: count the index entries
        n = conn.execute(text(f"SELECT count(*) FROM ({spatial.sure_sql})")).scalar_one()
    else:
        n = conn.execute(select(func.count()).select_from(O).where(
            and_(*w, spatial.sure()) if spatial is not None else and_(*w))).scalar_one()
    if spatial is not None:
        shapely.prepare(spatial.exact)
        q = select(O.lon, O.lat).where(and_(*w, ~spatial.sure()))
        for part in conn.execute(q.execution_options(stream_results=True, yield_per=50000)).partitions(50000):
            xy = np.array(part, dtype=float).reshape(-1, 2)
            n += int(np.count_nonzero(shapely.intersects_xy(spatial.exact, xy[:, 0], xy[:, 1])))
    return min(n, f.limit) if f.limit is not None else n
