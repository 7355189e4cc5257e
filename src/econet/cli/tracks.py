"""`econet tracks`: Movebank GPS tracks -> cleaned GeoPackage, border crossings, home ranges, migration, corridor use.

Until the hub stores tracks, these commands work on files: `tracks import` turns a Movebank CSV into a
cleaned GeoPackage (every fix kept, bad ones flagged) that the other commands read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.crossings import Border, MaxGap, Out, Period, Tolerance, ZoneField, Zones
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

tracks_app = typer.Typer(help="GPS tracks (Movebank): import and clean, crossings, home ranges, migration, "
                              "corridor use.", no_args_is_help=True)

TracksArg = Annotated[Path, typer.Argument(help="Movebank event CSV, a plain CSV (individual, timestamp, lon, "
                                           "lat) or the GeoPackage written by `econet tracks import`.")]
Reference = Annotated[Optional[Path], typer.Option("--reference", help="Movebank reference data CSV (deployment "
                                                   "windows, taxa).")]
MaxSpeed = Annotated[Optional[list[str]], typer.Option("--max-speed", help="Speed limit in km/h: a number for "
                                                       "all, or 'Species name=KMH' (repeatable).")]
Species = Annotated[Optional[str], typer.Option("--species", help="Species when the file names none.")]


def _speeds(values: list[str] | None):
    from econet.errors import EconetError
    if not values:
        return None
    out: dict[str, float] = {}
    for v in values:
        try:
            if "=" in v:
                k, s = v.rsplit("=", 1)
                out[k.strip()] = float(s)
            else:
                out["*"] = float(v)
        except ValueError:
            raise EconetError(f"--max-speed '{v}' is not a number or 'Species=KMH'", field="max-speed") from None
    return out


def _is_movebank(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.readline()
    return "location-long" in head and "individual-local-identifier" in head


def load(path: Path, reference: Path | None = None, max_speed=None, species: str | None = None, *,
         cleaned_only: bool = True):
    """Fixes from any supported tracks file; Movebank CSVs are cleaned on the way (flags kept)."""
    from econet.analytics import tracks as tr
    from econet.cli.console import progress
    from econet.errors import EconetError
    if not path.exists():
        raise EconetError("file not found", path=path)
    if _is_movebank(path):
        raw = tr.read_movebank(path, species=species)
        ref = tr.read_reference(reference) if reference else None
        with progress("cleaning") as cb:
            c = tr.clean(raw, ref, max_speed_kmh=_speeds(max_speed), progress=cb)
        if cleaned_only:
            from econet.cli.console import say
            n_bad = int((~c["keep"]).sum())
            if n_bad:
                counts = c.loc[~c["keep"], "flag"].value_counts()
                counts = counts[counts > 0]
                say(f"{n_bad} of {len(c)} fixes flagged and not used ("
                    + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "); `econet tracks clean` lists them")
            return tr.kept(c)
        return c
    from econet.cli.crossings import fixes_from
    f = fixes_from(path, default_species=species)
    if not cleaned_only:
        f["flag"] = ""
        f["keep"] = True
    return f


def _map(png: Path, fixes, polygons=None, lines=None, points=None, zones=None, zone_field=None, title: str = ""):
    """A quick-look map (lon/lat): zones, fixes by individual, polygons (ranges), lines (routes), points (stops)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econet.atomic import atomic_path
    fig, ax = plt.subplots(figsize=(9, 8))
    pad = 0.1
    w, e = fixes["lon"].min() - pad, fixes["lon"].max() + pad
    s_, n = fixes["lat"].min() - pad, fixes["lat"].max() + pad
    if zones is not None:
        from shapely.geometry import box
        z = zones.to_crs(4326)
        z = z[z.intersects(box(w, s_, e, n))]
        if len(z):
            z.plot(ax=ax, column=zone_field, cmap="Pastel1", edgecolor="grey", linewidth=0.6,
                   legend=zone_field is not None, legend_kwds={"loc": "lower left"} if zone_field else None)
    cmap = plt.get_cmap("tab20")
    for i, (ind, d) in enumerate(fixes.groupby("individual", sort=True)):
        ax.plot(d["lon"], d["lat"], color=cmap(i % 20), linewidth=0.5, alpha=0.6)
        ax.scatter(d["lon"], d["lat"], s=4, color=cmap(i % 20), label=str(ind) if i < 20 else None)
    if polygons is not None and len(polygons):
        polygons.to_crs(4326).boundary.plot(ax=ax, color="black", linewidth=1.0)
    if lines is not None and len(lines):
        lines.to_crs(4326).plot(ax=ax, color="red", linewidth=1.5)
    if points is not None and len(points):
        points.to_crs(4326).plot(ax=ax, color="black", marker="s", markersize=30)
    ax.set_xlim(w, e)
    ax.set_ylim(s_, n)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title)
    if fixes["individual"].nunique() <= 20:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)


