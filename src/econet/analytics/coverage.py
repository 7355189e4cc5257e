"""Protected-area coverage per region, comparable across countries.

National designations are put on one scale with the crosswalk shipped in ``econet/data/designations.csv``
(English name, WDPA designation type, usual IUCN category, source per row), a PA's own reported IUCN
category, or a per-PA override. Coverage follows the Protected Planet method (UNEP-WCMC): proposed or
not-reported sites and UNESCO-MAB Biosphere Reserves are left out, and overlapping PAs are dissolved so
each square kilometre counts once. Where PAs of different categories overlap, the overlap goes to the
strictest category (Ia, I, Ib, II, III, IV, V, VI, then Not Reported / Not Assigned / Not Applicable),
so the per-category areas add up to the protected total. Transboundary complexes are groups of PAs
linked by gaps of at most a given distance that span more than one country.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from econet.errors import EconetError

#: Strictest first. "I" (a source that does not split Ia/Ib) sits between Ia and Ib.
IUCN_ORDER = ("Ia", "I", "Ib", "II", "III", "IV", "V", "VI", "Not Reported", "Not Assigned", "Not Applicable")
IUCN_RANK = {c: i for i, c in enumerate(IUCN_ORDER)}
CROSSWALK_COLUMNS = ("iso3", "designation", "designation_native", "designation_eng", "desig_type", "iucn_cat",
                     "aliases", "source", "notes")
EXCLUDED_BY_DEFAULT = ("UNESCO-MAB Biosphere Reserve",)
#: Pieces of a PA inside a region smaller than this (m2) are ignored: slivers left where PA and region
#: outlines follow the same border with rounding differences.
SLIVER_M2 = 1.0


def shipped_crosswalk() -> Path:
    """The designation crosswalk shipped with econet."""
    return Path(str(files("econet"))) / "data" / "designations.csv"


def normalize_iucn(value) -> str | None:
    """A WDPA IUCN_CAT value in its canonical spelling, or None when empty/unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip()
    if not s:
        return None
    s = re.sub(r"^(iucn\s*)?(category\s*)?", "", s, flags=re.I).strip()
    for c in IUCN_ORDER:
        if s.lower() == c.lower():
            return c
    return None


def _norm(text) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return re.sub(r"\s+", " ", str(text).strip().lower())


def load_crosswalk(path: str | Path | None = None) -> pd.DataFrame:
    """Read a designation crosswalk (the shipped one by default); checks columns and IUCN values."""
    path = Path(path) if path is not None else shipped_crosswalk()
    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        cw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas parser errors
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None
    missing = [c for c in ("iso3", "designation", "designation_eng", "desig_type", "iucn_cat") if c not in cw.columns]
    if missing:
        raise EconetError(f"missing column(s) {', '.join(missing)}", path=path, field=missing[0])
    for c in CROSSWALK_COLUMNS:
        if c not in cw.columns:
            cw[c] = ""
    for i, v in enumerate(cw["iucn_cat"], start=2):
        if normalize_iucn(v) is None:
            raise EconetError(f"not an IUCN category: {v!r} (use one of {', '.join(IUCN_ORDER)})", path=path,
                              row=i, field="iucn_cat")
    cw["iucn_cat"] = [normalize_iucn(v) for v in cw["iucn_cat"]]
    cw["iso3"] = cw["iso3"].str.strip().str.upper()
    return cw


def _keys(row) -> list[str]:
    keys = [_norm(row["designation"]), _norm(row["designation_eng"]), _norm(row.get("designation_native", ""))]
    keys += [_norm(a) for a in str(row.get("aliases", "")).split("|")]
    return [k for k in dict.fromkeys(keys) if k]


def match_designation(designation, iso3, crosswalk: pd.DataFrame) -> pd.Series | None:
    """The crosswalk row for a PA's designation in its country (or an international row), else None.

    An exact key (designation, English or native name, alias) wins; otherwise the longest key found
    as a whole phrase inside the designation (so "zapovednik (state nature biosphere reserve)" finds
    "zapovednik"). Country-specific rows are tried before rows for ALL countries.
    """
    d = _norm(designation)
    if not d:
        return None
    iso = {s.strip().upper() for s in re.split(r"[;,]", str(iso3 or "")) if s.strip()}
    best = None
    for scope in ("country", "all"):
        rows = crosswalk[crosswalk["iso3"].isin(iso)] if scope == "country" else \
            crosswalk[crosswalk["iso3"] == "ALL"]
        for _, row in rows.iterrows():
            for k in _keys(row):
                if k == d:
                    return row
                if re.search(r"(^|[^\w])" + re.escape(k) + r"($|[^\w])", d):
                    if best is None or len(k) > best[0]:
                        best = (len(k), row)
        if best is not None:
            return best[1]
    return None


