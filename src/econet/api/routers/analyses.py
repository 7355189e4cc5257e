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


POPULATION = ("scr", "occupancy", "genetics", "crossings", "rai", "activity")


class Run(BaseModel):
    kind: Literal["summary", "grid", "scr", "occupancy", "genetics", "crossings", "rai", "activity"] = "summary"
    cell_km: float = Field(10.0, gt=0.05, le=500, description="grid: cell size (km, equal-area)")
    occasion_days: Optional[float] = Field(None, gt=0, le=366,
                                           description="scr / occupancy: occasion length, days (default 1 / 7)")
    detector: Literal["proximity", "count", "multi"] = Field("proximity", description="scr: detector type")
    detectfn: Literal["HN", "EX", "HHN", "HEX"] = Field("HN", description="scr: detection function")
    buffer_m: Optional[float] = Field(None, gt=0, le=500000, description="scr: mask buffer (m; default 4 sigma)")
    spacing_m: Optional[float] = Field(None, gt=0, le=100000, description="scr: mask spacing (m)")
    model: Optional[str] = Field(None, max_length=200, description="scr: secr model formulae, e.g. 'D ~ x, g0 ~ b'")
    psi: str = Field("~1", max_length=200, description="occupancy: psi formula")
    p: str = Field("~1", max_length=200, description="occupancy: p formula")
    max_mismatch: Optional[float] = Field(None, ge=0, le=100, description="genetics: allelematch alleleMismatch")
    species_a: Optional[str] = Field(None, max_length=300, description="activity: first species (e.g. tiger)")
    species_b: Optional[str] = Field(None, max_length=300, description="activity: second species (e.g. prey)")
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
    if body.kind in POPULATION:
        return _population(body, f, eng, view)
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


def _population(body: Run, f: ObservationFilter, eng, view: View) -> dict:
    """SCR, occupancy, genetics, crossings or RAI on the caller's view (hub.population), stored as a Job."""
    from sqlalchemy import insert
    from econet.errors import EconetError
    from econet.hub import models as m, population
    for k in ("model", "psi", "p", "species_a", "species_b"):
        clean_text(getattr(body, k), k)
    opts = {"scr": dict(occasion_days=body.occasion_days or 1.0, detector=body.detector, detectfn=body.detectfn,
                        buffer_m=body.buffer_m, spacing_m=body.spacing_m, model=body.model),
            "occupancy": dict(occasion_days=body.occasion_days or 7.0, psi=body.psi, p=body.p),
            "crossings": {}, "rai": {}, "activity": dict(species_a=body.species_a or "", species_b=body.species_b or "")}
    try:
        with eng.connect() as conn:
            if body.kind == "genetics":
                res = population.run_genetics(conn, view, dataset=body.dataset, taxon=body.taxon,
                                              max_mismatch=body.max_mismatch)
            else:
                res = population.RUNNERS[body.kind](conn, view, f, **opts[body.kind])
    except EconetError as exc:
        raise HTTPException(422, str(exc)) from None
    result = population.jsonable(res)
    info = result["input"]
    with eng.begin() as conn:
        jid = conn.execute(insert(m.Job).values(kind="analysis", user_id=view.user_id, status="done",
                                                done=info.get("records", 0), total=info.get("records", 0),
                                                params=body.model_dump(), view=view.describe(), result=result,
                                                created_at=m.utcnow(), finished_at=m.utcnow())
                           .returning(m.Job.id)).scalar_one()
        sharing.audit(conn, view, "analysis", f"analysis:{jid}", {"kind": body.kind, "records": info.get("records"),
                                                                   "datasets": info.get("datasets")})
    return {"id": jid, "kind": body.kind, "view": view.describe(), "records": info.get("records", 0),
            "generalized_input": bool(info.get("generalized")), "result": result}


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
