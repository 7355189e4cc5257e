"""Graph connectivity of habitat patches or protected areas: distances, PC, IIC, EC and per-node dPC/dIIC.

Conefor semantics (Saura & Pascual-Hortal 2007; Pascual-Hortal & Saura 2006; Saura & Rubio 2010;
Saura et al. 2011). Distances come from a spatial index, never from a dense all-pairs geometry loop, and
PC is exact by default: long links are only dropped where a chain of shorter links is provably at least
as good (see `ExactGraph`). An optional minimum probability drops weak pairs and reports the bound of
the error it introduces.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from econet.errors import EconetError
from econet.progress import no_progress

DISTANCE_TYPES = ("edge", "centroid", "least-cost")
_UNITS = {"m": 1.0, "km": 1000.0, "": 1.0}
_ROW_BUDGET = 4_000_000  # matrix cells per chunk of shortest-path rows (32 MB of float64)


# --------------------------------------------------------------------------- parameters

def parse_distance(text: str | float | int) -> float:
    """A distance in metres from '10km', '500m', '3.16 km' or a bare number of metres."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(km|m)?\s*", str(text))
        if not m:
            raise EconetError(f"cannot read distance '{text}' (use e.g. 10km, 500m or metres)")
        value = float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if not math.isfinite(value) or value <= 0:
        raise EconetError(f"distance must be positive, got '{text}'")
    return value


def decay_constant(distance: float, probability: float | None = 0.5) -> float:
    """k in p_ij = exp(-k d_ij) such that p(distance) = probability (k = 1/distance when probability is None)."""
    if distance <= 0:
        raise EconetError("dispersal distance must be positive")
    if probability is None:
        return 1.0 / distance
    if not 0.0 < probability < 1.0:
        raise EconetError(f"probability must lie strictly between 0 and 1, got {probability}")
    return -math.log(probability) / distance


def format_distance(d: float) -> str:
    """'10km' for 10000, '500m' for 500: the label used in output tables."""
    if d >= 1000 and abs(d / 1000 - round(d / 1000, 3)) < 1e-9:
        return f"{round(d / 1000, 3):g}km"
    return f"{d:g}m"


# --------------------------------------------------------------------------- distance oracles

