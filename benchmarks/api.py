"""Benchmark of the REST API under load: N simulated observations (default 1,000,000) in SQLite and in
PostgreSQL+PostGIS, served by uvicorn on 127.0.0.1, hit by C concurrent clients (default 50) for D seconds
with a mix of typical queries, half anonymous and half with a partner's token (so sensitive records are
generalized on the way out, and every request is audited).

Reports throughput (requests/s), p50/p95/p99 latency and errors per back end and per query. Baseline in the
same run: the same observation queries straight through `econet.hub.query.observation_rows` in-process (no
HTTP, no sharing view, no audit), sequentially. Targets: p95 < 100 ms at 50 clients, no errors.

    .venv/bin/python benchmarks/api.py [--rows 1000000] [--clients 50] [--seconds 30] [--pg URL] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKERS = 2  # uvicorn processes (the machine has 2 cores)

SERVER = """
import os, sys, uvicorn
os.environ["ECONET_DB"] = sys.argv[1]
uvicorn.run("econet.api.hub_routes:app_from_env", factory=True, host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False, backlog=2048, workers=int(sys.argv[3]))
"""

QUERIES = {  # name -> (path, params)
    "bbox 0.05 deg, 100 rows": ("/api/v1/observations", lambda r: {
        "bbox": f"{(x := r.uniform(130.5, 131.4)):.3f},{(y := r.uniform(42.5, 43.7)):.3f},{x + 0.05:.3f},{y + 0.05:.3f}",
        "limit": 100}),
    "species + year, 100 rows": ("/api/v1/observations", lambda r: {
        "taxon": r.choice(["Panthera pardus orientalis", "Panthera tigris altaica", "Sus scrofa", "Lynx lynx"]),
        "start": f"{(yr := r.choice([2019, 2020, 2021]))}-01-01", "end": f"{yr}-12-31", "limit": 100}),
    "country + species + year, CSV 500 rows": ("/api/v1/observations", lambda r: {
        "country": r.choice(["CN", "RU"]), "taxon": r.choice(["Sus scrofa", "Capreolus pygargus", "Cervus nippon"]),
        "start": f"{(yr := r.choice([2019, 2020, 2021]))}-01-01", "end": f"{yr}-12-31", "dataset": "bench",
        "limit": 500, "format": "csv"}),
    "individual": ("/api/v1/observations", lambda r: {"individual": f"PPO-{r.randint(1, 12):02d}", "limit": 100}),
    "datasets": ("/api/v1/datasets", lambda r: {}),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str, rows: int, folder: Path) -> dict:
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.simulate import write_csv
    csv_path = folder / "bench.csv"
    if not csv_path.exists():
        mapping = write_csv(csv_path, rows, n_stations=2000)
    else:
        mapping = csv_path.with_suffix(".mapping.yaml")
    engine = open_hub(url)
    t = time.perf_counter()
    import_path(engine, csv_path, dataset="bench", org="Land of the Leopard NP", mapping=mapping)
    t_import = time.perf_counter() - t
    with engine.begin() as conn:
        accounts.add_org(conn, "Hunchun NR", country="CN")
        sharing.set_sharing(conn, "bench", visibility="public", license="CC-BY-4.0", citation="SIMULATED benchmark")
        for cc in ("RU", "CN"):
            sharing.set_sensitive(conn, "Panthera pardus orientalis", cc, "0.1")
            sharing.set_sensitive(conn, "Panthera tigris altaica", cc, "withheld")
        accounts.add_user(conn, "bench-partner", "benchmark password")
        accounts.set_role(conn, "bench-partner", "Hunchun NR", "viewer")
        token = accounts.create_token(conn, "bench-partner", days=1)["token"]
    return {"token": token, "import_s": t_import}


def baseline(url: str, n: int = 200) -> dict:
    """The observation queries in-process, without HTTP, view or audit (sequential)."""
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter, observation_rows
    engine = open_hub(url)
    rnd = random.Random(1)
    lat = []
    for i in range(n):
        name = list(QUERIES)[i % 4]
        p = QUERIES[name][1](rnd)
        f = ObservationFilter(taxon=p.get("taxon"), start=p.get("start"), end=p.get("end"), country=p.get("country"),
                              dataset=p.get("dataset"), individual=p.get("individual"), limit=p["limit"])
        if "bbox" in p:
            f.bbox = [float(v) for v in p["bbox"].split(",")]
        t = time.perf_counter()
        with engine.connect() as conn:
            list(observation_rows(conn, f))
        lat.append((time.perf_counter() - t) * 1000)
    return summarize(lat, 0, sum(lat) / 1000)


def summarize(lat: list[float], errors: int, seconds: float) -> dict:
    if not lat:
        return {"requests": 0, "errors": errors}
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
    return {"requests": len(lat), "errors": errors, "rps": round(len(lat) / seconds, 1),
            "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1), "p99_ms": round(q[98], 1)}


async def load(port: int, token: str, clients: int, seconds: float) -> dict:
    import httpx
    per: dict[str, list[float]] = {k: [] for k in QUERIES}
    errors: dict[str, int] = {k: 0 for k in QUERIES}
    samples: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def worker(i: int):
            rnd = random.Random(i)
            headers = {"Authorization": f"Bearer {token}"} if i % 2 else {}
            while time.perf_counter() < stop:
                name = rnd.choice(list(QUERIES))
                path, params = QUERIES[name]
                t = time.perf_counter()
                try:
                    r = await client.get(path, params=params(rnd), headers=headers)
                    ok = r.status_code == 200
                    if not ok and len(samples) < 5:
                        samples.append(f"{r.status_code} {r.text[:200]}")
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    ok = False
                    if len(samples) < 5:
                        samples.append(repr(exc)[:200])
                if ok:
                    per[name].append((time.perf_counter() - t) * 1000)
                else:
                    errors[name] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.perf_counter() - t0
    out = {"all": summarize([x for v in per.values() for x in v], sum(errors.values()), elapsed)}
    for k in QUERIES:
        out[k] = summarize(per[k], errors[k], elapsed)
    out["error_samples"] = samples
    return out


def run_backend(name: str, url: str, rows: int, clients: int, seconds: float, folder: Path) -> dict:
    print(f"[{name}] importing {rows:,} rows ...", flush=True)
    info = build(url, rows, folder)
    print(f"[{name}] imported in {info['import_s']:.1f} s; starting the server", flush=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port), str(WORKERS)])
    try:
        import httpx
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/datasets", timeout=5).status_code == 200:
                    break
            except Exception:
                time.sleep(0.2)
        # warm-up (sensitive-site cache, connections), not measured
        asyncio.run(load(port, info["token"], 4, 3))
        res = asyncio.run(load(port, info["token"], clients, seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    res["baseline_in_process"] = baseline(url)
    res["import_s"] = round(info["import_s"], 1)
    print(f"[{name}] {json.dumps(res['all'])}; baseline {json.dumps(res['baseline_in_process'])}", flush=True)
    return res


def record(results: dict, rows: int, clients: int, seconds: float) -> None:
    load_avg = os.getloadavg()[0]
    lines = [f"\n## api: REST API under load, {rows:,} observations, {clients} concurrent clients "
             f"({time.strftime('%Y-%m-%d')})\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
             f"{load_avg:.1f} at the end), Python {platform.python_version()}. `benchmarks/api.py`: simulated "
             f"camera-trap observations (public dataset; Amur leopard 0.1 degree and Amur tiger withheld in RU and "
             f"CN), uvicorn ({WORKERS} processes) on 127.0.0.1, {clients} concurrent httpx clients for {seconds:.0f} s, half "
             "anonymous and half with a partner's token; every request goes through the sharing view and is "
             "audited. Baseline: the same observation queries in-process through `hub.query.observation_rows` "
             "(no HTTP, no view, no audit), one at a time. Target: p95 < 100 ms, no errors.\n",
             "| back end | query | requests | errors | req/s | p50 (ms) | p95 (ms) | p99 (ms) |",
             "|---|---|---|---|---|---|---|---|"]
    for be, res in results.items():
        for q in ["all", *QUERIES, "baseline_in_process"]:
            s = res[q]
            lines.append(f"| {be} | {q} | {s.get('requests', 0):,} | {s.get('errors', 0)} | {s.get('rps', '')} | "
                         f"{s.get('p50_ms', '')} | {s.get('p95_ms', '')} | {s.get('p99_ms', '')} |")
    verdict = []
    for be, res in results.items():
        a = res["all"]
        ok = a.get("errors", 1) == 0 and a.get("p95_ms", 1e9) < 100
        verdict.append(f"{be}: p95 {a.get('p95_ms')} ms, {a.get('errors')} errors -> {'met' if ok else 'NOT met'}")
    lines.append("\nAPI target (p95 < 100 ms at %d clients, no errors): %s.\n" % (clients, "; ".join(verdict)))
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--pg", default=os.environ.get("ECONET_TEST_PG_URL"))
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="econet-apibench-") as tmp:
        folder = Path(tmp)
        results["SQLite"] = run_backend("SQLite", f"sqlite:///{folder / 'api.db'}", a.rows, a.clients, a.seconds,
                                        folder)
        if a.pg:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url
            name = "econet_apibench_" + uuid.uuid4().hex[:8]
            admin = create_engine(a.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f"CREATE DATABASE {name}"))
            url = make_url(a.pg).set(database=name).render_as_string(hide_password=False)
            e = create_engine(url, isolation_level="AUTOCOMMIT")
            with e.connect() as c:
                c.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            e.dispose()
            try:
                results["PostgreSQL+PostGIS"] = run_backend("PostgreSQL", url, a.rows, a.clients, a.seconds, folder)
            finally:
                from econet.hub.db import dispose_all
                dispose_all()
                with admin.connect() as c:
                    c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    print(json.dumps(results, indent=1))
    if not a.no_record:
        record(results, a.rows, a.clients, a.seconds)


if __name__ == "__main__":
    main()
