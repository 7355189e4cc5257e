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
    after: int | None = None                       # keyset paging: only ids greater than this
    dataset_ids: Sequence[int] | None = None       # datasets by id (resolved already; ANDed with `dataset`)
    scope: Any = None                              # an SQL clause the caller's sharing view adds (ANDed)
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
    tids = taxon_ids(conn, f.taxon) if f.taxon else None
    start, end = _time(f.start), _time(f.end, end=True)
    if f.year:
        start, end = dt.datetime(f.year, 1, 1), dt.datetime(f.year + 1, 1, 1)
    ds_ids = None
    if f.dataset:
        names = [f.dataset] if isinstance(f.dataset, str) else list(f.dataset)
        ds_ids = conn.execute(select(m.Dataset.id).where(m.Dataset.name.in_(names))).scalars().all()
        if len(ds_ids) != len(set(names)):
            raise EconetError(f"unknown dataset in {names!r}", field="dataset")
    if f.dataset_ids is not None:
        ds_ids = sorted(set(f.dataset_ids) & set(ds_ids)) if ds_ids is not None else list(f.dataset_ids)
    col = _columns(conn, f, tids, start, end, ds_ids)
    if tids is not None:
        w.append(col["taxon_id"].in_(tids))
    if start:
        w.append(col["time_utc"] >= start)
    if end:
        w.append(col["time_utc"] < end)
    if f.country:
        w.append(col["country_code"] == f.country.upper()[:2])
    if ds_ids is not None:
        w.append(col["dataset_id"].in_(ds_ids))
    if f.individual:
        w.append(O.individual_key == f.individual)
    if f.after is not None:
        w.append(O.id > int(f.after))
    if f.scope is not None:
        w.append(f.scope)
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


# --------------------------------------------------------------------------- plan choice for pages (SQLite)

_INDEXED = {"taxon_id": O.taxon_id, "time_utc": O.time_utc, "country_code": O.country_code, "dataset_id": O.dataset_id}
_UNINDEXED = {k: literal_column(f"+observations.{k}", type_=c.type) for k, c in _INDEXED.items()}
_STATS: dict = {}


def _stats(conn: Connection) -> dict:
    """Row counts per taxon, country and dataset and the time span (cached per database until rows are added)."""
    url = str(conn.engine.url)
    top = conn.execute(select(func.max(O.id))).scalar()
    hit = _STATS.get(url)
    if hit is not None and hit["top"] == top:
        return hit
    st = {"top": top, "n": conn.execute(select(func.count()).select_from(O)).scalar_one()}
    for key, c in (("taxon", O.taxon_id), ("country", O.country_code), ("dataset", O.dataset_id)):
        st[key] = dict(conn.execute(select(c, func.count()).group_by(c)).all())
    lo, hi = conn.execute(select(func.min(O.time_utc), func.max(O.time_utc))).one()
    st["span"] = (lo, hi)
    _STATS[url] = st
    return st


