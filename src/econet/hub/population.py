"""Population analyses on hub data under the caller's view: SCR, occupancy, genetics, crossings, RAI.

Every analysis starts from exactly what an export to the caller would hold (`sharing.analysis_frame`);
camera deployments (the trap layout and effort) and genetic samples pass through the same rules
(`sharing.apply_rules`), each deployment as if it were a record of the analysed taxon, so a partner who
sees the species' records rounded to 0.1 degree also sees the cameras rounded: cameras in one grid cell
become one detector at the cell centre with their effort summed. What each method does with generalized
locations (docs/scr.md, "On the hub"):

- SCR: runs on the generalized detector layout and says so (`input.generalized`); density and sigma are
  then biased when the grid cell is not small against sigma. Refused (a clear error) when fewer than two
  detector locations remain.
- occupancy and RAI: sites are the visible detector locations (grid cells when generalized).
- crossings: sides from the recorded country of each detection (kept on generalized rows) and, for
  crossing events, consecutive detections in different countries; coordinates are not needed.
- genetics: identity and diversity use genotypes only; withheld samples are left out.

Results report the view (`View.describe()`) and whether any input was generalized.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub import sharing
from econet.hub.query import ObservationFilter
from econet.hub.sharing import View

# --------------------------------------------------------------------------- inputs under the view

def _input_info(view: View, frames: list[pd.DataFrame]) -> dict:
    """Which view, how many rows, and whether (and how coarsely) any input was generalized."""
    gen = [f for f in frames if len(f) and "data_generalizations" in f]
    prec = [float(p) for f in gen for p in f["coordinate_precision"].dropna().unique()] if gen else []
    generalized = any(f["data_generalizations"].notna().any() for f in gen)
    first = frames[0] if frames else pd.DataFrame()
    return {"view": view.describe(), "generalized": bool(generalized),
            "coordinate_precision_deg": max(prec) if prec else None, "records": len(first),
            "datasets": sorted(first["dataset"].dropna().unique().tolist()) if "dataset" in first else []}


def _loc_key(lon, lat) -> str:
    return f"{float(lon):.6f},{float(lat):.6f}"


def deployments_under_view(conn: Connection, view: View, datasets: list[str], accepted_name: str | None,
                           rules: sharing.Rules | None = None) -> pd.DataFrame:
    """Camera deployments of `datasets` as the view may see them (rows passed through apply_rules as
    records of `accepted_name`): deployment, dataset, site, lon, lat, country_code, start, end, generalization."""
    rules = rules or sharing.load_rules(conn, view)
    names = [d for d in datasets if d in rules.datasets]
    cols = ["deployment", "dataset", "site", "lon", "lat", "country_code", "start", "end", "coordinate_precision",
            "data_generalizations"]
    if not names:
        return pd.DataFrame(columns=cols)
    D, S, DS = m.Deployment, m.Site, m.Dataset
    q = (select(D.id, D.deployment_key, DS.name, S.name.label("site_name"), D.lon, D.lat, D.country_code,
                D.coordinate_uncertainty_m, D.start_utc, D.end_utc)
         .join(DS, DS.id == D.dataset_id).outerjoin(S, S.id == D.site_id).where(DS.name.in_(names)))
    raw = [{"hub_id": r.id, "deployment": r.deployment_key, "dataset": r.name, "locality": r.site_name,
            "lon": r.lon, "lat": r.lat, "country_code": r.country_code, "accepted_name": accepted_name,
            "coordinate_uncertainty_m": r.coordinate_uncertainty_m, "start": r.start_utc, "end": r.end_utc}
           for r in conn.execute(q)]
    out = []
    for r in sharing.apply_rules(rules, raw):
        if r["lon"] is None or r["lat"] is None or r["start"] is None or r["end"] is None:
            continue
        out.append({"deployment": f"{r['dataset']}:{r['hub_id']}", "dataset": r["dataset"],
                    "site": _loc_key(r["lon"], r["lat"]), "lon": r["lon"], "lat": r["lat"],
                    "country_code": r["country_code"], "start": pd.Timestamp(r["start"], tz="UTC"),
                    "end": pd.Timestamp(r["end"], tz="UTC"), "coordinate_precision": r["coordinate_precision"],
                    "data_generalizations": r["data_generalizations"]})
    return pd.DataFrame(out, columns=cols)


def camera_inputs(conn: Connection, view: View, f: ObservationFilter) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(detections, deployments, info) of the filter under the view; detections carry `site` (the location
    key of their detector) and `timestamp` (UTC)."""
    rules = sharing.load_rules(conn, view)
    frame = pd.DataFrame(list(sharing.view_rows(conn, view, f, rules=rules)), columns=sharing.VIEW_COLUMNS)
    frame = frame[frame["lon"].notna() & frame["lat"].notna() & frame["time_utc"].notna()].copy()
    if frame.empty:
        raise EconetError("no detections with a place and time in this view (check --taxon and --dataset)")
    names = frame["accepted_name"].fillna(frame["scientific_name"])
    taxon = str(names.mode().iat[0])
    datasets = ([f.dataset] if isinstance(f.dataset, str) else list(f.dataset)) if f.dataset else \
        sorted(frame["dataset"].unique())
    deps = deployments_under_view(conn, view, datasets, taxon, rules)
    if deps.empty:
        raise EconetError("no camera deployments visible for these detections (SCR, occupancy and RAI need the "
                          "deployments' layout and dates: import a Camtrap DP package)", field="dataset")
    frame["site"] = [_loc_key(a, b) for a, b in zip(frame["lon"], frame["lat"])]
    frame["timestamp"] = pd.to_datetime(frame["time_utc"], utc=True)
    frame["species"] = names
    known = frame["site"].isin(set(deps["site"]))
    info = _input_info(view, [frame, deps])
    info.update({"taxon": taxon, "datasets": datasets, "deployments": len(deps),
                 "detector_locations": int(deps["site"].nunique()),
                 "detections_without_deployment": int((~known).sum())})
    return frame[known].reset_index(drop=True), deps, info


