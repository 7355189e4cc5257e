"""Ecosystem services following InVEST's published model definitions (Sharp et al., InVEST User's Guide).

Carbon storage (InVEST "Carbon Storage and Sequestration"): each land-cover class carries four pool
densities in Mg C/ha (c_above, c_below, c_soil, c_dead); a cell stores the sum of its class's pools; a zone
stores the sum over its cells of density x cell area (ha). Change between two land-cover maps is the
future minus the current storage (positive = sequestration). Unlike InVEST, an empty pool is allowed and
reported as *not counted* for that class (never filled in), so totals are lower bounds where it happens.

Annual water yield (InVEST "Annual Water Yield", Budyko curve of Fu 1981 / Zhang et al. 2004):
  PET = Kc * ET0;  AWC = min(root-restricting layer depth, root depth) * PAWC;
  omega = Z * AWC / P + 1.25, capped at 5;
  vegetated classes: AET/P = min(PET/P, 1 + PET/P - (1 + (PET/P)**omega)**(1/omega));
  other classes (lulc_veg = 0: water, urban, wetland, ...): AET = min(Kc * ET0, P);
  Y = (1 - AET/P) * P  (mm);  per watershed: means over its cells and volume = mean Y (mm) * area (m2) / 1000
  in m3, with the area of the watershed polygon, as InVEST computes wyield_vol. Cells with P = 0 or
  missing input are left out, as in InVEST.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from econet.errors import EconetError
from econet.geo.raster import Raster

POOLS = ("c_above", "c_below", "c_soil", "c_dead")
POOL_NAMES = {"c_above": "above-ground biomass", "c_below": "below-ground biomass", "c_soil": "soil organic",
              "c_dead": "dead organic matter"}


def shipped_carbon_table() -> Path:
    """Default carbon pools per MODIS IGBP class shipped with econet (see econet/data/SOURCE.md)."""
    return Path(str(files("econet"))) / "data" / "carbon_pools_igbp.csv"


# --------------------------------------------------------------------------------------------- tables
def load_carbon_table(path: str | Path | None = None) -> pd.DataFrame:
    """Carbon pools table in InVEST's layout (lucode, c_above, c_below, c_soil, c_dead in Mg C/ha).

    Empty cells stay NaN (= pool not counted for that class). Extra columns (names, sources) are kept.
    """
    path = Path(path) if path is not None else shipped_carbon_table()
    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None
    t.columns = [c.strip().lower() for c in t.columns]
    missing = [c for c in ("lucode",) + POOLS if c not in t.columns]
    if missing:
        raise EconetError(f"missing column(s) {', '.join(missing)} (InVEST carbon table layout)", path=path,
                          field=missing[0])
    codes = []
    for i, v in enumerate(t["lucode"], start=2):
        try:
            f = float(v)
            if not f.is_integer():
                raise ValueError
            codes.append(int(f))
        except ValueError:
            raise EconetError(f"not an integer class code: {v!r}", path=path, row=i, field="lucode") from None
    t["lucode"] = codes
    dup = t["lucode"][t["lucode"].duplicated()]
    if len(dup):
        raise EconetError(f"class {int(dup.iloc[0])} listed twice", path=path, field="lucode")
    for pool in POOLS:
        vals = []
        for i, v in enumerate(t[pool], start=2):
            s = str(v).strip()
            if s == "":
                vals.append(np.nan)
                continue
            try:
                x = float(s)
            except ValueError:
                raise EconetError(f"not a number: {s!r}", path=path, row=i, field=pool) from None
            if not (math.isfinite(x) and x >= 0):
                raise EconetError(f"carbon density must be zero or positive, got {x}", path=path, row=i, field=pool)
            vals.append(x)
        t[pool] = vals
    if "lulc_name" not in t.columns:
        t["lulc_name"] = [str(c) for c in t["lucode"]]
    return t.set_index("lucode", drop=False)


def counted_by_pool(table: pd.DataFrame, area_ha: dict[int, float] | None = None) -> pd.DataFrame:
    """Per pool, the classes with a value (counted) and without one (not counted), so a report can say which
    classes each pool covers. With `area_ha` (class -> hectares) only those classes are listed, with their areas."""
    codes = [int(c) for c in table.index] if area_ha is None else [int(c) for c in area_ha]
    total = sum(area_ha.values()) if area_ha is not None else None
    def names(cs):
        return "; ".join(f"{table.loc[c].get('lulc_name', str(c))} ({c})" for c in cs)

    rows = []
    for p in POOLS:
        yes = [c for c in codes if not np.isnan(table.loc[c, p])]
        no = [c for c in codes if np.isnan(table.loc[c, p])]
        row = {"pool": p, "pool_name": POOL_NAMES[p], "classes_counted": names(yes),
               "classes_not_counted": names(no), "n_counted": len(yes), "n_not_counted": len(no)}
        if area_ha is not None:
            row["area_counted_ha"] = float(sum(area_ha[c] for c in yes))
            row["area_not_counted_ha"] = float(sum(area_ha[c] for c in no))
            row["pct_area_counted"] = 100.0 * row["area_counted_ha"] / total if total else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def not_counted(table: pd.DataFrame) -> pd.DataFrame:
    """Per class, the pools without a value (reported, not guessed): lucode, lulc_name, pools_not_counted."""
    rows = []
    for code, r in table.iterrows():
        miss = [p for p in POOLS if np.isnan(r[p])]
        rows.append({"lucode": int(code), "lulc_name": r.get("lulc_name", str(code)),
                     "pools_counted": ";".join(p for p in POOLS if p not in miss),
                     "pools_not_counted": ";".join(miss)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------- geometry helpers
def cell_area_ha(grid: Raster) -> np.ndarray:
    """Cell areas in hectares, shaped to broadcast over the grid (rows x 1).

    Projected grids: |a*e| / 1e4 (use an equal-area CRS for true areas). Lon/lat grids: each row's cell is
    measured on the WGS84 ellipsoid, so MODIS or other geographic rasters can be used as they are.
    """
    rows, cols = grid.shape
    if grid.crs is not None and grid.crs.is_geographic:
        from pyproj import Geod
        geod = Geod(ellps="WGS84")
        t = grid.transform
        out = np.empty((rows, 1))
        for r in range(rows):
            y0 = t.f + r * t.e
            y1 = y0 + t.e
            x0, x1 = t.c, t.c + t.a
            a, _ = geod.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
            out[r, 0] = abs(a) / 1e4
        return out
    return np.full((rows, 1), abs(grid.transform.a * grid.transform.e - grid.transform.b * grid.transform.d) / 1e4)


def zone_masks(zones, like: Raster, all_touched: bool = False):
    """Yield (position, row slice, col slice, mask) for each polygon of `zones` on `like`'s grid.

    Works polygon by polygon on its own window, so overlapping zones (PAs inside a corridor) each get
    all their cells. A polygon takes the cells whose centre it covers.
    """
    import geopandas as gpd
    from affine import Affine
    from rasterio import features

    if isinstance(zones, gpd.GeoDataFrame) and zones.crs is not None and like.crs is not None:
        from pyproj import CRS
        if CRS.from_user_input(zones.crs) != CRS.from_user_input(like.crs.to_wkt()):
            zones = zones.to_crs(like.crs.to_wkt())
    geoms = zones.geometry if hasattr(zones, "geometry") else zones
    rows, cols = like.shape
    for k, g in enumerate(geoms):
        if g is None or g.is_empty:
            yield k, slice(0, 0), slice(0, 0), np.zeros((0, 0), dtype=bool)
            continue
        x0, y0, x1, y1 = g.bounds
        inv = ~like.transform
        cs_, rs_ = zip(*(inv @ (x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))))
        r0 = max(int(math.floor(min(rs_))) - 1, 0)
        c0 = max(int(math.floor(min(cs_))) - 1, 0)
        r1 = min(int(math.ceil(max(rs_))) + 1, rows)
        c1 = min(int(math.ceil(max(cs_))) + 1, cols)
        if r1 <= r0 or c1 <= c0:
            yield k, slice(0, 0), slice(0, 0), np.zeros((0, 0), dtype=bool)
            continue
        wt = like.transform @ Affine.translation(c0, r0)
        mask = features.geometry_mask([g], out_shape=(r1 - r0, c1 - c0), transform=wt,
                                      invert=True, all_touched=all_touched)
        yield k, slice(r0, r1), slice(c0, c1), mask


# --------------------------------------------------------------------------------------------- carbon
@dataclass
class CarbonResult:
    """Per-cell densities (Mg C/ha) and the tables a report needs."""

    density: dict[str, np.ndarray]          # pool -> Mg C/ha (NaN outside data; 0 where not counted)
    total_density: np.ndarray               # Mg C/ha, sum of counted pools
    cell_ha: np.ndarray                     # hectares per cell (rows x 1)
    by_class: pd.DataFrame                  # per class: area, pools, totals, what is not counted
    not_counted_classes: pd.DataFrame       # classes present with a pool not counted
    notes: list[str] = field(default_factory=list)
    by_pool: pd.DataFrame = field(default_factory=pd.DataFrame)   # per pool: classes counted / not counted

    @property
    def total_mg(self) -> float:
        return float(np.nansum(self.total_density * self.cell_ha))


def carbon_storage(lulc: Raster, table: pd.DataFrame, *, ignore_codes: tuple[int, ...] = ()) -> CarbonResult:
    """Carbon stored per cell and per class for a land-cover map (InVEST Carbon, current scenario).

    Every class on the map must be in the table (as in InVEST); cells whose class is in `ignore_codes`
    or nodata are left out (NaN).
    """
    lc = lulc.data
    valid = np.isfinite(lc)
    codes = np.unique(lc[valid]).astype(np.int64) if valid.any() else np.array([], dtype=np.int64)
    codes = np.array([c for c in codes if c not in set(ignore_codes)], dtype=np.int64)
    missing = [int(c) for c in codes if int(c) not in table.index]
    if missing:
        raise EconetError(f"land-cover class(es) {', '.join(map(str, missing))} on the map are not in the carbon "
                          "table (add them, with 0 where a pool is truly absent)", field="lucode")
    lut_idx = {int(c): i for i, c in enumerate(codes)}
    idx = np.full(lc.shape, -1, dtype=np.int64)
    for c, i in lut_idx.items():
        idx[valid & (lc == c)] = i
    cell_ha = cell_area_ha(lulc)
    density = {}
    for pool in POOLS:
        vals = np.array([table.loc[int(c), pool] for c in codes], dtype=float)
        counted = np.where(np.isnan(vals), 0.0, vals)
        d = np.full(lc.shape, np.nan)
        ok = idx >= 0
        d[ok] = counted[idx[ok]]
        density[pool] = d
    total = sum(density[p] for p in POOLS)
    area = np.array([float(np.sum(np.where(idx == i, 1.0, 0.0) * cell_ha)) for i in range(len(codes))])
    rows, nc_rows = [], []
    for i, c in enumerate(codes):
        r = table.loc[int(c)]
        miss = [p for p in POOLS if np.isnan(r[p])]
        row = {"lucode": int(c), "lulc_name": r.get("lulc_name", str(c)), "area_ha": area[i]}
        for p in POOLS:
            row[f"{p}_mg_ha"] = None if np.isnan(r[p]) else float(r[p])
        row["density_counted_mg_ha"] = float(sum(0.0 if np.isnan(r[p]) else r[p] for p in POOLS))
        row["total_mg"] = row["density_counted_mg_ha"] * area[i]
        row["pools_not_counted"] = ";".join(miss)
        rows.append(row)
        if miss:
            nc_rows.append({"lucode": int(c), "lulc_name": row["lulc_name"], "area_ha": area[i],
                            "pools_not_counted": ";".join(miss)})
    by_class = pd.DataFrame(rows)
    ncc = pd.DataFrame(nc_rows, columns=["lucode", "lulc_name", "area_ha", "pools_not_counted"])
    notes = []
    if len(ncc):
        share = 100.0 * ncc["area_ha"].sum() / max(area.sum(), 1e-12)
        notes.append(f"{len(ncc)} land-cover class(es) covering {share:.1f} % of the mapped area have pools "
                     "without a sourced value; those pools are not counted, so totals are lower bounds")
    by_pool = counted_by_pool(table, {int(c): float(area[i]) for i, c in enumerate(codes)})
    for _, r in by_pool.iterrows():
        if r["n_not_counted"]:
            counted = r["classes_counted"] or "no class"
            notes.append(f"{r['pool']} ({r['pool_name']}): counted for {counted} "
                         f"({r['pct_area_counted']:.1f} % of the mapped area); not counted for "
                         f"{r['classes_not_counted']}")
    return CarbonResult(density=density, total_density=total, cell_ha=cell_ha, by_class=by_class,
                        not_counted_classes=ncc, notes=notes, by_pool=by_pool)


def carbon_by_zone(result: CarbonResult, lulc: Raster, zones, *, zone_id: str | None = None,
                   names: list | None = None, progress: Callable[..., None] | None = None) -> pd.DataFrame:
    """Totals (Mg C) and densities (Mg C/ha) per polygon (PA, region, corridor), with the pools not counted.

    Polygons may overlap; each is summed on its own. density = total / area of the cells with data.
    """
    ids = list(zones[zone_id]) if zone_id else list(range(1, len(zones) + 1))
    lc = lulc.data
    rows = []
    n = len(zones)
    for k, rs, cs, mask in zone_masks(zones, lulc):
        if progress:
            progress(k, n, "carbon per zone")
        row = {"zone_id": ids[k]}
        if names is not None:
            row["name"] = names[k]
        if mask.size == 0 or not mask.any():
            row.update({"area_ha": 0.0, "mapped_ha": 0.0, "total_mg": 0.0, "density_mg_ha": np.nan,
                        **{f"{p}_mg": 0.0 for p in POOLS}, "not_counted": "", "not_counted_ha": 0.0})
            rows.append(row)
            continue
        ha = np.broadcast_to(result.cell_ha[rs], mask.shape)
        sub_lc = lc[rs, cs]
        data = mask & np.isfinite(result.total_density[rs, cs])
        row["area_ha"] = float(ha[mask].sum())
        row["mapped_ha"] = float(ha[data].sum())
        for p in POOLS:
            row[f"{p}_mg"] = float(np.nansum(result.density[p][rs, cs][data] * ha[data]))
        row["total_mg"] = float(sum(row[f"{p}_mg"] for p in POOLS))
        row["density_mg_ha"] = row["total_mg"] / row["mapped_ha"] if row["mapped_ha"] > 0 else np.nan
        parts, nc_ha = [], 0.0
        for _, r in result.not_counted_classes.iterrows():
            sel = data & (sub_lc == r["lucode"])
            if sel.any():
                a = float(ha[sel].sum())
                nc_ha += a
                parts.append(f"{r['lulc_name']} ({r['lucode']}): {r['pools_not_counted'].replace(';', ',')} "
                             f"on {a:.0f} ha")
        row["not_counted"] = "; ".join(parts)
        row["not_counted_ha"] = nc_ha
        rows.append(row)
    if progress:
        progress(n, n, "carbon per zone")
    return pd.DataFrame(rows)


def carbon_change(current: Raster, future: Raster, table: pd.DataFrame) -> tuple[CarbonResult, CarbonResult, np.ndarray]:
    """Storage on two land-cover maps of one grid and the per-cell change (Mg C/ha, future - current)."""
    if not current.same_grid(future):
        raise EconetError("the two land-cover maps must share one grid (same shape, cell size and origin)")
    cur = carbon_storage(current, table)
    fut = carbon_storage(future, table)
    return cur, fut, fut.total_density - cur.total_density


def change_by_zone(cur: CarbonResult, fut: CarbonResult, current: Raster, future: Raster, zones, *,
                   zone_id: str | None = None, names: list | None = None) -> pd.DataFrame:
    """Per polygon: current and future totals and the change (Mg C), with what is not counted in each."""
    a = carbon_by_zone(cur, current, zones, zone_id=zone_id, names=names)
    b = carbon_by_zone(fut, future, zones, zone_id=zone_id, names=names)
    keep = ["zone_id"] + (["name"] if names is not None else []) + ["area_ha"]
    out = a[keep].copy()
    out["total_cur_mg"] = a["total_mg"]
    out["total_fut_mg"] = b["total_mg"]
    out["change_mg"] = b["total_mg"] - a["total_mg"]
    out["change_pct"] = np.where(a["total_mg"] > 0, 100.0 * out["change_mg"] / a["total_mg"].where(a["total_mg"] > 0),
                                 np.nan)
    out["not_counted_cur"] = a["not_counted"]
    out["not_counted_fut"] = b["not_counted"]
    return out


# --------------------------------------------------------------------------------------------- water yield
def load_biophysical_table(path: str | Path) -> pd.DataFrame:
    """InVEST Annual Water Yield biophysical table: lucode, kc, root_depth (mm), lulc_veg (1/0)."""
    path = Path(path)
    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        t = pd.read_csv(path)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None
    t.columns = [str(c).strip().lower() for c in t.columns]
    missing = [c for c in ("lucode", "kc", "root_depth", "lulc_veg") if c not in t.columns]
    if missing:
        raise EconetError(f"missing column(s) {', '.join(missing)} (InVEST biophysical table)", path=path,
                          field=missing[0])
    for col in ("lucode", "kc", "lulc_veg"):
        bad = pd.to_numeric(t[col], errors="coerce").isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise EconetError(f"not a number: {t[col].iloc[i]!r}", path=path, row=i + 2, field=col)
    t["lucode"] = t["lucode"].astype(int)
    if t["lucode"].duplicated().any():
        raise EconetError(f"class {int(t['lucode'][t['lucode'].duplicated()].iloc[0])} listed twice", path=path,
                          field="lucode")
    veg = t["lulc_veg"].astype(int)
    if not veg.isin([0, 1]).all():
        raise EconetError("lulc_veg must be 1 (vegetated) or 0", path=path, field="lulc_veg")
    t["lulc_veg"] = veg
    t["kc"] = t["kc"].astype(float)
    rd = pd.to_numeric(t["root_depth"], errors="coerce")
    if (rd[veg == 1].isna()).any():
        i = int(np.flatnonzero(((veg == 1) & rd.isna()).to_numpy())[0])
        raise EconetError("vegetated classes need a root_depth (mm)", path=path, row=i + 2, field="root_depth")
    t["root_depth"] = rd.fillna(1.0)  # not used for lulc_veg = 0 (InVEST substitutes 1)
    return t.set_index("lucode", drop=False)


def fractp(kc: np.ndarray, eto: np.ndarray, precip: np.ndarray, root: np.ndarray, soil: np.ndarray,
           pawc: np.ndarray, veg: np.ndarray, z: float) -> np.ndarray:
    """AET/P per cell as InVEST's fractp_op (NaN where an input is missing or P = 0)."""
    valid = np.isfinite(kc) & np.isfinite(eto) & np.isfinite(precip) & np.isfinite(root) & np.isfinite(soil) & \
        np.isfinite(pawc) & np.isfinite(veg) & (precip != 0)
    out = np.full(np.shape(precip), np.nan)
    p = precip[valid]
    pet = kc[valid] * eto[valid]
    phi = pet / p
    awc = np.minimum(root[valid], soil[valid]) * pawc[valid]
    w = awc / p * z + 1.25
    w = np.minimum(w, 5.0)
    with np.errstate(over="ignore", invalid="ignore"):
        budyko = 1.0 + phi - (1.0 + phi ** w) ** (1.0 / w)
    veg_result = np.minimum(phi, budyko)
    nonveg = np.minimum(pet, p) / p
    out[valid] = np.where(veg[valid] == 1, veg_result, nonveg)
    return out


