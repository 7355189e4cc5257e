"""Glacier change: WGMS-style records (glacier-wide mass balance, front variation, area and length by year),
multi-date outlines (area and length change with uncertainties), trends (least squares and Theil-Sen with
confidence intervals, Mann-Kendall), cumulative mass balance per glacier and per basin, and ice volume and
its change by volume-area scaling in water equivalent with the spread of published coefficients.

Record tables (long format, one row per glacier and year):

- mass balance: ``wgms_id, name, country, year, annual_mb`` (mm w.e.), optional ``winter_mb, summer_mb,
  area_km2, rgi_id, lon, lat, basin``;
- front variation: ``wgms_id, year, front_variation_m`` (+ advance / - retreat since the previous survey),
  optional ``front_variation_unc_m``;
- state: ``wgms_id, year, area_km2`` and/or ``length_km``, optional ``area_unc_km2, length_unc_km``.

:func:`read_wgms` reads OGGM's reformatted WGMS extract (``mbdata/mbdata_WGMS-<id>.csv``) and WGMS FoG
CSV tables (MASS_BALANCE with LOWER_BOUND 9999, FRONT_VARIATION, STATE).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from econet.errors import EconetError

#: Density of glacier ice used to turn ice volume into water equivalent (kg m-3; Cuffey & Paterson 2010,
#: The Physics of Glaciers, 4th ed., ch. 2: 830-917 for glacier ice; 900 is the customary value).
ICE_DENSITY = 900.0
WATER_DENSITY = 1000.0

#: Published volume-area scaling coefficient sets, V [km3] = c * A[km2] ** gamma. The first is the default
#: (central) estimate; the others give the spread reported as uncertainty.
VA_COEFFICIENTS: tuple[dict, ...] = (
    {"name": "bahr", "c": 0.034, "gamma": 1.375,
     "citation": "Bahr, Meier & Peckham 1997, J. Geophys. Res. 102(B9):20355-20362 (gamma = 1.375 for valley "
                 "glaciers); c = 0.034 km^(3-2gamma) as in Bahr, Pfeffer & Kaser 2015, Rev. Geophys. 53:95-140"},
    {"name": "radic_hock", "c": 0.2055 * 10 ** (6 * 1.375 - 9), "gamma": 1.375,
     "citation": "Radic & Hock 2010, J. Geophys. Res. 115, F01010: c = 0.2055 m^(3-2gamma) (= 0.0365 km^(3-2gamma))"},
    {"name": "chen_ohmura", "c": 0.0285, "gamma": 1.357,
     "citation": "Chen & Ohmura 1990, IAHS Publ. 193:127-135"},
    {"name": "erasov", "c": 0.027, "gamma": 1.5,
     "citation": "Erasov 1968 (Central Asia), as given in Marti et al., Modelling of Hydrological Systems in "
                 "Semi-Arid Central Asia (CAHAM book), riversCentralAsia::glacierVolume_Erasov"},
    {"name": "rgi13_farinotti", "c": 0.0388, "gamma": 1.262,
     "citation": "Marti et al., CAHAM book: fit to RGI 6.0 region 13 outlines with Farinotti et al. 2019 "
                 "thickness (riversCentralAsia::glacierVolume_RGIF)"},
)


# ------------------------------------------------------------------------------------------------ reading
_OGGM_COLUMNS = {"YEAR": "year", "WGMS_ID": "wgms_id", "POLITICAL_UNIT": "country", "NAME": "name",
                 "AREA": "area_km2", "WINTER_BALANCE": "winter_mb", "SUMMER_BALANCE": "summer_mb",
                 "ANNUAL_BALANCE": "annual_mb", "RGI_ID": "rgi_id"}


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None


def shipped_wgms() -> Path:
    """The WGMS extract of 31 Central Asian and Altai glaciers shipped with econet (OGGM layout)."""
    from importlib import resources

    return Path(str(resources.files("econet") / "data" / "wgms_central_asia"))


def read_wgms(source: str | Path | None, ids: Iterable[int | str] | None = None) -> dict[str, pd.DataFrame]:
    """Read WGMS records from a folder or a file.

    A folder in OGGM's layout (``mbdata/`` with ``mbdata_WGMS-<id>.csv``; a
    ``selected_glaciers*.csv`` or ``rgi_wgms_links*.csv`` adds positions), one such CSV, or WGMS FoG tables
    (``*MASS_BALANCE*.csv``, ``*FRONT_VARIATION*.csv``, ``*STATE*.csv``); None = the extract shipped with
    econet (:func:`shipped_wgms`). ``ids``: WGMS ids or names
    (case-insensitive substrings) to keep. Returns {'mass_balance', 'front_variation', 'state', 'glaciers'}."""
    p = shipped_wgms() if source is None else Path(source)
    if not p.exists():
        raise EconetError("WGMS data not found", path=p)
    files = sorted(p.rglob("*.csv")) if p.is_dir() else [p]
    mb_parts, fv_parts, st_parts, gl_parts = [], [], [], []
    for f in files:
        head = pd.read_csv(f, nrows=0).columns if f.stat().st_size else []
        cols = set(head)
        if {"YEAR", "WGMS_ID", "ANNUAL_BALANCE"} <= cols and "LOWER_BOUND" not in cols:
            mb_parts.append(_read_csv(f).rename(columns=_OGGM_COLUMNS))
        elif {"YEAR", "WGMS_ID", "ANNUAL_BALANCE", "LOWER_BOUND"} <= cols:  # FoG MASS_BALANCE
            d = _read_csv(f)
            d = d[d["LOWER_BOUND"] == 9999]  # 9999 = glacier-wide
            mb_parts.append(d.rename(columns=_OGGM_COLUMNS))
        elif {"WGMS_ID", "YEAR", "FRONT_VARIATION"} <= cols:
            d = _read_csv(f).rename(columns={"WGMS_ID": "wgms_id", "YEAR": "year", "NAME": "name",
                                             "POLITICAL_UNIT": "country", "FRONT_VARIATION": "front_variation_m",
                                             "FRONT_VAR_UNC": "front_variation_unc_m"})
            fv_parts.append(d)
        elif {"WGMS_ID", "YEAR"} <= cols and ({"AREA", "LENGTH"} & cols):
            d = _read_csv(f).rename(columns={"WGMS_ID": "wgms_id", "YEAR": "year", "NAME": "name",
                                             "POLITICAL_UNIT": "country", "AREA": "area_km2", "LENGTH": "length_km",
                                             "AREA_UNC": "area_unc_km2", "LENGTH_UNC": "length_unc_km"})
            st_parts.append(d)
        elif {"WGMS_ID", "CenLon", "CenLat"} <= cols:
            gl_parts.append(_read_csv(f).rename(columns={"WGMS_ID": "wgms_id", "CenLon": "lon", "CenLat": "lat",
                                                         "NAME": "name", "POLITICAL_UNIT": "country",
                                                         "RGI60_ID": "rgi_id"}))
    if not (mb_parts or fv_parts or st_parts):
        raise EconetError("no WGMS mass-balance, front-variation or state table found", path=p)

    def _filter(df: pd.DataFrame) -> pd.DataFrame:
        if ids is None or df.empty:
            return df
        keep = np.zeros(len(df), bool)
        for i in ids:
            s = str(i).strip()
            if s.isdigit():
                keep |= df["wgms_id"].astype(int).to_numpy() == int(s)
            elif "name" in df.columns:
                keep |= df["name"].astype(str).str.upper().str.contains(s.upper(), regex=False).to_numpy()
        return df[keep]

    mb = pd.concat(mb_parts, ignore_index=True) if mb_parts else pd.DataFrame(
        columns=["wgms_id", "name", "country", "year", "annual_mb"])
    mb = _filter(mb)
    for c in ("annual_mb", "winter_mb", "summer_mb", "area_km2"):
        if c in mb.columns:
            mb[c] = pd.to_numeric(mb[c], errors="coerce")
    gl = pd.concat(gl_parts, ignore_index=True).drop_duplicates("wgms_id") if gl_parts else pd.DataFrame()
    if len(gl) and len(mb):
        mb = mb.merge(gl[["wgms_id", "lon", "lat"]], on="wgms_id", how="left")
    fv = _filter(pd.concat(fv_parts, ignore_index=True)) if fv_parts else pd.DataFrame()
    st = _filter(pd.concat(st_parts, ignore_index=True)) if st_parts else pd.DataFrame()
    if ids is not None and mb.empty and fv.empty and st.empty:
        raise EconetError(f"no glacier matches {', '.join(map(str, ids))}", path=p)
    keep = [c for c in ("wgms_id", "name", "country", "rgi_id", "lon", "lat", "year", "area_km2", "winter_mb",
                        "summer_mb", "annual_mb", "REMARKS") if c in mb.columns]
    mb = mb[keep].rename(columns={"REMARKS": "remarks"}).sort_values(["wgms_id", "year"]).reset_index(drop=True)
    return {"mass_balance": mb, "front_variation": fv, "state": st, "glaciers": gl}


# ------------------------------------------------------------------------------------------------ trends
def trend(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> dict:
    """Linear trend of y on x by ordinary least squares (slope with a t-based confidence interval,
    ``scipy.stats.linregress``) and by Theil-Sen (median of pairwise slopes with its confidence interval,
    Sen 1968, ``scipy.stats.theilslopes``), with the Mann-Kendall test (Kendall's tau and p-value).
    Missing values are dropped; fewer than 3 points give NaNs."""
    from scipy import stats

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    out = {"n": n, "ols_slope": np.nan, "ols_intercept": np.nan, "ols_stderr": np.nan, "ols_ci_low": np.nan,
           "ols_ci_high": np.nan, "ols_p": np.nan, "r2": np.nan, "ts_slope": np.nan, "ts_intercept": np.nan,
           "ts_ci_low": np.nan, "ts_ci_high": np.nan, "mk_tau": np.nan, "mk_p": np.nan}
    if n < 3 or np.ptp(x) == 0:
        return out
    lr = stats.linregress(x, y)
    t = stats.t.ppf(0.5 + confidence / 2.0, n - 2)
    ts = stats.theilslopes(y, x, alpha=confidence)
    tau = stats.kendalltau(x, y)
    out.update(ols_slope=lr.slope, ols_intercept=lr.intercept, ols_stderr=lr.stderr,
               ols_ci_low=lr.slope - t * lr.stderr, ols_ci_high=lr.slope + t * lr.stderr, ols_p=lr.pvalue,
               r2=lr.rvalue ** 2, ts_slope=ts[0], ts_intercept=ts[1], ts_ci_low=ts[2], ts_ci_high=ts[3],
               mk_tau=tau.statistic if hasattr(tau, "statistic") else tau[0], mk_p=tau.pvalue)
    return out


def series_trends(df: pd.DataFrame, value: str, by: str | Sequence[str] = "wgms_id", x: str = "year",
                  confidence: float = 0.95) -> pd.DataFrame:
    """:func:`trend` of ``value`` against ``x`` for each group (e.g. each glacier)."""
    if value not in df.columns:
        raise EconetError(f"no column '{value}'", field=value)
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, g in df.groupby(by):
        key = key if isinstance(key, tuple) else (key,)
        r = dict(zip(by, key))
        if "name" in g.columns and "name" not in r:
            r["name"] = g["name"].iloc[0]
        sub = g[[x, value]].dropna()
        r.update(first_year=sub[x].min() if len(sub) else np.nan, last_year=sub[x].max() if len(sub) else np.nan)
        r.update(trend(g[x], g[value], confidence))
        rows.append(r)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ mass balance
def cumulative_mass_balance(mb: pd.DataFrame, value: str = "annual_mb") -> pd.DataFrame:
    """Cumulative glacier-wide mass balance per glacier, year by year: the running sum of the annual
    balances of the years with a value (mm w.e.; ``cumulative_mwe`` in m w.e.). Years without a value do
    not add to the sum and are flagged ``missing``."""
    if not {"wgms_id", "year", value} <= set(mb.columns):
        raise EconetError(f"mass balance needs columns wgms_id, year, {value}")
    out = mb.sort_values(["wgms_id", "year"]).copy()
    out["missing"] = out[value].isna()
    out["cumulative_mm"] = out.groupby("wgms_id")[value].transform(lambda s: s.fillna(0).cumsum())
    out["cumulative_mwe"] = out["cumulative_mm"] / 1000.0
    return out


def glacier_summary(mb: pd.DataFrame, value: str = "annual_mb", confidence: float = 0.95) -> pd.DataFrame:
    """One row per glacier: years with data, cumulative balance (m w.e.), mean annual balance, and the trend
    of the annual balance (per year and per decade) by least squares and Theil-Sen."""
    cum = cumulative_mass_balance(mb, value)
    rows = []
    for gid, g in cum.groupby("wgms_id"):
        v = g[value].dropna()
        r = {"wgms_id": gid, "name": g["name"].iloc[0] if "name" in g.columns else "",
             "country": g["country"].iloc[0] if "country" in g.columns else "",
             "first_year": int(g.loc[v.index, "year"].min()) if len(v) else np.nan,
             "last_year": int(g.loc[v.index, "year"].max()) if len(v) else np.nan,
             "n_years": int(len(v)), "n_missing": int(g["missing"].sum()),
             "cumulative_mwe": float(v.sum()) / 1000.0, "mean_annual_mwe": float(v.mean()) / 1000.0 if len(v) else np.nan,
             "sd_annual_mwe": float(v.std(ddof=1)) / 1000.0 if len(v) > 1 else np.nan}
        t = trend(g["year"], g[value] / 1000.0, confidence)
        r.update({f"{k}_mwe_per_yr" if k.startswith(("ols_slope", "ols_ci", "ts_slope", "ts_ci", "ols_stderr")) else k: val
                  for k, val in t.items() if k not in ("n", "ols_intercept", "ts_intercept")})
        if "area_km2" in g.columns and g["area_km2"].notna().any():
            r["area_km2_last"] = float(g["area_km2"].dropna().iloc[-1])
        if "lon" in g.columns:
            r["lon"], r["lat"] = g["lon"].iloc[0], g["lat"].iloc[0]
        rows.append(r)
    return pd.DataFrame(rows)


def basin_mass_balance(mb: pd.DataFrame, basins: Mapping | pd.DataFrame | None = None, *,
                       value: str = "annual_mb", default: str = "country") -> pd.DataFrame:
    """Per basin and year: the area-weighted mean glacier-wide balance of the glaciers measured that year
    (equal weights where areas are unknown), the number of glaciers, and its running sum (m w.e.).

    ``basins``: a mapping wgms_id -> basin, or a table with columns wgms_id, basin; glaciers without a basin
    are grouped by ``default`` (a column of ``mb``, e.g. country). The set of glaciers can change from year
    to year; ``n_glaciers`` says how many made each year's value."""
    df = mb.copy()
    if isinstance(basins, pd.DataFrame):
        if not {"wgms_id", "basin"} <= set(basins.columns):
            raise EconetError("basin table needs columns wgms_id and basin")
        basins = dict(zip(basins["wgms_id"].astype(int), basins["basin"]))
    fallback = df[default].astype(str) if default in df.columns else pd.Series("all", index=df.index)
    if basins:
        df["basin"] = df["wgms_id"].astype(int).map(basins).fillna(fallback)
    elif "basin" not in df.columns:
        df["basin"] = fallback
    df = df.dropna(subset=[value])
    w = df["area_km2"] if "area_km2" in df.columns else pd.Series(np.nan, index=df.index)
    # a glacier's weight: its area that year, else its last known area, else 1
    w = w.fillna(df.groupby("wgms_id")["area_km2"].transform("median") if "area_km2" in df.columns else np.nan)
    df["_w"] = w.fillna(1.0)
    rows = []
    for (basin, year), g in df.groupby(["basin", "year"]):
        rows.append({"basin": basin, "year": int(year), "n_glaciers": int(g["wgms_id"].nunique()),
                     "mean_mb_mwe": float(np.average(g[value], weights=g["_w"])) / 1000.0,
                     "glaciers": ";".join(sorted(g["name"].astype(str).unique())) if "name" in g.columns else ""})
    out = pd.DataFrame(rows).sort_values(["basin", "year"]).reset_index(drop=True)
    out["cumulative_mwe"] = out.groupby("basin")["mean_mb_mwe"].cumsum()
    return out


# ------------------------------------------------------------------------------------------------ front, state
def front_variation_cumulative(fv: pd.DataFrame) -> pd.DataFrame:
    """Cumulative length change per glacier from WGMS front variations (m, negative = retreat), with its
    uncertainty as the root sum of squares of the reported uncertainties."""
    need = {"wgms_id", "year", "front_variation_m"}
    if not need <= set(fv.columns):
        raise EconetError("front variation needs columns wgms_id, year, front_variation_m")
    out = fv.sort_values(["wgms_id", "year"]).copy()
    out["front_variation_m"] = pd.to_numeric(out["front_variation_m"], errors="coerce")
    out["cumulative_m"] = out.groupby("wgms_id")["front_variation_m"].transform(lambda s: s.fillna(0).cumsum())
    if "front_variation_unc_m" in out.columns:
        u = pd.to_numeric(out["front_variation_unc_m"], errors="coerce").fillna(0) ** 2
        out["cumulative_unc_m"] = np.sqrt(u.groupby(out["wgms_id"]).cumsum())
    return out


def state_changes(state: pd.DataFrame, variables: Sequence[str] = ("area_km2", "length_km")) -> pd.DataFrame:
    """Changes of area and/or length between successive surveys of each glacier, and first to last, with
    rates per year; uncertainties combine the two surveys' (``<var>_unc``) in quadrature."""
    rows = []
    for gid, g in state.sort_values(["wgms_id", "year"]).groupby("wgms_id"):
        for var in variables:
            if var not in g.columns:
                continue
            unc = var.replace("_km", "_unc_km")
            s = g[["year", var] + ([unc] if unc in g.columns else [])].dropna(subset=[var])
            recs = s.to_dict("records")
            pairs = list(zip(recs[:-1], recs[1:]))
            if len(recs) > 2:
                pairs.append((recs[0], recs[-1]))
            for a, b in pairs:
                dt = float(b["year"] - a["year"])
                d = float(b[var] - a[var])
                u = math.hypot(a.get(unc, 0) or 0, b.get(unc, 0) or 0) if unc in s.columns else np.nan
                rows.append({"wgms_id": gid, "name": g["name"].iloc[0] if "name" in g.columns else "",
                             "variable": var, "from_year": a["year"], "to_year": b["year"], "from_value": a[var],
                             "to_value": b[var], "change": d, "change_unc": u, "rate_per_yr": d / dt if dt else np.nan,
                             "rate_unc_per_yr": u / dt if dt else np.nan,
                             "change_pct": 100.0 * d / a[var] if a[var] else np.nan,
                             "period": "first-last" if (a is recs[0] and b is recs[-1] and len(recs) > 2) else "step"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ outlines
def _feret(geom) -> float:
    hull = np.asarray(geom.convex_hull.exterior.coords) if geom.convex_hull.geom_type == "Polygon" else \
        np.asarray(geom.convex_hull.coords)
    d = np.sqrt(((hull[:, None, :] - hull[None, :, :]) ** 2).sum(-1))
    return float(d.max())


def outline_metrics(outlines, *, id_column: str = "glacier_id", date_column: str = "date",
                    centerlines=None, position_unc_m: float = 15.0) -> pd.DataFrame:
    """Area, perimeter and length of each glacier outline at each date, in an equal-area CRS.

    Area uncertainty by the buffer method: perimeter x ``position_unc_m`` (the outline's positional
    uncertainty, e.g. half a pixel: 15 m for Landsat; Paul et al. 2013, Ann. Glaciol. 54(63)).
    Length: the length of the glacier's centerline (``centerlines``: GeoDataFrame with ``id_column``) inside
    the outline, else the largest extent of the outline (maximum Feret diameter, an approximation); its
    uncertainty is sqrt(2) x ``position_unc_m`` (two uncertain end points)."""
    from econet.geo.crs import equal_area_crs

    if outlines.crs is None:
        raise EconetError("outlines have no CRS")
    for c in (id_column, date_column):
        if c not in outlines.columns:
            raise EconetError(f"outlines need a '{c}' column", field=c)
    ea = equal_area_crs(tuple(outlines.to_crs(4326).total_bounds))
    g = outlines.to_crs(ea)
    dates = pd.to_datetime(g[date_column].astype(str), errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise EconetError(f"not a date: {g[date_column].iloc[i]!r}", row=i + 1, field=date_column)
    cl = None
    if centerlines is not None:
        cl = centerlines.to_crs(ea).dissolve(by=id_column).geometry
    rows = []
    for (gid, d), sub in g.assign(_d=dates).groupby([id_column, "_d"]):
        geom = sub.geometry.union_all() if hasattr(sub.geometry, "union_all") else sub.geometry.unary_union
        area = geom.area / 1e6
        per = geom.length / 1e3
        if cl is not None and gid in cl.index:
            length = cl.loc[gid].intersection(geom).length / 1e3
            how = "centerline"
        else:
            length = _feret(geom) / 1e3
            how = "feret"
        rows.append({"glacier_id": gid, "date": d, "year": d.year + (d.day_of_year - 1) / 365.25,
                     "area_km2": area, "perimeter_km": per, "area_unc_km2": per * position_unc_m / 1e3,
                     "length_km": length, "length_unc_km": math.sqrt(2) * position_unc_m / 1e3,
                     "length_method": how})
    return pd.DataFrame(rows)


def outline_changes(metrics: pd.DataFrame) -> pd.DataFrame:
    """Area and length change between successive outline dates of each glacier, and first to last, with
    rates per year and uncertainties (the two dates' uncertainties in quadrature)."""
    st = metrics.rename(columns={"glacier_id": "wgms_id", "area_unc_km2": "area_unc_km2",
                                 "length_unc_km": "length_unc_km"})
    return state_changes(st, ("area_km2", "length_km")).rename(columns={"wgms_id": "glacier_id"})


# ------------------------------------------------------------------------------------------------ volume
def va_volume(area_km2, c: float, gamma: float) -> np.ndarray:
    """Ice volume (km3) from area (km2) by volume-area scaling V = c A^gamma (Bahr et al. 1997)."""
    a = np.asarray(area_km2, float)
    if np.any(a < 0):
        raise EconetError("glacier area must be >= 0")
    return c * a ** gamma


def volume_estimates(area_km2, area_unc_km2=None, coefficients: Sequence[Mapping] = VA_COEFFICIENTS,
                     density: float = ICE_DENSITY) -> pd.DataFrame:
    """Volume and water equivalent for each area under every coefficient set: the first set is the central
    estimate; ``v_min``/``v_max`` span the published sets; ``v_area_unc`` propagates the area uncertainty
    (dV = c gamma A^(gamma-1) dA) with the central set; ``v_unc`` = half the coefficient span and the area
    term in quadrature. Water equivalent (km3 w.e. = Gt) = V x density / 1000."""
    a = np.atleast_1d(np.asarray(area_km2, float))
    ua = np.zeros_like(a) if area_unc_km2 is None else np.atleast_1d(np.asarray(area_unc_km2, float))
    vs = np.vstack([va_volume(a, k["c"], k["gamma"]) for k in coefficients])
    c0, g0 = coefficients[0]["c"], coefficients[0]["gamma"]
    v_area = c0 * g0 * np.where(a > 0, a, 0) ** (g0 - 1) * ua
    span = (vs.max(0) - vs.min(0)) / 2.0
    out = pd.DataFrame({"area_km2": a, "v_km3": vs[0], "v_min_km3": vs.min(0), "v_max_km3": vs.max(0),
                        "v_area_unc_km3": v_area, "v_unc_km3": np.hypot(span, v_area)})
    for k, v in zip(coefficients, vs):
        out[f"v_{k['name']}_km3"] = v
    f = density / WATER_DENSITY
    out["we_km3"] = out["v_km3"] * f
    out["we_min_km3"] = out["v_min_km3"] * f
    out["we_max_km3"] = out["v_max_km3"] * f
    out["we_unc_km3"] = out["v_unc_km3"] * f
    return out


def basin_volume_change(areas: pd.DataFrame, *, basin_column: str = "basin", id_column: str = "glacier_id",
                        coefficients: Sequence[Mapping] = VA_COEFFICIENTS,
                        density: float = ICE_DENSITY) -> pd.DataFrame:
    """Ice volume per basin and date, and its change from the first date, by volume-area scaling applied
    glacier by glacier (scaling is non-linear, so glaciers are never summed before scaling).

    ``areas``: columns basin, glacier_id, year (or date), area_km2, optional area_unc_km2. For each
    coefficient set the basin volume and change are computed; the central value is the first set, the
    range spans all sets (the change under each set, not differences of extremes), and the area term adds
    the glaciers' area uncertainties (independent between glaciers) in quadrature."""
    df = areas.copy()
    if basin_column not in df.columns:
        df[basin_column] = "all"
    if "year" not in df.columns:
        if "date" not in df.columns:
            raise EconetError("areas need a year or a date column", field="year")
        d = pd.to_datetime(df["date"])
        df["year"] = d.dt.year + (d.dt.day_of_year - 1) / 365.25
    ua = df["area_unc_km2"] if "area_unc_km2" in df.columns else pd.Series(0.0, index=df.index)
    f = density / WATER_DENSITY
    for k in coefficients:
        df[f"_v_{k['name']}"] = va_volume(df["area_km2"], k["c"], k["gamma"])
    c0, g0 = coefficients[0]["c"], coefficients[0]["gamma"]
    df["_dv_area"] = c0 * g0 * df["area_km2"].clip(lower=0) ** (g0 - 1) * ua.fillna(0)
    names = [f"_v_{k['name']}" for k in coefficients]
    rows = []
    for basin, g in df.groupby(basin_column):
        years = sorted(g["year"].unique())
        first = g[g["year"] == years[0]]
        v_first = first[names].sum()
        for y in years:
            gy = g[g["year"] == y]
            v = gy[names].sum()
            dv = v - v_first
            area_unc = math.sqrt(float((gy["_dv_area"] ** 2).sum()))
            change_area_unc = math.sqrt(area_unc ** 2 + float((first["_dv_area"] ** 2).sum())) if y != years[0] else 0.0
            span = (v.max() - v.min()) / 2
            dspan = (dv.max() - dv.min()) / 2
            rows.append({"basin": basin, "year": y, "n_glaciers": int(gy[id_column].nunique()) if id_column in gy else len(gy),
                         "area_km2": float(gy["area_km2"].sum()),
                         "v_km3": float(v.iloc[0]), "v_min_km3": float(v.min()), "v_max_km3": float(v.max()),
                         "v_unc_km3": math.hypot(span, area_unc),
                         "dv_km3": float(dv.iloc[0]), "dv_min_km3": float(dv.min()), "dv_max_km3": float(dv.max()),
                         "dv_unc_km3": math.hypot(dspan, change_area_unc),
                         "we_km3": float(v.iloc[0]) * f, "dwe_km3": float(dv.iloc[0]) * f,
                         "dwe_unc_km3": math.hypot(dspan, change_area_unc) * f})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ plots
def _savefig(fig, path):
    from econet.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")


def plot_cumulative(cum: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Cumulative mass balance (m w.e.) of every glacier against year, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6))
    for gid, g in cum.groupby("wgms_id"):
        g = g[~g["missing"]] if "missing" in g.columns else g
        label = f"{g['name'].iloc[0].title()} ({gid})" if "name" in g.columns and len(g) else str(gid)
        ax.plot(g["year"], g["cumulative_mwe"], marker=".", linewidth=1, label=label)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("year")
    ax.set_ylabel("cumulative mass balance (m w.e.)")
    ax.set_title(title or "Cumulative glacier-wide mass balance (WGMS)")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    _savefig(fig, path)
    plt.close(fig)
    return Path(path)


def plot_trends(mb: pd.DataFrame, summary: pd.DataFrame, path: str | Path, value: str = "annual_mb",
                max_panels: int = 12) -> Path:
    """Small multiples: annual balance (m w.e.) of each glacier with its least-squares and Theil-Sen lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = summary.sort_values("n_years", ascending=False)["wgms_id"].tolist()[:max_panels]
    n = max(len(ids), 1)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, gid in zip(axes.flat, ids):
        g = mb[mb["wgms_id"] == gid].dropna(subset=[value])
        s = summary[summary["wgms_id"] == gid].iloc[0]
        ax.bar(g["year"], g[value] / 1000.0, color=np.where(g[value] < 0, "#c0392b", "#2c7fb8"), width=0.8)
        xs = np.array([g["year"].min(), g["year"].max()], float)
        if np.isfinite(s["ols_slope_mwe_per_yr"]):
            lr = trend(g["year"], g[value] / 1000.0)
            ax.plot(xs, lr["ols_intercept"] + lr["ols_slope"] * xs, color="black", linewidth=1, label="OLS")
            ax.plot(xs, lr["ts_intercept"] + lr["ts_slope"] * xs, color="orange", linewidth=1.2,
                    linestyle="--", label="Theil-Sen")
        ax.set_title(f"{str(s['name']).title()}: {s['ts_slope_mwe_per_yr'] * 10:+.2f} m w.e./decade (TS)",
                     fontsize=8)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.supylabel("annual mass balance (m w.e.)")
    _savefig(fig, path)
    plt.close(fig)
    return Path(path)


def plot_basins(basin: pd.DataFrame, path: str | Path) -> Path:
    """Cumulative basin-mean mass balance (m w.e.) by basin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for b, g in basin.groupby("basin"):
        ax.plot(g["year"], g["cumulative_mwe"], marker=".", label=str(b))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("year")
    ax.set_ylabel("cumulative basin-mean mass balance (m w.e.)")
    ax.set_title("Cumulative mass balance per basin (area-weighted mean of measured glaciers)")
    ax.legend(fontsize=8)
    _savefig(fig, path)
    plt.close(fig)
    return Path(path)


def plot_outline_change(metrics: pd.DataFrame, volume: pd.DataFrame, path: str | Path) -> Path:
    """Two panels: each glacier's outline area by date with its uncertainty, and each basin's ice volume
    change in water equivalent with the range of the coefficient sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for gid, g in metrics.sort_values("year").groupby("glacier_id"):
        a1.errorbar(g["year"], g["area_km2"], yerr=g["area_unc_km2"], marker="o", capsize=3, label=str(gid))
    a1.set_xlabel("year")
    a1.set_ylabel("area (km2)")
    a1.set_title("Glacier area from outlines (buffer-method uncertainty)")
    if metrics["glacier_id"].nunique() <= 12:
        a1.legend(fontsize=7)
    f = ICE_DENSITY / WATER_DENSITY
    for b, g in volume.sort_values("year").groupby("basin"):
        line = a2.plot(g["year"], g["dwe_km3"], marker="o", label=str(b))[0]
        a2.fill_between(g["year"], g["dv_min_km3"] * f, g["dv_max_km3"] * f, color=line.get_color(), alpha=0.2)
    a2.axhline(0, color="black", linewidth=0.6)
    a2.set_xlabel("year")
    a2.set_ylabel("ice volume change (km3 w.e.)")
    a2.set_title("Volume change by area scaling (band: published c, gamma)")
    a2.legend(fontsize=7)
    _savefig(fig, path)
    plt.close(fig)
    return Path(path)
