"""What a report holds, gathered for one area and one caller's view: protected areas and their pairs with
fields of cooperation, indicators (coverage, ProtConn and its transboundary parts, computed on the fly for the
area), circuit results and corridors, population estimates, bird sites, glacier trends, the observations the
view may see, and the source and license of every dataset used.

Analysis results come from a folder of econet outputs (`results`, e.g. the demo's output folder: current.tif,
corridors.gpkg, pa_resistances.csv, waterbird_sites_ranked.csv, glacier_trends.csv, scr*.csv); what is not
there is said to be missing, never invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from econet.errors import EconetError
from econet.reports.area import Area

PAIR_GAP_KM = 50.0        # PA pairs listed: at most this far apart (edge to edge)
DISTANCES_M = (10_000.0, 30_000.0)
MAX_RECORDS = 30          # latest records listed (as the view sees them)
PA_SOURCE = ("Protected-area facts (name, designation, IUCN category, year, published area and point) from "
             "public pages listed per PA in econet's pa_facts.csv; footprints are APPROXIMATE circles of the "
             "published area at the published point.")
BASE_SOURCE = ("Countries, borders, rivers and lakes: Natural Earth (public domain).")


@dataclass
class Report:
    """Everything the HTML and PDF show (plain data: lists of dicts, numbers, text)."""

    title: str
    area: Area
    view: dict
    view_text: str
    crs: Any = None
    layers: dict = field(default_factory=dict)       # GeoDataFrames in the map CRS
    pas: list = field(default_factory=list)
    pairs: list = field(default_factory=list)
    coverage: list = field(default_factory=list)
    protconn: list = field(default_factory=list)
    resistances: list = field(default_factory=list)
    population: list = field(default_factory=list)
    population_source: str | None = None
    bird_sites: list = field(default_factory=list)
    glaciers: list = field(default_factory=list)
    observations: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    points: list = field(default_factory=list)       # (x, y, generalized) in the map CRS
    sources: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    current: Any = None                              # Raster in the map CRS, or None
    corridors: Any = None                            # GeoDataFrame in the map CRS, or None

    def summary(self) -> dict:
        """The report's numbers (report.json)."""
        return {"title": self.title, "area": {"name": self.area.name, "kind": self.area.kind,
                                              "bounds": self.area.bounds, "source": self.area.source},
                "view": self.view, "protected_areas": self.pas, "pa_pairs": self.pairs, "coverage": self.coverage,
                "protconn": self.protconn, "effective_resistances": self.resistances,
                "population_estimates": self.population, "bird_sites": self.bird_sites,
                "glacier_trends": self.glaciers, "observations": self.observations, "records": self.records,
                "sources": self.sources, "notes": self.notes}


def describe_view(view) -> str:
    if view.kind == "admin":
        return f"hub admin {view.username or ''}: every dataset, exact locations".replace("  ", " ")
    if view.kind == "anonymous":
        return "anonymous (public view): public datasets only, sensitive locations generalized"
    return (f"user {view.username} (organizations {', '.join(str(o) for o, _ in view.orgs) or 'none'}): "
            "the datasets shared with them; sensitive locations generalized unless they hold exact access")


def gather(area: Area, view, *, engine=None, results: dict[str, Path] | None = None, pas=None,
           title: str | None = None, progress=None) -> Report:
    """Collect the report's content for `area` under `view` (engine: the hub, or None for no hub data)."""
    from econet.geo.crs import equal_area_crs
    step = progress or (lambda *a, **k: None)
    results = results or {}
    crs = equal_area_crs(area.bounds)
    rep = Report(title=title or f"Atlas of {area.name}", area=area, view=view.describe(),
                 view_text=describe_view(view), crs=crs)
    step(0, 7, "base layers")
    _layers(rep, pas, results)
    step(1, 7, "protected areas")
    _protected_areas(rep, results)
    step(2, 7, "indicators")
    _indicators(rep)
    step(3, 7, "connectivity")
    _connectivity(rep, results)
    step(4, 7, "populations, birds, glaciers")
    _tables(rep, results)
    step(5, 7, "hub records")
    if engine is not None:
        _hub(rep, engine, view)
    else:
        rep.notes.append("No hub database: observations and fields of cooperation are not shown.")
        rep.pairs = [dict(p, fields="not recorded") for p in rep.pairs]
    rep.sources[:0] = [{"dataset": "protected areas", "owner": "econet (compiled)", "license": "see each source URL",
                        "citation": PA_SOURCE},
                       {"dataset": "base map", "owner": "Natural Earth", "license": "public domain",
                        "citation": BASE_SOURCE}]
    step(6, 7, "done")
    return rep


