"""Omniscape on 10^6 and 4*10^6 cells (radius 50 cells, block size 5): real runs on a dask LocalCluster
with one worker and with two (wall time end to end, speed-up, CPU time and peak memory per worker), and
the projected time for the Amur basin at 250 m on 32 workers from the measured per-tile cost.

A whole grid is 40,000 / 160,000 moving-window solves (about 30 min / 2 h of one core), too long for a
shared 2-core machine, so by default a fixed strip of tiles runs in full: `--strip-tiles` consecutive
tiles of the middle tile row (interior tiles, the bulk of a large landscape), the same strip for 1 and 2
workers, every target of those tiles solved, timed end to end (cluster start, shipping the tiles'
inputs, the solves, checkpoints and the reduction into the maps). Nothing is extrapolated except the
Amur projection. `--full` runs every tile of the grid instead.

    .venv/bin/python benchmarks/omniscape.py [--sizes 1000 2000] [--strip-tiles 8] [--tile-size 100] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numpy as np

AMUR_KM2 = 2.0e6
CELL_M = 250.0
CLUSTER_WORKERS = 32


def landscape(n: int, seed: int = 1) -> np.ndarray:
    """Log-normal resistance with spatial structure (smoothed noise at two scales), 2% nodata (lakes)."""
    rng = np.random.default_rng(seed)
    from scipy.ndimage import gaussian_filter
    z = gaussian_filter(rng.normal(size=(n, n)), 8) * 8 + gaussian_filter(rng.normal(size=(n, n)), 2) * 2
    res = np.exp(1.2 * z / z.std())
    lakes = gaussian_filter(rng.normal(size=(n, n)), 15)
    res[lakes > np.quantile(lakes, 0.98)] = np.nan
    return res


def strip(tiles, n: int, tile_size: int, k: int) -> tuple[list[int], str]:
    """Positions (in tile order) of k consecutive tiles centred in the middle tile row, and a label."""
    side = int(np.ceil(n / tile_size))
    row = side // 2
    first = max(0, side // 2 - k // 2)
    wanted = {row * side + c for c in range(first, min(side, first + k))}
    ids = [i for i, t in enumerate(tiles) if t.index in wanted]
    label = (f"tile row {row} (grid rows {row * tile_size}-{(row + 1) * tile_size - 1}), "
             f"tile columns {first}-{first + len(ids) - 1}")
    return ids, label


def run(n: int, k: int, full: bool, tile_size: int) -> dict:
    from econet.connectivity.omniscape import OmniscapeParams, find_targets, prepare_inputs
    from econet.connectivity.tiling import plan_tiles, run_tiles

    params = OmniscapeParams(radius=50, block_size=5, source_from_resistance=True, calc_flow_potential=True,
                             calc_normalized_current=True)
    res = landscape(n)
    inputs = prepare_inputs(res, params)
    targets = find_targets(inputs.source, params.block_size)
    tiles = plan_tiles(res.shape, targets, params, tile_size)
    if full:
        ids, label = list(range(len(tiles))), "all tiles"
    else:
        ids, label = strip(tiles, n, tile_size, k)
    run_targets = int(sum(len(tiles[i].targets) for i in ids))
    out = {"cells": n * n, "targets": int(len(targets)), "tiles": len(tiles), "tile_size": tile_size,
           "run": label, "run_tiles": len(ids), "run_targets": run_targets}
    maps = {}
    for workers in (1, 2):
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        r = run_tiles(inputs, params, workers=workers, tile_size=tile_size, only_tiles=ids)
        wall = time.perf_counter() - t0
        maps[workers] = (r.cum, r.fp)
        s = r.stats
        out[f"w{workers}"] = {"wall_s": wall, "compute_wall_s": s["wall_seconds"],
                              "cpu_s": s["tile_cpu_seconds"], "worker_cpu_s": s["worker_cpu_seconds"],
                              "worker_peak_rss_mb": s["worker_peak_rss_mb"],
                              "cpu_s_per_tile": s["tile_cpu_seconds"] / len(ids),
                              "cpu_s_per_target": s["tile_cpu_seconds"] / max(run_targets, 1),
                              "load_avg": [load0, os.getloadavg()[0]]}
    out["speedup_2v1_end_to_end"] = out["w1"]["wall_s"] / out["w2"]["wall_s"]
    out["speedup_2v1_compute"] = out["w1"]["compute_wall_s"] / out["w2"]["compute_wall_s"]
    out["max_abs_diff_1v2"] = float(max(np.abs(maps[1][0] - maps[2][0]).max(),
                                        np.abs(maps[1][1] - maps[2][1]).max()))
    out["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def amur(last: dict) -> dict:
    """Amur basin at 250 m on 32 workers from the measured per-tile CPU cost (interior tiles of the
    same size and settings), on dedicated cores and at the 2-worker efficiency measured here."""
    cells = AMUR_KM2 * 1e6 / CELL_M ** 2
    tiles = cells / last["tile_size"] ** 2
    per_tile = last["w1"]["cpu_s_per_tile"]
    eff = last["speedup_2v1_compute"] / 2.0
    rounds = np.ceil(tiles / CLUSTER_WORKERS)
    return {"cells": cells, "tiles": tiles, "targets": cells / 25.0, "cpu_s_per_tile": per_tile,
            "workers": CLUSTER_WORKERS, "projected_hours_dedicated_cores": rounds * per_tile / 3600,
            "measured_2_worker_efficiency_shared_machine": eff,
            "projected_hours_at_measured_efficiency": rounds * per_tile / eff / 3600}


def table(runs: list[dict]) -> str:
    lines = [("| cells | tiles run (targets) | workers | wall end to end (s) | compute wall (s) | speed-up | "
              "CPU s per worker | CPU s per tile | peak RSS per worker (MB) | load avg |"),
             "|---:|---|---:|---:|---:|---:|---|---:|---|---|"]
    for r in runs:
        for w in (1, 2):
            m = r[f"w{w}"]
            sp = f"{r['speedup_2v1_end_to_end']:.2f}x ({r['speedup_2v1_compute']:.2f}x)" if w == 2 else ""
            lines.append(f"| {r['cells']:,d} | {r['run_tiles']} ({r['run_targets']:,d}) | {w} | {m['wall_s']:.1f} | "
                         f"{m['compute_wall_s']:.1f} | {sp} | {', '.join(f'{c:.1f}' for c in m['worker_cpu_s'])} | "
                         f"{m['cpu_s_per_tile']:.2f} | {', '.join(f'{x:.0f}' for x in m['worker_peak_rss_mb'])} | "
                         f"{m['load_avg'][0]:.1f}-{m['load_avg'][1]:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000], help="grid sides (cells)")
    ap.add_argument("--strip-tiles", type=int, default=8, help="tiles of the middle tile row run in full")
    ap.add_argument("--tile-size", type=int, default=100)
    ap.add_argument("--full", action="store_true", help="run every tile of the grid")
    a = ap.parse_args()
    runs = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for n in a.sizes:
        r = run(n, a.strip_tiles, a.full, a.tile_size)
        runs.append(r)
        print(json.dumps(r, indent=1), flush=True)
    print(table(runs))
    print(json.dumps({"amur": amur(runs[-1])}, indent=1))


if __name__ == "__main__":
    main()
