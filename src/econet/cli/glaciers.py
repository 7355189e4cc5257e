"""`econet glaciers`: mass-balance trends from WGMS records, outline change, volume by area scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply
from econet.cli.tracks import AsUser, Token

group = typer.Typer(help="Glaciers: mass balance, front and area change, trends, volume and water equivalent.",
                    no_args_is_help=True)


def _clean(rows):
    import numpy as np

    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in rows]


def _basins(path: Optional[Path]):
    import pandas as pd

    from econet.errors import EconetError

    if path is None:
        return None
    if not path.is_file():
        raise EconetError("file not found", path=path)
    b = pd.read_csv(path)
    if not {"wgms_id", "basin"} <= set(b.columns):
        raise EconetError("basin table needs columns wgms_id and basin", path=path)
    return b


@group.command("trends")
def trends(source: Annotated[Optional[Path], typer.Argument(help="WGMS data: OGGM's wgms folder (mbdata/...), an "
                                                                 "mbdata CSV, or WGMS FoG CSV tables; default: the "
                                                                 "31 Central Asian/Altai series shipped with econet.")] = None,
           out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("glacier-trends"),
           glacier: Annotated[Optional[List[str]], typer.Option("--glacier", "-g", help="WGMS id or part of a name "
                                                                "(repeatable); default all.")] = None,
           basins: Annotated[Optional[Path], typer.Option(help="CSV wgms_id,basin; default: group by country.")] = None,
           min_years: Annotated[int, typer.Option(help="Leave out glaciers with fewer annual balances.")] = 5,
           confidence: Annotated[float, typer.Option(help="Confidence level of the slope intervals.")] = 0.95,
           db: Annotated[Optional[str], typer.Option("--db", help="Hub database URL: use the glacier observations "
                                                     "stored in the hub (with --as, as that user may see them).")] = None,
           as_user: AsUser = None, token: Token = None,
           dataset: Annotated[Optional[str], typer.Option("--dataset", help="Hub: dataset name.")] = None,
           fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Cumulative mass balance per glacier and basin, trends of the annual balance (least squares and
    Theil-Sen with confidence intervals, Mann-Kendall), front-variation and area/length changes; writes
    CSV tables and PNG plots. From WGMS files, or from the hub (--db, --as) on what that user may see."""
    apply(quiet, debug)
    from econet.analytics import glaciers as gl
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.errors import EconetError

    if not 0 < confidence < 1:
        raise EconetError("confidence must be between 0 and 1", field="confidence")
    if db or as_user or token:
        if source is not None:
            raise EconetError("give WGMS files or --db, not both", field="db")
        data = _hub_data(db, as_user, token, glacier, dataset)
    else:
        data = gl.read_wgms(source, ids=glacier or None)
    mb = data["mass_balance"]
    if not mb.empty:
        n = mb.dropna(subset=["annual_mb"]).groupby("wgms_id").size()
        mb = mb[mb["wgms_id"].isin(n[n >= min_years].index)]
    if mb.empty and data["front_variation"].empty and data["state"].empty:
        raise EconetError(f"no glacier has {min_years} or more annual balances", path=source or gl.shipped_wgms())
    with OutputSet(out) as o:
        summary = None
        if not mb.empty:
            cum = gl.cumulative_mass_balance(mb)
            summary = gl.glacier_summary(mb, confidence=confidence)
            basin = gl.basin_mass_balance(mb, _basins(basins))
            cum.to_csv(o.path("mass_balance.csv"), index=False)
            summary.to_csv(o.path("glacier_trends.csv"), index=False)
            basin.to_csv(o.path("basin_mass_balance.csv"), index=False)
            gl.plot_cumulative(cum, o.path("cumulative_mass_balance.png"))
            gl.plot_trends(mb, summary, o.path("annual_mass_balance_trends.png"))
            gl.plot_basins(basin, o.path("basin_cumulative_mass_balance.png"))
            if "area_km2" in mb.columns and mb["area_km2"].notna().any():
                st = mb.dropna(subset=["area_km2"])[["wgms_id", "name", "year", "area_km2"]]
                st = st.loc[st["area_km2"].ne(st.groupby("wgms_id")["area_km2"].shift())]  # area changes only
                ch = gl.state_changes(st, ("area_km2",))
                ch.to_csv(o.path("area_changes.csv"), index=False)
                series_trends = gl.series_trends(st, "area_km2", confidence=confidence)
                series_trends.to_csv(o.path("area_trends.csv"), index=False)
        if not data["front_variation"].empty:
            gl.front_variation_cumulative(data["front_variation"]).to_csv(o.path("front_variation.csv"), index=False)
            gl.series_trends(data["front_variation"], "front_variation_m", confidence=confidence).to_csv(
                o.path("front_variation_trends.csv"), index=False)
        if not data["state"].empty:
            gl.state_changes(data["state"]).to_csv(o.path("state_changes.csv"), index=False)
    say(f"wrote tables and plots to {out}")
    if summary is not None:
        cols = ["wgms_id", "name", "first_year", "last_year", "n_years", "cumulative_mwe", "mean_annual_mwe",
                "ols_slope_mwe_per_yr", "ts_slope_mwe_per_yr", "ts_ci_low_mwe_per_yr", "ts_ci_high_mwe_per_yr", "mk_p"]
        emit(_clean(summary[cols].to_dict("records")), fmt, title="Glacier-wide mass balance (m w.e.)")


