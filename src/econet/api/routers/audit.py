"""/api/v1/audit: the append-only log of who read or exported what (data managers: their organizations)."""

from __future__ import annotations

from fastapi import Depends, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["audit"])


@router.get("/audit", dependencies=[rule("data_manager")], summary="Audit log entries (newest first)")
def audit_log(request: Request, limit: int = Query(200, ge=1, le=5000), offset: int = Query(0, ge=0),
              view: View = Depends(get_view)):
    eng = engine(request)
    sharing.flush_audit(eng)  # this process's waiting read entries first (other workers write theirs within 0.2 s)
    with eng.connect() as conn:
        return {"entries": sharing.read_audit(conn, view, limit=limit, offset=offset)}
