"""What the view-based standard exports (Event-core DwC-A, EURING) share: the datasets a caller may see,
accepted names, the query filters applied to record tables other than observations, and coarsening a row
to a grid at least as coarse as another one (a sampling event and everything in it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.query import ObservationFilter, _polygon, _time, taxon_ids
from econet.hub.sharing import CATEGORIES, Rules, generalize_row

#: grid step (degree) -> sharing category
STEP_CATEGORY = {v: k for k, v in CATEGORIES.items() if v is not None}


def scoped_datasets(rules: Rules, f: ObservationFilter) -> dict:
    """Dataset id -> DatasetAccess for the datasets the filter names (or all) that the view may see."""
    visible = rules.datasets
    if f.dataset:
        asked = [f.dataset] if isinstance(f.dataset, str) else list(f.dataset)
        for a in asked:
            if a not in visible:  # the same message whether the dataset is absent or hidden
                raise EconetError(f"unknown dataset {a!r}", field="dataset")
        return {visible[a].id: visible[a] for a in asked}
    return {d.id: d for d in visible.values()}


def accepted_names(conn: Connection) -> dict[int, str]:
    """Taxon id -> accepted scientific name (synonyms resolved)."""
    T = m.Taxon
    rows = conn.execute(select(T.id, T.scientific_name, T.status, T.accepted_id)).all()
    names = {r.id: r.scientific_name for r in rows}
    return {r.id: names.get(r.accepted_id, r.scientific_name) if r.status == "synonym" and r.accepted_id
            else r.scientific_name for r in rows}


def record_where(conn: Connection, f: ObservationFilter, *, taxon_col=None, time_col=None, country_col=None,
                 lon_col=None, lat_col=None) -> list:
    """SQL conditions of the filter's taxon, time, country and bbox on another record table."""
    w = []
    if f.taxon and taxon_col is not None:
        w.append(taxon_col.in_(taxon_ids(conn, f.taxon)))
    start, end = _time(f.start), _time(f.end, end=True)
    if f.year:
        start, end = dt.datetime(f.year, 1, 1), dt.datetime(f.year + 1, 1, 1)
    if time_col is not None:
        is_date = time_col.type.python_type is dt.date
        if start:
            w.append(time_col >= (start.date() if is_date else start))
        if end:
            w.append(time_col < (end.date() if is_date and end.time() == dt.time() else end))
    if f.country and country_col is not None:
        w.append(country_col == f.country.upper()[:2])
    if f.bbox and lon_col is not None:
        west, south, east, north = map(float, f.bbox)
        w.append(and_(lon_col >= west, lon_col <= east, lat_col >= south, lat_col <= north))
    return w


def area_test(f: ObservationFilter):
    """A function (lon, lat) -> bool for the filter's polygon / border zone (None: no area given)."""
    g = _polygon(f)
    if g is None:
        return None
    import shapely
    shapely.prepare(g)
    return lambda lon, lat: lon is not None and lat is not None and bool(shapely.intersects_xy(g, lon, lat))


def coarsen(row: dict, step: float | None, reason: str) -> dict:
    """`row` generalized to the grid `step` unless it already is at least that coarse (step None: unchanged)."""
    have = row.get("coordinate_precision")
    if step is None or (have is not None and have >= step):
        return row
    return generalize_row(row, STEP_CATEGORY[step], reason)


def coarsest(*steps) -> float | None:
    s = [x for x in steps if x is not None]
    return max(s) if s else None
