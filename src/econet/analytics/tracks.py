"""GPS tracks: Movebank import, cleaning that flags (never drops) bad fixes, migration and corridor use.

Trajectories are movingpandas objects (Graser 2019): its OutlierCleaner gives the speed filter, its
TrajectoryStopDetector the stopovers, its ObservationGapSplitter the gaps. Crossings go through
econet.analytics.crossings (one way to count them for detections and tracks alike); home ranges through
econet.analytics.homerange.

Movebank names (attribute dictionary, https://www.movebank.org/cms/movebank-content/movebank-attribute-dictionary):
event table: timestamp, location-long, location-lat, individual-local-identifier, tag-local-identifier,
sensor-type, individual-taxon-canonical-name, visible, manually-marked-outlier, algorithm-marked-outlier,
event-id; reference data: animal-id, tag-id, animal-taxon, deploy-on-date, deploy-off-date.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from econet.errors import EconetError
from econet.progress import no_progress

MOVEBANK_EVENT = {
    "timestamp": "timestamp",
    "location-long": "lon",
    "location-lat": "lat",
    "individual-local-identifier": "individual",
    "tag-local-identifier": "tag",
    "sensor-type": "sensor",
    "individual-taxon-canonical-name": "species",
    "event-id": "event_id",
    "visible": "visible",
    "manually-marked-outlier": "manual_outlier",
    "algorithm-marked-outlier": "algorithm_outlier",
}
MOVEBANK_REFERENCE = {
    "animal-id": "individual",
    "tag-id": "tag",
    "animal-taxon": "species",
    "deploy-on-date": "deploy_on",
    "deploy-off-date": "deploy_off",
}

#: Default maximum plausible ground speed (km/h) between consecutive fixes, per species; override per study.
MAX_SPEED_KMH: dict[str, float] = {
    "Panthera tigris": 50.0,
    "Panthera tigris altaica": 50.0,
    "Panthera pardus": 60.0,
    "Panthera pardus orientalis": 60.0,
    "Procapra gutturosa": 90.0,
    "Grus japonensis": 120.0,
    "Grus vipio": 120.0,
    "Grus monacha": 120.0,
    "Grus grus": 120.0,
    "*": 150.0,
}

def _mpd():
    """movingpandas, imported without its warning about optional smoothing dependencies."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import movingpandas
    return movingpandas


FLAGS = ("no_location", "marked_outlier", "outside_deployment", "duplicate", "speed")


def _to_time(s: pd.Series, source, field) -> pd.Series:
    try:
        t = pd.to_datetime(s, format="%Y-%m-%d %H:%M:%S.%f", utc=True)
    except (ValueError, TypeError):
        t = pd.to_datetime(s, format="mixed", utc=True, errors="coerce")
        bad = t.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise EconetError(f"cannot read the time '{s.iloc[i]}'", path=source, row=i + 2, field=field) from None
    return t


# ---------------------------------------------------------------------------------------------- reading
def _movebank_columns(path: Path) -> tuple[list[str], dict]:
    """The Movebank columns econet reads from this file and their dtypes (checks the required ones)."""
    if not path.exists():
        raise EconetError("file not found", path=path)
    try:
        head = pd.read_csv(path, nrows=0)
    except Exception as exc:
        raise EconetError(f"cannot read CSV ({exc})", path=path) from None
    cols = [c for c in head.columns if c in MOVEBANK_EVENT]
    need = ["timestamp", "location-long", "location-lat", "individual-local-identifier"]
    missing = [c for c in need if c not in head.columns]
    if missing:
        raise EconetError(f"not a Movebank event table: missing column(s) {', '.join(missing)}",
                          path=path, field=missing[0])
    # repeated labels as categories: a million fixes of a few hundred animals stay small in memory
    cat = {"visible", "sensor-type", "individual-taxon-canonical-name", "tag-local-identifier",
           "individual-local-identifier", "manually-marked-outlier", "algorithm-marked-outlier"}
    dtypes = {c: ("category" if c in cat else "string") for c in cols
              if c not in ("location-long", "location-lat", "timestamp")}
    return cols, dtypes | {"location-long": "float64", "location-lat": "float64"}


