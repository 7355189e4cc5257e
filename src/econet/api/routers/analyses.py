"""/api/v1/analyses: analysis runs on the caller's view - exactly what an export to the caller would hold.

Each run records the view it used; its results go back only to its caller (and the hub admin), or to
anyone when it ran on the anonymous view, so results computed from exact data reach only those entitled.
"""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import sharing
from econet.hub.query import ObservationFilter
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["analyses"])


class Run(BaseModel):
    kind: Literal["summary", "grid"] = "summary"
    cell_km: float = Field(10.0, gt=0.05, le=500, description="grid: cell size (km, equal-area)")
    taxon: Optional[str] = Field(None, max_length=300)
    dataset: Optional[str] = Field(None, max_length=200)
    country: Optional[str] = Field(None, pattern=r"^[A-Za-z]{2}$")
    start: Optional[str] = Field(None, max_length=40)
    end: Optional[str] = Field(None, max_length=40)


def run_analysis(df, kind: str, cell_km: float = 10.0) -> dict:
    """Pure analysis of a view frame: record/individual counts, or occupied equal-area grid cells per taxon."""
    import numpy as np
    if kind == "summary":
        return {"records": int(len(df)),
                "by_taxon": {str(k): int(v) for k, v in df.groupby(df["accepted_name"].fillna(df["scientific_name"]))
                             .size().items()} if len(df) else {},
                "by_country": {str(k): int(v) for k, v in df.groupby("country_code").size().items()} if len(df) else {},
                "individuals": int(df["individual"].dropna().nunique()) if len(df) else 0,
                "generalized_records": int(df["data_generalizations"].notna().sum()) if len(df) else 0}
    has = df.dropna(subset=["x_laea", "y_laea"]) if len(df) else df
    size = cell_km * 1000.0
    cells: dict[str, list] = {}
    for name, g in (has.groupby(has["accepted_name"].fillna(has["scientific_name"])) if len(has) else []):
        ij = np.unique(np.floor(np.c_[g["x_laea"].to_numpy(float), g["y_laea"].to_numpy(float)] / size).astype(int),
                       axis=0)
        cells[str(name)] = [[int(i), int(j)] for i, j in ij]
    return {"cell_km": cell_km, "occupied_cells": {k: len(v) for k, v in cells.items()}, "cells": cells}


@router.post("/analyses", dependencies=[rule("public")], status_code=201,
             summary="Run an analysis on the caller's view (says which view it used)")
def create(body: Run, request: Request, view: View = Depends(get_view)):
    from sqlalchemy import insert
    from econet.hub import models as m
    for k in ("taxon", "dataset", "start", "end"):
        clean_text(getattr(body, k), k)
    f = ObservationFilter(taxon=body.taxon, dataset=body.dataset, country=body.country, start=body.start,
                          end=body.end)
    eng = engine(request)
    with eng.connect() as conn:
        df = sharing.analysis_frame(conn, view, f)
    result = run_analysis(df, body.kind, body.cell_km)
    exact = bool(len(df)) and not df["data_generalizations"].notna().any()
    with eng.begin() as conn:
        jid = conn.execute(insert(m.Job).values(kind="analysis", user_id=view.user_id, status="done",
                                                done=len(df), total=len(df), params=body.model_dump(),
                                                view=view.describe(), result=result, created_at=m.utcnow(),
                                                finished_at=m.utcnow()).returning(m.Job.id)).scalar_one()
        sharing.audit(conn, view, "analysis", f"analysis:{jid}", {"kind": body.kind, "records": len(df)},
                      rules=sharing.load_rules(conn, view), rows=df[["dataset"]].to_dict("records"))
    return {"id": jid, "kind": body.kind, "view": view.describe(), "records": int(len(df)),
            "generalized_input": not exact and bool(len(df)), "result": result}


@router.get("/analyses/{run_id}", dependencies=[rule("public")],
            summary="An analysis run (its caller, the admin, or anyone for runs on the anonymous view)")
def get_run(run_id: int, request: Request, view: View = Depends(get_view)):
    from sqlalchemy import select
    from econet.hub import models as m
    with engine(request).connect() as conn:
        j = conn.execute(select(m.Job.__table__).where(m.Job.id == run_id, m.Job.kind == "analysis")).first()
    if j is None or not (view.is_admin or (j.view or {}).get("kind") == "anonymous"
                         or (j.user_id is not None and j.user_id == view.user_id)):
        raise HTTPException(404, "no such analysis run")
    return {"id": j.id, "kind": j.params.get("kind"), "params": j.params, "view": j.view, "result": j.result,
            "created_at": j.created_at.isoformat()}