def _utm(lon: np.ndarray, lat: np.ndarray) -> str:
    zone = int((float(np.mean(lon)) + 180) // 6) + 1
    return f"EPSG:{(32600 if float(np.mean(lat)) >= 0 else 32700) + zone}"


def _project(geom, crs: str):
    import shapely
    from pyproj import Transformer
    tf = Transformer.from_crs(4326, crs, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))


# --------------------------------------------------------------------------- SCR

def capture_history(det: pd.DataFrame, deps: pd.DataFrame, *, occasion_days: float, detector: str, crs: str):
    """secr capture history from view detections of identified individuals and view deployments."""
    from econet.analytics.secr_formats import capthist_from_camtrap
    ident = det[det["individual"].notna() & (det["individual"].astype(str) != "")]
    if ident.empty:
        raise EconetError("no detections of identified individuals in this view", field="individual")
    first = deps.groupby("site")["deployment"].first()
    d = pd.DataFrame({"deploymentID": deps["deployment"], "locationID": deps["site"], "latitude": deps["lat"],
                      "longitude": deps["lon"], "deploymentStart": deps["start"], "deploymentEnd": deps["end"]})
    o = pd.DataFrame({"deploymentID": ident["site"].map(first).to_numpy(), "eventStart": ident["timestamp"].to_numpy(),
                      "individualID": ident["individual"].astype(str).to_numpy(),
                      "scientificName": ident["species"].to_numpy()})
    return capthist_from_camtrap(d, o, occasion_days=occasion_days, crs=crs, detector=detector)


def _suggest_buffer(ch) -> float:
    """4 sigma (secr's rule of thumb for half-normal detection), sigma from the spread of recaptures."""
    xy = ch.traps.xy[ch.trap]
    spreads = [((p - p.mean(0)) ** 2).sum(1).mean() / 2 for i in np.unique(ch.ind)
               if len(p := xy[ch.ind == i]) > 1 and np.ptp(p, axis=0).any()]
    if spreads:
        return 4 * 1.2 * math.sqrt(float(np.mean(spreads)))
    from scipy.spatial import cKDTree
    dd, _ = cKDTree(ch.traps.xy).query(ch.traps.xy, k=2)
    return 4 * float(np.median(dd[:, 1]))


