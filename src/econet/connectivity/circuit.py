"""Circuit-theory connectivity (Circuitscape semantics) on numpy arrays: pairwise, one-to-all,
all-to-one and advanced (sources/grounds) modes on rasters, and the same on networks.

Pairwise uses superposition: in each connected component with focal nodes f_1..f_k, one solve per
focal node but the last, L x_a = e_a - e_k (x_k = 0); the voltages of pair (a, b) are x_b - x_a, its
effective resistance R_ab = x_a[a] - x_a[b] - x_b[a] + x_b[b]. Current maps come from those voltages, so
k focal nodes cost k - 1 solves with or without maps (Circuitscape solves once per pair).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from econet.connectivity.circuit_graph import Graph, conductance_graph, grid_graph, node_map
from econet.connectivity.circuit_solve import BLOCK_ELEMENTS, ComponentSolver
from econet.errors import EconetError
from econet.progress import no_progress

__all__ = ["pairwise", "PairwiseResult", "Graph", "conductance_graph", "to_conductance", "solve_pairs",
           "advanced", "AdvancedResult", "solve_advanced", "one_to_all", "all_to_one", "node_currents",
           "pairwise_network"]


# ----------------------------------------------------------------------------------------------------
# inputs
def to_conductance(grid: np.ndarray, is_resistance: bool = True, *, name: str = "habitat grid") -> np.ndarray:
    """Conductance grid (NaN = nodata) from a resistance or conductance grid; rejects bad values."""
    a = np.asarray(grid, dtype=np.float64)
    if a.ndim != 2:
        raise EconetError(f"{name} must be 2-D, got shape {a.shape}")
    finite = np.isfinite(a)
    if np.isinf(a).any():
        raise EconetError(f"{name} holds infinite values")
    if (a[finite] < 0).any():
        r, c = np.argwhere(finite & (a < 0))[0]
        raise EconetError(f"{name} holds negative {'resistance' if is_resistance else 'conductance'} "
                          f"{a[r, c]:g} at row {r}, column {c}")
    if is_resistance:
        if (a[finite] == 0).any():
            r, c = np.argwhere(finite & (a == 0))[0]
            raise EconetError(f"{name} holds zero resistance at row {r}, column {c}: zero resistances are "
                              "not supported (use a short-circuit region instead), as in Circuitscape")
        with np.errstate(divide="ignore"):
            return np.where(finite, 1.0 / np.where(finite, a, 1.0), np.nan)
    return np.where(finite, a, np.nan)


# ----------------------------------------------------------------------------------------------------
# currents
def _edge_currents(graph_u, graph_v, w, volts):
    return w * np.abs(volts[graph_u] - volts[graph_v])


def node_currents(graph: Graph, volts: np.ndarray, finite_grounds: np.ndarray | None = None) -> np.ndarray:
    """Current through every node: max(total inflow, total outflow), counting flow to finite grounds
    (Circuitscape.jl src/out.jl `get_node_currents`)."""
    f = graph.w * (volts[graph.u] - volts[graph.v])        # flow u -> v when positive
    pos, neg = np.maximum(f, 0.0), np.maximum(-f, 0.0)
    out_ = np.bincount(graph.u, pos, graph.n) + np.bincount(graph.v, neg, graph.n)
    in_ = np.bincount(graph.v, pos, graph.n) + np.bincount(graph.u, neg, graph.n)
    if finite_grounds is not None:
        gc = finite_grounds * volts
        out_ += np.maximum(gc, 0.0)
        in_ += np.maximum(-gc, 0.0)
    return np.maximum(in_, out_)


# ----------------------------------------------------------------------------------------------------
# pairwise on a graph
@dataclass
class PairSolution:
    """One solved pair: point indices, node indices, and (when asked) voltages and node currents of its
    component (`nodes` lists the component's global node indices)."""

    i: int
    j: int
    resistance: float
    nodes: np.ndarray | None = None
    voltages: np.ndarray | None = None
    currents: np.ndarray | None = None


@dataclass
class GraphPairwise:
    resistances: np.ndarray
    cumulative: np.ndarray | None
    maximum: np.ndarray | None
    n_solves: int
    cumulative_edges: np.ndarray | None = None   # summed |current| per graph edge


def _components(graph: Graph, L: sp.csr_matrix) -> np.ndarray:
    """Component labels from the Laplacian's pattern when every edge conducts (strong components of a
    symmetric pattern are its connected components; 8x faster than graph.components())."""
    if graph.n == 0 or graph.w.size == 0 or not (graph.w > 0).all():
        return graph.components()
    from scipy.sparse.csgraph import connected_components
    return connected_components(L, directed=True, connection="strong")[1]


def _split_components(labels: np.ndarray):
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [labels.size]])
    return order, starts, ends


