"""Waterbird site analyses: seasonal site totals, site importance against flyway populations (Ramsar criteria
5 and 6, EAAF Flyway Site Network), survey coverage of potential habitat, and breeding success.

Input counts are a DataFrame with one row per count (site x date x species [x count unit]):

=============  ==========================================================================================
column         meaning
=============  ==========================================================================================
site_id        the site (a delimited wetland; IWC sites may be split into count units)
species        scientific name (matched to ``scientific_name`` of the population table) or a population_id
count          number of birds counted (explicit zeros allowed)
date           ISO date of the count; or ``season`` + ``year`` given directly (see :func:`season_of`)
unit_id        optional count unit inside the site: units counted on the same date are summed
country        optional ISO 3166 alpha-2 code of the site
lon, lat       optional WGS84 position of the site (for maps)
population_id  optional: which flyway population the birds belong to, where a species has several
=============  ==========================================================================================

Definitions follow Wetlands International (Waterbird Population Estimates, 1% thresholds) and the Ramsar
Convention (Criteria 5 and 6, "regularly"); see docs/waterbirds.md for sources.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from econet.errors import EconetError

#: Ramsar Criterion 5: a wetland regularly supporting 20,000 or more waterbirds.
CRITERION5_TOTAL = 20_000
#: Wetlands International: for populations of 2,000,000 or more the 1% threshold is set at 20,000.
CAP_POPULATION = 2_000_000
CAP_THRESHOLD = 20_000

SEASONS = ("winter", "spring", "summer", "autumn")


# ------------------------------------------------------------------------------------------------ thresholds
def round_threshold(value: float) -> int:
    """Round a raw 1% value as Wetlands International does (WPE): 1-10 to the nearest 1, 11-100 to the
    nearest 5, 101-1,000 to the nearest 10, over 1,000 to the nearest 100. Halves round up. Values below 1
    become 1 (a site must hold at least one bird)."""
    if value is None or not np.isfinite(value) or value < 0:
        raise EconetError(f"cannot round a 1% threshold of {value!r}")
    v = Decimal(str(value))
    if v <= 10:
        step = Decimal(1)
    elif v <= 100:
        step = Decimal(5)
    elif v <= 1000:
        step = Decimal(10)
    else:
        step = Decimal(100)
    rounded = int((v / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)
    return max(rounded, 1)


def one_percent_threshold(estimate: float | None = None, low: float | None = None,
                          high: float | None = None) -> int:
    """The 1% threshold of a population: 1% of the estimate, or of the mid-point of the range (low-high),
    rounded by :func:`round_threshold`; 20,000 for populations of 2,000,000 or more (WPE)."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        if low is None or high is None or any(isinstance(x, float) and math.isnan(x) for x in (low, high)):
            raise EconetError("a population needs an estimate or a range (low and high)")
        if high < low:
            raise EconetError(f"population range is reversed ({low} > {high})")
        estimate = (float(low) + float(high)) / 2.0
    if estimate <= 0:
        raise EconetError(f"population estimate must be positive, got {estimate}")
    if estimate >= CAP_POPULATION:
        return CAP_THRESHOLD
    return round_threshold(estimate / 100.0)


POPULATION_COLUMNS = ["population_id", "species", "scientific_name", "population", "estimate",
                      "estimate_min", "estimate_max", "year", "one_percent", "source"]


