"""`econet crossings`: individuals on each side of a border, crossing events, MCPs straddling it, and a map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli._hubopts import AsUser, Dataset, End, HubDb, Start, Taxon
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

INDIVIDUAL = ("individual", "individualID", "individual_id", "individual-local-identifier", "animal", "animal_id",
              "ID", "id")
TIME = ("timestamp", "eventStart", "datetime", "date_time", "DateTimeOriginal", "time", "date")
LON = ("lon", "longitude", "decimalLongitude", "location-long", "long", "x", "X")
LAT = ("lat", "latitude", "decimalLatitude", "location-lat", "y", "Y")
SPECIES = ("species", "scientificName", "individual-taxon-canonical-name", "taxon", "Species")
ZONE_FIELDS = ("ISO_A3", "ADM0_A3", "iso_a3", "country", "COUNTRY", "ADMIN", "name", "NAME", "zone", "side")


def pick(columns, wanted, given: str | None, what: str, path=None, required: bool = True) -> str | None:
    """The column named by the user, else the first usual name present."""
    from econet.errors import EconetError
    cols = list(map(str, columns))
    if given:
        if given not in cols:
            raise EconetError(f"no {what} column '{given}' (columns: {', '.join(cols)})", path=path, field=given)
        return given
    for w in wanted:
        if w in cols:
            return w
    if required:
        raise EconetError(f"cannot tell which column holds the {what} (columns: {', '.join(cols)}); "
                          f"name it with --{what.replace(' ', '-')}-field", path=path)
    return None


def read_table(path: Path):
    """A CSV, or the point layer of a GeoPackage/GeoJSON (geometry kept)."""
    import pandas as pd

    from econet.errors import EconetError
    if not path.exists():
        raise EconetError("file not found", path=path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        try:
            return pd.read_csv(path, sep=None if path.suffix.lower() != ".csv" else ",", engine="python"
                               if path.suffix.lower() != ".csv" else "c")
        except Exception as exc:
            raise EconetError(f"cannot read CSV ({exc})", path=path) from None
    from econet.geo.vector import read_vector
    return read_vector(path, layer="fixes" if path.suffix.lower() == ".gpkg" and _has_layer(path, "fixes") else None)


def _has_layer(path: Path, name: str) -> bool:
    from econet.geo.vector import list_layers
    return name in list_layers(path)


def fixes_from(path: Path, individual=None, time=None, lon=None, lat=None, species=None, default_species=None):
    """Detections or fixes of a file as econet's fix table (auto-detecting the usual column names)."""
    from econet.analytics.crossings import as_fixes
    t = read_table(path)
    if "keep" in t.columns:  # a cleaned track file from `econet tracks import`
        t = t[t["keep"].astype(str).str.lower().isin(["true", "1"])]
    geo = hasattr(t, "geometry") and getattr(t, "crs", None) is not None
    ind = pick(t.columns, INDIVIDUAL, individual, "individual", path)
    tc = pick(t.columns, TIME, time, "time", path)
    sp = pick(t.columns, SPECIES, species, "species", path, required=False)
    if geo:
        xc = yc = None
    else:
        xc = pick(t.columns, LON, lon, "lon", path)
        yc = pick(t.columns, LAT, lat, "lat", path)
    f = as_fixes(t, individual=ind, timestamp=tc, lon=xc, lat=yc, species=sp, source=str(path))
    skipped = f.attrs.get("n_without_id_time_or_place", 0)
    if skipped:
        from econet.cli.console import say
        say(f"{skipped} of {len(t)} rows of {path.name} have no individual, time or place and are not used")
    if sp is None and default_species:
        f["species"] = default_species
    return f


def read_zones(path: Path, field: str | None):
    from econet.geo.vector import read_vector
    z = read_vector(path)
    if is_lines(z):
        return z, None
    f = pick(z.columns, ZONE_FIELDS, field, "zone", path)
    return z, f


def is_lines(layer) -> bool:
    return bool(len(layer)) and layer.geometry.geom_type.str.contains("LineString").all()


LEFT = ("adm0_a3_l", "ADM0_A3_L", "left", "LEFT", "adm0_left")
RIGHT = ("adm0_a3_r", "ADM0_A3_R", "right", "RIGHT", "adm0_right")


