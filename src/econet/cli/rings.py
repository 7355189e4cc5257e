"""`econet rings`: link ring encounters into movements (EURING or national CSV) and build a flyway network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply
from econet.cli.tracks import AsUser, DbOpt, Token

group = typer.Typer(help="Ring recoveries: movements with distance, direction, elapsed time; flyway network.",
                    no_args_is_help=True)


def _load(files: list[Path], mapping: Optional[Path], date_format: Optional[str]):
    import pandas as pd

    from econet.analytics import rings
    from econet.errors import EconetError

    parts = []
    for f in files:
        if not f.is_file():
            raise EconetError("file not found", path=f)
        if f.suffix.lower() == ".csv":
            parts.append(rings.read_encounters_csv(f, mapping, date_format=date_format))
        else:
            parts.append(rings.read_euring(f))
    return pd.concat(parts, ignore_index=True)


Files = Annotated[Optional[List[Path]], typer.Argument(help="EURING files (2000, 2000+, 2020; .txt/.psv) and/or "
                                                             "national CSV files (.csv, columns mapped with "
                                                             "--mapping). Omit them to use the hub's ring "
                                                             "encounters (--db, --as).")]
HubDataset = Annotated[Optional[str], typer.Option("--dataset", help="Hub: dataset name.")]
HubTaxon = Annotated[Optional[str], typer.Option("--taxon", help="Hub: scientific name.")]


def _encounters(files, mapping, date_format, db, as_user, token, dataset, taxon):
    """Encounters from files, or from the hub on a user's view (generalized places where the rules say so)."""
    if files:
        return _load(files, mapping, date_format)
    from econet.cli.tracks import hub_view, say_view
    from econet.hub import monitoring
    from econet.hub.sharing import audit, load_rules
    engine, view = hub_view(db, as_user, token)
    with engine.begin() as conn:
        rules = load_rules(conn, view)
        enc, rows = monitoring.encounters_frame(conn, view, dataset=dataset, taxon=taxon, rules=rules)
        audit(conn, view, "analysis", "rings:cli", {"records": len(rows)}, rules=rules, rows=rows)
    say_view(monitoring._report(view, rows, rules))
    return enc
Mapping_ = Annotated[Optional[Path], typer.Option("--mapping", help="YAML/JSON mapping econet column -> CSV column "
                                                                    "(ring_id, species, date, lat, lon, ...).")]
DateFormat = Annotated[Optional[str], typer.Option(help="strftime format of CSV dates (default: ISO).")]
Mode = Annotated[str, typer.Option(help="'ringing' (from ringing to each recovery, as EURING) or 'consecutive'.")]


@group.command("link")
def link(files: Files = None, out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Movements CSV.")] = None,
         mapping: Mapping_ = None, date_format: DateFormat = None, mode: Mode = "ringing",
         db: DbOpt = None, as_user: AsUser = None, token: Token = None, dataset: HubDataset = None,
         taxon: HubTaxon = None,
         fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Link encounters of the same ring: ellipsoidal distance (km), initial azimuth and rhumb direction
    (degrees), elapsed days, checked against EURING fields 31-33 where present."""
    apply(quiet, debug)
    import numpy as np

    from econet.analytics import rings
    from econet.atomic import atomic_path
    from econet.cli.console import emit, say

    enc = _encounters(files, mapping, date_format, db, as_user, token, dataset, taxon)
    mv = rings.link_encounters(enc, mode=mode)
    if out is not None:
        with atomic_path(out) as tmp:
            mv.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        say(f"wrote {len(mv)} movements to {out}")
    n_bad = int((mv["euring_check"] == "mismatch").sum()) if len(mv) else 0
    if n_bad:
        say(f"[yellow]{n_bad} movement(s) disagree with EURING fields 31-33 (see euring_check)[/yellow]")
    cols = ["ring_id", "species", "from_date", "to_date", "distance_km", "azimuth_deg", "rhumb_deg", "elapsed_days",
            "euring_distance_km", "euring_direction_deg", "euring_elapsed_days", "euring_check"]
    rows = []
    for r in mv[cols].to_dict("records") if len(mv) else []:
        r = {k: (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else v) for k, v in r.items()}
        rows.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()})
    emit(rows, fmt, title=f"{len(rows)} movements from {len(enc)} encounters")


@group.command("network")
def network(files: Files = None, out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("flyway-network"),
            cell: Annotated[float, typer.Option(help="Grid cell size in degrees for nodes (when encounters have "
                                                     "no site_id).")] = 1.0,
            countries: Annotated[Optional[Path], typer.Option(help="Country polygons to assign countries "
                                                              "(else the EURING place-code country).")] = None,
            country_column: Annotated[str, typer.Option(help="Country code column of --countries.")] = "iso_a2",
            mapping: Mapping_ = None, date_format: DateFormat = None, mode: Mode = "ringing",
            db: DbOpt = None, as_user: AsUser = None, token: Token = None, dataset: HubDataset = None,
            taxon: HubTaxon = None,
            fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Flyway network: nodes (sites or grid cells), edges (movements per species and season), flows between
    countries; writes network.gpkg (layers nodes, edges, movements), movements.csv, country_flows.csv and
    network.png."""
    apply(quiet, debug)
    import numpy as np

    from econet.analytics import rings
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.errors import EconetError
    from econet.geo.vector import read_vector

    enc = _encounters(files, mapping, date_format, db, as_user, token, dataset, taxon)
    mv = rings.link_encounters(enc, mode=mode)
    if mv.empty:
        raise EconetError("no ring has two or more encounters: nothing to link")
    cgdf = read_vector(countries) if countries is not None else None
    net = rings.flyway_network(mv, cell_deg=cell, countries=cgdf, country_column=country_column)
    with OutputSet(out) as o:
        rings.write_network_gpkg(net, o.path("network.gpkg"))
        net["movements"].to_csv(o.path("movements.csv"), index=False, date_format="%Y-%m-%d")
        net["country_flows"].to_csv(o.path("country_flows.csv"), index=False)
        if cgdf is None:
            from econet.analytics.waterbirds import east_asia_countries
            cgdf_map = east_asia_countries()
        else:
            cgdf_map = cgdf
        rings.plot_network(net, o.path("network.png"), basemap=cgdf_map)
    say(f"wrote network.gpkg, movements.csv, country_flows.csv, network.png to {out}")
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in net["country_flows"].to_dict("records")]
    emit(rows, fmt, title="Flows between countries")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="rings")
