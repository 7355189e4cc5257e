"""Omniscape on 10^6 and 4*10^6 cells (radius 50 cells, block size 5): one dask worker versus two
(speed-up and memory per worker), and the projected time for the Amur basin at 250 m on 32 workers.

A full run at these sizes is 40,000 / 160,000 moving-window solves (about 40 min / 2.5 h of one core),
too long on a shared 2-core machine, so by default a representative sample of tiles (the same tiles for
1 and 2 workers; interior and edge tiles) runs through the real tiled code path (`run_tiles`, dask
LocalCluster of worker processes) and the full time is projected from the measured per-target cost.
`--full` runs every tile instead.

    .venv/bin/python benchmarks/omniscape.py [--sizes 1000 2000] [--tiles 4] [--full]
"""

from __future__ import annotations

import argparse
import json
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


def sample_tiles(n_tiles_side: int, k: int) -> list[int]:
    """k tiles near the middle and on the left and top edges (row-major ids): 2 interior, 2 edge for k=4."""
    c = n_tiles_side // 2
    picks = [c * n_tiles_side + c, (c - 1) * n_tiles_side + c + 1, c * n_tiles_side, c - 1,
             (c + 1) * n_tiles_side + c - 1, n_tiles_side - 1, (c - 1) * n_tiles_side + c - 1, c]
    out = []
    for p in picks:
        if 0 <= p < n_tiles_side ** 2 and p not in out:
            out.append(p)
    return out[:k]


def run(n: int, k: int, full: bool, tile_size: int) -> dict:
    from econet.connectivity.omniscape import OmniscapeParams, find_targets, prepare_inputs
    from econet.connectivity.tiling import plan_tiles, run_tiles

    params = OmniscapeParams(radius=50, block_size=5, source_from_resistance=True, calc_flow_potential=True,
                             calc_normalized_current=True)
    res = landscape(n)
    inputs = prepare_inputs(res, params)
    targets = find_targets(inputs.source, params.block_size)
    tiles = plan_tiles(res.shape, targets, params, tile_size)
    side = int(np.ceil(n / tile_size))
    ids = list(range(len(tiles))) if full else sample_tiles(side, k)
    ids = [i for i in ids if i < len(tiles)]
    sampled_targets = int(sum(len(tiles[i].targets) for i in ids))
    out = {"cells": n * n, "targets": int(len(targets)), "tiles": len(tiles), "tile_size": tile_size,
           "sampled_tiles": len(ids), "sampled_targets": sampled_targets}
    maps = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        r = run_tiles(inputs, params, workers=workers, tile_size=tile_size, only_tiles=ids)
        wall = time.perf_counter() - t0
        maps[workers] = r.cum
        out[f"w{workers}"] = {"wall_s": wall, "compute_wall_s": r.stats["wall_seconds"],
                              "tile_cpu_s": r.stats["tile_seconds"],
                              "tile_cpu_only_s": r.stats["tile_cpu_seconds"],
                              "s_per_target": r.stats["tile_seconds"] / max(sampled_targets, 1),
                              "cpu_s_per_target": r.stats["tile_cpu_seconds"] / max(sampled_targets, 1),
                              "worker_peak_rss_mb": r.stats["worker_peak_rss_mb"]}
    out["speedup_2v1"] = out["w1"]["compute_wall_s"] / out["w2"]["compute_wall_s"]
    out["max_rel_diff_1v2"] = float(np.abs(maps[1] - maps[2]).max() / max(np.abs(maps[1]).max(), 1e-300))
    per_target = out["w1"]["cpu_s_per_target"]
    out["projected_full_1_worker_s"] = per_target * len(targets)
    out["projected_full_2_workers_s"] = per_target * len(targets) / out["speedup_2v1"]
    out["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000], help="grid sides (cells)")
    ap.add_argument("--tiles", type=int, default=4, help="tiles sampled per size")
    ap.add_argument("--tile-size", type=int, default=100)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    results = {"machine": f"{platform.machine()}, {platform.python_version()}", "runs": []}
    for n in a.sizes:
        r = run(n, a.tiles, a.full, a.tile_size)
        results["runs"].append(r)
        print(json.dumps(r, indent=1), flush=True)
    # Amur basin projection from the measured cost per target (largest run), 32 workers, with the
    # measured 2-worker parallel efficiency carried over (tiles are independent; no shared state)
    last = results["runs"][-1]
    cells = AMUR_KM2 * 1e6 / CELL_M ** 2
    n_targets = cells / 25.0
    eff = last["speedup_2v1"] / 2.0
    cpu = last["w1"]["cpu_s_per_target"]
    results["amur"] = {"cells": cells, "targets": n_targets, "cpu_s_per_target": cpu,
                       "measured_2_worker_efficiency_shared_machine": eff, "workers": CLUSTER_WORKERS,
                       "projected_hours_dedicated_cores": n_targets * cpu / CLUSTER_WORKERS / 3600,
                       "projected_hours_at_measured_efficiency": n_targets * cpu / (CLUSTER_WORKERS * eff) / 3600}
    print(json.dumps(results["amur"], indent=1))


if __name__ == "__main__":
    main()
