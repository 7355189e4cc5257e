"""Least-cost corridors between protected areas, with Linkage Mapper semantics (McRae & Kavanagh 2011).

For each core (PA) a cost-weighted distance (CWD) surface; for each pair A-B the least-cost distance
LCD = min of CWD_A over B, the normalized least-cost corridor NLCC_AB = CWD_A + CWD_B - LCD (0 along the
least-cost path), truncated at a width cut-off and mosaicked by minimum; least-cost paths as lines; a
corridor table with the border crossings; pinch points from the circuit engine run inside each corridor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import shapely

from econet.connectivity.graph import node_cells
from econet.errors import EconetError
from econet.progress import no_progress

DEFAULT_WIDTH_FRACTION = 0.1
TABLE_COLUMNS = ["from", "to", "cost_distance", "euclidean_distance", "cwd_to_euclidean", "path_length",
                 "cwd_to_path_length", "effective_resistance", "crosses_border", "countries",
                 "border_crossings"]


@dataclass
class Corridors:
    """All outputs of a corridor run (rasters share the resistance grid)."""

    table: list[dict]
    paths: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    nlcc: np.ndarray                 # mosaic of normalized corridors (min over pairs), NaN beyond the cut-off
    nlcc_full: np.ndarray            # the same, untruncated
    cwd: np.ndarray                  # CWD to the nearest core
    pinchpoints: np.ndarray | None   # cumulative current inside the corridors (max over pairs)
    notes: list[str] = field(default_factory=list)


def _cost_grid(resistance) -> np.ndarray:
    data = np.array(resistance.data, dtype=float)
    return np.where(~np.isfinite(data) | (data <= 0), np.inf, data)


def candidate_pairs(geoms, max_distance: float | None, pairs: Sequence[tuple[int, int]] | None = None):
    """Index pairs to link: the given list, or every pair of cores within max_distance (edge to edge)."""
    geoms = np.asarray(geoms, dtype=object)
    if pairs is not None:
        return [(int(a), int(b)) for a, b in pairs if a != b]
    tree = shapely.STRtree(geoms)
    if max_distance is None:
        i, j = np.triu_indices(len(geoms), 1)
    else:
        i, j = tree.query(geoms, predicate="dwithin", distance=max_distance)
    return sorted({(int(a), int(b)) for a, b in zip(i, j) if a < b})


def least_cost_corridors(cores: gpd.GeoDataFrame, resistance, *, id_field: str, max_distance: float | None = None,
                         pairs: Sequence[tuple] | None = None, width: float | None = None,
                         max_cost: float | None = None, countries: gpd.GeoDataFrame | None = None,
                         country_field: str | None = None, pinchpoints: bool = True,
                         progress: Callable = no_progress) -> Corridors:
    """Linkage Mapper's core outputs for the cores (polygons in the resistance raster's projected CRS).

    width: corridor cut-off in cost-weighted units (cells with NLCC > width are outside the corridor);
    default 10% of the costliest least-cost distance.
    max_cost: pairs whose LCD exceeds it are not linked. Pairs in `pairs` are given as core ids.
    """
    from skimage.graph import MCP_Geometric

    notes: list[str] = []
    geoms = np.asarray(cores.geometry.values, dtype=object)
    ids = cores[id_field].tolist()
    if len(geoms) < 2:
        raise EconetError("need at least two core areas to draw corridors")
    if pairs is not None:
        where = {v: t for t, v in enumerate(ids)}
        missing = [p for pr in pairs for p in pr if p not in where]
        if missing:
            raise EconetError(f"pair list names unknown core id(s): {', '.join(map(str, missing[:5]))}")
        pairs = [(where[a], where[b]) for a, b in pairs]
    plist = candidate_pairs(geoms, max_distance, pairs)
    if not plist:
        raise EconetError("no pair of core areas within the maximum distance")
    cost = _cost_grid(resistance)
    size = abs(resistance.transform.a)
    if not math.isclose(size, abs(resistance.transform.e), rel_tol=1e-6):
        raise EconetError("the resistance raster must have square cells")
    cells = node_cells(geoms, resistance)
    rows_n, cols_n = cost.shape
    used = sorted({a for p in plist for a in p})
    empty = [ids[t] for t in used if len(cells[t]) == 0]
    if empty:
        raise EconetError(f"core(s) {', '.join(map(str, empty[:5]))} fall outside the resistance raster")
    for t in used:  # a core on barrier cells still starts there
        rr, cc = np.divmod(cells[t], cols_n)
        if np.isinf(cost[rr, cc]).all():
            notes.append(f"core {ids[t]} lies entirely on nodata/barrier cells")
    cwd = {}
    mcps = {}
    cwd_min = np.full(cost.shape, np.inf)
    for s, t in enumerate(used):
        mcp = MCP_Geometric(cost, fully_connected=True)
        starts = list(zip(*np.divmod(cells[t], cols_n)))
        c, _ = mcp.find_costs(starts)
        c = c * size
        c[np.isinf(cost)] = np.inf
        c.flat[cells[t]] = 0.0
        cwd[t] = c
        mcps[t] = mcp
        np.minimum(cwd_min, c, out=cwd_min)
        progress(s + 1, len(used), "cost-weighted distance")
    nlcc_full = np.full(cost.shape, np.inf)
    nlcc = np.full(cost.shape, np.inf)
    pinch = np.full(cost.shape, np.nan) if pinchpoints else None
    table, lines, polys = [], [], []
    ref_x = resistance.transform.c + size / 2
    ref_y = resistance.transform.f - size / 2
    border_lines, border_geom = _borders(countries)
    lcds = [float(np.min(cwd[a].flat[cells[b]])) for a, b in plist]
    finite = [v for v in lcds if np.isfinite(v) and (max_cost is None or v <= max_cost)]
    if width is None and finite:
        width = DEFAULT_WIDTH_FRACTION * max(finite)
        notes.append(f"corridor width cut-off {width:.0f} cost units "
                     f"({DEFAULT_WIDTH_FRACTION:.0%} of the costliest least-cost distance)")
    for s, (a, b) in enumerate(plist):
        cb_cells = cells[b]
        lcd = lcds[s]
        if not np.isfinite(lcd) or (max_cost is not None and lcd > max_cost):
            progress(s + 1, len(plist), "corridors")
            continue
        corr = np.maximum(cwd[a] + cwd[b] - lcd, 0.0)
        np.minimum(nlcc_full, corr, out=nlcc_full)
        inside = corr <= (width if width is not None else np.inf)
        np.minimum(nlcc, np.where(inside, corr, np.inf), out=nlcc)
        end = int(cb_cells[np.argmin(cwd[a].flat[cb_cells])])
        trace = np.asarray(mcps[a].traceback((end // cols_n, end % cols_n)))
        xy = np.c_[ref_x + trace[:, 1] * size, ref_y - trace[:, 0] * size]
        line = shapely.LineString(xy) if len(xy) > 1 else shapely.LineString([xy[0], xy[0]])
        euclid = float(shapely.distance(geoms[a], geoms[b]))
        length = float(line.length)
        row = {"from": _plain(ids[a]), "to": _plain(ids[b]), "cost_distance": lcd, "euclidean_distance": euclid,
               "cwd_to_euclidean": lcd / euclid if euclid > 0 else None, "path_length": length,
               "cwd_to_path_length": lcd / length if length > 0 else None, "effective_resistance": None}
        row.update(_crossings(line, border_lines, border_geom, countries, country_field))
        if pinch is not None and inside.any():
            r_eff, cur = _pinch(cost, inside, cells[a], cells[b], cols_n)
            row["effective_resistance"] = r_eff
            if cur is not None:
                pinch = np.fmax(pinch, cur)
        table.append(row)
        lines.append(line)
        polys.append(_mask_polygon(inside, resistance))
        progress(s + 1, len(plist), "corridors")
    if not table:
        raise EconetError("no core pair is connected (all beyond the maximum cost or separated by barriers)")
    crs = cores.crs
    paths = gpd.GeoDataFrame(table, geometry=lines, crs=crs)
    corridors = gpd.GeoDataFrame([{k: r[k] for k in ("from", "to", "cost_distance")} for r in table],
                                 geometry=[p if p is not None else shapely.Polygon() for p in polys], crs=crs)
    corridors = corridors[~corridors.geometry.is_empty].reset_index(drop=True)
    for arr in (nlcc, nlcc_full, cwd_min):
        arr[~np.isfinite(arr)] = np.nan
    return Corridors(table, paths, corridors, nlcc, nlcc_full, cwd_min, pinch, notes)


def _pinch(cost, inside, cells_a, cells_b, cols_n):
    """Circuitscape pairwise between the two cores inside one corridor: (effective resistance, current)."""
    try:
        from econet.connectivity.circuit import pairwise
    except ImportError:  # pragma: no cover - engine not installed
        return None, None
    rr, cc = np.nonzero(inside)
    r0, r1, c0, c1 = rr.min(), rr.max() + 1, cc.min(), cc.max() + 1
    grid = np.where(inside, cost, np.nan)[r0:r1, c0:c1]
    grid[~np.isfinite(grid)] = np.nan
    focal = np.zeros(grid.shape, dtype=np.int64)
    for value, cells in ((1, cells_a), (2, cells_b)):
        r, c = np.divmod(cells, cols_n)
        ok = (r >= r0) & (r < r1) & (c >= c0) & (c < c1)
        r, c = r[ok] - r0, c[ok] - c0
        ok = np.isfinite(grid[r, c])
        focal[r[ok], c[ok]] = value
    if not ((focal == 1).any() and (focal == 2).any()):
        return None, None
    res = pairwise(grid, focal, is_resistance=True, cumulative_map=True)
    out = np.full(cost.shape, np.nan)
    if res.cumulative_current is not None:
        out[r0:r1, c0:c1] = res.cumulative_current
    r_eff = float(res.resistances[0, 1]) if res.resistances.shape[0] >= 2 else None
    return (r_eff if r_eff is not None and r_eff >= 0 else None), out


def _borders(countries):
    if countries is None or len(countries) == 0:
        return None, None
    geoms = np.asarray(shapely.make_valid(np.asarray(countries.geometry.values, dtype=object)), dtype=object)
    shared = []
    for t, g in enumerate(geoms):  # national borders = boundary parts shared with another country
        others = shapely.union_all(np.delete(geoms, t))
        shared.append(shapely.intersection(shapely.boundary(g), others))
    return shapely.union_all(shared), geoms


def _crossings(line, border_lines, border_geoms, countries, country_field) -> dict:
    """Whether and where a least-cost path crosses a national border, and the countries it passes."""
    if border_lines is None:
        return {"crosses_border": None, "countries": None, "border_crossings": None}
    hits = shapely.get_parts(shapely.intersection(line, border_lines))
    pts = [h if h.geom_type == "Point" else shapely.centroid(h) for h in hits if not h.is_empty]
    names = []
    if country_field is not None:
        along = [line.interpolate(f, normalized=True) for f in np.linspace(0, 1, 200)]
        for p in along:
            inside = np.flatnonzero(shapely.contains(border_geoms, p))
            if len(inside):
                name = str(countries[country_field].iloc[inside[0]])
                if not names or names[-1] != name:
                    names.append(name)
    crosses = len(pts) > 0 and (country_field is None or len(set(names)) > 1 or len(names) == 0)
    return {"crosses_border": bool(crosses), "countries": " > ".join(names) if names else None,
            "border_crossings": "; ".join(f"{p.x:.0f} {p.y:.0f}" for p in pts) if pts else None}


def _mask_polygon(mask: np.ndarray, raster):
    from rasterio import features
    shapes = [shapely.geometry.shape(g) for g, v in
              features.shapes(mask.astype(np.uint8), mask=mask, transform=raster.transform) if v == 1]
    return shapely.union_all(shapes) if shapes else shapely.Polygon()


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
