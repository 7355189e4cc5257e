"""Waterbird counts, ring encounters and glacier observations of the hub, on the caller's view (issue 8).

Located records go through `sharing.apply_rules`: a count at a site, or a ring encounter, of a species
sensitive in that country is generalized (or withheld) for callers without exact access - its site name,
EURING place code, raw record and EURING fields 31-33 (which would give the exact place back) are removed,
and its site is known only by its generalized cell. Glacier observations follow their dataset's visibility
and embargo. The analyses (`waterbird_sites_on_view`, `ring_movements_on_view`, `glacier_trends_on_view`)
run the pure analytics on exactly these rows and report the view they used.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub import sharing
from econet.hub.sharing import View


def _dataset_ids(rules: sharing.Rules, dataset: str | None) -> dict[int, str]:
    if dataset:
        if dataset not in rules.datasets:
            raise EconetError(f"unknown dataset {dataset!r}", field="dataset")
        return {rules.datasets[dataset].id: dataset}
    return {d.id: d.name for d in rules.datasets.values()}


def _taxa(conn: Connection, taxon: str | None):
    if not taxon:
        return None
    from econet.hub.query import taxon_ids
    return taxon_ids(conn, taxon)


def _report(view: View, rows: list[dict], rules: sharing.Rules) -> dict:
    return {"view": view.describe(), "records": len(rows),
            "generalized_input": any(r.get("data_generalizations") for r in rows),
            "datasets": sorted({r["dataset"] for r in rows})}


def _cell_id(r: dict) -> str:
    return f"cell {r['lon']:g},{r['lat']:g}" if r.get("lon") is not None else "cell withheld"


# --------------------------------------------------------------------------- waterbird counts

COUNT_COLUMNS = ["hub_id", "dataset", "site_id", "site_name", "species", "scientific_name", "accepted_name",
                 "population_id", "date", "count", "method", "coverage", "lon", "lat", "country_code", "coordinate_precision",
                 "data_generalizations", "information_withheld"]


def view_waterbird_counts(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                          country: str | None = None, start=None, end=None, after: int | None = None,
                          limit: int | None = None, rules: sharing.Rules | None = None) -> Iterator[dict]:
    """Waterbird counts (site x date x species) as the view may see them, in id order."""
    rules = rules or sharing.load_rules(conn, view)
    ids = _dataset_ids(rules, dataset)
    if not ids:
        return
    W, S, T = m.WaterbirdCount, m.Site, m.Taxon
    q = (select(W.id, W.dataset_id, S.site_key, S.name, W.scientific_name, T.scientific_name.label("accepted"), W.date,
                W.count, W.method, W.coverage, S.lon, S.lat, S.country_code, S.coordinate_uncertainty_m, W.attributes)
         .join(S, S.id == W.site_id, isouter=True).join(T, T.id == W.taxon_id, isouter=True)
         .where(W.dataset_id.in_(list(ids))).order_by(W.id))
    tids = _taxa(conn, taxon)
    if tids is not None:
        q = q.where(W.taxon_id.in_(tids))
    if country:
        q = q.where(S.country_code == country.upper())
    if start:
        q = q.where(W.date >= pd.Timestamp(start).date())
    if end:
        q = q.where(W.date <= pd.Timestamp(end).date())
    if after is not None:
        q = q.where(W.id > after)
    sites = sensitive_count_sites(conn, rules, list(ids))
    n = 0
    for part in _chunked(conn, q):
        rows = [{"hub_id": r.id, "dataset": ids[r.dataset_id], "site_id": r.site_key, "site_name": r.name,
                 "scientific_name": r.scientific_name, "accepted_name": r.accepted or r.scientific_name,
                 "population_id": (r.attributes or {}).get("population_id") or None,
                 "date": r.date.isoformat() if r.date else None, "count": r.count, "method": r.method,
                 "coverage": r.coverage, "lon": r.lon, "lat": r.lat, "country_code": r.country_code,
                 "coordinate_uncertainty_m": r.coordinate_uncertainty_m, "locality": r.name} for r in part]
        for r in _count_rules(rules, rows, sites):
            if r.get("data_generalizations"):
                r["site_id"], r["site_name"] = _cell_id(r), None
            r["species"] = r["accepted_name"]
            yield {k: r.get(k) for k in COUNT_COLUMNS}
            n += 1
            if limit is not None and n >= limit:
                return


def sensitive_count_sites(conn: Connection, rules: sharing.Rules, dataset_ids: list[int]) -> dict:
    """(dataset id, site key) -> (category, accepted name) for count sites where a species sensitive in the
    site's country was counted (strictest category; a withheld species makes the site 1 degree)."""
    if not rules.sensitive or not dataset_ids:
        return {}
    W, S, T = m.WaterbirdCount, m.Site, m.Taxon
    names = {n for n, _ in rules.sensitive}
    out: dict = {}
    q = (select(W.dataset_id, S.site_key, S.country_code, T.scientific_name).join(S, S.id == W.site_id)
         .join(T, T.id == W.taxon_id).where(W.dataset_id.in_(dataset_ids), T.scientific_name.in_(names))
         .group_by(W.dataset_id, S.site_key, S.country_code, T.scientific_name))
    for ds, key, cc, name in conn.execute(q):
        cat = rules.sensitive.get((name, (cc or "").upper()))
        if cat is None:
            continue
        cat = "1" if cat == "withheld" else cat
        if (ds, key) not in out or sharing._strictest(out[(ds, key)][0], cat) == cat:
            out[(ds, key)] = (cat, name)
    return out