def run_scr(conn: Connection, view: View, f: ObservationFilter, *, occasion_days: float = 1.0,
            detector: str = "proximity", detectfn: str = "HN", buffer_m: float | None = None,
            spacing_m: float | None = None, model: str | None = None, land_only: bool = True,
            progress=None) -> dict:
    """SCR density from the hub's camera traps under the view; expected animals per country and overall."""
    import shapely

    from econet.analytics import scr, scr_models
    from econet.hub import spatial

    det, deps, info = camera_inputs(conn, view, f)
    crs = _utm(deps["lon"].to_numpy(float), deps["lat"].to_numpy(float))
    ch = capture_history(det, deps, occasion_days=occasion_days, detector=detector, crs=crs)
    if len(ch.traps.ids) < 2:
        raise EconetError("SCR needs at least two detector locations; in this view the cameras collapse to "
                          f"{len(ch.traps.ids)} (locations generalized to "
                          f"{info['coordinate_precision_deg']} degree): ask the owner for exact access")
    buffer = float(buffer_m) if buffer_m else _suggest_buffer(ch)
    lon, lat = deps["lon"].to_numpy(float), deps["lat"].to_numpy(float)
    pad = buffer / 70000.0 + 0.05
    box = shapely.box(lon.min() - pad, lat.min() - pad, lon.max() + pad, lat.max() + pad)
    countries = spatial.countries()
    countries = countries[countries.intersects(box)]
    land = _project(shapely.union_all(countries.geometry.values).intersection(box), crs) if land_only else None
    try:
        mask = scr.make_mask(ch.traps.xy, buffer=buffer, spacing=spacing_m, polygon=land)
    except EconetError:
        mask = scr.make_mask(ch.traps.xy, buffer=buffer, spacing=spacing_m)
    regions = {str(r.iso2): _project(r.geometry, crs) for r in countries.itertuples()}
    regions = {k: g for k, g in regions.items() if scr._points_in(mask.xy, g).any()}
    if model and scr_models.parse_model(model) != scr_models.parse_model(None):
        fit = scr_models.fit_model(ch, mask, model, detector, detectfn, progress=progress)
        out_fit = fit.as_dict()
        per = {k: fit.expected_n(scr._points_in(mask.xy, g)) for k, g in regions.items()}
        overall = fit.expected_n()
    else:
        fit = scr.fit(ch, mask, detector, detectfn, "full", progress=progress)
        out_fit = fit.as_dict()
        per = {}
        for k, g in regions.items():  # each country's part of the habitat mask: the parts add up to the whole
            r = scr.region_n(fit, inside=scr._points_in(mask.xy, g))
            per[k] = {**r["E.N"], "realised": r["R.N"]["estimate"], "area_ha": r["region_area_ha"]}
        r = scr.region_n(fit)
        overall = {**r["E.N"], "realised": r["R.N"]["estimate"], "area_ha": r["region_area_ha"]}
    animals = det[det["individual"].notna()].groupby("individual")["country_code"].agg(lambda s: set(s.dropna()))
    both = int(sum(len(s) > 1 for s in animals))
    result = {"kind": "scr", "input": info, "fit": out_fit, "crs": crs,
              "mask": {"points": len(mask.xy), "spacing_m": mask.spacing, "buffer_m": buffer,
                       "area_ha": mask.area_ha, "land_only": bool(land_only)},
              "per_country": [{"country": k, **v} for k, v in sorted(per.items())],
              "overall": overall,
              "individuals": {"detected": len(animals), "in_both_countries": both,
                              "per_country": {c: int(sum(c in s for s in animals))
                                              for c in sorted(set().union(*animals)) if animals.size}}}
    if info["generalized"]:
        result["warning"] = (f"detector locations generalized to {info['coordinate_precision_deg']} degree in this "
                             "view: density and sigma are biased when the grid cell is not small against sigma")
    return result


