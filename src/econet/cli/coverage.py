"""`econet coverage`: area and share protected per region, by IUCN category and designation, overlaps counted
once, with transboundary complexes; writes CSV tables, a GeoPackage and a chart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply


def coverage_cmd(
    pas: Annotated[Path, typer.Argument(help="Protected areas (WDPA download or any polygons): GeoPackage, "
                                             "Shapefile, GeoJSON.")],
    regions: Annotated[Path, typer.Option("--regions", "-r", help="Regions to report on (countries, basins, "
                                                                   "ecoregions or any polygons).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("coverage"),
    region_id: Annotated[Optional[str], typer.Option(help="Region id field; default iso3/ISO_A3/id/first text "
                                                          "field.")] = None,
    region_name: Annotated[Optional[str], typer.Option(help="Region name field (optional).")] = None,
    pas_layer: Annotated[Optional[str], typer.Option(help="Layer of the PA file.")] = None,
    regions_layer: Annotated[Optional[str], typer.Option(help="Layer of the regions file.")] = None,
    id_field: Annotated[Optional[str], typer.Option(help="PA id field (WDPA: WDPAID).")] = None,
    name_field: Annotated[Optional[str], typer.Option(help="PA name field (WDPA: NAME).")] = None,
    country_field: Annotated[Optional[str], typer.Option(help="PA country field (WDPA: ISO3); default: the "
                                                              "region holding most of the PA.")] = None,
    designation_field: Annotated[Optional[str], typer.Option(help="Designation field (WDPA: DESIG_ENG, else "
                                                                  "DESIG; else 'designation').")] = None,
    iucn_field: Annotated[Optional[str], typer.Option(help="IUCN category field (WDPA: IUCN_CAT; else "
                                                           "'iucn_cat').")] = None,
    crosswalk: Annotated[Optional[Path], typer.Option(help="Designation crosswalk CSV; default the one shipped "
                                                           "with econet.")] = None,
    overrides: Annotated[Optional[Path], typer.Option(help="Per-PA overrides CSV: the PA id column, then "
                                                           "iucn_cat and/or desig_eng, desig_type.")] = None,
    distance_km: Annotated[float, typer.Option("--distance-km", help="Largest gap between PAs joined into a "
                                                                     "transboundary complex.")] = 10.0,
    include_biosphere: Annotated[bool, typer.Option(help="Count UNESCO-MAB Biosphere Reserves (Protected "
                                                         "Planet leaves them out).")] = False,
    fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Coverage per region (area and % protected; by IUCN category and by designation; overlaps counted
    once, the strictest category wins where PAs overlap) and transboundary complexes (PAs within
    --distance-km across a border). Writes coverage.csv, coverage_by_iucn.csv, coverage_by_designation.csv,
    transboundary_complexes.csv, transboundary_pairs.csv, protected_areas_classified.csv, coverage.gpkg
    and coverage.png to --out."""
    apply(quiet, debug)
    import pandas as pd

    from econet.analytics import coverage as cv
    from econet.atomic import OutputSet
    from econet.cli.console import emit, progress, say
    from econet.errors import EconetError
    from econet.geo.protected_areas import choose_crs, prepare, read_layer

    if not distance_km >= 0:
        raise EconetError("distance must be zero or positive", field="distance-km")
    pa_raw = read_layer(pas, pas_layer)
    reg_raw = read_layer(regions, regions_layer)
    crs, note = choose_crs(pa_raw, reg_raw)
    layer = prepare(pa_raw, id_field=id_field, name_field=name_field, country_field=country_field, crs=crs,
                    source=pas)
    reg = prepare(reg_raw, crs=crs, source=regions, what="regions")
    rgdf = reg.gdf
    rid = region_id or _first(rgdf, ("iso3", "ISO_A3", "ISO3", "id", "ID", "name", "NAME"))
    if rid is None or rid not in rgdf.columns:
        raise EconetError(f"no region id field '{region_id}' in the regions layer", path=regions, field=region_id)
    rname = region_name or _first(rgdf, ("name", "NAME", "NAME_EN", "ADMIN"))
    if rgdf[rid].duplicated().any():
        rgdf = rgdf.dissolve(by=rid, as_index=False)
    g = layer.gdf
    dfield = designation_field or _first(g, ("DESIG_ENG", "DESIG", "designation", "desig"))
    ifield = iucn_field or _first(g, ("IUCN_CAT", "iucn_cat", "iucn"))
    for f in (dfield, ifield):
        if f is not None and f not in g.columns:
            raise EconetError(f"no field '{f}' in the PA layer", path=pas, field=f)
    cfield = layer.country_field
    if cfield is None:
        g = g.assign(_country=cv.assign_country(g, rgdf, rid))
        cfield = "_country"
    cw = cv.load_crosswalk(crosswalk)
    ov = None
    if overrides is not None:
        if not overrides.is_file():
            raise EconetError("file not found", path=overrides)
        ov = pd.read_csv(overrides, dtype=str, keep_default_na=False)
    classified = cv.classify(g, designation_field=dfield, country_field=cfield, iucn_field=ifield,
                             id_field=layer.id_field, crosswalk=cw, overrides=ov)
    with progress("coverage per region", total=len(rgdf)) as bar:
        cov = cv.coverage(classified, rgdf, region_id=rid, region_name=rname, pa_id=layer.id_field,
                          pa_name=layer.name_field, include_international=include_biosphere, progress=bar)
    cx, pairs = cv.transboundary_complexes(cov.pas, country=cfield, distance_m=distance_km * 1000.0,
                                           pa_id=layer.id_field, pa_name=layer.name_field)
    notes = ([note] if note else []) + layer.notes + reg.notes + cov.notes
    regions_out = rgdf[[rid, rgdf.geometry.name]].merge(cov.regions, left_on=rid, right_on="region_id")
    pas_out = cov.pas.drop(columns=[c for c in cov.pas.columns if c.startswith("_")])
    with OutputSet(out) as o:
        cov.regions.to_csv(o.path("coverage.csv"), index=False)
        cov.by_iucn.to_csv(o.path("coverage_by_iucn.csv"), index=False)
        cov.by_designation.to_csv(o.path("coverage_by_designation.csv"), index=False)
        cx.drop(columns="_members").to_csv(o.path("transboundary_complexes.csv"), index=False)
        pairs.to_csv(o.path("transboundary_pairs.csv"), index=False)
        pd.DataFrame(pas_out.drop(columns=pas_out.geometry.name)).to_csv(o.path("protected_areas_classified.csv"),
                                                                          index=False)
        cov.excluded.to_csv(o.path("excluded.csv"), index=False)
        layers = {"regions": regions_out, "protected_by_iucn": cov.protected, "protected_areas": pas_out}
        if len(cx):
            layers["transboundary_complexes"] = cv.complex_geometries(cov.pas, cx)
        from econet.geo.vector import write_gpkg
        write_gpkg(o.path("coverage.gpkg"), layers)
        cv.plot_coverage(cov, o.path("coverage.png"))
        if notes:
            o.path("notes.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
    for n in notes:
        say(f"note: {n}")
    say(f"{len(cx)} transboundary complex(es) within {distance_km:g} km; wrote tables, coverage.gpkg and "
        f"coverage.png to {out}")
    rows = [{"region": r["region"], "area_km2": round(r["area_km2"], 1), "protected_km2": round(r["protected_km2"], 1),
             "protected_pct": round(r["protected_pct"], 2), "n_pas": r["n_pas"]} for _, r in cov.regions.iterrows()]
    emit(rows, fmt, title="Protected-area coverage (overlaps counted once)")


def _first(gdf, names):
    for n in names:
        if n in gdf.columns:
            return n
    return None


def register(app: typer.Typer) -> None:
    app.command("coverage", short_help="Protected-area coverage per region, by IUCN category and designation; transboundary complexes.")(coverage_cmd)
