"""Readers for secr's input formats, so secr users can bring their files unchanged.

- Trap layout files (secr ``read.traps``/DENSITY text): ``detectorID x y [usage] [/ covariates]``,
  whitespace separated, ``#`` comments; usage is a 0/1 string (``11011``) or one number per occasion.
- Capture files (secr ``read.capthist``/DENSITY text): ``session ID occasion detectorID`` (trapID
  form) or ``session ID occasion x y`` (XY form); a negative occasion marks an animal removed
  (died) on that occasion; extra columns are individual covariates (ignored here).
- The CSV forms of secr's data (``session,ID,occasion,detector,count[,x,y]`` captures; traps
  ``[session,]detector,x,y[,usage_*][,cov_*]``; masks ``x,y[,cov_*]``), and DENSITY's
  ``trapID,x,y`` / ``Session,ID,Occasion,X,Y`` data frames. Negative counts mark removals.
"""

from __future__ import annotations

import csv
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from econet.analytics.scr import CaptureHistory, Mask, Traps, mask_from_points
from econet.errors import EconetError

_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _isnum(tok: str) -> bool:
    return bool(_NUM.match(tok))


def _is_csv(path: Path) -> bool:
    if path.suffix.lower() == ".csv":
        return True
    for line in _lines(path):
        return "," in line[1]
    return False


