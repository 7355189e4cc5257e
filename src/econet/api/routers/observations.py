"""/api/v1/observations: filtered, paged observations as GeoJSON, JSON or CSV, through the caller's view."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import (MAX_LIMIT, PREFIX, Filters, csv_text, download_headers, engine,
                                        filters_fast, json_response)
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["observations"])


def _terms(rules, rows) -> list[dict]:
    return sharing.dataset_terms(rules, {r["dataset"] for r in rows})


def _next_url(request: Request, after: int) -> str:
    """The URL of the next page: the same query with `after` set to the last hub_id of this one."""
    from urllib.parse import urlencode
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "after"] + [("after", str(after))]
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/observations", dependencies=[rule("public")],
            summary="Observations the caller may see (sensitive ones generalized), a page at a time",
            description="Pages follow the hub_id (keyset paging): pass `after` = the `next_after` of the previous "
                        "page (or follow `next`, also sent as a `Link: <...>; rel=\"next\"` header); every page costs "
                        "the same however deep. The license and citation of every dataset in the page come with it "
                        "(`datasets`; for CSV the X-Econet-License / X-Econet-Citation headers).")
async def list_observations(request: Request, filters: Filters = Depends(filters_fast),
                            limit: int = Query(1000, ge=1, le=MAX_LIMIT),
                            after: Optional[int] = Query(None, ge=0, description="Paging: hub_id of the last record seen"),
                            format: str = Query("geojson", pattern="^(geojson|json|csv)$"),
                            view: View = Depends(get_view)):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(_page, request, filters, limit, after, format, view)  # one worker-thread hop


def _page(request: Request, filters: Filters, limit: int, after: Optional[int], format: str, view: View):
    f = filters.filter
    f.limit = limit
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        rows = list(sharing.view_rows(conn, view, f, rules=rules, after=after))
    sharing.audit_soon(eng, view, "read", "observations", {"filters": filters.as_dict(), "records": len(rows)},
                       rules=rules, rows=rows)
    nxt = rows[-1]["hub_id"] if len(rows) == limit else None
    terms = _terms(rules, rows)
    headers = {"X-Econet-View": view.kind, "X-Econet-Next": str(nxt or "")}
    if nxt is not None:
        headers["Link"] = f'<{_next_url(request, nxt)}>; rel="next"'
    if format == "csv":
        headers.update(download_headers(terms))
        return Response(csv_text(rows, sharing.VIEW_COLUMNS), media_type="text/csv", headers=headers)
    meta = {"view": view.describe(), "count": len(rows), "next_after": nxt,
            "next": _next_url(request, nxt) if nxt is not None else None, "datasets": terms}
    if format == "json":
        return json_response({**meta, "observations": rows}, headers=headers)
    return json_response({"type": "FeatureCollection", **meta, "features": [sharing.feature(r) for r in rows]},
                         headers=headers)


@router.get("/observations/{hub_id}", dependencies=[rule("public")], summary="One observation, as the caller may see it")
def get_observation(hub_id: int, request: Request, view: View = Depends(get_view)):
    from econet.hub import models as m
    from econet.hub.query import ObservationFilter
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        one = ObservationFilter(limit=1, scope=m.Observation.id == hub_id)
        found = next(sharing.view_rows(conn, view, one, rules=rules, after=hub_id - 1), None)
    if found is None:  # absent, hidden or withheld: the same answer
        raise HTTPException(404, "no such observation")
    sharing.audit_soon(eng, view, "read", f"observation:{hub_id}", rules=rules, rows=[found])
    return json_response({"view": view.describe(), **sharing.feature(found), "datasets": _terms(rules, [found])})