def _hub_data(db, as_user, token, glacier, dataset) -> dict:
    """The hub's glacier-wide series in read_wgms' layout, from the datasets the view may see."""
    import pandas as pd

    from econet.cli.tracks import hub_view, say_view
    from econet.hub import monitoring
    from econet.hub.sharing import audit, load_rules
    engine, view = hub_view(db, as_user, token)
    with engine.begin() as conn:
        rules = load_rules(conn, view)
        obs = pd.concat([monitoring.glacier_observations(conn, view, glacier=g, dataset=dataset, rules=rules)
                         for g in (glacier or [None])], ignore_index=True)
        datasets = sorted(obs["dataset"].unique().tolist())
        audit(conn, view, "analysis", "glaciers:cli", {"records": len(obs)}, rules=rules,
              rows=[{"dataset": d} for d in datasets])
    say_view({"view": view.describe(), "records": len(obs), "datasets": datasets})
    fv = obs[obs["variable"] == "front_variation"].rename(columns={"value": "front_variation_m"})
    st = obs[obs["variable"].isin(["length"])].pivot_table(index=["wgms_id", "name", "country", "year"],
                                                            columns="variable", values="value").reset_index() \
        if (obs["variable"] == "length").any() else pd.DataFrame()
    if len(st):
        st = st.rename(columns={"length": "length_km"})
    return {"mass_balance": monitoring.mass_balance_table(obs), "front_variation": fv[["wgms_id", "name", "country",
                                                                                      "year", "front_variation_m"]]
            if len(fv) else pd.DataFrame(), "state": st, "glaciers": pd.DataFrame()}


@group.command("outlines")
def outlines(path: Annotated[Path, typer.Argument(help="Glacier outlines of several dates (GeoPackage, "
                                                       "Shapefile, GeoJSON).")],
             out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("glacier-outlines"),
             layer: Annotated[Optional[str], typer.Option(help="Layer name.")] = None,
             id_column: Annotated[str, typer.Option(help="Glacier id column.")] = "glacier_id",
             date_column: Annotated[str, typer.Option(help="Date (or year) column.")] = "date",
             basin_column: Annotated[str, typer.Option(help="Basin column (optional).")] = "basin",
             centerlines: Annotated[Optional[Path], typer.Option(help="Centerlines with the id column, for "
                                                                 "length along flow.")] = None,
             position_unc: Annotated[float, typer.Option(help="Outline positional uncertainty in m "
                                                         "(e.g. half a pixel).")] = 15.0,
             fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Area and length change between outline dates with rates and uncertainties, and ice volume and its
    change per basin by volume-area scaling (water equivalent, spread of published coefficients)."""
    apply(quiet, debug)
    from econet.analytics import glaciers as gl
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.geo.vector import read_vector

    g = read_vector(path, layer=layer)
    cl = read_vector(centerlines) if centerlines is not None else None
    m = gl.outline_metrics(g, id_column=id_column, date_column=date_column, centerlines=cl,
                           position_unc_m=position_unc)
    if basin_column in g.columns:
        m = m.merge(g[[id_column, basin_column]].drop_duplicates(id_column).rename(
            columns={id_column: "glacier_id", basin_column: "basin"}), on="glacier_id", how="left")
    ch = gl.outline_changes(m)
    vol = gl.basin_volume_change(m)
    with OutputSet(out) as o:
        m.to_csv(o.path("outline_metrics.csv"), index=False)
        ch.to_csv(o.path("outline_changes.csv"), index=False)
        vol.to_csv(o.path("basin_volume.csv"), index=False)
        gl.plot_outline_change(m, vol, o.path("outline_change.png"))
    say(f"wrote outline_metrics.csv, outline_changes.csv, basin_volume.csv, outline_change.png to {out}")
    emit(_clean(vol.to_dict("records")), fmt, title="Ice volume per basin (km3; w.e. with 900 kg/m3)")


@group.command("volume")
def volume(area: Annotated[List[float], typer.Argument(help="Glacier area(s) in km2.")],
           area_unc: Annotated[float, typer.Option(help="Area uncertainty in km2 (each glacier).")] = 0.0,
           fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Ice volume and water equivalent of glaciers of given areas, under each published scaling law."""
    apply(quiet, debug)
    from econet.analytics import glaciers as gl
    from econet.cli.console import emit

    t = gl.volume_estimates(area, [area_unc] * len(area))
    emit(_clean(t.to_dict("records")), fmt, title="Volume-area scaling (km3)")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="glaciers")