# --------------------------------------------------------------------------- layers and PAs

def _layers(rep: Report, pas, results) -> None:
    import geopandas as gpd
    import shapely
    from econet.demo.region import data_dir, pa_footprints, read_layers, read_pa_facts
    crs = rep.crs
    area = gpd.GeoSeries([rep.area.geometry], crs=4326).to_crs(crs).iloc[0]
    frame = shapely.box(*area.buffer(max(area.bounds[2] - area.bounds[0], area.bounds[3] - area.bounds[1]) * 0.08)
                        .bounds)
    try:
        base = read_layers(data_dir(), crs)
    except EconetError as exc:
        rep.notes.append(f"Base map layers not available ({exc}).")
        base = {k: gpd.GeoDataFrame(geometry=[], crs=crs) for k in ("countries", "boundary_lines", "rivers", "lakes")}
    tol = (frame.bounds[2] - frame.bounds[0]) / 1500.0  # well below a pixel of the maps
    clipped = {}
    for k, v in base.items():
        v = v[v.intersects(frame)].copy()
        v["geometry"] = v.geometry.intersection(frame).simplify(tol)
        clipped[k] = v[~v.geometry.is_empty]
    if pas is None and "protected_areas.gpkg" in results:
        from econet.geo.vector import read_vector
        pas = read_vector(results["protected_areas.gpkg"])
        rep.sources.append({"dataset": "protected_areas.gpkg", "owner": "econet results", "license": "as its sources",
                            "citation": str(results["protected_areas.gpkg"])})
    if pas is None:
        b = gpd.GeoSeries([frame], crs=crs).to_crs(4326).total_bounds
        pas, _ = pa_footprints(read_pa_facts(), tuple(b), crs, base["countries"] if len(base["countries"]) else None)
    else:
        pas = pas.to_crs(crs)
    pas = pas[pas.intersects(area)].reset_index(drop=True)
    rep.layers = {"area": gpd.GeoDataFrame(geometry=[area], crs=crs), "frame": frame, "pas": pas,
                  "countries": clipped["countries"], "borders": clipped["boundary_lines"],
                  "rivers": clipped["rivers"], "lakes": clipped["lakes"]}


def _val(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    return v


def _protected_areas(rep: Report, results) -> None:
    pas = rep.layers["pas"]
    area = rep.layers["area"].geometry.iloc[0]
    for _, r in pas.iterrows():
        rep.pas.append({"name": r["name"], "country": r.get("iso3"), "designation": _val(r.get("designation")),
                        "iucn_cat": _val(r.get("iucn_cat")), "year": _val(r.get("year")),
                        "area_km2": _val(r.get("area_km2")),
                        "in_area_km2": round(r.geometry.intersection(area).area / 1e6, 1),
                        "footprint": _val(r.get("footprint")) or "as given"})
    for i in range(len(pas)):
        for j in range(i + 1, len(pas)):
            p = _pair(pas.iloc[i], pas.iloc[j])
            if p["gap_km"] <= PAIR_GAP_KM:
                rep.pairs.append(p)
    rep.pairs.sort(key=lambda p: (not p["transboundary"], p["gap_km"]))


def _pair(a, b) -> dict:
    return {"pa_a": a["name"], "pa_b": b["name"], "countries": f"{a.get('iso3')}-{b.get('iso3')}",
            "transboundary": a.get("iso3") != b.get("iso3"), "gap_km": round(a.geometry.distance(b.geometry) / 1000, 1)}


# --------------------------------------------------------------------------- indicators

def _country_parts(rep: Report):
    import geopandas as gpd
    area = rep.layers["area"].geometry.iloc[0]
    c = rep.layers["countries"]
    rows = []
    for _, r in c.iterrows():
        part = r.geometry.intersection(area)
        if part.is_empty or part.area < 1e6:
            continue
        rows.append({"iso3": r["iso3"], "country": r.get("name", r["iso3"]), "geometry": part})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=rep.crs) if rows else None


