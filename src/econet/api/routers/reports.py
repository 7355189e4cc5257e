"""/api/v1/reports: the atlas's "report" button. POST starts a report of an area on the caller's view (a job);
GET tells its progress; GET .../report.html and .../report.pdf download it.

A report is computed on its caller's view and goes back only to its caller (and the hub admin), or to anyone
when it ran on the anonymous view - like analysis runs. Areas are names (a PA, 'demo-region') or WKT /
GeoJSON polygons; never a path on the server.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path
from typing import Optional

from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["reports"])
MEDIA = {"report.html": "text/html; charset=utf-8", "report.pdf": "application/pdf"}
ROOT = Path(tempfile.gettempdir()) / "econet-reports"


class ReportRequest(BaseModel):
    area: str = Field(..., min_length=1, max_length=200000,
                      description="A protected area's name, 'demo-region', or a WKT / GeoJSON polygon (WGS84)")
    title: Optional[str] = Field(None, max_length=200)
    buffer_km: Optional[float] = Field(None, ge=0, le=500, description="Grow the area by this many km")


def _job(request: Request, report_id: int, view: View):
    from sqlalchemy import select
    from econet.hub import models as m
    with engine(request).connect() as conn:
        j = conn.execute(select(m.Job.__table__).where(m.Job.id == report_id, m.Job.kind == "report")).first()
    if j is None or not (view.is_admin or (j.view or {}).get("kind") == "anonymous"
                         or (j.user_id is not None and j.user_id == view.user_id)):
        raise HTTPException(404, "no such report")
    return j


def _run(eng, jid: int, area: str, title, buffer_km, view: View, results, folder: Path) -> None:
    """Build the report in a worker thread, noting progress and the outcome in the job row."""
    from sqlalchemy import update
    from econet.errors import EconetError
    from econet.hub import models as m
    from econet.reports import FILES, build_report
    from econet.reports.area import resolve

    def note(**values):
        with eng.begin() as conn:
            conn.execute(update(m.Job).where(m.Job.id == jid).values(**values))

    def progress(done, total=None, description=None):
        note(done=int(done), total=int(total) if total else None)

    note(status="running")
    try:
        a = resolve(area, buffer_km=buffer_km, files=False)
        res = build_report(a, folder, db=eng, view=view, results=results, title=title, progress=progress)
    except EconetError as exc:
        note(status="failed", error=exc.message, finished_at=m.utcnow())
        return
    except Exception as exc:  # a bug: the job says so, the server keeps running
        note(status="failed", error=f"unexpected {type(exc).__name__}", finished_at=m.utcnow())
        return
    note(status="done", finished_at=m.utcnow(),
         result={"folder": str(folder), "files": list(FILES), "area": res["area"],
                 "protected_areas": res["protected_areas"], "records": res["records"], "notes": res["notes"]})


@router.post("/reports", dependencies=[rule("public")], status_code=202,
             summary="Start a report (HTML + PDF atlas) of an area on the caller's view; returns the job id")
def create_report(body: ReportRequest, request: Request, view: View = Depends(get_view)):
    from sqlalchemy import insert
    from econet.hub import models as m
    clean_text(body.title, "title")
    if not body.area.lstrip().startswith("{"):
        clean_text(body.area, "area", max_len=200000)
    catalog = getattr(request.app.state, "catalog", None)
    results = getattr(catalog, "demo_dir", None)
    eng = engine(request)
    with eng.begin() as conn:
        jid = conn.execute(insert(m.Job).values(
            kind="report", user_id=view.user_id, status="queued", done=0, total=None,
            params={"area": body.area[:500], "title": body.title, "buffer_km": body.buffer_km},
            view=view.describe(), created_at=m.utcnow()).returning(m.Job.id)).scalar_one()
    folder = ROOT / f"{jid}-{uuid.uuid4().hex}"
    threading.Thread(target=_run, args=(eng, jid, body.area, body.title, body.buffer_km, view, results, folder),
                     daemon=True, name=f"econet-report-{jid}").start()
    return {"id": jid, "status": "queued", "view": view.describe(),
            "status_url": f"{PREFIX}/reports/{jid}", "html_url": f"{PREFIX}/reports/{jid}/report.html",
            "pdf_url": f"{PREFIX}/reports/{jid}/report.pdf"}


@router.get("/reports/{report_id}", dependencies=[rule("public")],
            summary="A report job: status, progress, and what it holds once done")
def report_status(report_id: int, request: Request, view: View = Depends(get_view)):
    j = _job(request, report_id, view)
    result = {k: v for k, v in (j.result or {}).items() if k != "folder"}
    return {"id": j.id, "status": j.status, "done": j.done, "total": j.total, "error": j.error, "view": j.view,
            "params": j.params, "result": result or None, "created_at": j.created_at.isoformat()}


@router.get("/reports/{report_id}/report.html", dependencies=[rule("public")], summary="Download the HTML report")
def report_html(report_id: int, request: Request, view: View = Depends(get_view)):
    return _file(request, report_id, view, "report.html")


@router.get("/reports/{report_id}/report.pdf", dependencies=[rule("public")], summary="Download the PDF report")
def report_pdf(report_id: int, request: Request, view: View = Depends(get_view)):
    return _file(request, report_id, view, "report.pdf")


def _file(request: Request, report_id: int, view: View, name: str):
    j = _job(request, report_id, view)
    if j.status != "done":
        raise HTTPException(409, f"report {report_id} is {j.status}" + (f": {j.error}" if j.error else ""))
    path = Path((j.result or {}).get("folder", "")) / name
    if not path.is_file():
        raise HTTPException(410, "the report files are gone (the server was restarted); start it again")
    disposition = "inline" if name.endswith(".html") else "attachment"
    return FileResponse(path, media_type=MEDIA[name], filename=f"econet-report-{report_id}{Path(name).suffix}",
                        content_disposition_type=disposition)
