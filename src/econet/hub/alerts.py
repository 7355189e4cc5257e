"""Watch lists and alerts: what each organization watches, the rules that run on every import, and alerts
delivered to the organization's members in the atlas and by e-mail, each through the reader's sharing view.

Watch list items (per organization): ``invasive`` taxa (with a risk category and an alert distance),
``sensitive`` taxa (with the radius that makes a site new), and ``area`` items: a protected area, a corridor
polygon, or a strip along a border (two countries and a width).

Rules (each alert has a key unique per rule x record x organization, so re-running never alerts twice):

- ``invasive_near_area``: a new record of a listed invasive taxon within its distance of a watched area
  (a border strip is an area: its width is the distance from the border);
- ``sensitive_new_site``: a listed sensitive taxon recorded farther than the radius from every earlier
  record of it (earlier: a smaller hub id, i.e. imported before);
- ``border_crossing``: an identified individual of a watched taxon seen on the other side of a border than
  its previous record (analytics.crossings on the country polygons);
- ``import_failed``: an import into the organization's dataset failed.

Rules run on the organization's view of the records (`hub.sharing`): a record it may not see raises nothing,
a record it sees generalized is tested at its generalized place. Stored alerts hold no location; whoever
reads one (REST, CLI, e-mail) gets the record as their own view shows it, or no alert at all.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterable

import numpy as np
from sqlalchemy import delete, insert, literal_column, or_, select
from sqlalchemy.engine import Connection, Engine

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.sharing import View, apply_rules, audit, load_rules

log = logging.getLogger("econet.alerts")
ITEM_KINDS = ("invasive", "sensitive", "area")
AREA_KINDS = ("pa", "corridor", "border")
RULES = ("invasive_near_area", "sensitive_new_site", "border_crossing", "import_failed")
DEFAULT_INVASIVE_DISTANCE_M = 5000.0
DEFAULT_SITE_RADIUS_M = 1000.0
W, A, O = m.WatchItem, m.Alert, m.Observation


# --------------------------------------------------------------------------- watch lists

def _org(conn: Connection, org: str | int) -> tuple[int, str]:
    from econet.hub.accounts import org_id
    oid = org_id(conn, org)
    return oid, conn.execute(select(m.Organization.name).where(m.Organization.id == oid)).scalar_one()


def _manager(view: View, org_id: int) -> None:
    from econet.hub.accounts import role_rank
    if not (view.is_admin or role_rank(view.role(org_id)) >= role_rank("data_manager")):
        raise EconetError("an organization's watch list is kept by its data managers", field="organization")


def _member(view: View, org_id: int) -> None:
    if not (view.is_admin or org_id in view.org_ids):
        raise EconetError("a watch list is read by the organization's members", field="organization")


def area_geometry(item) -> Any:
    """The WGS84 geometry of an area item (a border strip is built from the shipped country borders)."""
    import shapely
    if item.area_kind == "border":
        from econet.hub.spatial import border_buffer
        a, b = item.border.split("-")
        return border_buffer(a, b, float(item.width_m))
    return shapely.from_wkt(item.wkt)


def _pa_circle(name: str):
    """A PA named in the region's facts: an approximate circle of its published area at its published point."""
    import csv
    import math

    import shapely
    from econet.demo.region import PA_FACTS, data_dir
    from econet.hub.spatial import buffer_lonlat
    with open(data_dir() / PA_FACTS, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["name"].lower() == name.lower() and r["lat"] and r["lon"] and r["area_km2"]:
                radius = math.sqrt(float(r["area_km2"]) * 1e6 / math.pi)
                return r["name"], buffer_lonlat(shapely.Point(float(r["lon"]), float(r["lat"])), radius)
    raise EconetError(f"no geometry for protected area {name!r}: give its polygon (--file or WKT)", field="geometry")


def _read_geometry(geometry: Any):
    """A polygon from shapely, WKT, or a vector file (any CRS, dissolved)."""
    import shapely
    from pathlib import Path
    if geometry is None:
        return None
    if hasattr(geometry, "geom_type"):
        g = geometry
    elif isinstance(geometry, Path) or (isinstance(geometry, str) and Path(geometry).suffix.lower()
                                       in (".gpkg", ".geojson", ".json", ".shp")):
        from econet.geo.vector import read_vector
        if not Path(geometry).exists():
            raise EconetError("file not found", path=geometry)
        g = shapely.union_all(read_vector(geometry, to_crs=4326).geometry.values)
    else:
        try:
            g = shapely.from_wkt(str(geometry))
        except Exception:
            raise EconetError("geometry must be WKT or a vector file", field="geometry") from None
    if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        raise EconetError("an area must be a polygon", field="geometry")
    return shapely.make_valid(g)


def _watch_taxon(conn: Connection, name: str) -> int:
    """The taxon a watch-list name means; a name the hub has not met yet (an invasive species not recorded so
    far) becomes a provisional taxon, as imports do, unless it looks like a misspelling of a known name."""
    import difflib
    from econet.hub.sharing import _taxon_id
    from econet.hub.taxonomy import CLOSE_MATCH, TaxonMatcher, canonical
    try:
        return _taxon_id(conn, name)
    except EconetError:
        pass
    c = (canonical(name) or "").strip()
    if len(c.split()) < 2:
        raise EconetError(f"unknown taxon {name!r}: give a binomial or a known name", field="name")
    known = list(conn.execute(select(m.Taxon.scientific_name)).scalars())
    close = difflib.get_close_matches(c.lower(), [k.lower() for k in known], n=1, cutoff=CLOSE_MATCH)
    if close:
        raise EconetError(f"unknown taxon {name!r}: did you mean {close[0]!r}?", field="name")
    return TaxonMatcher(conn, 0).match(c)


def add_item(conn: Connection, view: View, org: str | int, kind: str, name: str, *, risk_category: str | None = None,
             distance_m: float | None = None, area_kind: str | None = None, border: str | None = None,
             width_m: float | None = None, geometry: Any = None, note: str | None = None) -> dict:
    """Add (or replace) an item of an organization's watch list (its data managers, or the admin)."""
    oid, org_name = _org(conn, org)
    _manager(view, oid)
    kind = (kind or "").strip().lower()
    if kind not in ITEM_KINDS:
        raise EconetError(f"kind must be one of {', '.join(ITEM_KINDS)}", field="kind")
    name = (name or "").strip()
    if not name or len(name) > 300 or any(c in name for c in "<>\x00"):
        raise EconetError("name must be 1-300 characters without < > or NUL", field="name")
    if distance_m is not None and not (0 <= float(distance_m) <= 500_000):
        raise EconetError("distance must be 0-500000 m", field="distance_m")
    values: dict[str, Any] = {"risk_category": risk_category, "note": note, "taxon_id": None, "area_kind": None,
                              "border": None, "width_m": None, "wkt": None, "distance_m": distance_m}
    if kind in ("invasive", "sensitive"):
        values["taxon_id"] = _watch_taxon(conn, name)
        if values["distance_m"] is None:
            values["distance_m"] = DEFAULT_INVASIVE_DISTANCE_M if kind == "invasive" else DEFAULT_SITE_RADIUS_M
    else:
        ak = (area_kind or "").strip().lower()
        if ak not in AREA_KINDS:
            raise EconetError(f"an area is one of {', '.join(AREA_KINDS)}", field="area_kind")
        values["area_kind"] = ak
        if ak == "border":
            parts = (border or "").upper().replace(",", "-").split("-")
            if len(parts) != 2 or not all(len(p) == 2 and p.isalpha() for p in parts):
                raise EconetError("a border strip names two countries, e.g. CN-RU", field="border")
            if width_m is None or not (0 < float(width_m) <= 200_000):
                raise EconetError("a border strip needs a width of 1-200000 m", field="width_m")
            from econet.hub.spatial import border as border_line
            border_line(parts[0], parts[1])  # the two countries must share a border
            values.update(border="-".join(sorted(parts)), width_m=float(width_m))
        else:
            g = _read_geometry(geometry)
            if g is None:
                if ak != "pa":
                    raise EconetError("a corridor needs its polygon (--file or WKT)", field="geometry")
                name, g = _pa_circle(name)
                values["note"] = note or "approximate circle of the published area at the published point"
            values["wkt"] = g.wkt
    existing = conn.execute(select(W.id).where(W.organization_id == oid, W.kind == kind, W.name == name)).scalar()
    if existing is None:
        conn.execute(insert(W).values(organization_id=oid, kind=kind, name=name, created_by=view.username,
                                      created_at=m.utcnow(), **values))
    else:
        conn.execute(m.WatchItem.__table__.update().where(W.id == existing).values(**values))
    audit(conn, view, "watch.add", f"watch:{org_name}:{kind}:{name}",
          {k: v for k, v in values.items() if v is not None and k != "wkt"})
    return {"organization": org_name, "kind": kind, "name": name,
            **{k: v for k, v in values.items() if v is not None and k not in ("wkt", "taxon_id")}}


def remove_item(conn: Connection, view: View, org: str | int, kind: str, name: str) -> dict:
    oid, org_name = _org(conn, org)
    _manager(view, oid)
    n = conn.execute(delete(W).where(W.organization_id == oid, W.kind == kind, W.name == name)).rowcount
    if not n:
        raise EconetError(f"{org_name!r} does not watch {kind} {name!r}", field="name")
    audit(conn, view, "watch.remove", f"watch:{org_name}:{kind}:{name}")
    return {"organization": org_name, "kind": kind, "name": name, "removed": True}


def list_items(conn: Connection, view: View, org: str | int | None = None) -> list[dict]:
    """Watch-list items of one organization, or of every organization the view belongs to."""
    names = dict(conn.execute(select(m.Organization.id, m.Organization.name)).all())
    if org is not None:
        oid, _ = _org(conn, org)
        _member(view, oid)
        orgs = {oid}
    else:
        orgs = set(names) if view.is_admin else view.org_ids
    rows = conn.execute(select(W).where(W.organization_id.in_(orgs)).order_by(W.organization_id, W.kind, W.name))
    return [{"organization": names[w.organization_id], "kind": w.kind, "name": w.name,
             "risk_category": w.risk_category, "distance_m": w.distance_m, "area_kind": w.area_kind,
             "border": w.border, "width_m": w.width_m, "note": w.note} for w in rows]


# --------------------------------------------------------------------------- records as a view sees them

def _rows(conn: Connection, *where) -> list[dict]:
    """Observations as query.COLUMNS rows (the rows `sharing.apply_rules` filters)."""
    from econet.hub.query import _rows as stream
    T, D = m.Taxon, m.Dataset
    q = (select(literal_column("1").label("sure"), O.id, O.occurrence_key, D.name.label("dataset"), O.record_type,
                O.observation_type, O.scientific_name, T.scientific_name.label("accepted_name"), T.iucn_category,
                O.count, O.time_utc, O.time_offset_min, O.lon, O.lat, O.x, O.y, O.coordinate_uncertainty_m,
                O.country_code, O.individual_key, O.sex, O.life_stage, O.behaviour, O.locality, O.batch_id,
                O.source_row)
         .join(D, D.id == O.dataset_id).join(T, T.id == O.taxon_id, isouter=True).where(*where).order_by(O.id))
    return list(stream(conn, q, None, None, 5000))


def org_view(org_id: int) -> View:
    """What an organization's members see through their membership (the view rules run under)."""
    return View(kind="user", username=f"organization:{org_id}", orgs=((org_id, "viewer"),))


def _taxon_names(conn: Connection, name: str) -> set[str]:
    from econet.hub.query import taxon_ids
    ids = taxon_ids(conn, name)
    return set(conn.execute(select(m.Taxon.scientific_name).where(m.Taxon.id.in_(ids))).scalars())


def _xy(rows: list[dict]) -> np.ndarray:
    from econet.hub.spatial import to_equal_area
    lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in rows], dtype=float)
    lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in rows], dtype=float)
    x, y = to_equal_area(lon, lat)
    return np.column_stack([x, y])