def _indicators(rep: Report) -> None:
    import shapely
    parts = _country_parts(rep)
    pas = rep.layers["pas"]
    if parts is None:
        rep.notes.append("The area holds no land of a known country: no coverage or ProtConn.")
        return
    union = shapely.union_all(list(pas.geometry.values)) if len(pas) else None
    for _, p in parts.iterrows():
        prot = p.geometry.intersection(union).area if union is not None else 0.0
        rep.coverage.append({"country": p["iso3"], "land_km2": round(p.geometry.area / 1e6, 1),
                             "protected_km2": round(prot / 1e6, 1),
                             "protected_pct": round(100 * prot / p.geometry.area, 2),
                             "n_pas": int(sum(1 for g in pas.geometry if g.intersects(p.geometry)))})
    if not len(pas):
        return
    from econet.connectivity.protconn import protconn
    try:
        rows = protconn(pas, parts, "iso3", list(DISTANCES_M), 0.5, distance_type="edge", transboundary=50_000,
                        area_attribute="intersected")
    except EconetError as exc:
        rep.notes.append(f"ProtConn not computed: {exc}")
        return
    keep = ("region", "distance", "Prot", "ProtConn", "ProtConn_Within", "ProtConn_Contig", "ProtConn_Trans",
            "ProtConn_Unprot", "transboundary_nodes", "note")
    for r in rows:
        rep.protconn.append({k: (round(v, 3) if isinstance(v, float) else _val(v)) for k, v in r.items() if k in keep})


# --------------------------------------------------------------------------- connectivity results

def _connectivity(rep: Report, results) -> None:
    import pandas as pd
    names = {p["name"] for p in rep.pas}
    if "pa_resistances.csv" in results:
        t = pd.read_csv(results["pa_resistances.csv"])
        t = t[t["name_1"].isin(names) & t["name_2"].isin(names)]
        rep.resistances = [{"pa_a": r["name_1"], "pa_b": r["name_2"], "transboundary": r["transboundary"] == "yes",
                            "effective_resistance": _val(r["effective_resistance"])} for _, r in t.iterrows()]
        er = {frozenset((r["pa_a"], r["pa_b"])): r["effective_resistance"] for r in rep.resistances}
        for p in rep.pairs:
            p["effective_resistance"] = er.get(frozenset((p["pa_a"], p["pa_b"])))
    if "current.tif" in results:
        rep.current = _warped(rep, results["current.tif"])
        rep.sources.append({"dataset": "circuit current", "owner": "econet results", "license": "as its inputs",
                            "citation": f"{results['current.tif']} (cumulative current between PA pairs)"})
    else:
        rep.notes.append("Circuit current not available (run `econet circuit` or `econet demo` and pass --results).")
    if "corridors.gpkg" in results:
        from econet.geo.vector import list_layers, read_vector
        layer = next((l for l in list_layers(results["corridors.gpkg"]) if "path" in l or "corridor" in l), None)
        c = read_vector(results["corridors.gpkg"], layer, to_crs=rep.crs)
        rep.corridors = c[c.intersects(rep.layers["frame"])]


