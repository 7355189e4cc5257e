"""Benchmark of the REST API under load: N simulated observations (default 1,000,000, bulk-loaded by the hub's
importer) in SQLite and in PostgreSQL+PostGIS, served the way production runs it (`econet serve --workers W
--quiet` on 127.0.0.1), hit by C concurrent keep-alive clients (default 50; a light asyncio HTTP/1.1 client,
its own CPU measured) for D seconds with a mix of typical queries: a page by taxon, bbox, country, dataset,
time range, GeoJSON and CSV, an individual, a deep page (keyset cursor), the sensitive Amur leopard as a
partner (generalized) and as the owner (exact); half the general queries anonymous, half signed in. Every
request goes through the sharing view and is audited.

Reports throughput, p50/p95/p99 latency and errors per back end and per query, and the CPU time per request
of the server processes and of the client: with C closed-loop clients on K cores the latency cannot be below
about C x (server + client CPU per request) / K, printed next to the measured p95. Baseline in the same run:
the same observation queries straight through `econet.hub.query.observation_rows` in-process (no HTTP, no
sharing view, no audit), one at a time. Target (issue 4): p95 < 100 ms at 50 clients, no errors.

    .venv/bin/python benchmarks/api.py [--rows 1000000] [--clients 50] [--seconds 30] [--workers 2]
                                       [--pg URL] [--no-sqlite] [--no-record]
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
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
SPECIES = ["Sus scrofa", "Capreolus pygargus", "Cervus nippon", "Lynx lynx", "Ursus thibetanus", "Martes zibellina"]


def _bbox(r):
    x, y = r.uniform(130.5, 131.4), r.uniform(42.5, 43.7)
    return f"{x:.3f},{y:.3f},{x + 0.05:.3f},{y + 0.05:.3f}"


def _month(r):
    yr, mo = r.choice([2019, 2020, 2021, 2022]), r.randint(1, 12)
    return f"{yr}-{mo:02d}-01", f"{yr}-{mo:02d}-28"


#: name -> (path, params(random, rows), who): who is "mixed" (half anonymous, half the partner), "partner", "owner"
QUERIES = {
    "taxon, 100 rows": ("/api/v1/observations", lambda r, n: {"taxon": r.choice(SPECIES), "limit": 100}, "mixed"),
    "bbox 0.05 deg, 100 rows": ("/api/v1/observations", lambda r, n: {"bbox": _bbox(r), "limit": 100}, "mixed"),
    "country, 100 rows": ("/api/v1/observations", lambda r, n: {"country": r.choice(["CN", "RU"]), "limit": 100},
                          "mixed"),
    "dataset, 100 rows": ("/api/v1/observations", lambda r, n: {"dataset": "bench", "limit": 100}, "mixed"),
    "time range 1 month, 100 rows": ("/api/v1/observations", lambda r, n: dict(
        zip(("start", "end"), _month(r)), limit=100), "mixed"),
    "taxon + year, GeoJSON 100 rows": ("/api/v1/observations", lambda r, n: {
        "taxon": r.choice(SPECIES), "start": f"{(yr := r.choice([2019, 2020, 2021]))}-01-01", "end": f"{yr}-12-31",
        "limit": 100, "format": "geojson"}, "mixed"),
    "country + taxon + year, CSV 500 rows": ("/api/v1/observations", lambda r, n: {
        "country": r.choice(["CN", "RU"]), "taxon": r.choice(SPECIES[:3]),
        "start": f"{(yr := r.choice([2019, 2020, 2021]))}-01-01", "end": f"{yr}-12-31", "dataset": "bench",
        "limit": 500, "format": "csv"}, "mixed"),
    "individual": ("/api/v1/observations", lambda r, n: {"individual": f"PPO-{r.randint(1, 12):02d}", "limit": 100},
                   "mixed"),
    "deep page (after=)": ("/api/v1/observations", lambda r, n: {"after": r.randint(n // 2, n - 200), "limit": 100},
                           "mixed"),
    "leopard as partner (generalized)": ("/api/v1/observations", lambda r, n: {
        "taxon": "Panthera pardus orientalis", "limit": 100}, "partner"),
    "leopard as owner (exact)": ("/api/v1/observations", lambda r, n: {
        "taxon": "Panthera pardus orientalis", "limit": 100}, "owner"),
    "datasets": ("/api/v1/datasets", lambda r, n: {}, "mixed"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str, rows: int, folder: Path) -> dict:
    """The hub: `rows` simulated camera-trap observations, a partner and an owner's user with tokens."""
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.simulate import write_csv
    csv_path = folder / f"bench-{rows}.csv"
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
        tokens = {}
        for user, org in (("bench-partner", "Hunchun NR"), ("bench-owner", "Land of the Leopard NP")):
            accounts.add_user(conn, user, "benchmark password")
            accounts.set_role(conn, user, org, "viewer")
            tokens[user.split("-")[1]] = accounts.create_token(conn, user, days=1)["token"]
    if engine.dialect.name == "postgresql":  # statistics for the planner (committed: ANALYZE is transactional)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"tokens": tokens, "import_s": t_import}


