"""/api/v1/exports/dwca-event and /api/v1/exports/euring: sampling events (Darwin Core Archive, Event core) and
ring encounters (EURING 2000+ lines) as the caller may see them, with license and citation in the headers."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Depends, Request
from fastapi.responses import Response

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, Filters, engine
from econet.api.routers.exports import _ascii
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["exports"])


def _download(request: Request, filters: Filters, view: View, fmt: str, name: str, media: str) -> Response:
    from econet.hub.export import export_for_view
    with tempfile.TemporaryDirectory(prefix="econet-export-") as tmp:
        out = Path(tmp) / name
        with engine(request).begin() as conn:
            result = export_for_view(conn, view, fmt, out, filters.filter)
        body = out.read_bytes()
    lic = "; ".join(f"{d['dataset']}: {d['license'] or 'not stated'}" for d in result["datasets"])
    cit = " | ".join(f"{d['citation'] or d['owner'] + ', ' + d['dataset']}" for d in result["datasets"])
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Econet-View": view.kind,
               "X-Econet-License": _ascii(lic), "X-Econet-Citation": _ascii(cit),
               "X-Econet-Records": str(result["records"])}
    return Response(body, media_type=media, headers=headers)


@router.get("/exports/dwca-event", dependencies=[rule("public")],
            summary="Sampling events and their occurrences (DwC-A, Event core) through the caller's view")
def export_events(request: Request, filters: Filters = Depends(), view: View = Depends(get_view)):
    return _download(request, filters, view, "dwca-event", "sampling-events-dwca.zip", "application/zip")


@router.get("/exports/euring", dependencies=[rule("public")],
            summary="Ring encounters as EURING 2000+ exchange-code lines through the caller's view")
def export_euring(request: Request, filters: Filters = Depends(), view: View = Depends(get_view)):
    return _download(request, filters, view, "euring", "ring-encounters-euring.psv", "text/plain; charset=utf-8")
