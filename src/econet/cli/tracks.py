"""`econet tracks`: Movebank GPS tracks -> hub or cleaned GeoPackage, border crossings, home ranges, migration,
corridor use.

Files: `tracks import FILE.csv --out tracks.gpkg` writes a cleaned GeoPackage (every fix kept, bad ones
flagged) that the other commands read; Movebank CSVs are read in chunks and cleaned one animal at a time, so
memory stays flat as files grow. Hub: `tracks import FILE.csv --db URL --dataset D --org O` stores the fixes
under the dataset's sharing rules, and `crossings` / `homerange` without a file run on the hub's fixes as a
user sees them (`--db URL --as USER`, or `--token`; without either, the database operator's full view).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.crossings import Border, MaxGap, Out, Period, Tolerance, ZoneField
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

DbOpt = Annotated[Optional[str], typer.Option("--db", envvar="ECONET_DB", show_default=False,
                                             help="Hub database URL: read the tracks from the hub (default "
                                                  "$ECONET_DB when no file is given).")]
AsUser = Annotated[Optional[str], typer.Option("--as", "--as-user", help="Run on what this hub user may see "
                                               "(sharing rules applied).")]
Token = Annotated[Optional[str], typer.Option("--token", envvar="ECONET_TOKEN", help="Run on what this API "
                                              "token's user may see.")]


def hub_view(db: str | None, as_user: str | None = None, token: str | None = None):
    """(engine, View) of a CLI hub analysis: the named user's or token's view, else the operator's (admin)."""
    from econet.cli.options import default_db
    from econet.hub.db import open_hub
    from econet.hub.sharing import View
    engine = open_hub(db or default_db())
    with engine.connect() as conn:
        if token:
            view = View.for_token(conn, token)
        elif as_user:
            view = View.for_user(conn, as_user)
        else:
            view = View.admin("database operator")
    return engine, view


def say_view(rep: dict) -> None:
    """Print which view a hub analysis ran under and whether its input was generalized."""
    from econet.cli.console import say
    v = rep["view"]
    who = v["kind"] if not v.get("user") else f"{v['kind']} {v['user']}"
    say(f"computed on the view of {who} ({rep.get('fixes', rep.get('records', 0))} records from "
        f"{', '.join(rep.get('datasets') or []) or 'no dataset'})"
        + ("; input generalized by the sharing rules" if rep.get("generalized_input") else ""))


tracks_app = typer.Typer(help="GPS tracks (Movebank): import and clean, crossings, home ranges, migration, "
                              "corridor use.", no_args_is_help=True)

TracksArg = Annotated[Path, typer.Argument(help="Movebank event CSV, a plain CSV (individual, timestamp, lon, "
                                           "lat) or the GeoPackage written by `econet tracks import`.")]
HubTracksArg = Annotated[Optional[Path], typer.Argument(help="Movebank event CSV, a plain CSV (individual, timestamp, "
                                                        "lon, lat) or the GeoPackage of `econet tracks import`; "
                                                        "omit it to use the hub's tracks (--db, --as).")]
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


def _check_movebank(path: Path) -> None:
    from econet.errors import EconetError
    if not path.exists():
        raise EconetError("file not found", path=path)
    if not _is_movebank(path):
        raise EconetError("not a Movebank event table (needs location-long and individual-local-identifier)",
                          path=path)


def _streamed(movebank: Path, reference: Path | None, max_speed, species, bar):
    """Cleaned fixes of a Movebank CSV, one individual at a time (flat memory)."""
    from econet.analytics import tracks as tr
    ref = tr.read_reference(reference) if reference else None
    return tr.iter_individuals(movebank, ref, species=species, max_speed_kmh=_speeds(max_speed), progress=bar)