def draw_map(png: Path, result, *, tracks: bool = False, title: str = "") -> None:
    """Zones, border, fixes (or tracks) per individual, MCPs and crossings on one map (lon/lat)."""
    import matplotlib
    matplotlib.use("Agg")
    import geopandas as gpd
    import matplotlib.pyplot as plt
    import numpy as np

    from econet.analytics.crossings import crossing_points
    f = result.fixes
    z = result.zones
    fig, ax = plt.subplots(figsize=(9, 8))
    zones = gpd.GeoDataFrame({"zone": z.labels}, geometry=z.polygons, crs=z.crs).to_crs(4326)
    zones.plot(ax=ax, column="zone", cmap="Pastel1", edgecolor="grey", linewidth=0.5, legend=True,
               legend_kwds={"loc": "lower left", "title": "side"})
    if not z.border.is_empty:
        gpd.GeoSeries([z.border], crs=z.crs).to_crs(4326).plot(ax=ax, color="black", linewidth=1.2)
    if result.mcps is not None and len(result.mcps):
        result.mcps.boundary.plot(ax=ax, color="dimgrey", linewidth=0.7, linestyle="--")
    cmap = plt.get_cmap("tab20")
    for i, (ind, d) in enumerate(f.groupby("individual", sort=True)):
        col = cmap(i % 20)
        if tracks:
            lon = np.unwrap(np.radians(d["lon"].to_numpy())) * 180 / np.pi
            ax.plot(lon, d["lat"], color=col, linewidth=0.6, alpha=0.8)
        ax.scatter(d["lon"], d["lat"], s=6 if tracks else 14, color=col, label=str(ind) if i < 20 else None)
    if len(result.events):
        pts = crossing_points(result.events)
        ax.scatter(pts.geometry.x, pts.geometry.y, marker="x", color="red", s=40, zorder=5, label="crossing")
    pad = 0.1
    ax.set_xlim(f["lon"].min() - pad, f["lon"].max() + pad)
    ax.set_ylim(f["lat"].min() - pad, f["lat"].max() + pad)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or "Detections and border crossings")
    if f["individual"].nunique() <= 20:
        ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=130)
    plt.close(fig)


def write_outputs(out: Path, result, *, tracks: bool, title: str) -> list[Path]:
    """Every table as CSV, a GeoPackage (fixes, crossings, MCPs) and the map, all or nothing."""
    import geopandas as gpd

    from econet.analytics.crossings import crossing_points
    from econet.atomic import OutputSet
    written = []
    with OutputSet(out) as outs:
        for name, df in (("individuals", result.individuals), ("summary", result.summary),
                         ("crossings", result.events), ("totals_by_season", result.totals)):
            p = outs.path(f"{name}.csv")
            df.to_csv(p, index=False)
            written.append(out / f"{name}.csv")
        if tracks:
            result.time_by_month.to_csv(outs.path("time_by_month.csv"), index=False)
            written.append(out / "time_by_month.csv")
        if result.mcps is not None:
            m = result.mcps.drop(columns="geometry")
            m.to_csv(outs.path("mcps.csv"), index=False)
            written.append(out / "mcps.csv")
        import pyogrio
        g = outs.path("crossings.gpkg")
        fx = result.fixes.drop(columns=["x", "y"])
        pts = gpd.GeoDataFrame(fx, geometry=gpd.points_from_xy(fx["lon"], fx["lat"]), crs=4326)
        pyogrio.write_dataframe(pts, g, layer="fixes", driver="GPKG")
        if len(result.events):
            pyogrio.write_dataframe(crossing_points(result.events), g, layer="crossings", driver="GPKG", append=True)
        if result.mcps is not None and len(result.mcps):
            pyogrio.write_dataframe(result.mcps, g, layer="mcps", driver="GPKG", append=True)
        written.append(out / "crossings.gpkg")
        draw_map(outs.path("map.png"), result, tracks=tracks, title=title)
        written.append(out / "map.png")
    return written


def run(fixes, zones_path: Path, zone_field, border_path, out: Path, *, tracks: bool, tolerance: float,
        max_gap: str, period: str, mcp_percent: float, fmt: OutputFormat, title: str,
        left_field: str | None = None, right_field: str | None = None):
    from econet.analytics.crossings import crossings, zones_from_border_lines
    from econet.cli.console import emit, progress, say
    from econet.geo.vector import read_vector
    zones, field = read_zones(zones_path, zone_field)
    border = read_vector(border_path) if border_path else None
    if field is None:  # a border-line layer naming the country on each side
        left = pick(zones.columns, LEFT, left_field, "left", zones_path)
        right = pick(zones.columns, RIGHT, right_field, "right", zones_path)
        border = zones if border is None else border
        zones = zones_from_border_lines(zones, left, right, (fixes["lon"].to_numpy(), fixes["lat"].to_numpy()))
        field = "side"
    with progress("crossings", 4) as cb:
        res = crossings(fixes, zones, field, border=border, tracks=tracks, tolerance_m=tolerance,
                        max_gap=max_gap, period=period, mcp_percent=mcp_percent if mcp_percent > 0 else None,
                        progress=cb)
    written = write_outputs(out, res, tracks=tracks, title=title)
    say(f"wrote {len(written)} files to {out}/ ({', '.join(p.name for p in written)})")
    if fmt == OutputFormat.json:
        emit({"summary": res.summary.to_dict(orient="records"), "totals": res.totals.to_dict(orient="records"),
              "n_crossings": len(res.events), "outputs": [str(p) for p in written]}, fmt)
    else:
        emit(res.summary.to_dict(orient="records"), fmt, title="individuals per side of the border")
    return res


