"""/api/v1/tracks: tracked animals' tracks, fixes (GeoJSON, paged) and border crossings, through the caller's view.

A sensitive species' fixes are rounded to its category's grid (or withheld) for callers without exact access;
datasets the caller may not see (visibility, embargo) are left out. Crossings are computed on exactly the
fixes the caller sees, and say which view they used and whether their input was generalized.
"""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import MAX_LIMIT, PREFIX, clean_text, engine
from econet.api.routers._points import audited_rows, point_page
from econet.hub import sharing, tracking
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["tracks"])


class TrackParams:
    """The track filters every tracks route takes."""

    def __init__(self,
                 dataset: Optional[str] = Query(None, max_length=200, description="Dataset name"),
                 taxon: Optional[str] = Query(None, max_length=300, description="Scientific name (synonyms and subtaxa)"),
                 individual: Optional[str] = Query(None, max_length=200, description="Individual (animal) id"),
                 country: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}$", description="ISO alpha-2"),
                 start: Optional[str] = Query(None, max_length=40, description="From (UTC date or ISO time)"),
                 end: Optional[str] = Query(None, max_length=40, description="Until (UTC date inclusive)"),
                 bbox: Optional[str] = Query(None, max_length=200, description="west,south,east,north")):
        for k, v in (("dataset", dataset), ("taxon", taxon), ("individual", individual)):
            clean_text(v, k, ident=True)
        for k, v in (("start", start), ("end", end)):
            clean_text(v, k)
        b = None
        if bbox:
            try:
                b = [float(v) for v in bbox.split(",")]
                assert len(b) == 4 and b[0] <= b[2] and b[1] <= b[3]
            except (ValueError, AssertionError):
                raise HTTPException(422, "bbox must be west,south,east,north in degrees") from None
        self.filter = tracking.filter_from(dataset=dataset, taxon=taxon, individual=individual, country=country,
                                           start=start, end=end, bbox=b)


def _audit(request, view, target, rows, details=None):
    with engine(request).begin() as conn:
        sharing.audit(conn, view, "read", target, details or {"records": len(rows)},
                      rules=sharing.load_rules(conn, view), rows=rows)


@router.get("/tracks", dependencies=[rule("public")],
            summary="One line per tracked animal (GeoJSON), from the fixes the caller may see")
def list_tracks(request: Request, p: TrackParams = Depends(),
                max_points: int = Query(2000, ge=10, le=20000, description="Vertices per line at most"),
                view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        feats = tracking.view_tracks(conn, view, p.filter, max_points=max_points)
    _audit(request, view, "tracks", [{"dataset": f["properties"]["dataset"]} for f in feats])
    return {"type": "FeatureCollection", "view": view.describe(), "count": len(feats), "features": feats}


@router.get("/tracks/summary", dependencies=[rule("public")],
            summary="Fixes kept and flagged per dataset the caller may see")
def summary(request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return {"view": view.describe(), "datasets": tracking.track_summary(conn, view)}


@router.get("/tracks/fixes", dependencies=[rule("public")],
            summary="GPS fixes the caller may see, as GeoJSON points (paged by `after`)")
def list_fixes(request: Request, p: TrackParams = Depends(),
               limit: int = Query(1000, ge=1, le=MAX_LIMIT),
               after: Optional[int] = Query(None, ge=0, description="Paging: hub_id of the last fix seen"),
               flagged: bool = Query(False, description="Include fixes flagged by cleaning"),
               view: View = Depends(get_view)):
    f = p.filter
    f.include_flagged = flagged
    rows = audited_rows(request, view, "fixes",
                        lambda conn, rules: tracking.view_fixes(conn, view, f, rules=rules, after=after, limit=limit))
    return point_page(view, rows, limit)


@router.get("/tracks/crossings", dependencies=[rule("public")],
            summary="Border crossings of the tracks the caller may see (points on the border, GeoJSON)")
def crossings(request: Request, p: TrackParams = Depends(),
              border: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}[-,][A-Za-z]{2}$",
                                            description="Two countries, e.g. CN-RU (default: every border)"),
              tolerance_m: float = Query(100.0, ge=0, le=10000),
              max_gap: str = Query("2D", pattern=r"^\d+(\.\d+)?\s*[A-Za-z]+$"),
              view: View = Depends(get_view)):
    from econet.errors import EconetError
    with engine(request).begin() as conn:
        try:
            res, rep = tracking.crossings_on_view(conn, view, p.filter, border=border, tolerance_m=tolerance_m,
                                                  max_gap=max_gap, period="season")
        except EconetError as exc:
            if "no detections or fixes" in exc.message:
                return {"type": "FeatureCollection", "view": view.describe(), "count": 0, "totals": [],
                        "time_by_month": [], "features": [], "generalized_input": False}
            raise
    tot = res.totals.to_dict("records")
    tbm = res.time_by_month.assign(month=res.time_by_month["month"].astype(str)).to_dict("records") \
        if len(res.time_by_month) else []
    return {"type": "FeatureCollection", **rep, "count": len(res.events), "totals": tot, "time_by_month": tbm,
            "features": tracking.crossing_features(res.events)}


@router.get("/tracks/{animal}/fixes", dependencies=[rule("public")],
            summary="One animal's fixes the caller may see (GeoJSON, paged)")
def individual_fixes(animal: str, request: Request, p: TrackParams = Depends(),
                     limit: int = Query(1000, ge=1, le=MAX_LIMIT), after: Optional[int] = Query(None, ge=0),
                     view: View = Depends(get_view)):
    clean_text(animal, "animal", ident=True)
    f = p.filter
    f.individual = animal
    rows = audited_rows(request, view, f"fixes:{animal}",
                        lambda conn, rules: tracking.view_fixes(conn, view, f, rules=rules, after=after, limit=limit))
    if not rows and after is None:
        raise HTTPException(404, "no such animal")
    return point_page(view, rows, limit, individual=animal)
