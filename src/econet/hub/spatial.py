"""Spatial helpers of the hub: WGS84 <-> equal-area, countries of points, borders, and index-friendly covers.

Distances and buffers are computed in the hub's equal-area CRS (metres); queries use WGS84 boxes that an
R*Tree (SQLite) or GiST (PostGIS) index can answer, followed by exact predicates with shapely.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from econet.errors import EconetError
from econet.hub.models import EQUAL_AREA_PROJ

COUNTRIES = Path(__file__).with_name("data") / "countries.geojson"


@lru_cache(maxsize=1)
def _to_ea():
    from pyproj import Transformer
    return Transformer.from_crs("EPSG:4326", EQUAL_AREA_PROJ, always_xy=True)


@lru_cache(maxsize=1)
def _from_ea():
    from pyproj import Transformer
    return Transformer.from_crs(EQUAL_AREA_PROJ, "EPSG:4326", always_xy=True)


def to_equal_area(lon, lat):
    """Arrays of lon/lat (degrees) -> x/y (metres) in the hub's equal-area CRS; NaN stays NaN."""
    return _to_ea().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def from_equal_area(x, y):
    return _from_ea().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


@lru_cache(maxsize=8)
def source_transformer(crs: str):
    """Transformer from a source CRS (EPSG code, WKT, PROJ) to WGS84 lon/lat."""
    from pyproj import CRS, Transformer
    try:
        src = CRS.from_user_input(crs)
    except Exception as exc:
        raise EconetError(f"unknown CRS {crs!r} ({exc})", field="crs") from None
    return Transformer.from_crs(src, "EPSG:4326", always_xy=True)


@lru_cache(maxsize=1)
def countries():
    """The country polygons shipped with the hub (Natural Earth 1:50m, Asia), as a GeoDataFrame."""
    import geopandas as gpd
    return gpd.read_file(COUNTRIES)


@lru_cache(maxsize=1)
def _country_index():
    """(bounds array, prepared polygons, iso2 codes) of the shipped countries."""
    import shapely
    g = countries()
    geoms = np.asarray(g.geometry.values)
    for geom in geoms:
        shapely.prepare(geom)
    return shapely.bounds(geoms), geoms, g["iso2"].to_numpy(object)


def country_of(lon, lat) -> np.ndarray:
    """ISO alpha-2 code of the country containing each point (None outside every shipped country).

    Distinct points only are tested (camera stations repeat), each against the prepared polygons whose
    bounding box holds it.
    """
    import shapely
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(lon.shape, None, dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return out
    pts, inverse = np.unique(np.column_stack([lon[ok], lat[ok]]), axis=0, return_inverse=True)
    found = np.full(len(pts), None, dtype=object)
    bounds, geoms, codes = _country_index()
    x, y = pts[:, 0], pts[:, 1]
    for b, geom, code in zip(bounds, geoms, codes):
        sel = np.flatnonzero((found == None) & (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3]))  # noqa: E711
        if sel.size:
            hit = shapely.intersects_xy(geom, x[sel], y[sel])
            found[sel[hit]] = code
    out[ok] = found[inverse.ravel()]
    return out


def country_polygon(code: str):
    """The polygon of one country (ISO alpha-2 or alpha-3)."""
    import shapely
    g = countries()
    code = code.upper()
    m = g[(g["iso2"] == code) | (g["iso3"] == code)]
    if m.empty:
        raise EconetError(f"unknown country code {code!r} (ISO 3166 alpha-2 or alpha-3 in the shipped Asia layer)",
                          field="country")
    return shapely.union_all(m.geometry.values)


@lru_cache(maxsize=32)
def border(a: str, b: str):
    """The land border between two countries as (multi)lines in WGS84: the shared part of their outlines."""
    import shapely
    a, b = a.upper(), b.upper()
    pa, pb = country_polygon(a), country_polygon(b)
    line = shapely.line_merge(shapely.intersection(pa.boundary, pb.buffer(1e-4)))
    if line.is_empty:
        raise EconetError(f"{a} and {b} share no border in the shipped country layer", field="border")
    return line


@lru_cache(maxsize=64)
def border_buffer(a: str, b: str, distance_m: float):
    """The area within `distance_m` metres of the a-b border (WGS84 polygon), cached."""
    return buffer_lonlat(border(a, b), distance_m)


def buffer_lonlat(geom, distance_m: float):
    """Buffer a WGS84 geometry by a distance in metres (computed in the equal-area CRS), back in WGS84."""
    import shapely
    ea = project(geom)
    buf = shapely.buffer(ea, distance_m, quad_segs=8)
    buf = shapely.segmentize(buf, max(distance_m / 4.0, 250.0))
    return shapely.transform(buf, lambda xy: np.column_stack(from_equal_area(xy[:, 0], xy[:, 1])))


def project(geom):
    """A WGS84 geometry in the hub's equal-area CRS (metres)."""
    import shapely
    return shapely.transform(geom, lambda xy: np.column_stack(to_equal_area(xy[:, 0], xy[:, 1])))


