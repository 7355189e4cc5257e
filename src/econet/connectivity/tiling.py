"""Omniscape's targets in tiles on dask.distributed: one code path for a laptop and a cluster.

The target grid is cut into square tiles of `tile_size` cells; a tile task gets only its cut of the
inputs (its targets' extent plus a halo of radius + buffer, so every window is whole) and returns its
summed current over that cut. Memory per worker is therefore bounded by the tile, not the grid.

Completed tiles are written to a checkpoint folder keyed by a hash of the inputs and settings, so a
restarted run skips them. The maps are then summed tile by tile in tile order, and each tile sums its
targets in Omniscape's order: results are the same bits whether the tiles ran in this process, on one
worker or on many.
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from econet.connectivity.omniscape import (Inputs, OmniscapeParams, correction_array, find_targets,
                                           solve_targets)
from econet.errors import EconetError

CHECKPOINT_VERSION = "1"


@dataclass(eq=False)
class Tile:
    index: int
    targets: np.ndarray          # (row, col, amps), global, Omniscape order
    cut: tuple[int, int, int, int]   # r0, r1, c0, c1 of the inputs the tile needs


@dataclass
class TileRun:
    cum: np.ndarray
    fp: np.ndarray | None
    n_targets: int
    n_tiles: int
    skipped: int
    stats: dict = field(default_factory=dict)


def default_tile_size(params: OmniscapeParams) -> int:
    """Tile side in cells: at least the window's diameter (so the halo does not dominate the cut),
    at least 64 blocks, rounded to whole blocks."""
    side = max(2 * params.reach + 1, 64 * params.block_size, 128)
    return int(np.ceil(side / params.block_size) * params.block_size)


def plan_tiles(shape: tuple[int, int], targets: np.ndarray, params: OmniscapeParams, tile_size: int) -> list[Tile]:
    """Targets grouped by tile (row-major tile order), each with the cut holding all its windows."""
    nrows, ncols = shape
    R = params.reach
    if len(targets) == 0:
        return []
    ti = targets[:, 0].astype(np.int64) // tile_size
    tj = targets[:, 1].astype(np.int64) // tile_size
    n_tc = int(np.ceil(ncols / tile_size))
    tid = ti * n_tc + tj
    tiles = []
    for k, t in enumerate(np.unique(tid)):
        sel = targets[tid == t]          # keeps Omniscape's order inside the tile
        rows, cols = sel[:, 0].astype(np.int64), sel[:, 1].astype(np.int64)
        cut = (max(int(rows.min()) - R, 0), min(int(rows.max()) + R, nrows - 1) + 1,
               max(int(cols.min()) - R, 0), min(int(cols.max()) + R, ncols - 1) + 1)
        tiles.append(Tile(int(t), sel, cut))
    return tiles


def run_key(inputs: Inputs, params: OmniscapeParams, tile_size: int) -> str:
    """Hash of everything a tile's result depends on: a checkpoint is reused only for the same run."""
    h = hashlib.sha256()
    h.update(CHECKPOINT_VERSION.encode())
    h.update(repr(sorted(asdict(params).items())).encode())
    h.update(repr((inputs.conductance.shape, tile_size)).encode())
    for a in (inputs.conductance, inputs.source, inputs.condition1, inputs.condition1_future,
              inputs.condition2, inputs.condition2_future):
        h.update(b"-" if a is None else np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:20]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tile_task(cut_inputs: Inputs, targets: np.ndarray, params: OmniscapeParams, offset: tuple[int, int],
              shape: tuple[int, int], correction: np.ndarray | None):
    """One tile: the summed current (and flow potential) over its cut, with its cost."""
    t0, c0 = time.perf_counter(), time.process_time()
    cum, fp = solve_targets(cut_inputs, targets, params, offset=offset, shape=shape, correction=correction)
    return cum, fp, {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                     "targets": int(len(targets)),
                     "cells": int(cum.size), "peak_rss_mb": _peak_rss_mb(), "pid": os.getpid()}


def _save(path: Path, cum: np.ndarray, fp: np.ndarray | None, info: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    arrays = {"cum": cum, "seconds": np.array(info["seconds"]), "targets": np.array(info["targets"])}
    if fp is not None:
        arrays["fp"] = fp
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load(path: Path):
    with np.load(path) as z:
        return z["cum"], (z["fp"] if "fp" in z.files else None), float(z["seconds"]), int(z["targets"])


def _client(scheduler: str | None, workers: int | None, processes: bool):
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            return Client(scheduler, timeout="15s"), None
        except OSError as exc:
            raise EconetError(f"cannot reach the dask scheduler at {scheduler} ({exc})", field="--scheduler") from None
    n = workers if workers else 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=":0",
                           memory_limit=0)
    return Client(cluster), cluster


