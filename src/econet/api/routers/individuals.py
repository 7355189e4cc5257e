"""/api/v1/individuals: known animals in what the caller may see (from the caller's view of the records)."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, Filters, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["individuals"])


def _individuals(request: Request, view: View, f) -> list[dict]:
    with engine(request).connect() as conn:
        rules = sharing.load_rules(conn, view)
        by: dict[tuple, dict] = {}
        rows = []
        for r in sharing.view_rows(conn, view, f, rules=rules):
            if not r["individual"]:
                continue
            rows.append(r)
            k = (r["dataset"], r["individual"])
            d = by.setdefault(k, {"individual": r["individual"], "dataset": r["dataset"],
                                  "scientific_name": r["accepted_name"] or r["scientific_name"], "records": 0,
                                  "first": r["time_utc"], "last": r["time_utc"], "countries": set()})
            d["records"] += 1
            if r["time_utc"]:
                d["first"] = min(filter(None, [d["first"], r["time_utc"]]))
                d["last"] = max(filter(None, [d["last"], r["time_utc"]]))
            if r["country_code"]:
                d["countries"].add(r["country_code"])
    with engine(request).begin() as conn:
        sharing.audit(conn, view, "read", "individuals", {"records": len(rows)}, rules=rules, rows=rows)
    return [{**d, "countries": sorted(d["countries"])} for d in by.values()]


@router.get("/individuals", dependencies=[rule("public")], summary="Individuals with records the caller may see")
def list_individuals(request: Request, filters: Filters = Depends(), limit: int = Query(1000, ge=1, le=10000),
                     view: View = Depends(get_view)):
    out = _individuals(request, view, filters.filter)
    return {"view": view.describe(), "individuals": out[:limit]}


@router.get("/individuals/{key}", dependencies=[rule("public")], summary="One individual and its records")
def get_individual(key: str, request: Request, dataset: Optional[str] = Query(None, max_length=200),
                   view: View = Depends(get_view)):
    from econet.hub.query import ObservationFilter
    f = ObservationFilter(individual=key, dataset=dataset)
    out = _individuals(request, view, f)
    if not out:
        raise HTTPException(404, "no such individual")
    with engine(request).connect() as conn:
        recs = [sharing.feature(r) for r in sharing.view_rows(conn, view, ObservationFilter(individual=key,
                                                                                           dataset=dataset))]
    return {"view": view.describe(), "individual": out, "features": recs}
