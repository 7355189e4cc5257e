"""`econet waterbirds`: critical sites (Ramsar criteria 5/6, EAAF), population table, survey coverage,
breeding success."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply
from econet.cli.tracks import AsUser, DbOpt, Token

group = typer.Typer(help="Waterbird counts: critical sites against flyway populations, coverage, breeding success.",
                    no_args_is_help=True)


def _read_csv(path: Path):
    import pandas as pd

    from econet.errors import EconetError

    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        return pd.read_csv(path)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None


def _read_vector(path: Path, layer: str | None = None):
    from econet.geo.vector import read_vector

    return read_vector(path, layer=layer)


def _records(df, columns=None):
    import numpy as np

    df = df[columns] if columns else df
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]


@group.command("sites")
def sites(counts: Annotated[Optional[Path], typer.Argument(help="Count CSV: site_id, species, count, date (or "
                                                                "season+year); optional country, lon, lat, unit_id, "
                                                                "population_id. Omit it to use the hub's counts "
                                                                "(--db, --as).")] = None,
          out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("waterbird-sites"),
          populations: Annotated[Optional[Path], typer.Option(help="Population table CSV (default: the table "
                                                              "shipped with econet).")] = None,
          sites_file: Annotated[Optional[Path], typer.Option("--sites", help="Site CSV with site_id, country, "
                                                            "lon, lat (joined to the counts).")] = None,
          basemap: Annotated[Optional[Path], typer.Option(help="Country polygons for the map background (default: "
                                                             "Natural Earth countries of East/Central Asia).")] = None,
          window: Annotated[int, typer.Option(help="Years in the mean of seasonal peaks (Ramsar: 5).")] = 5,
          staging_share: Annotated[Optional[float], typer.Option(help="EAAF staging criterion: % of a population "
                                                                 "at a spring/autumn site (e.g. 0.25).")] = None,
          staging_total: Annotated[Optional[float], typer.Option(help="EAAF staging criterion: waterbirds at a "
                                                                 "spring/autumn site (e.g. 5000).")] = None,
          db: DbOpt = None, as_user: AsUser = None, token: Token = None,
          dataset: Annotated[Optional[str], typer.Option("--dataset", help="Hub: dataset name.")] = None,
          taxon: Annotated[Optional[str], typer.Option("--taxon", help="Hub: scientific name.")] = None,
          country: Annotated[Optional[str], typer.Option("--country", help="Hub: ISO alpha-2 country.")] = None,
          fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Rank sites by importance: site totals per species and season, 1% thresholds, Ramsar criteria 5 and 6,
    EAAF Flyway Site Network; writes sites_ranked.csv, site_species.csv, site_seasons.csv, site_totals.csv,
    site_summary.csv (maxima and means over years), population_shares.csv and critical_sites.png. From a
    file, or from the hub's counts as a user may see them (no file; --db, --as: a sensitive species' sites are
    generalized to cells for users without exact access)."""
    apply(quiet, debug)
    from econet.analytics import waterbirds as wb
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.errors import EconetError

    pops = wb.load_populations(populations)
    if counts is None:
        from econet.cli.tracks import hub_view, say_view
        from econet.hub import monitoring
        engine, view = hub_view(db, as_user, token)
        with engine.begin() as conn:
            res, rep = monitoring.waterbird_sites_on_view(conn, view, dataset=dataset, taxon=taxon, country=country,
                                                          populations=pops, window=window,
                                                          staging_share=staging_share, staging_total=staging_total)
        say_view(rep)
    else:
        df = _read_csv(counts)
        if sites_file is not None:
            s = _read_csv(sites_file)
            if "site_id" not in s.columns:
                raise EconetError("missing column site_id", path=sites_file, field="site_id")
            df = df.drop(columns=[c for c in s.columns if c != "site_id" and c in df.columns]).merge(s, on="site_id",
                                                                                                   how="left")
        try:
            res = wb.site_importance(df, pops, window=window, staging_share=staging_share, staging_total=staging_total)
        except EconetError as exc:
            if exc.path is None:
                exc.path = str(counts)
            raise
    shares = res["species"].dropna(subset=["population_id"]).pivot_table(
        index="site_id", columns="population_id", values="share_pct", aggfunc="max").reset_index()
    base = _read_vector(basemap) if basemap is not None else wb.east_asia_countries()
    with OutputSet(out) as o:
        res["ranked"].to_csv(o.path("sites_ranked.csv"), index=False)
        res["species"].to_csv(o.path("site_species.csv"), index=False)
        res["sites"].to_csv(o.path("site_seasons.csv"), index=False)
        res["totals"].to_csv(o.path("site_totals.csv"), index=False)
        wb.site_summary(res["totals"], window=window).to_csv(o.path("site_summary.csv"), index=False)
        shares.to_csv(o.path("population_shares.csv"), index=False)
        if {"lon", "lat"} <= set(res["ranked"].columns):
            wb.plot_critical_sites(res["ranked"], o.path("critical_sites.png"), basemap=base)
        else:
            say("no lon/lat for the sites: map not drawn (give --sites with lon, lat)")
    say(f"wrote {out}/sites_ranked.csv and {len(list(Path(out).glob('*')))} files in {out}")
    cols = [c for c in ("rank", "site_id", "country", "criteria", "populations_1pct", "max_share_pct",
                        "max_share_population", "waterbirds_mean_max") if c in res["ranked"].columns]
    emit(_records(res["ranked"], cols), fmt, title="Waterbird sites ranked")


