"""/api/v1/observations: filtered, paged observations as GeoJSON, JSON or CSV, through the caller's view."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import MAX_LIMIT, PREFIX, Filters, csv_text, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["observations"])


def _terms(rules, rows) -> list[dict]:
    used = sorted({r["dataset"] for r in rows})
    return [{"dataset": n, "owner": rules.datasets[n].owner_name, "license": rules.datasets[n].license,
             "citation": rules.datasets[n].citation} for n in used]


@router.get("/observations", dependencies=[rule("public")],
            summary="Observations the caller may see (sensitive ones generalized)")
def list_observations(request: Request, filters: Filters = Depends(),
                      limit: int = Query(1000, ge=1, le=MAX_LIMIT),
                      after: Optional[int] = Query(None, ge=0, description="Paging: hub_id of the last record seen"),
                      format: str = Query("geojson", pattern="^(geojson|json|csv)$"),
                      view: View = Depends(get_view)):
    f = filters.filter
    f.limit = limit
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        rows = list(sharing.view_rows(conn, view, f, rules=rules, after=after))
    with eng.begin() as conn:
        sharing.audit(conn, view, "read", "observations", {"filters": filters.as_dict(), "records": len(rows)},
                      rules=rules, rows=rows)
    nxt = rows[-1]["hub_id"] if len(rows) == limit else None
    if format == "csv":
        return Response(csv_text(rows, sharing.VIEW_COLUMNS), media_type="text/csv",
                        headers={"X-Econet-View": view.kind, "X-Econet-Next": str(nxt or "")})
    meta = {"view": view.describe(), "count": len(rows), "next_after": nxt, "datasets": _terms(rules, rows)}
    if format == "json":
        return {**meta, "observations": rows}
    return {"type": "FeatureCollection", **meta, "features": [sharing.feature(r) for r in rows]}


@router.get("/observations/{hub_id}", dependencies=[rule("public")], summary="One observation, as the caller may see it")
def get_observation(hub_id: int, request: Request, view: View = Depends(get_view)):
    from sqlalchemy import select
    from econet.hub import models as m
    from econet.hub.query import ObservationFilter
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        row = conn.execute(select(m.Dataset.name, m.Observation.time_utc).join(
            m.Dataset, m.Dataset.id == m.Observation.dataset_id).where(m.Observation.id == hub_id)).first()
        found = None
        if row is not None and row.name in rules.datasets:
            f = ObservationFilter(dataset=row.name)
            if row.time_utc is not None:
                import datetime as dt
                f.start, f.end = row.time_utc, row.time_utc + dt.timedelta(microseconds=1)
            for r in sharing.view_rows(conn, view, f, rules=rules, after=hub_id - 1):
                if r["hub_id"] == hub_id:
                    found = r
                break
    if found is None:  # absent, hidden or withheld: the same answer
        raise HTTPException(404, "no such observation")
    with eng.begin() as conn:
        sharing.audit(conn, view, "read", f"observation:{hub_id}", rules=rules, rows=[found])
    return {"view": view.describe(), **sharing.feature(found)}
