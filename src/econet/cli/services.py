"""`econet services`: ecosystem services as InVEST defines them: carbon storage (and its change) and annual
water yield, per PA, region, corridor or watershed, with maps and charts."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

group = typer.Typer(help="Ecosystem services (InVEST model definitions): carbon storage and annual water yield.",
                    no_args_is_help=True)


class Engine(str, Enum):
    econet = "econet"
    invest = "invest"


def _zones(path: Optional[Path], layer: Optional[str], like_crs):
    if path is None:
        return None
    from econet.errors import EconetError
    from econet.geo.vector import read_vector

    z = read_vector(path, layer)
    if len(z) == 0:
        raise EconetError("no polygons in the zones layer", path=path)
    return z.to_crs(like_crs.to_wkt()) if like_crs is not None else z


@group.command("carbon")
def carbon(lulc: Annotated[Path, typer.Argument(help="Land-cover raster (GeoTIFF/.asc), e.g. MODIS IGBP classes.")],
           out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("carbon"),
           future: Annotated[Optional[Path], typer.Option(help="A second land-cover map on the same grid: "
                                                               "change = future - current.")] = None,
           table: Annotated[Optional[Path], typer.Option(help="Carbon pools CSV (InVEST layout: lucode, c_above, "
                                                              "c_below, c_soil, c_dead in Mg C/ha); default the "
                                                              "IGBP table shipped with econet.")] = None,
           zones: Annotated[Optional[Path], typer.Option(help="Polygons to total over: PAs, regions, corridors.")] = None,
           zones_layer: Annotated[Optional[str], typer.Option(help="Layer of the zones file.")] = None,
           zone_id: Annotated[Optional[str], typer.Option(help="Zone id field (default: row number).")] = None,
           zone_name: Annotated[Optional[str], typer.Option(help="Zone name field.")] = None,
           ignore_code: Annotated[Optional[List[int]], typer.Option(help="Land-cover code to leave out (e.g. "
                                                                         "255 fill); repeatable.")] = None,
           engine: Annotated[Engine, typer.Option(help="econet, or natcap.invest where installed.")] = Engine.econet,
           fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Carbon stored in four pools per land-cover class times area (InVEST Carbon): per-class and per-zone
    totals (Mg C) and densities (Mg C/ha), the pools not counted per class, maps (Mg C/ha) and charts."""
    apply(quiet, debug)
    import numpy as np

    from econet.analytics import services as sv
    from econet.atomic import OutputSet
    from econet.cli.console import emit, progress, say
    from econet.errors import EconetError
    from econet.geo.raster import read_raster, write_raster

    t = sv.load_carbon_table(table)
    cur = read_raster(lulc)
    if ignore_code:
        cur = cur.with_data(np.where(np.isin(cur.data, ignore_code), np.nan, cur.data))
    fut = None
    if future is not None:
        fut = read_raster(future)
        if ignore_code:
            fut = fut.with_data(np.where(np.isin(fut.data, ignore_code), np.nan, fut.data))
        if not cur.same_grid(fut):
            raise EconetError("the future land-cover map is not on the current map's grid", path=future)
    z = _zones(zones, zones_layer, cur.crs)
    if z is not None:
        for f in (zone_id, zone_name):
            if f is not None and f not in z.columns:
                raise EconetError(f"no field '{f}' in the zones layer", path=zones, field=f)
    names = list(z[zone_name]) if z is not None and zone_name else None
    res = sv.carbon_storage(cur, t)
    summary = {"total_cur_mg": res.total_mg, "model": "InVEST Carbon Storage and Sequestration (econet)"}
    if engine == Engine.invest:
        import tempfile
        with tempfile.TemporaryDirectory() as ws:
            outs = sv.run_invest_carbon(lulc, t, ws, future)
            inv = read_raster(outs["tot_c_cur"])
            summary["invest_total_cur_mg"] = float(np.nansum(inv.data * sv.cell_area_ha(cur)))
    with OutputSet(out) as o:
        res.by_class.to_csv(o.path("carbon_by_class.csv"), index=False)
        res.not_counted_classes.to_csv(o.path("pools_not_counted.csv"), index=False)
        write_raster(o.path("tot_c_cur.tif"), cur.with_data(res.total_density), dtype="float32")
        for p in sv.POOLS:
            write_raster(o.path(f"c_{p[2:]}_cur.tif"), cur.with_data(res.density[p]), dtype="float32")
        sv.plot_map(cur, res.total_density, o.path("carbon_density_map.png"),
                    title="Carbon stored (counted pools)", label="Mg C / ha", outlines=z)
        zt = None
        if z is not None:
            with progress("carbon per zone", total=len(z)) as bar:
                zt = sv.carbon_by_zone(res, cur, z, zone_id=zone_id, names=names, progress=bar)
            zt.to_csv(o.path("carbon_by_zone.csv"), index=False)
            zg = z.copy()
            for c in zt.columns:
                if c not in ("zone_id",):
                    zg[c if c not in zg.columns else f"{c}_c"] = zt[c].to_numpy()
            from econet.geo.vector import write_gpkg
            write_gpkg(o.path("carbon_by_zone.gpkg"), zg, layer="carbon_by_zone")
            labels = names if names is not None else zt["zone_id"]
            sv.plot_bars(labels, zt["total_mg"] / 1e6, o.path("carbon_by_zone.png"),
                         title="Carbon stored per zone", xlabel="Tg C (= Mt C), counted pools",
                         stacked={sv.POOL_NAMES[p]: zt[f"{p}_mg"].to_numpy() / 1e6 for p in sv.POOLS})
        else:
            sv.plot_bars(res.by_class["lulc_name"], res.by_class["total_mg"] / 1e6, o.path("carbon_by_class.png"),
                         title="Carbon stored per land-cover class", xlabel="Tg C (= Mt C), counted pools")
        if fut is not None:
            fres = sv.carbon_storage(fut, t)
            delta = fres.total_density - res.total_density
            summary["total_fut_mg"] = fres.total_mg
            summary["change_mg"] = fres.total_mg - res.total_mg
            write_raster(o.path("tot_c_fut.tif"), cur.with_data(fres.total_density), dtype="float32")
            write_raster(o.path("delta_cur_fut.tif"), cur.with_data(delta), dtype="float32")
            fres.not_counted_classes.to_csv(o.path("pools_not_counted_future.csv"), index=False)
            sv.plot_map(cur, delta, o.path("carbon_change_map.png"), title="Change in carbon stored (future - current)",
                        label="Mg C / ha", cmap="RdYlGn", outlines=z, diverging=True)
            if z is not None:
                ch = sv.change_by_zone(res, fres, cur, fut, z, zone_id=zone_id, names=names)
                ch.to_csv(o.path("carbon_change_by_zone.csv"), index=False)
        summary["notes"] = res.notes
        o.path("summary.json").write_text(json.dumps(summary, indent=2, default=float), encoding="utf-8")
    for n in res.notes:
        say(f"note: {n}")
    say(f"wrote carbon tables, rasters (Mg C/ha) and charts to {out}")
    if zt is not None:
        rows = [{"zone": (r.get("name") or r["zone_id"]), "area_ha": round(r["area_ha"]),
                 "total_mg": round(r["total_mg"]), "density_mg_ha": round(r["density_mg_ha"], 2)
                 if r["density_mg_ha"] == r["density_mg_ha"] else None,
                 "ha_with_pools_not_counted": round(r["not_counted_ha"])}
                for _, r in zt.iterrows()]
        emit(rows, fmt, title="Carbon stored per zone (Mg C)")
    else:
        emit(summary if fmt == OutputFormat.json else [{k: v for k, v in summary.items() if k != "notes"}], fmt,
             title="Carbon stored")