def _lines(path: Path):
    """(row number, stripped line) for non-empty, non-comment lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EconetError("file not found", path=path) from None
    except UnicodeDecodeError:
        raise EconetError("not a text file", path=path) from None
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            yield i, line


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames:
                raise EconetError("empty CSV file", path=path)
            fields = [h.strip() for h in reader.fieldnames]
            rows = [(i, {k.strip(): (v or "").strip() for k, v in r.items() if k is not None})
                    for i, r in enumerate(reader, start=2)]
    except FileNotFoundError:
        raise EconetError("file not found", path=path) from None
    return fields, rows


def _col(fields: list[str], *names: str) -> str | None:
    low = {f.lower(): f for f in fields}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


def _float(v: str, path, row, field) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise EconetError(f"not a number: {v!r}", path=path, row=row, field=field) from None


# --------------------------------------------------------------------------------------------
# Traps
# --------------------------------------------------------------------------------------------

def read_traps(path: str | Path, detector: str = "multi") -> dict[str | None, Traps]:
    """Detector layouts keyed by session (None when one layout serves every session)."""
    path = Path(path)
    if _is_csv(path):
        return _read_traps_csv(path, detector)
    if detector.startswith("polygon"):
        pid, pts = [], []
        for row, line in _lines(path):
            t = line.split()
            if len(t) < 3:
                raise EconetError("a polygon line needs: polyID x y", path=path, row=row)
            pid.append(t[0])
            pts.append((_float(t[1], path, row, "x"), _float(t[2], path, row, "y")))
        ids = [f"{p}.{i + 1}" for i, p in enumerate(pid)]
        return {None: Traps(np.array(ids), np.array(pts), None, detector, poly=np.array(pid))}
    ids, xy, usage = [], [], []
    for row, line in _lines(path):
        main = line.split("/", 1)[0].split()
        if len(main) < 3:
            raise EconetError("a trap line needs: detectorID x y [usage]", path=path, row=row)
        ids.append(main[0])
        xy.append((_float(main[1], path, row, "x"), _float(main[2], path, row, "y")))
        rest = main[3:]
        if len(rest) == 1 and re.fullmatch(r"[01]+", rest[0]) and len(rest[0]) > 1:
            usage.append([float(c) for c in rest[0]])
        elif rest:
            usage.append([_float(t, path, row, "usage") for t in rest])
        else:
            usage.append(None)
    if not ids:
        raise EconetError("no detectors in trap file", path=path)
    U = None
    if any(u is not None for u in usage):
        lens = {len(u) for u in usage if u is not None}
        if None in usage or len(lens) != 1:
            raise EconetError("usage must be given for every detector and occasion", path=path,
                              field="usage")
        U = np.array(usage, dtype=float)
    return {None: Traps(np.array(ids), np.array(xy), U, detector)}


def _read_traps_csv(path: Path, detector: str) -> dict[str | None, Traps]:
    fields, rows = _csv_rows(path)
    cid = _col(fields, "detector", "trapID", "trap", "detectorID", "ID")
    cx, cy = _col(fields, "x"), _col(fields, "y")
    if not (cid and cx and cy):
        raise EconetError("trap CSV needs columns detector (or trapID), x and y", path=path)
    cs = _col(fields, "session")
    cp = _col(fields, "polyID", "transectID")
    ucols = [f for f in fields if f.lower().startswith("usage")]
    ccols = [f for f in fields if f.lower().startswith("cov_")]
    groups: "OrderedDict[str | None, list]" = OrderedDict()
    for row, r in rows:
        key = r[cs] if cs else None
        u = [_float(r[c], path, row, c) for c in ucols] if ucols else None
        groups.setdefault(key, []).append((r[cid], _float(r[cx], path, row, cx),
                                           _float(r[cy], path, row, cy), u,
                                           r[cp] if cp else None, [r[c] for c in ccols]))
    if not groups:
        raise EconetError("no detectors in trap file", path=path)
    out = {}
    for key, items in groups.items():
        U = np.array([it[3] for it in items], dtype=float) if ucols else None
        out[key] = Traps(np.array([it[0] for it in items]),
                         np.array([(it[1], it[2]) for it in items]), U, detector,
                         poly=np.array([it[4] for it in items]) if cp else None,
                         covariates={c[4:]: _covariate([it[5][j] for it in items])
                                     for j, c in enumerate(ccols)} or None)
    return out


# --------------------------------------------------------------------------------------------
# Captures
# --------------------------------------------------------------------------------------------

def _raw_captures(path: Path, fmt: str) -> list[tuple[int, str, str, int, str | None, tuple | None, int]]:
    """(row, session, ID, occasion (signed), detector or None, (x, y) or None, count)."""
    out = []
    if _is_csv(path):
        fields, rows = _csv_rows(path)
        cs = _col(fields, "session")
        ci = _col(fields, "ID", "animal", "individual")
        co = _col(fields, "occasion")
        cd = _col(fields, "detector", "trapID", "trap")
        cx, cy = _col(fields, "x"), _col(fields, "y")
        cc = _col(fields, "count")
        if not (ci and co):
            raise EconetError("capture CSV needs columns ID and occasion", path=path)
        use_xy = (fmt == "XY") or (cd is None)
        if use_xy and not (cx and cy):
            raise EconetError("capture CSV needs a detector column or x and y columns", path=path)
        for row, r in rows:
            occ = int(_float(r[co], path, row, co))
            cnt = int(_float(r[cc], path, row, cc)) if cc and r.get(cc, "") != "" else 1
            if cnt < 0:
                occ, cnt = -abs(occ), -cnt
            if cnt == 0:
                continue
            xy = (_float(r[cx], path, row, cx), _float(r[cy], path, row, cy)) if use_xy else None
            out.append((row, r[cs] if cs else "1", r[ci], occ, None if use_xy else r[cd], xy, cnt))
        return out
    for row, line in _lines(path):
        t = line.split()
        if len(t) < 4:
            raise EconetError("a capture line needs: session ID occasion detector (or x y)",
                              path=path, row=row)
        occ = int(_float(t[2], path, row, "occasion"))
        xy = None
        det = t[3]
        if fmt == "XY":
            if len(t) < 5:
                raise EconetError("an XY capture line needs: session ID occasion x y", path=path, row=row)
            xy = (_float(t[3], path, row, "x"), _float(t[4], path, row, "y"))
            det = None
        out.append((row, t[0], t[1], occ, det, xy, 1))
    return out


def read_capthist(captures: str | Path, traps: str | Path | dict, detector: str = "multi",
                  fmt: str = "auto", n_occasions: int | None = None) -> list[CaptureHistory]:
    """Capture histories (one per session) from a capture file and a trap layout file.

    ``fmt`` is "trapID", "XY" or "auto" (XY when the fourth column does not name a detector but the
    fourth and fifth are coordinates of one). ``n_occasions`` defaults to the usage columns, else
    the largest occasion number in the file.
    """
    cpath = Path(captures)
    layouts = traps if isinstance(traps, dict) else read_traps(traps, detector)
    if fmt not in ("auto", "trapID", "XY"):
        raise EconetError("capture format must be auto, trapID or XY")
    if any(t.poly is not None for t in layouts.values()):
        fmt = "XY"   # polygon searches: detections are located by x-y (secr read.capthist)
    if fmt == "auto":
        recs = _raw_captures(cpath, "trapID")
        all_ids = {i for t in layouts.values() for i in t.ids.tolist()}
        if recs and recs[0][4] is not None and any(r[4] not in all_ids for r in recs) and not _is_csv(cpath):
            fmt = "XY"
            recs = _raw_captures(cpath, "XY")
        else:
            fmt = "trapID"
    else:
        recs = _raw_captures(cpath, fmt)
    if not recs:
        raise EconetError("no captures in file", path=cpath)
    sessions: "OrderedDict[str, list]" = OrderedDict()
    for r in recs:
        sessions.setdefault(r[1], []).append(r)
    S_usage = {t.usage.shape[1] for t in layouts.values() if t.usage is not None}
    max_occ = max(abs(r[3]) for r in recs)
    if n_occasions is None:
        n_occasions = S_usage.pop() if len(S_usage) == 1 else max_occ
    if max_occ > n_occasions:
        raise EconetError(f"occasion {max_occ} exceeds the {n_occasions} occasions", path=cpath,
                          field="occasion")
    out = []
    for sess, rs in sessions.items():
        if sess in layouts:
            tr = layouts[sess]
        elif None in layouts:
            tr = layouts[None]
        elif len(layouts) == 1:
            tr = next(iter(layouts.values()))
        else:
            raise EconetError(f"no trap layout for session {sess!r}", path=cpath, field="session")
        tr = Traps(tr.ids, tr.xy, tr.usage, detector, poly=tr.poly)
        polys = None
        if tr.poly is not None:
            import shapely
            pids = list(dict.fromkeys(tr.poly.tolist()))
            polys = [shapely.Polygon(tr.xy[tr.poly == p]) for p in pids]
        index = {t: k for k, t in enumerate(tr.ids.tolist())}
        xyindex = {(round(x, 6), round(y, 6)): k for k, (x, y) in enumerate(tr.xy.tolist())}
        animals: "OrderedDict[str, int]" = OrderedDict()
        ind, occ, trap, cnt = [], [], [], []
        dead: dict[int, int] = {}
        dxy = []
        for row, _, aid, o, det, xy, c in rs:
            if o == 0:
                raise EconetError("occasion numbers start at 1", path=cpath, row=row, field="occasion")
            if polys is not None:
                import shapely
                pt = shapely.Point(xy)
                hits = [j for j, pg in enumerate(polys) if pg.buffer(1e-6).contains(pt)]
                if not hits:
                    raise EconetError(f"detection at x={xy[0]:g}, y={xy[1]:g} is outside every "
                                      "search polygon", path=cpath, row=row)
                k = hits[0]
                dxy.append(xy)
            elif xy is not None:
                k = xyindex.get((round(xy[0], 6), round(xy[1], 6)))
                if k is None:
                    raise EconetError(f"no detector at x={xy[0]:g}, y={xy[1]:g}", path=cpath, row=row)
            else:
                k = index.get(det)
                if k is None:
                    raise EconetError(f"unknown detector {det!r}", path=cpath, row=row, field="detector")
            i = animals.setdefault(aid, len(animals))
            s = abs(o) - 1
            if o < 0:
                dead[i] = min(dead.get(i, n_occasions), s)
            ind.append(i); occ.append(s); trap.append(k); cnt.append(c)
        n = len(animals)
        dd = np.full(n, n_occasions, dtype=int)
        for i, s in dead.items():
            dd[i] = s
        out.append(CaptureHistory(tr, n_occasions, np.array(list(animals)), np.array(ind),
                                  np.array(occ), np.array(trap), np.array(cnt), dd, str(sess),
                                  np.array(dxy) if polys is not None else None))
    return out


# --------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------

def read_mask(path: str | Path, spacing: float | None = None) -> Mask:
    """A habitat mask from a CSV (x, y[, covariates]) or whitespace text file of x y points."""
    path = Path(path)
    pts = []
    if _is_csv(path):
        fields, rows = _csv_rows(path)
        cx, cy = _col(fields, "x"), _col(fields, "y")
        if not (cx and cy):
            raise EconetError("mask CSV needs columns x and y", path=path)
        covs = {c: [] for c in fields if c not in (cx, cy) and c}
        for row, r in rows:
            pts.append((_float(r[cx], path, row, cx), _float(r[cy], path, row, cy)))
            for c in covs:
                covs[c].append(r[c])
        if covs and pts:  # other columns are mask covariates (secr's covariates(mask)); cov_ prefix dropped
            m = mask_from_points(np.array(pts), spacing)
            m.covariates = {(c[4:] if c.startswith("cov_") else c): _covariate(v) for c, v in covs.items()}
            return m
    else:
        for row, line in _lines(path):
            t = line.split()
            if not (_isnum(t[0]) and len(t) > 1 and _isnum(t[1])):
                if row == 1 or not pts:
                    continue  # header line
                raise EconetError("a mask line needs x y", path=path, row=row)
            pts.append((float(t[0]), float(t[1])))
    if not pts:
        raise EconetError("no points in mask file", path=path)
    return mask_from_points(np.array(pts), spacing)


def _covariate(values: list[str]) -> np.ndarray:
    """A covariate column: numbers where every value is one (NA as NaN), else text (a factor)."""
    try:
        return np.array([np.nan if v in ("", "NA") else float(v) for v in values])
    except ValueError:
        return np.array(values, dtype=object)


def read_polygon(path: str | Path):
    """A habitat polygon: a vector file (GeoPackage, shapefile, GeoJSON) or an x y text/CSV ring."""
    path = Path(path)
    import shapely
    if path.suffix.lower() in (".gpkg", ".shp", ".geojson", ".json", ".fgb"):
        try:
            import geopandas as gpd
            gdf = gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001 - reported as bad input
            raise EconetError(f"cannot read polygon file: {exc}", path=path) from None
        return shapely.union_all(gdf.geometry.values)
    m = read_mask(path, spacing=1.0)
    return shapely.Polygon(m.xy)


# --------------------------------------------------------------------------------------------
# Camera-trap data (Camtrap DP tables, as the hub stores them)
# --------------------------------------------------------------------------------------------

def capthist_from_camtrap(deployments, observations, *, species: str | None = None,
                          occasion_days: float = 1.0, crs: str | None = None,
                          detector: str = "proximity") -> CaptureHistory:
    """A capture history from Camtrap DP deployments and observations of identified individuals.

    Detectors are camera locations (``locationID``, else ``deploymentID``) at the mean deployment
    coordinates projected to metres (``crs``, default the UTM zone of the cameras); occasions are
    consecutive windows of ``occasion_days`` from the first deployment start; usage is the number
    of days each location was active in each occasion (secr's usage as effort), so g0 or lambda0
    is per camera-day. Observations without ``individualID`` are ignored.
    """
    import pandas as pd
    from pyproj import CRS, Transformer

    for col in ("deploymentID", "latitude", "longitude", "deploymentStart", "deploymentEnd"):
        if col not in deployments.columns:
            raise EconetError(f"deployments need a {col} column", field=col)
    for col in ("deploymentID", "eventStart", "individualID"):
        if col not in observations.columns:
            raise EconetError(f"observations need a {col} column", field=col)
    if occasion_days <= 0:
        raise EconetError("occasion length must be positive", field="occasion_days")
    dep = deployments.copy()
    dep["deploymentStart"] = pd.to_datetime(dep["deploymentStart"], utc=True)
    dep["deploymentEnd"] = pd.to_datetime(dep["deploymentEnd"], utc=True)
    loc_col = "locationID" if "locationID" in dep.columns and dep["locationID"].notna().all() \
        else "deploymentID"
    dep["_loc"] = dep[loc_col].astype(str)
    locs = dep.groupby("_loc", sort=True)[["latitude", "longitude"]].mean()
    if crs is None:
        lon0, lat0 = float(locs["longitude"].mean()), float(locs["latitude"].mean())
        zone = int((lon0 + 180) // 6) + 1
        crs = f"EPSG:{(32600 if lat0 >= 0 else 32700) + zone}"
    tf = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_user_input(crs), always_xy=True)
    x, y = tf.transform(locs["longitude"].to_numpy(), locs["latitude"].to_numpy())
    t0 = dep["deploymentStart"].min()
    span_days = (dep["deploymentEnd"].max() - t0).total_seconds() / 86400.0
    S = max(1, int(np.ceil(span_days / occasion_days - 1e-9)))
    index = {loc: k for k, loc in enumerate(locs.index)}
    usage = np.zeros((len(locs), S))
    for _, d in dep.iterrows():
        a = (d["deploymentStart"] - t0).total_seconds() / 86400.0
        b = (d["deploymentEnd"] - t0).total_seconds() / 86400.0
        for s in range(S):
            lo, hi = s * occasion_days, (s + 1) * occasion_days
            usage[index[d["_loc"]], s] += max(0.0, min(b, hi) - max(a, lo))
    obs = observations[observations["individualID"].notna()].copy()
    if species is not None and "scientificName" in obs.columns:
        obs = obs[obs["scientificName"] == species]
    if obs.empty:
        raise EconetError("no observations of identified individuals", field="individualID")
    dep_loc = dict(zip(dep["deploymentID"].astype(str), dep["_loc"]))
    obs["_loc"] = obs["deploymentID"].astype(str).map(dep_loc)
    if obs["_loc"].isna().any():
        raise EconetError("observation of an unknown deployment", field="deploymentID")
    tt = (pd.to_datetime(obs["eventStart"], utc=True) - t0).dt.total_seconds() / 86400.0
    occ = np.clip(np.floor(tt / occasion_days).astype(int), 0, S - 1)
    ids = obs["individualID"].astype(str).to_numpy()
    animals = {a: i for i, a in enumerate(dict.fromkeys(ids))}
    ind = np.array([animals[a] for a in ids])
    trap = np.array([index[loc] for loc in obs["_loc"]])
    cnt = np.ones(len(ind), dtype=int)
    if detector != "count":   # binary: one record per animal, occasion and detector
        key = np.unique(np.column_stack([ind, occ, trap]), axis=0)
        ind, occ, trap, cnt = key[:, 0], key[:, 1], key[:, 2], np.ones(len(key), dtype=int)
    traps = Traps(np.array(list(locs.index)), np.column_stack([x, y]), usage, detector)
    return CaptureHistory(traps, S, np.array(list(animals)), ind, occ, trap, cnt)
