"""The AMG-CG component solver against a direct factorization on grids whose AMG hierarchy ends in a
coarse level solved by sparse LU (singular Laplacian and grounded system), several right-hand sides
at once."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from econet.connectivity.circuit import to_conductance
from econet.connectivity.circuit_graph import conductance_graph
from econet.connectivity.circuit_solve import DENSE_COARSE, ComponentSolver


def _laplacian(side: int, seed: int):
    rng = np.random.default_rng(seed)
    grid = rng.uniform(1.0, 100.0, size=(side, side))       # Circuitscape-style random resistances
    grid[side // 3:side // 3 + 8, side // 2:side // 2 + 20] = np.nan   # a lake
    graph, _ = conductance_graph(to_conductance(grid, True), avg_resistances=True, four_neighbors=False)
    return graph.laplacian()


def test_amg_with_sparse_coarse_solve_matches_direct_singular():
    L = _laplacian(150, 3)
    n = L.shape[0]
    amg = ComponentSolver(L, singular=True, solver="cg+amg", tol=1e-10)
    assert amg._coarse.n > DENSE_COARSE and amg._coarse.lu is not None   # the sparse LU coarse path
    rng = np.random.default_rng(0)
    src = rng.choice(n, 6, replace=False)
    b = np.zeros((n, 5))
    b[src[:5], np.arange(5)] = 1.0
    b[src[5], :] = -1.0
    x = amg.solve(b.copy())
    d = ComponentSolver(L, singular=True, solver="splu").solve(b)
    np.testing.assert_allclose(x, d, rtol=0, atol=1e-7 * np.abs(d).max())
    np.testing.assert_allclose(L @ x, b, atol=1e-8)
    assert amg.iterations.max() <= 20


def test_amg_with_sparse_coarse_solve_matches_direct_grounded():
    L = _laplacian(150, 5)
    n = L.shape[0]
    ground = np.zeros(n)
    ground[np.random.default_rng(1).choice(n, 30, replace=False)] = 0.5
    A = sp.csr_matrix(L + sp.diags(ground))
    amg = ComponentSolver(A, singular=False, solver="cg+amg", tol=1e-10)
    assert amg._coarse.lu is not None
    b = np.zeros(n)
    b[np.random.default_rng(2).choice(n, 40, replace=False)] = 1.0
    x = amg.solve(b)
    d = ComponentSolver(A, singular=False, solver="splu").solve(b)
    np.testing.assert_allclose(x, d, rtol=0, atol=1e-7 * np.abs(d).max())
    assert amg.iterations.max() <= 20
