"""`econet report AREA --out DIR`: an HTML and PDF atlas of a model area on one caller's view of the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Format, OutputFormat, Quiet, apply

HELP = ("Build an HTML and PDF atlas of a model area: maps (PAs by country, the border, circuit current and "
        "corridors), the PA table with fields of cooperation, indicators (coverage, ProtConn), population "
        "estimates, bird sites, glacier trends, the records the view may see, and the source and license of "
        "every dataset.\n\nAREA is a polygon file (GeoPackage, GeoJSON, shapefile), a protected area's name, or "
        "'demo-region'. The report is built on the view of --as USER (default: anonymous, the public view).")


def register(app: typer.Typer) -> None:
    @app.command("report", help=HELP)
    def report(
        area: Annotated[str, typer.Argument(help="Polygon file, a protected area's name, or 'demo-region'.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html, report.pdf, report.json.")],
        as_user: Annotated[Optional[str], typer.Option("--as", "--as-user", help="Build on this user's view "
                                                       "(default: anonymous).")] = None,
        results: Annotated[Optional[Path], typer.Option("--results", help="Folder of econet outputs to show "
                                                        "(e.g. the demo's: current.tif, corridors.gpkg, ...).")] = None,
        pas: Annotated[Optional[Path], typer.Option("--pas", help="Protected areas (vector file); default: the "
                                                    "shipped PA facts as approximate footprints.")] = None,
        title: Annotated[Optional[str], typer.Option("--title", help="Report title.")] = None,
        buffer: Annotated[Optional[float], typer.Option("--buffer", help="Grow the area by this many km "
                                                        "(default 25 for a PA name, else 0).")] = None,
        db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False,
    ) -> None:
        apply(quiet, debug)
        import os

        from econet.cli.console import emit, progress
        from econet.cli.options import DEFAULT_DB
        from econet.reports import build_report

        hub = db or os.environ.get("ECONET_DB") or (DEFAULT_DB if Path("econet.db").exists() else None)
        layer = None
        if pas is not None:
            from econet.geo.vector import read_vector
            layer = read_vector(pas)
        with progress("report") as bar:
            res = build_report(area, out, db=hub, user=as_user, results=results, pas=layer, title=title,
                               buffer_km=buffer, progress=bar)
        if fmt == OutputFormat.json:
            emit(res, fmt)
            return
        res["view"] = f"{res['view']['kind']} {res['view'].get('user') or ''}".strip()
        res["notes"] = " | ".join(res["notes"]) or "none"
        emit({k: (", ".join(v) if isinstance(v, list) else v) for k, v in res.items()}, fmt, title="report")
