"""Cross-border movement: who was detected on which side of a border, when and where they crossed.

One module for both kinds of data (issue 6 and 7): camera-trap or genotype detections of identified
individuals, and GPS fixes of collared animals. Both are "fixes" (individual, time, place). Each fix gets
the side (country or zone) it lies in; a crossing is a change of side between consecutive fixes of an
individual. For tracks the crossing is also placed on the border line, with a time interpolated along the
path, and the time spent on each side is integrated per month.

Coordinates are WGS84 lon/lat in and out; all geometry is computed in a Lambert azimuthal equal-area CRS
centred on the data (antimeridian-aware), so distances, areas and interpolation are in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from econet.errors import EconetError
from econet.progress import no_progress

#: Meteorological seasons of the northern hemisphere (month -> season); December counts to the next year.
SEASONS_NORTH: dict[int, str] = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
                                 6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}

FIX_COLUMNS = ("individual", "species", "timestamp", "lon", "lat")


def _ns(ts: pd.Series) -> np.ndarray:
    """UTC times as int64 nanoseconds."""
    return pd.DatetimeIndex(ts).tz_convert("UTC").as_unit("ns").asi8


# ----------------------------------------------------------------------------------------------- inputs
def as_fixes(table: pd.DataFrame, *, individual: str = "individual", timestamp: str = "timestamp",
             lon: str | None = "lon", lat: str | None = "lat", species: str | None = "species",
             source: str | None = None) -> pd.DataFrame:
    """A standard fix table (individual, species, timestamp UTC, lon, lat, plus other columns kept) from any table.

    A GeoDataFrame of points is read from its geometry (reprojected to lon/lat); otherwise `lon`/`lat`
    name the coordinate columns. Rows are sorted by individual and time. Errors name the offending row.
    """
    df = table.copy()
    if hasattr(df, "geometry") and getattr(df, "crs", None) is not None and df.geometry.name in df.columns:
        import geopandas as gpd
        gdf = gpd.GeoDataFrame(df).to_crs(4326)
        if not (gdf.geometry.geom_type == "Point").all():
            raise EconetError("detections must be points", path=source)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["lon"], df["lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        lon, lat = "lon", "lat"
    for col, label in ((individual, "individual"), (timestamp, "timestamp"), (lon, "longitude"), (lat, "latitude")):
        if col is None or col not in df.columns:
            raise EconetError(f"no {label} column '{col}' (columns: {', '.join(map(str, df.columns))})",
                              path=source, field=col)
    out = pd.DataFrame(index=df.index)
    out["individual"] = df[individual].astype("string")
    out["species"] = df[species].astype("string") if species and species in df.columns else pd.Series(
        "unknown", index=df.index, dtype="string")
    ts = pd.to_datetime(df[timestamp], errors="coerce", utc=True)
    for col, name in ((lon, "lon"), (lat, "lat")):
        out[name] = pd.to_numeric(df[col], errors="coerce")
    bad = ts.isna() & df[timestamp].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise EconetError(f"cannot read the time '{df[timestamp].iloc[i]}'", path=source, row=i + 2,
                          field=timestamp)
    out["timestamp"] = ts
    badxy = (out["lon"].abs() > 360) | (out["lat"].abs() > 90)
    if badxy.any():
        i = int(np.flatnonzero(badxy.to_numpy())[0])
        raise EconetError("coordinates out of range for lon/lat", path=source, row=i + 2, field=lon)
    missing = out["individual"].isna() | out["timestamp"].isna() | out["lon"].isna() | out["lat"].isna()
    n_missing = int(missing.sum())
    out = out[~missing]
    for c in df.columns:
        if c not in (individual, timestamp, lon, lat, species) and c not in out.columns:
            out[c] = df.loc[out.index, c]
    out["lon"] = ((out["lon"] + 180.0) % 360.0) - 180.0
    out = out.sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True)
    out.attrs["n_without_id_time_or_place"] = n_missing  # unidentified detections cannot be used; say so
    return out


def lonlat_bounds(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float, float, float]:
    """(west, south, east, north) of points; east < west when the smallest box crosses the antimeridian."""
    lon = np.asarray(lon, dtype=float)
    w, e = float(np.min(lon)), float(np.max(lon))
    l360 = lon % 360.0
    w2, e2 = float(np.min(l360)), float(np.max(l360))
    if e2 - w2 < e - w:  # shorter the other way round
        w, e = ((w2 + 180) % 360) - 180, ((e2 + 180) % 360) - 180
    return w, float(np.min(lat)), e, float(np.max(lat))


def _clip_box(bounds: tuple[float, float, float, float], margin: float):
    from shapely.geometry import box
    w, s, e, n = bounds
    s, n = max(s - margin, -90.0), min(n + margin, 90.0)
    w, e = w - margin, e + margin
    if e < w or e > 180 or w < -180:  # wraps: two boxes
        w = ((w + 180) % 360) - 180
        e = ((e + 180) % 360) - 180
        if e < w:
            return box(w, s, 180.0, n).union(box(-180.0, s, e, n))
    return box(max(w, -180), s, min(e, 180), n)


# ------------------------------------------------------------------------------------------------ zones
@dataclass
class Zones:
    """Sides of a border in a metric CRS: one (multi)polygon per label, and the border lines between them."""

    labels: list[str]
    polygons: list  # shapely geometries in `crs`
    border: object  # shapely (multi)linestring in `crs`
    crs: object
    buffer: object | None = None  # border buffered by the tolerance (prepared)

    def to_lonlat(self, x, y):
        from pyproj import Transformer
        if getattr(self, "_to_ll", None) is None:
            self._to_ll = Transformer.from_crs(self.crs, 4326, always_xy=True)
        return self._to_ll.transform(x, y)


def metric_crs_for(lon: np.ndarray, lat: np.ndarray):
    """The equal-area CRS centred on the points (antimeridian-aware)."""
    from econet.geo.crs import equal_area_crs
    return equal_area_crs(lonlat_bounds(lon, lat))


def prepare_zones(zones, field: str, crs, *, border=None, region_lonlat: tuple | None = None,
                  tolerance_m: float = 0.0, margin_deg: float = 2.0) -> Zones:
    """Dissolve the zone polygons by `field`, clip them to the region, project them, and find their shared border.

    `border` (optional lines, e.g. Natural Earth boundary lines) replaces the border derived from the
    polygons. `tolerance_m` > 0 builds the band around the border inside which a fix gets no side.
    """
    import geopandas as gpd
    import shapely

    if field not in zones.columns:
        raise EconetError(f"no field '{field}' in the zone layer (fields: "
                          f"{', '.join(c for c in zones.columns if c != zones.geometry.name)})", field=field)
    z = zones[[field, zones.geometry.name]].copy()
    if z.crs is None:
        z = z.set_crs(4326)
    z = z.to_crs(4326)
    z = z[~z.geometry.is_empty & z.geometry.notna()]
    z["geometry"] = shapely.make_valid(z.geometry.values)
    if region_lonlat is not None:
        clip = _clip_box(region_lonlat, margin_deg)
        z = z[z.intersects(clip)].copy()
        z["geometry"] = z.geometry.intersection(clip)
    if z.empty:
        raise EconetError("no zone polygon overlaps the detections")
    z = z.dissolve(by=field, as_index=False).to_crs(crs)
    labels = [str(v) for v in z[field]]
    polys = list(z.geometry.values)
    if border is not None:
        b = border.to_crs(4326) if border.crs is not None else border.set_crs(4326)
        if region_lonlat is not None:
            clip = _clip_box(region_lonlat, margin_deg)
            b = b[b.intersects(clip)]
            b = gpd.GeoDataFrame(geometry=b.geometry.intersection(clip), crs=4326)
        line = shapely.union_all(b.to_crs(crs).geometry.values)
    else:
        parts = []
        for i in range(len(polys)):
            for j in range(i + 1, len(polys)):
                shared = shapely.intersection(polys[j].boundary, polys[i].buffer(1.0))
                if not shared.is_empty:
                    parts.append(shared)
        line = shapely.union_all(parts) if parts else shapely.geometry.MultiLineString()
    for p in polys:
        shapely.prepare(p)
    buf = None
    if tolerance_m > 0 and not line.is_empty:
        buf = line.buffer(tolerance_m)
        shapely.prepare(buf)
    return Zones(labels, polys, line, crs, buf)


def zones_from_border_lines(lines, left: str, right: str, fixes_lonlat: tuple[np.ndarray, np.ndarray], *,
                            reach_m: float | None = None):
    """Side polygons from border lines that name the country on each side (Natural Earth's adm0_a3_l /
    adm0_a3_r): a one-sided buffer to the left and to the right of each line, reaching past every fix.

    Returns a lon/lat GeoDataFrame with a `side` column, usable as `zones` with field 'side'.
    """
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    for c in (left, right):
        if c not in lines.columns:
            raise EconetError(f"border layer lacks the side field '{c}'", field=c)
    lon, lat = fixes_lonlat
    crs = metric_crs_for(lon, lat)
    bounds = lonlat_bounds(lon, lat)
    ll = lines.set_crs(4326) if lines.crs is None else lines
    ll = ll.to_crs(4326)
    clip = _clip_box(bounds, 1.0)
    ll = ll[ll.intersects(clip)].copy()
    if ll.empty:
        raise EconetError("no border line near the detections")
    ll["geometry"] = shapely.intersection(ll.geometry.values, clip)
    ll = ll.to_crs(crs)
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    if reach_m is None:
        d = shapely.distance(shapely.points(np.column_stack([x, y])), shapely.union_all(ll.geometry.values))
        reach_m = float(np.nanmax(d)) * 1.5 + 10_000.0
    labels, geoms = [], []
    for _, r in ll.iterrows():
        for part in shapely.get_parts(shapely.line_merge(r.geometry)):
            if part.length == 0:
                continue
            labels += [str(r[left]), str(r[right])]
            geoms += [part.buffer(reach_m, single_sided=True), part.buffer(-reach_m, single_sided=True)]
    g = gpd.GeoDataFrame({"side": labels}, geometry=shapely.make_valid(np.array(geoms, dtype=object)), crs=crs)
    g = g.dissolve(by="side", as_index=False)
    # where the buffers of two sides overlap (bends), the nearer line decides: keep only the undisputed parts
    polys = list(g.geometry.values)
    clean = [shapely.difference(p, shapely.union_all([q for j, q in enumerate(polys) if j != i]))
             if len(polys) > 1 else p for i, p in enumerate(polys)]
    g["geometry"] = clean
    return g.to_crs(4326)


def assign_sides(x: np.ndarray, y: np.ndarray, zones: Zones) -> tuple[np.ndarray, np.ndarray]:
    """Zone index of each projected point (-1 outside every zone) and whether it lies in the border band."""
    import shapely

    code = np.full(len(x), -1, dtype=np.int32)
    for k, poly in enumerate(zones.polygons):
        todo = code < 0
        if not todo.any():
            break
        inside = shapely.contains_xy(poly, x[todo], y[todo])
        idx = np.flatnonzero(todo)[inside]
        code[idx] = k
    near = np.zeros(len(x), dtype=bool)
    if zones.buffer is not None:
        near = shapely.contains_xy(zones.buffer, x, y)
    return code, near


# --------------------------------------------------------------------------------------------- periods
def season_of(ts: pd.Series, seasons: Mapping[int, str] = SEASONS_NORTH) -> pd.Series:
    """Season label with its year, e.g. '2014 winter' (a season spanning New Year takes the later year)."""
    month = ts.dt.month
    label = month.map(seasons)
    year = ts.dt.year.copy()
    # a season containing December and January belongs to the year of its January
    wraps = {s for s in set(seasons.values()) if any(seasons.get(m) == s for m in (12,))
             and any(seasons.get(m) == s for m in (1,))}
    shift = (month >= 7) & label.isin(wraps)
    year = year + shift.astype(int)
    return year.astype(str) + " " + label.astype(str)


def period_of(ts: pd.Series, period: str = "all", seasons: Mapping[int, str] = SEASONS_NORTH) -> pd.Series:
    """Analysis period label of each time: 'all', 'year', 'season' (with year), 'month' (YYYY-MM)."""
    if period == "all":
        return pd.Series("all", index=ts.index)
    if period == "year":
        return ts.dt.year.astype(str)
    if period == "season":
        return season_of(ts, seasons)
    if period == "month":
        return ts.dt.strftime("%Y-%m")
    raise EconetError(f"unknown period '{period}' (use all, year, season or month)", field="period")


# ------------------------------------------------------------------------------------------- crossings
@dataclass
class CrossingResult:
    """All tables of a crossings analysis (pandas/geopandas, ready for CSV or GeoPackage)."""

    fixes: pd.DataFrame          # input fixes with side, near_border, x, y
    events: pd.DataFrame         # one row per crossing
    individuals: pd.DataFrame    # per individual and period: sides seen, crossings
    summary: pd.DataFrame        # per species and period: how many in each country, in both, only in one
    totals: pd.DataFrame         # crossings per species and season
    time_by_month: pd.DataFrame  # tracks: hours on each side per individual and month
    mcps: object = None          # GeoDataFrame: MCP per individual, share in each zone
    zones: Zones | None = None
    meta: dict = field(default_factory=dict)


def _interp_crossing(px, py, pt, border, from_poly):
    """Where and when a path (projected vertices, times in ns) crosses the border: the last intersection along it."""
    import shapely
    from shapely.geometry import LineString, Point

    if len(px) < 2 or (np.all(px == px[0]) and np.all(py == py[0])):
        return px[-1], py[-1], pt[-1], "endpoint"
    line = LineString(np.column_stack([px, py]))
    method = "border"
    hit = shapely.intersection(line, border) if border is not None and not border.is_empty else None
    if hit is None or hit.is_empty:
        hit = shapely.intersection(line, from_poly.boundary) if from_poly is not None else None
        method = "zone edge"
    seglen = np.hypot(np.diff(px), np.diff(py))
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    if hit is not None and not hit.is_empty:
        pts = shapely.get_coordinates(hit)
        d = np.array([line.project(Point(p)) for p in pts])
        k = int(np.argmax(d))
        dist = d[k]
        cx, cy = pts[k]
    else:
        # no intersection (coarse border data, sea): the point of the path nearest the border
        method = "nearest"
        if border is not None and not border.is_empty:
            p = shapely.ops.nearest_points(line, border)[0]
            dist = line.project(p)
            cx, cy = p.x, p.y
        else:
            dist = cum[-1] / 2
            q = line.interpolate(dist)
            cx, cy = q.x, q.y
    t = np.interp(dist, cum, pt.astype(np.float64)) if cum[-1] > 0 else float(pt[-1])
    return cx, cy, t, method


def _border_tree(z: "Zones"):
    """Border as 2-point segments (x0, y0, x1, y1) with an STRtree on them, cached on the zones."""
    import shapely
    if getattr(z, "_segs", None) is None:
        segs = []
        for part in shapely.get_parts(z.border):
            c = shapely.get_coordinates(part)
            if len(c) >= 2:
                segs.append(np.column_stack([c[:-1], c[1:]]))
        segs = np.vstack(segs) if segs else np.zeros((0, 4))
        segs = segs[(segs[:, 0] != segs[:, 2]) | (segs[:, 1] != segs[:, 3])]
        geoms = shapely.linestrings(segs.reshape(-1, 2, 2)) if len(segs) else np.array([], dtype=object)
        z._segs, z._tree = segs, shapely.STRtree(geoms)
    return z._segs, z._tree


def _interp_many(a_idx, b_idx, x, y, t_ns, z: "Zones"):
    """Crossing place and time for many events at once: the last intersection of each event's path (fixes a..b)
    with the border segments, found with an STRtree and solved as segment-segment intersections.

    Returns x, y, time (float ns) and a found mask; events without a hit are left to `_interp_crossing`.
    """
    import shapely

    k = len(a_idx)
    out_x, out_y, out_t = np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan)
    found = np.zeros(k, dtype=bool)
    segs, tree = _border_tree(z)
    if k == 0 or len(segs) == 0:
        return out_x, out_y, out_t, found
    counts = (b_idx - a_idx).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ev = np.repeat(np.arange(k), counts)
    step = np.repeat(a_idx, counts) + (np.arange(counts.sum()) - np.repeat(starts, counts))
    p0x, p0y, p1x, p1y = x[step], y[step], x[step + 1], y[step + 1]
    seglen = np.hypot(p1x - p0x, p1y - p0y)
    cum = np.cumsum(seglen)
    offset = cum - seglen - np.repeat(np.concatenate([[0.0], cum])[starts], counts)
    paths = shapely.linestrings(np.stack([np.column_stack([p0x, p0y]), np.column_stack([p1x, p1y])], axis=1))
    qi, ti = tree.query(paths)
    if len(qi) == 0:
        return out_x, out_y, out_t, found
    rx, ry = p1x[qi] - p0x[qi], p1y[qi] - p0y[qi]
    sx, sy = segs[ti, 2] - segs[ti, 0], segs[ti, 3] - segs[ti, 1]
    qx, qy = segs[ti, 0] - p0x[qi], segs[ti, 1] - p0y[qi]
    den = rx * sy - ry * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qx * sy - qy * sx) / den
        u = (qx * ry - qy * rx) / den
    ok = (den != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    qi, t = qi[ok], t[ok]
    if len(qi) == 0:
        return out_x, out_y, out_t, found
    e = ev[qi]
    dist = offset[qi] + t * seglen[qi]
    order = np.lexsort((dist, e))
    last = order[np.r_[e[order][1:] != e[order][:-1], True]]  # the farthest hit of each event
    e, q, tt = e[last], qi[last], t[last]
    out_x[e] = p0x[q] + tt * (p1x[q] - p0x[q])
    out_y[e] = p0y[q] + tt * (p1y[q] - p0y[q])
    st = step[q]
    out_t[e] = t_ns[st] + tt * (t_ns[st + 1] - t_ns[st]).astype(np.float64)
    found[e] = True
    return out_x, out_y, out_t, found


def crossings(fixes: pd.DataFrame, zones, field: str, *, border=None, tracks: bool = False,
              tolerance_m: float = 0.0, max_gap: pd.Timedelta | str | None = "2D", period: str = "all",
              seasons: Mapping[int, str] = SEASONS_NORTH, mcp_percent: float | None = 100.0,
              progress: Callable = no_progress) -> CrossingResult:
    """Cross-border analysis of fixes (from `as_fixes`) against zone polygons (e.g. countries) named by `field`.

    - each fix gets a side; fixes within `tolerance_m` of the border, or outside every zone, get none and
      never make a crossing by themselves (a track running along the border does not "cross" at each fix);
    - a crossing is a change between consecutive sided fixes of an individual; for `tracks=True` it is
      placed on the border where the path between them last crosses it, at a time interpolated along the
      path; a crossing whose fixes are more than `max_gap` apart is kept and flagged `gap` (its place and
      time are uncertain, and an even number of further crossings in the gap cannot be seen);
    - per individual and period: sides seen, "both"/"only X"; per species and period the counts and the
      share of transboundary individuals; crossings per species and season; hours per side and month.
    """
    from pyproj import Transformer

    if fixes.empty:
        raise EconetError("no detections or fixes to analyse")
    for c in FIX_COLUMNS:
        if c not in fixes.columns:
            raise EconetError(f"fix table lacks column '{c}' (use as_fixes)", field=c)
    f = fixes.sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True).copy()
    lon, lat = f["lon"].to_numpy(float), f["lat"].to_numpy(float)
    crs = metric_crs_for(lon, lat)
    progress(0, 4, "projecting")
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    x, y = np.asarray(x), np.asarray(y)
    z = zones if isinstance(zones, Zones) else prepare_zones(
        zones, field, crs, border=border, region_lonlat=lonlat_bounds(lon, lat), tolerance_m=tolerance_m)
    progress(1, 4, "assigning sides")
    code, near = assign_sides(x, y, z)
    labels = np.array(z.labels + [None], dtype=object)
    f["x"], f["y"] = x, y
    f["side"] = labels[code]
    f["near_border"] = near
    f["period"] = period_of(f["timestamp"], period, seasons)
    sided = (code >= 0) & ~near
    gap = pd.Timedelta(max_gap) if max_gap is not None else None

    # crossings: consecutive sided fixes of one individual on different sides
    progress(2, 4, "finding crossings")
    ind_codes = pd.factorize(f["individual"])[0]
    idx = np.flatnonzero(sided)
    c_s, i_s = code[idx], ind_codes[idx]
    change = (c_s[1:] != c_s[:-1]) & (i_s[1:] == i_s[:-1])
    a_idx, b_idx = idx[:-1][change], idx[1:][change]
    t_ns = _ns(f["timestamp"])
    ind_arr = f["individual"].to_numpy(dtype=object)
    sp_arr = f["species"].to_numpy(dtype=object)
    rows, cxy = [], []
    if tracks:
        vx, vy, vt, vfound = _interp_many(a_idx, b_idx, x, y, t_ns, z)
    for n_ev, (a, b) in enumerate(zip(a_idx, b_idx)):
        fa, fb = int(code[a]), int(code[b])
        dt_ns = int(t_ns[b] - t_ns[a])
        row = {"individual": ind_arr[a], "species": sp_arr[a],
               "from_side": labels[fa], "to_side": labels[fb], "direction": f"{labels[fa]}→{labels[fb]}",
               "time_before": int(t_ns[a]), "time_after": int(t_ns[b]),
               "lon_before": lon[a], "lat_before": lat[a], "lon_after": lon[b], "lat_after": lat[b],
               "gap_hours": dt_ns / 3.6e12, "gap": bool(gap is not None and dt_ns > gap.value)}
        if tracks:
            if vfound[n_ev]:
                cx_, cy_, ct, method = vx[n_ev], vy[n_ev], vt[n_ev], "border"
            else:
                sl = slice(a, b + 1)
                cx_, cy_, ct, method = _interp_crossing(x[sl], y[sl], t_ns[sl], z.border, z.polygons[fa])
            row.update(crossing_ns=int(round(ct)), method=method)
            cxy.append((cx_, cy_))
        else:
            row.update(crossing_ns=None, method="detections")
        rows.append(row)
    if tracks and rows:
        clon, clat = Transformer.from_crs(crs, 4326, always_xy=True).transform(
            np.array([p[0] for p in cxy]), np.array([p[1] for p in cxy]))
        for row, lo, la in zip(rows, np.atleast_1d(clon), np.atleast_1d(clat)):
            row.update(lon=float(lo), lat=float(la))
    for row in rows:
        ns = row.pop("crossing_ns")
        row["crossing_time"] = pd.Timestamp(ns, unit="ns", tz="UTC") if ns is not None else pd.NaT
        row.setdefault("lon", np.nan)
        row.setdefault("lat", np.nan)
    ev_cols = ["individual", "species", "from_side", "to_side", "direction", "time_before", "time_after",
               "crossing_time", "lon", "lat", "gap_hours", "gap", "method", "lon_before", "lat_before",
               "lon_after", "lat_after"]
    events = pd.DataFrame(rows, columns=ev_cols)
    for c in ("time_before", "time_after"):
        events[c] = pd.to_datetime(events[c].astype("int64"), unit="ns", utc=True)
    if not events.empty:
        when = events["crossing_time"].where(events["crossing_time"].notna(), events["time_after"])
        events["crossing_time"] = pd.to_datetime(events["crossing_time"], utc=True)
        events["season"] = season_of(pd.to_datetime(when, utc=True), seasons)
        events["period"] = period_of(pd.to_datetime(when, utc=True), period, seasons)
    else:
        events["season"] = pd.Series(dtype="string")
        events["period"] = pd.Series(dtype="string")

    progress(3, 4, "summarising")
    individuals = _individual_table(f, events, z.labels)
    summary = _summary_table(individuals, z.labels)
    totals = _totals_table(events)
    tbm = time_by_month(f, events, gap) if tracks else pd.DataFrame(
        columns=["individual", "species", "month", "side", "hours"])
    mcps = None
    if mcp_percent is not None:
        mcps = mcp_by_zone(f, z, percent=mcp_percent)
    progress(4, 4, "done")
    return CrossingResult(f, events, individuals, summary, totals, tbm, mcps, z,
                          {"crs": crs.to_wkt(), "tolerance_m": tolerance_m, "period": period,
                           "max_gap": str(gap) if gap is not None else None})


def _individual_table(f: pd.DataFrame, events: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    sided = f[f["side"].notna() & ~f["near_border"]]
    g = sided.groupby(["species", "period", "individual"], observed=True)
    rows = []
    for (sp, per, ind), d in g:
        counts = d["side"].value_counts()
        sides = [s for s in labels if s in counts.index]
        ev = events[(events["individual"] == ind) & (events["period"] == per)] if not events.empty else events
        row = {"species": sp, "period": per, "individual": ind, "n_fixes": len(d), "sides": ";".join(sides),
               "n_sides": len(sides),
               "status": "both" if len(sides) >= 2 else f"only {sides[0]}",
               "first": d["timestamp"].min(), "last": d["timestamp"].max(), "n_crossings": len(ev)}
        for s in labels:
            row[f"n_{s}"] = int(counts.get(s, 0))
        rows.append(row)
    cols = ["species", "period", "individual", "n_fixes", "sides", "n_sides", "status", "first", "last",
            "n_crossings"] + [f"n_{s}" for s in labels]
    return pd.DataFrame(rows, columns=cols)


def _summary_table(ind: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    rows = []
    for (sp, per), d in ind.groupby(["species", "period"], observed=True):
        n = len(d)
        both = int((d["n_sides"] >= 2).sum())
        row = {"species": sp, "period": per, "n_individuals": n, "in_both": both}
        for s in labels:
            row[f"detected_in_{s}"] = int((d[f"n_{s}"] > 0).sum())
            row[f"only_{s}"] = int(((d[f"n_{s}"] > 0) & (d["n_sides"] == 1)).sum())
        row["share_transboundary"] = both / n if n else np.nan
        row["n_crossings"] = int(d["n_crossings"].sum())
        rows.append(row)
    cols = (["species", "period", "n_individuals"] + [f"detected_in_{s}" for s in labels] + ["in_both"]
            + [f"only_{s}" for s in labels] + ["share_transboundary", "n_crossings"])
    return pd.DataFrame(rows, columns=cols)


def _totals_table(events: pd.DataFrame) -> pd.DataFrame:
    cols = ["species", "season", "n_crossings", "n_individuals_crossing", "directions", "n_gap_crossings"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (sp, se), d in events.groupby(["species", "season"], observed=True):
        dirs = d["direction"].value_counts()
        rows.append({"species": sp, "season": se, "n_crossings": len(d),
                     "n_individuals_crossing": d["individual"].nunique(),
                     "directions": "; ".join(f"{k}: {v}" for k, v in sorted(dirs.items())),
                     "n_gap_crossings": int(d["gap"].sum())})
    return pd.DataFrame(rows, columns=cols)


def _split_by_month(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut [start, end) intervals (datetime64[ns]) at month boundaries; returns starts, ends, source index."""
    s_m = start.astype("datetime64[M]")
    e_m = (end - np.timedelta64(1, "ns")).astype("datetime64[M]")
    simple = s_m >= e_m
    S, E, I = [start[simple]], [end[simple]], [np.flatnonzero(simple)]
    for i in np.flatnonzero(~simple):
        a = start[i]
        while True:
            nxt = (a.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[ns]")
            if nxt >= end[i]:
                S.append(np.array([a])); E.append(np.array([end[i]])); I.append(np.array([i]))
                break
            S.append(np.array([a])); E.append(np.array([nxt])); I.append(np.array([i]))
            a = nxt
    return np.concatenate(S), np.concatenate(E), np.concatenate(I)


def time_by_month(f: pd.DataFrame, events: pd.DataFrame, max_gap: pd.Timedelta | None) -> pd.DataFrame:
    """Hours each individual spent on each side per calendar month (UTC).

    The side switches at each crossing's interpolated time; steps longer than `max_gap` are not
    attributed to a side but reported as side '(gap)'. Fixes with no side inherit the last known side.
    """
    out = []
    gap_ns = max_gap.value if max_gap is not None else np.iinfo(np.int64).max
    for ind, d in f.groupby("individual", sort=False):
        t = _ns(d["timestamp"]).astype("datetime64[ns]")
        if len(t) < 2:
            continue
        sided = d["side"].where(~d["near_border"]).ffill().bfill().to_numpy(dtype=object)
        ev = events[events["individual"] == ind] if not events.empty else events
        sw_t = _ns(ev["crossing_time"]).astype("datetime64[ns]") if len(ev) else \
            np.array([], dtype="datetime64[ns]")
        sw_to = ev["to_side"].to_numpy(dtype=object) if len(ev) else np.array([], dtype=object)
        start, end = t[:-1], t[1:]
        order = np.argsort(sw_t)
        sw_t, sw_to = sw_t[order], sw_to[order]
        # cut steps at the crossing times: pieces between consecutive fix or crossing times
        inner = sw_t[(sw_t > t[0]) & (sw_t < t[-1])]
        if len(inner):
            bounds = np.unique(np.concatenate([t, inner]))
            ps, pe = bounds[:-1], bounds[1:]
            pi = np.searchsorted(t, ps, side="right") - 1
        else:
            ps, pe, pi = start, end, np.arange(len(start))
        # side at a time: the destination of the last crossing up to then, else the first known side
        first = ev["from_side"].iloc[0] if len(ev) else next((s for s in sided if s is not None), None)
        j = np.searchsorted(sw_t, ps, side="right") - 1
        side = np.where(j >= 0, sw_to[np.clip(j, 0, None)] if len(sw_to) else None, first).astype(object)
        side = np.where(pd.isna(side), "(none)", side).astype(object)
        step_len = (end - start).astype(np.int64)[pi]
        side = np.where(step_len > gap_ns, "(gap)", side)
        ms, me, mi = _split_by_month(ps, pe)
        out.append((ind, d["species"].iloc[0], ms.astype("datetime64[M]").astype(np.int64), side[mi],
                    (me - ms).astype(np.int64) / 3.6e12))
    if not out:
        return pd.DataFrame(columns=["individual", "species", "month", "side", "hours"])
    tab = pd.DataFrame({
        "individual": np.repeat([o[0] for o in out], [len(o[2]) for o in out]),
        "species": np.repeat([o[1] for o in out], [len(o[2]) for o in out]),
        "month": np.concatenate([o[2] for o in out]),
        "side": np.concatenate([o[3] for o in out]).astype(str),
        "hours": np.concatenate([o[4] for o in out])})
    tab = tab.groupby(["individual", "species", "month", "side"], as_index=False, sort=True)["hours"].sum()
    months = np.unique(tab["month"])
    names = dict(zip(months, pd.DatetimeIndex(months.astype("datetime64[M]")).strftime("%Y-%m")))
    tab["month"] = tab["month"].map(names)
    return tab


def mcp_by_zone(f: pd.DataFrame, z: Zones, percent: float = 100.0):
    """Minimum convex polygon of each individual (and period), its area, and its share in each zone."""
    import geopandas as gpd
    import shapely

    from econet.analytics.homerange import mcp_polygon

    rows, geoms = [], []
    for (sp, per, ind), d in f.groupby(["species", "period", "individual"], observed=True):
        xy = np.unique(d[["x", "y"]].to_numpy(), axis=0)
        if len(xy) < 3:
            continue
        poly = mcp_polygon(xy, percent)
        if poly.is_empty or poly.area <= 0:
            continue
        row = {"species": sp, "period": per, "individual": ind, "percent": percent, "n_fixes": len(d),
               "area_km2": poly.area / 1e6}
        shares = []
        for lab, zp in zip(z.labels, z.polygons):
            s = shapely.intersection(poly, zp).area / poly.area
            row[f"share_{lab}"] = s
            shares.append(s)
        row["straddles_border"] = sum(s > 1e-9 for s in shares) >= 2
        rows.append(row)
        geoms.append(poly)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=z.crs)
    return gdf.to_crs(4326) if len(gdf) else gdf.set_crs(4326, allow_override=True)


def crossing_points(events: pd.DataFrame):
    """Crossings as a point layer (interpolated place when known, else the first fix after the crossing)."""
    import geopandas as gpd
    lon = events["lon"].where(events["lon"].notna(), events["lon_after"])
    lat = events["lat"].where(events["lat"].notna(), events["lat_after"])
    return gpd.GeoDataFrame(events.copy(), geometry=gpd.points_from_xy(lon, lat), crs=4326)