def run_tiles(inputs: Inputs, params: OmniscapeParams, *, scheduler: str | None = None, workers: int | None = None,
              tile_size: int | None = None, checkpoint_dir: str | Path | None = None, progress: Callable | None = None,
              client=None, processes: bool = True, keep_checkpoints: bool | None = None,
              only_tiles=None) -> TileRun:
    """Run every target tile by tile and sum the maps (see the module docstring).

    client: an existing dask Client; else `scheduler` (address) or a LocalCluster of `workers` processes
    (threads when processes=False). workers=0 runs the tiles here, without dask (debugging; same results).
    checkpoint_dir: where completed tiles are kept (a sub-folder per run key); removed after success
    unless keep_checkpoints. Without it a temporary folder is used.
    only_tiles: positions (in tile order) of the tiles to run, for sampling costs in benchmarks; the
    maps then hold only those tiles' share.
    """
    shape = inputs.conductance.shape
    tile_size = int(tile_size or default_tile_size(params))
    if tile_size < 1:
        raise EconetError(f"tile size must be positive, got {tile_size}", field="tile_size")
    targets = find_targets(inputs.source, params.block_size)
    tiles = plan_tiles(shape, targets, params, tile_size)
    if only_tiles is not None:
        tiles = [tiles[i] for i in only_tiles]
        targets = np.concatenate([t.targets for t in tiles]) if tiles else targets[:0]
    correction = correction_array(params, *shape)
    key = run_key(inputs, params, tile_size)
    tmp_ctx = None
    if checkpoint_dir is None:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="econet-omniscape-")
        ck = Path(tmp_ctx.name)
        keep = False
    else:
        ck = Path(checkpoint_dir) / key
        keep = bool(keep_checkpoints)
    ck.mkdir(parents=True, exist_ok=True)
    path_of = lambda t: ck / f"tile_{t.index:07d}.npz"  # noqa: E731
    todo = [t for t in tiles if not path_of(t).exists()]
    skipped = len(tiles) - len(todo)
    done = skipped
    report = progress or (lambda *a, **k: None)
    report(done, len(tiles), "tiles")
    costs, rss, cpu, cpu_by_worker = [], {}, [], {}
    t_start = time.perf_counter()

    def record(t, cum, fp, info):
        nonlocal done
        _save(path_of(t), cum, fp, info)
        costs.append((info["seconds"], info["targets"]))
        cpu.append(info.get("cpu_seconds", info["seconds"]))
        rss[info["pid"]] = max(rss.get(info["pid"], 0.0), info["peak_rss_mb"])
        cpu_by_worker[info["pid"]] = cpu_by_worker.get(info["pid"], 0.0) + cpu[-1]
        done += 1
        report(done, len(tiles), "tiles")

    def args(t):
        r0, r1, c0, c1 = t.cut
        return inputs.window(r0, r1, c0, c1), t.targets, params, (r0, c0), shape, correction

    own = None
    try:
        if todo and workers == 0 and client is None and not scheduler:
            for t in todo:
                record(t, *tile_task(*args(t)))
        elif todo:
            from distributed import as_completed
            if client is None:
                client, own = _client(scheduler, workers, processes)
            n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
            window = 2 * n_workers + 2       # tiles in flight: bounds what the driver has shipped
            queue = list(todo)
            running = {}

            def submit(t):
                fut = client.submit(tile_task, *args(t), key=f"omniscape-{key}-{t.index}", pure=False)
                running[fut] = t
                return fut

            for t in queue[:window]:
                submit(t)
            queue = queue[window:]
            ac = as_completed(list(running))
            for fut in ac:
                t = running.pop(fut)
                record(t, *fut.result())
                fut.release()
                if queue:
                    ac.add(submit(queue.pop(0)))
        wall = time.perf_counter() - t_start
        # deterministic reduction: tile order, from the checkpoints
        todo_ids = {t.index for t in todo}
        cum = np.zeros(shape)
        fp = np.zeros(shape) if params.compute_flow_potential else None
        for t in tiles:
            c, f, secs, n = _load(path_of(t))
            r0, r1, c0, c1 = t.cut
            cum[r0:r1, c0:c1] += c
            if fp is not None:
                fp[r0:r1, c0:c1] += f
            if t.index in todo_ids:
                continue
            costs.append((secs, n))
        stats = {"wall_seconds": wall, "tile_seconds": float(sum(c for c, _ in costs)),
                 "tile_cpu_seconds": float(sum(cpu)),
                 "targets_timed": int(sum(n for _, n in costs)), "tile_size": tile_size,
                 "worker_peak_rss_mb": sorted(rss.values()),
                 "worker_cpu_seconds": [cpu_by_worker[p] for p in sorted(rss, key=rss.get)],
                 "workers_used": len(rss), "checkpoint": str(ck), "run_key": key}
        if not keep:
            for t in tiles:
                path_of(t).unlink(missing_ok=True)
            if checkpoint_dir is not None:
                for d in (ck, Path(checkpoint_dir)):      # only when empty
                    try:
                        d.rmdir()
                    except OSError:
                        break
        return TileRun(cum, fp, len(targets), len(tiles), skipped, stats)
    finally:
        if own is not None:
            client.close()
            own.close()
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
