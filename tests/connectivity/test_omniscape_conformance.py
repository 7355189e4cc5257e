"""Omniscape.jl's own test suite (vendored under tests/data/omniscape, MIT): every case with an expected
output is run through `run_ini` on a dask LocalCluster and compared with Omniscape's criterion,
`Omniscape.arrays_equal` (test/runtests.jl): missing set to -9999, then isapprox(rtol=1e-6), which in
Julia compares the norms of whole arrays. The nodata masks must also agree exactly."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from econet.errors import EconetError

SUITE = Path(__file__).resolve().parents[1] / "data" / "omniscape" / "test"

# test folder -> config that produced it (SOURCE.md), outputs with an expected file
CASES = {
    "test1": ("config.ini", ["cum_currmap.tif", "flow_potential.tif", "normalized_cum_currmap.tif"]),
    "test1_32bit": ("config_32bit.ini", ["cum_currmap.tif", "flow_potential.tif", "normalized_cum_currmap.tif"]),
    "test2": ("config2.ini", ["cum_currmap.asc"]),
    "test3": ("config3.ini", ["cum_currmap.asc", "flow_potential.asc"]),
    "test4a": ("config4a.ini", ["cum_currmap.tif", "flow_potential.tif", "normalized_cum_currmap.tif"]),
    "test5": ("config5.ini", ["cum_currmap.tif"]),
    "test6": ("config6.ini", ["cum_currmap.tif"]),
    "test_reclass": ("config_reclass.ini", ["cum_currmap.asc", "classified_resistance.asc"]),
}

XFAIL = {
    ("test4a", "flow_potential.tif"): (
        "Omniscape's expected flow potential for 4-neighbour windows holds values 100-800x too large at the "
        "right and lower neighbours of every target whose window is not clipped by the top/left edge "
        "(159 cells, e.g. 135.6 at row 10 col 11 where the unit-conductance circuit gives 1.13); all other "
        "cells agree within 5e-6. Those values are not reproducible from the documented algorithm (the "
        "cumulative current of the same windows, same sources and same correction agrees), so econet does "
        "not copy them."),
    ("test4a", "normalized_cum_currmap.tif"): (
        "normalized current = cum_currmap / flow_potential, so the flow-potential spikes of test4a "
        "(see its flow_potential case) show up here as cells 100-800x too small."),
}


def arrays_equal(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6) -> bool:
    """Omniscape.arrays_equal: missing (NaN) -> -9999, then Julia's isapprox on arrays."""
    a = np.where(np.isnan(a), -9999.0, a).astype(np.float64)
    b = np.where(np.isnan(b), -9999.0, b).astype(np.float64)
    return bool(np.linalg.norm(a - b) <= rtol * max(np.linalg.norm(a), np.linalg.norm(b)))


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("omniscape")
    shutil.copytree(SUITE / "input", d / "input")
    return d


@pytest.fixture(scope="module")
def runs(workdir, client):
    from econet.connectivity.omniscape_ini import run_ini
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for test, (ini, _) in CASES.items():
            out[test] = run_ini(workdir / "input" / ini, workdir=workdir, client=client)
    return out


def _params():
    for test, (_, files) in CASES.items():
        for f in files:
            marks = [pytest.mark.xfail(reason=XFAIL[(test, f)], strict=True)] if (test, f) in XFAIL else []
            yield pytest.param(test, f, id=f"{test}/{f}", marks=marks)


@pytest.mark.parametrize("test,name", list(_params()))
def test_matches_omniscape(runs, test, name):
    from econet.geo.raster import read_raster
    summary = runs[test]
    expected = read_raster(SUITE / "output_verify" / test / name).data
    path = summary.project_dir / name
    if path.exists():
        got = read_raster(path).data
    else:
        # Omniscape's runtests compare the returned arrays; config4a/5/6 set write_raw_currmap = false
        got = getattr(summary.result, name.split(".")[0])
        got = np.where(got == -9999, np.nan, got)
    assert got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected)), "nodata masks differ"
    assert arrays_equal(got, expected)


def test_outputs_follow_omniscape_names(runs):
    s = runs["test1"]
    assert s.project_dir.name == "test1"
    assert sorted(p.name for p in s.project_dir.iterdir()) == [
        "config.ini", "cum_currmap.tif", "flow_potential.tif", "normalized_cum_currmap.tif"]
    s2 = runs["test2"]
    assert sorted(p.name for p in s2.project_dir.iterdir()) == ["config.ini", "cum_currmap.asc"]
    # write_raw_currmap = false writes no cum_currmap (config6)
    assert sorted(p.name for p in runs["test6"].project_dir.iterdir()) == ["config.ini"]


