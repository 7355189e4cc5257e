"""Home ranges as adehabitatHR computes them: MCP (mcp, mcp.area) and kernel UD (kernelUD, kernel.area, getverticeshr).

Semantics follow adehabitatHR 0.4.22 (Calenge 2006), read from its sources:
- MCP: keep the `percent` % of fixes closest to the arithmetic mean of the fixes (distance <= R's type-7
  quantile), then the convex hull (Mohr 1947).
- Kernel UD: bivariate normal kernel, f(x) = 1/(n h^2 2 pi) sum exp(-|x - x_i|^2 / (2 h^2)) (Worton 1989),
  summed (as its C code) over the fixes within 4h of the node along both axes;
  href = sqrt(0.5 (var x + var y)) n^(-1/6); LSCV minimises the cross-validation score over 100 values of h
  in hlim * href; grid of `grid` cells along the longer side of the range extended by `extent` times it.
- kernel.area: number of cells whose volume (cumulative UD mass, densest first, in %) is <= percent, times
  the cell area; getverticeshr: the contour of the volume surface at percent, area of that polygon.
Areas are returned in hectares (as adehabitatHR's default unout = "ha") and km2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from econet.errors import EconetError


# ------------------------------------------------------------------------------------------------- MCP
def mcp_polygon(xy: np.ndarray, percent: float = 95.0, min_fixes: int = 3):
    """Minimum convex polygon of the `percent` % fixes nearest their centroid (adehabitatHR mcp).

    adehabitatHR refuses fewer than 5 relocations; home_ranges() applies that, camera-trap MCPs accept 3.
    """
    from shapely.geometry import MultiPoint

    xy = np.asarray(xy, dtype=float)
    if not 0 < percent <= 100:
        raise EconetError(f"MCP percent must be in (0, 100], got {percent}", field="percent")
    if len(xy) < max(min_fixes, 3):
        raise EconetError(f"an MCP needs at least {max(min_fixes, 3)} fixes (has {len(xy)})")
    c = xy.mean(axis=0)
    d = np.hypot(xy[:, 0] - c[0], xy[:, 1] - c[1])
    keep = d <= np.quantile(d, percent / 100.0)  # numpy's default 'linear' = R's type 7
    return MultiPoint(xy[keep]).convex_hull


# ---------------------------------------------------------------------------------------------- kernel
def href(xy: np.ndarray) -> float:
    """Reference bandwidth: sqrt(0.5 (var x + var y)) * n^(-1/6), sample variances (adehabitatHR kernelUD)."""
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    return float(np.sqrt(0.5 * (np.var(xy[:, 0], ddof=1) + np.var(xy[:, 1], ddof=1))) * n ** (-1.0 / 6.0))


def lscv_score(xy: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Least-squares cross-validation score of a bivariate normal kernel for each h, as adehabitatHR's C
    function CVmise: 1/(pi h^2 n) + (2 S - 3n) / (4 pi h^2 n^2), S = sum over pairs i<j of
    exp(-d^2/4h^2) - 4 exp(-d^2/2h^2) (Worton 1989)."""
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    iu = np.triu_indices(n, 1)
    d2 = ((xy[iu[0]] - xy[iu[1]]) ** 2).sum(-1)
    out = []
    for hh in np.atleast_1d(h):
        s = np.sum(np.exp(-d2 / (4 * hh * hh)) - 4 * np.exp(-d2 / (2 * hh * hh)))
        out.append(1.0 / (np.pi * hh * hh * n) + (2 * s - 3 * n) / (4 * np.pi * hh * hh * n * n))
    return np.array(out)


@dataclass
class UD:
    """A utilisation distribution on a regular grid (density per m2 when coordinates are metres)."""

    x: np.ndarray          # cell-centre x (columns)
    y: np.ndarray          # cell-centre y (rows)
    density: np.ndarray    # shape (len(y), len(x))
    h: float
    method: str
    converged: bool = True

    @property
    def cellsize(self) -> float:
        return float(self.x[1] - self.x[0])

    def volume(self) -> np.ndarray:
        """Percentage volume: the UD mass of all cells at least as dense as this one, times 100 (getvolumeUD)."""
        v = self.density.ravel() * self.cellsize ** 2
        order = np.argsort(-v, kind="stable")
        cum = np.empty_like(v)
        cum[order] = np.cumsum(v[order]) * 100.0
        return cum.reshape(self.density.shape)


