"""Benchmark of the hub at scale (issue 10): 10,000,000 observations loaded into PostgreSQL+PostGIS with COPY
(hub.bulk, the path every importer uses) and queried, on the time-partitioned table of migration 0006.

Baselines in the same run:
- the same queries on the same rows in an unpartitioned table with the same indexes (`flat.observations`,
  built with CREATE TABLE AS and queried through search_path, so hub.query runs unchanged);
- plain executemany INSERT (SQLAlchemy + psycopg 3, ON CONFLICT DO NOTHING) for a sample of rows, next to a
  COPY of a sample of the same size, both into the full table with every index in place.

The rows are simulated camera-trap records as an import writes them (2,000 stations on both sides of the
China-Russia border, 12 species, 2000-2025, UTC times with offsets, equal-area copy, country, nearest border,
content hashes, attributes); they are generated per chunk, so the loader's memory stays flat. Each load runs
in a child process so its peak RSS is its own.

    .venv/bin/python benchmarks/hub_scale.py [--rows 10000000] [--pg URL] [--repeat 20] [--no-record]

Needs about 2.5 kB of disk per row and per table (~25 GB at 10^7 for both tables); the databases it creates
are dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHUNK = 50_000
YEARS = (2000, 2025)


def chunk_columns(start: int, n: int, ctx: dict, seed: int) -> dict:
    """Columns of `n` simulated observations numbered from `start` (vectorised; as an import writes them)."""
    import numpy as np
    from econet.hub.bulk import StorageText
    rng = np.random.default_rng(seed + start)
    st = ctx["stations"]
    si = rng.integers(0, len(st["lon"]), n)
    sp = rng.choice(len(ctx["taxa"]), n, p=ctx["weights"])
    t0 = np.datetime64(f"{YEARS[0]}-01-01T00:00:00", "s")
    span = int((np.datetime64(f"{YEARS[1] + 1}-01-01", "s") - t0).astype(int))
    t = t0 + rng.integers(0, span, n).astype("timedelta64[s]")
    times = np.char.replace(np.datetime_as_string(t.astype("datetime64[us]"), unit="us"), "T", " ").tolist()
    ru = st["country"][si] == "RU"
    ident = ctx["identifiable"][sp]
    ind = rng.integers(0, 12, n)
    keys = np.where(ident, np.where(ctx["tiger"][sp], "PTA-", "PPO-"), "")
    keys = [k + f"{i + 1:02d}" if k else None for k, i in zip(keys.tolist(), ind.tolist())]
    ids = ctx["individuals"]

    def take(a):
        return a[si].tolist()
    return {"record_type": ["occurrence"] * n, "occurrence_key": [f"scale-{i}" for i in range(start, start + n)],
            "scientific_name": ctx["names"][sp].tolist(), "taxon_id": ctx["taxa"][sp].tolist(),
            "count": rng.choice([1, 1, 1, 1, 2, 2, 3], n).tolist(), "time_utc": StorageText(times),
            "time_offset_min": np.where(ru, 600, 480).tolist(), "individual_key": keys,
            "individual_id": [ids.get(k) for k in keys], "life_stage": ["adult"] * n,
            "basis_of_record": ["MachineObservation"] * n, "observation_type": ["animal"] * n,
            "locality": take(st["name"]), "coordinate_uncertainty_m": [30.0] * n,
            "source_row": list(range(start + 2, start + n + 2)),
            "row_hash": [f"{ctx['salt']}{i:024x}" for i in range(start, start + n)],
            "attributes": [{"remarks": "SIMULATED record (econet benchmark)"}] * n,
            "lon": take(st["lon"]), "lat": take(st["lat"]), "x": take(st["x"]), "y": take(st["y"]),
            "country_code": take(st["country"]), "border_pair": take(st["pair"]),
            "border_distance_m": take(st["dist"]), "border_distance2_m": take(st["dist2"])}


def context(conn, dataset_id: int) -> dict:
    """Stations (with their harmonized place columns), taxa and individuals of the simulation."""
    import numpy as np
    from econet.hub import simulate
    from econet.hub.ingest.base import Ingest
    from econet.hub.spatial import nearest_border, to_equal_area
    st = simulate.stations(2000, seed=1)
    lon = np.array([s[1] for s in st])
    lat = np.array([s[2] for s in st])
    x, y = to_equal_area(lon, lat)
    pair, dist, dist2 = nearest_border(x, y)
    nan = lambda a: np.array([None if v != v else float(v) for v in a], dtype=object)  # noqa: E731
    ing = Ingest(conn, dataset_id, None, "simulated")
    names = np.array([s[0] for s in simulate.SPECIES], dtype=object)
    taxa = np.array([ing.taxa.match(s) for s in names], dtype=object)
    keys = [f"{p}-{i:02d}" for p in ("PTA", "PPO") for i in range(1, 13)]
    w = np.array([s[1] for s in simulate.SPECIES])
    return {"stations": {"lon": lon, "lat": lat, "x": x, "y": y, "pair": pair, "dist": nan(dist),
                         "dist2": nan(dist2), "country": np.array([s[3] for s in st], dtype=object),
                         "name": np.array([s[0] for s in st], dtype=object)},
            "names": names, "taxa": taxa, "weights": w / w.sum(),
            "identifiable": np.array([s[2] for s in simulate.SPECIES]),
            "tiger": np.array(["tigris" in s[0] for s in simulate.SPECIES]),
            "individuals": ing.individual_ids(keys), "salt": uuid.uuid4().hex[:8]}


def new_dataset(conn, name: str) -> tuple[int, int]:
    from sqlalchemy import insert, select
    from econet.hub import models as m
    from econet.hub.taxonomy import seed
    seed(conn)
    org = conn.execute(select(m.Organization.id).where(m.Organization.name == "WWF")).scalar()
    if org is None:
        org = conn.execute(insert(m.Organization).values(name="WWF", country="RU", created_at=m.utcnow())
                           .returning(m.Organization.id)).scalar_one()
    ds = conn.execute(insert(m.Dataset).values(name=name, organization_id=org, visibility="public",
                                               created_at=m.utcnow()).returning(m.Dataset.id)).scalar_one()
    batch = conn.execute(insert(m.ImportBatch).values(dataset_id=ds, source="simulated", format="benchmark",
                                                      started_at=m.utcnow()).returning(m.ImportBatch.id)).scalar_one()
    return ds, batch


def child_load(url: str, n: int, seed: int, how: str) -> dict:
    """Load `n` rows in one transaction: `copy` (hub.bulk, pipelined) or `executemany` (the plain baseline)."""
    import resource
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from econet.hub import models as m
    from econet.hub.bulk import BulkWriter
    from econet.hub.db import open_hub
    engine = open_hub(url)
    rss = []
    t = time.perf_counter()
    with engine.begin() as conn:
        ds, batch = new_dataset(conn, f"scale-{how}-{uuid.uuid4().hex[:6]}")
        ctx = context(conn, ds)
        t = time.perf_counter()
        bulk = BulkWriter(conn, ds, batch)
        deferred = how == "copy" and bulk.defer_indexes(m.Observation, n)  # an initial load: index at the end
        with bulk.pipeline(m.Observation):
            for start in range(0, n, CHUNK):
                cols = chunk_columns(start, min(CHUNK, n - start), ctx, seed)
                if how == "copy":
                    bulk.insert_columns(m.Observation, cols)
                else:
                    cols.update(dataset_id=[ds] * len(cols["lon"]), batch_id=[batch] * len(cols["lon"]))
                    cols["time_utc"] = [dt.datetime.fromisoformat(v) for v in cols["time_utc"]]
                    keys = list(cols)
                    conn.execute(pg_insert(m.Observation).on_conflict_do_nothing(),
                                 [dict(zip(keys, r)) for r in zip(*cols.values())])
                rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
                if start // CHUNK % 20 == 0:
                    print(f"  {how}: {start + CHUNK:,} rows, {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        ti = time.perf_counter()
        bulk.finish()
        index_s = time.perf_counter() - ti
    s = time.perf_counter() - t
    u = resource.getrusage(resource.RUSAGE_SELF)
    return {"rows": n, "seconds": s, "indexes_deferred": bool(deferred), "index_build_s": index_s, "cpu": u.ru_utime + u.ru_stime, "rss_mb": u.ru_maxrss / 1024,
            "rss_first_chunk_mb": rss[0] if rss else None, "rss_half_mb": rss[len(rss) // 2] if rss else None}


def run_child(*args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"child failed: {args}")
    return json.loads(r.stdout.strip().splitlines()[-1])


QUERIES = {
    "species, all years (count)": dict(taxon="Panthera pardus orientalis"),
    "species, all years (first 1,000)": dict(taxon="Panthera pardus orientalis", limit=1000),
    "species in a country in a year (all rows)": dict(taxon="Panthera pardus orientalis", country="RU", year=2020),
    "bbox 0.1 x 0.1 degree (count)": dict(bbox=(130.9, 43.0, 131.0, 43.1)),
    "country (first 1,000)": dict(country="CN", limit=1000),
    "time range, one month (count)": dict(start="2021-03-01", end="2021-03-31"),
    "time range + species, one year (count)": dict(taxon="Panthera tigris altaica", start="2019-01-01",
                                                   end="2019-12-31"),
    "within 10 km of the CN-RU border, one year (count)": dict(border=("CN", "RU"), border_distance_m=10000,
                                                               year=2022),
}


def run_queries(url: str, repeat: int) -> dict:
    """p50/p95 latency (ms) of the typical queries through hub.query (what the API and exports call)."""
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter, count, observation_rows
    from econet.hub.spatial import border
    border("CN", "RU")
    engine = open_hub(url)
    out = {}
    with engine.connect() as c:
        for name, spec in QUERIES.items():
            f = ObservationFilter(**spec)
            listing = f.limit is not None or "all rows" in name
            fn = (lambda f=f: len(list(observation_rows(c, f)))) if listing else (lambda f=f: count(c, f))
            fn()  # warm (plans, caches)
            times, rows = [], 0
            for _ in range(repeat):
                t = time.perf_counter()
                rows = fn()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[name] = {"rows": rows, "p50": statistics.median(times),
                         "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]}
            print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
    engine.dispose()
    return out


def create_db(base: str) -> str:
    """A new database with PostGIS and the hub's schema (observations partitioned by time)."""
    from econet.hub.db import create_postgis_database, dispose_all, open_hub
    url = create_postgis_database(base, f"econet_scale_{uuid.uuid4().hex[:8]}")
    open_hub(url)
    dispose_all()
    return url


