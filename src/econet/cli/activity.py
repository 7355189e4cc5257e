"""`econet activity`: relative abundance (detections per 100 trap-days) and daily activity overlap between species."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli._hubopts import AsUser, Country, Dataset, End, HubDb, Start, Taxon
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

activity_app = typer.Typer(help="Camera-trap relative abundance index and activity patterns / overlap.",
                           no_args_is_help=True)

SITE = ("deploymentID", "site", "station", "Station", "locationID", "camera")
SPECIES = ("scientificName", "species", "Species", "vernacularName")
TIME = ("eventStart", "timestamp", "DateTimeOriginal", "datetime", "time")
START = ("deploymentStart", "start", "Setup_date", "setup")
END = ("deploymentEnd", "end", "Retrieval_date", "retrieval")

Detections = Annotated[Optional[Path], typer.Argument(help="Detections CSV (Camtrap DP observations.csv or any table "
                                                   "with site, species and time columns); omit with --db.")]


def _detections(path: Path, site, species, time):
    import pandas as pd

    from econet.cli.crossings import pick, read_table
    d = pd.DataFrame(read_table(path))
    if "observationLevel" in d.columns:  # Camtrap DP: event-level animal observations only
        d = d[d["observationLevel"].astype(str) == "event"]
    if "observationType" in d.columns:
        d = d[d["observationType"].astype(str) == "animal"]
    s = pick(d.columns, SITE, site, "site", path)
    sp = pick(d.columns, SPECIES, species, "species", path)
    t = pick(d.columns, TIME, time, "time", path)
    return d.rename(columns={s: "site", sp: "species", t: "timestamp"})[["site", "species", "timestamp"]]


@activity_app.command("rai")
def rai_cmd(
    detections: Detections = None,
    deployments: Annotated[Optional[Path], typer.Option("--deployments", help="Deployments CSV (site, start, end), "
                                                        "e.g. Camtrap DP deployments.csv.")] = None,
    db: HubDb = None,
    as_user: AsUser = None,
    taxon: Taxon = None,
    dataset: Dataset = None,
    start: Start = None,
    end: End = None,
    country: Country = None,
    min_delta: Annotated[str, typer.Option("--min-delta", help="Records of a species at a site closer than this "
                                           "to the previous one are not independent.")] = "30min",
    site_field: Annotated[Optional[str], typer.Option("--site-field")] = None,
    species_field: Annotated[Optional[str], typer.Option("--species-field")] = None,
    time_field: Annotated[Optional[str], typer.Option("--time-field")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV to write.")] = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Relative abundance index per site and species: independent detections per 100 trap-days."""
    apply(quiet, debug)
    import pandas as pd

    from econet.analytics.activity import relative_abundance
    from econet.atomic import atomic_path
    from econet.cli.console import emit
    from econet.cli.crossings import pick, read_table
    from econet.errors import EconetError
    if db is not None:
        from econet.cli._hubopts import hub_run, say_input
        from econet.hub import population
        rep = hub_run(db, as_user, population.run_rai, taxon=taxon, dataset=dataset, start=start, end=end,
                      country=country, min_delta=min_delta)
        res = pd.DataFrame(rep["per_site"])
        if out:
            with atomic_path(out) as tmp:
                res.to_csv(tmp, index=False)
        if fmt == OutputFormat.json:
            emit(rep, fmt)
            return
        say_input(rep)
        emit(res.to_dict(orient="records"), fmt, title="detections per 100 trap-days (hub)")
        return
    if detections is None or deployments is None:
        raise EconetError("give DETECTIONS and --deployments (or --db URL to run on the hub)", field="deployments")
    det = _detections(detections, site_field, species_field, time_field)
    dep = pd.DataFrame(read_table(deployments))
    s = pick(dep.columns, SITE, site_field, "site", deployments)
    a = pick(dep.columns, START, None, "start", deployments)
    b = pick(dep.columns, END, None, "end", deployments)
    dep = dep.rename(columns={s: "site", a: "start", b: "end"})
    res = relative_abundance(det, dep, min_delta=min_delta)
    if out:
        with atomic_path(out) as tmp:
            res.to_csv(tmp, index=False)
    emit(res.to_dict(orient="records"), fmt, title="detections per 100 trap-days")


@activity_app.command("overlap")
def overlap_cmd(
    species_a: Annotated[str, typer.Option("--a", help="First species (e.g. the predator).")],
    species_b: Annotated[str, typer.Option("--b", help="Second species (e.g. the prey).")],
    detections: Detections = None,
    tz: Annotated[Optional[str], typer.Option("--tz", help="Time zone of the clock times, e.g. Asia/Harbin "
                                              "(default: the times as given, UTC if they carry an offset).")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates for intervals (0 = none).")] = 0,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="PNG of both activity curves and their overlap.")]
        = None,
    species_field: Annotated[Optional[str], typer.Option("--species-field")] = None,
    time_field: Annotated[Optional[str], typer.Option("--time-field")] = None,
    site_field: Annotated[Optional[str], typer.Option("--site-field")] = None,
    db: HubDb = None,
    as_user: AsUser = None,
    dataset: Dataset = None,
    start: Start = None,
    end: End = None,
    country: Country = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Daily activity overlap (Dhat1, Dhat4, Dhat5 as the R package overlap) between two species (of a file, or
    of the hub's records the --as user may see, at their recorded local clock times unless --tz)."""
    apply(quiet, debug)
    from econet.analytics import activity as ac
    from econet.atomic import atomic_path
    from econet.cli.console import emit
    from econet.errors import EconetError
    if db is not None:
        from econet.cli._hubopts import hub_run, say_input
        from econet.hub import population
        res = hub_run(db, as_user, population.run_activity, dataset=dataset, start=start, end=end, country=country,
                      species_a=species_a, species_b=species_b, tz=tz)
        if fmt != OutputFormat.json:
            say_input(res)
        emit(res, fmt)
        return
    if detections is None:
        raise EconetError("give DETECTIONS (or --db URL to run on the hub)", field="detections")
    det = _detections(detections, site_field, species_field, time_field)
    res = ac.activity_overlap(det, species_a, species_b, tz=tz)
    if bootstrap > 0:
        sp = det["species"].astype(str)
        a = ac.time_to_radians(det.loc[sp == species_a, "timestamp"], tz)
        b = ac.time_to_radians(det.loc[sp == species_b, "timestamp"], tz)
        ci = ac.overlap_bootstrap(a, b, n_boot=bootstrap)
        res["intervals"] = ci.to_dict(orient="records")
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        sp = det["species"].astype(str)
        fig, ax = plt.subplots(figsize=(8, 4))
        ac.plot_activity(ax, {species_a: ac.time_to_radians(det.loc[sp == species_a, "timestamp"], tz),
                              species_b: ac.time_to_radians(det.loc[sp == species_b, "timestamp"], tz)})
        ax.set_title(f"Activity overlap Dhat{1 if res['recommended'] == 'Dhat1' else 4} = "
                     f"{res[res['recommended']]:.2f}")
        fig.tight_layout()
        with atomic_path(plot) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
    emit(res, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(activity_app, name="activity")