def classify(pas: gpd.GeoDataFrame, *, designation_field: str | None, country_field: str | None,
             iucn_field: str | None = None, id_field: str | None = None, crosswalk: pd.DataFrame | None = None,
             overrides: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Add comparable columns to a PA layer: desig_eng, desig_type, iucn_cat, iucn_source, crosswalk_source.

    Precedence for the IUCN category: a per-PA override (table with the id column and iucn_cat and/or
    desig_eng / desig_type), then the category the layer itself reports (e.g. WDPA IUCN_CAT, when it is a
    real category Ia-VI), then the crosswalk's usual category for the designation, else "Not Reported".
    """
    cw = crosswalk if crosswalk is not None else load_crosswalk()
    out = pas.copy()
    n = len(out)
    desig = out[designation_field] if designation_field else pd.Series([None] * n, index=out.index)
    iso = out[country_field] if country_field else pd.Series([None] * n, index=out.index)
    reported = out[iucn_field].map(normalize_iucn) if iucn_field and iucn_field in out.columns else \
        pd.Series([None] * n, index=out.index)
    eng, dtype, cat, how, src = [], [], [], [], []
    for d, c, rep in zip(desig, iso, reported):
        row = match_designation(d, c, cw)
        if rep is not None and rep in IUCN_ORDER[:8]:
            cat.append(rep)
            how.append("layer")
        elif row is not None:
            cat.append(row["iucn_cat"])
            how.append("crosswalk")
        else:
            cat.append(rep or "Not Reported")
            how.append("layer" if rep else "none")
        if row is not None:
            eng.append(row["designation_eng"])
            dtype.append(row["desig_type"])
            src.append(row["source"])
        else:
            eng.append(None if d is None or (isinstance(d, float) and np.isnan(d)) else str(d))
            dtype.append("Not Reported")
            src.append("")
    # keep the layer's own values beside ours under another name (GeoPackage field names ignore case, so
    # WDPA's DESIG_ENG / IUCN_CAT would clash with desig_eng / iucn_cat)
    added = ("desig_eng", "desig_type", "iucn_cat", "iucn_source", "crosswalk_source")
    out = out.rename(columns={c: f"{c}_reported" for c in out.columns if str(c).lower() in added})
    out["desig_eng"] = eng
    out["desig_type"] = dtype
    out["iucn_cat"] = cat
    out["iucn_source"] = how
    out["crosswalk_source"] = src
    if overrides is not None and len(overrides):
        if id_field is None or id_field not in out.columns:
            raise EconetError("per-PA overrides need the PA id field", field=id_field)
        key = overrides.columns[0] if id_field not in overrides.columns else id_field
        ov = overrides.set_index(overrides[key].astype(str))
        ids = out[id_field].astype(str)
        unknown = sorted(set(ov.index) - set(ids))
        if unknown:
            raise EconetError(f"override for unknown PA id(s): {', '.join(unknown[:10])}", field=key)
        for col in ("iucn_cat", "desig_eng", "desig_type"):
            if col not in ov.columns:
                continue
            for pid, v in ov[col].items():
                if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
                    continue
                if col == "iucn_cat":
                    v2 = normalize_iucn(v)
                    if v2 is None:
                        raise EconetError(f"override for {pid}: not an IUCN category {v!r}", field="iucn_cat")
                    v = v2
                    out.loc[ids == pid, "iucn_source"] = "override"
                out.loc[ids == pid, col] = v
    return out


# --------------------------------------------------------------------------------------------- coverage
@dataclass
class Coverage:
    """Coverage tables and the dissolved geometry behind them."""

    regions: pd.DataFrame                 # one row per region: area, protected area and share
    by_iucn: pd.DataFrame                 # region x IUCN category (exclusive areas, sum = protected)
    by_designation: pd.DataFrame          # region x designation (exclusive and gross areas)
    protected: gpd.GeoDataFrame           # dissolved protected land per region and category
    pas: gpd.GeoDataFrame                 # the PAs used, classified, with their region(s)
    excluded: pd.DataFrame                # PAs left out and why
    notes: list[str] = field(default_factory=list)


def _union(geoms) -> shapely.Geometry:
    g = [x for x in geoms if x is not None and not x.is_empty]
    if not g:
        return shapely.Polygon()
    return shapely.union_all(np.asarray(g, dtype=object))


def coverage(pas: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, *, region_id: str, region_name: str | None = None,
             pa_id: str = "id", pa_name: str | None = None, include_international: bool = False,
             progress: Callable[..., None] | None = None) -> Coverage:
    """Area and share protected per region, by IUCN category and by designation, overlaps counted once.

    Both layers must be in the same projected, equal-area CRS (see econet.geo.protected_areas) and `pas`
    must be classified (:func:`classify`). UNESCO-MAB Biosphere Reserves are left out unless
    `include_international`; other international sites count like national ones (dissolved).
    """
    if pas.crs is None or regions.crs is None or pas.crs != regions.crs:
        raise EconetError("protected areas and regions must share one projected CRS")
    if pas.crs.is_geographic:
        raise EconetError("areas need a projected (equal-area) CRS, not lon/lat")
    for col in ("iucn_cat", "desig_eng", "desig_type"):
        if col not in pas.columns:
            raise EconetError(f"protected areas are not classified (no column '{col}'); run classify() first")
    if region_id not in regions.columns:
        raise EconetError(f"no field '{region_id}' in the regions layer", field=region_id)
    notes: list[str] = []
    keep = np.ones(len(pas), dtype=bool)
    excluded = []
    if not include_international:
        bio = pas["desig_eng"].isin(EXCLUDED_BY_DEFAULT).to_numpy()
        for _, r in pas[bio].iterrows():
            excluded.append({"pa_id": r[pa_id], "name": r[pa_name] if pa_name else None,
                             "reason": "UNESCO-MAB Biosphere Reserve (not counted, as on Protected Planet)"})
        keep &= ~bio
        if bio.any():
            notes.append(f"{int(bio.sum())} UNESCO-MAB Biosphere Reserve(s) left out of coverage")
    used = pas[keep].copy()
    used["_rank"] = used["iucn_cat"].map(IUCN_RANK).fillna(len(IUCN_ORDER)).astype(int)
    geoms = np.asarray(used.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms) if len(geoms) else None

    region_rows, iucn_rows, desig_rows, protected_rows = [], [], [], []
    pa_regions: dict[int, list[str]] = {}
    total = len(regions)
    for k, (_, reg) in enumerate(regions.iterrows()):
        if progress:
            progress(k, total, "coverage per region")
        rgeom = reg.geometry
        rid = reg[region_id]
        rname = reg[region_name] if region_name and region_name in regions.columns else rid
        rarea = float(rgeom.area) / 1e6 if rgeom is not None else 0.0
        idx = tree.query(rgeom, predicate="intersects") if tree is not None and rgeom is not None else []
        sub = used.iloc[np.sort(np.asarray(idx, dtype=int))] if len(idx) else used.iloc[0:0]
        clipped = {i: shapely.intersection(g, rgeom) for i, g in zip(sub.index, sub.geometry)}
        # touching the boundary is not inside; slivers under SLIVER_M2 are artefacts of shared borders
        clipped = {i: g for i, g in clipped.items() if g.area > SLIVER_M2}
        sub = sub.loc[list(clipped)]
        for i in sub.index:
            pa_regions.setdefault(i, []).append(str(rid))
        stricter = shapely.Polygon()
        cat_area: dict[str, float] = {}
        for cat, grp in sorted(sub.groupby("iucn_cat"), key=lambda kv: IUCN_RANK.get(kv[0], 99)):
            u = _union([clipped[i] for i in grp.index])
            own = shapely.difference(u, stricter) if not stricter.is_empty else u
            a = float(own.area) / 1e6
            if a > 0:
                cat_area[cat] = a
                protected_rows.append({"region_id": rid, "region": rname, "iucn_cat": cat, "area_km2": a,
                                       "geometry": own})
            stricter = shapely.union(stricter, u)
        prot = float(stricter.area) / 1e6
        region_rows.append({"region_id": rid, "region": rname, "area_km2": rarea, "protected_km2": prot,
                            "protected_pct": 100.0 * prot / rarea if rarea > 0 else np.nan,
                            "n_pas": int(len(sub)),
                            "strict_ia_to_ii_km2": sum(v for c, v in cat_area.items() if IUCN_RANK[c] <= 3)})
        for cat in IUCN_ORDER:
            if cat in cat_area:
                iucn_rows.append({"region_id": rid, "region": rname, "iucn_cat": cat, "area_km2": cat_area[cat],
                                  "pct_of_region": 100.0 * cat_area[cat] / rarea if rarea > 0 else np.nan,
                                  "pct_of_protected": 100.0 * cat_area[cat] / prot if prot > 0 else np.nan,
                                  "n_pas": int((sub["iucn_cat"] == cat).sum())})
        # Designations: exclusive areas in the order of their strictest member, then by name.
        if len(sub):
            d = sub.assign(_d=sub["desig_eng"].fillna("(no designation)"))
            order = d.groupby("_d")["_rank"].min().sort_values(kind="stable")
            order = sorted(order.index, key=lambda x: (order[x], d.loc[d["_d"] == x, "desig_type"].iloc[0] != "National", x))
            taken = shapely.Polygon()
            for name in order:
                grp = d[d["_d"] == name]
                u = _union([clipped[i] for i in grp.index])
                own = shapely.difference(u, taken) if not taken.is_empty else u
                taken = shapely.union(taken, u)
                desig_rows.append({"region_id": rid, "region": rname, "designation": name,
                                   "desig_type": grp["desig_type"].iloc[0],
                                   "iucn_cats": ", ".join(sorted(set(grp["iucn_cat"]), key=lambda c: IUCN_RANK.get(c, 99))),
                                   "n_pas": int(len(grp)), "area_km2": float(own.area) / 1e6,
                                   "gross_area_km2": float(u.area) / 1e6,
                                   "pct_of_region": 100.0 * float(own.area) / 1e6 / rarea if rarea > 0 else np.nan})
    if progress:
        progress(total, total, "coverage per region")
    used = used.drop(columns="_rank")
    used["regions"] = [";".join(pa_regions.get(i, [])) for i in used.index]
    protected = gpd.GeoDataFrame(protected_rows, geometry="geometry", crs=pas.crs) if protected_rows else \
        gpd.GeoDataFrame({"region_id": [], "region": [], "iucn_cat": [], "area_km2": []}, geometry=[], crs=pas.crs)
    return Coverage(regions=pd.DataFrame(region_rows),
                    by_iucn=pd.DataFrame(iucn_rows, columns=["region_id", "region", "iucn_cat", "area_km2",
                                                             "pct_of_region", "pct_of_protected", "n_pas"]),
                    by_designation=pd.DataFrame(desig_rows, columns=["region_id", "region", "designation",
                                                                     "desig_type", "iucn_cats", "n_pas", "area_km2",
                                                                     "gross_area_km2", "pct_of_region"]),
                    protected=protected, pas=used,
                    excluded=pd.DataFrame(excluded, columns=["pa_id", "name", "reason"]), notes=notes)


def assign_country(pas: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, region_id: str) -> pd.Series:
    """The region holding the largest part of each PA (used as its country when the layer has none)."""
    out = []
    for g in pas.geometry:
        inter = regions.geometry.intersection(g).area
        out.append(str(regions[region_id].iloc[int(np.argmax(inter.to_numpy()))]) if len(inter) and inter.max() > 0
                   else None)
    return pd.Series(out, index=pas.index)


# --------------------------------------------------------------------------------------------- complexes
def transboundary_complexes(pas: gpd.GeoDataFrame, *, country: str | pd.Series, distance_m: float,
                            pa_id: str = "id", pa_name: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transboundary complexes: PAs joined when their boundaries are at most `distance_m` apart, kept
    when the joined group spans two or more countries.

    Returns (complexes, pairs): one row per complex (its PAs, countries, area, the smallest gap across
    a border) and one row per cross-border pair within the distance (gap 0 = touching or overlapping).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not distance_m >= 0:
        raise EconetError(f"distance must be zero or positive, got {distance_m}", field="distance")
    ctry = pas[country] if isinstance(country, str) else country
    ctry = ctry.reindex(pas.index).fillna("").astype(str).to_numpy()
    geoms = np.asarray(pas.geometry.values, dtype=object)
    n = len(geoms)
    pair_cols = ["pa_id_a", "name_a", "country_a", "pa_id_b", "name_b", "country_b", "gap_km"]
    cplx_cols = ["complex_id", "countries", "n_pas", "pa_ids", "names", "area_km2", "min_cross_border_gap_km"]
    if n == 0:
        return pd.DataFrame(columns=cplx_cols), pd.DataFrame(columns=pair_cols)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=distance_m)
    m = left < right
    left, right = left[m], right[m]
    gaps = shapely.distance(geoms[left], geoms[right]) if len(left) else np.array([])
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    ncomp, labels = connected_components(graph, directed=False)
    ids = pas[pa_id].to_numpy()
    names = pas[pa_name].to_numpy() if pa_name else ids
    pairs = []
    for a, b, g in zip(left, right, gaps):
        if _countries(ctry[a]).isdisjoint(_countries(ctry[b])):
            pairs.append({"pa_id_a": ids[a], "name_a": names[a], "country_a": ctry[a], "pa_id_b": ids[b],
                          "name_b": names[b], "country_b": ctry[b], "gap_km": float(g) / 1000.0})
    pairs_df = pd.DataFrame(pairs, columns=pair_cols)
    rows = []
    for c in range(ncomp):
        members = np.flatnonzero(labels == c)
        countries = set().union(*[_countries(ctry[i]) for i in members])
        if len(members) < 2 or len(countries) < 2:
            continue
        cross = pairs_df[pairs_df["pa_id_a"].isin(ids[members])]
        rows.append({"countries": ";".join(sorted(countries)), "n_pas": int(len(members)),
                     "pa_ids": ";".join(map(str, ids[members])), "names": "; ".join(map(str, names[members])),
                     "area_km2": float(_union(geoms[members]).area) / 1e6,
                     "min_cross_border_gap_km": float(cross["gap_km"].min()) if len(cross) else np.nan,
                     "_members": members})
    rows.sort(key=lambda r: -r["area_km2"])
    for k, r in enumerate(rows, start=1):
        r["complex_id"] = k
    cx = pd.DataFrame(rows, columns=cplx_cols + ["_members"])
    return cx, pairs_df


def _countries(value: str) -> set[str]:
    return {s.strip() for s in re.split(r"[;,]", value) if s.strip()}


def complex_geometries(pas: gpd.GeoDataFrame, complexes: pd.DataFrame) -> gpd.GeoDataFrame:
    """One dissolved polygon per complex (for maps and the GeoPackage)."""
    geoms = np.asarray(pas.geometry.values, dtype=object)
    shapes = [_union(geoms[m]) for m in complexes.get("_members", [])]
    out = complexes.drop(columns=[c for c in ("_members",) if c in complexes.columns]).copy()
    return gpd.GeoDataFrame(out, geometry=shapes, crs=pas.crs)


# --------------------------------------------------------------------------------------------- chart
IUCN_COLOURS = {"Ia": "#00441b", "I": "#005a32", "Ib": "#006d2c", "II": "#238b45", "III": "#41ab5d",
                "IV": "#74c476", "V": "#a1d99b", "VI": "#c7e9c0", "Not Reported": "#bdbdbd",
                "Not Assigned": "#d9d9d9", "Not Applicable": "#f0f0f0"}


def plot_coverage(cov: Coverage, path: str | Path, *, title: str = "Protected-area coverage by IUCN category") -> Path:
    """Stacked horizontal bars: share of each region protected, by IUCN category (overlaps counted once)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regs = cov.regions.sort_values("protected_pct", na_position="first")
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(regs), 3) + 1.5))
    left = np.zeros(len(regs))
    pos = np.arange(len(regs))
    for cat in IUCN_ORDER:
        sub = cov.by_iucn[cov.by_iucn["iucn_cat"] == cat].set_index("region_id")["pct_of_region"]
        vals = np.array([float(sub.get(r, 0.0)) for r in regs["region_id"]])
        if vals.sum() <= 0:
            continue
        ax.barh(pos, vals, left=left, color=IUCN_COLOURS[cat], edgecolor="white", linewidth=0.5, label=cat)
        left += vals
    for y, v in zip(pos, left):
        ax.text(v + 0.3, y, f"{v:.1f} %", va="center", fontsize=8)
    ax.set_yticks(pos)
    ax.set_yticklabels([str(r) for r in regs["region"]])
    ax.set_xlabel("share of region protected (%), overlaps counted once (strictest category wins)")
    ax.set_xlim(0, max(10.0, float(left.max()) * 1.15 if len(left) else 10.0))
    ax.set_title(title)
    ax.legend(title="IUCN", fontsize=7, title_fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)
