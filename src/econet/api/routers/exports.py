"""/api/v1/exports: download what the caller may see (CSV, GeoJSON, Darwin Core Archive) with license and citation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, Filters, download_headers, engine
from econet.api.routers._common import ascii_header as _ascii  # noqa: F401 - used by standard_exports
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["exports"])
MEDIA = {"csv": "text/csv", "geojson": "application/geo+json", "dwca": "application/zip"}
SUFFIX = {"csv": ".csv", "geojson": ".geojson", "dwca": ".zip"}


@router.get("/exports/observations", dependencies=[rule("public")],
            summary="Download observations through the caller's view; license and citation in the headers and file")
def export_observations(request: Request, filters: Filters = Depends(),
                        format: str = Query("csv", pattern="^(csv|geojson|dwca)$"), view: View = Depends(get_view)):
    eng = engine(request)
    with tempfile.TemporaryDirectory(prefix="econet-export-") as tmp:
        out = Path(tmp) / ("observations" + SUFFIX[format])
        with eng.begin() as conn:
            result = sharing.export_view(conn, view, format, out, filters.filter)
        body = out.read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="observations{SUFFIX[format]}"',
               **download_headers(result["datasets"]), "X-Econet-View": view.kind,
               "X-Econet-Records": str(result["records"])}
    return Response(body, media_type=MEDIA[format], headers=headers)


@router.get("/exports/terms", dependencies=[rule("public")],
            summary="License and citation of each dataset an export would hold")
def export_terms(request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return {"view": view.describe(), "datasets": sharing.visible_datasets(conn, view)}

