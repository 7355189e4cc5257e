"""Raster to resistor network, as Circuitscape builds it: node map, edge conductances, graph Laplacian.

Every cell with conductance > 0 is a node; cells of one short-circuit region (polygon) share a node.
Neighbours are joined by the average resistance (or average conductance) of the two cells, divided
by sqrt(2) on diagonals (Circuitscape.jl src/raster/pairwise.jl `construct_graph`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

SQRT2 = np.sqrt(2.0)


@dataclass
class Graph:
    """An undirected resistor network: edge i joins nodes u[i] and v[i] (0-based) with conductance w[i]."""

    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray

    def adjacency(self) -> sp.csr_matrix:
        """Symmetric conductance matrix (duplicate edges summed)."""
        a = sp.coo_matrix((np.concatenate([self.w, self.w]),
                           (np.concatenate([self.u, self.v]), np.concatenate([self.v, self.u]))),
                          shape=(self.n, self.n))
        return a.tocsr()

    def laplacian(self) -> sp.csr_matrix:
        """L = D - A, the Kirchhoff matrix of the network (built in one pass, int32 indices when they fit)."""
        n = self.n
        idx = np.int32 if n < 2**31 - 1 else np.int64
        d = np.bincount(self.u, self.w, n) + np.bincount(self.v, self.w, n)
        rows = np.concatenate([self.u.astype(idx), self.v.astype(idx), np.arange(n, dtype=idx)])
        cols = np.concatenate([self.v.astype(idx), self.u.astype(idx), np.arange(n, dtype=idx)])
        data = np.concatenate([-self.w, -self.w, d])
        del d
        L = sp.coo_matrix((data, (rows, cols)), shape=(n, n))
        del rows, cols, data
        L = L.tocsr()
        L.sum_duplicates()
        return L

    def components(self) -> np.ndarray:
        """Connected-component label of every node (0..k-1)."""
        if self.n == 0:
            return np.zeros(0, dtype=np.int64)
        a = sp.coo_matrix((np.ones(self.u.size), (self.u, self.v)), shape=(self.n, self.n))
        _, labels = connected_components(a, directed=False)
        return labels


def node_map(conductance: np.ndarray, polygons: np.ndarray | None = None) -> np.ndarray:
    """Node number (1..n) of every cell, 0 where there is no node.

    Cells with conductance > 0 are nodes; all cells of a polygon id (non-zero) share the node of the
    polygon's first valid cell, including the polygon's cells that are nodata (as Circuitscape does);
    a polygon with no valid cell adds nothing.
    """
    g = np.asarray(conductance)
    valid = g > 0
    nodes = np.zeros(g.shape, dtype=np.int64)
    nodes[valid] = np.arange(1, int(valid.sum()) + 1)
    if polygons is None:
        return nodes
    poly = np.asarray(polygons)
    if poly.shape != g.shape:
        raise ValueError("polygon grid and habitat grid differ in shape")
    poly = np.where(np.isfinite(poly), poly, 0).astype(np.int64)
    in_poly = poly != 0
    if not in_poly.any():
        return nodes
    ids, inverse = np.unique(poly[in_poly], return_inverse=True)
    flat_nodes = nodes[in_poly]
    # first valid node number of each polygon (nodes increase with position, so the minimum > 0)
    first = np.full(ids.size, np.iinfo(np.int64).max)
    has = flat_nodes > 0
    np.minimum.at(first, inverse[has], flat_nodes[has])
    ok = first < np.iinfo(np.int64).max
    new = np.where(ok[inverse], first[inverse], flat_nodes)
    nodes[in_poly] = new
    # relabel to 1..n keeping order
    nz = nodes > 0
    uniq, inv = np.unique(nodes[nz], return_inverse=True)
    nodes[nz] = inv + 1
    return nodes


def _pair_weights(a: np.ndarray, b: np.ndarray, avg_resistances: bool, diagonal: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if avg_resistances:
            # 1 / mean(1/a, 1/b); a zero conductance gives zero
            w = np.where((a > 0) & (b > 0), 2.0 * a * b / (a + b), 0.0)
        else:
            w = (a + b) / 2.0
    return w / SQRT2 if diagonal else w


def grid_graph(conductance: np.ndarray, nodes: np.ndarray, *, avg_resistances: bool = True,
               four_neighbors: bool = False) -> Graph:
    """The resistor network of a conductance grid whose cells are numbered by `nodes` (see node_map).

    Edges inside one node (a polygon) are dropped; parallel edges between the same two nodes are kept
    and summed by the Laplacian.
    """
    g = np.where(nodes > 0, np.nan_to_num(np.asarray(conductance, dtype=np.float64), nan=0.0), 0.0)
    g = np.maximum(g, 0.0)
    us, vs, ws = [], [], []
    n_nodes = int(nodes.max()) if nodes.size else 0

    def add(sa, sb, diagonal):
        na, nb = nodes[sa], nodes[sb]
        keep = (na > 0) & (nb > 0) & (na != nb)
        if not keep.any():
            return
        w = _pair_weights(g[sa][keep], g[sb][keep], avg_resistances, diagonal)
        us.append((na[keep] - 1).astype(np.int32 if n_nodes < 2**31 - 1 else np.int64))
        vs.append((nb[keep] - 1).astype(np.int32 if n_nodes < 2**31 - 1 else np.int64))
        ws.append(w)

    add((slice(None), slice(None, -1)), (slice(None), slice(1, None)), False)   # right
    add((slice(None, -1), slice(None)), (slice(1, None), slice(None)), False)   # down
    if not four_neighbors:
        add((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None)), True)   # down-right
        add((slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None)), True)   # up-right
    n = int(nodes.max()) if nodes.size else 0
    if us:
        idx = np.int32 if n < 2**31 - 1 else np.int64
        u = np.concatenate(us).astype(idx)
        v = np.concatenate(vs).astype(idx)
        w = np.concatenate(ws)
        del us, vs, ws
        nz = w > 0
        if not nz.all():
            u, v, w = u[nz], v[nz], w[nz]
    else:
        u = v = np.zeros(0, dtype=np.int32)
        w = np.zeros(0)
    return Graph(n=n, u=u, v=v, w=w)


def conductance_graph(conductance: np.ndarray, *, polygons: np.ndarray | None = None,
                      avg_resistances: bool = True, four_neighbors: bool = False) -> tuple[Graph, np.ndarray]:
    """Graph and node map of a conductance grid (NaN or <= 0 = no node): the reusable entry point."""
    g = np.nan_to_num(np.asarray(conductance, dtype=np.float64), nan=0.0)
    nodes = node_map(g, polygons)
    return grid_graph(g, nodes, avg_resistances=avg_resistances, four_neighbors=four_neighbors), nodes