# --------------------------------------------------------------------------- the rules

def _new_alert(conn: Connection, org_id: int, rule: str, key: str, title: str, *, observation_id=None,
               other_observation_id=None, batch_id=None, details: dict | None = None) -> int | None:
    """Insert the alert unless this rule x key x organization alerted already; its id when new."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as ins
    else:
        from sqlalchemy.dialects.sqlite import insert as ins
    stmt = ins(A).values(organization_id=org_id, rule=rule, key=key[:200], title=title, observation_id=observation_id,
                         other_observation_id=other_observation_id, batch_id=batch_id, details=details,
                         created_at=m.utcnow()).on_conflict_do_nothing().returning(A.id)
    return conn.execute(stmt).scalar()


def _placed(conn: Connection, item, rows: list[dict]) -> list[dict]:
    """The rows of the item's taxon (synonyms and subtaxa included) that have a place."""
    names = _taxon_names(conn, item.name)
    return [r for r in rows if r["accepted_name"] in names and r["lon"] is not None and r["lat"] is not None]


def _invasive(conn, org_id, items, areas, rows, batch_id) -> list[int]:
    """Records of listed invasive taxa within the item's distance of a watched area."""
    import shapely
    from econet.hub.spatial import project
    if not areas:
        return []
    shapes = [(a, project(area_geometry(a))) for a in areas]
    new = []
    for item in items:
        hits = _placed(conn, item, rows)
        if not hits:
            continue
        pts = shapely.points(_xy(hits))
        dist = np.column_stack([shapely.distance(pts, g) for _, g in shapes])
        for r, d in zip(hits, dist):
            j = int(np.argmin(d))
            if d[j] > item.distance_m:
                continue
            area = shapes[j][0]
            where = "inside" if d[j] == 0 else f"within {item.distance_m / 1000:g} km of"
            title = (f"Invasive {r['accepted_name']} (risk: {item.risk_category or 'not given'}) recorded {where} "
                     f"watched area {area.name!r}")
            aid = _new_alert(conn, org_id, "invasive_near_area", f"obs:{r['hub_id']}", title,
                             observation_id=r["hub_id"], batch_id=batch_id,
                             details={"taxon": r["accepted_name"], "risk_category": item.risk_category,
                                      "area": area.name, "area_kind": area.area_kind,
                                      "threshold_m": item.distance_m, "distance_m": round(float(d[j]), 1),
                                      "dataset": r["dataset"], "time_utc": r["time_utc"]})
            if aid:
                new.append(aid)
    return new