def _columns(conn: Connection, f: ObservationFilter, tids, start, end, ds_ids) -> dict:
    """The columns the page's conditions are written on. SQLite has no statistics on value frequencies: for a
    page (`limit`) whose filters match a large share of the rows (a common species in a year), walking the
    table in id order and stopping after the page reads far fewer rows than collecting every match from an
    index and sorting it. Then the conditions are written on `+column` (SQLite's way of saying "no index").
    A single equality on an indexed column (ordered by id within the index) and spatial filters keep their
    indexes; PostgreSQL plans from its own statistics."""
    if (conn.dialect.name != "sqlite" or f.limit is None or f.individual or f.bbox or f.polygon is not None
            or f.border):
        return _INDEXED
    equalities = (tids is not None and len(tids) == 1) + bool(f.country) + (ds_ids is not None and len(ds_ids) == 1)
    ranged = bool(start or end) or (tids is not None and len(tids) > 1) or (ds_ids is not None and len(ds_ids) > 1)
    if not ranged and equalities <= 1:
        return _INDEXED  # the index yields rows in id order: the page stops after `limit` rows anyway
    st = _stats(conn)
    n = max(st["n"], 1)
    share = 1.0
    if tids is not None:
        share *= sum(st["taxon"].get(t, 0) for t in tids) / n
    if f.country:
        share *= st["country"].get(f.country.upper()[:2], 0) / n
    if ds_ids is not None:
        share *= sum(st["dataset"].get(d, 0) for d in ds_ids) / n
    lo, hi = st["span"]
    if (start or end) and lo is not None and hi is not None and hi > lo:
        a, b = max(start or lo, lo), min(end or hi, hi)
        share *= max((b - a).total_seconds(), 0.0) / (hi - lo).total_seconds()
    if share <= 0:
        return _INDEXED
    # rows read: id order ~ limit / share; index and sort ~ n * share
    return _UNINDEXED if f.limit / share < n * share else _INDEXED


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

    def contains(self, lon, lat) -> np.ndarray:
        """The exact test of candidates that are not sure."""
        import shapely
        shapely.prepare(self.exact)
        return shapely.intersects_xy(self.exact, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def count_sure(self, conn: Connection, w: list) -> int:
        if len(w) == 1 and self.sure_sql:  # only the area: count the index entries
            return conn.execute(text(f"SELECT count(*) FROM ({self.sure_sql})")).scalar_one()
        return conn.execute(select(func.count()).select_from(O).where(and_(*w, self.sure()))).scalar_one()


@dataclass
class _BorderZone:
    """Within `distance` m of the a-b border, from the border columns the import stores (both back ends).

    Sure: the nearest border is a-b and lies within the distance. Candidates: rows whose nearest border is
    another one while their second-nearest lies within the distance (near a tripoint: that one may be a-b)
    and rows imported before the columns were filled (NULL); they are tested exactly (equal-area distance
    to the border line)."""

    pair: str
    distance: float
    line: Any  # the border in the equal-area CRS

    def maybe(self):
        return or_(and_(O.border_distance_m <= self.distance, O.border_pair == self.pair),
                   O.border_distance2_m <= self.distance, O.border_pair.is_(None))

    def sure(self):
        return and_(O.border_distance_m <= self.distance, O.border_pair == self.pair)

    def others(self):
        return [and_(O.border_distance2_m <= self.distance, O.border_pair != self.pair), O.border_pair.is_(None)]

    def contains(self, lon, lat) -> np.ndarray:
        import shapely
        from econet.hub.spatial import to_equal_area
        x, y = to_equal_area(lon, lat)
        shapely.prepare(self.line)
        return shapely.dwithin(self.line, shapely.points(x, y), self.distance) & np.isfinite(x) & np.isfinite(y)

    @property
    def exact(self):  # the area as a polygon, for callers that test points themselves
        from econet.hub.spatial import border_buffer
        return border_buffer(*self.pair.split("-"), self.distance)

    def count_sure(self, conn: Connection, w: list) -> int:
        return conn.execute(select(func.count()).select_from(O).where(and_(*w, self.sure()))).scalar_one()


def _border_zone(f: ObservationFilter) -> _BorderZone | None:
    """The border filter as a _BorderZone when the stored columns answer it (distance within their range)."""
    from econet.hub.spatial import BORDER_ZONE_M, border_line_ea, pair_code
    if not f.border or f.polygon is not None or not 0 <= float(f.border_distance_m) <= BORDER_ZONE_M:
        return None
    pair = pair_code(*f.border)
    return _BorderZone(pair, float(f.border_distance_m), border_line_ea(*pair.split("-")))


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
    zone = _border_zone(f)
    if zone is not None:
        w.append(zone.maybe())
        return w, zone
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
    w, spatial = select_ids(conn, f)
    T, D = m.Taxon, m.Dataset
    sure_col = (spatial.sure() if spatial is not None else literal_column("1") == 1).label("sure")
    q = (select(sure_col, O.id, O.occurrence_key, D.name.label("dataset"), O.record_type, O.observation_type,
                O.scientific_name, T.scientific_name.label("accepted_name"), T.iucn_category, O.count, O.time_utc,
                O.time_offset_min, O.lon, O.lat, O.x, O.y, O.coordinate_uncertainty_m, O.country_code,
                O.individual_key, O.sex, O.life_stage, O.behaviour, O.locality, O.batch_id, O.source_row)
         .join(D, D.id == O.dataset_id).join(T, T.id == O.taxon_id, isouter=True)
         .where(*w).order_by(O.id))
    full = f.limit is None and conn.dialect.name == "postgresql"
    if full:  # a cursor is planned for its first 10% by default: an id-ordered scan filtering every row
        conn.exec_driver_sql("SET cursor_tuple_fraction = 1.0")
    try:
        yield from _rows(conn, q, spatial, f.limit, chunk)
    finally:
        if full:
            conn.exec_driver_sql("RESET cursor_tuple_fraction")


def _rows(conn: Connection, q, spatial, limit: int | None, chunk: int) -> Iterator[dict]:
    """Rows of the query in `observation_rows` as dicts; candidates not sure to be inside tested exactly."""
    from econet.hub.ingest.base import format_time
    if limit is not None:  # a page: fetch little more than it
        chunk = max(min(chunk, limit + limit // 4), 1)
    n = 0
    result = conn.execute(q.execution_options(stream_results=True, yield_per=chunk))
    for part in result.partitions(chunk):
        if spatial is not None:
            test = [i for i, r in enumerate(part) if not r[0]]
            if test:
                lon = np.array([np.nan if part[i][12] is None else part[i][12] for i in test], dtype=float)
                lat = np.array([np.nan if part[i][13] is None else part[i][13] for i in test], dtype=float)
                drop = {test[j] for j in np.flatnonzero(~spatial.contains(lon, lat))}
                part = [r for i, r in enumerate(part) if i not in drop]
        if limit is not None and n + len(part) > limit:
            part = part[:limit - n]
        for r in part:
            t = r[10]
            if t is None:
                tu = tl = None
            elif t.year >= 1000 and t.year < 9999:  # fast path, same text as format_time
                tu = t.isoformat(timespec="seconds") + "Z"
                off = r[11]
                if not off:
                    tl = tu
                else:
                    shift, suffix = _offsets.get(off) or _offset(off)
                    tl = (t + shift).isoformat(timespec="seconds") + suffix
            else:
                tu, tl = format_time(t, 0), format_time(t, r[11])
            yield dict(zip(COLUMNS, (*r[1:10], tu, tl, *r[12:])))
        n += len(part)
        if limit is not None and n >= limit:
            result.close()
            return


_offsets: dict[int, tuple[dt.timedelta, str]] = {}


def _offset(minutes: int) -> tuple[dt.timedelta, str]:
    """(shift, '+HH:MM') of a UTC offset in minutes, remembered."""
    a = abs(minutes)
    _offsets[minutes] = out = (dt.timedelta(minutes=minutes), f"{'-' if minutes < 0 else '+'}{a // 60:02d}:{a % 60:02d}")
    return out


def count(conn: Connection, f: ObservationFilter) -> int:
    """Number of observations the filter selects (exact, same as len(list(observation_rows)))."""
    w, spatial = select_ids(conn, f)
    if spatial is None:
        n = conn.execute(select(func.count()).select_from(O).where(*w)).scalar_one()
        return min(n, f.limit) if f.limit is not None else n
    if isinstance(spatial, _BorderZone):  # sure rows are counted in the index; test the few others
        base = w[:-1]  # without the zone's own condition (select_ids appends it last)
        n = spatial.count_sure(conn, base)
        rest = [and_(*base, c) for c in spatial.others()]
    else:
        n = spatial.count_sure(conn, w)
        rest = [and_(*w, ~spatial.sure())]
    for cond in rest:
        q = select(O.lon, O.lat).where(cond)
        for part in conn.execute(q.execution_options(stream_results=True, yield_per=50000)).partitions(50000):
            xy = np.array([(np.nan if a is None else a, np.nan if b is None else b) for a, b in part],
                          dtype=float).reshape(-1, 2)
            n += int(np.count_nonzero(spatial.contains(xy[:, 0], xy[:, 1])))
    return min(n, f.limit) if f.limit is not None else n
