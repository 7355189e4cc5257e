"""Benchmark: 1,000,000 GPS fixes read from a Movebank CSV, cleaned and their border crossings computed.

Part 2 (--scaling): memory as the input grows (0.25M, 0.5M, 1M fixes): the streamed pipeline (read in chunks,
cleaned and crossed one animal at a time: `tracks.iter_individuals` + `tracks.crossings_streamed`, what
`econet tracks crossings FILE.csv` runs) and the hub pipeline (`econet tracks import --db` streamed into
SQLite, then crossings on the admin view one animal at a time) against the all-in-memory path (baseline).

econet (vectorised sides, movingpandas speed filter only where a speed exceeds the limit) against a plain
point-by-point loop (csv reader, one shapely point-in-polygon and one geodesic per fix) in the same run.
Each side runs in its own process so its peak memory (max RSS) is its own. The loop runs on the first
--loop-rows fixes and its rate is extrapolated (a full run would take many minutes).

    python benchmarks/tracks.py [--fixes 1000000] [--loop-rows 50000] [--record]

Border: the real China-Russia border near Hunchun (Natural Earth 1:50m countries from ../shared); without
../shared a straight synthetic border is used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECONET_SHARED", REPO.parent / "shared"))


def zones():
    import geopandas as gpd
    from shapely.geometry import box
    p = SHARED / "data/ne_admin0/ne_50m_admin_0_countries.geojson"
    if p.exists():
        z = gpd.read_file(p, bbox=(129, 41, 133, 45))
        return z[["ISO_A3", "geometry"]], "ISO_A3", "Natural Earth 1:50m CHN/RUS/PRK"
    return (gpd.GeoDataFrame({"ISO_A3": ["CHN", "RUS"]}, geometry=[box(125, 40, 131.2, 46), box(131.2, 40, 136, 46)],
                             crs=4326), "ISO_A3", "synthetic straight border at 131.2 E")


def make_data(path: Path, n_fixes: int) -> None:
    from econet.analytics import tracksim
    n_ind = max(1, n_fixes // 5000)
    f = tracksim.simulate_tracks(n_ind, n_fixes // n_ind, interval="1h", seed=1)
    f, truth = tracksim.inject_errors(f, n_duplicates=n_fixes // 2000, n_spikes=n_ind // 4, seed=2)
    tracksim.to_movebank(f).to_csv(path, index=False)


def stage_econet(path: Path) -> dict:
    from econet.analytics import crossings as cx
    from econet.analytics import tracks as tr
    z, field, _ = zones()
    t0 = time.perf_counter()
    raw = tr.read_movebank(path)
    t1 = time.perf_counter()
    c = tr.clean(raw)
    t2 = time.perf_counter()
    res = cx.crossings(tr.kept(c), z, field, tracks=True, tolerance_m=100, mcp_percent=None)
    t3 = time.perf_counter()
    return {"rows": len(raw), "read_s": t1 - t0, "clean_s": t2 - t1, "crossings_s": t3 - t2, "total_s": t3 - t0,
            "kept": int(c["keep"].sum()), "flagged": int((~c["keep"]).sum()), "crossings": len(res.events),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def stage_streamed(path: Path) -> dict:
    from econet.analytics import tracks as tr
    z, field, _ = zones()
    t0 = time.perf_counter()
    res = tr.crossings_streamed(tr.iter_individuals(path), z, field, tracks=True, tolerance_m=100, mcp_percent=None)
    t1 = time.perf_counter()
    return {"rows": res.meta["fixes"], "total_s": t1 - t0, "crossings": len(res.events),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def stage_hub(path: Path) -> dict:
    from econet.hub import tracking
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    z, field, _ = zones()
    db = f"sqlite:///{path.with_suffix('.db')}"
    t0 = time.perf_counter()
    rep = import_path(db, path, dataset="bench", org="bench", fmt="movebank")
    t1 = time.perf_counter()
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from econet.hub.db import open_hub
    with open_hub(db).begin() as conn:
        res, _ = tracking.crossings_on_view(conn, View.admin(), zones=z, zone_field=field, audit=False)
    t2 = time.perf_counter()
    return {"rows": rep["rows_read"], "import_s": t1 - t0, "crossings_s": t2 - t1, "total_s": t2 - t0,
            "crossings": len(res.events), "import_rss_mb": import_rss,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def scaling(sizes: list[int], record: bool) -> None:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "events.csv"
            make_data(csv_path, n)
            for stage in ("econet", "streamed", "hub"):
                p = subprocess.run([sys.executable, __file__, "--stage", stage, "--csv", str(csv_path)],
                                   capture_output=True, text=True, check=True)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                rows.append((n, stage, r))
                print(n, stage, r, file=sys.stderr, flush=True)
    names = {"econet": "all in memory (baseline)", "streamed": "streamed file pipeline", "hub": "hub: import + crossings"}
    lines = [f"## tracks: memory as the input grows ({time.strftime('%Y-%m-%d')})", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other "
             f"helpers' jobs (load average {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}. "
             "Each row is its own process (peak RSS = ru_maxrss).", "",
             "| fixes | pipeline | time (s) | rows/s | crossings | peak RSS (MB) |", "|---|---|---|---|---|---|"]
    for n, stage, r in rows:
        extra = (f" (import {r['import_s']:.0f} s, peak {r['import_rss_mb']:.0f} MB by its end)"
                 if "import_s" in r else "")
        lines.append(f"| {r['rows']:,} | {names[stage]}{extra} | {r['total_s']:.1f} | {r['rows'] / r['total_s']:,.0f} "
                     f"| {r['crossings']:,} | {r['peak_rss_mb']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if record:
        with open(REPO / "benchmarks/RESULTS.md", "a") as fh:
            fh.write("\n" + text)


def stage_loop(path: Path, limit: int) -> dict:
    """The obvious implementation: one row at a time (duplicates, speed, side, crossing placed on the outline)."""
    import csv
    from datetime import datetime

    import shapely
    from pyproj import Geod
    from shapely.geometry import LineString, Point
    z, field, _ = zones()
    polys = [(str(r[field]), r.geometry) for _, r in z.iterrows()]
    outlines = {name: p.boundary for name, p in polys}
    crossing_times = []
    for _, p in polys:
        shapely.prepare(p)
    geod = Geod(ellps="WGS84")
    t0 = time.perf_counter()
    seen, prev, side_prev, n, crossings, flagged = set(), {}, {}, 0, 0, 0
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            n += 1
            if n > limit:
                break
            ind = row["individual-local-identifier"]
            t = datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
            lon, lat = float(row["location-long"]), float(row["location-lat"])
            key = (ind, t)
            if key in seen:
                flagged += 1
                continue
            seen.add(key)
            if ind in prev:
                plon, plat, pt = prev[ind]
                _, _, d = geod.inv(plon, plat, lon, lat)
                hours = (t - pt).total_seconds() / 3600
                if hours > 0 and d / 1000 / hours > 50:
                    flagged += 1
                    continue
            prev[ind] = (lon, lat, t)
            pt_ = Point(lon, lat)
            side = next((name for name, p in polys if p.contains(pt_)), None)
            if side is not None:
                if ind in side_prev and side_prev[ind][0] != side:
                    # place the crossing on the old side's outline and interpolate its time, as econet does
                    old, (olon, olat, ot) = side_prev[ind][0], side_prev[ind][1]
                    seg = LineString([(olon, olat), (lon, lat)])
                    hit = seg.intersection(outlines[old])
                    if not hit.is_empty:
                        c = shapely.get_coordinates(hit)[-1]
                        frac = Point(olon, olat).distance(Point(c)) / max(seg.length, 1e-12)
                        crossing_times.append(ot + (t - ot) * frac)
                    crossings += 1
                side_prev[ind] = (side, (lon, lat, t))
    dt = time.perf_counter() - t0
    rows = min(n, limit)
    return {"rows": rows, "total_s": dt, "crossings": crossings, "flagged": flagged,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixes", type=int, default=1_000_000)
    ap.add_argument("--loop-rows", type=int, default=50_000)
    ap.add_argument("--record", action="store_true", help="append the result to benchmarks/RESULTS.md")
    ap.add_argument("--stage", choices=["econet", "loop", "streamed", "hub"])
    ap.add_argument("--scaling", default=None, help="comma-separated sizes, e.g. 250000,500000,1000000")
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.scaling:
        scaling([int(v) for v in a.scaling.split(",")], a.record)
        return
    if a.stage:
        out = {"econet": lambda p: stage_econet(p), "streamed": stage_streamed, "hub": stage_hub,
               "loop": lambda p: stage_loop(p, a.loop_rows)}[a.stage](Path(a.csv))
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "events.csv"
        t = time.perf_counter()
        make_data(csv_path, a.fixes)
        print(f"simulated {a.fixes:,} fixes in {time.perf_counter() - t:.1f} s "
              f"({csv_path.stat().st_size / 1e6:.0f} MB CSV)", file=sys.stderr)
        res = {}
        for stage in ("econet", "loop"):
            p = subprocess.run([sys.executable, __file__, "--stage", stage, "--csv", str(csv_path),
                                "--loop-rows", str(a.loop_rows)], capture_output=True, text=True, check=True)
            res[stage] = json.loads(p.stdout.strip().splitlines()[-1])
    e, l_ = res["econet"], res["loop"]
    e_rate = e["rows"] / e["total_s"]
    l_rate = l_["rows"] / l_["total_s"]
    _, _, border = zones()
    lines = [
        f"## tracks: {e['rows']:,} fixes read, cleaned, crossings ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; border: {border}.",
        "",
        "| implementation | rows | time (s) | rows/s | peak RSS (MB) |",
        "|---|---|---|---|---|",
        f"| econet (read {e['read_s']:.1f} s, clean {e['clean_s']:.1f} s, crossings {e['crossings_s']:.1f} s) "
        f"| {e['rows']:,} | {e['total_s']:.1f} | {e_rate:,.0f} | {e['peak_rss_mb']:.0f} |",
        f"| plain point-by-point loop (first {l_['rows']:,} rows; 1M extrapolated: "
        f"{1e6 / l_rate:.0f} s) | {l_['rows']:,} | {l_['total_s']:.1f} | {l_rate:,.0f} | {l_['peak_rss_mb']:.0f} |",
        "",
        f"econet flagged {e['flagged']:,} fixes and found {e['crossings']:,} crossings "
        f"(with interpolated time and place); speed-up {e_rate / l_rate:.1f}x.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.record:
        with open(REPO / "benchmarks/RESULTS.md", "a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