def _movebank_frame(df: pd.DataFrame, path: Path, species: str | None, sensor: str | None) -> pd.DataFrame:
    """Raw Movebank rows -> econet's fix columns (index = 0-based data row of the file)."""
    df = df.rename(columns=MOVEBANK_EVENT)
    if "event_id" in df.columns:
        try:
            df["event_id"] = df["event_id"].astype("int64")
        except (ValueError, TypeError):
            pass
    if "sensor" in df.columns and sensor:
        wanted = df["sensor"].map(lambda c: str(c).lower() == sensor.lower(), na_action="ignore")
        df = df[wanted.astype("boolean").fillna(True).to_numpy(dtype=bool)]
    try:
        df["timestamp"] = _to_time(df["timestamp"], path, "timestamp")
    except EconetError as exc:
        if exc.row is not None:  # the row within the chunk -> the row of the file
            exc.row = int(df.index[exc.row - 2]) + 2
        raise
    if "species" not in df.columns:
        df["species"] = species or "unknown"
    df["species"] = _fill_cat(df["species"], species or "unknown")
    if "tag" not in df.columns:
        df["tag"] = pd.Series(pd.NA, index=df.index, dtype="string")
    badxy = (df["lon"].abs() > 180) | (df["lat"].abs() > 90)
    if badxy.any():
        i = int(np.flatnonzero(badxy.to_numpy())[0])
        raise EconetError("location out of range for lon/lat", path=path, row=int(df.index[i]) + 2,
                          field="location-long")
    return df


def read_movebank(path: str | Path, *, species: str | None = None,
                  sensor: str | None = "gps") -> pd.DataFrame:
    """Movebank event CSV -> fix table (individual, species, timestamp, lon, lat, tag, sensor, ...).

    Rows without a location stay in the table (flagged later by `clean`). `sensor` keeps only that
    sensor-type (Movebank exports mix GPS with accelerometer rows); None keeps all. `species` fills
    the species when the export has no taxon column. All in memory: `iter_movebank` and
    `iter_individuals` read large files in chunks.
    """
    path = Path(path)
    cols, dtypes = _movebank_columns(path)
    df = pd.read_csv(path, usecols=cols, dtype=dtypes, na_values=[""], keep_default_na=True)
    df = _movebank_frame(df, path, species, sensor)
    return df.sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True)


def _fill_cat(s: pd.Series, value: str) -> pd.Series:
    """Missing values of a label column filled with `value`, kept categorical."""
    s = s.astype("category")
    if s.isna().any():
        if value not in s.cat.categories:
            s = s.cat.add_categories([value])
        s = s.fillna(value)
    return s


def read_reference(path: str | Path) -> pd.DataFrame:
    """Movebank reference data table -> individual, tag, species, deploy_on, deploy_off (UTC)."""
    path = Path(path)
    if not path.exists():
        raise EconetError("file not found", path=path)
    df = pd.read_csv(path, dtype="string")
    if "animal-id" not in df.columns and "tag-id" not in df.columns:
        raise EconetError("not a Movebank reference table: needs animal-id or tag-id", path=path, field="animal-id")
    df = df.rename(columns=MOVEBANK_REFERENCE)
    for c in ("deploy_on", "deploy_off"):
        if c in df.columns:
            df[c] = _to_time(df[c], path, c)
        else:
            df[c] = pd.NaT
    return df


# --------------------------------------------------------------------------------------------- cleaning
def _speed_limit(species: str, max_speed_kmh) -> float:
    if isinstance(max_speed_kmh, (int, float)):
        return float(max_speed_kmh)
    table = dict(MAX_SPEED_KMH)
    table.update(max_speed_kmh or {})
    if species in table:
        return float(table[species])
    genus = str(species).split(" ")[0]
    return float(table.get(genus, table["*"]))