def scr_table(result: dict) -> pd.DataFrame:
    """Per-country and overall expected animals (and D) of a `run_scr` result, as one table (CSV, reports)."""
    D = result["fit"]["D"]
    rows = [{"region": r["country"], "expected_animals": r["estimate"], "se": r.get("se"), "lcl": r.get("lcl"),
             "ucl": r.get("ucl"), "area_km2": r["area_ha"] / 100.0} for r in result["per_country"]]
    o = result["overall"]
    rows.append({"region": "overall (mask)", "expected_animals": o["estimate"], "se": o.get("se"),
                 "lcl": o.get("lcl"), "ucl": o.get("ucl"), "area_km2": o["area_ha"] / 100.0})
    t = pd.DataFrame(rows)
    t["D_per_100km2"] = D["estimate"] * 1e4
    t["D_lcl_per_100km2"] = D["lcl"] * 1e4
    t["D_ucl_per_100km2"] = D["ucl"] * 1e4
    t["view"] = result["input"]["view"]["kind"]
    t["generalized_input"] = result["input"]["generalized"]
    return t


# --------------------------------------------------------------------------- occupancy, RAI, crossings

def run_occupancy(conn: Connection, view: View, f: ObservationFilter, *, occasion_days: float = 7.0,
                  psi: str = "~1", p: str = "~1") -> dict:
    """Single-season occupancy of the filter's taxon at the visible detector locations (MacKenzie et al. 2002)."""
    from econet.analytics import occupancy as oc
    det, deps, info = camera_inputs(conn, view, f)
    hist, _effort = oc.detection_history(deps, det, occasion_days)
    data = oc.OccupancyData(hist.to_numpy(), [str(s) for s in hist.index])
    fit = oc.fit_occupancy(data, psi, p)
    return {"kind": "occupancy", "input": info, "occasion_days": occasion_days, "summary": data.summary(),
            "fit": fit.as_dict()}


def run_rai(conn: Connection, view: View, f: ObservationFilter, *, min_delta: str = "30min") -> dict:
    """Relative abundance index (independent detections per 100 trap-days) per visible detector location."""
    from econet.analytics.activity import relative_abundance
    det, deps, info = camera_inputs(conn, view, f)
    t = relative_abundance(det, deps, min_delta=min_delta)
    loc = deps.groupby("site")[["lon", "lat", "country_code"]].first()
    t = t.join(loc, on="site")
    by_species = t.groupby("species").agg(n_independent=("n_independent", "sum"), trap_days=("trap_days", "sum"))
    by_species["rai"] = by_species["n_independent"] / by_species["trap_days"] * 100.0
    return {"kind": "rai", "input": info, "per_site": t.to_dict("records"),
            "per_species": by_species.reset_index().to_dict("records")}


def activity_detections(conn: Connection, view: View, f: ObservationFilter) -> tuple[pd.DataFrame, dict]:
    """(species, timestamp, clock) of the view's records: `clock` is the local wall-clock time as recorded."""
    frame = sharing.analysis_frame(conn, view, f)
    info = _input_info(view, [frame])
    d = frame[frame["time_utc"].notna()].copy()
    d["species"] = d["accepted_name"].fillna(d["scientific_name"])
    d["timestamp"] = pd.to_datetime(d["time_utc"], utc=True)
    local = d["time_local"].fillna(d["time_utc"]).astype(str)
    # the recorded local clock time (cameras on both sides of a border keep their own offsets)
    d["clock"] = pd.to_datetime(local.str.slice(0, 19), errors="coerce").dt.tz_localize("UTC")
    return d[["species", "timestamp", "clock"]], info