def _count_rules(rules: sharing.Rules, rows: list[dict], sites: dict) -> Iterator[dict]:
    """apply_rules, plus: every count at a site where a sensitive species was counted is generalized as that
    site (else the other species' counts would give the site away)."""
    for r in rows:
        d = rules.datasets[r["dataset"]]
        hit = sites.get((d.id, r["site_id"]))
        if hit is None or d.exact or hit[1] in rules.exact_names.get(d.id, ()):
            yield from sharing.apply_rules(rules, [r])
            continue
        cat, _ = sharing._row_category(rules, d, r)
        g = sharing.generalize_row(r, sharing._strictest(cat, hit[0]), "site where a sensitive species was counted")
        if g is not None:
            yield g


def _chunked(conn: Connection, q, size: int = 5000):
    res = conn.execute(q.execution_options(yield_per=size))
    while True:
        part = res.fetchmany(size)
        if not part:
            return
        yield part


def waterbird_sites_on_view(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                            country: str | None = None, populations=None, window: int = 5,
                            staging_share: float | None = None, staging_total: float | None = None,
                            audit: bool = True) -> tuple[dict, dict]:
    """Site importance (analytics.waterbirds.site_importance: 1% criterion, Ramsar 5 and 6, EAAF) from the
    counts the view may see; returns (results, report of the view)."""
    from econet.analytics import waterbirds as wb
    rules = sharing.load_rules(conn, view)
    rows = list(view_waterbird_counts(conn, view, dataset=dataset, taxon=taxon, country=country, rules=rules))
    if not rows:
        raise EconetError("no waterbird counts in this view")
    df = pd.DataFrame(rows).rename(columns={"country_code": "country"})
    cols = ["site_id", "site_name", "country", "lon", "lat", "species", "date", "count"]
    df = df[cols + (["population_id"] if df["population_id"].notna().any() else [])]
    res = wb.site_importance(df, wb.load_populations(populations) if not isinstance(populations, pd.DataFrame)
                             else populations, window=window, staging_share=staging_share,
                             staging_total=staging_total)
    rep = _report(view, rows, rules)
    if audit:
        sharing.audit(conn, view, "analysis", "waterbirds:sites", {"records": len(rows)}, rules=rules, rows=rows)
    return res, rep


