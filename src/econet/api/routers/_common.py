"""Helpers the resource routers share: filters from query parameters, text checks, responses."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Optional

from fastapi import HTTPException, Query, Request
from fastapi.responses import Response

from econet.hub.query import ObservationFilter

PREFIX = "/api/v1"
MAX_LIMIT = 10000
_UNSAFE = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: SQL/script/template injection shapes refused in every free-text field (names are stricter still)
_INJECTION = re.compile(r"(;\s*(drop|delete|insert|update|select|alter|create|truncate|exec)\b|--|/\*|\*/|"
                        r"\bunion\s+(all\s+)?select\b|['\"]\s*(or|and)\s+['\"\d]|\$\{|javascript:|on\w+\s*=)",
                        re.IGNORECASE)
_IDENT = re.compile(r"^[\w][\w .,:()'&/-]{0,199}$", re.UNICODE)


def clean_text(value: Optional[str], field: str, *, ident: bool = False, max_len: int = 2000) -> Optional[str]:
    """Refuse markup, control characters and over-long text (names: letters, digits, space and . , ( ) ' & / -)."""
    if value is None:
        return None
    if len(value) > max_len or _UNSAFE.search(value) or _INJECTION.search(value) or (ident and (not _IDENT.match(value) or "--" in value
                                                                   or ";" in value)):
        raise HTTPException(422, f"invalid {field}: plain text only (no markup, control characters, SQL or script)")
    return value.strip()


class Filters:
    """The observation filters every query route takes (taxon, time, bbox, polygon, country, dataset, individual)."""

    def __init__(self,
                 taxon: Optional[str] = Query(None, max_length=300, description="Scientific name (synonyms and subtaxa included)"),
                 start: Optional[str] = Query(None, max_length=40, description="From (UTC date or ISO time)"),
                 end: Optional[str] = Query(None, max_length=40, description="Until (UTC date inclusive or ISO time)"),
                 bbox: Optional[str] = Query(None, max_length=200, description="west,south,east,north (WGS84)"),
                 polygon: Optional[str] = Query(None, max_length=100000, description="WKT polygon (WGS84)"),
                 country: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}$", description="ISO alpha-2"),
                 dataset: Optional[str] = Query(None, max_length=2000, description="Dataset name(s), comma-separated"),
                 individual: Optional[str] = Query(None, max_length=200, description="Individual id")):
        for k, v in (("taxon", taxon), ("individual", individual)):
            clean_text(v, k, ident=True)
        for d in (dataset or "").split(","):
            clean_text(d.strip() or None, "dataset", ident=True)
        for k, v in (("start", start), ("end", end)):
            clean_text(v, k)
        f = ObservationFilter(taxon=taxon, start=start, end=end, country=country, individual=individual)
        if dataset:
            f.dataset = [d.strip() for d in dataset.split(",") if d.strip()]
        if bbox:
            try:
                b = [float(v) for v in bbox.split(",")]
                assert len(b) == 4 and b[0] <= b[2] and b[1] <= b[3]
                assert -180 <= b[0] <= 180 and -180 <= b[2] <= 180 and -90 <= b[1] <= 90 and -90 <= b[3] <= 90
            except (ValueError, AssertionError):
                raise HTTPException(422, "bbox must be west,south,east,north in degrees") from None
            f.bbox = b
        if polygon:
            import shapely
            try:
                g = shapely.from_wkt(polygon)
                assert g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon")
            except Exception:
                raise HTTPException(422, "polygon must be a WKT Polygon or MultiPolygon in WGS84") from None
            f.polygon = g
        self.filter = f

    def as_dict(self) -> dict:
        f = self.filter
        return {k: v for k, v in {"taxon": f.taxon, "start": f.start, "end": f.end, "bbox": f.bbox,
                                  "polygon": f.polygon.wkt[:500] if f.polygon is not None else None,
                                  "country": f.country, "dataset": f.dataset, "individual": f.individual}.items()
                if v not in (None, [], "")}


def _on_event_loop(cls):
    """`cls` as an async dependency with the same query parameters: FastAPI runs a class dependency on a
    worker thread, a hop that costs more than checking a few parameters."""
    import inspect

    async def dependency(**kw):
        return cls(**kw)

    sig = inspect.signature(cls.__init__)
    dependency.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:], return_annotation=cls)
    dependency.__name__ = f"{cls.__name__.lower()}_on_event_loop"
    return dependency


#: `filters: Filters = Depends(filters_fast)`: the observation filters, checked on the event loop
filters_fast = _on_event_loop(Filters)


def csv_text(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def json_response(payload, *, status_code: int = 200, headers: dict | None = None) -> Response:
    """JSON built straight from plain dicts and lists (no pydantic or jsonable_encoder walk: big pages are ~50x
    cheaper); values the json module does not know (dates) become their str()."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
    return Response(body.encode("utf-8"), status_code=status_code, media_type="application/json", headers=headers)


def ascii_header(s: str) -> str:
    """A header value (HTTP headers are latin-1: other characters as backslash escapes), at most 4,000 chars."""
    return s.encode("ascii", "backslashreplace").decode()[:4000]


def download_headers(terms: list[dict]) -> dict:
    """The license and citation of every dataset in a download, as headers (X-Econet-License/-Citation)."""
    lic = "; ".join(f"{d['dataset']}: {d['license'] or 'not stated'}" for d in terms)
    cit = " | ".join(f"{d['citation'] or d['owner'] + ', ' + d['dataset']}" for d in terms)
    return {"X-Econet-License": ascii_header(lic), "X-Econet-Citation": ascii_header(cit)}


def engine(request: Request):
    from econet.api.auth import engine_of
    return engine_of(request)