def make_grid(xy: np.ndarray, grid: int = 60, extent: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The grid of adehabitatHR's .makegridUD: `grid` points along the longer extended side, square cells."""
    xy = np.asarray(xy, dtype=float)
    xr = [xy[:, 0].min(), xy[:, 0].max()]
    yr = [xy[:, 1].min(), xy[:, 1].max()]
    dx, dy = xr[1] - xr[0], yr[1] - yr[0]
    xl = (xr[0] - extent * dx, xr[1] + extent * dx)
    yl = (yr[0] - extent * dy, yr[1] + extent * dy)
    if (yl[1] - yl[0]) > (xl[1] - xl[0]):
        yg = np.linspace(yl[0], yl[1], grid)
        cs = yg[1] - yg[0]
        xg = np.arange(xl[0], xl[1] + cs * 1e-9, cs)
    else:
        xg = np.linspace(xl[0], xl[1], grid)
        cs = xg[1] - xg[0]
        yg = np.arange(yl[0], yl[1] + cs * 1e-9, cs)
    return xg, yg


def kernel_ud(xy: np.ndarray, h: str | float = "href", *, grid: int = 60, extent: float = 1.0,
              hlim: tuple[float, float] = (0.1, 1.5)) -> UD:
    """Kernel UD with a bivariate normal kernel: h = 'href', 'LSCV' or a number (adehabitatHR kernelUD)."""
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 5:
        raise EconetError("at least 5 relocations are required to fit a kernel home range")
    hr = href(xy)
    converged = True
    if isinstance(h, str):
        if h.lower() == "href":
            hh, method = hr, "href"
        elif h.upper() == "LSCV":
            hvec = np.linspace(hlim[0] * hr, hlim[1] * hr, 100)
            cv = lscv_score(xy, hvec)
            k = int(np.argmin(cv))
            hh, method = float(hvec[k]), "LSCV"
            converged = 0 < k < len(hvec) - 1
        else:
            try:
                hh, method = float(h), "specified"
            except ValueError:
                raise EconetError(f"bandwidth must be href, LSCV or a number, got '{h}'", field="h") from None
    else:
        hh, method = float(h), "specified"
    if not hh > 0:
        raise EconetError(f"bandwidth must be positive, got {hh}", field="h")
    xg, yg = make_grid(xy, grid, extent)
    # adehabitatHR's C code (epa) sums only fixes within a 4h box around each node, with pi = 3.14159265359
    dx = xg[None, :] - xy[:, 0:1]  # n x nx
    dy = yg[None, :] - xy[:, 1:2]  # n x ny
    gx = np.where(np.abs(dx) < 4 * hh, np.exp(-dx * dx / (2 * hh * hh)), 0.0)
    gy = np.where(np.abs(dy) < 4 * hh, np.exp(-dy * dy / (2 * hh * hh)), 0.0)
    dens = gy.T @ gx / (len(xy) * hh * hh * 2 * 3.14159265359)
    return UD(xg, yg, dens, hh, method, converged)


def kernel_area(ud: UD, percent: float | Sequence[float] = 95.0) -> np.ndarray:
    """Home-range size (same units as the grid, squared) = cells with volume <= percent times cell area."""
    vol = ud.volume().ravel()
    return np.array([np.sum(vol <= p) * ud.cellsize ** 2 for p in np.atleast_1d(percent)], dtype=float)


def kernel_polygon(ud: UD, percent: float = 95.0):
    """The home-range contour at `percent` of the UD volume, as a (multi)polygon (adehabitatHR getverticeshr)."""
    import contourpy
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    vol = ud.volume()
    gen = contourpy.contour_generator(ud.x, ud.y, vol, fill_type=contourpy.FillType.OuterOffset)
    polys, offsets = gen.filled(-1.0, float(percent))
    out = []
    for pts, offs in zip(polys, offsets):
        rings = [pts[offs[i]:offs[i + 1]] for i in range(len(offs) - 1)]
        if len(rings[0]) >= 4:
            out.append(Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
    if not out:
        return MultiPolygon()
    geom = shapely.make_valid(shapely.union_all(out))
    return geom


# ----------------------------------------------------------------------------------------- per animal
def _metric(fixes: pd.DataFrame, crs=None):
    """Projected coordinates of fixes: x/y columns when `crs` is given, else lon/lat to an equal-area CRS."""
    if crs is not None:
        if not {"x", "y"} <= set(fixes.columns):
            raise EconetError("fixes need x and y columns when a projected CRS is given")
        return fixes["x"].to_numpy(float), fixes["y"].to_numpy(float), crs
    from pyproj import Transformer

    from econet.analytics.crossings import metric_crs_for
    lon, lat = fixes["lon"].to_numpy(float), fixes["lat"].to_numpy(float)
    m = metric_crs_for(lon, lat)
    x, y = Transformer.from_crs(4326, m, always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y), m


def home_ranges(fixes: pd.DataFrame, *, method: str = "mcp", percent: float | Sequence[float] = 95.0,
                h: str | float = "href", grid: int = 60, extent: float = 1.0, by: Sequence[str] = ("individual",),
                crs=None, zones=None, zone_field: str | None = None, protected_areas=None,
                pa_field: str | None = None):
    """Home range polygons and areas per group (individual, period...), with shares per zone and inside PAs.

    `fixes` are lon/lat fixes (from crossings.as_fixes), or projected x/y with `crs` given. Returns a
    GeoDataFrame in lon/lat (or in `crs`) with area_ha, area_km2 and, for kernels, h, the bandwidth
    method and kernel.area's pixel-count area (area_ha_pixels). `zones` (e.g. countries) add
    share_<zone>; `protected_areas` add share_in_pa (union of all PAs) and the PAs overlapped.
    """
    import geopandas as gpd
    import shapely

    method = method.lower()
    if method not in ("mcp", "kernel"):
        raise EconetError(f"unknown home-range method '{method}' (mcp or kernel)", field="method")
    x, y, m = _metric(fixes, crs)
    df = fixes.assign(_x=x, _y=y)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise EconetError(f"no column '{missing[0]}' to group home ranges by", field=missing[0])
    zone_geoms = []

    def local(layer):
        """The layer clipped to the fixes' region (lon/lat) and projected: far-away parts would not project."""
        g = layer.set_crs(4326) if layer.crs is None else layer
        if crs is None:
            from econet.analytics.crossings import _clip_box, lonlat_bounds
            g = g.to_crs(4326)
            box = _clip_box(lonlat_bounds(fixes["lon"].to_numpy(float), fixes["lat"].to_numpy(float)), 2.0)
            g = g[g.intersects(box)].copy()
            g["geometry"] = shapely.intersection(shapely.make_valid(g.geometry.values), box)
        return g.to_crs(m)

    if zones is not None:
        if zone_field is None or zone_field not in zones.columns:
            raise EconetError(f"no zone field '{zone_field}' in the zone layer", field=zone_field)
        zz = local(zones)
        zz = zz.dissolve(by=zone_field, as_index=False)
        zone_geoms = list(zip(zz[zone_field].astype(str), zz.geometry.values))
    pa_union, pa_list = None, []
    if protected_areas is not None:
        pp = local(protected_areas)
        pa_union = shapely.union_all(shapely.make_valid(pp.geometry.values))
        names = pp[pa_field].astype(str) if pa_field and pa_field in pp.columns else pp.index.astype(str)
        pa_list = list(zip(names, pp.geometry.values))
    rows, geoms = [], []
    for key, d in df.groupby(list(by), observed=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        xy = d[["_x", "_y"]].to_numpy()
        base = dict(zip(by, key))
        base["n_fixes"] = len(d)
        try:
            if method == "mcp":
                results = [(p, mcp_polygon(xy, p, min_fixes=5), {}) for p in np.atleast_1d(percent)]
            else:
                ud = kernel_ud(xy, h, grid=grid, extent=extent)
                results = []
                for p in np.atleast_1d(percent):
                    pix = kernel_area(ud, p)[0]
                    results.append((p, kernel_polygon(ud, p), {"h": ud.h, "h_method": ud.method,
                                                               "h_converged": ud.converged,
                                                               "area_ha_pixels": pix / 1e4}))
        except EconetError as exc:
            raise EconetError(f"{', '.join(map(str, key))}: {exc.message}") from None
        for p, geom, extra in results:
            row = dict(base, method=method, percent=float(p), area_ha=geom.area / 1e4, area_km2=geom.area / 1e6)
            row.update(extra)
            for lab, zg in zone_geoms:
                row[f"share_{lab}"] = shapely.intersection(geom, zg).area / geom.area if geom.area else np.nan
            if pa_union is not None:
                row["share_in_pa"] = shapely.intersection(geom, pa_union).area / geom.area if geom.area else np.nan
                row["pas"] = ";".join(n for n, g in pa_list if g.intersects(geom))
            rows.append(row)
            geoms.append(geom)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=m)
    return gdf if crs is not None else gdf.to_crs(4326)