def cover_boxes(polygon, max_boxes: int = 2048, min_size: float = 1e-3) -> list[tuple[tuple[float, float, float, float], bool]]:
    """Boxes (minx, miny, maxx, maxy) covering a polygon; True when a box lies wholly inside it.

    A quadtree: boxes crossing the outline are split until they are small or the budget is spent, so a
    long, thin area (a border buffer) is covered by many small boxes, most of them wholly inside (their
    points need no exact test), instead of one huge bounding box.
    """
    import shapely
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    if maxx - minx <= 0 or maxy - miny <= 0:
        return [((minx, miny, maxx, maxy), False)]
    inside: list[tuple] = []
    edge = [(minx, miny, maxx, maxy)]
    while edge and len(inside) + 4 * len(edge) <= max_boxes:
        nxt = []
        cells = []
        for x0, y0, x1, y1 in edge:
            if x1 - x0 <= min_size and y1 - y0 <= min_size:
                nxt.append((x0, y0, x1, y1))
                continue
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            cells += [(x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)]
        if not cells:
            break
        arr = np.array(cells)
        geoms = shapely.box(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
        touch = shapely.intersects(polygon, geoms)
        full = shapely.contains_properly(polygon, geoms)
        for c, t, f in zip(cells, touch, full):
            if f:
                inside.append(c)
            elif t:
                nxt.append(c)
        if len(inside) + len(nxt) > max_boxes:
            edge = nxt
            break
        edge = nxt
    return [(b, True) for b in inside] + [(b, False) for b in edge]


#: Each observation stores, at import, its nearest land border within this distance (pair of ISO codes), the
#: equal-area distance to it and to the second-nearest, so "within d of the A-B border" (d up to this) is an
#: index range.
BORDER_ZONE_M = 50_000.0


def pair_code(a: str, b: str) -> str:
    """The key of the border between two countries: ISO alpha-2 codes sorted, 'CN-RU'."""
    a, b = sorted((a.upper()[:2], b.upper()[:2]))
    return f"{a}-{b}"


@lru_cache(maxsize=1)
def _ea_country_bounds():
    """(iso2 codes, equal-area bounds) of the shipped countries with a code."""
    import shapely
    g = countries()
    keep = np.array([isinstance(c, str) and len(c) == 2 and c.isalpha() for c in g["iso2"]])
    codes = g["iso2"].to_numpy(object)[keep]
    bounds = shapely.bounds(np.array([project(geom) for geom in g.geometry.values[keep]], dtype=object))
    return codes, bounds


_BORDER_TREES: dict[str, object] = {}


def _border_tree(a: str, b: str):
    """(segment STRtree, segment bounds) of the a-b border in the equal-area CRS, or None if they share none."""
    key = pair_code(a, b)
    if key not in _BORDER_TREES:
        import shapely
        try:
            line = project(border(*key.split("-")))
        except EconetError:
            _BORDER_TREES[key] = None
            return None
        segs = []
        for part in shapely.get_parts(shapely.line_merge(line) if line.geom_type != "LineString" else line):
            for ring in shapely.get_parts(part):
                xy = shapely.get_coordinates(ring)
                if len(xy) >= 2:
                    segs.append(shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)))
        segs = np.concatenate(segs) if segs else np.array([], dtype=object)
        _BORDER_TREES[key] = (shapely.STRtree(segs), shapely.total_bounds(segs)) if len(segs) else None
    return _BORDER_TREES[key]


@lru_cache(maxsize=64)
def border_line_ea(a: str, b: str):
    """The a-b border in the equal-area CRS (metres)."""
    return project(border(*pair_code(a, b).split("-")))


def nearest_border(x, y, max_m: float = BORDER_ZONE_M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest land border of equal-area points x/y (NaN: no place) within `max_m`: its pair code ('' when
    none), the distance to it and the distance to the second-nearest border (m, NaN when none). Borders are
    those of the shipped country layer. Only a point whose second distance is <= d can lie within d of a
    border that is not its nearest one (near a tripoint)."""
    import shapely
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    pair = np.full(x.shape, "", dtype=object)
    dist = np.full(x.shape, np.nan)
    dist2 = np.full(x.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not ok.size:
        return pair, dist, dist2
    x0, x1, y0, y1 = x[ok].min() - max_m, x[ok].max() + max_m, y[ok].min() - max_m, y[ok].max() + max_m
    codes, bounds = _ea_country_bounds()
    near = np.flatnonzero((bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0))
    pts = None
    for i, j in ((i, j) for k, i in enumerate(near) for j in near[k + 1:]):
        bi, bj = bounds[i], bounds[j]
        if bi[0] > bj[2] + 1 or bj[0] > bi[2] + 1 or bi[1] > bj[3] + 1 or bj[1] > bi[3] + 1:
            continue  # the two countries cannot touch
        tree = _border_tree(codes[i], codes[j])
        if tree is None:
            continue
        tb = tree[1]
        sel = ok[(x[ok] >= tb[0] - max_m) & (x[ok] <= tb[2] + max_m) & (y[ok] >= tb[1] - max_m) & (y[ok] <= tb[3] + max_m)]
        if not sel.size:
            continue
        if pts is None:
            pts = np.full(x.shape, None, dtype=object)
        todo = sel[pts[sel] == None]  # noqa: E711
        if todo.size:
            pts[todo] = shapely.points(x[todo], y[todo])
        (src, _), d = tree[0].query_nearest(pts[sel], max_distance=max_m, return_distance=True, all_matches=False)
        idx = sel[src]
        better = ~(dist[idx] <= d)  # NaN (none yet) or farther: the old nearest becomes the second
        second = np.where(better, dist[idx], d)
        dist2[idx] = np.fmin(dist2[idx], second)
        dist[idx[better]] = d[better]
        pair[idx[better]] = pair_code(codes[i], codes[j])
    return pair, dist, dist2