def test_single_precision_written_as_float32(runs):
    import rasterio
    with rasterio.open(runs["test1_32bit"].project_dir / "cum_currmap.tif") as src:
        assert src.dtypes[0] == "float32"
    # Omniscape's runtests: single and double precision give similar results
    assert arrays_equal(runs["test1"].result.cum_currmap, runs["test1_32bit"].result.cum_currmap.astype(float))


def test_serial_and_parallel_configs_agree(runs):
    """runtests.jl: `arrays_equal(a, d)`, config.ini (block 2 -> 3, parallel) vs config2.ini (serial)."""
    assert arrays_equal(runs["test1"].result.cum_currmap, runs["test2"].result.cum_currmap)


def test_existing_project_folder_gets_suffix(runs, workdir, client):
    from econet.connectivity.omniscape_ini import run_ini
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = run_ini(workdir / "input" / "config2.ini", workdir=workdir, client=client)
        b = run_ini(workdir / "input" / "config2.ini", workdir=workdir, client=client)
    assert (a.project_dir.name, b.project_dir.name) == ("test2_1", "test2_2")


@pytest.mark.parametrize("ini,message", [
    ("config7.ini", "0 or negative values"),
    ("bad_config.ini", "missing"),
    ("bad_comparison1.ini", "comparison1"),
    ("bad_comparison2.ini", "comparison2"),
    ("bad_compare_to_future.ini", "compare_to_future"),
    ("bad_n_conditions.ini", "n_conditions"),
    ("no_source_provided.ini", "source_file"),
])
def test_bad_configs_are_rejected(workdir, ini, message):
    """Omniscape returns nothing for these (runtests.jl checks config7 and bad_config); econet raises."""
    from econet.connectivity.omniscape_ini import run_ini
    with pytest.raises(EconetError, match=message):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_ini(workdir / "input" / ini, workdir=workdir, workers=0)


def test_unsupported_keys_and_solver_warn():
    from econet.connectivity.omniscape_ini import params_of, read_ini
    cfg = read_ini(SUITE / "input" / "config3.ini")
    assert any("foo" in w and "bar" in w for w in cfg.warnings)
    cfg1 = read_ini(SUITE / "input" / "config.ini")
    assert any("wrong_solver_name" in w for w in cfg1.warnings)
    p = params_of(cfg1)
    assert p.block_size == 3 and any("even" in w for w in cfg1.warnings)


def test_targets_as_in_runtests():
    """runtests.jl 'target tests': block 7 on source.asc gives floor(30/7)^2 targets, amps = block sum."""
    from econet.connectivity.omniscape import find_targets
    from econet.geo.raster import read_raster
    src = read_raster(SUITE / "input" / "source.asc").data
    t = find_targets(np.nan_to_num(src), 7)
    assert len(t) == (30 // 7) ** 2
    r, c = int(t[0, 0]), int(t[0, 1])
    assert (r, c) == (3, 3)
    assert t[0, 2] == pytest.approx(src[r - 3:r + 4, c - 3:c + 4].sum())
    # Omniscape's order: columns outer, rows inner
    assert list(t[:2, 1]) == [3, 3] and list(t[:2, 0]) == [3, 10]


def test_source_target_match_as_in_runtests():
    """runtests.jl 'conditional connectivity': sources kept only where the present condition is within
    [target + lower, target + upper] of the target's (future) value."""
    from econet.connectivity.omniscape import Inputs, OmniscapeParams, _condition_filter
    con1pres = np.array([[1, 4, 3, 2, 7, 6, 9, 2, 3, 0], [4, 2, 6, 5, 3, 9, 4, 5, 3, 3],
                         [1, 1, 5, 2, 7, 7, 8, 8, 9, 1], [8, 7, 6, 5, 5, 5, 0, 0, 1, 1],
                         [3, 5, 4, 4, 4, 8, 5, 0, 1, 8], [1, 2, 8, 2, 1, 6, 5, 5, 8, 7]], float)
    con1fut = np.array([[2, 1, 3, 2, 7, 6, 7, 1, 3, 0], [4, 2, 4, 5, 3, 9, 4, 5, 5, 3],
                        [3, 8, 3, 2, 6, 3, 8, 5, 9, 1], [8, 7, 6, 5, 1, 5, 0, 0, 1, 1],
                        [3, 1, 4, 5, 4, 8, 5, 7, 1, 8], [5, 2, 3, 2, 1, 6, 4, 5, 3, 7]], float)
    src = np.ones((6, 10))
    p = OmniscapeParams(radius=5, conditional=True, condition1_lower=-1.0, condition1_upper=1.0)
    inp = Inputs(np.ones((6, 10)), src, con1pres, con1fut)
    _condition_filter(src, inp, p, 1, (slice(0, 6), slice(0, 10)), (slice(3, 4), slice(4, 5)))
    target = con1fut[3, 4]
    kept = con1pres[src == 1]
    assert ((kept < target - 1) | (kept > target + 1)).sum() == 0
    assert 0 < (src == 1).sum() < src.size
