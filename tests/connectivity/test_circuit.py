"""Unit tests of the circuit engine: hand-checkable networks, superposition against per-pair solves,
physical properties (hypothesis), and the reusable graph/solver API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econet.connectivity.circuit import (advanced, node_currents, one_to_all, pairwise, solve_advanced,
                                         to_conductance)
from econet.connectivity.circuit_graph import Graph, conductance_graph, node_map
from econet.connectivity.circuit_solve import ComponentSolver


def test_chain_of_resistors_series():
    # five cells of resistance 2 in a row: neighbours joined by 1/mean(r) = 0.5 S, so R(i, j) = 2 |i - j|
    grid = np.full((1, 5), 2.0)
    focal = np.array([[1, 2, 3, 4, 5]])
    res = pairwise(grid, focal, four_neighbors=True)
    expected = 2.0 * np.abs(np.subtract.outer(np.arange(5), np.arange(5)))
    np.testing.assert_allclose(res.resistances, expected, atol=1e-9)
    assert res.n_solves == 4                     # one solve per focal node but one, not per pair (10 pairs)
    # cumulative current through the middle cell: 4 pairs end there, (1,4),(1,5),(2,4),(2,5) pass it
    assert res.cumulative_current[0, 2] == pytest.approx(4 + 4)


def test_parallel_paths_halve_resistance():
    # two rows of unit resistance with the ends shorted by polygons: two parallel 4-ohm paths
    grid = np.ones((2, 5))
    poly = np.zeros((2, 5), dtype=int)
    poly[:, 0], poly[:, 4] = 1, 2
    focal = np.zeros((2, 5), dtype=int)
    focal[0, 0], focal[0, 4] = 1, 2
    one = pairwise(np.ones((1, 5)), np.array([[1, 0, 0, 0, 2]]), four_neighbors=True)
    assert one.resistances[0, 1] == pytest.approx(4.0)
    # vertical links between the rows carry no current (symmetric), so R = 4 || 4 = 2
    two = pairwise(grid, focal, four_neighbors=True, polygons=poly)
    assert two.resistances[0, 1] == pytest.approx(2.0)


def test_sgverify2_hand_checkable(repo):
    """Circuitscape's sgVerify2: a 5-node chain, R(1,5) = 2.75 and R(4,5) = 0.75
    (tests/data/circuitscape/output_verify/sgVerify2_resistances_3columns.out)."""
    from econet.connectivity.circuit_io import read_grid, read_points
    base = repo / "tests/data/circuitscape/input/raster/pairwise/2"
    data, meta = read_grid(base / "cellmap.asc")
    pts = read_points(base / "points.asc", meta)
    poly, _ = read_grid(base / "polygons.asc")
    res = pairwise(data, pts, is_resistance=False, four_neighbors=True, polygons=np.nan_to_num(poly))
    ids = list(res.ids)
    assert res.resistances[ids.index(1), ids.index(5)] == pytest.approx(2.75, abs=1e-3)
    assert res.resistances[ids.index(4), ids.index(5)] == pytest.approx(0.75, abs=1e-3)


def test_avg_conductance_and_diagonals():
    g = np.array([[1.0, 3.0]])
    graph, _ = conductance_graph(g, avg_resistances=False, four_neighbors=True)
    assert graph.w[0] == pytest.approx(2.0)                 # (1 + 3) / 2
    graph, _ = conductance_graph(g, avg_resistances=True, four_neighbors=True)
    assert graph.w[0] == pytest.approx(1.5)                 # 1 / mean(1, 1/3)
    graph, _ = conductance_graph(np.ones((2, 2)), four_neighbors=False)
    assert sorted(np.round(graph.w, 6)) == sorted([1, 1, 1, 1, round(1 / np.sqrt(2), 6), round(1 / np.sqrt(2), 6)])


def test_superposition_matches_one_solve_per_pair():
    rng = np.random.default_rng(3)
    grid = rng.uniform(1, 50, size=(30, 40))
    grid[10:12, :35] = np.nan                               # a wall with a gap
    focal = np.zeros(grid.shape, dtype=int)
    for k, (r, c) in enumerate([(2, 3), (25, 30), (5, 38), (28, 2)], start=1):
        focal[r, c] = k
    res = pairwise(grid, focal, pair_maps=True, max_map=True)
    g = to_conductance(grid)
    graph, nodes = conductance_graph(g)
    L = graph.laplacian()
    solver = ComponentSolver(L, singular=True, solver="splu")
    cum = np.zeros(graph.n)
    for a in range(4):
        for b in range(a + 1, 4):
            na = nodes[focal == a + 1][0] - 1
            nb = nodes[focal == b + 1][0] - 1
            rhs = np.zeros(graph.n)
            rhs[na], rhs[nb] = -1, 1
            v = solver.solve(rhs)
            assert res.resistances[a, b] == pytest.approx(v[nb] - v[na], rel=1e-7)
            cur = node_currents(graph, v)
            cum += cur
            m = nodes > 0
            np.testing.assert_allclose(res.pair_currents[(a + 1, b + 1)][m], cur[nodes[m] - 1], atol=1e-8)
    m = nodes > 0
    np.testing.assert_allclose(res.cumulative_current[m], cum[nodes[m] - 1], atol=1e-7)
    assert np.isnan(res.cumulative_current[10, 0])          # nodata stays NaN
    assert res.n_solves == 3                                # 4 focal nodes, 6 pairs
    # the cumulative-only path (edge currents summed chunk-wise, no per-pair maps) gives the same map
    fast = pairwise(grid, focal)
    np.testing.assert_allclose(fast.cumulative_current[m], cum[nodes[m] - 1], atol=1e-7)


def test_disconnected_and_nodata_focal_give_minus_one():
    grid = np.ones((3, 7))
    grid[:, 3] = np.nan                                     # splits the grid in two
    focal = np.zeros((3, 7), dtype=int)
    focal[1, 0], focal[1, 2], focal[1, 6], focal[0, 3] = 1, 2, 3, 4   # 4 sits on nodata
    res = pairwise(grid, focal)
    R = res.resistances
    assert R[0, 2] == -1 and R[1, 2] == -1 and (R[3, :3] == -1).all()
    assert R[0, 1] > 0 and np.all(np.diag(R) == 0)


def test_focal_regions_are_shorted_per_pair():
    grid = np.ones((1, 6))
    focal = np.array([[1, 1, 0, 2, 2, 3]])                  # region 1 = cells 0-1, region 2 = cells 3-4
    res = pairwise(grid, focal, four_neighbors=True)
    # 1-2: from cell 1 to cell 3 = 2 ohm; 2-3: from cell 4 to 5 = 1 ohm; 1-3: cell 1 to cell 5 = 4 ohm
    np.testing.assert_allclose(res.resistances, [[0, 2, 4], [2, 0, 1], [4, 1, 0]], atol=1e-9)


def test_advanced_mode_two_resistors_to_ground():
    # source 1 A at the left end of a 3-cell chain, the right end grounded directly: V = 2 V at the source
    grid = np.ones((1, 3))
    src = np.array([[1.0, 0, 0]])
    gnd = np.array([[np.nan, np.nan, 0.0]])                # resistance 0 = direct ground
    out = advanced(grid, src, gnd, grounds_are_resistances=True, four_neighbors=True)
    np.testing.assert_allclose(out.voltages, [[2.0, 1.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(out.currents, [[1.0, 1.0, 1.0]], atol=1e-9)


def test_one_to_all_resistance_to_grounded_others():
    grid = np.ones((1, 5))
    focal = np.array([[1, 0, 2, 0, 3]])
    res = one_to_all(grid, focal, four_neighbors=True)
    # point 2 feeds two 2-ohm paths in parallel to grounded 1 and 3: 1 ohm
    np.testing.assert_allclose(res.resistances, [2.0, 1.0, 2.0], atol=1e-9)


def test_node_map_polygon_includes_nodata_cells():
    g = np.array([[1.0, 0.0, 1.0]])
    poly = np.array([[0, 5, 5]])
    nodes = node_map(g, poly)
    assert nodes[0, 1] == nodes[0, 2] != 0 and nodes[0, 0] != nodes[0, 1]


@st.composite
def networks(draw):
    n = draw(st.integers(3, 9))
    w = draw(st.lists(st.floats(0.05, 20.0), min_size=n - 1, max_size=n - 1))
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0.05, 20.0)),
                          max_size=12))
    u = list(range(n - 1)) + [a for a, b, _ in extra if a != b]
    v = list(range(1, n)) + [b for a, b, _ in extra if a != b]
    ww = list(w) + [c for a, b, c in extra if a != b]
    return Graph(n=n, u=np.array(u), v=np.array(v), w=np.array(ww))


@settings(max_examples=60, deadline=None)
@given(networks())
def test_effective_resistance_is_a_metric_and_currents_conserve(graph):
    from econet.connectivity.circuit import solve_pairs
    pts = np.arange(graph.n)
    out = solve_pairs(graph, pts, cumulative=False)
    R = out.resistances
    np.testing.assert_allclose(R, R.T, atol=1e-9)                       # symmetric
    assert (R[~np.eye(graph.n, dtype=bool)] > 0).all()
    for i in range(graph.n):                                            # triangle inequality
        for j in range(graph.n):
            assert (R[i, j] <= R[i, :] + R[:, j] + 1e-9).all()
    # current conservation: with 1 A in at 0 and out at n-1, net flow is zero at inner nodes
    L = graph.laplacian()
    rhs = np.zeros(graph.n)
    rhs[0], rhs[-1] = 1, -1
    x = ComponentSolver(L, singular=True, solver="splu").solve(rhs)
    np.testing.assert_allclose(L @ x, rhs, atol=1e-9)
    assert x[0] - x[-1] == pytest.approx(R[0, -1], rel=1e-9)


def test_amg_and_direct_agree_on_a_larger_grid():
    rng = np.random.default_rng(11)
    grid = rng.uniform(1, 100, size=(120, 120))
    focal = np.zeros(grid.shape, dtype=int)
    focal[5, 5], focal[100, 110], focal[60, 20] = 1, 2, 3
    a = pairwise(grid, focal, solver="cg+amg")
    d = pairwise(grid, focal, solver="splu")
    np.testing.assert_allclose(a.resistances, d.resistances, rtol=1e-6)
    np.testing.assert_allclose(a.cumulative_current, d.cumulative_current, atol=1e-6)


def test_solve_advanced_reusable_on_graph():
    graph = Graph(n=3, u=np.array([0, 1]), v=np.array([1, 2]), w=np.array([1.0, 1.0]))
    out = solve_advanced(graph, np.array([1.0, 0, 0]), np.array([0, 0, 1.0]))   # finite 1 S ground
    # 1 A through 2 ohm of wire then 1 ohm to ground: V = 3, 2, 1
    np.testing.assert_allclose(out.voltages, [3.0, 2.0, 1.0], atol=1e-9)