@tracks_app.command("import")
def import_cmd(
    movebank: Annotated[Path, typer.Argument(help="Movebank event table CSV.")],
    reference: Reference = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoPackage to write (file mode).")] = Path("tracks.gpkg"),
    db: DbOpt = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Hub dataset (created if new): import into "
                                                   "the hub instead of writing a GeoPackage.")] = None,
    org: Annotated[Optional[str], typer.Option("--org", help="Owner organization of the hub dataset.")] = None,
    max_speed: MaxSpeed = None,
    species: Species = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Read a Movebank CSV (in chunks), flag bad fixes (never dropped), and either store them in the hub
    (--dataset, --org, --db: sharing rules apply) or write a GeoPackage: layers `fixes` (every fix with its flag
    and keep) and `tracks` (one line per animal from the kept fixes)."""
    apply(quiet, debug)
    from econet.cli.console import emit, progress, say
    from econet.errors import EconetError
    _check_movebank(movebank)
    if dataset or org:
        if not (dataset and org):
            raise EconetError("a hub import needs both --dataset and --org", field="dataset")
        from econet.cli.options import default_db
        from econet.hub.ingest import import_path
        with progress(f"importing {movebank.name}") as bar:
            rep = import_path(db or default_db(), movebank, dataset=dataset, org=org, fmt="movebank",
                              reference=reference, max_speed_kmh=_speeds(max_speed), species=species, progress=bar)
        say(f"imported into dataset {dataset}: " + (", ".join(f"{v} {k}" for k, v in rep["added"].items()) or
                                                     "nothing new"))
        emit({"dataset": dataset, "rows_read": rep["rows_read"], **{f"added {k}": v for k, v in rep["added"].items()},
              "notes": "; ".join(rep.get("notes") or [])}, fmt, title="tracks import")
        return
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    from econet.analytics import tracks as tr
    from econet.atomic import atomic_path
    reps, lines, n = [], [], 0
    with atomic_path(out) as tmp, progress("reading and cleaning") as bar:
        for c in _streamed(movebank, reference, max_speed, species, bar):
            ok = c["lon"].notna() & c["lat"].notna()
            pts = gpd.GeoDataFrame(c.drop(columns=[k for k in ("_row",) if k in c.columns]),
                                   geometry=gpd.points_from_xy(c["lon"].where(ok, 0.0), c["lat"].where(ok, 0.0)),
                                   crs=4326)
            pts.loc[~ok.to_numpy(), "geometry"] = None
            pts["flag"] = pts["flag"].astype(str)
            for col in pts.columns:
                if str(pts[col].dtype) in ("category", "string"):
                    pts[col] = pts[col].astype(object)
            pyogrio.write_dataframe(pts, tmp, layer="fixes", driver="GPKG", append=n > 0)
            n += 1
            reps.append(tr.cleaning_report(c))
            lines.append(tr.track_lines(c))
        if not n:
            raise EconetError("no fixes in the file", path=movebank)
        tl = gpd.GeoDataFrame(pd.concat(lines, ignore_index=True), crs=4326)
        pyogrio.write_dataframe(tl, tmp, layer="tracks", driver="GPKG", append=True)
    rep = pd.concat(reps, ignore_index=True)
    say(f"wrote {out} ({int(rep['kept'].sum())} of {int(rep['total'].sum())} fixes kept)")
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
    with `flag` ('' = good) and `keep` to a CSV (one animal at a time: flat memory) and print the count per
    individual and flag."""
    apply(quiet, debug)
    import pandas as pd

    from econet.analytics import tracks as tr
    from econet.atomic import atomic_path
    from econet.cli.console import emit, progress, say
    _check_movebank(movebank)
    reps = []
    with atomic_path(out) as tmp, progress("reading and cleaning") as bar:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            for i, c in enumerate(_streamed(movebank, reference, max_speed, species, bar)):
                c.to_csv(fh, index=False, header=i == 0)
                reps.append(tr.cleaning_report(c))
    rep = pd.concat(reps, ignore_index=True) if reps else pd.DataFrame()
    say(f"wrote {out} ({int(rep['kept'].sum()) if len(rep) else 0} of {int(rep['total'].sum()) if len(rep) else 0} "
        "fixes kept)")
    emit(rep.to_dict(orient="records"), fmt, title="fixes per individual and flag")


HubZones = Annotated[Optional[Path], typer.Option("--zones", help="Country/zone polygons (default with the hub: "
                                                  "the hub's country layer).")]
HubBorder = Annotated[Optional[str], typer.Option("--countries", help="Hub: only this border, two ISO codes "
                                                  "(e.g. CN-RU).")]
Dataset = Annotated[Optional[str], typer.Option("--dataset", help="Hub: dataset name.")]
Taxon = Annotated[Optional[str], typer.Option("--taxon", help="Hub: scientific name (synonyms and subtaxa).")]


