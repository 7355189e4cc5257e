"""Omnidirectional connectivity (Omniscape semantics): Circuitscape's advanced mode in a circular moving
window around every target, summed into cumulative current, flow potential and normalized current.

Follows Omniscape.jl (src/main.jl, src/utils.jl, src/conditional.jl; docs/src/algorithm.md) including its
edge behaviour: targets are the centres of block_size x block_size blocks whose source sum is > 0; each
window holds conductance within radius+buffer and sources within radius of the target; the sources of the
target's block are zeroed at the window's centre position (which, for windows clipped by the grid's top or
left edge, is not the target's block, as in Omniscape); the remaining sources are rescaled to sum to the
target's strength, then filtered by the conditions; the target is grounded directly. Flow potential
solves the same sources on a rectangle of unit conductance. correct_artifacts multiplies every window by
the ratio of unblocked to blocked null currents (utils.jl `calc_correction`).

Arrays are 0-based (row, col); Omniscape's x is col + 1 and y is row + 1. All solving goes through the
circuit engine (econet.connectivity.circuit); this module adds the windows and the one factorization
cache for unit-conductance rectangles, which are the same for every interior target.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scipy.sparse.csgraph import connected_components

from econet.connectivity.circuit import node_currents
from econet.connectivity.circuit_graph import conductance_graph, grid_graph
from econet.connectivity.circuit_solve import DIRECT_MAX_NODES, ComponentSolver
from econet.errors import EconetError

__all__ = ["OmniscapeParams", "OmniscapeResult", "Inputs", "prepare_inputs", "find_targets",
           "correction_array", "solve_targets", "omniscape", "reclassify"]


@dataclass(frozen=True)
class OmniscapeParams:
    """Run settings, named as Omniscape's .ini keys (see docs/omniscape.md)."""

    radius: int
    block_size: int = 1
    buffer: int = 0
    source_threshold: float = 0.0
    source_from_resistance: bool = False
    r_cutoff: float = math.inf
    resistance_is_conductance: bool = False
    correct_artifacts: bool = True
    connect_four_neighbors_only: bool = False
    calc_flow_potential: bool = False
    calc_normalized_current: bool = False
    conditional: bool = False
    n_conditions: int = 1
    comparison1: str = "within"
    comparison2: str = "within"
    condition1_lower: float = 0.0
    condition1_upper: float = 0.0
    condition2_lower: float = 0.0
    condition2_upper: float = 0.0
    mask_nodata: bool = True
    precision: str = "double"
    solver: str = "auto"

    def __post_init__(self):
        if self.radius < 1:
            raise EconetError(f"radius must be a positive number of cells, got {self.radius}", field="radius")
        if self.block_size < 1:
            raise EconetError(f"block_size must be positive, got {self.block_size}", field="block_size")
        if self.block_size % 2 == 0:   # Omniscape: "block_size is even, but must be odd. Using block_size + 1."
            object.__setattr__(self, "block_size", self.block_size + 1)
        if self.buffer < 0:
            raise EconetError(f"buffer must be >= 0, got {self.buffer}", field="buffer")
        for k in ("comparison1", "comparison2"):
            if getattr(self, k) not in ("within", "equal"):
                raise EconetError(f"{k} must be 'within' or 'equal', got '{getattr(self, k)}'", field=k)
        if self.n_conditions not in (1, 2):
            raise EconetError(f"n_conditions must be 1 or 2, got {self.n_conditions}", field="n_conditions")

    @property
    def block_radius(self) -> int:
        return (self.block_size - 1) // 2

    @property
    def reach(self) -> int:
        """radius + buffer: how far a window extends from its target (the tile halo)."""
        return self.radius + self.buffer

    @property
    def compute_flow_potential(self) -> bool:
        return self.calc_flow_potential or self.calc_normalized_current

    @property
    def corrects(self) -> bool:
        return self.correct_artifacts and self.block_size > 1


@dataclass
class Inputs:
    """Prepared grids: conductance (NaN = nodata), source strengths (>= 0, no NaN), condition layers."""

    conductance: np.ndarray
    source: np.ndarray
    condition1: np.ndarray | None = None
    condition1_future: np.ndarray | None = None
    condition2: np.ndarray | None = None
    condition2_future: np.ndarray | None = None
    nodata: np.ndarray | None = None        # resistance nodata mask (after reclassification)

    def window(self, r0: int, r1: int, c0: int, c1: int) -> "Inputs":
        """The inputs cut to rows r0:r1, columns c0:c1 (a tile with its halo)."""
        cut = lambda a: None if a is None else np.ascontiguousarray(a[r0:r1, c0:c1])  # noqa: E731
        return Inputs(cut(self.conductance), cut(self.source), cut(self.condition1), cut(self.condition1_future),
                      cut(self.condition2), cut(self.condition2_future), None)