def _speed_outliers(d: pd.DataFrame, v_max_kmh: float, window: int = 25) -> np.ndarray:
    """Index labels movingpandas' OutlierCleaner removes for one individual (v_max in km/h).

    OutlierCleaner walks the track keeping the last accepted fix and drops a fix whose speed from it
    exceeds v_max. Where every consecutive speed is below v_max it keeps everything, so it is run only on
    windows starting at the fix before each too-fast step (that fix is kept, so the walk there starts as it
    would in a full run) and extended until the window's last fix is kept again: the same fixes are
    removed as by a run over the whole track, at a fraction of the cost. Speeds are screened with pyproj's
    geodesic on WGS84, the distance movingpandas computes through geopy.
    """
    import geopandas as gpd
    from pyproj import Geod

    n = len(d)
    if n < 3:
        return np.array([], dtype=d.index.dtype)
    lon, lat = d["lon"].to_numpy(), d["lat"].to_numpy()
    _, _, dist = Geod(ellps="WGS84").inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dt = np.diff(pd.DatetimeIndex(d["timestamp"]).as_unit("ns").asi8) / 3.6e12
    with np.errstate(divide="ignore", invalid="ignore"):
        v = dist / 1000.0 / dt
    bad = np.flatnonzero(v > v_max_kmh)
    if not len(bad):
        return np.array([], dtype=d.index.dtype)
    mpd = _mpd()

    times = d["timestamp"].dt.tz_convert(None).to_numpy()
    rows = d.index.to_numpy()
    removed: list = []

    def run(s: int, e: int) -> set:
        gdf = gpd.GeoDataFrame({"t": times[s:e + 1], "row": rows[s:e + 1]},
                               geometry=gpd.points_from_xy(lon[s:e + 1], lat[s:e + 1]), crs=4326).set_index("t")
        traj = mpd.Trajectory(gdf, traj_id=str(d["individual"].iloc[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = mpd.OutlierCleaner(traj).clean(v_max=v_max_kmh, units=("km", "h"))
        return set(cleaned.df["row"].to_numpy().tolist())

    i = 0
    while i < len(bad):
        s = int(bad[i])
        e = min(s + window, n - 1)
        while True:
            while i < len(bad) and bad[i] < e:  # merge violations inside the window
                e = max(e, min(int(bad[i]) + window, n - 1))
                i += 1
            kept_rows = run(s, e)
            if rows[e] in kept_rows or e == n - 1:
                break
            e = min(e + window, n - 1)
        removed.extend(r for r in rows[s:e + 1] if r not in kept_rows)
        while i < len(bad) and bad[i] < e:
            i += 1
    return np.array(removed)


def row_flags(fixes: pd.DataFrame, reference: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """The flags one row decides alone, in order: no location; marked outlier in Movebank (visible = false or
    manually/algorithm-marked); outside the deployment window of the reference data (deploy-on/off dates,
    matched by animal and tag). Returns (fixes with species filled from the reference, flag per row)."""
    f = fixes.copy()
    flag = pd.Series("", index=f.index, dtype=object)

    def mark(mask, name):
        m = mask & (flag == "")
        flag[m] = name

    mark(f["lon"].isna() | f["lat"].isna() | f["timestamp"].isna(), "no_location")
    bad = pd.Series(False, index=f.index)
    if "visible" in f.columns:
        bad |= f["visible"].astype("string").str.lower().isin(["false", "f", "0"])
    for c in ("manual_outlier", "algorithm_outlier"):
        if c in f.columns:
            bad |= f[c].astype("string").str.lower().isin(["true", "t", "1"])
    mark(bad.fillna(False), "marked_outlier")
    if reference is not None and len(reference):
        ref = reference
        keys = [k for k in ("individual", "tag") if k in ref.columns and ref[k].notna().any()]
        if not keys:
            raise EconetError("reference data name neither animals nor tags", field="animal-id")
        left = f[keys + ["timestamp"]].reset_index()
        for k in keys:  # categorical labels of a chunk and strings of the reference: join on text
            left[k] = left[k].astype("string")
        right = ref[keys + ["deploy_on", "deploy_off"]].copy()
        for k in keys:
            right[k] = right[k].astype("string")
        merged = left.merge(right, on=keys, how="left")
        inside = ((merged["deploy_on"].isna() | (merged["timestamp"] >= merged["deploy_on"]))
                  & (merged["deploy_off"].isna() | (merged["timestamp"] <= merged["deploy_off"])))
        known = merged["deploy_on"].notna() | merged["deploy_off"].notna()
        ok = (inside | ~known).groupby(merged["index"]).any()
        mark(~ok.reindex(f.index, fill_value=True), "outside_deployment")
        if "species" in ref.columns:
            f["species"] = f["species"].astype("string")
            sp = f[["individual"]].astype("string").merge(
                ref[["individual", "species"]].dropna().drop_duplicates("individual").astype("string"),
                on="individual", how="left")["species"].to_numpy()
            unknown = f["species"].isna() | (f["species"] == "unknown")
            f.loc[unknown, "species"] = pd.Series(sp, index=f.index)[unknown]
    return f, flag


def sequence_flags(d: pd.DataFrame, flag: pd.Series, max_speed_kmh=None) -> pd.Series:
    """The flags that need an individual's whole sequence, on the rows `flag` left good: duplicates (same
    individual and time: the first is kept), then impossible speed (movingpandas OutlierCleaner with the
    species' limit from `max_speed_kmh` or MAX_SPEED_KMH). `d` holds one individual sorted by time."""
    flag = flag.copy()
    usable = flag == ""
    dup = d[usable].duplicated(["individual", "timestamp"], keep="first")
    flag[dup[dup].index] = "duplicate"
    good = d[flag == ""]
    if len(good):
        out = _speed_outliers(good, _speed_limit(str(good["species"].iloc[0]), max_speed_kmh))
        if len(out):
            flag.loc[out] = "speed"
    return flag


def _finish(f: pd.DataFrame, flag: pd.Series) -> pd.DataFrame:
    f["flag"] = pd.Categorical(flag, categories=("",) + FLAGS)
    f["keep"] = (flag == "").to_numpy()
    return f


def clean(fixes: pd.DataFrame, reference: pd.DataFrame | None = None, *,
          max_speed_kmh: float | Mapping[str, float] | None = None,
          progress: Callable = no_progress) -> pd.DataFrame:
    """Flag fixes that should not be analysed; every row is kept, with `flag` naming why ('' = good).

    `row_flags` (no location, marked outlier, outside deployment), then per individual `sequence_flags`
    (duplicates, impossible speed).
    """
    f, flag = row_flags(fixes, reference)
    groups = list(f.groupby("individual", sort=False, observed=True).groups.items())
    for i, (ind, idx) in enumerate(groups):
        flag.loc[idx] = sequence_flags(f.loc[idx], flag.loc[idx], max_speed_kmh)
        progress(i + 1, len(groups), "speed filter")
    return _finish(f, flag)


# ------------------------------------------------------------------------------------------- streaming
def iter_movebank(path: str | Path, *, species: str | None = None, sensor: str | None = "gps",
                  chunksize: int = 100_000):
    """A Movebank event CSV in chunks of `chunksize` rows (each as `read_movebank` returns it, unsorted)."""
    path = Path(path)
    cols, dtypes = _movebank_columns(path)
    offset = 0
    reader = pd.read_csv(path, usecols=cols, dtype=dtypes, na_values=[""], keep_default_na=True, chunksize=chunksize)
    for chunk in reader:
        n = len(chunk)
        chunk.index = pd.RangeIndex(offset, offset + n)
        yield _movebank_frame(chunk, path, species, sensor)
        offset += n


def iter_individuals(path: str | Path, reference: pd.DataFrame | None = None, *, species: str | None = None,
                     max_speed_kmh=None, chunksize: int = 100_000, progress: Callable = no_progress):
    """Cleaned fixes of a Movebank CSV, one individual at a time (sorted by time, every fix with its flag).

    Memory stays flat as the file grows: the file is read in chunks whose rows are parked per individual in
    a temporary folder, and each individual is then cleaned on its own (`clean` gives the same flags).
    """
    import pickle
    import tempfile

    with tempfile.TemporaryDirectory(prefix="econet-tracks-") as tmp:
        files: dict[str, Path] = {}
        n = 0
        for chunk in iter_movebank(path, species=species, chunksize=chunksize):
            chunk, flag = row_flags(chunk, reference)
            chunk["_flag"] = flag.to_numpy()
            chunk["_row"] = chunk.index.to_numpy()
            for ind, d in chunk.groupby("individual", sort=False, observed=True):
                p = files.setdefault(str(ind), Path(tmp) / f"{len(files)}.pkl")
                with open(p, "ab") as fh:
                    pickle.dump(d, fh, protocol=pickle.HIGHEST_PROTOCOL)
            n += len(chunk)
            progress(n, None, "reading")
        for i, (ind, p) in enumerate(files.items()):
            parts = []
            with open(p, "rb") as fh:
                while True:
                    try:
                        parts.append(pickle.load(fh))
                    except EOFError:
                        break
            p.unlink()
            d = pd.concat(parts).sort_values(["timestamp", "_row"], kind="stable")
            d.index = d.pop("_row").to_numpy()
            flag = pd.Series(d.pop("_flag").to_numpy(), index=d.index, dtype=object)
            d["species"] = d["species"].astype("string")
            d["individual"] = d["individual"].astype("string")
            yield _finish(d, sequence_flags(d, flag, max_speed_kmh))
            progress(i + 1, len(files), "cleaning")


def crossings_streamed(frames, zones, field: str, *, batch_fixes: int = 200_000, keep_fixes: int = 50_000,
                       progress: Callable = no_progress, **kw):
    """`crossings.crossings` over individuals that arrive one (or a few) at a time, in batches of about
    `batch_fixes` fixes: the per-individual tables are concatenated and the per-species ones recomputed, so
    the result equals one run on all fixes while memory holds one batch. The result's `fixes` keeps at most
    `keep_fixes` fixes (evenly thinned beyond that; `meta['fixes_thinned']` says so)."""
    from econet.analytics import crossings as cx

    parts: dict[str, list] = {"events": [], "individuals": [], "tbm": [], "mcps": [], "fixes": []}
    labels: list[str] = []
    meta: dict = {}
    buf: list[pd.DataFrame] = []
    held = 0
    seen = 0

    stride = 1
    n_batches = 0

    def run(batch):
        nonlocal meta, stride, n_batches
        res = cx.crossings(pd.concat(batch, ignore_index=True), zones, field, **kw)
        n_batches += 1
        parts["events"].append(res.events)
        parts["individuals"].append(res.individuals)
        parts["tbm"].append(res.time_by_month)
        if res.mcps is not None:
            parts["mcps"].append(res.mcps)
        parts["fixes"].append(res.fixes.iloc[::stride])
        if sum(len(p) for p in parts["fixes"]) > 2 * keep_fixes:  # keep an even sample of bounded size
            parts["fixes"] = [pd.concat(parts["fixes"], ignore_index=True).iloc[::2]]
            stride *= 2
        labels.extend(lb for lb in res.zones.labels if lb not in labels)
        meta = res.meta

    for d in frames:
        d = kept(d) if "keep" in d.columns else d
        if d.empty:
            continue
        buf.append(d[[c for c in ("individual", "species", "timestamp", "lon", "lat") if c in d.columns]])
        held += len(d)
        seen += len(d)
        if held >= batch_fixes:
            run(buf)
            buf, held = [], 0
            progress(seen, None, "crossings")
    if buf:
        run(buf)
    if not n_batches:
        raise EconetError("no detections or fixes to analyse")
    events = pd.concat(parts["events"], ignore_index=True)
    individuals = pd.concat(parts["individuals"], ignore_index=True)
    for lb in labels:
        c = f"n_{lb}"
        individuals[c] = individuals[c].fillna(0).astype(int) if c in individuals.columns else 0
    fixes = pd.concat(parts["fixes"], ignore_index=True)
    thinned = stride > 1 or len(fixes) > keep_fixes
    if len(fixes) > keep_fixes:
        fixes = fixes.iloc[np.linspace(0, len(fixes) - 1, keep_fixes).astype(int)].reset_index(drop=True)
    mcps = None
    if parts["mcps"]:
        import geopandas as gpd
        mcps = gpd.GeoDataFrame(pd.concat(parts["mcps"], ignore_index=True), crs=parts["mcps"][0].crs)
    z = cx.prepare_zones(zones, field, cx.metric_crs_for(fixes["lon"].to_numpy(float), fixes["lat"].to_numpy(float)),
                         region_lonlat=cx.lonlat_bounds(fixes["lon"].to_numpy(float), fixes["lat"].to_numpy(float)))
    return cx.CrossingResult(fixes, events, individuals, cx._summary_table(individuals, labels), cx._totals_table(events),
                             pd.concat(parts["tbm"], ignore_index=True), mcps, z,
                             meta | {"fixes": seen, "fixes_thinned": thinned, "batches": n_batches})


def cleaning_report(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Fixes per individual and flag (kept = '')."""
    t = cleaned.groupby(["individual", "flag"], dropna=False, observed=True).size().unstack(fill_value=0)
    t = t.rename(columns={"": "kept"})
    for c in ("kept",) + FLAGS:
        if c not in t.columns:
            t[c] = 0
    t = t[["kept", *FLAGS]]
    t["total"] = t.sum(axis=1)
    return t.reset_index()


def kept(cleaned: pd.DataFrame) -> pd.DataFrame:
    """The usable fixes of a cleaned table."""
    return cleaned[cleaned["keep"]].reset_index(drop=True) if "keep" in cleaned.columns else cleaned


# ------------------------------------------------------------------------------------------ trajectories
def trajectories(fixes: pd.DataFrame):
    """A movingpandas TrajectoryCollection of the usable fixes, one trajectory per individual (lon/lat)."""
    import geopandas as gpd
    mpd = _mpd()

    f = kept(fixes)
    gdf = gpd.GeoDataFrame(f.assign(t=f["timestamp"].dt.tz_convert(None), animal=f["individual"]),
                           geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs=4326)
    return mpd.TrajectoryCollection(gdf, traj_id_col="individual", t="t")


def track_lines(fixes: pd.DataFrame):
    """One LineString per individual (lon/lat), split at the antimeridian so GIS draws it right."""
    import geopandas as gpd
    from shapely.geometry import LineString, MultiLineString

    rows, geoms = [], []
    for ind, d in kept(fixes).groupby("individual", sort=True):
        if len(d) < 2:
            continue
        lon, lat = d["lon"].to_numpy(), d["lat"].to_numpy()
        jumps = np.flatnonzero(np.abs(np.diff(lon)) > 180)
        parts, start = [], 0
        for j in jumps:  # cut at the antimeridian, interpolating the latitude there
            l0, l1 = lon[j], lon[j + 1]
            e = 180.0 if l0 > 0 else -180.0
            span = (180 - abs(l0)) + (180 - abs(l1))
            la = lat[j] + (lat[j + 1] - lat[j]) * ((180 - abs(l0)) / span if span else 0.5)
            seg = list(zip(lon[start:j + 1], lat[start:j + 1])) + [(e, la)]
            parts.append(seg)
            lon_start = [(-e, la)]
            start = j + 1
            parts.append(lon_start)
        tail = list(zip(lon[start:], lat[start:]))
        if parts:
            parts[-1] = parts[-1] + tail
        else:
            parts = [tail]
        lines = [LineString(p) for p in parts if len(p) >= 2]
        geoms.append(lines[0] if len(lines) == 1 else MultiLineString(lines))
        rows.append({"individual": ind, "species": d["species"].iloc[0], "n_fixes": len(d),
                     "start": d["timestamp"].min(), "end": d["timestamp"].max()})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


# ---------------------------------------------------------------------------------------------- migration
def stopovers(fixes: pd.DataFrame, *, max_diameter_m: float = 5000.0, min_duration: str | pd.Timedelta = "24h",
              zones=None, zone_field: str | None = None, protected_areas=None, pa_field: str | None = None):
    """Stopovers by residence time: stays within `max_diameter_m` for at least `min_duration`
    (movingpandas TrajectoryStopDetector), with the zone (country) and PAs they fall in."""
    import geopandas as gpd
    mpd = _mpd()

    tc = trajectories(fixes)
    det = mpd.TrajectoryStopDetector(tc, n_processes=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pts = det.get_stop_points(max_diameter=max_diameter_m, min_duration=pd.Timedelta(min_duration).to_pytimedelta())
    if len(pts) == 0:
        return gpd.GeoDataFrame(columns=["individual", "start_time", "end_time", "duration_h", "geometry"],
                                geometry="geometry", crs=4326)
    pts = pts.reset_index(drop=False)
    out = gpd.GeoDataFrame({
        "individual": pts["traj_id"].astype(str),
        "start_time": pd.to_datetime(pts["start_time"]).dt.tz_localize("UTC"),
        "end_time": pd.to_datetime(pts["end_time"]).dt.tz_localize("UTC"),
        "duration_h": pd.to_timedelta(pts["duration_s"], unit="s").dt.total_seconds() / 3600.0,
    }, geometry=pts.geometry.values, crs=pts.crs or 4326)
    return _tag_places(out, zones, zone_field, protected_areas, pa_field)


def _tag_places(points, zones, zone_field, pas, pa_field):
    import geopandas as gpd
    if zones is not None and zone_field:
        z = zones[[zone_field, zones.geometry.name]].to_crs(4326)
        j = gpd.sjoin(points, z, how="left", predicate="within")
        points["zone"] = j[~j.index.duplicated()][zone_field].astype("string").values
    if pas is not None:
        p = pas.to_crs(4326)
        name = pa_field if pa_field and pa_field in p.columns else None
        names = []
        for g in points.geometry:
            hit = p[p.intersects(g)]
            names.append(";".join(hit[name].astype(str)) if name else ";".join(hit.index.astype(str)))
        points["protected_areas"] = names
    return points


def zones_passed(fixes: pd.DataFrame, zones, field: str) -> pd.DataFrame:
    """Ordered visits of each individual to zones (countries, PAs): zone, entry and exit time, fixes.

    Consecutive fixes in the same zone form one visit; fixes outside every zone are visits of zone None.
    """
    from pyproj import Transformer

    from econet.analytics.crossings import assign_sides, lonlat_bounds, metric_crs_for, prepare_zones

    f = kept(fixes)
    lon, lat = f["lon"].to_numpy(float), f["lat"].to_numpy(float)
    crs = metric_crs_for(lon, lat)
    z = prepare_zones(zones, field, crs, region_lonlat=lonlat_bounds(lon, lat))
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    code, _ = assign_sides(np.asarray(x), np.asarray(y), z)
    labels = np.array(z.labels + [None], dtype=object)
    f = f.assign(zone=labels[code], _c=code)
    new = (f["_c"] != f["_c"].shift()) | (f["individual"] != f["individual"].shift())
    f["_visit"] = new.cumsum()
    g = f.groupby("_visit", sort=True)
    out = pd.DataFrame({"individual": g["individual"].first(), "zone": g["zone"].first(),
                        "entry": g["timestamp"].min(), "exit": g["timestamp"].max(),
                        "n_fixes": g.size()}).reset_index(drop=True)
    return out


def seasonal_ranges(fixes: pd.DataFrame, seasons: Mapping[int, str], *, method: str = "mcp",
                    percent: float = 95.0, h: str | float = "href", min_fixes: int = 5, **kw):
    """Home range of each individual in each ranging season (months mapped to a season label; months not
    in `seasons` are travel). Returns home_ranges() rows with `season` as '<year> <label>'."""
    from econet.analytics.crossings import season_of
    from econet.analytics.homerange import home_ranges

    f = kept(fixes)
    f = f[f["timestamp"].dt.month.isin(list(seasons))].copy()
    if f.empty:
        raise EconetError("no fixes fall in the ranging seasons given")
    f["season"] = season_of(f["timestamp"], seasons)
    counts = f.groupby(["individual", "season"]).size()
    okk = counts[counts >= max(min_fixes, 3)].index
    f = f.set_index(["individual", "season"]).loc[okk].reset_index()
    return home_ranges(f, method=method, percent=percent, h=h, by=("individual", "season"), **kw)


def migration_routes(fixes: pd.DataFrame, seasons: Mapping[int, str], *, zones=None, zone_field: str | None = None,
                     protected_areas=None, pa_field: str | None = None, stops=None):
    """Routes between consecutive seasonal ranges of each individual, with the countries and PAs they pass.

    A route runs from the last fix of one ranging season to the first fix of the next (months outside
    `seasons` are travel). Countries are listed in the order the route enters them.
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    from econet.analytics.crossings import season_of

    f = kept(fixes).copy()
    in_range = f["timestamp"].dt.month.isin(list(seasons))
    f["season"] = np.where(in_range, season_of(f["timestamp"], seasons), None)
    rows, geoms = [], []
    for ind, d in f.groupby("individual", sort=True):
        d = d.reset_index(drop=True)
        lab = d["season"]
        idx = np.flatnonzero(lab.notna().to_numpy())
        if len(idx) < 2:
            continue
        s = lab.iloc[idx].to_numpy()
        change = np.flatnonzero(s[1:] != s[:-1])
        for c in change:
            a, b = idx[c], idx[c + 1]
            seg = d.iloc[a:b + 1]
            if len(seg) < 2:
                continue
            line = LineString(np.column_stack([seg["lon"], seg["lat"]]))
            row = {"individual": ind, "species": seg["species"].iloc[0], "from_season": s[c], "to_season": s[c + 1],
                   "start": seg["timestamp"].iloc[0], "end": seg["timestamp"].iloc[-1], "n_fixes": len(seg)}
            row["duration_days"] = (row["end"] - row["start"]).total_seconds() / 86400
            if zones is not None and zone_field:
                vis = zones_passed(seg.assign(keep=True), zones, zone_field)
                seq = [z for z in vis["zone"].tolist() if z is not None]
                row["countries"] = " > ".join(k for i, k in enumerate(seq) if i == 0 or seq[i - 1] != k)
            if protected_areas is not None:
                p = protected_areas.to_crs(4326)
                hit = p[p.intersects(line)]
                row["protected_areas"] = ";".join(hit[pa_field].astype(str)) if pa_field in p.columns else \
                    ";".join(hit.index.astype(str))
            if stops is not None and len(stops):
                st = stops[(stops["individual"] == str(ind)) & (stops["start_time"] >= row["start"])
                           & (stops["end_time"] <= row["end"])]
                row["n_stopovers"] = len(st)
                row["stopover_days"] = st["duration_h"].sum() / 24.0
            rows.append(row)
            geoms.append(line)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    if len(gdf):
        from econet.analytics.crossings import metric_crs_for
        m = metric_crs_for(f["lon"].to_numpy(), f["lat"].to_numpy())
        gdf["length_km"] = gdf.to_crs(m).length / 1000.0
    return gdf


# --------------------------------------------------------------------------------------------- corridors
def _steps(fixes: pd.DataFrame, crs, max_gap) -> pd.DataFrame:
    """Movement steps (consecutive usable fixes of one individual, gaps split by movingpandas) in `crs` metres."""
    from pyproj import Transformer
    mpd = _mpd()

    tc = trajectories(fixes)
    if max_gap is not None:
        tc = mpd.ObservationGapSplitter(tc).split(gap=pd.Timedelta(max_gap).to_pytimedelta())
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    parts = []
    for traj in tc.trajectories:
        g = traj.df
        if len(g) < 2:
            continue
        x, y = tr.transform(g.geometry.x.to_numpy(), g.geometry.y.to_numpy())
        x, y = np.asarray(x), np.asarray(y)
        ind = g["animal"].iloc[0]
        parts.append(pd.DataFrame({"individual": ind, "x0": x[:-1], "y0": y[:-1], "x1": x[1:], "y1": y[1:]}))
    if not parts:
        raise EconetError("no movement steps: each individual needs at least two usable fixes")
    s = pd.concat(parts, ignore_index=True)
    s["length"] = np.hypot(s["x1"] - s["x0"], s["y1"] - s["y0"])
    return s


def _inside_fn(corridors, crs, threshold: float = 0.0):
    """A function (x, y in `crs`) -> bool telling whether points fall in the corridors (polygons or raster mask)."""
    import shapely
    from pyproj import Transformer

    if hasattr(corridors, "transform") and hasattr(corridors, "data"):  # econet Raster
        r = corridors
        if r.crs is None:
            raise EconetError("the corridor raster has no CRS")
        tr = Transformer.from_crs(crs, r.crs, always_xy=True)

        def inside(x, y):
            rx, ry = tr.transform(x, y)
            row, col = r.xy_to_rowcol(np.asarray(rx), np.asarray(ry))
            okk = (row >= 0) & (row < r.shape[0]) & (col >= 0) & (col < r.shape[1])
            v = np.full(len(row), np.nan)
            v[okk] = r.data[row[okk], col[okk]]
            return np.nan_to_num(v, nan=-np.inf) > threshold
        return inside
    g = corridors.to_crs(crs) if corridors.crs is not None else corridors.set_crs(4326).to_crs(crs)
    poly = shapely.union_all(shapely.make_valid(g.geometry.values))
    shapely.prepare(poly)
    return lambda x, y: shapely.contains_xy(poly, x, y)


def corridor_use(fixes: pd.DataFrame, corridors, *, n_random: int = 99, seed: int | None = 0,
                 max_gap: str | pd.Timedelta | None = "2D", threshold: float = 0.0,
                 progress: Callable = no_progress) -> dict:
    """Share of movement steps in corridors against the share expected by chance.

    A step is in a corridor when its midpoint is. For every observed step, `n_random` control steps
    start from the same fix with a length drawn from that individual's observed step lengths and a
    uniformly random direction (available steps as in step-selection analysis, Fortin et al. 2005).
    The p-value is (1 + number of random replicates with a share >= observed) / (n_random + 1).
    `corridors` is a polygon GeoDataFrame or an econet Raster mask (cells > `threshold` are corridor).
    """
    from econet.analytics.crossings import metric_crs_for

    f = kept(fixes)
    crs = metric_crs_for(f["lon"].to_numpy(float), f["lat"].to_numpy(float))
    steps = _steps(f, crs, max_gap)
    steps = steps[steps["length"] > 0].reset_index(drop=True)
    if steps.empty:
        raise EconetError("no movement steps of non-zero length")
    inside = _inside_fn(corridors, crs, threshold)
    mx, my = (steps["x0"] + steps["x1"]) / 2, (steps["y0"] + steps["y1"]) / 2
    steps["in_corridor"] = inside(mx.to_numpy(), my.to_numpy())
    rng = np.random.default_rng(seed)
    n = len(steps)
    rep = np.zeros((n_random, n), dtype=bool)
    lengths_by_ind = {k: v.to_numpy() for k, v in steps.groupby("individual")["length"]}
    ind = steps["individual"].to_numpy()
    L = np.empty((n_random, n))
    for k, arr in lengths_by_ind.items():
        m = ind == k
        L[:, m] = rng.choice(arr, size=(n_random, int(m.sum())), replace=True)
    ang = rng.uniform(0, 2 * np.pi, size=(n_random, n))
    x0, y0 = steps["x0"].to_numpy(), steps["y0"].to_numpy()
    for r in range(n_random):
        rx = x0 + 0.5 * L[r] * np.cos(ang[r])
        ry = y0 + 0.5 * L[r] * np.sin(ang[r])
        rep[r] = inside(rx, ry)
        progress(r + 1, n_random, "random steps")
    obs = float(steps["in_corridor"].mean())
    shares = rep.mean(axis=1)
    expected = float(shares.mean())
    p = (1 + int(np.sum(shares >= obs))) / (n_random + 1)
    per = []
    for k, d in steps.groupby("individual"):
        m = ind == k
        sh = rep[:, m].mean(axis=1)
        o = float(d["in_corridor"].mean())
        per.append({"individual": k, "n_steps": len(d), "observed_share": o, "expected_share": float(sh.mean()),
                    "ratio": o / sh.mean() if sh.mean() > 0 else np.nan,
                    "p_value": (1 + int(np.sum(sh >= o))) / (n_random + 1)})
    return {"n_steps": n, "n_random": n_random, "observed_share": obs, "expected_share": expected,
            "expected_sd": float(shares.std(ddof=1)) if n_random > 1 else 0.0,
            "ratio": obs / expected if expected > 0 else None, "p_value": p,
            "per_individual": pd.DataFrame(per), "steps": steps}
