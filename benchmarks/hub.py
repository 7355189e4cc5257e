"""Benchmark of the observation hub: 1,000,000 simulated camera-trap observations imported into SQLite and
PostgreSQL (rows/s, peak memory), then typical queries (one species in one country in one year; everything
within 10 km of the China-Russia border). Baseline in the same run: pandas.read_csv + DataFrame.to_sql into
SQLite (the obvious way, without any harmonization, provenance or spatial index).

    .venv/bin/python benchmarks/hub.py [--rows 1000000] [--pg URL] [--no-record]

Each import runs in a child process so its peak RSS is measured on its own. Results are appended to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD_IMPORT = """
import json, resource, sys, time
from econet.hub.db import open_hub
from econet.hub.ingest import import_path
url, path, mapping = sys.argv[1:4]
open_hub(url)
t = time.perf_counter()
r = import_path(url, path, dataset="bench", org="WWF", mapping=mapping)
s = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": s, "added": r["added"].get("observations", 0), "cpu": u.ru_utime + u.ru_stime,
                  "rss_mb": u.ru_maxrss / 1024}))
"""

CHILD_BASELINE = """
import json, resource, sqlite3, sys, time
import pandas as pd
path, db = sys.argv[1:3]
t = time.perf_counter()
df = pd.read_csv(path)
con = sqlite3.connect(db)
df.to_sql("observations", con, index=False, chunksize=50000)
con.commit()
s = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": s, "added": len(df), "cpu": u.ru_utime + u.ru_stime, "rss_mb": u.ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


def queries(url: str) -> dict:
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter, count, observation_rows
    engine = open_hub(url)
    species = ObservationFilter(taxon="Panthera pardus orientalis", country="RU", year=2020)
    border = ObservationFilter(border=("CN", "RU"), border_distance_m=10000)
    out = {}
    with engine.connect() as c:
        from econet.hub.spatial import border as b
        b("CN", "RU")  # warm the country layer once (loaded per process)
        ms, rows = timed(lambda: list(observation_rows(c, species)))
        out["species_country_year"] = {"ms": ms, "rows": len(rows)}
        ms, n = timed(lambda: count(c, border), repeat=3)
        out["border_10km_count"] = {"ms": ms, "rows": n}
        page = ObservationFilter(border=("CN", "RU"), border_distance_m=10000, limit=1000)
        ms, rows = timed(lambda: list(observation_rows(c, page)))
        out["border_10km_first_1000"] = {"ms": ms, "rows": len(rows)}
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default=os.environ.get("ECONET_TEST_PG_URL"))
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()
    from econet.hub.simulate import write_csv

    results = {}
    with tempfile.TemporaryDirectory(prefix="econet-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        mapping = write_csv(tmp / "obs.csv", args.rows, n_stations=2000)
        gen = time.perf_counter() - t
        size_mb = (tmp / "obs.csv").stat().st_size / 1e6
        print(f"simulated {args.rows:,} rows ({size_mb:.0f} MB CSV) in {gen:.1f} s", flush=True)

        results["baseline pandas.read_csv + to_sql (SQLite, no harmonization/index)"] = child(
            CHILD_BASELINE, str(tmp / "obs.csv"), str(tmp / "baseline.db"))
        print("baseline", results, flush=True)

        url = f"sqlite:///{tmp / 'hub.db'}"
        results["econet hub, SQLite"] = child(CHILD_IMPORT, url, str(tmp / "obs.csv"), str(mapping))
        print("sqlite", results["econet hub, SQLite"], flush=True)
        results["econet hub, SQLite"]["queries"] = queries(url)
        print("sqlite queries", results["econet hub, SQLite"]["queries"], flush=True)

        if args.pg:
            from sqlalchemy import create_engine, text
            from econet.hub.db import create_postgis_database, drop_database
            name = "econet_bench_" + uuid.uuid4().hex[:8]
            purl = create_postgis_database(args.pg, name)
            try:
                results["econet hub, PostgreSQL+PostGIS"] = child(CHILD_IMPORT, purl, str(tmp / "obs.csv"),
                                                                  str(mapping))
                print("pg", results["econet hub, PostgreSQL+PostGIS"], flush=True)
                e = create_engine(purl, isolation_level="AUTOCOMMIT")
                with e.connect() as c:
                    c.execute(text("VACUUM ANALYZE"))
                e.dispose()
                results["econet hub, PostgreSQL+PostGIS"]["queries"] = queries(purl)
                print("pg queries", results["econet hub, PostgreSQL+PostGIS"]["queries"], flush=True)
            finally:
                from econet.hub.db import dispose_all
                dispose_all()
                drop_database(args.pg, name)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": args.rows, "load": os.getloadavg(), "results": results}))
    if not args.no_record:
        record(args.rows, results)


def record(n: int, results: dict) -> None:
    load = os.getloadavg()
    lines = [f"\n## hub: {n:,} observations imported and queried ({dt.date.today().isoformat()})\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
             f"{load[0]:.1f} at the end), Python {platform.python_version()}. `benchmarks/hub.py`: simulated "
             "camera-trap CSV (2,000 stations, 130.5-131.5 E, 42.5-43.8 N) imported with a YAML mapping: taxon "
             "matching, UTC times with offsets, equal-area copy, country lookup, content hashes, spatial index, "
             "one transaction. Targets: >= 50,000 rows/s into SQLite, < 1 GB, queries < 200 ms.\n",
             "CPU s = user + system time of the importing process (server time of PostgreSQL not included); "
             "rows per CPU-second is the rate the code reaches when it has a core to itself.\n",
             "| import | rows | wall (s) | rows/s | CPU (s) | rows per CPU-s | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['added']:,} | {r['seconds']:.1f} | {r['added'] / r['seconds']:,.0f} | "
                     f"{r['cpu']:.1f} | {r['added'] / r['cpu']:,.0f} | {r['rss_mb']:.0f} |")
    lines += ["", "| query | back end | rows | median time (ms) |", "|---|---|---|---|"]
    for name, r in results.items():
        for q, v in (r.get("queries") or {}).items():
            lines.append(f"| {q} | {name.split(', ')[-1]} | {v['rows']:,} | {v['ms']:.0f} |")
    text = "\n".join(lines) + "\n"
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