def load_populations(path: str | Path | None = None) -> pd.DataFrame:
    """The flyway population table (econet ships src/econet/data/flyway_populations.csv; see its SOURCE.md),
    or a user's table in the same columns. ``basis`` (the number the 1% is taken of) is added."""
    if path is None:
        ref = resources.files("econet") / "data" / "flyway_populations.csv"
        with resources.as_file(ref) as p:
            df = pd.read_csv(p, comment="#")
        where = "flyway_populations.csv"
    else:
        p = Path(path)
        if not p.is_file():
            raise EconetError("population table not found", path=p)
        try:
            df = pd.read_csv(p, comment="#")
        except Exception as exc:
            raise EconetError(f"cannot read CSV ({exc})", path=p) from None
        where = str(p)
    missing = [c for c in ("population_id", "scientific_name") if c not in df.columns]
    if missing:
        raise EconetError(f"missing column(s) {', '.join(missing)}", path=where)
    for c in ("estimate", "estimate_min", "estimate_max"):
        if c not in df.columns:
            df[c] = np.nan
        df[c] = pd.to_numeric(df[c], errors="coerce")
    basis = []
    thresholds = []
    for i, r in df.iterrows():
        try:
            t = one_percent_threshold(None if pd.isna(r["estimate"]) else r["estimate"],
                                      None if pd.isna(r["estimate_min"]) else r["estimate_min"],
                                      None if pd.isna(r["estimate_max"]) else r["estimate_max"])
        except EconetError as exc:
            raise EconetError(exc.message, path=where, row=int(i) + 2, field="estimate") from None
        b = r["estimate"] if pd.notna(r["estimate"]) else (r["estimate_min"] + r["estimate_max"]) / 2.0
        basis.append(float(b))
        thresholds.append(t)
    df["basis"] = basis
    if "one_percent" not in df.columns or df["one_percent"].isna().all():
        df["one_percent"] = thresholds
    else:
        df["one_percent"] = pd.to_numeric(df["one_percent"], errors="coerce").fillna(pd.Series(thresholds))
    df["one_percent"] = df["one_percent"].astype(int)
    return df


# ------------------------------------------------------------------------------------------------ seasons
def season_of(dates: pd.Series) -> pd.DataFrame:
    """Meteorological seasons of dates: winter Dec-Feb (labelled by its two years, e.g. '2019/20', December
    counting to the next winter), spring Mar-May, summer Jun-Aug, autumn Sep-Nov (labelled by the year).
    Returns columns ``season`` and ``year`` (a string label)."""
    d = pd.to_datetime(dates, errors="coerce")
    m = d.dt.month
    y = d.dt.year
    season = np.select([m.isin([12, 1, 2]), m.isin([3, 4, 5]), m.isin([6, 7, 8])],
                       ["winter", "spring", "summer"], "autumn")
    start = np.where(m == 12, y, y - 1)
    label = np.where(season == "winter",
                     [f"{s}/{(s + 1) % 100:02d}" for s in start], y.astype("Int64").astype(str))
    return pd.DataFrame({"season": season, "year": label}, index=dates.index)


