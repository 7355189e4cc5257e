"""Omniscape in tiles on dask.distributed: the same maps whichever way it runs (in-process, one worker,
two worker processes, any tile size), bounded tile cuts, and checkpoints that let a restarted run skip
the tiles it already finished."""

from __future__ import annotations

import numpy as np
import pytest

from econet.connectivity import tiling
from econet.connectivity.omniscape import OmniscapeParams, find_targets, omniscape, prepare_inputs


def landscape(n: int = 48, seed: int = 7):
    """A realistic little landscape: log-normal, spatially smooth resistance with a nodata lake and a
    road of high resistance; sources from habitat quality (low resistance)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, n))
    k = np.ones(5) / 5
    smooth = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 0, noise)
    smooth = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, smooth)
    res = np.exp(1.5 * smooth / smooth.std())
    res[n // 3:n // 3 + 5, n // 2:n // 2 + 7] = np.nan          # lake
    res[:, n // 4] = np.where(np.isnan(res[:, n // 4]), np.nan, 50.0)  # road
    src = np.where(np.isnan(res), np.nan, 1.0 / res)
    return res, src


PARAMS = OmniscapeParams(radius=6, block_size=3, buffer=2, source_threshold=0.05, calc_flow_potential=True,
                         calc_normalized_current=True)


def _rel(a, b):
    m = (a != -9999) & (b != -9999)
    return float(np.abs(a[m] - b[m]).max() / np.abs(b[m]).max())


def test_same_result_serial_one_and_two_workers(tmp_path):
    res, src = landscape()
    serial = omniscape(res, PARAMS, source=src, workers=0, tile_size=12)
    one = omniscape(res, PARAMS, source=src, workers=1, processes=False, tile_size=12)
    two = omniscape(res, PARAMS, source=src, workers=2, tile_size=12)
    assert serial.n_tiles == 16 and serial.n_targets == len(find_targets(prepare_inputs(res, PARAMS, source=src).source, 3))
    for r in (one, two):
        for name in ("cum_currmap", "flow_potential", "normalized_cum_currmap"):
            assert _rel(getattr(r, name), getattr(serial, name)) <= 1e-9
    # tiles are summed in tile order, so the bits agree too
    assert np.array_equal(two.cum_currmap, serial.cum_currmap)
    assert len(two.stats["worker_peak_rss_mb"]) >= 1


def test_tiles_with_halos_equal_one_window_run():
    """Tiles smaller than a window still give the untiled answer (each cut holds its windows)."""
    res, src = landscape()
    whole = omniscape(res, PARAMS, source=src, workers=0, tile_size=10_000)
    tiled = omniscape(res, PARAMS, source=src, workers=0, tile_size=3)
    assert whole.n_tiles == 1 and tiled.n_tiles == tiled.n_targets > 200   # one target per tile
    assert _rel(tiled.cum_currmap, whole.cum_currmap) <= 1e-9
    assert _rel(tiled.normalized_cum_currmap, whole.normalized_cum_currmap) <= 1e-9
    assert np.count_nonzero(whole.cum_currmap > 0) > 0.9 * res.size


def test_tile_cuts_are_bounded_by_the_tile():
    res, src = landscape(90)
    inputs = prepare_inputs(res, PARAMS, source=src)
    targets = find_targets(inputs.source, 3)
    tiles = tiling.plan_tiles(res.shape, targets, PARAMS, 15)
    R = PARAMS.reach
    assert sum(len(t.targets) for t in tiles) == len(targets)
    for t in tiles:
        r0, r1, c0, c1 = t.cut
        assert r1 - r0 <= 15 + 2 * R and c1 - c0 <= 15 + 2 * R


def test_restart_skips_checkpointed_tiles(tmp_path, monkeypatch):
    res, src = landscape()
    reference = omniscape(res, PARAMS, source=src, workers=0, tile_size=12)
    real = tiling.tile_task
    calls = {"n": 0}

    def crashing(*a, **k):
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("worker lost")
        return real(*a, **k)

    monkeypatch.setattr(tiling, "tile_task", crashing)
    with pytest.raises(RuntimeError, match="worker lost"):
        omniscape(res, PARAMS, source=src, workers=0, tile_size=12, checkpoint_dir=tmp_path)
    saved = list(tmp_path.glob("*/tile_*.npz"))
    assert len(saved) == 5
    monkeypatch.setattr(tiling, "tile_task", real)
    again = omniscape(res, PARAMS, source=src, workers=0, tile_size=12, checkpoint_dir=tmp_path)
    assert again.tiles_skipped == 5 and again.n_tiles == 16
    assert np.array_equal(again.cum_currmap, reference.cum_currmap)
    assert not list(tmp_path.glob("*/tile_*.npz"))          # removed after success


def test_checkpoints_are_keyed_by_inputs(tmp_path):
    """A checkpoint of another run (other settings) is never reused."""
    res, src = landscape()
    omniscape(res, PARAMS, source=src, workers=0, tile_size=12, checkpoint_dir=tmp_path, keep_checkpoints=True)
    other = OmniscapeParams(radius=5, block_size=3, buffer=2, source_threshold=0.05)
    r = omniscape(res, other, source=src, workers=0, tile_size=12, checkpoint_dir=tmp_path, keep_checkpoints=True)
    assert r.tiles_skipped == 0
    assert len([d for d in tmp_path.iterdir() if d.is_dir()]) == 2
    again = omniscape(res, other, source=src, workers=0, tile_size=12, checkpoint_dir=tmp_path)
    assert again.tiles_skipped == again.n_tiles == 16


def test_block_artifact_correction_and_flow_potential_behave():
    """Uniform resistance: flow potential is nearly the current (it differs only because Omniscape solves
    flow potential on the whole rectangle while the current stays in the circle), so normalized current
    is close to 1; without correction, blocked runs leave the block pattern the correction removes."""
    res = np.ones((40, 40))
    src = np.ones((40, 40))
    p = OmniscapeParams(radius=8, block_size=3, calc_flow_potential=True, calc_normalized_current=True)
    r = omniscape(res, p, source=src, workers=0)
    m = r.cum_currmap > 0
    interior = np.zeros_like(m)
    interior[10:30, 10:30] = True
    norm = r.normalized_cum_currmap[m & interior]
    assert np.all(np.abs(norm - 1.0) < 0.03) and np.any(norm != 1.0)
    unblocked = omniscape(res, OmniscapeParams(radius=8, block_size=1), source=src, workers=0).cum_currmap
    raw = omniscape(res, OmniscapeParams(radius=8, block_size=3, correct_artifacts=False), source=src,
                    workers=0).cum_currmap
    err_corr = np.abs(r.cum_currmap - unblocked)[interior].mean()
    err_raw = np.abs(raw - unblocked)[interior].mean()
    assert err_corr < 0.5 * err_raw
