"""`econet corridors`: least-cost corridors, paths and pinch points between protected areas (Linkage Mapper)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet


def corridors_cmd(
        pas: Annotated[Path, typer.Argument(help="Core areas / protected areas (polygons).", show_default=False)],
        resistance: Annotated[Path, typer.Option("--resistance", help="Resistance raster (projected CRS).",
                                                 show_default=False)],
        out: Annotated[Path, typer.Option("--out", help="Output folder.", show_default=False)],
        max_distance: Annotated[Optional[str], typer.Option(
            "--max-distance", help="Link every pair of cores within this edge-to-edge distance, e.g. 100km.")] = None,
        pairs: Annotated[Optional[Path], typer.Option(
            "--pairs", help="CSV with columns from,to (core ids) instead of --max-distance.")] = None,
        width: Annotated[Optional[str], typer.Option(
            "--width", help="Corridor width cut-off in cost-weighted distance units (e.g. 20km = 20,000 "
                            "resistance x metres). Default: 10% of the longest least-cost distance.")] = None,
        max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Do not link pairs costlier than this.")] = None,
        id_field: Annotated[Optional[str], typer.Option("--id-field", help="Core id field (default WDPAID or row).")] = None,
        countries: Annotated[Optional[Path], typer.Option(
            "--countries", help="Country polygons, to report whether and where corridors cross a border.")] = None,
        country_field: Annotated[Optional[str], typer.Option("--country-field", help="Country name/code field.")] = None,
        no_pinchpoints: Annotated[bool, typer.Option("--no-pinchpoints", help="Skip the circuit runs.")] = False,
        fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Least-cost corridors between PAs: GeoTIFFs, a GeoPackage of corridors and paths, a CSV table, a PNG map.

    Example: econet corridors pas.gpkg --resistance resistance.tif --max-distance 100km --out corridors/
    """
    import pyogrio

    from econet.atomic import OutputSet
    from econet.cli import options
    from econet.cli.console import emit, progress, say
    from econet.connectivity.corridors import TABLE_COLUMNS, least_cost_corridors
    from econet.connectivity.graph import parse_distance
    from econet.errors import EconetError
    from econet.geo.protected_areas import prepare, read_layer
    from econet.geo.raster import read_raster, write_raster

    options.apply(quiet, debug)
    if max_distance is None and pairs is None:
        raise EconetError("give --max-distance (e.g. 100km) or --pairs pairs.csv")
    r = read_raster(resistance)
    if r.crs is None:
        raise EconetError("the resistance raster has no CRS", path=resistance)
    from pyproj import CRS
    crs = CRS.from_user_input(r.crs.to_wkt())
    if crs.is_geographic:
        raise EconetError("the resistance raster must be in a projected CRS (metres), not lon/lat", path=resistance)
    lay = prepare(read_layer(pas), id_field=id_field, crs=crs, source=pas, what="core areas")
    ctry = None
    if countries is not None:
        c = prepare(read_layer(countries), id_field=country_field, crs=crs, source=countries, what="countries")
        ctry, country_field = c.gdf, c.id_field
        for n in c.notes:
            say(f"note: {n}")
    for n in lay.notes:
        say(f"note: {n}")
    plist = None
    if pairs is not None:
        import pandas as pd
        t = pd.read_csv(pairs)
        if not {"from", "to"} <= set(t.columns):
            raise EconetError("pairs file needs columns 'from' and 'to'", path=pairs)
        kind = type(lay.gdf[lay.id_field].iloc[0]) if len(lay.gdf) else str
        try:
            plist = [(kind(a), kind(b)) for a, b in zip(t["from"], t["to"])]
        except (TypeError, ValueError):
            raise EconetError("pair ids do not match the core id field", path=pairs) from None
    md = parse_distance(max_distance) if max_distance else None
    w = parse_distance(width) if width else None
    with progress("corridors") as bar:
        res = least_cost_corridors(lay.gdf, r, id_field=lay.id_field, max_distance=md, pairs=plist, width=w,
                                   max_cost=max_cost, countries=ctry, country_field=country_field,
                                   pinchpoints=not no_pinchpoints, progress=bar)
    for n in res.notes:
        say(f"note: {n}")
    with OutputSet(out) as outs:
        write_raster(outs.path("corridors.tif"), r.with_data(res.nlcc))
        write_raster(outs.path("corridors_untruncated.tif"), r.with_data(res.nlcc_full))
        write_raster(outs.path("cwd_nearest_core.tif"), r.with_data(res.cwd))
        if res.pinchpoints is not None:
            write_raster(outs.path("pinchpoints.tif"), r.with_data(res.pinchpoints))
        gp = outs.path("corridors.gpkg")
        pyogrio.write_dataframe(res.paths, gp, layer="paths", driver="GPKG")
        if len(res.corridors):
            pyogrio.write_dataframe(res.corridors, gp, layer="corridors", driver="GPKG", append=True)
        pyogrio.write_dataframe(lay.gdf, gp, layer="cores", driver="GPKG", append=True)
        import pandas as pd
        pd.DataFrame(res.table, columns=TABLE_COLUMNS).to_csv(outs.path("corridors.csv"), index=False)
        _map(outs.path("map.png"), r, res, lay.gdf, ctry)
    say(f"wrote corridors.tif, corridors_untruncated.tif, cwd_nearest_core.tif"
        f"{', pinchpoints.tif' if res.pinchpoints is not None else ''}, corridors.gpkg, corridors.csv, map.png in {out}")
    emit(res.table, fmt, title="least-cost corridors")


def _map(path, r, res, cores, countries) -> None:
    """A quick-look PNG: resistance in grey, corridors in colour, least-cost paths, cores and borders."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    left, bottom, right, top = r.bounds
    fig, ax = plt.subplots(figsize=(8, 8 * (top - bottom) / max(right - left, 1e-9) + 0.5), dpi=120)
    ax.imshow(r.data, extent=(left, right, bottom, top), cmap="Greys", alpha=0.6)
    if np.isfinite(res.nlcc).any():
        ax.imshow(np.ma.masked_invalid(res.nlcc), extent=(left, right, bottom, top), cmap="viridis_r", alpha=0.8)
    if countries is not None:
        countries.boundary.plot(ax=ax, color="black", linewidth=0.8, linestyle="--")
    cores.plot(ax=ax, color="forestgreen", edgecolor="darkgreen")
    res.paths.plot(ax=ax, color="red", linewidth=1.2)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_title("Least-cost corridors (normalized, truncated) and least-cost paths")
    fig.savefig(path, format="png", bbox_inches="tight")
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.command("corridors")(corridors_cmd)