def _sensitive_sites(conn, org_id, items, rules, rows, batch_id) -> list[int]:
    """Records of listed sensitive taxa farther than the item's radius from every earlier record of it."""
    from scipy.spatial import cKDTree
    from econet.hub.query import taxon_ids
    new = []
    for item in items:
        hits = _placed(conn, item, rows)
        if not hits:
            continue
        known = [r for r in apply_rules(rules, _rows(conn, O.taxon_id.in_(taxon_ids(conn, item.name)),
                                                     O.id < max(r["hub_id"] for r in hits)))
                 if r["lon"] is not None and r["lat"] is not None]
        known_ids = np.array([r["hub_id"] for r in known], dtype=np.int64)
        tree = cKDTree(_xy(known)) if known else None
        for r, xy in zip(hits, _xy(hits)):
            if tree is not None:
                near = tree.query_ball_point(xy, item.distance_m)
                if any(known_ids[i] < r["hub_id"] for i in near):
                    continue
            title = (f"Sensitive {r['accepted_name']} recorded at a new site (no earlier record within "
                     f"{item.distance_m / 1000:g} km)")
            aid = _new_alert(conn, org_id, "sensitive_new_site", f"obs:{r['hub_id']}", title,
                             observation_id=r["hub_id"], batch_id=batch_id,
                             details={"taxon": r["accepted_name"], "radius_m": item.distance_m,
                                      "dataset": r["dataset"], "time_utc": r["time_utc"]})
            if aid:
                new.append(aid)
    return new