@dataclass
class WaterYieldResult:
    """Per-cell rasters (mm) and the per-watershed table."""

    fractp: np.ndarray
    pet: np.ndarray
    aet: np.ndarray
    wyield: np.ndarray
    watersheds: pd.DataFrame


def water_yield(lulc: Raster, precip: Raster, eto: Raster, depth: Raster, pawc: Raster, table: pd.DataFrame,
                z: float, watersheds=None, *, ws_id: str | None = None,
                progress: Callable[..., None] | None = None) -> WaterYieldResult:
    """InVEST Annual Water Yield on rasters sharing one projected grid; per-watershed means and volume.

    precip, eto (reference ET0) and depth (root-restricting layer depth) in mm; pawc as a fraction 0-1;
    z the seasonality constant (InVEST: 1-30).
    """
    for name, r in (("precipitation", precip), ("reference ET", eto), ("root-restricting depth", depth),
                    ("plant available water content", pawc)):
        if not lulc.same_grid(r):
            raise EconetError(f"{name} raster is not on the land-cover grid (warp it first)")
    if not (math.isfinite(z) and z > 0):
        raise EconetError(f"seasonality constant Z must be positive, got {z}", field="z")
    pw = pawc.data
    if np.nanmax(pw, initial=0) > 1.0:
        raise EconetError("plant available water content must be a fraction (0-1), not a percentage", field="pawc")
    lc = lulc.data
    codes = np.unique(lc[np.isfinite(lc)]).astype(int)
    missing = [c for c in codes if c not in table.index]
    if missing:
        raise EconetError(f"land-cover class(es) {', '.join(map(str, missing))} are not in the biophysical table",
                          field="lucode")
    kc = np.full(lc.shape, np.nan)
    root = np.full(lc.shape, np.nan)
    veg = np.full(lc.shape, np.nan)
    for c in codes:
        m = lc == c
        kc[m] = table.loc[c, "kc"]
        root[m] = table.loc[c, "root_depth"] if table.loc[c, "lulc_veg"] == 1 else 1.0
        veg[m] = table.loc[c, "lulc_veg"]
    fp = fractp(kc, eto.data, precip.data, root, depth.data, pw, veg, z)
    p = precip.data
    aet = fp * p
    wy = (1.0 - fp) * p
    pet = kc * eto.data
    rows = []
    if watersheds is not None:
        ids = list(watersheds[ws_id]) if ws_id else list(range(1, len(watersheds) + 1))
        n = len(watersheds)
        geoms = list(watersheds.geometry)
        for k, rs, cs, mask in zone_masks(watersheds, lulc):
            if progress:
                progress(k, n, "water yield per watershed")
            row = {"ws_id": ids[k], "area_km2": float(geoms[k].area) / 1e6}
            if mask.size == 0:
                rows.append({**row, "n_cells": 0, "precip_mn": np.nan, "PET_mn": np.nan, "AET_mn": np.nan,
                             "wyield_mn": np.nan, "wyield_vol": np.nan})
                continue
            ok = mask & np.isfinite(wy[rs, cs])
            row["n_cells"] = int(ok.sum())

            def mean(a, sel):
                v = a[rs, cs][sel]
                v = v[np.isfinite(v)]
                return float(v.mean()) if v.size else np.nan
            row["precip_mn"] = mean(p, mask)
            row["PET_mn"] = mean(pet, mask)
            row["AET_mn"] = mean(aet, ok)
            row["wyield_mn"] = mean(wy, ok)
            row["wyield_vol"] = row["wyield_mn"] * float(geoms[k].area) / 1000.0 if ok.any() else np.nan
            rows.append(row)
        if progress:
            progress(n, n, "water yield per watershed")
    cols = ["ws_id", "area_km2", "n_cells", "precip_mn", "PET_mn", "AET_mn", "wyield_mn", "wyield_vol"]
    return WaterYieldResult(fractp=fp, pet=pet, aet=aet, wyield=wy, watersheds=pd.DataFrame(rows, columns=cols))