def site_features(ranked: pd.DataFrame) -> list[dict]:
    """Ranked sites as GeoJSON Features (point per site) with their criteria and largest population share."""
    out = []
    keep = [c for c in ("rank", "site_id", "site_name", "country", "critical", "criteria", "populations_1pct",
                        "max_share_pct", "max_share_population", "waterbirds_mean_max") if c in ranked.columns]
    for i, r in enumerate(ranked.to_dict("records")):
        ok = r.get("lon") is not None and pd.notna(r.get("lon")) and pd.notna(r.get("lat"))
        props = {k: _plain(r.get(k)) for k in keep}
        out.append({"type": "Feature", "id": i + 1, "properties": props,
                    "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]} if ok else None})
    return out


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


# --------------------------------------------------------------------------- ring encounters

RING_COLUMNS = ["hub_id", "dataset", "ring_id", "scheme", "ring", "species", "accepted_name", "date", "lon", "lat",
                "country_code", "place_code", "condition", "circumstances", "age", "sex", "coordinate_precision",
                "data_generalizations", "information_withheld"]


def _ring_rows(conn: Connection, view: View, rules: sharing.Rules, dataset, taxon, ring, after, limit,
               raw: bool = False) -> Iterator[dict]:
    ids = _dataset_ids(rules, dataset)
    if not ids:
        return
    R, T = m.RingEncounter, m.Taxon
    q = (select(R.id, R.dataset_id, R.scheme, R.ring, R.species_code, T.scientific_name.label("accepted"), R.date,
                R.lon, R.lat, R.country_code, R.coordinate_uncertainty_m, R.place_code, R.condition, R.circumstances,
                R.age, R.sex, R.raw)
         .join(T, T.id == R.taxon_id, isouter=True).where(R.dataset_id.in_(list(ids))).order_by(R.id))
    tids = _taxa(conn, taxon)
    if tids is not None:
        q = q.where(R.taxon_id.in_(tids))
    if ring:
        q = q.where(R.ring == ring)
    if after is not None:
        q = q.where(R.id > after)
    n = 0
    for part in _chunked(conn, q):
        rows = [{"hub_id": r.id, "dataset": ids[r.dataset_id], "ring_id": f"{r.scheme}|{r.ring}", "scheme": r.scheme,
                 "ring": r.ring, "species": r.accepted or r.species_code, "accepted_name": r.accepted,
                 "date": r.date.isoformat() if r.date else None, "lon": r.lon, "lat": r.lat,
                 "country_code": r.country_code, "coordinate_uncertainty_m": r.coordinate_uncertainty_m,
                 "place_code": r.place_code, "condition": r.condition, "circumstances": r.circumstances,
                 "age": r.age, "sex": r.sex, "locality": r.place_code, "raw": r.raw} for r in part]
        for r in sharing.apply_rules(rules, rows):
            if r.get("data_generalizations"):
                r["place_code"], r["raw"] = None, None
            out = {k: r.get(k) for k in RING_COLUMNS}
            if raw:
                out["raw"] = r.get("raw")
            yield out
            n += 1
            if limit is not None and n >= limit:
                return


def view_ring_encounters(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                         ring: str | None = None, after: int | None = None, limit: int | None = None,
                         rules: sharing.Rules | None = None) -> Iterator[dict]:
    """Ring encounters (ringing and recoveries) as the view may see them, in id order."""
    rules = rules or sharing.load_rules(conn, view)
    yield from _ring_rows(conn, view, rules, dataset, taxon, ring, after, limit)


def encounters_frame(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                     rules: sharing.Rules | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The view's encounters as analytics.rings reads them: decoded from the EURING record where the caller
    sees it exactly; from the generalized place (no EURING fields 31-33) otherwise."""
    from econet.analytics import rings
    rules = rules or sharing.load_rules(conn, view)
    rows = list(_ring_rows(conn, view, rules, dataset, taxon, None, None, None, raw=True))
    if not rows:
        raise EconetError("no ring encounters in this view")
    out = []
    for r in rows:
        if r["raw"]:
            d = rings.read_euring([r["raw"]]).iloc[0].to_dict()
        else:
            d = {"ring_id": r["ring_id"], "scheme": r["scheme"], "ring": r["ring"], "species": r["species"],
                 "date": pd.Timestamp(r["date"]) if r["date"] else pd.NaT, "condition": r["condition"],
                 "circumstances": r["circumstances"], "metal_ring_information": "", "age": r["age"], "sex": r["sex"],
                 "euring_distance_km": np.nan, "euring_direction_deg": np.nan, "euring_elapsed_days": np.nan}
        d.update({"species": r["accepted_name"] or d.get("species"),
                  "lon": r["lon"], "lat": r["lat"], "country": r["country_code"] or d.get("country", ""),
                  "species_name": r["accepted_name"] or d.get("species_name"), "hub_id": r["hub_id"],
                  "dataset": r["dataset"]})
        out.append(d)
    df = pd.DataFrame(out)
    df = df[df["lon"].notna() & df["lat"].notna()].reset_index(drop=True)
    for r in rows:
        r.pop("raw", None)
    return df, rows


def ring_movements_on_view(conn: Connection, view: View, *, dataset: str | None = None, taxon: str | None = None,
                           mode: str = "ringing", audit: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Movements (analytics.rings.link_encounters) between the view's encounters of the same ring; returns
    (movements, encounters, report)."""
    from econet.analytics import rings
    rules = sharing.load_rules(conn, view)
    enc, rows = encounters_frame(conn, view, dataset=dataset, taxon=taxon, rules=rules)
    mv = rings.link_encounters(enc, mode=mode)
    rep = _report(view, rows, rules)
    if audit:
        sharing.audit(conn, view, "analysis", "rings:movements", {"records": len(rows)}, rules=rules, rows=rows)
    return mv, enc, rep


def movement_features(mv: pd.DataFrame) -> list[dict]:
    """Movements as GeoJSON LineStrings (from -> to) with distance, direction and elapsed time."""
    out = []
    props = [c for c in ("ring_id", "species", "from_date", "to_date", "from_country", "to_country", "distance_km",
                         "azimuth_deg", "rhumb_deg", "elapsed_days", "euring_check") if c in mv.columns]
    for i, r in enumerate(mv.to_dict("records")):
        p = {k: (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else _plain(v)) for k, v in
             ((k, r.get(k)) for k in props)}
        out.append({"type": "Feature", "id": i + 1, "properties": p,
                    "geometry": {"type": "LineString", "coordinates": [[float(r["from_lon"]), float(r["from_lat"])],
                                                                       [float(r["to_lon"]), float(r["to_lat"])]]}})
    return out


# --------------------------------------------------------------------------- glaciers

_MB = {"annual_balance": "annual_mb", "winter_balance": "winter_mb", "summer_balance": "summer_mb", "area": "area_km2"}


def glacier_observations(conn: Connection, view: View, *, glacier: str | int | None = None,
                         dataset: str | None = None, rules: sharing.Rules | None = None) -> pd.DataFrame:
    """Glacier-wide observations of the datasets the view may see (one row per glacier, variable, year)."""
    rules = rules or sharing.load_rules(conn, view)
    ids = _dataset_ids(rules, dataset)
    cols = ["glacier_id", "wgms_id", "rgi_id", "name", "country", "lon", "lat", "dataset", "variable", "year", "value",
            "unit", "uncertainty"]
    if not ids:
        return pd.DataFrame(columns=cols)
    G, O = m.Glacier, m.GlacierObservation
    q = (select(G.id, G.wgms_id, G.rgi_id, G.name, G.country_code, G.lon, G.lat, O.dataset_id, O.variable, O.year,
                O.value, O.unit, O.uncertainty)
         .join(G, G.id == O.glacier_id).where(O.dataset_id.in_(list(ids)), O.lower_bound_m.is_(None))
         .order_by(G.id, O.variable, O.year))
    if glacier is not None:
        s = str(glacier).strip()
        q = q.where(G.wgms_id == int(s)) if s.isdigit() else q.where(G.name.ilike(f"%{s}%"))
    rows = [(*r[:7], ids[r[7]], *r[8:]) for r in conn.execute(q)]
    return pd.DataFrame(rows, columns=cols)


def mass_balance_table(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations -> analytics.glaciers' mass-balance table (wgms_id, name, country, lon, lat, year, annual_mb
    (mm w.e.), winter_mb, summer_mb, area_km2)."""
    o = obs[obs["variable"].isin(list(_MB)) & obs["year"].notna()]
    if o.empty:
        return pd.DataFrame(columns=["wgms_id", "name", "country", "lon", "lat", "year", "annual_mb"])
    o = o.assign(wgms_id=o["wgms_id"].fillna(-o["glacier_id"]).astype(int))
    t = o.pivot_table(index=["wgms_id", "year"], columns="variable", values="value", aggfunc="first").reset_index()
    t = t.rename(columns=_MB).rename_axis(columns=None)
    meta = o.drop_duplicates("wgms_id").set_index("wgms_id")[["name", "country", "lon", "lat"]]
    meta["country"] = meta["country"].fillna("unknown")  # grouped on (basins by country): never a missing key
    t = t.join(meta, on="wgms_id")
    t["year"] = t["year"].astype(int)
    return t.sort_values(["wgms_id", "year"]).reset_index(drop=True)


def glacier_trends_on_view(conn: Connection, view: View, *, glacier=None, dataset: str | None = None,
                           min_years: int = 5, confidence: float = 0.95, audit: bool = True) -> tuple:
    """Mass-balance trends per glacier (analytics.glaciers.glacier_summary: least squares and Theil-Sen with
    intervals, cumulative balance) from the view's observations; returns (summary, mass balance, report)."""
    from econet.analytics import glaciers as gl
    rules = sharing.load_rules(conn, view)
    obs = glacier_observations(conn, view, glacier=glacier, dataset=dataset, rules=rules)
    mb = mass_balance_table(obs)
    if "annual_mb" in mb.columns:
        n = mb.dropna(subset=["annual_mb"]).groupby("wgms_id").size()
        mb = mb[mb["wgms_id"].isin(n[n >= min_years].index)]
    if mb.empty or "annual_mb" not in mb.columns:
        raise EconetError(f"no glacier in this view has {min_years} or more annual balances")
    summary = gl.glacier_summary(mb, confidence=confidence)
    pos = mb.drop_duplicates("wgms_id").set_index("wgms_id")[["lon", "lat", "country"]]
    summary = summary.join(pos[[c for c in pos.columns if c not in summary.columns]], on="wgms_id")
    datasets = sorted(obs["dataset"].unique().tolist())
    rep = {"view": view.describe(), "records": int(len(obs)), "generalized_input": False, "datasets": datasets}
    if audit:
        sharing.audit(conn, view, "analysis", "glaciers:trends", {"records": int(len(obs))}, rules=rules,
                      rows=[{"dataset": d} for d in datasets])
    return summary, mb, rep


def glacier_features(summary: pd.DataFrame) -> list[dict]:
    """Glaciers as GeoJSON points with their mass-balance trend (m w.e. per year) and cumulative balance."""
    props = [c for c in ("wgms_id", "name", "country", "first_year", "last_year", "n_years", "cumulative_mwe",
                         "mean_annual_mwe", "ols_slope_mwe_per_yr", "ts_slope_mwe_per_yr", "ts_ci_low_mwe_per_yr",
                         "ts_ci_high_mwe_per_yr", "mk_p") if c in summary.columns]
    out = []
    for r in summary.to_dict("records"):
        ok = pd.notna(r.get("lon")) and pd.notna(r.get("lat"))
        p = {k: _plain(r.get(k)) for k in props}
        if p.get("cumulative_mwe") is not None:
            p["trend"] = "losing mass" if p["cumulative_mwe"] < 0 else "gaining mass"
        out.append({"type": "Feature", "id": p.get("wgms_id"), "properties": p,
                    "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]} if ok else None})
    return out
