"""/api/v1/sites: places of the datasets the caller may see; places of sensitive records generalized."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["sites"])


@router.get("/sites", dependencies=[rule("public")], summary="Sites (camera stations, plots) the caller may see")
def list_sites(request: Request, dataset: Optional[str] = Query(None, max_length=200),
               limit: int = Query(1000, ge=1, le=10000), view: View = Depends(get_view)):
    clean_text(dataset, "dataset")
    with engine(request).connect() as conn:
        sites = sharing.view_sites(conn, view, dataset=dataset, limit=limit)
    return {"view": view.describe(), "sites": sites}