Zones = Annotated[Path, typer.Option("--zones", help="Country/zone polygons (GeoPackage, GeoJSON, Shapefile), "
                                      "or border lines naming the country on each side (--left-field, "
                                      "--right-field; Natural Earth's adm0_a3_l/adm0_a3_r by default).")]
LeftField = Annotated[Optional[str], typer.Option("--left-field", help="Border lines: field naming the left side.")]
RightField = Annotated[Optional[str], typer.Option("--right-field", help="Border lines: field naming the right side.")]
ZoneField = Annotated[Optional[str], typer.Option("--zone-field", help="Field naming the side (default: ISO_A3, "
                                                  "ADM0_A3, country, name... whichever exists).")]
Border = Annotated[Optional[Path], typer.Option("--border", help="Border lines to place crossings on (default: "
                                                "the shared edges of the zone polygons).")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
Tolerance = Annotated[float, typer.Option("--tolerance", help="Metres either side of the border where a fix "
                                          "gets no side (GPS error, border precision).")]
Period = Annotated[str, typer.Option("--period", help="Analysis periods: all, year, season, month.")]
MaxGap = Annotated[str, typer.Option("--max-gap", help="Crossings between fixes further apart than this are "
                                     "flagged as gaps (pandas duration, e.g. 2D, 12h).")]
Mcp = Annotated[float, typer.Option("--mcp-percent", help="MCP percentage per individual (0 = none).")]


def _hub_crossings(db, as_user, taxon, dataset, start, end, out: Path, fmt) -> None:
    """Crossings from the hub under the caller's view: summary, individuals and events as CSV in `out`."""
    import pandas as pd

    from econet.atomic import OutputSet
    from econet.cli._hubopts import hub_run, say_input
    from econet.cli.console import emit
    from econet.hub import population
    rep = hub_run(db, as_user, population.run_crossings, taxon=taxon, dataset=dataset, start=start, end=end)
    with OutputSet(out) as outputs:
        for name in ("summary", "individuals", "events"):
            pd.DataFrame(rep[name]).to_csv(outputs.path(f"{name}.csv"), index=False)
    if fmt == OutputFormat.json:
        emit(rep, fmt)
        return
    say_input(rep)
    emit(rep["summary"], fmt, title="individuals per country, in both, only in one (hub)")


def register(app: typer.Typer) -> None:
    @app.command("crossings")
    def crossings_cmd(
        detections: Annotated[Optional[Path], typer.Argument(help="Detections of identified individuals: CSV "
                                                             "(individual, time, lon, lat[, species]) or a point "
                                                             "GeoPackage; omit with --db.")] = None,
        zones: Annotated[Optional[Path], typer.Option("--zones", help="Country/zone polygons (GeoPackage, GeoJSON, "
                                                      "Shapefile), or border lines naming the country on each side "
                                                      "(--left-field, --right-field; Natural Earth's adm0_a3_l/"
                                                      "adm0_a3_r by default).")] = None,
        zone_field: ZoneField = None,
        border: Border = None,
        out: Out = Path("crossings-out"),
        period: Period = "all",
        tolerance: Tolerance = 0.0,
        tracks: Annotated[bool, typer.Option("--tracks", help="Treat the file as GPS tracks: interpolate each "
                                             "crossing on the border and total the time on each side.")] = False,
        max_gap: MaxGap = "2D",
        mcp_percent: Mcp = 100.0,
        individual_field: Annotated[Optional[str], typer.Option("--individual-field")] = None,
        time_field: Annotated[Optional[str], typer.Option("--time-field")] = None,
        lon_field: Annotated[Optional[str], typer.Option("--lon-field")] = None,
        lat_field: Annotated[Optional[str], typer.Option("--lat-field")] = None,
        species_field: Annotated[Optional[str], typer.Option("--species-field")] = None,
        species: Annotated[Optional[str], typer.Option("--species", help="Species when the file has none.")] = None,
        left_field: LeftField = None,
        right_field: RightField = None,
        db: HubDb = None,
        as_user: AsUser = None,
        taxon: Taxon = None,
        dataset: Dataset = None,
        start: Start = None,
        end: End = None,
        fmt: Format = OutputFormat.table,
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        """Who was detected on which side of a border, in both or only one; crossing events with dates;
        MCPs straddling the border; share of transboundary individuals; CSV tables, a GeoPackage and map.png.
        With --db: the hub's detections of identified individuals under the --as user's view (sides from
        each record's country)."""
        apply(quiet, debug)
        from econet.errors import EconetError
        if db is not None:
            _hub_crossings(db, as_user, taxon, dataset, start, end, out, fmt)
            return
        if detections is None or zones is None:
            raise EconetError("give DETECTIONS and --zones (or --db URL to run on the hub)", field="zones")
        f = fixes_from(detections, individual_field, time_field, lon_field, lat_field, species_field, species)
        run(f, zones, zone_field, border, out, tracks=tracks, tolerance=tolerance, max_gap=max_gap,
            period=period, mcp_percent=mcp_percent, fmt=fmt,
            title=f"{detections.name}: individuals and crossings", left_field=left_field, right_field=right_field)