def baseline(url: str, rows: int, n: int = 200) -> dict:
    """The observation queries in-process, without HTTP, view or audit (one at a time)."""
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter, observation_rows
    engine = open_hub(url)
    rnd = random.Random(1)
    names = [k for k, v in QUERIES.items() if v[0] == "/api/v1/observations"]
    lat = []
    for i in range(n):
        p = QUERIES[names[i % len(names)]][1](rnd, rows)
        f = ObservationFilter(taxon=p.get("taxon"), start=p.get("start"), end=p.get("end"), country=p.get("country"),
                              dataset=p.get("dataset"), individual=p.get("individual"), limit=p["limit"],
                              after=p.get("after"))
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


class Connection:
    """A minimal HTTP/1.1 keep-alive client connection (GET only; Content-Length or chunked bodies)."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def get(self, target: str, headers: dict) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
            elif k == "connection" and "close" in v.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(parts)
        else:
            body = await self.reader.readexactly(length or 0)
        if close:
            self.close()
        return status, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def load(port: int, tokens: dict, clients: int, seconds: float, rows: int) -> dict:
    per: dict[str, list[float]] = {k: [] for k in QUERIES}
    errors: dict[str, int] = {k: 0 for k in QUERIES}
    samples: list[str] = []
    stop = time.perf_counter() + seconds
    names = list(QUERIES)

    async def worker(i: int):
        rnd = random.Random(i)
        conn = Connection(port)
        signed_in = bool(i % 2)
        while time.perf_counter() < stop:
            name = names[rnd.randrange(len(names))]
            path, params, who = QUERIES[name]
            who = ("partner" if signed_in else None) if who == "mixed" else who
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
            q = urlencode(params(rnd, rows))
            t = time.perf_counter()
            try:
                status, body = await conn.get(f"{path}?{q}" if q else path, headers)
                ok = status == 200
                if not ok and len(samples) < 5:
                    samples.append(f"{name}: {status} {body[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - counted as an error
                ok = False
                conn.close()
                if len(samples) < 5:
                    samples.append(f"{name}: {exc!r}"[:200])
            if ok:
                per[name].append((time.perf_counter() - t) * 1000)
            else:
                errors[name] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    out = {"all": summarize([x for v in per.values() for x in v], sum(errors.values()), elapsed)}
    for k in QUERIES:
        out[k] = summarize(per[k], errors[k], elapsed)
    out["error_samples"] = samples
    return out


def _cpu(proc) -> float:
    """CPU seconds (user + system) of a process and its children (uvicorn's workers)."""
    import psutil
    total = 0.0
    try:
        p = psutil.Process(proc.pid)
        for q in [p, *p.children(recursive=True)]:
            try:
                t = q.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return total


def _wait_ready(port: int, proc, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def run_backend(name: str, url: str, rows: int, clients: int, seconds: float, workers: int, folder: Path) -> dict:
    print(f"[{name}] importing {rows:,} rows ...", flush=True)
    info = build(url, rows, folder)
    print(f"[{name}] imported in {info['import_s']:.1f} s; starting `econet serve --workers {workers}`", flush=True)
    port = free_port()
    econet = Path(sys.executable).with_name("econet")
    proc = subprocess.Popen([str(econet), "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--quiet"])
    try:
        _wait_ready(port, proc)
        asyncio.run(load(port, info["tokens"], clients, 5, rows))  # warm-up (every worker loads its caches)
        cpu0, cli0 = _cpu(proc), time.process_time()
        res = asyncio.run(load(port, info["tokens"], clients, seconds, rows))
        server_cpu, client_cpu = _cpu(proc) - cpu0, time.process_time() - cli0
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    n = max(res["all"].get("requests", 0) + res["all"].get("errors", 0), 1)
    cores = os.cpu_count() or 1
    res["cpu"] = {"server_ms_per_request": round(server_cpu / n * 1000, 2),
                  "client_ms_per_request": round(client_cpu / n * 1000, 2),
                  "lower_bound_p50_ms": round((server_cpu + client_cpu) / n * 1000 * clients / cores, 1),
                  "cores": cores}
    res["baseline_in_process"] = baseline(url, rows)
    res["import_s"] = round(info["import_s"], 1)
    print(f"[{name}] {json.dumps(res['all'])}; cpu {json.dumps(res['cpu'])}; "
          f"baseline {json.dumps(res['baseline_in_process'])}", flush=True)
    return res


def table(results: dict) -> list[str]:
    lines = ["| back end | query | requests | errors | req/s | p50 (ms) | p95 (ms) | p99 (ms) |",
             "|---|---|---|---|---|---|---|---|"]
    for be, res in results.items():
        for q in ["all", *QUERIES, "baseline_in_process"]:
            s = res[q]
            lines.append(f"| {be} | {q} | {s.get('requests', 0):,} | {s.get('errors', 0)} | {s.get('rps', '')} | "
                         f"{s.get('p50_ms', '')} | {s.get('p95_ms', '')} | {s.get('p99_ms', '')} |")
    lines += ["", "| back end | server CPU ms/request | client CPU ms/request | cores | CPU lower bound on latency "
                  "(ms) = clients x CPU / cores | measured p50 (ms) | measured p95 (ms) |", "|---|---|---|---|---|---|---|"]
    for be, res in results.items():
        c, a = res["cpu"], res["all"]
        lines.append(f"| {be} | {c['server_ms_per_request']} | {c['client_ms_per_request']} | {c['cores']} | "
                     f"{c['lower_bound_p50_ms']} | {a.get('p50_ms')} | {a.get('p95_ms')} |")
    return lines


def record(results: dict, rows: int, clients: int, seconds: float, workers: int) -> None:
    load_avg = os.getloadavg()
    lines = [f"\n## api: REST API under load, {rows:,} observations, {clients} concurrent clients "
             f"({time.strftime('%Y-%m-%d')})\n",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_avg[0]:.1f} / "
             f"{load_avg[1]:.1f} / {load_avg[2]:.1f} (1/5/15 min) at the end, Python {platform.python_version()}. "
             f"`benchmarks/api.py --rows {rows} --clients {clients} --seconds {seconds:.0f} --workers {workers}`: "
             "simulated camera-trap observations (public dataset; Amur leopard 0.1 degree and Amur tiger withheld "
             f"in RU and CN), `econet serve --workers {workers} --quiet` on 127.0.0.1, {clients} concurrent "
             f"keep-alive clients (asyncio, HTTP/1.1) for {seconds:.0f} s, half anonymous and half with a "
             "partner's token (the leopard queries as the partner and as the owner); every request goes through "
             "the sharing view and is audited. Baseline: the same observation queries in-process through "
             "`hub.query.observation_rows` (no HTTP, no view, no audit), one at a time. Target: p95 < 100 ms, "
             "no errors.\n", *table(results)]
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
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="server processes (default: cores)")
    ap.add_argument("--pg", default=os.environ.get("ECONET_TEST_PG_URL"))
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="econet-apibench-") as tmp:
        folder = Path(tmp)
        if not a.no_sqlite:
            results["SQLite"] = run_backend("SQLite", f"sqlite:///{folder / 'api.db'}", a.rows, a.clients, a.seconds,
                                            a.workers, folder)
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
                results["PostgreSQL+PostGIS"] = run_backend("PostgreSQL", url, a.rows, a.clients, a.seconds,
                                                            a.workers, folder)
            finally:
                from econet.hub.db import dispose_all
                dispose_all()
                with admin.connect() as c:
                    c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    print("\n".join(table(results)))
    for be, res in results.items():
        if res.get("error_samples"):
            print(be, "errors:", res["error_samples"])
    if not a.no_record:
        record(results, a.rows, a.clients, a.seconds, a.workers)


if __name__ == "__main__":
    main()