def run_activity(conn: Connection, view: View, f: ObservationFilter, *, species_a: str, species_b: str,
                 tz: str | None = None) -> dict:
    """Daily activity overlap (Dhat1/4/5, as the R package overlap) of two species in the view's records: local
    clock times as recorded, or clock times in `tz`. Coordinates are not used: every view that sees the
    records gets the same answer."""
    from econet.analytics.activity import activity_overlap
    d, info = activity_detections(conn, view, f)
    res = activity_overlap(d, species_a, species_b, timestamp="timestamp" if tz else "clock", tz=tz)
    return {"kind": "activity", "input": info, "species_a": species_a, "species_b": species_b,
            "clock": tz or "local time as recorded", **res}


def run_crossings(conn: Connection, view: View, f: ObservationFilter) -> dict:
    """Individuals detected in each country, in both, only in one; crossing events between consecutive
    detections in different countries (the recorded country of each detection: valid on generalized rows)."""
    frame = sharing.analysis_frame(conn, view, f)
    info = _input_info(view, [frame])
    d = frame[frame["individual"].notna() & frame["country_code"].notna() & frame["time_utc"].notna()].copy()
    if d.empty:
        raise EconetError("no detections of identified individuals in this view", field="individual")
    d["species"] = d["accepted_name"].fillna(d["scientific_name"])
    d["t"] = pd.to_datetime(d["time_utc"], utc=True)
    d = d.sort_values(["species", "individual", "t"], kind="stable")
    countries = sorted(d["country_code"].unique())
    per_ind, events = [], []
    for (sp, ind), g in d.groupby(["species", "individual"], sort=True):
        seen = sorted(g["country_code"].unique())
        per_ind.append({"species": sp, "individual": ind, "countries": seen, "detections": len(g),
                        "status": "both" if len(seen) > 1 else f"only {seen[0]}"})
        cc, tt = g["country_code"].to_numpy(), g["t"].to_numpy()
        for k in np.flatnonzero(cc[1:] != cc[:-1]):
            events.append({"species": sp, "individual": ind, "from": cc[k], "to": cc[k + 1],
                           "time_before": pd.Timestamp(tt[k]).isoformat(), "time_after": pd.Timestamp(tt[k + 1]).isoformat()})
    summary = []
    for sp in sorted({r["species"] for r in per_ind}):
        rows = [r for r in per_ind if r["species"] == sp]
        n_both = sum(r["status"] == "both" for r in rows)
        s = {"species": sp, "n_individuals": len(rows), "in_both": n_both,
             "share_transboundary": n_both / len(rows) if rows else None}
        for c in countries:
            s[f"in_{c}"] = sum(c in r["countries"] for r in rows)
            s[f"only_{c}"] = sum(r["countries"] == [c] for r in rows)
        summary.append(s)
    month = d["t"].dt.tz_convert(None).dt.to_period("M").astype(str)
    by_month = (d.assign(month=month).groupby(["species", "month", "country_code"])
                .agg(detections=("individual", "size"), individuals=("individual", "nunique")).reset_index())
    return {"kind": "crossings", "input": info, "summary": summary, "individuals": per_ind, "events": events,
            "detections_by_month": by_month.to_dict("records")}


# --------------------------------------------------------------------------- genetic samples and genetics