@dataclass
class OmniscapeResult:
    cum_currmap: np.ndarray
    flow_potential: np.ndarray | None
    normalized_cum_currmap: np.ndarray | None
    n_targets: int
    n_tiles: int = 1
    tiles_skipped: int = 0
    stats: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------
# inputs
def reclassify(resistance: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Omniscape's reclassify_resistance!: every cell equal to a table's first column (in the original
    grid) takes the second column's value; NaN in the second column makes the cell nodata."""
    old = np.asarray(resistance, dtype=np.float64)
    out = old.copy()
    for a, b in np.asarray(table, dtype=np.float64).reshape(-1, 2):
        out[old == a] = b
    return out


def prepare_inputs(resistance: np.ndarray, params: OmniscapeParams, *, source: np.ndarray | None = None,
                   reclass_table: np.ndarray | None = None, condition1=None, condition1_future=None,
                   condition2=None, condition2_future=None) -> Inputs:
    """Conductance and source grids as Omniscape derives them (main.jl `run_omniscape`).

    source given: NaN -> 0, values < source_threshold -> 0. source_from_resistance: 1/R (or the
    conductance) of the reclassified grid, 0 where below 1/r_cutoff or nodata.
    """
    res = np.asarray(resistance, dtype=np.float64)
    if res.ndim != 2:
        raise EconetError(f"resistance grid must be 2-D, got shape {res.shape}")
    if params.precision == "single":
        res = res.astype(np.float32).astype(np.float64)
    if reclass_table is not None:
        res = reclassify(res, reclass_table)
    finite = np.isfinite(res)
    if finite.any() and res[finite].min() <= 0:
        raise EconetError("Resistance (or conductance) surface contains 0 or negative values")
    with np.errstate(divide="ignore"):
        cond = np.where(finite, res if params.resistance_is_conductance else 1.0 / np.where(finite, res, 1.0),
                        np.nan)
    if params.source_from_resistance or source is None:
        if not params.source_from_resistance:
            raise EconetError("source_file is required unless source_from_resistance = true", field="source_file")
        with np.errstate(divide="ignore"):
            cutoff = 1.0 / params.r_cutoff
        src = np.where(finite & (cond >= cutoff), cond, 0.0)
    else:
        src = np.asarray(source, dtype=np.float64)
        if src.shape != res.shape:
            raise EconetError(f"source grid shape {src.shape} differs from resistance grid {res.shape}",
                              field="source_file")
        if params.precision == "single":
            src = src.astype(np.float32).astype(np.float64)
        src = np.where(np.isfinite(src), src, 0.0)
        src = np.where(src < params.source_threshold, 0.0, src)
        if (src < 0).any():
            raise EconetError("source strengths must be >= 0", field="source_file")
    conds = [condition1, condition1_future, condition2, condition2_future]
    conds = [None if c is None else np.asarray(c, dtype=np.float64) for c in conds]
    for name, c in zip(("condition1", "condition1_future", "condition2", "condition2_future"), conds):
        if c is not None and c.shape != res.shape:
            raise EconetError(f"{name} grid shape {c.shape} differs from resistance grid {res.shape}",
                              field=f"{name}_file")
    if params.conditional:
        if conds[0] is None or (params.n_conditions == 2 and conds[2] is None):
            raise EconetError("conditional = true needs condition1_file (and condition2_file when "
                              "n_conditions = 2)", field="condition1_file")
        conds[1] = conds[0] if conds[1] is None else conds[1]
        if params.n_conditions == 2:
            conds[3] = conds[2] if conds[3] is None else conds[3]
    return Inputs(cond, src, *conds, nodata=~finite)


def find_targets(source: np.ndarray, block_size: int) -> np.ndarray:
    """Targets as rows of (row, col, amps), 0-based, in Omniscape's order (columns outer, rows inner):
    centres of block_size blocks starting at block_radius, amps = the block's source sum, zeros dropped."""
    nrows, ncols = source.shape
    br = (block_size - 1) // 2
    rows = np.arange(br, nrows - br, block_size)
    cols = np.arange(br, ncols - br, block_size)
    if rows.size == 0 or cols.size == 0:
        return np.zeros((0, 3))
    # exact block sums (every block lies inside the grid)
    if block_size == 1:
        amps = source[np.ix_(rows, cols)].astype(np.float64)
    else:
        amps = source[:rows[-1] + br + 1, :cols[-1] + br + 1].reshape(
            rows.size, block_size, cols.size, block_size).sum(axis=(1, 3))
    cc, rr = np.meshgrid(cols, rows)
    t = np.column_stack([rr.T.ravel(), cc.T.ravel(), amps.T.ravel()])
    return t[t[:, 2] > 0]


# ----------------------------------------------------------------------------------------------------
# one window
def _circle(h: int, w: int, ti: int, tj: int, dist: float) -> np.ndarray:
    ii = (np.arange(h) - ti)[:, None]
    jj = (np.arange(w) - tj)[None, :]
    return np.sqrt(ii * ii + jj * jj) <= dist


def _factor_spd(A: sp.spmatrix, solver: str = "auto"):
    """A solve function for a grounded (non-singular, symmetric positive definite) Laplacian: SuperLU in
    symmetric mode without pivoting (1.6x faster than the general LU) up to DIRECT_MAX_NODES, else the
    circuit engine's AMG-preconditioned CG."""
    n = A.shape[0]
    if n > DIRECT_MAX_NODES or solver == "cg+amg":
        cs = ComponentSolver(A, singular=False, solver="cg+amg", tol=1e-10)
        return cs.solve
    lu = spla.splu(sp.csc_matrix(A), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options=dict(SymmetricMode=True))
    return lu.solve


def window_current(cond: np.ndarray, src: np.ndarray, ti: int, tj: int, four: bool,
                   solver: str = "auto") -> np.ndarray:
    """Cell currents of one advanced-mode solve as Circuitscape's `compute_omniscape_current` makes them:
    conductance grid (NaN/<=0 = no node; neighbours joined by mean conductance), source currents, a direct
    ground at (ti, tj), policy rmvsrc. Only the ground's component can carry current (the others lack a
    ground and are skipped, as in Circuitscape), so only it is solved."""
    g = np.nan_to_num(cond, nan=0.0)
    graph, nodes = conductance_graph(g, avg_resistances=False, four_neighbors=four)
    out = np.zeros(g.shape)
    if graph.n == 0 or nodes[ti, tj] == 0:
        return out
    tnode = nodes[ti, tj] - 1
    m = (nodes > 0) & (src != 0)
    s = np.bincount(nodes[m] - 1, src[m], graph.n)
    s[tnode] = 0.0                         # rmvsrc: a source on the ground is removed
    L = graph.laplacian()
    _, labels = connected_components(L, directed=False)
    comp = labels == labels[tnode]
    if s[comp].sum() == 0:
        return out
    keep = comp.copy()
    keep[tnode] = False
    idx = np.flatnonzero(keep)
    volts = np.zeros(graph.n)
    if idx.size:
        volts[idx] = _factor_spd(L[idx][:, idx], solver)(s[idx])
    cur = node_currents(graph, volts)
    v = nodes > 0
    out[v] = cur[nodes[v] - 1]
    return out


class UnitWindowSolver:
    """Flow-potential solves: a rectangle of unit conductance grounded at one cell. Every interior target
    has the same rectangle, so the factorization is cached by (shape, ground cell); a few entries suffice
    (edge targets of one row share theirs) and keep a worker's memory bounded."""

    def __init__(self, four: bool, size: int = 12):
        self.four = four
        self.size = size
        self._cache: OrderedDict = OrderedDict()

    def _factor(self, h: int, w: int, ti: int, tj: int):
        key = (h, w, ti, tj)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        nodes = np.arange(1, h * w + 1).reshape(h, w)
        graph = grid_graph(np.ones((h, w)), nodes, avg_resistances=False, four_neighbors=self.four)
        L = graph.laplacian()
        t = ti * w + tj
        keep = np.ones(h * w, bool)
        keep[t] = False
        lu = _factor_spd(L[keep][:, keep]) if keep.any() else None
        hit = (graph, keep, lu)
        self._cache[key] = hit
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return hit

    def current(self, src: np.ndarray, ti: int, tj: int) -> np.ndarray:
        h, w = src.shape
        graph, keep, lu = self._factor(h, w, ti, tj)
        s = src.ravel().astype(np.float64).copy()
        s[ti * w + tj] = 0.0
        v = np.zeros(h * w)
        if lu is None or not s.any():
            return np.zeros((h, w))
        v[keep] = lu(s[keep])
        return node_currents(graph, v).reshape(h, w)


def correction_array(params: OmniscapeParams, nrows: int, ncols: int) -> np.ndarray | None:
    """Block artifact correction (utils.jl `calc_correction`): null-resistance current of block_size 1
    (summed over the block's shifts) divided by null current with the blocked source, 1 where either is 0."""
    if not params.corrects:
        return None
    r, R, br, bs = params.radius, params.reach, params.block_radius, params.block_size
    S = 2 * R + 1
    in_r = _circle(S, S, R, R, r)
    n_sources = in_r.sum()
    source_null = np.where(in_r, 1.0, 0.0)
    source_null[R, R] = 0.0
    source_null[source_null != 0] = 1.0 / (n_sources - 1)
    blocked = np.where(in_r, 1.0, 0.0)
    blocked[R - br:min(R + br, nrows - 1) + 1, R - br:min(R + br, ncols - 1) + 1] = 0.0
    pos = blocked > 0
    blocked[pos] = blocked[pos] * float(bs * bs) / blocked[pos].sum()
    cond = np.where(_circle(S, S, R, R, R), 1.0, np.nan)
    four = params.connect_four_neighbors_only
    block_null = window_current(cond, blocked, R, R, four, params.solver)
    null = window_current(cond, source_null, R, R, four, params.solver)
    total = np.zeros((S + bs - 1, S + bs - 1))
    for i in range(bs):
        for j in range(bs):
            total[i:i + S, j:j + S] += null
    total = total[br:br + S, br:br + S]
    total[block_null == 0] = 0.0
    total[total == 0] = 1.0
    block_null[block_null == 0] = 1.0
    return total / block_null


def _median(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def _mode(a: np.ndarray) -> float:
    """StatsBase.mode as Omniscape calls it: values met in column-major order (Julia's), the mode is the
    value that first reaches the highest count (so ties go to the value that got there first)."""
    best, best_n, counts = math.nan, 0, {}
    for x in a.T.ravel():
        if not np.isfinite(x):
            continue
        n = counts.get(x, 0) + 1
        counts[x] = n
        if n > best_n:
            best, best_n = float(x), n
    return best


def _condition_filter(src, inputs, params, k, win, block):
    present = inputs.condition1 if k == 1 else inputs.condition2
    future = inputs.condition1_future if k == 1 else inputs.condition2_future
    comparison = params.comparison1 if k == 1 else params.comparison2
    lower = params.condition1_lower if k == 1 else params.condition2_lower
    upper = params.condition1_upper if k == 1 else params.condition2_upper
    con = present[win]
    fut = future[block]
    with np.errstate(invalid="ignore"):
        if comparison == "within":
            v = _median(fut)
            d = con - v
            drop = (d > upper) | (d < lower)
        else:
            v = _mode(fut)
            drop = np.isfinite(con) & (con != v)
    src[drop] = 0.0


def solve_targets(inputs: Inputs, targets: np.ndarray, params: OmniscapeParams, *, offset=(0, 0),
                  shape: tuple[int, int] | None = None, correction: np.ndarray | None = None,
                  progress: Callable | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Cumulative current (and flow potential) of `targets` (global 0-based row, col, amps) over the cut
    `inputs` whose top-left cell is global `offset`; `shape` is the whole grid's (for Omniscape's edge
    rules). The cut must hold every target's window. Targets are summed in the order given."""
    r_off, c_off = offset
    h_cut, w_cut = inputs.conductance.shape
    nrows, ncols = shape if shape is not None else (h_cut, w_cut)
    r, R, br = params.radius, params.reach, params.block_radius
    four = params.connect_four_neighbors_only
    cum = np.zeros((h_cut, w_cut))
    fp = np.zeros((h_cut, w_cut)) if params.compute_flow_potential else None
    unit = UnitWindowSolver(four) if fp is not None else None
    for k, (gi, gj, amps) in enumerate(targets):
        gi, gj = int(gi), int(gj)
        # window in global coordinates, clipped to the grid
        wr0, wr1 = max(gi - R, 0), min(gi + R, nrows - 1) + 1
        wc0, wc1 = max(gj - R, 0), min(gj + R, ncols - 1) + 1
        if wr0 < r_off or wc0 < c_off or wr1 > r_off + h_cut or wc1 > c_off + w_cut:
            raise ValueError("tile cut does not hold the target's window")
        win = (slice(wr0 - r_off, wr1 - r_off), slice(wc0 - c_off, wc1 - c_off))
        h, w = wr1 - wr0, wc1 - wc0
        ti, tj = gi - wr0, gj - wc0
        cond = inputs.conductance[win].copy()
        cond[~_circle(h, w, ti, tj, R)] = np.nan
        src = np.where(_circle(h, w, ti, tj, r), inputs.source[win], 0.0)
        # Omniscape zeroes the block at the window's centre position R (not at the target when the
        # window is clipped by the top/left edge), bounded by the grid's size
        src[R - br:min(R + br, nrows - 1) + 1, R - br:min(R + br, ncols - 1) + 1] = 0.0
        pos = src > 0
        total = src[pos].sum()
        if total > 0:
            src[pos] = (src[pos] * amps) / total
        if params.conditional:
            block = (slice(gi - br - r_off, min(gi + br, nrows - 1) + 1 - r_off),
                     slice(gj - br - c_off, min(gj + br, ncols - 1) + 1 - c_off))
            _condition_filter(src, inputs, params, 1, win, block)
            if params.n_conditions == 2:
                _condition_filter(src, inputs, params, 2, win, block)
        curr = window_current(cond, src, ti, tj, four, params.solver)
        flow = unit.current(src, ti, tj) if unit is not None else None
        if correction is not None:
            S = correction.shape[0]
            lo_r, hi_r, lo_c, hi_c = 0, S, 0, S
            if gj + 1 > ncols - R:
                hi_c = w
            if gj < R:
                lo_c = hi_c - w
            if gi + 1 > nrows - R:
                hi_r = h
            if gi < R:
                lo_r = hi_r - h
            corr = correction[lo_r:hi_r, lo_c:hi_c]
            curr = curr * corr
            if flow is not None:
                flow = flow * corr
        cum[win] += curr
        if fp is not None:
            fp[win] += flow
        if progress is not None:
            progress(k + 1, len(targets))
    return cum, fp


# ----------------------------------------------------------------------------------------------------
# whole run
def finish(cum: np.ndarray, fp: np.ndarray | None, params: OmniscapeParams, nodata: np.ndarray | None):
    """Normalized current (NaN -> 0, as Omniscape) and nodata masking (-9999 where resistance is nodata)."""
    norm = None
    if params.calc_normalized_current:
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = cum / fp
        norm[np.isnan(norm)] = 0.0
    if params.mask_nodata and nodata is not None:
        cum = cum.copy()
        cum[nodata] = -9999.0
        if norm is not None:
            norm[nodata] = -9999.0
        if fp is not None and params.calc_flow_potential:
            fp = fp.copy()
            fp[nodata] = -9999.0
    dtype = np.float32 if params.precision == "single" else np.float64
    cast = lambda a: None if a is None else a.astype(dtype)  # noqa: E731
    return cast(cum), cast(fp if params.calc_flow_potential else None), cast(norm)


def omniscape(resistance: np.ndarray, params: OmniscapeParams, *, source: np.ndarray | None = None,
              reclass_table: np.ndarray | None = None, condition1=None, condition1_future=None,
              condition2=None, condition2_future=None, scheduler: str | None = None, workers: int | None = None,
              tile_size: int | None = None, checkpoint_dir=None, keep_checkpoints: bool = False, progress=None,
              client=None, processes: bool = True) -> OmniscapeResult:
    """Omniscape on arrays (NaN = nodata): prepares inputs, then runs the tiles on dask.distributed
    (a LocalCluster of `workers` processes unless `scheduler` names a running scheduler; workers=0 runs
    the same tiles in this process; processes=False makes the LocalCluster's workers threads). Completed
    tiles are kept under checkpoint_dir so a restarted run skips them. Returns the maps as Omniscape
    returns them (masked with -9999 where resistance is nodata when mask_nodata)."""
    from econet.connectivity.tiling import run_tiles

    inputs = prepare_inputs(resistance, params, source=source, reclass_table=reclass_table,
                            condition1=condition1, condition1_future=condition1_future,
                            condition2=condition2, condition2_future=condition2_future)
    run = run_tiles(inputs, params, scheduler=scheduler, workers=workers, tile_size=tile_size,
                    checkpoint_dir=checkpoint_dir, keep_checkpoints=keep_checkpoints, progress=progress,
                    client=client, processes=processes)
    cum, fp, norm = finish(run.cum, run.fp, params, inputs.nodata)
    return OmniscapeResult(cum, fp, norm, run.n_targets, run.n_tiles, run.skipped, run.stats)
