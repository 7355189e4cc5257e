"""GeoJSON pages of located records the routers of issue 7 and 8 share (no routes here)."""

from __future__ import annotations


def point_feature(r: dict) -> dict:
    """A record dict with lon/lat (None when withheld) as a GeoJSON Feature, its other fields as properties."""
    geom = {"type": "Point", "coordinates": [r["lon"], r["lat"]]} if r.get("lon") is not None else None
    return {"type": "Feature", "id": r["hub_id"], "geometry": geom,
            "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")}}


def point_page(view, rows: list[dict], limit: int, **extra) -> dict:
    """A FeatureCollection page: the view it was read under, the count and `next_after` (the last hub_id
    when the page is full, for `after=`)."""
    return {"type": "FeatureCollection", "view": view.describe(), **extra, "count": len(rows),
            "next_after": rows[-1]["hub_id"] if len(rows) == limit and rows else None,
            "features": [point_feature(r) for r in rows]}


def audited_rows(request, view, target: str, fetch) -> list[dict]:
    """The rows `fetch(conn, rules)` yields for the view, read in one connection and logged as a read of
    `target` (with the datasets and owners they came from)."""
    from econet.api.routers._common import engine
    from econet.hub import sharing
    eng = engine(request)
    with eng.connect() as conn:
        rules = sharing.load_rules(conn, view)
        rows = list(fetch(conn, rules))
    with eng.begin() as conn:
        sharing.audit(conn, view, "read", target, {"records": len(rows)}, rules=rules, rows=rows)
    return rows
