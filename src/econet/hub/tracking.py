"""Tracks in the hub under the sharing rules: fixes, tracks and the analyses that run on the caller's view.

Every path out goes through `view_fixes`: a fix is a row like an observation (dataset, country, accepted
name, lon/lat) and `sharing.apply_rules` decides it - datasets the caller may not see (visibility, embargo)
are left out, a sensitive species' fixes are rounded to its category's grid (or withheld) for callers
without exact access. A track counts as one record: when any fix of an animal lies in a country where its
species is sensitive, all its fixes are generalized (or withheld) alike (`sensitive_tracks`). Analyses (`crossings_on_view`, `home_ranges_on_view`, `migration_on_view`) take the
caller's fixes one individual at a time (memory holds one animal), and say which view they ran under and
whether their input was generalized.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub import sharing
from econet.hub.sharing import View
from econet.progress import no_progress

#: the columns of a fix as the caller sees it
FIX_COLUMNS = ["hub_id", "dataset", "individual", "scientific_name", "accepted_name", "time_utc", "lon", "lat",
               "coordinate_uncertainty_m", "country_code", "flag", "tag", "sensor", "coordinate_precision",
               "data_generalizations", "information_withheld"]


@dataclass
class TrackFilter:
    """Which fixes: dataset(s), taxon (synonyms and subtaxa), individual key(s), country, time, bbox."""

    dataset: str | list[str] | None = None
    taxon: str | None = None
    individual: str | list[str] | None = None
    country: str | None = None
    start: str | dt.date | dt.datetime | None = None
    end: str | dt.date | dt.datetime | None = None
    bbox: list[float] | None = None
    include_flagged: bool = False


def _time(v, end: bool = False):
    from econet.hub.query import _time as qtime
    return qtime(v, end=end)


def _where(conn: Connection, rules: sharing.Rules, f: TrackFilter) -> list | None:
    F, I = m.Fix, m.Individual
    names = [f.dataset] if isinstance(f.dataset, str) else list(f.dataset or [])
    for n in names:
        if n not in rules.datasets:  # the same answer whether absent or hidden
            raise EconetError(f"unknown dataset {n!r}", field="dataset")
    ids = [rules.datasets[n].id for n in (names or rules.datasets)]
    if not ids:
        return None
    w = [F.dataset_id.in_(ids)]
    if not f.include_flagged:
        w.append(F.flag == "")
    if f.taxon:
        from econet.hub.query import taxon_ids
        w.append(F.taxon_id.in_(taxon_ids(conn, f.taxon)))
    if f.individual:
        keys = [f.individual] if isinstance(f.individual, str) else list(f.individual)
        w.append(F.individual_id.in_(select(I.id).where(I.individual_key.in_(keys))))
    if f.country:
        w.append(F.country_code == f.country.upper())
    if f.start:
        w.append(F.time_utc >= _time(f.start))
    if f.end:
        w.append(F.time_utc < _time(f.end, end=True))
    if f.bbox:
        wst, s, e, n = f.bbox
        w += [F.lon >= wst, F.lon <= e, F.lat >= s, F.lat <= n]
    return w


def _select(w):
    F, I, T, D = m.Fix, m.Individual, m.Taxon, m.Dataset
    return (select(F.id.label("hub_id"), F.individual_id.label("_iid"), D.name.label("dataset"),
                   I.individual_key.label("individual"),
                   T.scientific_name.label("accepted_name"), F.time_utc, F.lon, F.lat, F.coordinate_uncertainty_m,
                   F.country_code, F.flag, F.tag_key.label("tag"), F.sensor)
            .join(D, D.id == F.dataset_id).join(I, I.id == F.individual_id).join(T, T.id == F.taxon_id, isouter=True)
            .where(*w))


def _dicts(result, tracks_cc: dict[int, str]) -> Iterator[dict]:
    for r in result:
        d = r._asdict()
        d["scientific_name"] = d["accepted_name"]
        d["locality"] = None
        d["time_utc"] = d["time_utc"].isoformat() + "Z" if d["time_utc"] is not None else None
        cc = tracks_cc.get(d["_iid"])
        if cc is not None:  # judged as the track's sensitive country: the whole track is generalized alike
            d["_country"], d["country_code"] = d["country_code"], cc
        yield d


def _shown(rules: sharing.Rules, rows) -> Iterator[dict]:
    for r in sharing.apply_rules(rules, rows):
        if "_country" in r:
            r["country_code"] = r["_country"]
        yield {k: r.get(k) for k in FIX_COLUMNS}


def sensitive_tracks(conn: Connection, rules: sharing.Rules, w: list) -> dict[int, str]:
    """Individuals with a fix where their species is sensitive -> that country (the strictest category).

    A track is one record of one animal: when any of its fixes falls where the species is sensitive, every
    fix of it is generalized (or withheld) the same way, so its fixes elsewhere do not lead back to the den."""
    if not rules.sensitive:
        return {}
    F, T = m.Fix, m.Taxon
    names = {n for n, _ in rules.sensitive}
    q = (select(F.individual_id, T.scientific_name, F.country_code).join(T, T.id == F.taxon_id)
         .where(*w, T.scientific_name.in_(names)).group_by(F.individual_id, T.scientific_name, F.country_code))
    out: dict[int, tuple[str, str]] = {}
    for iid, name, cc in conn.execute(q):
        cat = rules.sensitive.get((name, (cc or "").upper()))
        if cat is not None and (iid not in out or sharing._strictest(out[iid][1], cat) == cat):
            out[iid] = (cc.upper(), cat)
    return {k: v[0] for k, v in out.items()}


def view_fixes(conn: Connection, view: View, f: TrackFilter | None = None, *, rules: sharing.Rules | None = None,
               after: int | None = None, limit: int | None = None, chunk: int = 5000) -> Iterator[dict]:
    """The fixes the filter selects as the view may see them (FIX_COLUMNS dicts, hub_id order), paged by
    `after` (last hub_id seen) and `limit`."""
    f = f or TrackFilter()
    rules = rules or sharing.load_rules(conn, view)
    w = _where(conn, rules, f)
    if w is None:
        return
    tracks_cc = sensitive_tracks(conn, rules, w)
    last, n = after, 0
    while True:
        q = _select(w + ([m.Fix.id > last] if last is not None else [])).order_by(m.Fix.id).limit(chunk)
        rows = list(_dicts(conn.execute(q), tracks_cc))
        if not rows:
            return
        last = rows[-1]["hub_id"]
        for r in _shown(rules, rows):
            yield r
            n += 1
            if limit is not None and n >= limit:
                return
        if len(rows) < chunk:
            return


def individual_frames(conn: Connection, view: View, f: TrackFilter | None = None, *,
                      rules: sharing.Rules | None = None, progress: Callable = no_progress) -> Iterator[pd.DataFrame]:
    """The caller's fixes one individual at a time, in time order, as analytics fix tables (individual,
    species, timestamp, lon, lat, ...): memory holds one animal."""
    f = f or TrackFilter()
    rules = rules or sharing.load_rules(conn, view)
    w = _where(conn, rules, f)
    if w is None:
        return
    F = m.Fix
    inds = conn.execute(select(F.individual_id).where(*w).group_by(F.individual_id).order_by(F.individual_id)).scalars().all()
    tracks_cc = sensitive_tracks(conn, rules, w)
    # per animal the dataset clause is implied (an individual belongs to one dataset); leaving it out lets the
    # database read the animal's fixes from the (individual, time) index
    rest = w[1:]
    for i, iid in enumerate(inds):
        q = _select([F.individual_id == iid, *rest]).order_by(F.time_utc, F.id)
        rows = list(_shown(rules, _dicts(conn.execute(q), tracks_cc)))
        progress(i + 1, len(inds), "individuals")
        if not rows:
            continue
        d = pd.DataFrame(rows, columns=FIX_COLUMNS)
        d["timestamp"] = pd.to_datetime(d["time_utc"], utc=True, format="ISO8601")
        d["species"] = d["accepted_name"].fillna("unknown")
        d["individual"] = d["individual"].astype(str)
        yield d


def view_tracks(conn: Connection, view: View, f: TrackFilter | None = None, *, max_points: int = 2000,
                rules: sharing.Rules | None = None) -> list[dict]:
    """One GeoJSON Feature per individual: a line through its fixes as the view sees them (thinned to at most
    `max_points` vertices, split at the antimeridian) with species, dataset, time span and fix count."""
    import numpy as np
    from shapely.geometry import mapping

    from econet.analytics.tracks import track_lines
    rules = rules or sharing.load_rules(conn, view)
    out = []
    for d in individual_frames(conn, view, f, rules=rules):
        step = max(1, int(np.ceil(len(d) / max_points)))
        thin = d.iloc[::step] if step > 1 else d
        lines = track_lines(thin.assign(keep=True))
        gen = d["data_generalizations"].dropna()
        props = {"individual": d["individual"].iloc[0], "species": d["species"].iloc[0],
                 "dataset": d["dataset"].iloc[0], "n_fixes": int(len(d)),
                 "start": d["timestamp"].min().isoformat(), "end": d["timestamp"].max().isoformat(),
                 "countries": sorted(c for c in d["country_code"].dropna().unique()),
                 "generalized": bool(len(gen)), "data_generalizations": gen.iloc[0] if len(gen) else None,
                 "coordinate_precision": d["coordinate_precision"].dropna().max() if len(gen) else None,
                 "thinned_every": step}
        geom = mapping(lines.geometry.iloc[0]) if len(lines) else None
        out.append({"type": "Feature", "id": props["individual"], "geometry": geom, "properties": props})
    return out


def _generalized(frames, flag: dict) -> Iterator[pd.DataFrame]:
    """Pass frames through, noting whether any fix was generalized and which datasets were read."""
    for d in frames:
        if d["data_generalizations"].notna().any():
            flag["generalized"] = True
        flag.setdefault("datasets", set()).update(d["dataset"].unique().tolist())
        flag["fixes"] = flag.get("fixes", 0) + len(d)
        yield d


def _report(view: View, seen: dict) -> dict:
    return {"view": view.describe(), "fixes": seen.get("fixes", 0),
            "generalized_input": bool(seen.get("generalized")),
            "datasets": sorted(seen.get("datasets", ()))}


def border_zones(border: str | None = None):
    """Country polygons (the hub's shipped layer) for crossings: all, or the two countries of 'CN-RU'."""
    from econet.hub.spatial import countries
    z = countries()[["iso2", "geometry"]]
    z = z[z["iso2"].notna() & (z["iso2"].str.len() == 2)]
    if border:
        parts = [p.strip().upper() for p in border.replace(",", "-").split("-") if p.strip()]
        if len(parts) != 2:
            raise EconetError("border must name two countries, e.g. CN-RU", field="border")
        z = z[z["iso2"].isin(parts)]
        if len(z) < 2:
            raise EconetError(f"unknown border {border!r}", field="border")
    return z, "iso2"


def crossings_on_view(conn: Connection, view: View, f: TrackFilter | None = None, *, zones=None,
                      zone_field: str | None = None, border: str | None = None, audit: bool = True,
                      progress: Callable = no_progress, **kw) -> tuple:
    """Border crossings of the caller's tracks (analytics.tracks.crossings_streamed, one individual at a
    time); returns (CrossingResult, report with the view, fix count and whether the input was generalized)."""
    from econet.analytics.tracks import crossings_streamed
    if zones is None:
        zones, zone_field = border_zones(border)
    seen: dict = {}
    rules = sharing.load_rules(conn, view)
    kw = {"tracks": True, "tolerance_m": 100.0, "mcp_percent": None} | kw
    res = crossings_streamed(_generalized(individual_frames(conn, view, f, rules=rules, progress=progress), seen),
                             zones, zone_field, **kw)
    rep = _report(view, seen)
    if audit:
        sharing.audit(conn, view, "analysis", "tracks:crossings", {"fixes": rep["fixes"]}, rules=rules,
                      rows=[{"dataset": d} for d in rep["datasets"]])
    return res, rep


def home_ranges_on_view(conn: Connection, view: View, f: TrackFilter | None = None, *, method: str = "kernel",
                        percent=(95.0,), h="href", by=("individual",), audit: bool = True, **kw) -> tuple:
    """Home ranges (analytics.homerange) of each of the caller's individuals, computed one at a time."""
    from econet.analytics.crossings import period_of
    from econet.analytics.homerange import home_ranges
    seen: dict = {}
    rules = sharing.load_rules(conn, view)
    parts = []
    for d in _generalized(individual_frames(conn, view, f, rules=rules), seen):
        for k in by:
            if k in ("year", "season", "month"):
                d[k] = period_of(d["timestamp"], k)
        if len(d) < 5:
            continue
        parts.append(home_ranges(d, method=method, percent=list(percent), h=h, by=list(by), **kw))
    if not parts:
        raise EconetError("no individual with at least 5 usable fixes in this view")
    import geopandas as gpd
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    rep = _report(view, seen)
    if audit:
        sharing.audit(conn, view, "analysis", "tracks:homerange", {"fixes": rep["fixes"]}, rules=rules,
                      rows=[{"dataset": d} for d in rep["datasets"]])
    return out, rep


def fixes_on_view(conn: Connection, view: View, f: TrackFilter | None = None) -> tuple[pd.DataFrame, dict]:
    """All the caller's usable fixes as one analytics fix table (for analyses that need every animal at once:
    migration, corridor use) with the report of the view."""
    seen: dict = {}
    frames = list(_generalized(individual_frames(conn, view, f), seen))
    if not frames:
        raise EconetError("no fixes in this view")
    return pd.concat(frames, ignore_index=True), _report(view, seen)


def track_summary(conn: Connection, view: View) -> list[dict]:
    """Per visible dataset: individuals, fixes kept and flagged (counts only, which no rule hides)."""
    rules = sharing.load_rules(conn, view)
    F = m.Fix
    ids = {d.id: d.name for d in rules.datasets.values()}
    if not ids:
        return []
    q = (select(F.dataset_id, F.flag, func.count(), func.count(func.distinct(F.individual_id)))
         .where(F.dataset_id.in_(list(ids))).group_by(F.dataset_id, F.flag))
    out: dict[str, dict] = {}
    for ds, flag, n, ninds in conn.execute(q):
        row = out.setdefault(ids[ds], {"dataset": ids[ds], "fixes": 0, "kept": 0, "flagged": {}})
        row["fixes"] += n
        if flag == "":
            row["kept"] += n
            row["individuals"] = ninds
        else:
            row["flagged"][flag or "not cleaned"] = n
    return sorted(out.values(), key=lambda r: r["dataset"])


def crossing_features(events: pd.DataFrame) -> list[dict]:
    """Crossing events as GeoJSON Features (a point on the border per crossing, with time and direction)."""
    out = []
    for i, e in enumerate(events.itertuples(index=False)):
        ok = pd.notna(e.lon) and pd.notna(e.lat)
        out.append({"type": "Feature", "id": i + 1,
                    "geometry": {"type": "Point", "coordinates": [float(e.lon), float(e.lat)]} if ok else None,
                    "properties": {"individual": e.individual, "species": e.species, "from_country": e.from_side,
                                   "to_country": e.to_side, "direction": e.direction,
                                   "crossing_time": e.crossing_time.isoformat() if pd.notna(e.crossing_time) else None,
                                   "time_before": e.time_before.isoformat(), "time_after": e.time_after.isoformat(),
                                   "gap_hours": float(e.gap_hours), "gap": bool(e.gap), "season": e.season,
                                   "method": e.method}})
    return out


def filter_from(**kw) -> TrackFilter:
    """A TrackFilter from keyword options (None values ignored)."""
    return replace(TrackFilter(), **{k: v for k, v in kw.items() if v is not None})
