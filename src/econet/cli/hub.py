"""`econet hub`: the shared observation hub - init, import, export, stats, reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Format, OutputFormat, Quiet, apply

hub_app = typer.Typer(help="The shared observation hub: import partners' data, harmonize it, export standards.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")


@hub_app.command("init")
def init(db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Create or upgrade the hub database (SQLite file or PostgreSQL+PostGIS) to the newest schema."""
    apply(quiet, debug)
    from econet.cli.console import emit
    from econet.hub.db import init_hub
    from econet.hub.taxonomy import seed
    from econet.hub.db import open_hub
    info = init_hub(db)
    with open_hub(db).begin() as conn:
        info["taxa_seeded"] = seed(conn)
    emit(info, fmt, title="hub")


@hub_app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="File or folder (Camtrap DP folder, DwC-A zip, EURING, "
                                                      "WGMS folder/CSV, genotype file, CSV).")],
            dataset: Annotated[str, typer.Option("--dataset", help="Dataset name (created if new).")],
            org: Annotated[str, typer.Option("--org", help="Owner organization (created if new).")],
            format: Annotated[Optional[str], typer.Option(
                "--format", help="camtrap-dp | dwca | euring | wgms | genotypes | csv (default: detected).")] = None,
            mapping: Annotated[Optional[Path], typer.Option("--mapping", help="YAML mapping file for a plain CSV.")] = None,
            country: Annotated[Optional[str], typer.Option("--country", help="Organization's country (ISO alpha-2).")] = None,
            license: Annotated[Optional[str], typer.Option("--license", help="Data license (e.g. CC-BY-4.0).")] = None,
            citation: Annotated[Optional[str], typer.Option("--citation", help="How to cite the dataset.")] = None,
            link_window: Annotated[float, typer.Option("--link-window", help="Duplicate links: max minutes apart.")] = 60.0,
            link_distance: Annotated[float, typer.Option("--link-distance", help="Duplicate links: max metres apart.")] = 500.0,
            db: Db = None, out_fmt: Annotated[OutputFormat, typer.Option("--output", help="Report format.")] = OutputFormat.table,
            quiet: Quiet = False, debug: Debug = False) -> None:
    """Import a file into a dataset: one transaction, idempotent, every source row kept with its provenance."""
    apply(quiet, debug)
    from econet.cli.console import emit, progress
    from econet.hub.ingest import import_path
    meta = {k: v for k, v in {"license": license, "citation": citation}.items() if v}
    with progress(f"importing {path.name}") as bar:
        report = import_path(db, path, dataset=dataset, org=org, fmt=format, mapping=mapping, country=country,
                             link_window_s=link_window * 60, link_distance_m=link_distance, progress=bar,
                             dataset_meta=meta)
    if out_fmt == OutputFormat.json:
        emit(report, out_fmt)
        return
    flat = {k: v for k, v in report.items() if k not in ("added", "taxon_reviews", "notes")}
    for k, v in report["added"].items():
        flat[f"added {k}"] = v
    flat["names to review"] = ", ".join(f"{r['name']} -> {r['proposed']}?" for r in report["taxon_reviews"]) or "none"
    for n in report.get("notes") or []:
        flat.setdefault("note", n)
    emit(flat, out_fmt, title="import")


