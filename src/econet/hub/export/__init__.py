"""Exports from the hub: Camtrap DP, Darwin Core Archive (Occurrence or Event core), EURING, CSV and GeoPackage
(`export_dataset`); `export_for_view` exports what one caller may see (sharing rules applied)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from econet.errors import EconetError

FORMATS = ("dwca", "dwca-event", "euring", "camtrap-dp", "csv", "gpkg")
#: formats written through a caller's view by this package (the others by hub.sharing.export_view)
VIEW_FORMATS = ("dwca-event", "euring")


def export_for_view(conn, view, fmt: str, out: str | Path, f=None, *, progress=None) -> dict:
    """Export what `view` may see: dwca-event and euring here, csv/geojson/dwca through hub.sharing."""
    if fmt == "dwca-event":
        from econet.hub.export.dwca_event import export_events
        return export_events(conn, view, out, f, progress=progress)
    if fmt == "euring":
        from econet.hub.export.euring import export_euring
        return export_euring(conn, view, out, f, progress=progress)
    from econet.hub.sharing import EXPORT_FORMATS, export_view
    if fmt not in EXPORT_FORMATS:
        raise EconetError(f"unknown export format {fmt!r} for a user's view (one of: "
                          f"{', '.join(EXPORT_FORMATS + VIEW_FORMATS)})", field="format")
    return export_view(conn, view, fmt, out, f, progress=progress)


def export_dataset(db: Any, fmt: str, out: str | Path, *, dataset: str | None = None, filters=None,
                   progress=None) -> dict:
    """Export a dataset (or, for csv/gpkg, any query) to `out`; return what was written."""
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter

    engine = open_hub(db) if isinstance(db, (str, type(None))) else db
    if fmt not in FORMATS:
        raise EconetError(f"unknown export format {fmt!r} (one of: {', '.join(FORMATS)})", field="format")
    f = filters or ObservationFilter()
    if dataset and not f.dataset:
        f.dataset = dataset
    if fmt in VIEW_FORMATS:  # the hub's own user sees everything exactly
        from econet.hub.sharing import View
        with engine.begin() as conn:
            result = export_for_view(conn, View.admin(_os_user() or "admin"), fmt, out, f, progress=progress)
        result["datasets"] = [d["dataset"] for d in result["datasets"]]
        return {k: v for k, v in result.items() if k != "view"}
    result = _export(engine, fmt, out, dataset, f, progress)
    _audit(engine, "export", f"{fmt}:{dataset or 'query'}", {"out": str(out), **result,
                                                                "filters": _filters(f)})
    return result


def _filters(f) -> dict:
    from dataclasses import asdict
    return {k: (str(v)[:2000] if not isinstance(v, (int, float, str, type(None), list, tuple)) else v)
            for k, v in asdict(f).items() if v not in (None, {}, [], ()) and k != "border_distance_m"}


def _os_user() -> str | None:
    import getpass
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return None


def _audit(engine, action: str, target: str, details: dict) -> None:
    """Append to the audit log (who: the OS user for CLI/Python use; the API records its own callers)."""
    import json
    from econet.hub import models as m
    actor = _os_user()
    with engine.begin() as conn:
        conn.execute(m.AuditEntry.__table__.insert().values(
            at=m.utcnow(), actor=actor, action=action, target=target,
            details=json.loads(json.dumps(details, default=str))))


def _export(engine, fmt, out, dataset, f, progress) -> dict:
    from econet.hub import models as m
    with engine.connect() as conn:
        ds_id = None
        if dataset:
            ds_id = conn.execute(select(m.Dataset.id).where(m.Dataset.name == dataset)).scalar()
            if ds_id is None:
                raise EconetError(f"no dataset named {dataset!r}", field="dataset")
        if fmt in ("dwca", "camtrap-dp") and ds_id is None:
            raise EconetError(f"--dataset is required for {fmt} export", field="dataset")
        if fmt == "camtrap-dp":
            from econet.hub.export.camtrap_dp import export
            files = export(conn, ds_id, out, progress=progress)
            return {"format": fmt, "files": [str(p) for p in files]}
        if fmt == "dwca":
            from econet.hub.export.dwca import export
            n = export(conn, ds_id, out, filters=f, progress=progress)
            return {"format": fmt, "files": [str(out)], "records": n}
        from econet.hub.export.table import export_csv, export_gpkg
        n = (export_csv if fmt == "csv" else export_gpkg)(conn, f, out, progress=progress)
        return {"format": fmt, "files": [str(out)], "records": n}
