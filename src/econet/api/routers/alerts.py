"""/api/v1/alerts and /api/v1/watch: the signed-in user's alerts (each record as the user's sharing view shows
it), marking them read, and the organizations' watch lists."""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import alerts
from econet.hub.sharing import View, audit

router = make_router(prefix=PREFIX, tags=["alerts"])


class ReadIn(BaseModel):
    ids: Optional[list[int]] = Field(None, max_length=10000, description="Alert ids; none: all my alerts")


class WatchIn(BaseModel):
    organization: str = Field(..., min_length=1, max_length=200)
    kind: Literal["invasive", "sensitive", "area"]
    name: str = Field(..., min_length=1, max_length=300, description="Scientific name, or the area's name")
    risk_category: Optional[str] = Field(None, max_length=50)
    distance_m: Optional[float] = Field(None, ge=0, le=500000,
                                        description="Invasive: alert distance from watched areas; sensitive: new-site radius")
    area_kind: Optional[Literal["pa", "corridor", "border"]] = None
    border: Optional[str] = Field(None, pattern=r"^[A-Za-z]{2}-[A-Za-z]{2}$")
    width_m: Optional[float] = Field(None, gt=0, le=200000)
    wkt: Optional[str] = Field(None, max_length=200000, description="Area polygon (WGS84 WKT)")
    note: Optional[str] = Field(None, max_length=2000)


@router.get("/alerts", dependencies=[rule("user")],
            summary="My alerts (my organizations'), newest first; locations as my sharing view shows them")
def my_alerts(request: Request, view: View = Depends(get_view), unread: bool = False,
              rule_name: Optional[Literal["invasive_near_area", "sensitive_new_site", "border_crossing",
                                          "import_failed"]] = Query(None, alias="rule"),
              limit: int = Query(200, ge=1, le=5000)):
    with engine(request).connect() as conn:
        items = alerts.list_alerts(conn, view, unread=unread, rule=rule_name, limit=limit)
    return {"alerts": items, "unread": sum(1 for a in items if not a["read"])}


@router.post("/alerts/read", dependencies=[rule("user")], summary="Mark my alerts read (all, or the ids given)")
def mark_read(body: ReadIn, request: Request, view: View = Depends(get_view)):
    with engine(request).begin() as conn:
        return alerts.mark_read(conn, view, body.ids)


@router.post("/alerts/{alert_id}/read", dependencies=[rule("user")], summary="Mark one alert read")
def mark_one_read(alert_id: int, request: Request, view: View = Depends(get_view)):
    with engine(request).begin() as conn:
        return alerts.mark_read(conn, view, [alert_id])


@router.get("/watch", dependencies=[rule("user")], summary="Watch lists of my organizations")
def watch_list(request: Request, view: View = Depends(get_view),
               organization: Optional[str] = Query(None, max_length=200)):
    clean_text(organization, "organization")
    with engine(request).connect() as conn:
        return {"items": alerts.list_items(conn, view, organization)}


@router.post("/watch", dependencies=[rule("data_manager")], status_code=201,
             summary="Add an item to an organization's watch list (its data managers)")
def watch_add(body: WatchIn, request: Request, view: View = Depends(get_view)):
    for k in ("organization", "name", "risk_category", "note"):
        clean_text(getattr(body, k), k)
    with engine(request).begin() as conn:
        return alerts.add_item(conn, view, body.organization, body.kind, body.name, risk_category=body.risk_category,
                               distance_m=body.distance_m, area_kind=body.area_kind, border=body.border,
                               width_m=body.width_m, geometry=body.wkt, note=body.note)


@router.delete("/watch", dependencies=[rule("data_manager")], summary="Remove an item from a watch list")
def watch_remove(request: Request, view: View = Depends(get_view),
                 organization: str = Query(..., max_length=200),
                 kind: Literal["invasive", "sensitive", "area"] = Query(...), name: str = Query(..., max_length=300)):
    with engine(request).begin() as conn:
        return alerts.remove_item(conn, view, organization, kind, name)


@router.post("/watch/run", dependencies=[rule("data_manager")],
             summary="Run the watch-list rules on every import now (idempotent), then send e-mails")
def watch_run(request: Request, view: View = Depends(get_view)):
    eng = engine(request)
    with eng.begin() as conn:
        new = alerts.run_all(conn)
        audit(conn, view, "watch.run", "watch:all", {"new_alerts": len(new)})
    return {"new_alerts": len(new), **alerts.deliver(eng, new)}
