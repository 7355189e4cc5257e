"""Reports: an HTML and PDF atlas of a model area, in the spirit of the Amur-Heilong atlas, built on one
caller's view of the hub (`build_report`). Files: report.html (self-contained), report.pdf, report.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: result files a report reads from a results folder (the demo's output folder holds them all)
RESULT_FILES = ("protected_areas.gpkg", "current.tif", "corridors.gpkg", "pa_resistances.csv",
                "waterbird_sites_ranked.csv", "glacier_trends.csv")
FILES = ("report.html", "report.pdf", "report.json")


def results_in(folder: str | Path | None) -> dict[str, Path]:
    """Name -> path of the result files a report uses in `folder` (SCR tables: scr*.csv, *scr*/estimates.csv)."""
    if folder is None:
        return {}
    from econet.errors import EconetError
    folder = Path(folder)
    if not folder.is_dir():
        raise EconetError("results folder not found", path=folder, field="results")
    found = {n: folder / n for n in RESULT_FILES if (folder / n).is_file()}
    found.update({p.name: p for p in sorted(folder.glob("scr*.csv"))})
    found.update({f"{p.parent.name}/{p.name}": p for p in sorted(folder.glob("*scr*/estimates.csv"))})
    return found


def build_report(area: Any, out: str | Path, *, db: Any = None, view=None, user: str | None = None,
                 results: str | Path | dict | None = None, pas=None, title: str | None = None,
                 buffer_km: float | None = None, progress=None) -> dict:
    """Write report.html, report.pdf and report.json for `area` (polygon file, PA name, 'demo-region' or an
    `Area`) into the folder `out`, on `view` (or `user`'s view; default anonymous). Returns what was written."""
    import json

    from econet.atomic import OutputSet
    from econet.reports import content, figures, render
    from econet.reports.area import Area, resolve

    a = area if isinstance(area, Area) else resolve(area, buffer_km=buffer_km)
    engine = None
    if db is not None:
        from econet.hub.db import open_hub
        engine = open_hub(db) if isinstance(db, (str, Path)) else db
    if view is None:
        from econet.hub.sharing import View
        if user:
            if engine is None:
                from econet.errors import EconetError
                raise EconetError("--as needs the hub (--db or ECONET_DB) to know the user", field="as")
            with engine.connect() as conn:
                view = View.for_user(conn, user)
        else:
            view = View.anonymous()
    found = results if isinstance(results, dict) else results_in(results)
    rep = content.gather(a, view, engine=engine, results=found, pas=pas, title=title, progress=progress)
    figs = {"Protected areas and records": figures.overview_map(rep)}  # drawn once: PNG for HTML and PDF
    conn_map = figures.connectivity_map(rep)
    if conn_map is not None:
        figs["Connectivity: circuit current and corridors"] = conn_map
    pngs = {k: figures.png_bytes(f) for k, f in figs.items()}
    out = Path(out)
    with OutputSet(out) as files:
        files.path("report.html").write_text(render.html_report(rep, pngs), encoding="utf-8")
        render.pdf_report(rep, pngs, files.path("report.pdf"))
        files.path("report.json").write_text(json.dumps(rep.summary(), indent=2, default=str, ensure_ascii=False),
                                             encoding="utf-8")
    return {"files": [str(out / f) for f in FILES], "area": a.name, "view": rep.view,
            "protected_areas": len(rep.pas), "pa_pairs": len(rep.pairs), "records": rep.observations.get("records"),
            "notes": rep.notes}