def _identities(conn: Connection, obs_ids: list[int]) -> dict[int, int]:
    """Individual id -> identity for the animals of these observations and every individual linked to the same
    identity (`Individual.identity_id`: the same animal known to another partner under its own key)."""
    I = m.Individual
    inds = set(conn.execute(select(O.individual_id).where(O.id.in_(obs_ids), O.individual_id.is_not(None))).scalars())
    roots = {ident or iid for iid, ident in conn.execute(select(I.id, I.identity_id).where(I.id.in_(sorted(inds))))}
    return {iid: ident or iid for iid, ident in conn.execute(select(I.id, I.identity_id).where(
        or_(I.id.in_(sorted(roots)), I.identity_id.in_(sorted(roots)))))}


def _crossings(conn, org_id, items, rules, rows, batch_id) -> list[int]:
    """Identified individuals of watched taxa whose new record lies on another side of a border than the
    record before it (analytics.crossings on the shipped country polygons); records of the same animal in
    partners' datasets count as one individual when their identities are linked."""
    import pandas as pd
    from econet.analytics.crossings import as_fixes, crossings
    from econet.hub.spatial import countries
    names = set().union(*[_taxon_names(conn, i.name) for i in items]) if items else set()
    batch_ids = sorted(r["hub_id"] for r in rows if r["individual"] and r["accepted_name"] in names)
    if not batch_ids:
        return []
    members = _identities(conn, batch_ids)
    if not members:
        return []
    identity = dict(conn.execute(select(O.id, O.individual_id).where(O.individual_id.in_(sorted(members)))).all())
    fixes = [r for r in apply_rules(rules, _rows(conn, O.individual_id.in_(sorted(members))))
             if r["accepted_name"] in names and r["lon"] is not None and r["time_utc"]]
    if len(fixes) < 2:
        return []
    table = pd.DataFrame({"individual": [str(members[identity[r["hub_id"]]]) for r in fixes],
                          "species": [r["accepted_name"] for r in fixes], "timestamp": [r["time_utc"] for r in fixes],
                          "lon": [r["lon"] for r in fixes], "lat": [r["lat"] for r in fixes]})
    by_id = {r["hub_id"]: r for r in fixes}
    ids = {}
    for (ind, ts), r in zip(zip(table["individual"], pd.to_datetime(table["timestamp"], utc=True)), fixes):
        ids[(ind, ts)] = max(ids.get((ind, ts), 0), r["hub_id"])
    try:
        result = crossings(as_fixes(table), countries(), "iso2", tolerance_m=0.0, mcp_percent=None)
    except EconetError:  # e.g. no border near the records
        return []
    new, in_batch = [], set(batch_ids)
    for ev in result.events.itertuples():
        after, before = ids.get((ev.individual, ev.time_after)), ids.get((ev.individual, ev.time_before))
        if after not in in_batch and before not in in_batch:
            continue
        keys = [by_id[i]["individual"] for i in (before, after)]
        shown = keys[1] if keys[0] == keys[1] else f"{keys[0]} = {keys[1]}"
        title = f"{ev.species} individual {shown} crossed the border {ev.from_side} → {ev.to_side}"
        aid = _new_alert(conn, org_id, "border_crossing", f"crossing:{ev.individual}:{before}:{after}", title,
                         observation_id=after, other_observation_id=before, batch_id=batch_id,
                         details={"taxon": ev.species, "individual": shown, "from": ev.from_side,
                                  "to": ev.to_side, "time_before": ev.time_before.isoformat(),
                                  "time_after": ev.time_after.isoformat()})
        if aid:
            new.append(aid)
    return new