class DistanceOracle:
    """Distances between n nodes: pairs within a radius (spatial index), lower bounds and exact values."""

    n: int
    metric: bool = False  # True when the triangle inequality holds (direct links are shortest paths)

    def within(self, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def lower_bound(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), n) lower bounds of d[rows, :]."""
        raise NotImplementedError

    def exact(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class EdgeOracle(DistanceOracle):
    """Edge-to-edge (shortest Euclidean) distances between polygons, through a shapely STRtree."""

    def __init__(self, geoms: Sequence):
        import shapely
        self.geoms = np.asarray(geoms, dtype=object)
        self.n = len(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        b = shapely.bounds(self.geoms)
        self.bounds = b
        c = shapely.centroid(self.geoms)
        self.cx, self.cy = shapely.get_x(c), shapely.get_y(c)
        # radius of each polygon around its centroid: max vertex distance
        coords, index = shapely.get_coordinates(self.geoms, return_index=True)
        r = np.hypot(coords[:, 0] - self.cx[index], coords[:, 1] - self.cy[index])
        self.radius = np.zeros(self.n)
        np.maximum.at(self.radius, index, r)
        self.vertices = shapely.get_num_coordinates(self.geoms)
        self._hulls = None
        self._points = None

    def within(self, radius):
        pairs = self.tree.query(self.geoms, predicate="dwithin", distance=radius)
        i, j = pairs
        keep = i < j
        i, j = i[keep], j[keep]
        return i, j, self.exact(i, j)

    def lower_bound(self, rows):
        b = self.bounds
        dx = np.maximum(0.0, np.maximum(b[None, :, 0] - b[rows, None, 2], b[rows, None, 0] - b[None, :, 2]))
        dy = np.maximum(0.0, np.maximum(b[None, :, 1] - b[rows, None, 3], b[rows, None, 1] - b[None, :, 3]))
        lb = np.hypot(dx, dy)
        cd = np.hypot(self.cx[rows, None] - self.cx[None, :], self.cy[rows, None] - self.cy[None, :])
        cd -= self.radius[rows, None] + self.radius[None, :]
        return np.maximum(lb, cd)

    def subset(self, keep):
        return EdgeOracle(self.geoms[keep])

    def refine(self, i, j):
        """A tighter lower bound: the distance between convex hulls (hulls contain the polygons)."""
        import shapely
        if self._hulls is None:
            self._hulls = shapely.convex_hull(self.geoms)
        return shapely.distance(self._hulls[i], self._hulls[j])

    def exact(self, i, j):
        """Exact edge-to-edge distances. Each polygon is first clipped to the other's box grown by an upper
        bound of their distance (the closest points lie inside it), so large, detailed polygons stay fast."""
        import shapely
        i, j = np.asarray(i, dtype=np.intp), np.asarray(j, dtype=np.intp)
        if len(i) == 0:
            return np.zeros(0)
        if self._points is None:
            self._points = shapely.point_on_surface(self.geoms)
        A, B = self.geoms[i], self.geoms[j]
        u = np.minimum(shapely.distance(self._points[i], B), shapely.distance(self._points[j], A))
        ba, bb = self.bounds[i], self.bounds[j]
        big = (self.vertices[i] + self.vertices[j]) > 400
        out = np.empty(len(i))
        if (~big).any():
            out[~big] = shapely.distance(A[~big], B[~big])
        for t in np.flatnonzero(big):
            x = u[t]
            a = shapely.clip_by_rect(A[t], bb[t, 0] - x, bb[t, 1] - x, bb[t, 2] + x, bb[t, 3] + x)
            b = shapely.clip_by_rect(B[t], ba[t, 0] - x, ba[t, 1] - x, ba[t, 2] + x, ba[t, 3] + x)
            out[t] = shapely.distance(a, b) if not (a.is_empty or b.is_empty) else x
        return out


class CentroidOracle(DistanceOracle):
    """Euclidean distances between centroids (a metric: p*_ij is the direct p_ij)."""

    metric = True

    def __init__(self, xy: np.ndarray):
        from scipy.spatial import cKDTree
        self.xy = np.asarray(xy, dtype=float)
        self.n = len(self.xy)
        self.tree = cKDTree(self.xy)

    def within(self, radius):
        pairs = self.tree.query_pairs(radius, output_type="ndarray")
        if len(pairs) == 0:
            e = np.zeros(0, dtype=np.intp)
            return e, e, np.zeros(0)
        i, j = pairs[:, 0], pairs[:, 1]
        return i, j, self.exact(i, j)

    def subset(self, keep):
        return CentroidOracle(self.xy[keep])

    def lower_bound(self, rows):
        return self.row_distances(rows)

    def row_distances(self, rows):
        d = self.xy[rows, None, :] - self.xy[None, :, :]
        return np.hypot(d[..., 0], d[..., 1])

    def exact(self, i, j):
        return np.hypot(*(self.xy[i] - self.xy[j]).T)


class MatrixOracle(DistanceOracle):
    """A complete, given distance matrix (least-cost distances, or a user's table); inf = unreachable."""

    def __init__(self, d: np.ndarray):
        self.d = np.asarray(d, dtype=float)
        self.n = len(self.d)

    def within(self, radius):
        i, j = np.nonzero(np.triu(self.d <= radius, 1))
        return i, j, self.d[i, j]

    def subset(self, keep):
        return MatrixOracle(self.d[np.ix_(keep, keep)])

    def lower_bound(self, rows):
        return self.d[rows]

    def exact(self, i, j):
        return self.d[i, j]


# --------------------------------------------------------------------------- exact shortest paths

@dataclass
class ExactGraph:
    """A sparse graph whose shortest paths equal those of the complete distance graph.

    Built from the links within a search radius (spatial index), then repaired: any longer link whose
    lower bound beats the current shortest path is measured exactly and added when it is shorter, until no
    pair can improve. The result: geodesic (sum of link lengths) distances g_ij as in Conefor's complete
    graph, since -ln p*_ij = k g_ij for every k (so one graph serves every dispersal distance).
    `max_distance` (optional) instead drops every link longer than it (the minimum-probability mode).
    """

    n: int
    i: np.ndarray
    j: np.ndarray
    d: np.ndarray
    metric: bool = False
    oracle: DistanceOracle | None = None
    extra: int = 0           # nodes appended after the oracle's n (e.g. region pieces), with given links
    max_distance: float | None = None
    repairs: int = 0
    added_links: int = 0

    @property
    def size(self) -> int:
        return self.n + self.extra

    def matrix(self) -> sp.csr_matrix:
        n = self.size
        return sp.csr_matrix((self.d, (self.i, self.j)), shape=(n, n))

    def rows(self, chunk: int | None = None, exclude: np.ndarray | None = None
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (row indices, geodesic distance rows) in chunks; inf where unreachable.

        `exclude` (boolean mask) removes nodes from the graph first (their rows/columns are inf).
        """
        n = self.size
        chunk = chunk or max(1, _ROW_BUDGET // max(n, 1))
        if self.metric and self.extra == 0 and self.max_distance is None and exclude is None:
            for s in range(0, n, chunk):
                rows = np.arange(s, min(n, s + chunk))
                yield rows, self.oracle.row_distances(rows)
            return
        m = self.matrix()
        if exclude is not None and exclude.any():
            keep = sp.diags((~exclude).astype(float))
            m = (keep @ m @ keep).tocsr()
            m.eliminate_zeros()
            # zero-length links must survive: re-add them explicitly
            z = (self.d == 0) & ~exclude[self.i] & ~exclude[self.j]
            if z.any():
                m = m + sp.csr_matrix((np.zeros(z.sum()), (self.i[z], self.j[z])), shape=m.shape)
        idx = np.arange(n) if exclude is None else np.flatnonzero(~exclude)
        for s in range(0, len(idx), chunk):
            rows = idx[s:s + chunk]
            g = dijkstra(m, directed=False, indices=rows)
            if exclude is not None:
                g[:, exclude] = np.inf
            yield rows, g


def build_graph(oracle: DistanceOracle, *, max_distance: float | None = None,
                search_radius: float | None = None, extra_links: tuple | None = None, extra: int = 0,
                progress: Callable = no_progress) -> ExactGraph:
    """The exact graph (or, with `max_distance`, all links up to it) over the oracle's nodes.

    `extra_links` = (i, j, d) adds `extra` further nodes linked as given (they are never pruned).
    """
    n = oracle.n
    ei, ej, ed = (np.zeros(0, dtype=np.intp),) * 2 + (np.zeros(0),)
    if extra_links is not None:
        ei, ej, ed = (np.asarray(a) for a in extra_links)
    if max_distance is not None:
        i, j, d = oracle.within(max_distance)
        return ExactGraph(n, np.r_[i, ei], np.r_[j, ej], np.r_[d, ed], oracle=oracle, extra=extra,
                          max_distance=max_distance)
    if oracle.metric and extra == 0:
        return ExactGraph(n, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0),
                          metric=True, oracle=oracle)
    radius = search_radius if search_radius is not None else _default_radius(oracle)
    i, j, d = oracle.within(radius)
    graph = ExactGraph(n, np.r_[i, ei], np.r_[j, ej], np.r_[d, ed], oracle=oracle, extra=extra)
    _prune_two_hop(graph)
    _repair(graph, oracle, radius, progress)
    return graph


def _default_radius(oracle: DistanceOracle) -> float:
    """A search radius giving each node about a dozen neighbours (from the median nearest-neighbour gap)."""
    if isinstance(oracle, MatrixOracle):
        finite = oracle.d[np.isfinite(oracle.d) & (oracle.d > 0)]
        if len(finite) == 0:
            return 1.0
        # about a dozen nearest neighbours per node
        return float(np.quantile(finite, min(1.0, 12.0 / max(oracle.n, 1))))
    if isinstance(oracle, EdgeOracle):
        n = oracle.n
        if n < 2:
            return 1.0
        w = oracle.bounds[:, 2].max() - oracle.bounds[:, 0].min()
        h = oracle.bounds[:, 3].max() - oracle.bounds[:, 1].min()
        return max(math.sqrt(w * h / n) * 2.0, 1.0)
    return 1.0


def _repair(graph: ExactGraph, oracle: DistanceOracle, radius: float, progress: Callable) -> None:
    """Add every longer link that beats the shortest path through the links within `radius`.

    One pass is enough: a link not added has d_ij >= g_ij (or a lower bound >= g_ij) for the radius
    graph, and adding links only shortens paths, so it stays dominated; every shortest path of the
    complete graph is therefore present in the result.
    """
    n = oracle.n
    new_i, new_j, new_d = [], [], []
    refine = getattr(oracle, "refine", None)
    for rows, g in graph.rows():
        rows_pa = rows[rows < n]
        if len(rows_pa) == 0:
            continue
        g = g[: len(rows_pa), :n]
        lb = oracle.lower_bound(rows_pa)
        cand = lb < g * (1 - 1e-12)
        cand &= np.arange(n)[None, :] > rows_pa[:, None]
        r, c = np.nonzero(cand)
        if len(r):
            gi, gj = rows_pa[r], c
            if refine is not None:
                still = refine(gi, gj) < g[r, c] * (1 - 1e-12)
                r, c, gi, gj = r[still], c[still], gi[still], gj[still]
            d = oracle.exact(gi, gj)
            better = d < g[r, c] * (1 - 1e-12)
            new_i.append(gi[better])
            new_j.append(gj[better])
            new_d.append(d[better])
        progress(int(rows[-1]) + 1, n, "pruning links")
    graph.repairs = 1
    if new_i:
        add_i, add_j, add_d = np.concatenate(new_i), np.concatenate(new_j), np.concatenate(new_d)
        graph.i = np.r_[graph.i, add_i]
        graph.j = np.r_[graph.j, add_j]
        graph.d = np.r_[graph.d, add_d]
        graph.added_links += len(add_i)
    _prune_two_hop(graph)


def _prune_two_hop(graph: ExactGraph) -> None:
    """Drop links beaten by a two-link detour (w_ik + w_kj < w_ij): shortest paths are unchanged, since
    every dropped link has a strictly shorter replacement, and Dijkstra gets fewer edges to relax."""
    n = graph.size
    i, j, d = graph.i, graph.j, graph.d
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo.astype(np.int64) * n + hi
    order = np.lexsort((d, key))
    key, d_sorted = key[order], d[order]
    uniq = np.r_[True, key[1:] != key[:-1]]            # duplicates: keep the shortest (sorted by key then d)
    m = sp.csr_matrix((np.r_[d, d], (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    m.sum_duplicates()
    dominated = np.zeros(len(key), dtype=bool)
    indptr, indices, data = m.indptr, m.indices, m.data
    for k in range(n):
        nb = indices[indptr[k]:indptr[k + 1]]
        if len(nb) < 2:
            continue
        w = data[indptr[k]:indptr[k + 1]]
        a, b = np.triu_indices(len(nb), 1)
        u, v = nb[a], nb[b]
        kk = np.minimum(u, v).astype(np.int64) * n + np.maximum(u, v)
        pos = np.searchsorted(key, kk)
        pos[pos >= len(key)] = len(key) - 1
        hit = key[pos] == kk
        via = w[a] + w[b]
        better = hit & (via < d_sorted[pos] * (1 - 1e-12))
        dominated[pos[better]] = True
    keep = ~dominated & uniq
    graph.i, graph.j, graph.d = (lo[order][keep], hi[order][keep], d_sorted[keep])


# --------------------------------------------------------------------------- PC / EC

def pc_numerators(graph: ExactGraph, attribute: np.ndarray, ks: Sequence[float],
                  progress: Callable = no_progress) -> np.ndarray:
    """PCnum = sum_i sum_j a_i a_j p*_ij (i = j included) for each decay constant k, in one pass.

    (To remove nodes, build a new graph on the remaining ones: pruned links may be needed again.)
    """
    a = np.zeros(graph.size)
    a[: len(attribute)] = attribute
    out = np.zeros(len(ks))
    nz = a > 0
    for rows, g in graph.rows():
        ar = a[rows]
        if not (ar > 0).any():
            continue
        sel = ar > 0
        gr = g[sel][:, nz]
        w = ar[sel][:, None] * a[nz][None, :]
        for t, k in enumerate(ks):
            out[t] += float(np.sum(w * np.exp(-k * gr)))
        progress(int(rows[-1]) + 1, graph.size, "summing PC")
    return out


def dropped_pairs_bound(graph: ExactGraph, attribute: np.ndarray, k: float) -> float:
    """Upper bound of the PCnum lost by dropping links longer than graph.max_distance.

    A pair only loses probability if its best path needs a dropped link, so its true p* is at most
    exp(-k max_distance); pairs already joined by a path of length <= max_distance are exact.
    """
    if graph.max_distance is None:
        return 0.0
    a = np.zeros(graph.size)
    a[: len(attribute)] = attribute
    pmax = math.exp(-k * graph.max_distance)
    bound = 0.0
    for rows, g in graph.rows():
        far = g > graph.max_distance
        p_have = np.where(np.isfinite(g), np.exp(-k * np.where(np.isfinite(g), g, 0)), 0.0)
        bound += float(np.sum((a[rows][:, None] * a[None, :]) * far * (pmax - p_have).clip(0)))
    return bound


@dataclass
class Overall:
    """Overall connectivity for one dispersal distance."""

    distance: float
    probability: float | None
    metric: str
    numerator: float
    landscape: float
    node_count: int
    error_bound: float = 0.0

    @property
    def EC(self) -> float:
        return math.sqrt(max(self.numerator, 0.0))

    @property
    def index(self) -> float:
        return self.numerator / self.landscape ** 2 if self.landscape > 0 else float("nan")

    def as_dict(self) -> dict:
        num = "PCnum" if self.metric == "PC" else "IICnum"
        return {"distance_m": self.distance, "probability": self.probability, num: self.numerator,
                "EC": self.EC, self.metric: self.index, "landscape_area": self.landscape,
                "nodes": self.node_count, "error_bound": self.error_bound}


# --------------------------------------------------------------------------- IIC

def iic_numerator(oracle: DistanceOracle, attribute: np.ndarray, threshold: float,
                  exclude: np.ndarray | None = None) -> tuple[float, np.ndarray | None]:
    """IICnum = sum_i sum_j a_i a_j / (1 + nl_ij), nl = link count of the topological shortest path."""
    n = oracle.n
    i, j, _ = oracle.within(threshold)
    m = sp.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    a = np.asarray(attribute, dtype=float).copy()
    if exclude is not None and exclude.any():
        keep = sp.diags((~exclude).astype(float))
        m = (keep @ m @ keep).tocsr()
        m.eliminate_zeros()
        a[exclude] = 0
    total = 0.0
    chunk = max(1, _ROW_BUDGET // max(n, 1))
    for s in range(0, n, chunk):
        rows = np.arange(s, min(n, s + chunk))
        nl = dijkstra(m, directed=False, indices=rows, unweighted=True)
        total += float(np.sum(a[rows][:, None] * a[None, :] / (1.0 + nl)))  # inf -> 0
    return total, m


# --------------------------------------------------------------------------- node importance

def node_importance(oracle: DistanceOracle, attribute: np.ndarray, distance: float,
                    probability: float | None = 0.5, metric: str = "PC",
                    min_probability: float | None = None, landscape: float | None = None,
                    progress: Callable = no_progress) -> tuple[Overall, dict[str, np.ndarray]]:
    """Overall PC (or IIC) and each node's dPC with its intra, flux and connector fractions (Saura & Rubio 2010).

    dX_k = 100 (X - X_without_k) / X. intra = 100 a_k^2 / num; flux = 100 * 2 sum_{j!=k} a_k a_j p*_kj / num;
    connector = dX - intra - flux (the part due to k being a stepping stone). Nodes that lie on no
    shortest path have connector 0 exactly and are not recomputed.
    """
    a = np.asarray(attribute, dtype=float)
    n = len(a)
    land = float(landscape) if landscape else float(a.sum())
    metric = metric.upper()
    if metric not in ("PC", "IIC"):
        raise EconetError(f"metric must be PC or IIC, got '{metric}'")
    if n == 0:
        raise EconetError("no nodes to analyse")
    if metric == "PC":
        k = decay_constant(distance, probability)
        maxd = None if min_probability is None else -math.log(min_probability) / k
        graph = build_graph(oracle, max_distance=maxd, progress=progress)
        num = pc_numerators(graph, a, [k])[0]
        bound = dropped_pairs_bound(graph, a, k)
        # per-node flux from full rows; predecessor check for connectors
        flux = np.zeros(n)
        for rows, g in graph.rows():
            p = np.exp(-k * g)
            flux[rows] = 2 * a[rows] * (p @ a - a[rows])
        candidates = _intermediate_nodes(graph) if not graph.metric else np.zeros(0, dtype=np.intp)
    else:
        k = None
        num, m = iic_numerator(oracle, a, distance)
        bound = 0.0
        flux = np.zeros(n)
        chunk = max(1, _ROW_BUDGET // n)
        for s in range(0, n, chunk):
            rows = np.arange(s, min(n, s + chunk))
            nl = dijkstra(m, directed=False, indices=rows, unweighted=True)
            flux[rows] = 2 * a[rows] * ((a[None, :] / (1.0 + nl)).sum(axis=1) - a[rows])
        candidates = _intermediate_nodes_matrix(m, unweighted=True)
    overall = Overall(distance, probability if metric == "PC" else None, metric, num, land, n, bound)
    if num <= 0:
        zeros = np.zeros(n)
        return overall, {f"d{metric}": zeros, f"d{metric}intra": zeros, f"d{metric}flux": zeros,
                         f"d{metric}connector": zeros}
    intra = 100.0 * a ** 2 / num
    fluxp = 100.0 * flux / num
    dx = intra + fluxp
    for t, node in enumerate(candidates):
        ex = np.zeros(n, dtype=bool)
        ex[node] = True
        if metric == "PC":
            rest = pc_numerators(graph_without(graph, oracle, node), a[~ex], [k])[0]
        else:
            rest = iic_numerator(oracle, a, distance, exclude=ex)[0]
        dx[node] = 100.0 * (num - rest) / num
        progress(t + 1, len(candidates), "removing nodes")
    connector = dx - intra - fluxp
    connector[np.abs(connector) < 1e-9 * max(1.0, float(np.abs(dx).max()))] = 0.0
    connector = np.maximum(connector, 0.0)
    return overall, {f"d{metric}": dx, f"d{metric}intra": intra, f"d{metric}flux": fluxp,
                     f"d{metric}connector": connector}


def graph_without(graph: ExactGraph, oracle: DistanceOracle, node: int) -> ExactGraph:
    """The exact graph of the other nodes: `graph` minus `node`, plus the links that were only beaten by
    paths through `node` (found by the same lower-bound repair pass)."""
    n = graph.size
    keep = np.ones(n, dtype=bool)
    keep[node] = False
    new_index = np.cumsum(keep) - 1
    sel = keep[graph.i] & keep[graph.j]
    sub_oracle = oracle.subset(keep)
    sub = ExactGraph(n - 1, new_index[graph.i[sel]], new_index[graph.j[sel]], graph.d[sel], oracle=sub_oracle,
                     max_distance=graph.max_distance)
    if graph.max_distance is None:   # nothing was pruned in the minimum-probability mode
        _repair(sub, sub_oracle, 0.0, no_progress)
    return sub


def _intermediate_nodes(graph: ExactGraph) -> np.ndarray:
    return _intermediate_nodes_matrix(graph.matrix(), unweighted=False)


def _intermediate_nodes_matrix(m: sp.csr_matrix, unweighted: bool) -> np.ndarray:
    """Nodes that are an intermediate step of some shortest path (only they can have a connector role)."""
    n = m.shape[0]
    seen = np.zeros(n, dtype=bool)
    chunk = max(1, _ROW_BUDGET // max(n, 1))
    for s in range(0, n, chunk):
        rows = np.arange(s, min(n, s + chunk))
        _, pred = dijkstra(m, directed=False, indices=rows, unweighted=unweighted, return_predecessors=True)
        p = pred[pred >= 0]
        src = np.repeat(rows, (pred >= 0).sum(axis=1))
        seen[p[p != src]] = True
    # a node absent from every shortest-path tree can be removed without lengthening any other pair's path
    return np.flatnonzero(seen)


# --------------------------------------------------------------------------- distances from geometries

def oracle_for(geoms, distance_type: str = "edge", resistance=None, progress: Callable = no_progress,
               max_cost: float | None = None) -> DistanceOracle:
    """The distance oracle for polygons: 'edge' (edge-to-edge), 'centroid', or 'least-cost' over a resistance Raster."""
    import shapely
    geoms = np.asarray(geoms, dtype=object)
    if distance_type == "edge":
        return EdgeOracle(geoms)
    if distance_type == "centroid":
        c = shapely.centroid(geoms)
        return CentroidOracle(np.c_[shapely.get_x(c), shapely.get_y(c)])
    if distance_type == "least-cost":
        if resistance is None:
            raise EconetError("least-cost distances need a resistance raster (--resistance)")
        return MatrixOracle(least_cost_matrix(geoms, resistance, max_cost=max_cost, progress=progress))
    raise EconetError(f"distance type must be one of {', '.join(DISTANCE_TYPES)}, got '{distance_type}'")


def node_cells(geoms, raster) -> list[np.ndarray]:
    """Flat cell indices of each polygon on the raster grid (cells whose centre falls inside; at least the
    cell under the polygon's representative point)."""
    import shapely
    from rasterio import features
    rows, cols = raster.shape
    ids = features.rasterize(((g, t + 1) for t, g in enumerate(geoms) if g is not None and not g.is_empty),
                             out_shape=(rows, cols), transform=raster.transform, fill=0, dtype="int32")
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")
    counts = np.bincount(flat, minlength=len(geoms) + 1)
    starts = np.r_[0, np.cumsum(counts)]
    out = []
    inv = ~raster.transform
    for t, g in enumerate(geoms):
        cells = order[starts[t + 1]:starts[t + 2]]
        if len(cells) == 0 and g is not None and not g.is_empty:
            pt = shapely.point_on_surface(g)
            c, r = inv * (pt.x, pt.y)
            r, c = int(math.floor(r)), int(math.floor(c))
            if 0 <= r < rows and 0 <= c < cols:
                cells = np.array([r * cols + c])
        out.append(cells)
    return out


def least_cost_matrix(geoms, resistance, max_cost: float | None = None,
                      progress: Callable = no_progress) -> np.ndarray:
    """Least-cost (cost-weighted) distances between polygons over a resistance raster.

    skimage.graph.MCP_Geometric from all cells of each polygon: a step costs the mean resistance of the two
    cells times the step length in map units (diagonals x sqrt 2), as in Linkage Mapper / ArcGIS cost
    distance. Cells with nodata or resistance <= 0 are barriers. inf = unreachable (or beyond max_cost).
    """
    from skimage.graph import MCP_Geometric
    data = np.array(resistance.data, dtype=float)
    bad = ~np.isfinite(data) | (data <= 0)
    cost = np.where(bad, np.inf, data)
    cells = node_cells(geoms, resistance)
    n = len(geoms)
    out = np.full((n, n), np.inf)
    np.fill_diagonal(out, 0.0)
    size = abs(resistance.transform.a)
    mcp = MCP_Geometric(cost, fully_connected=True)
    cols = data.shape[1]
    for s in range(n):
        if len(cells[s]) == 0:
            continue
        starts = [(int(c // cols), int(c % cols)) for c in cells[s]]
        if max_cost is None:
            cum, _ = mcp.find_costs(starts)
        else:
            cum, _ = mcp.find_costs(starts, max_cumulative_cost=max_cost / size)
        flat = cum.ravel()
        for t in range(n):
            if t != s and len(cells[t]):
                out[s, t] = float(flat[cells[t]].min()) * size
        progress(s + 1, n, "least-cost distances")
    out = np.minimum(out, out.T)
    return out