def unpartitioned_copy(url: str) -> dict:
    """The same rows in a plain table `flat.observations` with the same indexes (queried with
    search_path=flat,public, so hub.query runs unchanged): the baseline of the queries."""
    from sqlalchemy import create_engine, text
    e = create_engine(url, isolation_level="AUTOCOMMIT")
    t = time.perf_counter()
    with e.connect() as c:
        defs = c.execute(text(
            "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x WHERE x.indrelid = 'observations'::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)")).scalars().all()
        c.execute(text("CREATE SCHEMA flat"))
        c.execute(text("CREATE TABLE flat.observations AS SELECT * FROM public.observations"))
        c.execute(text("ALTER TABLE flat.observations ADD PRIMARY KEY (id)"))
        c.execute(text("ALTER TABLE flat.observations ADD UNIQUE (dataset_id, row_hash)"))
        c.execute(text("SET maintenance_work_mem = '512MB'"))
        for d in defs:
            if "ix_observations_id " in d:  # the plain table has its primary key
                continue
            d = d.replace(" ON ONLY ", " ON ").replace("public.observations", "flat.observations")
            c.execute(text(d.replace("CREATE INDEX ", "CREATE INDEX flat_", 1)))
    e.dispose()
    sep = "&" if "?" in url else "?"
    return {"url": f"{url}{sep}options=-csearch_path%3Dflat,public", "rows": None,
            "build_s": time.perf_counter() - t}


