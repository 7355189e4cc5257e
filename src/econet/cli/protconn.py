"""`econet protconn` (ProtConn per region and distance) and `econet pc` (PC/IIC, EC and per-node dPC/dIIC)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet


class DistanceType(str, Enum):
    edge = "edge"
    centroid = "centroid"
    least_cost = "least-cost"


class AreaAttribute(str, Enum):
    pa = "pa"
    intersected = "intersected"


class Metric(str, Enum):
    PC = "PC"
    IIC = "IIC"


def _resistance(path: Optional[Path], distance_type: DistanceType, crs):
    if distance_type != DistanceType.least_cost:
        return None
    from econet.errors import EconetError
    from econet.geo.raster import read_raster
    if path is None:
        raise EconetError("--distance-type least-cost needs --resistance R.tif")
    r = read_raster(path)
    if r.crs is not None and crs is not None:
        from pyproj import CRS
        if CRS.from_user_input(r.crs.to_wkt()) != CRS.from_user_input(crs):
            raise EconetError("the resistance raster must be in the same projected CRS as the polygons "
                              f"({CRS.from_user_input(crs).name})", path=path)
    return r


def protconn_cmd(
        pas: Annotated[Path, typer.Argument(help="Protected areas (GeoPackage, Shapefile, GeoJSON; WDPA understood).",
                                             show_default=False)],
        regions: Annotated[Path, typer.Option("--regions", help="Regions to report on (countries, ecoregions...).",
                                              show_default=False)],
        region_id: Annotated[Optional[str], typer.Option("--region-id", help="Field naming each region.")] = None,
        distance: Annotated[Optional[List[str]], typer.Option(
            "--distance", help="Median dispersal distance, e.g. 10km (repeat for several).")] = None,
        probability: Annotated[float, typer.Option("--probability", help="Dispersal probability at that distance.")] = 0.5,
        distance_type: Annotated[DistanceType, typer.Option("--distance-type", help="How PAs are separated.")] = DistanceType.edge,
        resistance: Annotated[Optional[Path], typer.Option("--resistance", help="Resistance raster for least-cost.")] = None,
        transboundary: Annotated[str, typer.Option(
            "--transboundary", help="Buffer for PAs outside the region used as stepping stones (0 = none).")] = "50km",
        area_attribute: Annotated[AreaAttribute, typer.Option(
            "--area-attribute", help="Node attribute: whole PA area (pa) or area inside the region (intersected).")
        ] = AreaAttribute.intersected,
        min_probability: Annotated[Optional[float], typer.Option(
            "--min-probability", help="Drop links with p_ij below this (faster; the error bound is reported).")] = None,
        pa_id: Annotated[Optional[str], typer.Option("--id-field", help="PA id field (default WDPAID or row number).")] = None,
        layer: Annotated[Optional[str], typer.Option("--layer", help="Layer of the PA GeoPackage.")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="Write the table as CSV here.")] = None,
        fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """ProtConn and its fractions per region and dispersal distance (Saura et al. 2017, 2018).

    Example: econet protconn wdpa.gpkg --regions countries.gpkg --region-id ISO3 --distance 10km
    --distance 30km --transboundary 50km --out protconn.csv
    """
    from econet.cli import options
    from econet.cli.console import emit, progress, say
    from econet.connectivity.graph import parse_distance
    from econet.connectivity.protconn import COLUMNS, protconn
    from econet.geo.protected_areas import choose_crs, load_protected_areas, prepare, read_layer

    options.apply(quiet, debug)
    distances = [parse_distance(d) for d in (distance or ["10km"])]
    tb_text = transboundary.strip()
    tb = 0.0 if tb_text in ("0", "0m", "0km", "none") else parse_distance(tb_text)
    reg = read_layer(regions)
    pa_layer = load_protected_areas(pas, id_field=pa_id, layer=layer)
    crs = pa_layer.crs
    if pa_layer.gdf.crs is not None and pa_layer.crs.is_geographic:  # pragma: no cover - load reprojects
        crs, _ = choose_crs(pa_layer.gdf, reg)
    reg_layer = prepare(reg, id_field=region_id, crs=crs, source=regions, what="regions")
    for note in pa_layer.notes + reg_layer.notes:
        say(f"note: {note}")
    crs_label = crs_text(crs)
    say(f"working CRS (areas and distances): {crs_label}")
    res = _resistance(resistance, distance_type, crs)
    with progress("protconn") as bar:
        rows = protconn(pa_layer.gdf, reg_layer.gdf, reg_layer.id_field, distances, probability,
                        distance_type=distance_type.value, resistance=res, transboundary=tb,
                        area_attribute=area_attribute.value, min_probability=min_probability,
                        crs_label=crs_label, progress=bar)
    if out is not None:
        _write_csv(out, rows, COLUMNS)
        say(f"wrote {out}")
    if fmt == OutputFormat.json:
        emit(rows, fmt)
    elif fmt == OutputFormat.csv:
        emit(rows, fmt)
    else:
        short = {"region": "region", "distance": "distance", "EC": "EC (ha)", "Prot": "Prot",
                 "ProtConn": "ProtConn", "RelConn": "RelConn", "ProtConn_Trans": "Trans",
                 "ProtConn_Bound": "Bound"}
        table = [{label: (round(r[k], 2 if k == "EC" else 3) if isinstance(r[k], float) else r[k])
                  for k, label in short.items()} for r in rows]
        emit(table, fmt, title="ProtConn (% of region; --out or --format csv/json for every column)")


def crs_text(crs) -> str:
    """EPSG:code when the CRS has one, else its PROJ string (short enough for a table cell)."""
    import warnings
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return crs.to_proj4()


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    import csv
    from econet.atomic import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=columns)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else _plain(r.get(k))) for k in columns})


def _plain(v):
    try:
        import numpy as np
        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return v


def pc_cmd(
        nodes: Annotated[Path, typer.Argument(help="Habitat patches or PAs (polygons).", show_default=False)],
        distance: Annotated[List[str], typer.Option("--distance", help="Dispersal distance, e.g. 10km "
                                                    "(repeat for several; nodes.gpkg then holds one layer each).")],
        probability: Annotated[float, typer.Option("--probability", help="Probability at that distance (PC).")] = 0.5,
        metric: Annotated[Metric, typer.Option("--metric", help="PC (probabilistic) or IIC (binary).")] = Metric.PC,
        distance_type: Annotated[DistanceType, typer.Option("--distance-type")] = DistanceType.edge,
        resistance: Annotated[Optional[Path], typer.Option("--resistance", help="Resistance raster for least-cost.")] = None,
        id_field: Annotated[Optional[str], typer.Option("--id-field", help="Node id field.")] = None,
        attribute: Annotated[Optional[str], typer.Option(
            "--attribute", help="Node attribute field (default: area in ha).")] = None,
        landscape: Annotated[Optional[float], typer.Option(
            "--landscape-area", help="Maximum landscape attribute A_L for PC/IIC (default: sum of attributes).")] = None,
        min_probability: Annotated[Optional[float], typer.Option("--min-probability")] = None,
        layer: Annotated[Optional[str], typer.Option("--layer")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="Per-node GeoPackage (a CSV is written beside it).")] = None,
        fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """PC or IIC, EC and each node's dPC (intra, flux, connector) or dIIC (Saura & Rubio 2010).

    Example: econet pc patches.gpkg --distance 10km --probability 0.5 --metric PC --out nodes.gpkg
    """
    import numpy as np

    from econet.atomic import OutputSet
    from econet.cli import options
    from econet.cli.console import emit, progress, say
    from econet.connectivity.graph import node_importance, oracle_for, parse_distance
    from econet.errors import EconetError
    from econet.geo.protected_areas import load_protected_areas

    options.apply(quiet, debug)
    dists = [parse_distance(d) for d in distance]
    lay = load_protected_areas(nodes, id_field=id_field, layer=layer)
    for note in lay.notes:
        say(f"note: {note}")
    gdf = lay.gdf
    if attribute is not None:
        if attribute not in gdf.columns:
            raise EconetError(f"no field '{attribute}'", path=nodes, field=attribute)
        a = gdf[attribute].astype(float).to_numpy()
    else:
        a = gdf.geometry.area.to_numpy() / 10_000.0
    if not np.isfinite(a).all() or (a < 0).any():
        raise EconetError("node attributes must be finite and non-negative", path=nodes, field=attribute)
    res = _resistance(resistance, distance_type, lay.crs)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    with progress("distances") as bar:
        oracle = oracle_for(geoms, distance_type.value, res, progress=bar)
    layers, overall = {}, []
    for d in dists:
        with progress(f"{metric.value} at {d:g} m") as bar:
            ov, fr = node_importance(oracle, a, d, probability, metric.value, min_probability=min_probability,
                                     landscape=landscape, progress=bar)
        overall.append(ov)
        t = gdf[[lay.id_field, gdf.geometry.name]].copy()
        t["attribute"] = a
        for k, v in fr.items():
            t[k] = v
        layers[f"d{int(round(d))}"] = t
    if out is not None:
        import pyogrio
        with OutputSet(out.parent) as outs:
            gp = outs.path(out.name)
            for name, t in layers.items():
                pyogrio.write_dataframe(t, gp, layer=name, driver="GPKG", append=gp.exists())
            csv = outs.path(out.with_suffix(".csv").name)
            frames = []
            for name, t in layers.items():
                f = t.drop(columns=t.geometry.name).copy()
                f.insert(1, "distance_m", float(name[1:]))
                frames.append(f)
            import pandas as pd
            pd.concat(frames).to_csv(csv, index=False)
            ov_csv = outs.path(out.with_name(out.stem + "_overall.csv").name)
            pd.DataFrame([o.as_dict() for o in overall]).to_csv(ov_csv, index=False)
        say(f"wrote {out}, {out.with_suffix('.csv')} and {out.with_name(out.stem + '_overall.csv')}")
    num = "PCnum" if metric == Metric.PC else "IICnum"
    if fmt == OutputFormat.json:
        objs = [{num: o.numerator, "EC": o.EC, metric.value: o.index, "distance_m": o.distance,
                 "nodes": o.node_count, "error_bound": o.error_bound} for o in overall]
        emit(objs[0] if len(objs) == 1 else objs, fmt)
    else:
        emit([o.as_dict() for o in overall], fmt, title=f"{metric.value} overall")


def register(app: typer.Typer) -> None:
    app.command("protconn")(protconn_cmd)
    app.command("pc")(pc_cmd)
