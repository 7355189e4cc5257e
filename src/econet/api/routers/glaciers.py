"""/api/v1/glaciers: glaciers with their mass-balance trend, and each glacier's series, from the datasets the
caller may see (visibility and embargo; glacier positions are public)."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import monitoring
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["glaciers"])


@router.get("/glaciers", dependencies=[rule("public")],
            summary="Glaciers with their mass-balance trend (Theil-Sen, least squares) as GeoJSON points")
def glaciers(request: Request, dataset: Optional[str] = Query(None, max_length=200),
             min_years: int = Query(5, ge=2, le=200), view: View = Depends(get_view)):
    from econet.errors import EconetError
    clean_text(dataset, "dataset", ident=True)
    with engine(request).begin() as conn:
        try:
            summary, _mb, rep = monitoring.glacier_trends_on_view(conn, view, dataset=dataset, min_years=min_years)
        except EconetError as exc:
            if exc.message.startswith("no glacier"):
                return {"type": "FeatureCollection", "view": view.describe(), "count": 0, "features": []}
            raise
    return {"type": "FeatureCollection", **rep, "count": int(len(summary)),
            "features": monitoring.glacier_features(summary)}


@router.get("/glaciers/{wgms_id}/series", dependencies=[rule("public")],
            summary="One glacier's glacier-wide series (mass balance, area, front variation...) by year")
def series(wgms_id: int, request: Request, variable: Optional[str] = Query(None, max_length=60),
           view: View = Depends(get_view)):
    clean_text(variable, "variable", ident=True)
    with engine(request).connect() as conn:
        obs = monitoring.glacier_observations(conn, view, glacier=wgms_id)
    if variable:
        obs = obs[obs["variable"] == variable.lower()]
    if obs.empty:
        raise HTTPException(404, "no such glacier in the data you may see")
    head = obs.iloc[0]
    out = {}
    for var, g in obs.groupby("variable"):
        out[var] = {"unit": g["unit"].iloc[0],
                    "values": [{"year": None if r.year != r.year else int(r.year), "value": r.value,
                                "uncertainty": None if r.uncertainty != r.uncertainty else r.uncertainty,
                                "dataset": r.dataset} for r in g.itertuples()]}
    return {"view": view.describe(), "wgms_id": wgms_id, "name": head["name"], "country": head["country"],
            "lon": head["lon"], "lat": head["lat"], "series": out}
