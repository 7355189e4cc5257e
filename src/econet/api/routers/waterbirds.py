"""/api/v1/waterbirds: waterbird counts and site importance (1% criterion, Ramsar 5/6, EAAF) on the caller's view.

Counts at a site where a sensitive species was recorded, or of a sensitive species, come generalized (cell
instead of site, no site name) for callers without exact access; the site ranking is computed on exactly
those counts and says which view it used.
"""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import MAX_LIMIT, PREFIX, clean_text, engine
from econet.api.routers._points import audited_rows, point_page
from econet.hub import monitoring
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["waterbirds"])


def _check(**kw):
    for k, v in kw.items():
        clean_text(v, k, ident=k in ("dataset", "taxon"))


@router.get("/waterbirds/counts", dependencies=[rule("public")],
            summary="Waterbird counts (site x date x species) the caller may see, as GeoJSON points")
def counts(request: Request, dataset: Optional[str] = Query(None, max_length=200),
           taxon: Optional[str] = Query(None, max_length=300),
           country: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}$"),
           start: Optional[str] = Query(None, max_length=40), end: Optional[str] = Query(None, max_length=40),
           limit: int = Query(1000, ge=1, le=MAX_LIMIT), after: Optional[int] = Query(None, ge=0),
           view: View = Depends(get_view)):
    _check(dataset=dataset, taxon=taxon, start=start, end=end)
    rows = audited_rows(request, view, "waterbird_counts", lambda conn, rules: monitoring.view_waterbird_counts(
        conn, view, dataset=dataset, taxon=taxon, country=country, start=start, end=end, after=after, limit=limit,
        rules=rules))
    return point_page(view, rows, limit)


@router.get("/waterbirds/sites", dependencies=[rule("public")],
            summary="Critical waterbird sites ranked (criteria, share of each flyway population), GeoJSON")
def sites(request: Request, dataset: Optional[str] = Query(None, max_length=200),
          taxon: Optional[str] = Query(None, max_length=300),
          country: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}$"),
          window: int = Query(5, ge=1, le=50, description="Years in the mean of seasonal peaks"),
          staging_share: Optional[float] = Query(None, gt=0, le=100),
          critical_only: bool = Query(False, description="Only sites meeting a criterion"),
          view: View = Depends(get_view)):
    from econet.errors import EconetError
    _check(dataset=dataset, taxon=taxon)
    with engine(request).begin() as conn:
        try:
            res, rep = monitoring.waterbird_sites_on_view(conn, view, dataset=dataset, taxon=taxon, country=country,
                                                          window=window, staging_share=staging_share)
        except EconetError as exc:
            if exc.message.startswith("no waterbird counts"):
                return {"type": "FeatureCollection", "view": view.describe(), "count": 0, "features": [],
                        "populations": []}
            raise
    ranked = res["ranked"]
    if critical_only and "critical" in ranked.columns:
        ranked = ranked[ranked["critical"]]
    shares = res["species"].dropna(subset=["population_id"])
    pops = [{k: monitoring._plain(v) for k, v in r.items()}
            for r in shares[[c for c in ("site_id", "population_id", "species", "share_pct", "one_percent",
                                         "criteria") if c in shares.columns]].to_dict("records")]
    return {"type": "FeatureCollection", **rep, "count": int(len(ranked)),
            "features": monitoring.site_features(ranked), "populations": pops}