@group.command("water")
def water(lulc: Annotated[Path, typer.Option("--lulc", help="Land-cover raster (projected CRS, metres).")],
          precip: Annotated[Path, typer.Option("--precip", help="Annual precipitation raster (mm).")],
          eto: Annotated[Path, typer.Option("--eto", help="Annual reference evapotranspiration ET0 raster (mm).")],
          depth: Annotated[Path, typer.Option("--depth", help="Root-restricting layer depth raster (mm).")],
          pawc: Annotated[Path, typer.Option("--pawc", help="Plant available water content raster (fraction 0-1).")],
          biophysical: Annotated[Path, typer.Option("--biophysical", help="CSV lucode, kc, root_depth (mm), "
                                                                         "lulc_veg (1/0) as in InVEST.")],
          watersheds: Annotated[Path, typer.Option("--watersheds", help="Watershed polygons.")],
          z: Annotated[float, typer.Option("--z", help="Seasonality constant Z (InVEST: 1-30).")],
          out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("water-yield"),
          ws_id: Annotated[Optional[str], typer.Option(help="Watershed id field (InVEST: ws_id; default ws_id "
                                                            "if present, else row number).")] = None,
          watersheds_layer: Annotated[Optional[str], typer.Option(help="Layer of the watersheds file.")] = None,
          engine: Annotated[Engine, typer.Option(help="econet, or natcap.invest where installed.")] = Engine.econet,
          fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Annual water yield with the Budyko curve as InVEST defines it: per cell AET and yield (mm), per
    watershed the mean precipitation, PET, AET, yield (mm) and the yield volume (m3)."""
    apply(quiet, debug)
    from econet.analytics import services as sv
    from econet.atomic import OutputSet
    from econet.cli.console import emit, progress, say
    from econet.errors import EconetError
    from econet.geo.raster import read_raster, write_raster
    from econet.geo.rasterize import warp

    lc = read_raster(lulc)
    if lc.crs is None or lc.crs.is_geographic:
        raise EconetError("the land-cover raster must be in a projected CRS (metres), as InVEST requires", path=lulc)
    rasters = {}
    for name, p in (("precip", precip), ("eto", eto), ("depth", depth), ("pawc", pawc)):
        r = read_raster(p)
        rasters[name] = r if lc.same_grid(r) else warp(r, lc, "nearest")
    table = sv.load_biophysical_table(biophysical)
    ws = _zones(watersheds, watersheds_layer, lc.crs)
    wid = ws_id or ("ws_id" if "ws_id" in ws.columns else None)
    if wid is not None and wid not in ws.columns:
        raise EconetError(f"no field '{wid}' in the watersheds layer", path=watersheds, field=wid)
    with progress("water yield per watershed", total=len(ws)) as bar:
        res = sv.water_yield(lc, rasters["precip"], rasters["eto"], rasters["depth"], rasters["pawc"], table, z,
                             ws, ws_id=wid, progress=bar)
    tab = res.watersheds
    if engine == Engine.invest:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            inv = sv.run_invest_water({"lulc": lulc, "precip": precip, "eto": eto, "depth": depth, "pawc": pawc},
                                      table, z, watersheds, d)
        tab = tab.assign(invest_wyield_mn=inv["wyield_mn"].to_numpy()[:len(tab)],
                         invest_wyield_vol=inv["wyield_vol"].to_numpy()[:len(tab)])
    with OutputSet(out) as o:
        tab.to_csv(o.path("watershed_results_wyield.csv"), index=False)
        g = ws.copy()
        for c in tab.columns:
            if c != "ws_id" or c not in g.columns:
                g[c] = tab[c].to_numpy()
        from econet.geo.vector import write_gpkg
        write_gpkg(o.path("watershed_results_wyield.gpkg"), g, layer="watershed_results_wyield")
        write_raster(o.path("wyield.tif"), lc.with_data(res.wyield), dtype="float32")
        write_raster(o.path("aet.tif"), lc.with_data(res.aet), dtype="float32")
        write_raster(o.path("fractp.tif"), lc.with_data(res.fractp), dtype="float32")
        sv.plot_map(lc, res.wyield, o.path("water_yield_map.png"), title="Annual water yield", label="mm / year",
                    cmap="Blues", outlines=ws)
        sv.plot_bars(tab["ws_id"], tab["wyield_vol"] / 1e6, o.path("water_yield_by_watershed.png"),
                     title="Annual water yield per watershed", xlabel="million m3 / year", colour="#1565c0")
    say(f"wrote watershed results, rasters (mm) and charts to {out}")
    emit([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in tab.to_dict("records")],
         fmt, title="Annual water yield per watershed")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="services")