def run_batch(conn: Connection, batch_id: int) -> list[int]:
    """Run every organization's rules on the records of one import batch; the ids of new alerts."""
    items = list(conn.execute(select(W)))
    if not items:
        return []
    taxa = {i.taxon_id for i in items if i.taxon_id is not None}
    if not taxa:
        return []
    from econet.hub.query import taxon_ids
    names = {i.name for i in items if i.kind in ("invasive", "sensitive")}
    wanted = set().union(*[taxon_ids(conn, n) for n in names])
    raw = _rows(conn, O.batch_id == batch_id, O.taxon_id.in_(sorted(wanted)))
    if not raw:
        return []
    new: list[int] = []
    by_org: dict[int, list] = {}
    for i in items:
        by_org.setdefault(i.organization_id, []).append(i)
    for org_id, its in sorted(by_org.items()):
        rules = load_rules(conn, org_view(org_id))
        rows = list(apply_rules(rules, raw))
        if not rows:
            continue
        invasive = [i for i in its if i.kind == "invasive"]
        sensitive = [i for i in its if i.kind == "sensitive"]
        areas = [i for i in its if i.kind == "area"]
        new += _invasive(conn, org_id, invasive, areas, rows, batch_id)
        new += _sensitive_sites(conn, org_id, sensitive, rules, rows, batch_id)
        new += _crossings(conn, org_id, sensitive + invasive, rules, rows, batch_id)
    return new


