"""Atlas benchmark: 100,000 observations in view, in headless Debian chromium (Playwright).

Time to first render (the records requested -> drawn and the map idle; and the page's own start) and time to
pan (panBy 300 x 120 px -> the map idle with the new view's records), for three ways of drawing the same view:

- econet: the atlas's own layer - /api/v1/atlas/observations clustered on a screen grid on the server
  (a few hundred features cross the wire), reloaded for the new bounding box after each pan; "cold" is the
  first request of a view (its index is built from the view's rows), "warm" the later ones;
- baseline, all points: every record as its own GeoJSON feature (paged from /api/v1/observations, 10,000 a
  page) drawn as circles - the obvious way;
- baseline, client clusters: the same 100,000 features in a MapLibre GeoJSON source with `cluster: true`
  (supercluster in the map's web worker).

Timing marks are `performance.now()` in the page (first render: from navigation start). Prints a table and appends it to benchmarks/RESULTS.md with
the machine and load average (the 2 cores are shared with other work: compare within one run).

    .venv/bin/python benchmarks/atlas.py [--n 100000] [--repeat 3] [--no-record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("ECONET_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--no-first-run", "--disable-background-networking"]

# The baselines, run in the page: fetch every record (paged), then draw them as one GeoJSON source.
BASELINE_JS = """async ({cluster}) => {
  const a = window.__atlas, map = a.map;
  const t0 = performance.now();
  const features = [];
  let after = null;
  for (;;) {
    const q = new URLSearchParams({limit: 10000, format: 'geojson'});
    if (after !== null) q.set('after', after);
    const body = await (await fetch('/api/v1/observations?' + q)).json();
    for (const f of body.features) if (f.geometry) features.push({type: 'Feature', geometry: f.geometry,
      properties: {generalized: Boolean(f.properties.data_generalizations)}});
    if (body.next_after === null || body.next_after === undefined) break;
    after = body.next_after;
  }
  const tFetched = performance.now();
  const src = {type: 'geojson', data: {type: 'FeatureCollection', features}};
  if (cluster) Object.assign(src, {cluster: true, clusterRadius: 60, clusterMaxZoom: 12});
  map.addSource('naive', src);
  map.addLayer({id: 'naive', type: 'circle', source: 'naive',
    paint: {'circle-radius': cluster ? ['case', ['has', 'point_count'], 14, 4] : 4, 'circle-color': '#3182bd'}});
  await new Promise((r) => map.once('idle', r));
  return {features: features.length, fetch_ms: tFetched - t0, draw_ms: performance.now() - t0};
}"""

PAN_JS = """async ({waitReload}) => {
  const a = window.__atlas, map = a.map;
  const loads = a.hub.loads;
  const t0 = performance.now();
  map.panBy([300, 120], {duration: 0});
  if (waitReload) {
    while (a.hub.loads === loads) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => { if (map.loaded() && map.areTilesLoaded() && !waitReload) { map.once('idle', r); map.triggerRepaint(); } else map.once('idle', r); });
  return performance.now() - t0;
}"""

FRAME_JS = """async () => {
  // frames drawn during 1 s of continuous panning: how responsive the page stays
  const map = window.__atlas.map;
  let frames = 0;
  const on = () => { frames += 1; };
  map.on('render', on);
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    map.panBy([8, 3], {duration: 0});
    await new Promise((r) => requestAnimationFrame(r));
  }
  map.off('render', on);
  return frames / ((performance.now() - t0) / 1000);
}"""


def build_hub(folder: Path, n: int) -> str:
    """An SQLite hub of `n` SIMULATED public camera-trap records in the demo region."""
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.simulate import write_csv
    db = f"sqlite:///{folder / 'bench.db'}"
    mapping = write_csv(folder / "obs.csv", n, n_stations=400)
    engine = open_hub(db)
    import_path(engine, folder / "obs.csv", dataset="bench-cams", org="Bench partner", country="CN", mapping=mapping)
    with engine.begin() as conn:
        sharing.set_sharing(conn, "bench-cams", visibility="public")
        accounts.list_orgs(conn)
    return db


def serve(db: str, demo: Path | None):
    import httpx
    import uvicorn

    from econet.api.app import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(db_url=db, demo_dir=demo), host="127.0.0.1", port=port,
                                        log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1)
            return srv, base
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the app did not start")


def open_atlas(browser, base: str, query: str = ""):
    page = browser.new_page()
    page.goto(f"{base}/?lang=en{query}")
    page.wait_for_function("window.__atlas && (window.__atlas.ready || window.__atlas.error)", timeout=300_000)
    err = page.evaluate("window.__atlas.error || null")
    if err:
        raise SystemExit(f"atlas error: {err}")
    return page


EXPLAIN = ("Page ready = navigation to the base map drawn (with econet's own layer for econet); records fetched "
           "and drawn = the request(s) to the map idle with them (econet cold: the server first builds the "
           "view's index); pan = median of 3 pans of 300 x 120 px to the map idle (econet: with the new box's "
           "records).")

RELOAD_JS = """async () => {
  const a = window.__atlas, map = a.map;
  const t0 = performance.now();
  await a.reloadObservations();  // the observations requested again, drawn, map idle
  return performance.now() - t0;
}"""


def run_econet(browser, base: str, cold: bool) -> dict:
    from econet.api.routers import atlas as atlas_routes
    page = open_atlas(browser, base)
    ready = page.evaluate("performance.now()")
    if cold:
        atlas_routes._INDEXES.clear()  # the next request of the view builds its index from the view's rows
    draw = page.evaluate(RELOAD_JS)
    features = page.evaluate("window.__atlas.hub.data.features.length")
    total = page.evaluate("window.__atlas.hub.data.total")
    pans = [page.evaluate(PAN_JS, {"waitReload": True}) for _ in range(3)]  # each pan: a new bbox request
    fps = page.evaluate(FRAME_JS)
    page.close()
    return {"ready_ms": ready, "draw_ms": draw, "pan_ms": statistics.median(pans), "fps": fps,
            "features": features, "total": total}


def run_baseline(browser, base: str, cluster: bool) -> dict:
    page = open_atlas(browser, base, "&nohub")  # the base map only; the baseline then draws the records
    ready = page.evaluate("performance.now()")
    r = page.evaluate(BASELINE_JS, {"cluster": cluster})
    pans = [page.evaluate(PAN_JS, {"waitReload": False}) for _ in range(3)]
    fps = page.evaluate(FRAME_JS)
    page.close()
    return {"ready_ms": ready, "draw_ms": r["draw_ms"], "pan_ms": statistics.median(pans), "fps": fps,
            "features": r["features"], "total": r["features"], "fetch_ms": r["fetch_ms"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--db", help="reuse a hub built by an earlier run (sqlite:///.../bench.db)")
    a = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright
    tmp = Path(tempfile.mkdtemp(prefix="econet-bench-atlas-"))
    t0 = time.perf_counter()
    db = a.db or build_hub(tmp, a.n)
    print(f"hub of {a.n} observations ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    srv, base = serve(db, None)
    results: dict[str, list[dict]] = {"econet, cold (view index built)": [], "econet, warm (view index kept)": [],
                                      "baseline: all points": [], "baseline: client clusters (supercluster)": []}
    profile = tempfile.mkdtemp(prefix="econet-bench-chromium-")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                                                           viewport={"width": 1280, "height": 860})
            for _ in range(a.repeat):
                results["econet, cold (view index built)"].append(run_econet(browser, base, cold=True))
                results["econet, warm (view index kept)"].append(run_econet(browser, base, cold=False))
                results["baseline: all points"].append(run_baseline(browser, base, cluster=False))
                results["baseline: client clusters (supercluster)"].append(run_baseline(browser, base, cluster=True))
            browser.close()
    finally:
        srv.should_exit = True
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    header = ("| drawing | records in view | features sent | page ready, base map (ms) | records fetched and drawn (ms) "
              "| pan (ms) | frames/s while panning |\n|---|---:|---:|---:|---:|---:|---:|")
    lines = [header]
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("ready_ms", "draw_ms", "pan_ms", "fps")}
        lines.append(f"| {name} | {runs[0]['total']:,} | {runs[0]['features']:,} | {med['ready_ms']:.0f} | "
                     f"{med['draw_ms']:.0f} | {med['pan_ms']:.0f} | {med['fps']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if not a.no_record:
        cpu = platform.processor() or platform.machine()
        try:
            cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(f"\n## atlas: {a.n:,} observations in view ({dt.date.today().isoformat()})\n\n"
                     f"Machine: {cpu}, {os.cpu_count()} cores (shared with other work), load average "
                     f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; {chromium}, headless, WebGL by SwiftShader "
                     f"(software). Medians of {a.repeat} runs. {EXPLAIN}\n\n"
                     f"{table}\n")


if __name__ == "__main__":
    main()
