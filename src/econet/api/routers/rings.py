"""/api/v1/rings: ring encounters (ringing and recoveries) and the movements linking them, on the caller's view.

An encounter of a species sensitive in its country comes generalized for callers without exact access (no
EURING record, place code or fields 31-33); movements are computed on exactly the encounters the caller sees.
"""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import MAX_LIMIT, PREFIX, clean_text, engine
from econet.api.routers._points import audited_rows, point_page
from econet.hub import monitoring
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["rings"])


@router.get("/rings/encounters", dependencies=[rule("public")],
            summary="Ring encounters the caller may see, as GeoJSON points (paged by `after`)")
def encounters(request: Request, dataset: Optional[str] = Query(None, max_length=200),
               taxon: Optional[str] = Query(None, max_length=300), ring: Optional[str] = Query(None, max_length=20),
               limit: int = Query(1000, ge=1, le=MAX_LIMIT), after: Optional[int] = Query(None, ge=0),
               view: View = Depends(get_view)):
    for k, v in (("dataset", dataset), ("taxon", taxon)):
        clean_text(v, k, ident=True)
    clean_text(ring, "ring")
    rows = audited_rows(request, view, "ring_encounters", lambda conn, rules: monitoring.view_ring_encounters(
        conn, view, dataset=dataset, taxon=taxon, ring=ring, after=after, limit=limit, rules=rules))
    return point_page(view, rows, limit)


@router.get("/rings/recoveries", dependencies=[rule("public")],
            summary="Movements between encounters of the same ring (distance, direction, elapsed days), GeoJSON")
def recoveries(request: Request, dataset: Optional[str] = Query(None, max_length=200),
               taxon: Optional[str] = Query(None, max_length=300),
               mode: str = Query("ringing", pattern="^(ringing|consecutive)$"),
               view: View = Depends(get_view)):
    from econet.errors import EconetError
    for k, v in (("dataset", dataset), ("taxon", taxon)):
        clean_text(v, k, ident=True)
    with engine(request).begin() as conn:
        try:
            mv, _enc, rep = monitoring.ring_movements_on_view(conn, view, dataset=dataset, taxon=taxon, mode=mode)
        except EconetError as exc:
            if exc.message.startswith("no ring encounters"):
                return {"type": "FeatureCollection", "view": view.describe(), "count": 0, "features": []}
            raise
    return {"type": "FeatureCollection", **rep, "count": int(len(mv)), "features": monitoring.movement_features(mv)}