def run_all(conn: Connection) -> list[int]:
    """Run the rules on every import batch (idempotent: records that alerted already do not alert again)."""
    new: list[int] = []
    for bid in conn.execute(select(m.ImportBatch.id).order_by(m.ImportBatch.id)).scalars():
        new += run_batch(conn, bid)
    return new


def on_import(engine: Engine, batch_id: int | None) -> dict:
    """The hook every successful import calls after its commit: run the rules, then send e-mails.

    A failure here never undoes the import: it is logged and reported."""
    if batch_id is None:
        return {"new": 0}
    try:
        with engine.begin() as conn:
            new = run_batch(conn, batch_id)
        sent = deliver(engine, new) if new else {}
        return {"new": len(new), **sent}
    except Exception as exc:  # noqa: BLE001 - the import itself succeeded
        log.exception("alert rules failed after import batch %s", batch_id)
        return {"new": 0, "error": f"alert rules failed: {exc}"}


def on_import_failed(engine: Engine, *, org: str, dataset: str, source: str, error: BaseException) -> dict:
    """The hook a failed import calls: alert the organization that owns the dataset (or named the import)."""
    try:
        msg = getattr(error, "message", None) or str(error) or type(error).__name__
        with engine.begin() as conn:
            oid = conn.execute(select(m.Dataset.organization_id).where(m.Dataset.name == dataset)).scalar()
            if oid is None:
                oid = conn.execute(select(m.Organization.id).where(m.Organization.name == org)).scalar()
            if oid is None:
                return {"new": 0}
            name = str(source).replace("\\", "/").rsplit("/", 1)[-1]
            digest = hashlib.sha256(f"{dataset}\x1f{name}\x1f{msg}".encode()).hexdigest()[:32]
            details = {"dataset": dataset, "source": name, "error": msg[:1000],
                       "row": getattr(error, "row", None), "field": getattr(error, "field", None)}
            aid = _new_alert(conn, oid, "import_failed", f"import:{digest}",
                             f"Import of {name} into {dataset} failed: {msg[:200]}", details=details)
        sent = deliver(engine, [aid]) if aid else {}
        return {"new": int(bool(aid)), **sent}
    except Exception:  # noqa: BLE001 - never hide the import's own error
        log.exception("could not record the failed import")
        return {"new": 0}