def _warped(rep: Report, path: Path):
    """The raster warped onto a grid over the map frame (about 400 cells across)."""
    from econet.geo.raster import read_raster
    from econet.geo.rasterize import grid_from_bounds, warp
    src = read_raster(path)
    b = rep.layers["frame"].bounds
    cell = max((b[2] - b[0]) / 400.0, 500.0)
    out = warp(src, grid_from_bounds(b, cell, rep.crs), "bilinear")
    if not np.isfinite(out.data).any():
        rep.notes.append("The circuit current does not cover this area.")
        return None
    return out


# --------------------------------------------------------------------------- populations, birds, glaciers

def _inside(rep: Report, lon, lat) -> np.ndarray:
    import shapely
    g = rep.area.geometry
    shapely.prepare(g)
    return shapely.intersects_xy(g, np.asarray(lon, float), np.asarray(lat, float))


def _tables(rep: Report, results) -> None:
    import pandas as pd
    for name in sorted(k for k in results if "scr" in k and k.endswith(".csv")):
        t = pd.read_csv(results[name])
        if not {"lcl", "ucl"} <= {c.lower() for c in t.columns}:
            continue
        ran_on = set(t["view"].dropna().astype(str)) if "view" in t.columns else set()
        if ran_on - {"anonymous"} and rep.view.get("kind") != "admin":
            # computed on a view with more access than this report's: the numbers could tell what it may not see
            rep.notes.append(f"SCR estimates in {name} were computed on a {'/'.join(sorted(ran_on))} view, not "
                             "shown on this view (run `econet scr` on it).")
            continue
        rep.population = [{k: _val(v) for k, v in r.items()} for _, r in t.head(30).iterrows()]
        rep.population_source = name
        rep.sources.append({"dataset": name, "owner": "econet results (SCR)", "license": "as its inputs",
                            "citation": str(results[name])})
        break
    if not rep.population and not any("SCR estimates in" in n for n in rep.notes):
        rep.notes.append("No SCR density estimate among the results (run `econet scr` on the area's detections).")
    if "waterbird_sites_ranked.csv" in results:
        t = pd.read_csv(results["waterbird_sites_ranked.csv"])
        t = t[_inside(rep, t["lon"], t["lat"])]
        rep.bird_sites = [{"site": r["site_name"], "country": r["country"], "criteria": _val(r["criteria"]),
                           "largest_share_pct": round(float(r["max_share_pct"]), 2),
                           "population": r["max_share_population"], "season": r["max_share_season"],
                           "waterbirds_mean_max": _val(r["waterbirds_mean_max"])} for _, r in t.iterrows()]
        rep.sources.append({"dataset": "waterbird site importance", "owner": "econet results",
                            "license": "counts SIMULATED in the demo; population sizes: Wetlands International WPE",
                            "citation": str(results["waterbird_sites_ranked.csv"])})
        if not rep.bird_sites:
            rep.notes.append("No counted waterbird site inside the area.")
    if "glacier_trends.csv" in results:
        t = pd.read_csv(results["glacier_trends.csv"])
        t = t[_inside(rep, t["lon"], t["lat"])]
        rep.glaciers = [{"glacier": r["name"], "country": r["country"], "years": f"{r['first_year']}-{r['last_year']}",
                         "cumulative_mwe": round(float(r["cumulative_mwe"]), 2),
                         "trend_mwe_per_yr": round(float(r["ols_slope_mwe_per_yr"]), 4),
                         "trend_ci": f"{float(r['ols_ci_low_mwe_per_yr']):.4f} to "
                                     f"{float(r['ols_ci_high_mwe_per_yr']):.4f}"}
                        for _, r in t.iterrows()]
        rep.sources.append({"dataset": "glacier mass balance", "owner": "WGMS (via OGGM)", "license": "WGMS terms: "
                            "free for non-commercial use with citation",
                            "citation": str(results["glacier_trends.csv"])})
        if not rep.glaciers:
            rep.notes.append("No monitored glacier inside the area.")