@group.command("populations")
def populations_cmd(populations: Annotated[Optional[Path], typer.Option(help="Population table CSV.")] = None,
                    fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """The flyway population table with estimates, 1% thresholds (Wetlands International rounding) and sources."""
    apply(quiet, debug)
    from econet.analytics import waterbirds as wb
    from econet.cli.console import emit

    p = wb.load_populations(populations)
    cols = ["population_id", "species", "scientific_name", "basis", "estimate_min", "estimate_max", "year",
            "one_percent"] + (["source"] if fmt != OutputFormat.table else [])
    emit(_records(p, [c for c in cols if c in p.columns]), fmt, title="Flyway populations")


@group.command("threshold")
def threshold(estimate: Annotated[Optional[float], typer.Argument(help="Population estimate.")] = None,
              low: Annotated[Optional[float], typer.Option(help="Lower end of the range.")] = None,
              high: Annotated[Optional[float], typer.Option(help="Upper end of the range.")] = None,
              fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """The Ramsar 1% threshold of a population estimate (or range), rounded as Wetlands International does."""
    apply(quiet, debug)
    from econet.analytics import waterbirds as wb
    from econet.cli.console import emit

    t = wb.one_percent_threshold(estimate, low, high)
    emit({"estimate": estimate, "low": low, "high": high, "one_percent": t}, fmt)


@group.command("coverage")
def coverage(habitat: Annotated[Path, typer.Argument(help="Potential habitat polygons with a country column.")],
             surveyed: Annotated[Optional[Path], typer.Option(help="Surveyed areas (count-unit polygons); else "
                                                              "a boolean 'surveyed' column in the habitat.")] = None,
             country_column: Annotated[str, typer.Option(help="Country column of the habitat.")] = "country",
             out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the table as CSV.")] = None,
             fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Survey coverage: share of potential habitat (area and polygons) surveyed, per country."""
    apply(quiet, debug)
    from econet.analytics import waterbirds as wb
    from econet.atomic import atomic_path
    from econet.cli.console import emit

    h = _read_vector(habitat)
    s = _read_vector(surveyed) if surveyed is not None else None
    t = wb.survey_coverage(h, s, country_column=country_column)
    if out is not None:
        with atomic_path(out) as tmp:
            t.to_csv(tmp, index=False)
    emit(_records(t), fmt, title="Survey coverage per country")


@group.command("breeding")
def breeding(counts: Annotated[Path, typer.Argument(help="CSV with site_id, species, year and juveniles + adults "
                                                        "(or total), and/or pairs + fledged.")],
             by: Annotated[str, typer.Option(help="Comma-separated grouping columns.")] = "site_id,species,year",
             out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the table as CSV.")] = None,
             fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Breeding success: juvenile share (with 95% interval), brood size, fledged young per pair."""
    apply(quiet, debug)
    from econet.analytics import waterbirds as wb
    from econet.atomic import atomic_path
    from econet.cli.console import emit
    from econet.errors import EconetError

    df = _read_csv(counts)
    try:
        t = wb.breeding_success(df, by=[c.strip() for c in by.split(",") if c.strip()])
    except EconetError as exc:
        exc.path = exc.path or str(counts)
        raise
    if out is not None:
        with atomic_path(out) as tmp:
            t.to_csv(tmp, index=False)
    emit(_records(t), fmt, title="Breeding success")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="waterbirds")