# --------------------------------------------------------------------------- reading alerts

_RECORD_KEYS = ("hub_id", "dataset", "accepted_name", "time_utc", "lon", "lat", "coordinate_uncertainty_m",
                "country_code", "individual", "locality", "coordinate_precision", "data_generalizations",
                "information_withheld")


def render(conn: Connection, view: View, alert, rules=None, *, read_ids: set[int] | None = None) -> dict | None:
    """The alert as this reader may see it: records through the reader's sharing rules (generalized where
    the reader has no exact access); None when the reader may not see the record at all."""
    names = dict(conn.execute(select(m.Organization.id, m.Organization.name)).all())
    out = {"id": alert.id, "organization": names.get(alert.organization_id), "rule": alert.rule,
           "title": alert.title, "created_at": alert.created_at.isoformat(timespec="seconds") + "Z",
           "read": bool(read_ids and alert.id in read_ids), "details": dict(alert.details or {})}
    ids = [i for i in (alert.observation_id, alert.other_observation_id) if i is not None]
    if ids:
        rules = rules or load_rules(conn, view)
        seen = {r["hub_id"]: r for r in apply_rules(rules, _rows(conn, O.id.in_(ids)))}
        if any(i not in seen for i in ids):
            return None
        rec = seen[alert.observation_id]
        out["record"] = {k: rec.get(k) for k in _RECORD_KEYS}
        if alert.other_observation_id is not None:
            out["previous_record"] = {k: seen[alert.other_observation_id].get(k) for k in _RECORD_KEYS}
        if any(seen[i]["coordinate_precision"] is not None for i in ids):
            out["details"].pop("distance_m", None)  # an exact distance would undo the generalization
            out["generalized"] = True
        else:
            out["generalized"] = False
    return out


def list_alerts(conn: Connection, view: View, *, unread: bool = False, rule: str | None = None,
                limit: int = 200, organization: str | int | None = None) -> list[dict]:
    """The reader's alerts, newest first: those of their organizations (the hub admin: all), as they may see
    them."""
    if rule is not None and rule not in RULES:
        raise EconetError(f"rule must be one of {', '.join(RULES)}", field="rule")
    orgs = None if view.is_admin else view.org_ids
    if organization is not None:
        oid, _ = _org(conn, organization)
        _member(view, oid)
        orgs = {oid}
    q = select(A).order_by(A.id.desc())
    if orgs is not None:
        q = q.where(A.organization_id.in_(orgs))
    if rule:
        q = q.where(A.rule == rule)
    read_ids = set(conn.execute(select(m.AlertRead.alert_id).where(m.AlertRead.user_id == view.user_id)).scalars()) \
        if view.user_id is not None else set()
    rules = load_rules(conn, view)
    out = []
    for a in conn.execute(q).all():
        if unread and a.id in read_ids:
            continue
        shown = render(conn, view, a, rules, read_ids=read_ids)
        if shown is not None:
            out.append(shown)
            if len(out) >= limit:
                break
    return out


def mark_read(conn: Connection, view: View, alert_ids: Iterable[int] | None = None) -> dict:
    """Mark the reader's alerts read (all of them when no ids are given)."""
    if view.user_id is None:
        raise EconetError("alerts are marked read by a signed-in user", field="user")
    visible = {a["id"] for a in list_alerts(conn, view, limit=10**9)}
    ids = visible if alert_ids is None else set(alert_ids)
    unknown = ids - visible
    if unknown:
        raise EconetError(f"no alert {min(unknown)}", field="alert")
    done = set(conn.execute(select(m.AlertRead.alert_id).where(m.AlertRead.user_id == view.user_id)).scalars())
    todo = sorted(ids - done)
    if todo:
        conn.execute(insert(m.AlertRead), [{"alert_id": i, "user_id": view.user_id, "read_at": m.utcnow()} for i in todo])
    return {"marked_read": len(todo)}


def summary(conn: Connection) -> list[dict]:
    """Alerts per organization and rule (counts only: nothing about the records)."""
    from sqlalchemy import func
    names = dict(conn.execute(select(m.Organization.id, m.Organization.name)).all())
    return [{"organization": names.get(o), "rule": r, "alerts": n}
            for o, r, n in conn.execute(select(A.organization_id, A.rule, func.count())
                                        .group_by(A.organization_id, A.rule).order_by(A.organization_id, A.rule))]


# --------------------------------------------------------------------------- e-mail

def email_text(alert: dict) -> tuple[str, str]:
    """(subject, body) of an alert as rendered for one recipient."""
    lines = [alert["title"], "", f"Organization: {alert['organization']}", f"Rule: {alert['rule']}",
             f"Raised: {alert['created_at']}"]
    for label, key in (("Record", "record"), ("Previous record", "previous_record")):
        r = alert.get(key)
        if not r:
            continue
        lines += ["", f"{label}: {r['accepted_name']} in {r['dataset']} at {r['time_utc']}"]
        if r["lon"] is not None:
            lines.append(f"  location: {r['lat']}, {r['lon']} (uncertainty {r['coordinate_uncertainty_m']} m)")
        else:
            lines.append("  location: withheld")
        if r.get("locality"):
            lines.append(f"  locality: {r['locality']}")
        if r.get("data_generalizations"):
            lines.append(f"  generalized: {r['data_generalizations']}")
    for k, v in alert["details"].items():
        if v not in (None, "") and k not in ("time_utc",):
            lines.append(f"{k}: {v}")
    lines += ["", "Sent by the econet hub. Locations follow the data owners' sharing rules."]
    return f"[econet] {alert['title']}", "\n".join(lines) + "\n"


def deliver(engine: Engine, alert_ids: list[int] | None = None) -> dict:
    """E-mail alerts to their organizations' members with an address, each rendered through the recipient's
    own view; every member gets each alert at most once (sent or failed is recorded)."""
    from econet.hub import notify
    with engine.begin() as conn:
        settings = notify.get_smtp(conn)
        if settings is None:
            return {"emails_sent": 0, "emails": "SMTP not configured"}
        q = select(A).order_by(A.id)
        if alert_ids is not None:
            q = q.where(A.id.in_(list(alert_ids)))
        alerts = list(conn.execute(q))
        members: dict[int, list] = {}
        for uid, oid, email in conn.execute(select(m.User.id, m.Membership.organization_id, m.User.email)
                                            .join(m.Membership, m.Membership.user_id == m.User.id)
                                            .where(m.User.active.is_(True), m.User.email.is_not(None))):
            members.setdefault(oid, []).append((uid, email))
        done = {tuple(r) for r in conn.execute(select(m.AlertDelivery.alert_id, m.AlertDelivery.user_id))}
        views: dict[int, tuple] = {}
        outgoing = []
        for a in alerts:
            for uid, email in members.get(a.organization_id, []):
                if (a.id, uid) in done:
                    continue
                if uid not in views:
                    v = View.for_user(conn, uid)
                    views[uid] = (v, load_rules(conn, v))
                shown = render(conn, views[uid][0], a, views[uid][1])
                if shown is None:
                    continue
                subject, body = email_text(shown)
                outgoing.append((a.id, uid, notify.message(settings, email, subject, body)))
    results = notify.send(settings, [o[2] for o in outgoing])
    with engine.begin() as conn:
        for (aid, uid, _), err in zip(outgoing, results):
            conn.execute(insert(m.AlertDelivery).values(alert_id=aid, user_id=uid, channel="email",
                                                        status="failed" if err else "sent", error=err,
                                                        at=m.utcnow()))
    failed = [e for e in results if e]
    return {"emails_sent": len(results) - len(failed), "emails_failed": len(failed),
            **({"email_error": failed[0]} if failed else {})}