@hub_app.command("export")
def export(out: Annotated[Path, typer.Argument(help="Output: folder (camtrap-dp), .zip (dwca), .csv or .gpkg.")],
           format: Annotated[str, typer.Option("--format", help="dwca | dwca-event | euring | camtrap-dp | csv | gpkg "
                                                 "(dwca-event: Event core + Occurrence extension; euring: EURING "
                                                 "2000+ lines)")],
           dataset: Annotated[Optional[str], typer.Option("--dataset", help="Dataset name.")] = None,
           taxon: Annotated[Optional[str], typer.Option("--taxon", help="Scientific name (synonyms and subtaxa included).")] = None,
           start: Annotated[Optional[str], typer.Option("--start", help="From (UTC date or ISO time).")] = None,
           end: Annotated[Optional[str], typer.Option("--end", help="Until (UTC date inclusive or ISO time).")] = None,
           bbox: Annotated[Optional[str], typer.Option("--bbox", help="west,south,east,north (WGS84).")] = None,
           polygon: Annotated[Optional[Path], typer.Option("--polygon", help="Vector file with the area (any CRS).")] = None,
           country: Annotated[Optional[str], typer.Option("--country", help="ISO alpha-2 country code.")] = None,
           individual: Annotated[Optional[str], typer.Option("--individual", help="Individual id.")] = None,
           border: Annotated[Optional[str], typer.Option("--border", help="Two countries, e.g. CN-RU.")] = None,
           distance: Annotated[float, typer.Option("--distance", help="Metres from --border.")] = 10000.0,
           as_user: Annotated[Optional[str], typer.Option("--as-user", help="Export what this user may see "
                                                          "(sharing rules applied; formats csv, geojson, dwca, dwca-event, euring).")] = None,
           token: Annotated[Optional[str], typer.Option("--token", envvar="ECONET_TOKEN", help="Export what this "
                                                        "token's user may see.")] = None,
           db: Db = None, quiet: Quiet = False, debug: Debug = False) -> None:
    """Export a dataset as Darwin Core Archive or Camtrap DP, or any query as CSV or GeoPackage."""
    apply(quiet, debug)
    from econet.cli.console import emit, progress
    from econet.errors import EconetError
    from econet.hub.export import export_dataset
    from econet.hub.query import ObservationFilter
    f = ObservationFilter(taxon=taxon, start=start, end=end, country=country, individual=individual,
                          border_distance_m=distance)
    if bbox:
        try:
            f.bbox = [float(v) for v in bbox.split(",")]
            assert len(f.bbox) == 4
        except (ValueError, AssertionError):
            raise EconetError("--bbox must be west,south,east,north", field="bbox") from None
    if polygon:
        from econet.geo.vector import read_vector
        import shapely
        f.polygon = shapely.union_all(read_vector(polygon, to_crs=4326).geometry.values)
    if border:
        parts = border.replace(",", "-").split("-")
        if len(parts) != 2:
            raise EconetError("--border must name two countries, e.g. CN-RU", field="border")
        f.border = (parts[0], parts[1])
    if as_user or token:
        from econet.hub.db import open_hub
        from econet.hub.export import export_for_view
        from econet.hub.sharing import View
        engine = open_hub(db)
        with engine.begin() as conn:
            view = View.for_token(conn, token) if token else View.for_user(conn, as_user)
            if dataset:
                f.dataset = dataset
            with progress(f"exporting {format} as {view.username}") as bar:
                result = export_for_view(conn, view, format, out, f, progress=bar)
        result["view"] = f"{view.kind} {view.username}"
        result["datasets"] = [d["dataset"] for d in result["datasets"]]
        emit({k: (", ".join(v) if isinstance(v, list) else v) for k, v in result.items()}, OutputFormat.table,
             title="export")
        return
    with progress(f"exporting {format}") as bar:
        result = export_dataset(db, format, out, dataset=dataset, filters=f, progress=bar)
    emit({k: (", ".join(v) if isinstance(v, list) else v) for k, v in result.items()}, OutputFormat.table,
         title="export")


@hub_app.command("stats")
def stats(db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """What the hub holds: records per table, per dataset and per country; open name reviews."""
    apply(quiet, debug)
    from econet.cli.console import emit
    from econet.hub.db import open_hub
    from econet.hub.stats import hub_stats
    s = hub_stats(open_hub(db))
    if fmt == OutputFormat.json:
        emit(s, fmt)
        return
    emit([{"table": k, "rows": v} for k, v in s["tables"].items()], fmt, title=f"hub ({s['backend']})")
    if s["datasets"]:
        emit(s["datasets"], fmt, title="datasets")
    emit(s["observations_by_country"], fmt, title="observations by country")


@hub_app.command("reviews")
def reviews(accept: Annotated[Optional[int], typer.Option("--accept", help="Apply the proposed name of review ID "
                                                                          "to its records.")] = None,
            db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Source names that were close to, but not exactly, a known taxon (never changed without review)."""
    apply(quiet, debug)
    from sqlalchemy import select
    from econet.cli.console import emit, say
    from econet.errors import EconetError
    from econet.hub import models as m
    from econet.hub.db import open_hub
    from econet.hub.taxonomy import accept_review
    R, T, D = m.TaxonReview, m.Taxon, m.Dataset
    if accept is not None:
        with open_hub(db).begin() as conn:
            if conn.execute(select(R.id).where(R.id == accept)).scalar() is None:
                raise EconetError(f"no taxon review with id {accept}", field="accept")
            say(f"review {accept}: taxon set on {accept_review(conn, accept)} records")
    with open_hub(db).connect() as conn:
        rows = conn.execute(select(R.id, D.name.label("dataset"), R.verbatim_name, T.scientific_name.label("proposed"),
                                   R.score, R.rows, R.status).join(D, D.id == R.dataset_id)
                            .join(T, T.id == R.proposed_taxon_id, isouter=True).order_by(R.id)).mappings().all()
    emit([dict(r) for r in rows], fmt, title="taxon reviews")