def genetic_sample_rows(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                        population: str | None = None, country: str | None = None, limit: int | None = None,
                        offset: int = 0, rules: sharing.Rules | None = None) -> list[dict]:
    """Genetic samples as the view may see them (through apply_rules: generalized, withheld, hidden)."""
    from econet.hub.query import taxon_ids
    rules = rules or sharing.load_rules(conn, view)
    G, DS, T, I = m.GeneticSample, m.Dataset, m.Taxon, m.Individual
    A = T.__table__.alias("accepted")
    visible = list(rules.datasets)
    if dataset is not None:
        if dataset not in rules.datasets:
            raise EconetError(f"unknown dataset {dataset!r}", field="dataset")
        visible = [dataset]
    if not visible:
        return []
    q = (select(G.id, G.sample_key, DS.name.label("dataset"), G.population, G.sample_type, G.time_utc, G.lon, G.lat,
                G.coordinate_uncertainty_m, G.country_code, T.scientific_name, A.c.scientific_name.label("acc"),
                I.individual_key)
         .join(DS, DS.id == G.dataset_id).outerjoin(T, T.id == G.taxon_id)
         .outerjoin(A, A.c.id == T.accepted_id).outerjoin(I, I.id == G.individual_id)
         .where(DS.name.in_(visible)).order_by(G.id))
    if taxon:
        q = q.where(G.taxon_id.in_(taxon_ids(conn, taxon) or [-1]))
    if population:
        q = q.where(G.population == population)
    if country:
        q = q.where(G.country_code == country.upper())
    raw = ({"hub_id": r.id, "sample": r.sample_key, "dataset": r.dataset, "population": r.population,
            "sample_type": r.sample_type, "time_utc": r.time_utc.isoformat() if r.time_utc else None,
            "lon": r.lon, "lat": r.lat, "coordinate_uncertainty_m": r.coordinate_uncertainty_m,
            "country_code": r.country_code, "scientific_name": r.scientific_name,
            "accepted_name": r.acc or r.scientific_name, "individual": r.individual_key, "locality": None}
           for r in conn.execute(q))
    out = []
    for i, r in enumerate(sharing.apply_rules(rules, raw)):
        if i < offset:
            continue
        if limit is not None and len(out) >= limit:
            break
        r.pop("locality", None)
        r.pop("source_row", None)
        r.pop("batch", None)
        out.append(r)
    return out


def genotype_table(conn: Connection, samples: list[dict]) -> pd.DataFrame:
    """The long genotype table (sample, population, locus, allele1, allele2) of visible samples."""
    ids = {s["hub_id"]: s for s in samples}
    rows = []
    for chunk in [list(ids)[i:i + 900] for i in range(0, len(ids), 900)]:
        for r in conn.execute(select(m.Genotype.sample_id, m.Genotype.locus, m.Genotype.allele1, m.Genotype.allele2)
                              .where(m.Genotype.sample_id.in_(chunk)).order_by(m.Genotype.sample_id, m.Genotype.id)):
            s = ids[r.sample_id]
            rows.append({"sample": s["sample"], "population": s["population"] or s["country_code"] or "all",
                         "locus": r.locus, "allele1": r.allele1, "allele2": r.allele2})
    return pd.DataFrame(rows, columns=["sample", "population", "locus", "allele1", "allele2"])


def genetics_inputs(conn: Connection, view: View, *, dataset: str | None = None,
                    taxon: str | None = None) -> tuple[pd.DataFrame, dict]:
    """(long genotype table, input info) of the genetic samples the view may see."""
    samples = genetic_sample_rows(conn, view, dataset=dataset, taxon=taxon)
    table = genotype_table(conn, samples)
    if table.empty:
        raise EconetError("no genotyped samples in this view", field="dataset")
    info = _input_info(view, [pd.DataFrame(samples)])
    info["records"] = info["samples"] = int(table["sample"].nunique())
    return table, info


def run_genetics(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                 max_mismatch: float | None = None) -> dict:
    """Diversity (hierfstat basic.stats), PID, and with `max_mismatch` allelematch identities, of the visible samples."""
    from econet.analytics import genetics as gx
    table, info = genetics_inputs(conn, view, dataset=dataset, taxon=taxon)
    out: dict[str, Any] = {"kind": "genetics", "input": info}
    out["stats"] = gx.basic_stats(table).as_dict()
    pid = gx.probability_of_identity(table)
    out["pid"] = {"per_locus": pid.to_dict(orient="records"), "PID": float(pid["PID"].prod()),
                  "PIDsib": float(pid["PIDsib"].prod())}
    if max_mismatch is not None:
        out["match"] = gx.match_individuals(table, max_mismatch).as_dict()
    return out


RUNNERS = {"scr": run_scr, "occupancy": run_occupancy, "rai": run_rai, "crossings": run_crossings,
           "activity": run_activity}


def jsonable(obj):
    """Plain JSON types (NaN -> None, numpy scalars, timestamps, sets)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj
