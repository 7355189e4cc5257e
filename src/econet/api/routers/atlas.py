"""/api/v1/atlas: what the web atlas draws from hub records, always through the caller's sharing view.

- GET /atlas/observations: the records in a bounding box, clustered on a screen grid at the map's zoom
  (generalized records marked `generalized` with their dataGeneralizations)
- GET /atlas/tracks: individuals' detection tracks and their border crossings (consecutive detections in
  different countries), as the view locates them
- GET /atlas/dashboard: detections over time per species and country (the view), and the demo's ProtConn,
  crane site importance and glacier mass balance tables (public outputs), and the caller's SCR runs

Nothing here reads a hub file directly: every record comes from econet.hub.sharing.view_rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional

from fastapi import Depends, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, Filters, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["atlas"])
#: The most records one map request gathers (the map asks for its bounding box only).
MAX_RECORDS = 500_000
#: Views whose map index is kept (each: arrays + compact tuples, ~15 MB per 100,000 records).
INDEX_VIEWS = 8
_INDEXES: OrderedDict = OrderedDict()
_INDEX_LOCK = threading.Lock()


def _view_index(conn, view: View, rules):
    """The caller's whole view as a map index, built once per (database, view, rules version): the version
    changes with any import, sharing term, sensitive taxon or grant, so a stale index is never served."""
    from econet.hub.query import ObservationFilter
    from econet.web.mapdata import ViewIndex
    key = (str(conn.engine.url), view.kind, tuple(view.orgs), view.date(), sharing._version(conn))
    with _INDEX_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = ViewIndex(sharing.view_rows(conn, view, ObservationFilter(), rules=rules))
            _INDEXES[key] = index
            while len(_INDEXES) > INDEX_VIEWS:
                _INDEXES.popitem(last=False)
        _INDEXES.move_to_end(key)
    return index


def _only_bbox(f) -> bool:
    return not any((f.taxon, f.start, f.end, f.polygon is not None, f.country, f.dataset, f.individual))


def _rows(request: Request, view: View, f, target: str) -> tuple[list[dict], dict]:
    """The caller's view of the records the filter selects: from the view's map index when the filter is at
    most a bounding box, else read with the filter. The read is audited."""
    f.limit = None
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        if _only_bbox(f):
            index = _view_index(conn, view, rules)
            rows = list(index.rows()) if f.bbox is None else [r for r in index.rows() if r["lon"] is not None
                                                              and f.bbox[0] <= r["lon"] <= f.bbox[2]
                                                              and f.bbox[1] <= r["lat"] <= f.bbox[3]]
        else:
            rows = []
            for r in sharing.view_rows(conn, view, f, rules=rules):
                rows.append(r)
                if len(rows) >= MAX_RECORDS:
                    break
    with eng.begin() as conn:
        sharing.audit(conn, view, "read", target, {"records": len(rows)}, rules=rules, rows=rows)
    return rows, rules


@router.get("/atlas/observations", dependencies=[rule("public")],
            summary="Observations for the map: clustered at the zoom, generalized ones marked (caller's view)")
def atlas_observations(request: Request, filters: Filters = Depends(),
                       zoom: float = Query(8.0, ge=0, le=24, description="map zoom (clusters below 13)"),
                       view: View = Depends(get_view)):
    from econet.web.mapdata import cluster
    f = filters.filter
    if not _only_bbox(f):  # other filters: read just those records
        rows, _ = _rows(request, view, f, "atlas:observations")
        out = cluster(rows, zoom)
        return {"type": "FeatureCollection", "view": view.describe(), "zoom": zoom,
                "truncated": len(rows) >= MAX_RECORDS, **out}
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        index = _view_index(conn, view, rules)
    out = cluster(index, zoom, bbox=f.bbox)
    sel = index.select(f.bbox)
    used = [{"dataset": index.datasets[c]} for c in sorted(set(index.dataset_code[sel].tolist()))]
    with eng.begin() as conn:
        sharing.audit(conn, view, "read", "atlas:observations", {"records": out["total"], "bbox": f.bbox},
                      rules=rules, rows=used)
    return {"type": "FeatureCollection", "view": view.describe(), "zoom": zoom, "truncated": False, **out}


@router.get("/atlas/tracks", dependencies=[rule("public")],
            summary="Individuals' detection tracks and border crossings (caller's view)")
def atlas_tracks(request: Request, filters: Filters = Depends(), view: View = Depends(get_view)):
    from econet.web.mapdata import tracks
    rows, _ = _rows(request, view, filters.filter, "atlas:tracks")
    features = tracks(rows)
    return {"type": "FeatureCollection", "view": view.describe(),
            "individuals": sum(1 for f in features if f["properties"]["kind"] == "track"),
            "crossings": sum(1 for f in features if f["properties"]["kind"] == "crossing"), "features": features}


def _scr_runs(request: Request, view: View) -> list[dict]:
    """The caller's SCR analysis runs (and runs on the anonymous view), newest first."""
    from sqlalchemy import select
    from econet.hub import models as m
    with engine(request).connect() as conn:
        q = select(m.Job.__table__).where(m.Job.kind == "analysis").order_by(m.Job.id.desc()).limit(200)
        out = []
        for j in conn.execute(q):
            if (j.params or {}).get("kind") != "scr":
                continue
            if view.is_admin or (j.view or {}).get("kind") == "anonymous" or (
                    j.user_id is not None and j.user_id == view.user_id):
                out.append({"id": j.id, "params": j.params, "result": j.result,
                            "created_at": j.created_at.isoformat()})
    return out


@router.get("/atlas/dashboard", dependencies=[rule("public")],
            summary="Figures for the atlas dashboards (hub figures through the caller's view)")
def atlas_dashboard(request: Request, filters: Filters = Depends(),
                    top: int = Query(8, ge=1, le=50, description="species x country series shown"),
                    view: View = Depends(get_view), scr: Optional[bool] = Query(True)):
    from econet.web import mapdata
    rows, _ = _rows(request, view, filters.filter, "atlas:dashboard")
    catalog = getattr(request.app.state, "catalog", None)
    demo = getattr(catalog, "demo_dir", None)
    return {"view": view.describe(), "records": len(rows),
            "generalized_records": sum(1 for r in rows if r.get("data_generalizations")),
            "detections": mapdata.detections_over_time(rows, top=top),
            "protconn": mapdata.protconn_table(demo), "crane_sites": mapdata.crane_sites(demo),
            "glaciers": mapdata.glacier_series(demo), "scr": _scr_runs(request, view) if scr else []}
