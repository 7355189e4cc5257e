"""Demo step 10: the border region — resistance surface, land cover, elevation and approximate PA footprints."""

from __future__ import annotations

ORDER = 10
TITLE = "Region: resistance surface and protected areas"


def run(ctx) -> dict:
    """Build the region from the shipped data and write its layers; the Region goes to ctx.results['region']."""
    import numpy as np

    from econet.demo.region import build_region
    from econet.geo.raster import write_raster
    from econet.geo.vector import write_gpkg

    region = build_region(progress=ctx.progress)
    ctx.results["region"] = region

    out = ctx.output
    write_raster(out("landcover.tif", "MODIS IGBP land cover 2019 on the equal-area grid"), region.landcover,
                 dtype="uint8")
    write_raster(out("elevation.tif", "ETOPO1 elevation (m) on the same grid"), region.elevation,
                 dtype="float32")
    write_raster(out("resistance.tif", "resistance surface (GeoTIFF)"), region.resistance, dtype="float32")
    write_gpkg(out("protected_areas.gpkg", "PA footprints (approximate circles) with their facts"), region.pas,
               layer="protected_areas")
    left = region.left_out
    with open(out("pas_left_out.csv", "protected areas left out, with the reason"), "w", newline="",
              encoding="utf-8") as fh:
        left.to_csv(fh, index=False)

    res = region.resistance.data
    return {
        "region": "Ussuri / Lake Khanka / Tumen border region (China, Russia, North Korea)",
        "bounds_lonlat": list(region.bounds_lonlat),
        "crs": region.info["crs"],
        "cell_size_m": region.info["cell_size_m"],
        "grid_shape": region.info["shape"],
        "valid_cells": region.info["valid_cells"],
        "resistance_min": round(float(np.nanmin(res)), 3),
        "resistance_max": round(float(np.nanmax(res)), 3),
        "protected_areas": [f"{r['name']} ({r['iso3']})" for _, r in region.pas.iterrows()],
        "protected_areas_by_country": {k: int(v) for k, v in region.pas["iso3"].value_counts().items()},
        "left_out": [f"{r['name']} ({r['iso3']}): {r['reason']}" for _, r in left.iterrows()],
        "footprints": "approximate circle of published area",
    }