def solve_pairs(graph: Graph, point_nodes: np.ndarray, *, exclude: np.ndarray | None = None,
                cumulative: bool = True, maximum: bool = False,
                on_pair: Callable[[PairSolution], None] | None = None, pair_maps: bool = False,
                solver: str = "auto", tol: float = 1e-8, progress=None) -> GraphPairwise:
    """Effective resistance between every pair of points (node index per point, -1 = no node) and the
    cumulative / maximum node-current over pairs, by superposition (one solve per distinct node but one
    per component).

    exclude: optional (n, n) boolean matrix of point pairs not to solve (left at -1).
    on_pair: called for each solved pair; with pair_maps it receives the pair's voltages and currents.
    """
    progress = progress or no_progress
    pn = np.asarray(point_nodes, dtype=np.int64)
    npts = pn.size
    R = -np.ones((npts, npts))
    np.fill_diagonal(R, 0.0)
    L = graph.laplacian()
    labels = _components(graph, L)
    cum_edge = np.zeros(graph.u.size) if cumulative else None
    cum_src = np.zeros(graph.n) if cumulative else None
    maxc = np.full(graph.n, -np.inf) if maximum else None
    n_solves = 0
    valid = pn >= 0
    # same node -> resistance 0 (Circuitscape `smash_repeats`)
    for a in range(npts):
        for b in range(a + 1, npts):
            if valid[a] and pn[a] == pn[b]:
                R[a, b] = R[b, a] = 0.0
    comps = []
    seen = set()
    for p in range(npts):
        if valid[p]:
            c = labels[pn[p]]
            if c not in seen:
                seen.add(c)
                comps.append(c)
    if not comps:
        return GraphPairwise(R, _finish_cum(graph, cum_edge, cum_src), _finish_max(maxc), 0)
    single = labels.size and not labels.any()      # one component: no index arrays needed
    if single:
        order, comp_start = None, {labels[0]: (0, graph.n)}
    else:
        order, starts, ends = _split_components(labels)
        comp_start = {labels[order[s]]: (s, e) for s, e in zip(starts, ends)}
    edge_comp = None
    total_pairs = _count_pairs(pn, valid, labels, exclude)
    done = 0
    progress(0, total_pairs, "solving pairs")
    for c in comps:
        s, e = comp_start[c]
        pts = [p for p in range(npts) if valid[p] and labels[pn[p]] == c]
        csub = list(dict.fromkeys(pn[p] for p in pts))          # distinct nodes in point order
        if len(csub) < 2:
            continue
        whole = e - s == graph.n
        nodes = np.arange(graph.n) if whole else np.sort(order[s:e])
        Lc = L if whole else L[nodes][:, nodes]
        local = (lambda g: g) if whole else (lambda g: np.searchsorted(nodes, g))
        if not whole and edge_comp is None:
            edge_comp = labels[graph.u]
        emask = None if whole else (edge_comp == c)
        eu = graph.u if whole else local(graph.u[emask])
        ev = graph.v if whole else local(graph.v[emask])
        ew = graph.w if whole else graph.w[emask]
        loc = np.array([local(np.array([g]))[0] for g in csub])
        cs = ComponentSolver(Lc, singular=True, solver=solver, tol=tol)
        nc = nodes.size
        # column a: voltages for 1 A in at focal node a and out at the last one (its column stays 0),
        # so pair (a, b) has voltages X[:, b] - X[:, a]: k focal nodes cost k - 1 solves
        # rows contiguous: edge currents gather whole rows. Allocated after the first block's solve,
        # so a single block's solver work arrays are freed before it exists (lower peak memory)
        X = None
        nsol = len(csub) - 1
        step = cs.block_size(nsol) if cs.method == "cg+amg" else max(1, int(BLOCK_ELEMENTS // nc))
        for k0 in range(0, nsol, step):   # one solve per distinct focal node but the last, in blocks
            cols = np.arange(k0, min(k0 + step, nsol))
            rhs = np.zeros((nc, cols.size))
            rhs[loc[cols], np.arange(cols.size)] = 1.0
            rhs[loc[-1], :] = -1.0
            sol = cs.solve(rhs, overwrite_b=True)
            del rhs
            if X is None:
                X = np.zeros((nc, len(csub)))
            X[:, cols] = sol
            del sol
        n_solves += cs.n_solves
        pts_of = {node: [p for p in pts if pn[p] == node] for node in csub}
        need_nodes = maximum or (on_pair is not None and pair_maps)
        deferred = []
        for ia in range(len(csub)):
            for ib in range(ia + 1, len(csub)):
                a_loc, b_loc = loc[ia], loc[ib]
                r = X[a_loc, ia] - X[b_loc, ia] - X[a_loc, ib] + X[b_loc, ib]
                combos = [(ci, cj) for ci in pts_of[csub[ia]] for cj in pts_of[csub[ib]]
                          if exclude is None or not exclude[ci, cj]]
                if not combos:
                    continue
                for ci, cj in combos:
                    R[ci, cj] = R[cj, ci] = r
                if cumulative and not need_nodes:   # edge currents summed later, chunk by chunk
                    deferred.append((ia, ib, len(combos)))
                    cum_src[csub[ia]] += len(combos)
                    cum_src[csub[ib]] += len(combos)
                elif cumulative or need_nodes:
                    d = X[:, ib] - X[:, ia]
                    ie = _edge_currents(eu, ev, ew, d)
                    if cumulative:
                        cum_edge_c = ie * len(combos)
                        if whole:
                            cum_edge += cum_edge_c
                        else:
                            cum_edge[emask] += cum_edge_c
                        cum_src[csub[ia]] += len(combos)
                        cum_src[csub[ib]] += len(combos)
                    if need_nodes:
                        ncur = 0.5 * (np.bincount(eu, ie, nc) + np.bincount(ev, ie, nc))
                        ncur[a_loc] += 0.5
                        ncur[b_loc] += 0.5
                        if maximum:
                            if whole:
                                np.maximum(maxc, ncur, out=maxc)
                            else:
                                maxc[nodes] = np.maximum(maxc[nodes], ncur)
                for ci, cj in combos:
                    if on_pair is not None:
                        if pair_maps:
                            v = X[:, ib] - X[:, ia]
                            v = v - v[a_loc]
                            on_pair(PairSolution(ci, cj, r, nodes, v, ncur))
                        else:
                            on_pair(PairSolution(ci, cj, r))
                    done += 1
                    progress(done, total_pairs, "solving pairs")
        if deferred:
            acc = _pair_edge_currents(X, eu, ev, ew, deferred)
            if whole:
                cum_edge += acc
            else:
                cum_edge[emask] += acc
    return GraphPairwise(R, _finish_cum(graph, cum_edge, cum_src), _finish_max(maxc), n_solves, cum_edge)


EDGE_CHUNK = 1 << 17


def _pair_edge_currents(X, eu, ev, ew, pairs) -> np.ndarray:
    """Sum over pairs (a, b, weight) of weight * |current| on every edge, where pair (a, b) has voltages
    X[:, b] - X[:, a]. Edges are taken in cache-sized chunks so each node voltage is gathered once for
    all pairs instead of once per pair."""
    acc = np.zeros(eu.size)
    for s0 in range(0, eu.size, EDGE_CHUNK):
        s1 = min(s0 + EDGE_CHUNK, eu.size)
        du = np.ascontiguousarray((X[eu[s0:s1]] - X[ev[s0:s1]]).T)    # (k, chunk)
        part = acc[s0:s1]
        tmp = np.empty(s1 - s0)
        for a, b, weight in pairs:
            np.subtract(du[b], du[a], out=tmp)
            np.abs(tmp, out=tmp)
            if weight != 1:
                tmp *= weight
            part += tmp
        part *= ew[s0:s1]
    return acc


def _count_pairs(pn, valid, labels, exclude):
    n = 0
    for a in range(pn.size):
        for b in range(a + 1, pn.size):
            if valid[a] and valid[b] and pn[a] != pn[b] and labels[pn[a]] == labels[pn[b]]:
                if exclude is None or not exclude[a, b]:
                    n += 1
    return n


def _finish_cum(graph, cum_edge, cum_src):
    if cum_edge is None:
        return None
    return 0.5 * (np.bincount(graph.u, cum_edge, graph.n) + np.bincount(graph.v, cum_edge, graph.n) + cum_src)


def _finish_max(maxc):
    if maxc is None:
        return None
    return np.where(np.isfinite(maxc), maxc, 0.0)


# ----------------------------------------------------------------------------------------------------
# raster pairwise (the stable API)
@dataclass
class PairwiseResult:
    """Pairwise output: `ids` focal ids, `resistances` (n, n) with -1 for disconnected pairs and 0 on the
    diagonal, `cumulative_current` (NaN where nodata), `n_solves` linear solves done."""

    ids: np.ndarray
    resistances: np.ndarray
    cumulative_current: np.ndarray | None
    n_solves: int
    max_current: np.ndarray | None = None
    pair_currents: dict = field(default_factory=dict)
    pair_voltages: dict = field(default_factory=dict)


def _focal_cells(focal, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, ids) of focal cells sorted by id: from a focal grid or a (rows, cols, ids) tuple
    (a list may put several ids on one cell, as Circuitscape's text point files can)."""
    if isinstance(focal, tuple):
        r, c, v = (np.asarray(x, dtype=np.int64) for x in focal)
        if r.size and (r.min() < 0 or c.min() < 0 or r.max() >= shape[0] or c.max() >= shape[1]):
            raise EconetError("a focal point lies outside the habitat grid")
        keep = v > 0
        r, c, v = r[keep], c[keep], v[keep]
        order = np.argsort(v, kind="stable")
        return r[order], c[order], v[order]
    f = np.asarray(focal)
    if f.shape != tuple(shape):
        raise EconetError(f"focal grid shape {f.shape} differs from the habitat grid {tuple(shape)}")
    f = np.where(np.isfinite(f), f, 0).astype(np.int64)
    r, c = np.nonzero(f > 0)
    v = f[r, c]
    order = np.argsort(v, kind="stable")
    return r[order], c[order], v[order]


def _cells_to_grid(values: np.ndarray, nodes: np.ndarray, fill: float = 0.0) -> np.ndarray:
    out = np.full(nodes.shape, fill, dtype=np.float64)
    m = nodes > 0
    out[m] = values[nodes[m] - 1]
    return out


def pairwise(grid, focal, *, is_resistance: bool = True, four_neighbors: bool = False,
             avg_resistances: bool = True, polygons=None, cumulative_map: bool = True,
             pair_maps: bool = False, max_map: bool = False, include: np.ndarray | None = None,
             solver: str = "auto", tol: float = 1e-8, progress=None) -> PairwiseResult:
    """Pairwise effective resistances between focal points or regions of a raster (Circuitscape pairwise).

    grid: 2-D float array, NaN = nodata; focal: 2-D int array, 0 = not focal, one id on several cells =
    a focal region (shorted for the pairs it belongs to). include: optional (n, n) bool matrix of pairs
    to solve (others stay -1). pair_maps: per-pair current and voltage maps keyed by (id_i, id_j).
    """
    g = to_conductance(grid, is_resistance)
    rows, cols, vals = _focal_cells(focal, g.shape)
    ids = np.unique(vals)
    if ids.size == 0:
        raise EconetError("no focal points (all focal ids are 0)")
    poly = None if polygons is None else np.asarray(polygons)
    if poly is not None and poly.shape != g.shape:
        raise EconetError(f"polygon grid shape {poly.shape} differs from the habitat grid {g.shape}")
    gz = np.nan_to_num(g, nan=0.0)
    nodata = ~np.isfinite(g)
    exclude = None if include is None else ~np.asarray(include, dtype=bool)
    if ids.size == vals.size:
        res = _raster_points(gz, rows, cols, vals, poly, avg_resistances, four_neighbors, exclude,
                             cumulative_map, pair_maps, max_map, solver, progress, tol)
    else:
        res = _raster_regions(gz, rows, cols, vals, poly, avg_resistances, four_neighbors, exclude,
                              cumulative_map, pair_maps, max_map, solver, progress)
    if res.cumulative_current is not None:
        res.cumulative_current[nodata] = np.nan
    if res.max_current is not None:
        res.max_current[nodata] = np.nan
    return res


def _raster_points(gz, rows, cols, vals, poly, avg_res, four, exclude, cum, pair_maps, max_map,
                   solver, progress, tol=1e-8):
    nodes = node_map(gz, poly)
    graph = grid_graph(gz, nodes, avg_resistances=avg_res, four_neighbors=four)
    pn = nodes[rows, cols] - 1
    currents, volts = {}, {}

    def on_pair(ps: PairSolution):
        key = (int(vals[ps.i]), int(vals[ps.j]))
        full_v = np.zeros(graph.n)
        full_c = np.zeros(graph.n)
        full_v[ps.nodes] = ps.voltages
        full_c[ps.nodes] = ps.currents
        local = np.zeros(graph.n + 1, dtype=bool)
        local[ps.nodes + 1] = True
        mask = local[nodes]
        volts[key] = np.where(mask, _cells_to_grid(full_v, nodes), 0.0)
        currents[key] = np.where(mask, _cells_to_grid(full_c, nodes), 0.0)

    out = solve_pairs(graph, pn, exclude=exclude, cumulative=cum, maximum=max_map,
                      on_pair=on_pair if pair_maps else None, pair_maps=pair_maps, solver=solver,
                      tol=tol, progress=progress)
    if pair_maps:   # points sharing a node (one polygon): Circuitscape 4 writes all-zero maps
        for a in range(pn.size):
            for b in range(a + 1, pn.size):
                if pn[a] >= 0 and pn[a] == pn[b] and (exclude is None or not exclude[a, b]):
                    key = (int(vals[a]), int(vals[b]))
                    currents[key] = np.zeros(nodes.shape)
                    volts[key] = np.zeros(nodes.shape)
    cmap = _cells_to_grid(out.cumulative, nodes) if cum else None
    mmap = _cells_to_grid(out.maximum, nodes) if max_map else None
    return PairwiseResult(vals.copy(), out.resistances, cmap, out.n_solves, mmap, currents, volts)


def region_polymap(shape, polymap, rows, cols, vals, pt1, pt2) -> np.ndarray:
    """Short-circuit map for one pair of focal regions (Circuitscape `create_new_polymap`)."""
    if polymap is None:
        newpoly = np.zeros(shape, dtype=np.int64)
        for p in (pt1, pt2):
            m = vals == p
            newpoly[rows[m], cols[m]] = p
        return newpoly
    poly = np.where(np.isfinite(polymap), polymap, 0).astype(np.int64)
    newpoly = poly.copy()
    k = int(poly.max())
    for p in (pt1, pt2):
        m = vals == p
        if m.sum() == 1:
            continue
        pv = poly[rows[m], cols[m]]
        if (pv == 0).all():
            newpoly[rows[m], cols[m]] = k + 1
            k += 1
        else:
            touched = np.unique(pv[pv != 0])
            if touched.size == 1 and (pv != 0).sum() == 1:
                newpoly[rows[m], cols[m]] = touched[0]
            else:
                newpoly[np.isin(poly, touched)] = k + 1
                k += 1
    return newpoly


def _raster_regions(gz, rows, cols, vals, poly, avg_res, four, exclude, cum, pair_maps, max_map,
                    solver, progress):
    """Focal regions: as in Circuitscape, each pair gets its own graph with its two regions shorted."""
    progress = progress or no_progress
    ids = np.unique(vals)
    n = ids.size
    R = -np.ones((n, n))
    np.fill_diagonal(R, 0.0)
    cum_map = np.zeros(gz.shape) if cum else None
    max_map_arr = np.full(gz.shape, -np.inf) if max_map else None
    currents, volts = {}, {}
    n_solves = 0
    total = n * (n - 1) // 2
    done = 0
    for a in range(n):
        for b in range(a + 1, n):
            done += 1
            if exclude is not None and exclude[a, b]:
                progress(done, total, "solving pairs")
                continue
            newpoly = region_polymap(gz.shape, poly, rows, cols, vals, ids[a], ids[b])
            nodes = node_map(gz, newpoly)
            graph = grid_graph(gz, nodes, avg_resistances=avg_res, four_neighbors=four)
            first_a = np.flatnonzero(vals == ids[a])[0]
            first_b = np.flatnonzero(vals == ids[b])[0]
            pn = np.array([nodes[rows[first_a], cols[first_a]], nodes[rows[first_b], cols[first_b]]]) - 1
            holder = {}

            def on_pair(ps, holder=holder):
                holder["ps"] = ps

            need = cum or max_map or pair_maps
            out = solve_pairs(graph, pn, cumulative=False, on_pair=on_pair if need else None,
                              pair_maps=need, solver=solver)
            n_solves += out.n_solves
            R[a, b] = R[b, a] = out.resistances[0, 1]
            if need and "ps" in holder:
                ps = holder["ps"]
                full_v = np.zeros(graph.n)
                full_c = np.zeros(graph.n)
                full_v[ps.nodes] = ps.voltages
                full_c[ps.nodes] = ps.currents
                local = np.zeros(graph.n + 1, dtype=bool)
                local[ps.nodes + 1] = True
                mask = local[nodes]
                cmap = np.where(mask, _cells_to_grid(full_c, nodes), 0.0)
                if cum:
                    cum_map += cmap
                if max_map:
                    np.maximum(max_map_arr, cmap, out=max_map_arr)
                if pair_maps:
                    key = (int(ids[a]), int(ids[b]))
                    currents[key] = cmap
                    volts[key] = np.where(mask, _cells_to_grid(full_v, nodes), 0.0)
            else:
                if max_map:
                    np.maximum(max_map_arr, 0.0, out=max_map_arr)
                if pair_maps and R[a, b] == 0:   # regions sharing a node: all-zero maps, as Circuitscape 4
                    key = (int(ids[a]), int(ids[b]))
                    currents[key] = np.zeros(gz.shape)
                    volts[key] = np.zeros(gz.shape)
            progress(done, total, "solving pairs")
    if max_map:
        max_map_arr[~np.isfinite(max_map_arr)] = 0.0
    return PairwiseResult(ids, R, cum_map, n_solves, max_map_arr, currents, volts)


# ----------------------------------------------------------------------------------------------------
# advanced mode (sources and grounds)
@dataclass
class AdvancedResult:
    voltages: np.ndarray          # per node (graph) or per cell (raster)
    currents: np.ndarray
    solved: bool
    n_solves: int


def resolve_conflicts(sources: np.ndarray, grounds: np.ndarray, policy: str = "keepall"):
    """Circuitscape's remove_src_or_gnd at nodes holding both a source and a ground."""
    sources = sources.copy()
    grounds = grounds.copy()
    conflicts = (sources != 0) & (grounds != 0)
    if conflicts.any():
        if policy in ("rmvsrc", "rmvall"):
            sources[conflicts] = 0
        if policy in ("rmvgnd", "rmvall"):
            grounds[conflicts] = 0
    grounds[np.isinf(grounds) & (sources > 0)] = 0   # a source cannot sit on a direct ground
    return sources, grounds


def solve_advanced(graph: Graph, sources: np.ndarray, grounds: np.ndarray, *, only_component: int | None = None,
                   solver: str = "auto", tol: float = 1e-8) -> AdvancedResult:
    """Voltages and node currents for current sources (A) and grounds (conductance to ground, inf = direct)
    on a graph, per connected component; components lacking a source or a ground are left at 0.

    only_component: a node index; solve only its component (one-to-all / all-to-one).
    """
    labels = graph.components()
    volts = np.zeros(graph.n)
    curr = np.zeros(graph.n)
    L = graph.laplacian()
    n_solves = 0
    solved = False
    order, starts, ends = _split_components(labels) if graph.n else (np.zeros(0, int), [], [])
    finite = np.where(np.isfinite(grounds), grounds, 0.0)
    for s, e in zip(starts, ends):
        nodes = np.sort(order[s:e])
        if only_component is not None and labels[only_component] != labels[nodes[0]]:
            continue
        src, gnd = sources[nodes], grounds[nodes]
        if src.sum() == 0 or gnd.sum() == 0:
            continue
        whole = nodes.size == graph.n
        Lc = L if whole else L[nodes][:, nodes]
        A = (Lc + sp.diags(finite[nodes])).tocsr()
        keep = ~np.isinf(gnd)
        Ak = A[keep][:, keep]
        cs = ComponentSolver(Ak, singular=False, solver=solver, tol=tol)
        v = np.zeros(nodes.size)
        if keep.any():
            v[keep] = cs.solve(src[keep].astype(float))
        n_solves += cs.n_solves
        volts[nodes] = v
        solved = True
    if solved:
        curr = node_currents(graph, volts, finite)
    return AdvancedResult(volts, curr, solved, n_solves)


def advanced(grid, sources, grounds, *, is_resistance: bool = True, grounds_are_resistances: bool = False,
             direct_grounds: bool = False, unit_currents: bool = False, policy: str = "keepall",
             four_neighbors: bool = False, avg_resistances: bool = True, polygons=None,
             solver: str = "auto") -> AdvancedResult:
    """Advanced mode on a raster: source currents (A per cell) and grounds (per cell conductance to ground,
    or resistance when grounds_are_resistances; 0/NaN = none). Returns voltage and current grids."""
    g = np.nan_to_num(to_conductance(grid, is_resistance), nan=0.0)
    src = np.nan_to_num(np.asarray(sources, dtype=float), nan=0.0)
    gnd_raw = np.asarray(grounds, dtype=float)
    if src.shape != g.shape or gnd_raw.shape != g.shape:
        raise EconetError("source and ground grids must have the habitat grid's shape")
    gnd = ground_conductance(gnd_raw, grounds_are_resistances, direct_grounds)
    if unit_currents:
        src = np.where(src != 0, 1.0, 0.0)
    nodes = node_map(g, polygons)
    graph = grid_graph(g, nodes, avg_resistances=avg_resistances, four_neighbors=four_neighbors)
    s_node = _cells_to_nodes(src, nodes, graph.n)
    g_node = _cells_to_nodes(gnd, nodes, graph.n)
    s_node, g_node = resolve_conflicts(s_node, g_node, policy)
    out = solve_advanced(graph, s_node, g_node, solver=solver)
    return AdvancedResult(_cells_to_grid(out.voltages, nodes), _cells_to_grid(out.currents, nodes),
                          out.solved, out.n_solves)


def ground_conductance(raw: np.ndarray, are_resistances: bool, direct: bool) -> np.ndarray:
    """Ground conductances per cell from a ground grid (NaN = no ground); resistance 0 = direct ground."""
    present = np.isfinite(raw)
    with np.errstate(divide="ignore"):
        if are_resistances:
            g = np.where(present, 1.0 / np.where(present, raw, 1.0), 0.0)
        else:
            g = np.where(present, raw, 0.0)
    if direct:
        g = np.where(g != 0, np.inf, 0.0)
    return g


def _cells_to_nodes(values: np.ndarray, nodes: np.ndarray, n: int) -> np.ndarray:
    m = (nodes > 0) & (values != 0)
    return np.bincount(nodes[m] - 1, values[m], n) if n else np.zeros(0)


# ----------------------------------------------------------------------------------------------------
# one-to-all and all-to-one
@dataclass
class OneToAllResult:
    ids: np.ndarray
    resistances: np.ndarray          # per focal id; -1 when not solvable; all-to-one gives 0 when solved
    cumulative_current: np.ndarray | None
    max_current: np.ndarray | None
    n_solves: int
    currents: dict = field(default_factory=dict)
    voltages: dict = field(default_factory=dict)


def focal_polymap(polymap, point_map, regions: bool) -> np.ndarray:
    """Short-circuit map combining polygons with the focal points/regions (Circuitscape
    `create_new_polymap` with a point map): every focal id becomes one node."""
    if polymap is None:
        return point_map.copy()
    poly = np.where(np.isfinite(polymap), polymap, 0).astype(np.int64)
    newpoly = poly.copy()
    where = np.argwhere(point_map != 0)
    if not regions:
        k = int(poly.max())
        for r, c in where:
            if poly[r, c] == 0:
                newpoly[r, c] = point_map[r, c] + k
        return newpoly
    k = max(int(poly.max()), int(point_map.max()))
    for r, c in where:
        v1, v2 = point_map[r, c], newpoly[r, c]
        if v2 == 0:
            newpoly[r, c] = k + v1
            continue
        if v1 != v2:
            newpoly[newpoly == v2] = v1
    return newpoly


def _one_or_all(grid, focal, *, to_all: bool, is_resistance=True, four_neighbors=False, avg_resistances=True,
                polygons=None, strengths: dict | None = None, include: np.ndarray | None = None,
                cumulative_map=True, max_map=False, maps=False, solver="auto", progress=None):
    progress = progress or no_progress
    g = np.nan_to_num(to_conductance(grid, is_resistance), nan=0.0)
    rows, cols, vals = _focal_cells(focal, g.shape)
    ids = np.unique(vals)
    if ids.size == 0:
        raise EconetError("no focal points (all focal ids are 0)")
    point_map = np.zeros(g.shape, dtype=np.int64)
    point_map[rows, cols] = vals
    regions = ids.size != vals.size
    newpoly = focal_polymap(polygons, point_map, regions)
    nodes = node_map(g, newpoly)
    graph = grid_graph(g, nodes, avg_resistances=avg_resistances, four_neighbors=four_neighbors)
    pid_node = {}
    for p in ids:
        m = np.flatnonzero(vals == p)[0]
        pid_node[p] = nodes[rows[m], cols[m]] - 1
    res = np.zeros(ids.size)
    cum = np.zeros(g.shape) if cumulative_map else None
    mx = np.full(g.shape, -9999.0) if max_map else None
    currents, volts = {}, {}
    n_solves = 0
    for k, p in enumerate(ids):
        progress(k, ids.size, "solving focal nodes")
        others = [q for q in ids if q != p]
        if include is not None:
            others = [q for j, q in enumerate(ids) if q != p and include[k, j]]
        s_node = np.zeros(graph.n)
        g_node = np.zeros(graph.n)
        src_node = pid_node[p]
        if to_all:
            strength = 1.0 if strengths is None else float(strengths.get(int(p), 1.0))
            if src_node >= 0:
                s_node[src_node] += strength
            for q in others:
                m = vals == q
                nn = nodes[rows[m], cols[m]] - 1
                g_node[nn[nn >= 0]] = np.inf
            policy = "rmvgnd"
        else:
            for q in others:                      # 1 A (or the id's strength) per focal node
                nq = pid_node[q]
                if nq >= 0:
                    s_node[nq] += 1.0 if strengths is None else float(strengths.get(int(q), 1.0))
            if src_node >= 0:
                g_node[src_node] = np.inf
            policy = "rmvsrc"
        s_node, g_node = resolve_conflicts(s_node, g_node, policy)
        out = None
        if src_node >= 0:
            out = solve_advanced(graph, s_node, g_node, only_component=src_node, solver=solver)
            n_solves += out.n_solves
        if out is None or not out.solved:
            res[k] = -1
            if maps:   # Circuitscape writes all-zero maps for a focal node it cannot solve
                currents[int(p)] = np.zeros(g.shape)
                volts[int(p)] = np.zeros(g.shape)
            continue
        if to_all:
            val = out.voltages[src_node] / s_node[src_node] if s_node[src_node] else 0.0
            res[k] = -1 if np.isclose(val, 0.0) else val
        else:
            res[k] = 0.0
        cmap = _cells_to_grid(out.currents, nodes)
        if cumulative_map:
            cum += cmap
        if max_map:
            np.maximum(mx, cmap, out=mx)
        if maps:
            currents[int(p)] = cmap
            volts[int(p)] = _cells_to_grid(out.voltages, nodes)
    progress(ids.size, ids.size, "solving focal nodes")
    return OneToAllResult(ids, res, cum, mx, n_solves, currents, volts)


def one_to_all(grid, focal, **kw) -> OneToAllResult:
    """One-to-all: each focal node in turn injects 1 A (or its strength) with all others grounded."""
    return _one_or_all(grid, focal, to_all=True, **kw)


def all_to_one(grid, focal, **kw) -> OneToAllResult:
    """All-to-one: each focal node in turn is grounded and every other focal cell injects 1 A."""
    return _one_or_all(grid, focal, to_all=False, **kw)


# ----------------------------------------------------------------------------------------------------
# networks
def pairwise_network(n_nodes: int, u, v, conductance, focal_nodes, **kw) -> GraphPairwise:
    """Pairwise resistances between focal nodes (0-based) of a network given as edge lists."""
    graph = Graph(n=int(n_nodes), u=np.asarray(u, dtype=np.int64), v=np.asarray(v, dtype=np.int64),
                  w=np.asarray(conductance, dtype=float))
    return solve_pairs(graph, np.asarray(focal_nodes, dtype=np.int64), **kw)