# --------------------------------------------------------------------------------------------- natcap.invest
def invest_available() -> tuple[bool, str]:
    """(True, version) when natcap.invest can be imported, else (False, the reason)."""
    try:
        import natcap.invest  # noqa: F401
        return True, getattr(natcap.invest, "__version__", "unknown")
    except Exception as exc:  # ImportError, or a broken GDAL binding
        return False, f"natcap.invest is not importable ({type(exc).__name__}: {exc})"


def run_invest_carbon(lulc_path: str | Path, table: pd.DataFrame, workspace: str | Path,
                      lulc_fut_path: str | Path | None = None) -> dict[str, Path]:
    """Run natcap.invest's Carbon model on the same inputs (the table's empty pools written as 0, as InVEST
    requires a number; the 'not counted' report stays econet's). Returns the output rasters by name."""
    ok, why = invest_available()
    if not ok:
        raise EconetError(why)
    from natcap.invest import carbon

    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    tpath = workspace / "carbon_pools_for_invest.csv"
    t = table[["lucode", *POOLS]].copy()
    t[list(POOLS)] = t[list(POOLS)].fillna(0.0)
    t.to_csv(tpath, index=False)
    args = {"workspace_dir": str(workspace), "lulc_cur_path": str(lulc_path), "carbon_pools_path": str(tpath),
            "calc_sequestration": lulc_fut_path is not None, "do_valuation": False, "do_redd": False,
            "n_workers": -1, "results_suffix": ""}
    if lulc_fut_path is not None:
        args["lulc_fut_path"] = str(lulc_fut_path)
    carbon.execute(args)
    out = {p.stem: p for p in workspace.glob("*.tif")}
    return out