def _prepare_counts(counts: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(counts, pd.DataFrame):
        raise EconetError("counts must be a table")
    need = ["site_id", "species", "count"]
    missing = [c for c in need if c not in counts.columns]
    if missing:
        raise EconetError(f"counts: missing column(s) {', '.join(missing)}", field=missing[0])
    if counts.empty:
        raise EconetError("counts: no rows")
    df = counts.copy()
    df["count"] = pd.to_numeric(df["count"], errors="coerce")
    bad = df["count"].isna() | (df["count"] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise EconetError("count must be a number >= 0", row=i + 2, field="count")
    if "season" not in df.columns or "year" not in df.columns:
        if "date" not in df.columns:
            raise EconetError("counts need a 'date' column, or 'season' and 'year'", field="date")
        parsed = pd.to_datetime(df["date"], errors="coerce")
        if parsed.isna().any():
            i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise EconetError(f"not a date: {df['date'].iloc[i]!r}", row=i + 2, field="date")
        s = season_of(df["date"])
        df["season"] = s["season"]
        df["year"] = s["year"]
    df["year"] = df["year"].astype(str)
    if "date" not in df.columns:
        df["date"] = df["year"]
    return df


# ------------------------------------------------------------------------------------------------ totals
def site_totals(counts: pd.DataFrame) -> pd.DataFrame:
    """Seasonal site totals per species: count units counted on the same date are summed into a site
    total for that visit; the season's total is the peak (maximum) visit total, as in IWC/WeBS practice.

    Returns site_id, species, season, year, total (peak), n_visits, plus country/lon/lat where given."""
    df = _prepare_counts(counts)
    keys = ["site_id", "species", "season", "year"]
    visit = df.groupby(keys + ["date"], dropna=False)["count"].sum().reset_index()
    out = visit.groupby(keys, dropna=False).agg(total=("count", "max"),
                                                 n_visits=("date", "nunique")).reset_index()
    extra = [c for c in ("country", "lon", "lat", "population_id", "site_name") if c in df.columns]
    if extra:
        first = df.groupby(["site_id", "species"] if "population_id" in extra else ["site_id"])[
            [c for c in extra if c != "population_id"] + (["population_id"] if "population_id" in extra else [])
        ].first().reset_index()
        out = out.merge(first, on=[c for c in ("site_id", "species") if c in first.columns], how="left")
    return out.sort_values(keys).reset_index(drop=True)


def site_summary(totals: pd.DataFrame, window: int | None = 5) -> pd.DataFrame:
    """Maxima and means of seasonal totals over years, per site, species and season.

    ``mean`` is the mean of the annual peaks over the most recent ``window`` years with counts (the
    five-year peak mean used by WeBS and Ramsar's "mean of the maxima"); ``mean_all`` over all years."""
    rows = []
    for (site, sp, season), g in totals.groupby(["site_id", "species", "season"], dropna=False):
        g = g.sort_values("year")
        recent = g.tail(window) if window else g
        rows.append({"site_id": site, "species": sp, "season": season,
                     "n_years": int(len(g)), "first_year": g["year"].iloc[0], "last_year": g["year"].iloc[-1],
                     "max": float(g["total"].max()), "max_year": g.loc[g["total"].idxmax(), "year"],
                     "mean": float(recent["total"].mean()), "mean_all": float(g["total"].mean()),
                     "mean_years": int(len(recent))})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ importance
def regularly_supports(values: Iterable[float], threshold: float, min_years: int = 3,
                       mean_years: int = 5) -> tuple[bool, str]:
    """Ramsar "regularly supports" (Strategic Framework, glossary): the number is reached in at least two
    thirds of the seasons with adequate data, those being at least three; or the mean of the seasonal maxima
    over at least five years reaches it (a mean over three or four years is a provisional assessment).

    Returns (meets, basis) where basis is 'two-thirds', 'mean', 'mean (provisional)' or ''."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    n = len(v)
    if n == 0:
        return False, ""
    recent = v[-mean_years:]
    if n >= min_years and (v >= threshold).sum() * 3 >= 2 * n:
        return True, "two-thirds"
    if len(recent) >= mean_years and recent.mean() >= threshold:
        return True, "mean"
    if n >= min_years and recent.mean() >= threshold:
        return True, "mean (provisional)"
    return False, ""


def _match_population(species: str, pop_id: str | None, pops: pd.DataFrame) -> pd.Series | None:
    if pop_id is not None and isinstance(pop_id, str) and pop_id:
        hit = pops[pops["population_id"] == pop_id]
        if len(hit):
            return hit.iloc[0]
    hit = pops[(pops["population_id"] == species) | (pops["scientific_name"].str.lower() == str(species).lower())]
    if "species" in pops.columns:
        hit = pd.concat([hit, pops[pops["species"].str.lower() == str(species).lower()]]).drop_duplicates("population_id")
    if len(hit) == 1:
        return hit.iloc[0]
    if len(hit) > 1:
        raise EconetError(f"species {species!r} has several populations ({', '.join(hit['population_id'])}); "
                          "give a population_id column", field="population_id")
    return None


def site_importance(counts: pd.DataFrame, populations: pd.DataFrame | None = None, *,
                    window: int = 5, staging_share: float | None = None,
                    staging_total: float | None = None) -> dict[str, pd.DataFrame]:
    """Site importance against flyway populations.

    Returns a dict of tables:

    - ``species``: per site x population x season: peak mean, maximum, 1% threshold, share of the population
      (peak mean / population estimate, %), seasons at or above 1%, whether the site regularly supports 1%
      (Ramsar Criterion 6) and on which basis;
    - ``sites``: per site x season: mean of the annual totals of all waterbirds (sum of species peaks per
      year), Criterion 5 (regularly >= 20,000), Criterion 6, the EAAF Flyway Site Network criterion (the
      site meets Criterion 5 or 6 for migratory waterbirds) and, when ``staging_share``/``staging_total``
      are given, the staging-site criterion (>= that % of a population or that many birds in spring/autumn);
    - ``ranked``: one row per site, ranked by the number of populations for which it is important, then by
      its largest share of a population.
    """
    pops = load_populations() if populations is None else populations
    if "basis" not in pops.columns:
        pops = pops.copy()
        pops["basis"] = [float(r["estimate"]) if pd.notna(r.get("estimate")) else
                         (float(r["estimate_min"]) + float(r["estimate_max"])) / 2 for _, r in pops.iterrows()]
    totals = site_totals(counts)
    meta_cols = [c for c in ("country", "lon", "lat", "site_name") if c in totals.columns]
    meta = totals.groupby("site_id")[meta_cols].first() if meta_cols else None

    species_rows = []
    for (site, sp, season), g in totals.groupby(["site_id", "species", "season"], dropna=False):
        g = g.sort_values("year")
        pop_id = g["population_id"].iloc[0] if "population_id" in g.columns else None
        pop = _match_population(sp, pop_id, pops)
        vals = g["total"].to_numpy(float)
        recent = vals[-window:]
        row = {"site_id": site, "species": sp, "season": season, "n_years": len(vals),
               "peak_mean": float(recent.mean()), "max": float(vals.max()),
               "population_id": None, "population": None, "population_estimate": np.nan,
               "one_percent": np.nan, "share_pct": np.nan, "max_share_pct": np.nan,
               "years_above_1pct": 0, "criterion6": False, "criterion6_basis": "", "staging": False}
        if pop is not None:
            t = float(pop["one_percent"])
            meets, basis = regularly_supports(vals, t, mean_years=window)
            row.update(population_id=pop["population_id"], population=pop.get("population"),
                       population_estimate=float(pop["basis"]), one_percent=int(t),
                       share_pct=100.0 * recent.mean() / float(pop["basis"]),
                       max_share_pct=100.0 * vals.max() / float(pop["basis"]),
                       years_above_1pct=int((vals >= t).sum()), criterion6=meets, criterion6_basis=basis)
            if staging_share is not None and season in ("spring", "autumn"):
                st = float(pop["basis"]) * staging_share / 100.0
                row["staging"] = bool(regularly_supports(vals, st, mean_years=window)[0])
        species_rows.append(row)
    species = pd.DataFrame(species_rows)

    # all waterbirds: per site, season and year, the sum of the species' peaks
    all_birds = totals.groupby(["site_id", "season", "year"])["total"].sum().reset_index()
    site_rows = []
    for (site, season), g in all_birds.groupby(["site_id", "season"]):
        g = g.sort_values("year")
        vals = g["total"].to_numpy(float)
        c5, c5b = regularly_supports(vals, CRITERION5_TOTAL, mean_years=window)
        sp = species[(species["site_id"] == site) & (species["season"] == season)]
        c6 = bool(sp["criterion6"].any())
        staging = bool(sp["staging"].any())
        if staging_total is not None and season in ("spring", "autumn"):
            staging = staging or regularly_supports(vals, staging_total, mean_years=window)[0]
        site_rows.append({"site_id": site, "season": season, "n_years": len(vals),
                          "waterbirds_mean": float(vals[-window:].mean()), "waterbirds_max": float(vals.max()),
                          "criterion5": c5, "criterion5_basis": c5b, "criterion6": c6,
                          "criterion6_populations": ";".join(sp.loc[sp["criterion6"], "population_id"].astype(str)),
                          "eaaf": bool(c5 or c6), "eaaf_staging": staging})
    sites = pd.DataFrame(site_rows)
    if meta is not None and len(sites):
        sites = sites.merge(meta, left_on="site_id", right_index=True, how="left")
        species = species.merge(meta, left_on="site_id", right_index=True, how="left")

    ranked_rows = []
    for site, g in sites.groupby("site_id"):
        sp = species[species["site_id"] == site]
        c6pops = sorted(set(sp.loc[sp["criterion6"], "population_id"].astype(str)))
        best = sp.loc[sp["share_pct"].idxmax()] if sp["share_pct"].notna().any() else None
        crit = []
        if g["criterion5"].any():
            crit.append("Ramsar 5")
        if c6pops:
            crit.append("Ramsar 6")
        if g["eaaf"].any() or g["eaaf_staging"].any():
            crit.append("EAAF")
        r = {"site_id": site, "criteria": ", ".join(crit), "n_populations_1pct": len(c6pops),
             "populations_1pct": ";".join(c6pops),
             "max_share_pct": float(best["share_pct"]) if best is not None else np.nan,
             "max_share_population": best["population_id"] if best is not None else None,
             "max_share_season": best["season"] if best is not None else None,
             "waterbirds_mean_max": float(g["waterbirds_mean"].max()),
             "criterion5": bool(g["criterion5"].any()), "criterion6": bool(c6pops),
             "eaaf": bool(g["eaaf"].any()), "eaaf_staging": bool(g["eaaf_staging"].any())}
        if meta is not None:
            r.update(meta.loc[site].to_dict())
        ranked_rows.append(r)
    ranked = pd.DataFrame(ranked_rows)
    if len(ranked):
        ranked = ranked.sort_values(["n_populations_1pct", "max_share_pct", "waterbirds_mean_max"],
                                    ascending=False, na_position="last").reset_index(drop=True)
        ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
        ranked["critical"] = ranked["criterion5"] | ranked["criterion6"] | ranked["eaaf_staging"]
    return {"totals": totals, "species": species, "sites": sites, "ranked": ranked}


def population_shares(counts: pd.DataFrame, populations: pd.DataFrame | None = None,
                      window: int = 5) -> pd.DataFrame:
    """Each site's share of each population (%, peak mean / estimate), wide: sites as rows, populations as
    columns (the season with the largest share)."""
    sp = site_importance(counts, populations, window=window)["species"]
    sp = sp.dropna(subset=["population_id"])
    return sp.pivot_table(index="site_id", columns="population_id", values="share_pct", aggfunc="max")


# ------------------------------------------------------------------------------------------------ coverage
def survey_coverage(habitat, surveyed=None, *, country_column: str = "country",
                    surveyed_column: str = "surveyed"):
    """Share of potential habitat actually surveyed, per country.

    ``habitat``: GeoDataFrame of potential habitat polygons with a country column. ``surveyed``: either a
    GeoDataFrame of surveyed areas (count-unit polygons) or None, in which case ``habitat[surveyed_column]``
    (bool) says which polygons were surveyed. Areas are computed in an equal-area CRS.

    Returns per country: habitat_km2, surveyed_km2, area_share_pct, n_polygons, n_surveyed,
    polygon_share_pct (a polygon counts as surveyed when any part of it was)."""

    from econet.geo.crs import equal_area_crs

    if country_column not in habitat.columns:
        raise EconetError(f"habitat polygons need a '{country_column}' column", field=country_column)
    if habitat.crs is None:
        raise EconetError("habitat polygons have no CRS")
    bounds = habitat.to_crs(4326).total_bounds
    ea = equal_area_crs(tuple(bounds))
    hab = habitat.to_crs(ea).reset_index(drop=True)
    hab["_hid"] = np.arange(len(hab))
    hab["_area"] = hab.geometry.area / 1e6
    if surveyed is None:
        if surveyed_column not in hab.columns:
            raise EconetError(f"give surveyed areas, or a boolean '{surveyed_column}' column in the habitat",
                              field=surveyed_column)
        flag = hab[surveyed_column].astype(str).str.lower().isin(["true", "1", "yes", "y", "t"])
        hab["_surv_area"] = np.where(flag, hab["_area"], 0.0)
        hab["_surv"] = flag
    else:
        if surveyed.crs is None:
            raise EconetError("surveyed areas have no CRS")
        sv = surveyed.to_crs(ea)
        union = sv.geometry.union_all() if hasattr(sv.geometry, "union_all") else sv.geometry.unary_union
        inter = hab.geometry.intersection(union)
        hab["_surv_area"] = inter.area / 1e6
        hab["_surv"] = hab["_surv_area"] > 0
    g = hab.groupby(country_column)
    out = pd.DataFrame({"habitat_km2": g["_area"].sum(), "surveyed_km2": g["_surv_area"].sum(),
                        "n_polygons": g["_hid"].count(), "n_surveyed": g["_surv"].sum().astype(int)})
    out["area_share_pct"] = 100.0 * out["surveyed_km2"] / out["habitat_km2"]
    out["polygon_share_pct"] = 100.0 * out["n_surveyed"] / out["n_polygons"]
    out = out.reset_index().rename(columns={country_column: "country"})
    return out[["country", "habitat_km2", "surveyed_km2", "area_share_pct", "n_polygons", "n_surveyed",
                "polygon_share_pct"]]


# ------------------------------------------------------------------------------------------------ breeding
def _wilson(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    if n <= 0:
        return (np.nan, np.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def breeding_success(counts: pd.DataFrame, by: Iterable[str] = ("site_id", "species", "year")) -> pd.DataFrame:
    """Breeding success from breeding-season or age-class counts.

    Columns used where present: ``juveniles`` and ``adults`` (or ``total`` aged birds) give the juvenile
    share (juveniles / aged birds, with a 95% Wilson interval); ``families`` gives the mean brood size
    (juveniles / families); ``pairs`` and ``fledged`` give fledged young per pair."""
    df = counts.copy()
    by = [c for c in by if c in df.columns]
    if "year" in by and "year" not in counts.columns:
        by.remove("year")
    if not by:
        raise EconetError("breeding counts need grouping columns such as site_id, species, year")
    for c in ("juveniles", "adults", "total", "families", "pairs", "fledged"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    has_age = "juveniles" in df.columns and ("adults" in df.columns or "total" in df.columns)
    has_pairs = "pairs" in df.columns and "fledged" in df.columns
    if not (has_age or has_pairs):
        raise EconetError("breeding counts need juveniles with adults (or total), or pairs with fledged")
    if has_age and "total" not in df.columns:
        df["total"] = df["juveniles"] + df["adults"]
    rows = []
    for key, g in df.groupby(by):
        key = key if isinstance(key, tuple) else (key,)
        r = dict(zip(by, key))
        if has_age:
            j, n = float(g["juveniles"].sum()), float(g["total"].sum())
            if j > n:
                raise EconetError(f"more juveniles ({j:g}) than aged birds ({n:g}) for {r}", field="juveniles")
            lo, hi = _wilson(j, n)
            r.update(juveniles=j, aged=n, juvenile_share=j / n if n else np.nan, juvenile_share_low=lo,
                     juvenile_share_high=hi)
            if "families" in g.columns and g["families"].sum() > 0:
                r["brood_size"] = j / float(g["families"].sum())
        if has_pairs:
            p, f = float(g["pairs"].sum()), float(g["fledged"].sum())
            r.update(pairs=p, fledged=f, fledged_per_pair=f / p if p else np.nan)
        rows.append(r)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ map
def east_asia_countries():
    """Natural Earth country polygons of East and Central Asia shipped with econet (EPSG:4326; columns
    iso_a2, iso_a3, name), for map backgrounds; see src/econet/data/SOURCE.md."""
    import geopandas as gpd

    ref = resources.files("econet") / "data" / "flyways" / "east_asia_countries.gpkg"
    with resources.as_file(ref) as p:
        return gpd.read_file(p, layer="countries")


def plot_critical_sites(ranked: pd.DataFrame, path: str | Path, basemap=None, title: str | None = None) -> Path:
    """A map (PNG) of the ranked sites coloured by country; critical sites (Ramsar 5/6, EAAF) are drawn
    large with their rank, others small and grey. ``basemap``: optional GeoDataFrame of countries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econet.atomic import atomic_path

    if not {"lon", "lat"} <= set(ranked.columns):
        raise EconetError("sites need lon and lat columns for the map", field="lon")
    df = ranked.dropna(subset=["lon", "lat"])
    fig, ax = plt.subplots(figsize=(9, 7))
    if basemap is not None:
        basemap.to_crs(4326).plot(ax=ax, color="#f2efe9", edgecolor="#999999", linewidth=0.6)
    countries = sorted(df["country"].dropna().unique()) if "country" in df.columns else []
    cmap = plt.get_cmap("tab10")
    colours = {c: cmap(i % 10) for i, c in enumerate(countries)}
    crit = df[df["critical"]] if "critical" in df.columns else df
    other = df.drop(crit.index)
    ax.scatter(other["lon"], other["lat"], s=12, c="#aaaaaa", label="other sites", zorder=2)
    for c in countries or [None]:
        sub = crit[crit["country"] == c] if c is not None else crit
        if len(sub) == 0:
            continue
        size = 40 + 8 * np.sqrt(sub["max_share_pct"].fillna(0).clip(lower=0))
        ax.scatter(sub["lon"], sub["lat"], s=size * 3, color=colours.get(c, "C0"), edgecolor="black",
                   linewidth=0.6, label=f"{c} critical" if c else "critical", zorder=3)
    for _, r in crit.iterrows():
        ax.annotate(str(r["rank"]), (r["lon"], r["lat"]), xytext=(4, 4), textcoords="offset points",
                    fontsize=8, zorder=4)
    if len(df):
        pad = 1.0
        ax.set_xlim(df["lon"].min() - pad, df["lon"].max() + pad)
        ax.set_ylim(df["lat"].min() - pad, df["lat"].max() + pad)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or "Critical waterbird sites (Ramsar criteria 5/6, EAAF) by country; "
                 "marker size ~ largest share of a population")
    ax.legend(loc="best", fontsize=8)
    ax.set_aspect(1.0 / max(math.cos(math.radians(float(df["lat"].mean()) if len(df) else 0)), 0.2))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)