@tracks_app.command("crossings")
def crossings_cmd(
    tracks: HubTracksArg = None,
    zones: HubZones = None,
    zone_field: ZoneField = None,
    border: Border = None,
    out: Out = Path("track-crossings"),
    tolerance: Tolerance = 100.0,
    max_gap: MaxGap = "2D",
    period: Period = "season",
    reference: Reference = None,
    max_speed: MaxSpeed = None,
    species: Species = None,
    db: DbOpt = None,
    as_user: AsUser = None,
    token: Token = None,
    countries: HubBorder = None,
    dataset: Dataset = None,
    taxon: Taxon = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Each border crossing of each animal with interpolated time and place and its direction; hours on each
    side per month; totals per species and season; map.png. From a file (Movebank CSVs streamed one animal at
    a time) or from the hub on a user's view (no file; --db, --as)."""
    apply(quiet, debug)
    from econet.cli.console import emit, progress, say
    from econet.cli.crossings import read_zones, write_outputs
    from econet.errors import EconetError
    kw = {"tracks": True, "tolerance_m": tolerance, "max_gap": max_gap, "period": period, "mcp_percent": 100.0}
    if tracks is None or not str(tracks):
        from econet.hub import tracking
        engine, view = hub_view(db, as_user, token)
        z, zf = read_zones(zones, zone_field) if zones else (None, None)
        with engine.begin() as conn, progress("crossings") as bar:
            res, rep = tracking.crossings_on_view(conn, view, tracking.filter_from(dataset=dataset, taxon=taxon),
                                                  zones=z, zone_field=zf, border=countries, progress=bar, **kw)
        say_view(rep)
        title = f"hub tracks ({rep['view']['kind']} {rep['view'].get('user') or ''}) and border crossings"
    elif _is_movebank(tracks):
        from econet.analytics.tracks import crossings_streamed
        if zones is None:
            raise EconetError("give --zones (country polygons) for a file", field="zones")
        z, zf = read_zones(zones, zone_field)
        from econet.geo.vector import read_vector
        b = read_vector(border) if border else None
        with progress("reading, cleaning, crossings") as bar:
            res = crossings_streamed(_streamed(tracks, reference, max_speed, species, bar), z, zf, border=b, **kw)
        title = f"{tracks.name}: tracks and border crossings"
    else:
        if zones is None:
            raise EconetError("give --zones (country polygons) for a file", field="zones")
        from econet.cli.crossings import run
        f = load(tracks, reference, max_speed, species)
        run(f, zones, zone_field, border, out, tracks=True, tolerance=tolerance, max_gap=max_gap, period=period,
            mcp_percent=100.0, fmt=fmt, title=f"{tracks.name}: tracks and border crossings")
        return
    if res.meta.get("fixes_thinned"):
        say(f"{res.meta['fixes']} fixes: the fixes layer and map show an even sample of {len(res.fixes)}")
    written = write_outputs(out, res, tracks=True, title=title)
    say(f"wrote {len(written)} files to {out}/")
    summary = res.summary.to_dict(orient="records")
    full = {"summary": summary, "totals": res.totals.to_dict(orient="records"), "n_crossings": len(res.events),
            "outputs": [str(p) for p in written]}
    emit(full if fmt == OutputFormat.json else summary, fmt, title="individuals per side of the border")


@tracks_app.command("homerange")
def homerange_cmd(
    tracks: HubTracksArg = None,
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
    db: DbOpt = None,
    as_user: AsUser = None,
    token: Token = None,
    dataset: Dataset = None,
    taxon: Taxon = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """MCP or kernel home ranges (as adehabitatHR mcp / kernelUD + getverticeshr) per individual and period, with
    areas in ha and km2 and the share of each range in each country and inside protected areas. From a file or
    from the hub on a user's view (no file; --db, --as)."""
    apply(quiet, debug)
    from econet.analytics.crossings import period_of
    from econet.analytics.homerange import home_ranges
    from econet.atomic import OutputSet
    from econet.cli.console import emit, say
    from econet.cli.crossings import read_zones
    from econet.errors import EconetError
    from econet.geo.vector import read_vector
    keys = [k.strip() for k in by.split(",") if k.strip()]
    z, zf = read_zones(zones, zone_field) if zones else (None, None)
    p = read_vector(pas) if pas else None
    hval: str | float = h
    try:
        hval = float(h)
    except ValueError:
        pass
    opts = {"grid": grid, "zones": z, "zone_field": zf, "protected_areas": p, "pa_field": pa_field}
    if tracks is None or not str(tracks):
        from econet.hub import tracking
        engine, view = hub_view(db, as_user, token)
        with engine.begin() as conn:
            hr, rep = tracking.home_ranges_on_view(conn, view, tracking.filter_from(dataset=dataset, taxon=taxon),
                                                   method=method, percent=percent, h=hval, by=keys, **opts)
            f = tracking.fixes_on_view(conn, view, tracking.filter_from(dataset=dataset, taxon=taxon))[0] \
                if map_png else None
        say_view(rep)
    else:
        f = load(tracks, reference, None, species)
        for k in keys:
            if k in ("year", "season", "month"):
                f[k] = period_of(f["timestamp"], k)
            elif k not in f.columns:
                raise EconetError(f"cannot group by '{k}'", field="by")
        hr = home_ranges(f, method=method, percent=percent, h=hval, by=keys, **opts)
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