def run_invest_water(paths: dict[str, str | Path], table: pd.DataFrame, z: float, watersheds_path: str | Path,
                     workspace: str | Path) -> pd.DataFrame:
    """Run natcap.invest's Annual Water Yield; `paths` holds lulc, precip, eto, depth, pawc. Returns the
    watershed results table (ws_id, precip_mn, PET_mn, AET_mn, wyield_mn, wyield_vol)."""
    ok, why = invest_available()
    if not ok:
        raise EconetError(why)
    from natcap.invest import annual_water_yield

    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    bpath = workspace / "biophysical_for_invest.csv"
    table[["lucode", "kc", "root_depth", "lulc_veg"]].to_csv(bpath, index=False)
    args = {"workspace_dir": str(workspace), "results_suffix": "", "lulc_path": str(paths["lulc"]),
            "precipitation_path": str(paths["precip"]), "eto_path": str(paths["eto"]),
            "depth_to_root_rest_layer_path": str(paths["depth"]), "pawc_path": str(paths["pawc"]),
            "biophysical_table_path": str(bpath), "watersheds_path": str(watersheds_path),
            "seasonality_constant": float(z), "n_workers": -1, "sub_watersheds_path": "",
            "demand_table_path": "", "valuation_table_path": ""}
    annual_water_yield.execute(args)
    csvs = sorted(workspace.rglob("watershed_results_wyield*.csv"))
    if not csvs:
        raise EconetError("natcap.invest wrote no watershed results", path=workspace)
    return pd.read_csv(csvs[0])


