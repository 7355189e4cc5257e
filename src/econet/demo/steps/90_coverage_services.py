"""Demo step 90: protected-area coverage per country of the demo region (designations made comparable with
the shipped crosswalk; overlaps counted once; transboundary complexes) and carbon stored per PA from the
region's real MODIS IGBP land-cover grid with the shipped IPCC-sourced carbon table (per pool, which classes are
counted)."""

from __future__ import annotations

ORDER = 90
TITLE = "Coverage per country and carbon per protected area (InVEST Carbon)"

#: Largest gap (km) between PAs joined into a transboundary complex in the demo.
COMPLEX_DISTANCE_KM = 15.0


def run(ctx) -> dict:
    import pandas as pd

    from econet.analytics import coverage as cv
    from econet.analytics import services as sv
    from econet.geo.raster import write_raster
    from econet.geo.vector import write_gpkg

    region = ctx.region()
    pas = region.pas.drop(columns=["cells"], errors="ignore")
    classified = cv.classify(pas, designation_field="designation", country_field="iso3", iucn_field="iucn_cat",
                             id_field="focal_id")
    countries = region.countries.assign(country=lambda d: d["name"])
    cov = cv.coverage(classified, countries, region_id="iso3", region_name="country", pa_id="focal_id",
                      pa_name="name")
    cx, pairs = cv.transboundary_complexes(cov.pas, country="iso3", distance_m=COMPLEX_DISTANCE_KM * 1000.0,
                                           pa_id="focal_id", pa_name="name")

    def csv(name: str, df: pd.DataFrame) -> None:
        with open(ctx.output(name), "w", newline="", encoding="utf-8") as fh:
            df.to_csv(fh, index=False)

    csv("coverage.csv", cov.regions)
    csv("coverage_by_iucn.csv", cov.by_iucn)
    csv("coverage_by_designation.csv", cov.by_designation)
    csv("transboundary_complexes.csv", cx.drop(columns="_members"))
    csv("transboundary_pairs.csv", pairs)
    layers = {"regions": countries[["iso3", "country", "geometry"]].merge(cov.regions, left_on="iso3",
                                                                           right_on="region_id"),
              "protected_by_iucn": cov.protected, "protected_areas": cov.pas}
    if len(cx):
        layers["transboundary_complexes"] = cv.complex_geometries(cov.pas, cx)
    write_gpkg(ctx.output("coverage.gpkg"), layers)
    cv.plot_coverage(cov, ctx.output("coverage.png"),
                     title="Demo region: PA coverage by IUCN category (approximate footprints)")

    table = sv.load_carbon_table()
    lc = region.landcover
    res = sv.carbon_storage(lc, table)
    per_pa = sv.carbon_by_zone(res, lc, classified, zone_id="focal_id", names=list(classified["name"]))
    per_pa.insert(2, "iso3", list(classified["iso3"]))
    per_country = sv.carbon_by_zone(res, lc, countries, zone_id="iso3", names=list(countries["country"]))
    # the PA network dissolved, so carbon under overlapping PAs (Kedrovaya Pad inside Land of the Leopard)
    # counts once
    import geopandas as gpd
    union = gpd.GeoDataFrame({"zone": ["all protected areas"]}, geometry=[classified.union_all()],
                             crs=classified.crs)
    network = sv.carbon_by_zone(res, lc, union, zone_id="zone")
    csv("carbon_per_pa.csv", per_pa)
    csv("carbon_per_country.csv", per_country)
    csv("carbon_by_class.csv", res.by_class)
    csv("carbon_pools_not_counted.csv", res.not_counted_classes)
    csv("carbon_pools_by_pool.csv", res.by_pool)
    write_raster(ctx.output("carbon_density.tif"), lc.with_data(res.total_density), dtype="float32")
    sv.plot_map(lc, res.total_density, ctx.output("carbon_density_map.png"),
                title="Carbon stored, counted pools only (IPCC Tier-1 defaults)", label="Mg C / ha",
                outlines=classified)
    sv.plot_bars(per_pa["name"], per_pa["total_mg"] / 1e6, ctx.output("carbon_per_pa.png"),
                 title="Carbon stored per protected area (counted pools)", xlabel="Tg C",
                 stacked={sv.POOL_NAMES[p]: per_pa[f"{p}_mg"].to_numpy() / 1e6 for p in sv.POOLS})

    reg = cov.regions.set_index("region_id")
    pools_missing = sorted({p for s in res.not_counted_classes["pools_not_counted"] for p in s.split(";") if p})
    return {
        "coverage_pct": {k: round(float(v), 2) for k, v in reg["protected_pct"].items()},
        "protected_km2": {k: round(float(v), 1) for k, v in reg["protected_km2"].items()},
        "iucn_from": {k: int(v) for k, v in classified["iucn_source"].value_counts().items()},
        "transboundary_complexes": [f"{r['names']} ({r['countries']}, gap {r['min_cross_border_gap_km']:.1f} km)"
                                    for _, r in cx.iterrows()],
        "carbon_total_tg": round(res.total_mg / 1e6, 1),
        "carbon_in_pa_network_tg": round(float(network["total_mg"].iloc[0]) / 1e6, 1),
        "carbon_pools_not_counted": pools_missing,
        "carbon_pools_counted_for": {r["pool"]: r["classes_counted"] for _, r in res.by_pool.iterrows()},
        "carbon_note": res.notes[0] if res.notes else "",
        "footprints": "approximate circles of published area (no PA boundaries ship with econet)",
    }