def analyze(url: str, table: str = "observations") -> dict:
    """VACUUM ANALYZE the table; its size with its indexes (and partitions)."""
    from sqlalchemy import create_engine, text
    e = create_engine(url.split("?")[0], isolation_level="AUTOCOMMIT")
    with e.connect() as c:
        t = time.perf_counter()
        c.execute(text(f"VACUUM ANALYZE {table}"))
        s = time.perf_counter() - t
        size = c.execute(text(f"SELECT pg_total_relation_size('{table}') + coalesce((SELECT sum("
                              f"pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = "
                              f"'{table}'::regclass), 0)")).scalar()
    e.dispose()
    return {"vacuum_analyze_s": s, "size_gb": float(size) / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--sample", type=int, default=200_000, help="rows of the executemany baseline")
    ap.add_argument("--pg", default=os.environ.get("ECONET_TEST_PG_URL"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the databases (prints their URLs)")
    ap.add_argument("--json", help="write the results so far to this JSON file after every stage")
    ap.add_argument("--child", nargs=4, metavar=("URL", "N", "SEED", "HOW"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        url, n, seed, how = args.child
        print(json.dumps(child_load(url, int(n), int(seed), how)))
        return
    if not args.pg:
        raise SystemExit("give --pg URL (or set ECONET_TEST_PG_URL): a PostgreSQL+PostGIS server")
    made = []
    results: dict = {"rows": args.rows}
    try:
        url = create_db(args.pg)
        made.append(url)
        print(f"loading {args.rows:,} rows with COPY into the partitioned table", file=sys.stderr, flush=True)
        r = run_child(url, str(args.rows), str(args.seed), "copy")
        r.update(analyze(url))
        print(f"partitioned: {r}", file=sys.stderr, flush=True)
        r["queries"] = run_queries(url, args.repeat)
        results["partitioned"] = r
        save(args.json, results)
        print("baseline: the same rows in an unpartitioned table (same indexes)", file=sys.stderr, flush=True)
        flat = unpartitioned_copy(url)
        flat.update(analyze(flat["url"], "flat.observations"))
        flat["queries"] = run_queries(flat.pop("url"), args.repeat)
        results["unpartitioned"] = flat
        save(args.json, results)
        print(f"executemany INSERT baseline: {args.sample:,} rows", file=sys.stderr, flush=True)
        results["executemany"] = run_child(url, str(args.sample), str(args.seed + 1), "executemany")
        print(f"  {results['executemany']}", file=sys.stderr, flush=True)
        save(args.json, results)
        results["copy_sample"] = run_child(url, str(args.sample), str(args.seed + 2), "copy")
        print(f"  copy sample: {results['copy_sample']}", file=sys.stderr, flush=True)
        save(args.json, results)
    finally:
        from econet.hub.db import dispose_all
        dispose_all()
        if not args.keep:
            from econet.hub.db import drop_database
            for url in made:
                drop_database(args.pg, url.rsplit("/", 1)[1].split("?")[0])
        else:
            print("kept:", *made, file=sys.stderr)
    text_ = report(results)
    print(text_)
    if not args.no_record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(text_)


def save(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps({**results, "load": os.getloadavg()}, indent=1, default=str))


def report(res: dict) -> str:
    load = os.getloadavg()
    n = res["rows"]
    lines = [f"\n## hub_scale: {n:,} observations in PostgreSQL+PostGIS, loaded with COPY and queried "
             f"({dt.date.today().isoformat()})\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end), Python {platform.python_version()}, "
             "PostgreSQL on the same machine. `benchmarks/hub_scale.py`: simulated camera-trap records "
             f"(2,000 stations, 12 species, {YEARS[0]}-{YEARS[1]}) written by `hub.bulk` (COPY, pipelined) in one "
             "transaction per load, into the time-partitioned table (migration 0006: one partition per year) and, "
             "as the baseline, into the same table unpartitioned (same indexes); plain executemany INSERT for a "
             "sample. Wall times include waiting for the shared cores.\n",
             "| load | rows | wall (s) | rows/s | loader CPU (s) | loader peak RSS (MB) | RSS after 1st chunk / "
             "half way (MB) | table + indexes (GB) |", "|---|---|---|---|---|---|---|---|"]
    for key, name in (("partitioned", "COPY, partitioned, empty table (indexes built at the end)"),
                      ("copy_sample", "COPY sample into the partitioned table (already full)"),
                      ("executemany", "executemany INSERT sample, partitioned table (already full)")):
        r = res.get(key)
        if not r:
            continue
        size = f"{r['size_gb']:.1f}" if "size_gb" in r else ""
        lines.append(f"| {name} | {r['rows']:,} | {r['seconds']:.0f} | {r['rows'] / r['seconds']:,.0f} | "
                     f"{r['cpu']:.0f} | {r['rss_mb']:.0f} | {r['rss_first_chunk_mb']:.0f} / {r['rss_half_mb']:.0f} | "
                     f"{size} |")
    p, f = res.get("partitioned"), res.get("unpartitioned")
    if p:
        lines.append(f"\nOf the partitioned load, {p['index_build_s']:.0f} s were the index builds at the end "
                     f"(indexes deferred: {p['indexes_deferred']}); VACUUM ANALYZE afterwards {p['vacuum_analyze_s']:.0f} s.")
    if f:
        lines.append(f"The unpartitioned baseline table (CREATE TABLE AS + the same indexes) took {f['build_s']:.0f} s "
                     f"to build, {f['size_gb']:.1f} GB.")
    lines += ["", "| query (hub.query, as the API runs it) | rows | partitioned p50 / p95 (ms) | "
                  "unpartitioned p50 / p95 (ms) |", "|---|---|---|---|"]
    qp = res.get("partitioned", {}).get("queries", {})
    qf = res.get("unpartitioned", {}).get("queries", {})
    for q, v in qp.items():
        w = qf.get(q)
        other = f"{w['p50']:.0f} / {w['p95']:.0f}" if w else "-"
        lines.append(f"| {q} | {v['rows']:,} | {v['p50']:.0f} / {v['p95']:.0f} | {other} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