def _seasons(text: str):
    from econet.errors import EconetError
    out = {}
    try:
        for part in text.split(";"):
            if not part.strip():
                continue
            months, label = part.split("=")
            for m in months.split(","):
                out[int(m)] = label.strip()
    except ValueError:
        raise EconetError(f"--seasons '{text}' must look like '12,1,2=winter;6,7,8=summer'", field="seasons") from None
    if not out or not all(1 <= m <= 12 for m in out):
        raise EconetError("--seasons needs months 1..12", field="seasons")
    return out


@tracks_app.command("import")
def import_cmd(
    movebank: Annotated[Path, typer.Argument(help="Movebank event table CSV.")],
    reference: Reference = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoPackage to write.")] = Path("tracks.gpkg"),
    max_speed: MaxSpeed = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Read a Movebank CSV, flag bad fixes (never dropped) and write a GeoPackage: layers `fixes` (every fix with
    its flag and keep) and `tracks` (one line per animal from the kept fixes)."""
    apply(quiet, debug)
    import geopandas as gpd

    from econet.analytics import tracks as tr
    from econet.cli.console import emit, say
    from econet.errors import EconetError
    from econet.geo.vector import write_gpkg
    if not _is_movebank(movebank):
        raise EconetError("not a Movebank event table (needs location-long and individual-local-identifier)",
                          path=movebank)
    c = load(movebank, reference, max_speed, species, cleaned_only=False)
    ok = c["lon"].notna() & c["lat"].notna()
    pts = gpd.GeoDataFrame(c, geometry=gpd.points_from_xy(c["lon"].where(ok, 0.0), c["lat"].where(ok, 0.0)), crs=4326)
    pts.loc[~ok.to_numpy(), "geometry"] = None
    write_gpkg(out, {"fixes": pts, "tracks": tr.track_lines(c)})
    rep = tr.cleaning_report(c)
    say(f"wrote {out} ({int(c['keep'].sum())} of {len(c)} fixes kept)")
    emit(rep.to_dict(orient="records"), fmt, title="fixes per individual and flag")


@tracks_app.command("clean")
def clean_cmd(
    movebank: Annotated[Path, typer.Argument(help="Movebank event table CSV.")],
    reference: Reference = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV of every fix with its flag.")] = Path("fixes-flagged.csv"),
    max_speed: MaxSpeed = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Flag duplicate fixes, impossible speeds, fixes outside deployments and marked outliers; write every fix
    with `flag` ('' = good) and `keep` to a CSV and print the count per individual and flag."""
    apply(quiet, debug)
    from econet.analytics import tracks as tr
    from econet.atomic import atomic_path
    from econet.cli.console import emit, say
    from econet.errors import EconetError
    if not _is_movebank(movebank):
        raise EconetError("not a Movebank event table (needs location-long and individual-local-identifier)",
                          path=movebank)
    c = load(movebank, reference, max_speed, species, cleaned_only=False)
    with atomic_path(out) as tmp:
        c.to_csv(tmp, index=False)
    say(f"wrote {out} ({int(c['keep'].sum())} of {len(c)} fixes kept)")
    emit(tr.cleaning_report(c).to_dict(orient="records"), fmt, title="fixes per individual and flag")


@tracks_app.command("crossings")
def crossings_cmd(
    tracks: TracksArg,
    zones: Zones,
    zone_field: ZoneField = None,
    border: Border = None,
    out: Out = Path("track-crossings"),
    tolerance: Tolerance = 100.0,
    max_gap: MaxGap = "2D",
    period: Period = "season",
    reference: Reference = None,
    max_speed: MaxSpeed = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Each border crossing of each animal with interpolated time and place and its direction; hours on each
    side per month; totals per species and season; map.png."""
    apply(quiet, debug)
    from econet.cli.crossings import run
    f = load(tracks, reference, max_speed, species)
    run(f, zones, zone_field, border, out, tracks=True, tolerance=tolerance, max_gap=max_gap, period=period,
        mcp_percent=100.0, fmt=fmt, title=f"{tracks.name}: tracks and border crossings")


@tracks_app.command("homerange")
def homerange_cmd(
    tracks: TracksArg,
    method: Annotated[str, typer.Option("--method", help="mcp or kernel.")] = "kernel",
    percent: Annotated[list[float], typer.Option("--percent", help="Home-range level(s) in %.")] = [95.0],
    h: Annotated[str, typer.Option("--h", help="Kernel bandwidth: href, LSCV or metres.")] = "href",
    grid: Annotated[int, typer.Option("--grid", help="Kernel grid size (cells along the longer side).")] = 60,
    by: Annotated[str, typer.Option("--by", help="Group by: individual, or individual plus year, season, "
                                    "month (e.g. 'individual,season').")] = "individual",
    zones: Annotated[Optional[Path], typer.Option("--zones", help="Country polygons: share of each range.")] = None,
    zone_field: ZoneField = None,
    pas: Annotated[Optional[Path], typer.Option("--protected-areas", help="PA polygons: share inside PAs.")] = None,
    pa_field: Annotated[Optional[str], typer.Option("--pa-field", help="PA name field.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoPackage of the ranges (a CSV of areas beside it).")]
        = Path("homeranges.gpkg"),
    map_png: Annotated[Optional[Path], typer.Option("--map", help="Also draw the ranges and fixes to this PNG.")]
        = None,
    reference: Reference = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """MCP or kernel home ranges (as adehabitatHR mcp / kernelUD + getverticeshr) per individual and period, with
    areas in ha and km2 and the share of each range in each country and inside protected areas."""
    apply(quiet, debug)
    from econet.analytics.crossings import period_of
    from econet.analytics.homerange import home_ranges
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.cli.crossings import read_zones
    from econet.errors import EconetError
    from econet.geo.vector import read_vector
    f = load(tracks, reference, None, species)
    keys = [k.strip() for k in by.split(",") if k.strip()]
    for k in keys:
        if k in ("year", "season", "month"):
            f[k] = period_of(f["timestamp"], k)
        elif k not in f.columns:
            raise EconetError(f"cannot group by '{k}'", field="by")
    z, zf = read_zones(zones, zone_field) if zones else (None, None)
    p = read_vector(pas) if pas else None
    hval: str | float = h
    try:
        hval = float(h)
    except ValueError:
        pass
    hr = home_ranges(f, method=method, percent=percent, h=hval, grid=grid, by=keys, zones=z, zone_field=zf,
                     protected_areas=p, pa_field=pa_field)
    csv = out.with_suffix(".csv")
    import pyogrio
    with OutputSet(out.parent if str(out.parent) else Path(".")) as outs:
        pyogrio.write_dataframe(hr, outs.path(out.name), layer="homeranges", driver="GPKG")
        hr.drop(columns="geometry").to_csv(outs.path(csv.name), index=False)
    if map_png:
        _map(map_png, f, polygons=hr, zones=z, zone_field=zf, title=f"{method} home ranges ({by})")
    say(f"wrote {out} and {csv}" + (f" and {map_png}" if map_png else ""))
    cols = [c for c in hr.columns if c != "geometry"]
    emit(hr[cols].to_dict(orient="records"), fmt, title=f"{method} home ranges")


@tracks_app.command("migration")
def migration_cmd(
    tracks: TracksArg,
    seasons: Annotated[str, typer.Option("--seasons", help="Ranging seasons, months=label separated by ';' "
                                         "(other months are travel), e.g. '12,1,2=winter;6,7,8=summer'.")]
        = "12,1,2=winter;6,7,8=summer",
    zones: Annotated[Optional[Path], typer.Option("--zones", help="Country polygons.")] = None,
    zone_field: ZoneField = None,
    pas: Annotated[Optional[Path], typer.Option("--protected-areas", help="PA polygons.")] = None,
    pa_field: Annotated[Optional[str], typer.Option("--pa-field")] = None,
    stop_diameter: Annotated[float, typer.Option("--stop-diameter", help="Stopover: max diameter (m).")] = 5000.0,
    stop_duration: Annotated[str, typer.Option("--stop-duration", help="Stopover: min residence time.")] = "24h",
    out: Out = Path("migration"),
    reference: Reference = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Seasonal ranges (95% MCP), routes between them, stopovers by residence time, and the countries and PAs
    each route passes: migration.gpkg (layers ranges, routes, stopovers) and CSV tables."""
    apply(quiet, debug)
    import pyogrio

    from econet.analytics import tracks as tr
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.cli.crossings import read_zones
    from econet.geo.vector import read_vector
    f = load(tracks, reference, None, species)
    s = _seasons(seasons)
    z, zf = read_zones(zones, zone_field) if zones else (None, None)
    p = read_vector(pas) if pas else None
    stops = tr.stopovers(f, max_diameter_m=stop_diameter, min_duration=stop_duration, zones=z, zone_field=zf,
                         protected_areas=p, pa_field=pa_field)
    ranges = tr.seasonal_ranges(f, s, zones=z, zone_field=zf, protected_areas=p, pa_field=pa_field)
    routes = tr.migration_routes(f, s, zones=z, zone_field=zf, protected_areas=p, pa_field=pa_field, stops=stops)
    with OutputSet(out) as outs:
        g = outs.path("migration.gpkg")
        pyogrio.write_dataframe(ranges, g, layer="ranges", driver="GPKG")
        if len(routes):
            pyogrio.write_dataframe(routes, g, layer="routes", driver="GPKG", append=True)
        if len(stops):
            pyogrio.write_dataframe(stops, g, layer="stopovers", driver="GPKG", append=True)
        for name, t in (("ranges", ranges), ("routes", routes), ("stopovers", stops)):
            t.drop(columns="geometry", errors="ignore").to_csv(outs.path(f"{name}.csv"), index=False)
        _map(outs.path("map.png"), f, polygons=ranges, lines=routes, points=stops, zones=z, zone_field=zf,
             title="seasonal ranges (black), routes (red), stopovers (squares)")
    say(f"wrote migration.gpkg, ranges.csv, routes.csv, stopovers.csv, map.png to {out}/")
    cols = [c for c in routes.columns if c != "geometry"]
    emit(routes[cols].to_dict(orient="records") if len(routes) else [], fmt, title="migration routes")


@tracks_app.command("corridor-use")
def corridor_cmd(
    tracks: TracksArg,
    corridors: Annotated[Path, typer.Option("--corridors", help="Corridor/hotspot polygons (vector file) or a "
                                            "raster mask (GeoTIFF/.asc: cells > --threshold are corridor).")],
    threshold: Annotated[float, typer.Option("--threshold", help="Raster mask: value above which a cell is "
                                             "corridor.")] = 0.0,
    n_random: Annotated[int, typer.Option("--random", help="Random step sets for the expectation.")] = 99,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    max_gap: MaxGap = "2D",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV of the per-individual results.")] = None,
    reference: Reference = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Share of movement steps inside corridors against the share expected from random steps with the same
    step lengths (random directions), with a Monte Carlo p-value."""
    apply(quiet, debug)
    from econet.analytics.tracks import corridor_use
    from econet.atomic import atomic_path
    from econet.cli.console import emit, progress
    f = load(tracks, reference, None, species)
    if corridors.suffix.lower() in (".tif", ".tiff", ".asc", ".gz"):
        from econet.geo.raster import read_raster
        mask = read_raster(corridors)
    else:
        from econet.geo.vector import read_vector
        mask = read_vector(corridors)
    with progress("random steps", n_random) as cb:
        res = corridor_use(f, mask, n_random=n_random, seed=seed, max_gap=max_gap, threshold=threshold, progress=cb)
    per = res.pop("per_individual")
    res.pop("steps")
    if out:
        with atomic_path(out) as tmp:
            per.to_csv(tmp, index=False)
    if fmt == OutputFormat.json:
        emit(res | {"per_individual": per.to_dict(orient="records")}, fmt)
    else:
        emit([{"individual": "all", "n_steps": res["n_steps"], "observed_share": res["observed_share"],
               "expected_share": res["expected_share"], "ratio": res["ratio"], "p_value": res["p_value"]}]
             + per.to_dict(orient="records"), fmt, title="steps inside corridors: observed vs random")


def register(app: typer.Typer) -> None:
    app.add_typer(tracks_app, name="tracks")