# --------------------------------------------------------------------------------------------- plots
def plot_map(grid: Raster, values: np.ndarray, path: str | Path, *, title: str, label: str, cmap: str = "YlGn",
             outlines=None, diverging: bool = False) -> Path:
    """A quick-look map of a per-cell result with optional polygon outlines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    left, bottom, right, top = grid.bounds
    fig, ax = plt.subplots(figsize=(7, 6))
    kw = {}
    if diverging:
        v = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        kw = {"vmin": -v or -1, "vmax": v or 1}
    im = ax.imshow(np.ma.masked_invalid(values), extent=(left, right, bottom, top), cmap=cmap, **kw)
    if outlines is not None and len(outlines):
        o = outlines
        if grid.crs is not None and o.crs is not None:
            o = o.to_crs(grid.crs.to_wkt())
        o.boundary.plot(ax=ax, color="k", linewidth=0.7)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)


def plot_bars(labels, values, path: str | Path, *, title: str, xlabel: str, colour: str = "#2e7d32",
              stacked: dict[str, np.ndarray] | None = None) -> Path:
    """Horizontal bars (optionally stacked by pool) per zone."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [str(x) for x in labels]
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(labels), 3) + 1.5))
    pos = np.arange(len(labels))
    if stacked:
        left = np.zeros(len(labels))
        colours = ["#1b5e20", "#66bb6a", "#8d6e63", "#d7ccc8"]
        for (name, vals), c in zip(stacked.items(), colours):
            vals = np.nan_to_num(np.asarray(vals, dtype=float))
            ax.barh(pos, vals, left=left, color=c, label=name)
            left += vals
        ax.legend(fontsize=7)
    else:
        ax.barh(pos, np.nan_to_num(np.asarray(values, dtype=float)), color=colour)
    ax.set_yticks(pos)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)
