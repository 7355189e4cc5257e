"""Graph connectivity: distances, exact sparse shortest paths, PC/IIC/EC and dPC fractions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from econet.connectivity import graph as G
from econet.errors import EconetError


def _dense_pcnum(geoms, a, k):
    """The direct method: every pairwise edge distance, complete graph, all-pairs Dijkstra."""
    n = len(geoms)
    D = shapely.distance(np.asarray(geoms)[:, None], np.asarray(geoms)[None, :])
    i, j = np.nonzero(np.triu(np.ones((n, n), dtype=bool), 1))
    g = dijkstra(sp.csr_matrix((D[i, j], (i, j)), shape=(n, n)), directed=False)
    return float(np.sum(a[:, None] * a[None, :] * np.exp(-k * g))), g


def _landscape(seed=3, n=120):
    """Patches of log-normal size, clustered, with some elongated ones: the sparse graph must add long links."""
    rng = np.random.default_rng(seed)
    centres = np.r_[rng.normal(0, 8000, (n // 2, 2)), rng.normal(0, 8000, (n - n // 2, 2)) + [60000, 5000]]
    geoms = []
    for t, (x, y) in enumerate(centres):
        r = float(np.exp(rng.normal(6.0, 0.8)))
        if t % 10 == 0:  # long thin patch (river corridor)
            geoms.append(shapely.box(x - 12 * r, y - r / 3, x + 12 * r, y + r / 3))
        else:
            geoms.append(shapely.Point(x, y).buffer(r, quad_segs=6))
    geoms = np.asarray(shapely.get_parts(shapely.union_all(geoms)), dtype=object)
    return geoms, shapely.area(geoms) / 1e4


def test_parse_distance_units():
    assert G.parse_distance("10km") == 10_000
    assert G.parse_distance("500m") == 500
    assert G.parse_distance("3.16 km") == pytest.approx(3160)
    assert G.parse_distance("2500") == 2500
    with pytest.raises(EconetError):
        G.parse_distance("ten km")
    with pytest.raises(EconetError):
        G.parse_distance("0km")


def test_decay_constant_gives_probability_at_distance():
    k = G.decay_constant(10_000, 0.5)
    assert math.exp(-k * 10_000) == pytest.approx(0.5)
    assert G.decay_constant(2000, None) == pytest.approx(1 / 2000)
    with pytest.raises(EconetError):
        G.decay_constant(1000, 1.5)


def test_sparse_exact_graph_equals_dense_all_pairs():
    geoms, a = _landscape()
    oracle = G.EdgeOracle(geoms)
    graph = G.build_graph(oracle, search_radius=3000.0)   # small radius: repairs must add the long links
    assert graph.added_links > 0
    ks = [G.decay_constant(d, 0.5) for d in (1000, 3160, 10_000, 31_600, 100_000)]
    nums = G.pc_numerators(graph, a, ks)
    for k, num in zip(ks, nums):
        dense, _ = _dense_pcnum(geoms, a, k)
        assert num == pytest.approx(dense, rel=1e-12)


def test_benchmark_landscape_exact_at_100km():
    """Realistic PA sizes and spacing (the benchmark's generator): exact against the dense method at 100 km."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("bench", Path(__file__).parents[2] / "benchmarks/protconn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pas, _ = bench.synthetic(600)
    geoms = np.asarray(shapely.get_parts(shapely.union_all(np.asarray(pas.geometry.values))), dtype=object)
    graph = G.build_graph(G.EdgeOracle(geoms))
    n = len(geoms)
    assert len(graph.d) < n * (n - 1) / 2
    a = shapely.area(geoms) / 1e4
    k = G.decay_constant(100_000, 0.5)
    assert G.pc_numerators(graph, a, [k])[0] == pytest.approx(_dense_pcnum(geoms, a, k)[0], rel=1e-12)


def test_real_habitat_nodes_exact(shared):
    """Makurhini's 404 habitat nodes (TMVS, Correa Ayram et al. 2017): sparse = dense on the 150 simplest."""
    import geopandas as gpd
    gdf = gpd.read_file(shared / "conformance/makurhini/gpkg/habitat_nodes.gpkg")
    geoms = np.asarray(shapely.make_valid(np.asarray(gdf.geometry.values, dtype=object)), dtype=object)
    sel = np.argsort(shapely.get_num_coordinates(geoms))[:150]
    g, a = geoms[sel], shapely.area(geoms[sel]) / 1e4
    graph = G.build_graph(G.EdgeOracle(g))
    for d in (250, 1500, 3000, 10_000):
        k = G.decay_constant(d, 0.5)
        assert G.pc_numerators(graph, a, [k])[0] == pytest.approx(_dense_pcnum(g, a, k)[0], rel=1e-12)


def test_centroid_distances_are_direct_links():
    xy = np.array([[0, 0], [3000, 0], [3000, 4000]], dtype=float)
    o = G.CentroidOracle(xy)
    a = np.array([10.0, 20.0, 30.0])
    k = G.decay_constant(5000, 0.5)
    num = G.pc_numerators(G.build_graph(o), a, [k])[0]
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert num == pytest.approx(float(np.sum(a[:, None] * a[None, :] * np.exp(-k * d))))


def test_dpc_matches_brute_force_removal_and_fractions_add_up():
    geoms, a = _landscape(seed=5, n=60)
    oracle = G.EdgeOracle(geoms)
    d = 8000.0
    k = G.decay_constant(d, 0.5)
    overall, fr = G.node_importance(oracle, a, d, 0.5, "PC")
    full, _ = _dense_pcnum(geoms, a, k)
    assert overall.numerator == pytest.approx(full, rel=1e-12)
    assert overall.EC == pytest.approx(math.sqrt(full))
    for node in range(len(a)):
        keep = np.arange(len(a)) != node
        rest, _ = _dense_pcnum(geoms[keep], a[keep], k)
        assert fr["dPC"][node] == pytest.approx(100 * (full - rest) / full, rel=1e-9, abs=1e-12)
    total = fr["dPCintra"] + fr["dPCflux"] + fr["dPCconnector"]
    np.testing.assert_allclose(total, fr["dPC"], rtol=1e-9, atol=1e-12)
    assert (fr["dPCconnector"] >= 0).all()


def test_stepping_stone_has_connector_role():
    # two large patches 6 km apart with a small patch half-way
    geoms = np.array([shapely.box(0, 0, 5000, 5000), shapely.box(11000, 0, 16000, 5000),
                      shapely.box(7500, 2000, 8500, 3000)], dtype=object)
    a = shapely.area(geoms) / 1e4
    _, fr = G.node_importance(G.EdgeOracle(geoms), a, 2000, 0.5, "PC")
    assert fr["dPCconnector"][2] > 10 * fr["dPCintra"][2]
    assert fr["dPCconnector"][0] == 0 and fr["dPCconnector"][1] == 0


def test_iic_on_a_chain_by_hand():
    xy = np.array([[0, 0], [1000, 0], [2000, 0]], dtype=float)
    ov, fr = G.node_importance(G.CentroidOracle(xy), np.ones(3), 1500, metric="IIC", landscape=3.0)
    # IICnum = 3 (i=j) + 2 * (1/2 + 1/2 + 1/3)
    assert ov.numerator == pytest.approx(3 + 2 * (1 / 2 + 1 / 2 + 1 / 3))
    assert ov.index == pytest.approx(ov.numerator / 9)
    # removing the middle node leaves two isolated nodes: IIC' = 2
    assert fr["dIIC"][1] == pytest.approx(100 * (ov.numerator - 2) / ov.numerator)
    assert fr["dIICconnector"][1] > 0


def test_min_probability_reports_a_true_error_bound():
    geoms, a = _landscape(seed=7, n=100)
    oracle = G.EdgeOracle(geoms)
    k = G.decay_constant(10_000, 0.5)
    exact = G.pc_numerators(G.build_graph(oracle), a, [k])[0]
    cut = G.build_graph(oracle, max_distance=-math.log(0.2) / k)
    approx = G.pc_numerators(cut, a, [k])[0]
    bound = G.dropped_pairs_bound(cut, a, k)
    assert approx <= exact * (1 + 1e-12)
    assert exact - approx <= bound * (1 + 1e-9) + 1e-6
    assert bound > 0


def test_least_cost_distance_follows_resistance():
    from affine import Affine

    from econet.geo.raster import Raster
    size = 100.0
    data = np.ones((20, 30))
    data[:, 10:20] = 2.0              # costlier band between the patches
    r = Raster(data, Affine(size, 0, 0, 0, -size, 2000), None)
    a_poly = shapely.box(0, 0, 500, 2000)            # columns 0-4
    b_poly = shapely.box(2500, 0, 3000, 2000)        # columns 25-29
    d = G.least_cost_matrix([a_poly, b_poly], r)
    # from column 4 to 25 along a row: 4->9 five steps at 1, 9->10 at 1.5, 10->19 nine at 2, 19->20 1.5, 20->25 5
    assert d[0, 1] == pytest.approx((5 + 1.5 + 18 + 1.5 + 5) * size)
    data[5, :] = np.nan               # a wall (nodata) across the map: unreachable
    d2 = G.least_cost_matrix([shapely.box(0, 0, 3000, 400), shapely.box(0, 1600, 3000, 2000)], r.with_data(data))
    assert np.isinf(d2[0, 1])


def test_makurhini_dpcintra_ratios_on_habitat_nodes(shared):
    """Makurhini v3 README (connectscape/Makurhini, 'Integral index ... and fractions', PC_example_2,
    least-cost, 10 km, p 0.5) prints for node 3 dPCintra 0.0648563 and for node 2 0.0000259 (dPC = intra +
    flux + connector: 0.0674997 = 0.0648563 + 0.0026434 + 0). dPCintra_k = 100 a_k^2 / PCnum, so the ratio
    of two nodes does not depend on the distances: it checks econet's node areas and intra definition on
    the same polygons. Tolerance: the 3 printed digits of 0.0000259 (+-0.5 in the last, 0.2%)."""
    import geopandas as gpd
    gdf = gpd.read_file(shared / "conformance/makurhini/gpkg/habitat_nodes.gpkg")
    geoms = np.asarray(shapely.make_valid(np.asarray(gdf.geometry.values, dtype=object)), dtype=object)
    a = shapely.area(geoms) / 1e4
    _, fr = G.node_importance(G.oracle_for(geoms, "centroid"), a, 10_000, 0.5, "PC")
    ids = list(gdf["Id"])
    n2, n3 = ids.index(2), ids.index(3)
    ratio = fr["dPCintra"][n3] / fr["dPCintra"][n2]
    printed = 0.0648563 / 0.0000259
    assert ratio == pytest.approx(printed, rel=0.5 / 259)
    assert fr["dPC"][n3] == pytest.approx(fr["dPCintra"][n3] + fr["dPCflux"][n3] + fr["dPCconnector"][n3])