# --------------------------------------------------------------------------- the hub, through the view

def _hub(rep: Report, engine, view) -> None:
    import geopandas as gpd
    from econet.hub import sharing
    from econet.hub.query import ObservationFilter
    f = ObservationFilter(polygon=rep.area.geometry)
    with engine.begin() as conn:
        rules = sharing.load_rules(conn, view)
        rows = list(sharing.view_rows(conn, view, f, rules=rules))
        sharing.audit(conn, view, "report", f"report:{rep.area.name}"[:200], {"records": len(rows)}, rules=rules,
                      rows=rows)
        coop = _cooperation(conn, view, [p["name"] for p in rep.pas])
    per: dict[tuple, dict] = {}
    for r in rows:
        k = (r["accepted_name"] or r["scientific_name"] or "unknown", r["country_code"] or "")
        d = per.setdefault(k, {"taxon": k[0], "country": k[1], "records": 0, "individuals": set(), "generalized": 0})
        d["records"] += 1
        if r["individual"]:
            d["individuals"].add(r["individual"])
        d["generalized"] += bool(r["data_generalizations"])
    rep.observations = {"records": len(rows), "generalized": sum(1 for r in rows if r["data_generalizations"]),
                        "by_taxon": [dict(v, individuals=len(v["individuals"])) for v in
                                     sorted(per.values(), key=lambda d: (-d["records"], d["taxon"]))]}
    latest = sorted(rows, key=lambda r: (r["time_utc"] is None, str(r["time_utc"])), reverse=True)[:MAX_RECORDS]
    rep.records = [{"time_utc": str(r["time_utc"])[:19] if r["time_utc"] else None, "taxon": r["accepted_name"]
                    or r["scientific_name"], "dataset": r["dataset"], "lon": r["lon"], "lat": r["lat"],
                    "uncertainty_m": round(r["coordinate_uncertainty_m"]) if r["coordinate_uncertainty_m"] else None,
                    "generalization": r["data_generalizations"]} for r in latest]
    pts = [(r["lon"], r["lat"], bool(r["data_generalizations"])) for r in rows if r["lon"] is not None]
    if pts:
        xy = gpd.GeoSeries(gpd.points_from_xy([p[0] for p in pts], [p[1] for p in pts]), crs=4326).to_crs(rep.crs)
        rep.points = [(p.x, p.y, g[2]) for p, g in zip(xy, pts)]
    used = sorted({r["dataset"] for r in rows})
    for name in used:
        d = rules.datasets[name]
        rep.sources.append({"dataset": d.name, "owner": d.owner_name,
                            "license": d.license or "not stated: ask the owner",
                            "citation": d.citation or f"{d.owner_name}, {d.name}"})
    listed = {frozenset((p["pa_a"], p["pa_b"])) for p in rep.pairs}
    pas = rep.layers["pas"].set_index("name", drop=False)
    for key in (coop or {}):  # pairs farther apart than PAIR_GAP_KM that cooperate all the same
        if key not in listed and key <= set(pas.index) and len(key) == 2:
            a, b = sorted(key)
            rep.pairs.append(_pair(pas.loc[a], pas.loc[b]))
    for p in rep.pairs:
        fields = coop.get(frozenset((p["pa_a"], p["pa_b"]))) if coop is not None else None
        p["fields"] = "; ".join(fields) if fields else "not recorded"


def _cooperation(conn, view, names: list[str]) -> dict | None:
    """Fields of cooperation per PA pair from the hub's registry (None when the hub has no registry)."""
    try:
        from econet.hub import registry
        rows = registry.fields_of_cooperation(conn, view, names) if names else []
    except (ImportError, AttributeError):
        return None
    except Exception as exc:  # a hub without the registry tables (older schema): say so, do not fail
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return None
        raise
    out: dict = {}
    for r in rows:
        out.setdefault(frozenset((r["pa_a"], r["pa_b"])), []).append(f"{r['field']} ({r['status']})")
    return out
