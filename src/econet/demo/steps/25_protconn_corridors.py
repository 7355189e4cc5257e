"""Demo step 25: ProtConn for each country's part of the demo region, and least-cost corridors across borders."""

from __future__ import annotations

ORDER = 25
TITLE = "ProtConn per country and least-cost corridors between protected areas"
DISTANCES = [10_000.0, 30_000.0]     # Saura et al. 2017 headline (10 km) and a wider-ranging species
CORRIDOR_MAX_DISTANCE = 100_000.0


def country_parts(region):
    """Each country's land inside the demo grid (ProtConn is reported for these parts, not whole countries)."""
    import geopandas as gpd
    import shapely
    box = shapely.box(*region.resistance.bounds)
    parts = region.countries[["iso3", region.countries.geometry.name]].copy()
    parts[parts.geometry.name] = shapely.intersection(parts.geometry.values, box)
    parts = parts[~parts.geometry.is_empty & (parts.geometry.area > 0)]
    return gpd.GeoDataFrame(parts.dissolve("iso3").reset_index(), crs=region.countries.crs)


def draw_corridor_map(region, res, path):

    from econet.demo import maps

    fig, ax = maps.new_map(region.resistance.bounds)
    maps.draw_countries(ax, region.countries, labels=False)
    im = maps.draw_raster(ax, region.resistance.with_data(res.nlcc), cmap="viridis_r")
    maps.draw_water(ax, region.rivers, region.lakes)
    maps.draw_borders(ax, region.borders)
    res.paths.plot(ax=ax, color="red", linewidth=1.0, zorder=4.5)
    cross = res.paths[res.paths["crosses_border"].fillna(False).astype(bool)]
    if len(cross):
        cross.plot(ax=ax, color="orangered", linewidth=2.2, zorder=4.6)
    maps.draw_pas(ax, region.pas)
    maps.draw_country_labels(ax, region.countries)
    maps.finish_map(fig, ax, title="Least-cost corridors between protected areas",
                    subtitle="Normalized least-cost corridors (Linkage Mapper semantics), truncated; least-cost "
                             "paths in red, thick where they cross a national border",
                    colorbar=(im, "cost-weighted distance above the least-cost path"))
    return maps.save_png(fig, path)


def run(ctx) -> dict:
    import numpy as np
    import pandas as pd

    from econet.connectivity.corridors import TABLE_COLUMNS, least_cost_corridors
    from econet.connectivity.protconn import COLUMNS, protconn
    from econet.geo.raster import write_raster
    from econet.geo.vector import write_gpkg
    from econet.progress import no_progress

    region = ctx.region()
    out = ctx.output
    parts = country_parts(region)
    rows = protconn(region.pas, parts, "iso3", DISTANCES, 0.5, distance_type="edge", transboundary=50_000,
                    area_attribute="intersected", crs_label=str(getattr(region.crs, "name", "")))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.insert(1, "scope", "part of the country inside the demo region")
    with open(out("protconn.csv", "ProtConn per country part of the demo region, 10 and 30 km"), "w",
              newline="", encoding="utf-8") as fh:
        table.to_csv(fh, index=False, float_format="%.6g")

    res = least_cost_corridors(region.pas, region.resistance, id_field="focal_id",
                               max_distance=CORRIDOR_MAX_DISTANCE, countries=region.countries,
                               country_field="iso3", pinchpoints=False, progress=ctx.progress or no_progress)
    write_raster(out("corridors.tif", "normalized least-cost corridors, truncated (GeoTIFF)"),
                 region.resistance.with_data(res.nlcc), dtype="float32")
    names = region.pas.set_index("focal_id")["name"]
    paths = res.paths.copy()
    paths.insert(2, "from_name", [names.get(v, "") for v in paths["from"]])
    paths.insert(3, "to_name", [names.get(v, "") for v in paths["to"]])
    write_gpkg(out("corridors.gpkg", "least-cost paths and corridor polygons"),
               {"paths": paths, "corridors": res.corridors})
    with open(out("corridors.csv", "corridor table: cost, Euclidean distance, ratio, border crossings"), "w",
              newline="", encoding="utf-8") as fh:
        pd.DataFrame(res.table, columns=TABLE_COLUMNS).to_csv(fh, index=False, float_format="%.6g")
    draw_corridor_map(region, res, out("corridors_map.png", "map: corridors and least-cost paths"))
    crossing = [r for r in res.table if r["crosses_border"]]
    ten = {r["region"]: round(float(r["ProtConn"]), 3) for r in rows if r["distance_m"] == 10_000}
    return {
        "protconn_scope": "ProtConn for the part of each country inside the demo region, not whole countries",
        "protconn_10km_percent": ten,
        "corridors": len(res.table),
        "transboundary_corridors": len(crossing),
        "cheapest_transboundary_corridor": (
            f"{names.get(min(crossing, key=lambda r: r['cost_distance'])['from'])} - "
            f"{names.get(min(crossing, key=lambda r: r['cost_distance'])['to'])}" if crossing else None),
        "corridor_width_cutoff": res.notes[-1] if res.notes else None,
        "nlcc_cells": int(np.isfinite(res.nlcc).sum()),
    }
