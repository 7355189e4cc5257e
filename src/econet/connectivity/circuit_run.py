"""Run a Circuitscape .ini: read its inputs, compute with econet.connectivity.circuit, and write the files
Circuitscape writes, all together or not at all (econet.atomic.OutputSet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from econet.atomic import OutputSet
from econet.connectivity import circuit as C
from econet.connectivity import circuit_io as io
from econet.connectivity.circuit_graph import Graph
from econet.connectivity.circuitscape_ini import CircuitscapeConfig, read_ini
from econet.errors import EconetError
from econet.progress import no_progress


@dataclass
class RunSummary:
    scenario: str
    outputs: list = field(default_factory=list)
    n_solves: int = 0
    n_focal: int = 0
    resistances: np.ndarray | None = None


def run_ini(path: str | Path, *, workdir: str | Path | None = None, solver: str | None = None,
            progress=None) -> RunSummary:
    """Run the Circuitscape job described by the .ini at `path`; returns what was written."""
    cfg = read_ini(path, workdir)
    progress = progress or no_progress
    chosen = solver or _solver_of(cfg)
    if cfg.is_network:
        files, summary = (_network_pairwise if cfg.scenario == "pairwise" else _network_advanced)(cfg, chosen,
                                                                                                 progress)
    elif cfg.scenario == "pairwise":
        files, summary = _raster_pairwise(cfg, chosen, progress)
    elif cfg.scenario == "advanced":
        files, summary = _raster_advanced(cfg, chosen, progress)
    else:
        files, summary = _raster_one_all(cfg, chosen, progress)
    prefix = cfg.output_prefix
    files[cfg.file("output_file", must_exist=False)] = ("config", _config_echo(cfg))
    with OutputSet(prefix.parent) as out:
        for target, (kind, payload) in files.items():
            tmp = out.path(target)
            _write(kind, payload, tmp)
            summary.outputs.append(str(target))
    return summary


def _solver_of(cfg: CircuitscapeConfig) -> str:
    s = cfg.text("solver").lower()
    if s in ("cg+amg", "amg"):
        return "cg+amg"
    if s in ("cholmod", "pardiso", "accelerate"):
        return "cholmod"   # direct factorization (SuperLU when scikit-sparse is not installed)
    return s


def _write(kind, payload, tmp: Path) -> None:
    if kind == "grid":
        values, meta = payload
        io.write_grid_file(tmp, values, meta)
    elif kind == "rows":
        io.write_rows(tmp, payload)
    elif kind == "tabrows":
        io.write_rows(tmp, payload, sep="\t")
    elif kind == "config":
        tmp.write_text(payload)


def _config_echo(cfg: CircuitscapeConfig) -> str:
    lines = ["[Circuitscape Mode]"] + [f"{k} = {v}" for k, v in sorted(cfg.raw.items())]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------
# raster inputs
@dataclass
class RasterInputs:
    conductance: np.ndarray      # NaN = no node
    meta: io.GridMeta
    polygons: np.ndarray | None


def _habitat(cfg: CircuitscapeConfig) -> RasterInputs:
    hpath = cfg.file("habitat_file")
    data, meta = io.read_grid(hpath)
    try:
        g = C.to_conductance(data, cfg.flag("habitat_map_is_resistances"), name="habitat grid")
    except EconetError as exc:
        raise EconetError(exc.message, path=hpath) from None
    if cfg.flag("use_mask"):
        mpath = cfg.file("mask_file")
        mask = io.read_matching_grid(mpath, meta, "mask grid")
        g = np.where(np.nan_to_num(mask, nan=0.0) > 0, g, np.nan)
        if not np.isfinite(g).any() or np.nansum(g) == 0:
            raise EconetError("the mask removes every habitat cell", path=mpath)
    if not (np.nan_to_num(g) > 0).any():
        raise EconetError("habitat grid has no cell with data", path=hpath)
    poly = None
    if cfg.flag("use_polygons"):
        ppath = cfg.file("polygon_file")
        p = io.read_matching_grid(ppath, meta, "short-circuit region grid")
        poly = np.where(np.isfinite(p), p, 0).astype(np.int64)
    return RasterInputs(g, meta, poly)


def _focal(cfg: CircuitscapeConfig, inp: RasterInputs):
    ppath = cfg.file("point_file")
    rows, cols, ids = io.read_points(ppath, inp.meta)
    if ids.size == 0:
        raise EconetError("no focal points found (ids must be positive)", path=ppath)
    has_node = np.isfinite(inp.conductance) & (np.nan_to_num(inp.conductance) > 0)
    if inp.polygons is not None:
        has_node |= inp.polygons != 0
    if not has_node[rows, cols].any():
        raise EconetError("every focal point lies on nodata cells of the habitat grid", path=ppath)
    if np.unique(ids).size < 2:
        raise EconetError("fewer than two distinct focal points: nothing to connect", path=ppath)
    return rows, cols, ids


def _included(cfg: CircuitscapeConfig, focal):
    """Prune focal ids absent from the included-pairs file; return (focal, include matrix or None)."""
    if not cfg.flag("use_included_pairs"):
        return focal, None
    mode, ids, mat = io.read_included_pairs(cfg.file("included_pairs_file"))
    rows, cols, fid = focal
    keep = np.isin(fid, ids)
    focal = (rows[keep], cols[keep], fid[keep])
    fids = np.unique(fid[keep])
    idx = np.searchsorted(ids, fids)
    sub = mat[np.ix_(idx, idx)]
    if mode == "include":
        inc = (sub == 1) | (sub.T == 1)
    else:
        inc = ~((sub == 1) & (sub.T == 1))
    return focal, inc


def _process(cmap: np.ndarray, g: np.ndarray, meta: io.GridMeta, log: bool, null_to_nodata: bool) -> np.ndarray:
    """Circuitscape's `process_grid!`: optional log10, then nodata where the habitat has no conductance."""
    out = cmap.copy()
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(out > 0, np.log10(np.where(out > 0, out, 1.0)), meta.nodata)
    if null_to_nodata:
        out[~(np.nan_to_num(g) > 0)] = meta.nodata
    return out


# ----------------------------------------------------------------------------------------------------
def _raster_pairwise(cfg, solver, progress):
    inp = _habitat(cfg)
    focal = _focal(cfg, inp)
    focal, include = _included(cfg, focal)
    write_cur = cfg.flag("write_cur_maps")
    cum_only = cfg.flag("write_cum_cur_map_only")
    write_volt = cfg.flag("write_volt_maps")
    write_max = cfg.flag("write_max_cur_maps")
    log = cfg.flag("log_transform_maps")
    null_c = cfg.flag("set_null_currents_to_nodata")
    null_v = cfg.flag("set_null_voltages_to_nodata")
    currents_on = write_cur or cum_only
    pair_maps = write_volt or (currents_on and (not cum_only or log or null_c or write_max))
    res = C.pairwise(inp.conductance, focal, is_resistance=False,
                     four_neighbors=cfg.flag("connect_four_neighbors_only"),
                     avg_resistances=cfg.flag("connect_using_avg_resistances"), polygons=inp.polygons,
                     cumulative_map=currents_on, pair_maps=pair_maps, include=include, solver=solver,
                     progress=progress)
    prefix = cfg.output_prefix
    meta = inp.meta
    ext = ".tif" if meta.is_tif else ".asc"
    files = {}
    ids = res.ids
    R = res.resistances
    files[Path(f"{prefix}_resistances.out")] = ("rows", [[0, *ids]] + [[i, *row] for i, row in zip(ids, R)])
    files[Path(f"{prefix}_resistances_3columns.out")] = (
        "rows", [[ids[a], ids[b], R[b, a]] for a in range(ids.size) for b in range(a + 1, ids.size)])
    g = inp.conductance
    if currents_on:
        if pair_maps and (log or null_c or write_max or not cum_only):
            cum = np.zeros(g.shape)
            mx = np.full(g.shape, -9999.0)
            for key, cmap in res.pair_currents.items():
                p = _process(cmap, g, meta, log, null_c)
                cum += p
                np.maximum(mx, p, out=mx)
                if not cum_only:
                    files[Path(f"{prefix}_curmap_{key[0]}_{key[1]}{ext}")] = ("grid", (p, meta))
            cum[cum < -9999] = -9999
        else:
            cum = np.nan_to_num(res.cumulative_current, nan=0.0)
            mx = None
        files[Path(f"{prefix}_cum_curmap{ext}")] = ("grid", (cum, meta))
        if write_max and mx is not None:
            files[Path(f"{prefix}_max_curmap{ext}")] = ("grid", (mx, meta))
    if write_volt:
        for key, vmap in res.pair_voltages.items():
            files[Path(f"{prefix}_voltmap_{key[0]}_{key[1]}{ext}")] = ("grid", (_process(vmap, g, meta, False,
                                                                                           null_v), meta))
    return files, RunSummary("pairwise", n_solves=res.n_solves, n_focal=ids.size, resistances=R)


def _raster_one_all(cfg, solver, progress):
    inp = _habitat(cfg)
    focal = _focal(cfg, inp)
    focal, include = _included(cfg, focal)
    strengths = None
    if cfg.flag("use_variable_source_strengths"):
        strengths = io.read_strengths(cfg.file("variable_source_file"))
    write_cur = cfg.flag("write_cur_maps")
    cum_only = cfg.flag("write_cum_cur_map_only")
    write_volt = cfg.flag("write_volt_maps")
    write_max = cfg.flag("write_max_cur_maps")
    to_all = cfg.scenario == "one-to-all"
    fn = C.one_to_all if to_all else C.all_to_one
    kw = dict(is_resistance=False, four_neighbors=cfg.flag("connect_four_neighbors_only"),
              avg_resistances=cfg.flag("connect_using_avg_resistances"), polygons=inp.polygons,
              include=include, cumulative_map=write_cur, max_map=write_cur and write_max,
              maps=write_cur or write_volt, solver=solver, progress=progress)
    if to_all:   # Circuitscape.jl applies strengths only in one-to-all (all-to-one sources are 1 A)
        kw["strengths"] = strengths
    res = fn(inp.conductance, focal, **kw)
    prefix = cfg.output_prefix
    meta = inp.meta
    ext = ".tif" if meta.is_tif else ".asc"
    files = {Path(f"{prefix}_resistances.out"): ("rows", [[i, r] for i, r in zip(res.ids, res.resistances)])}
    if write_cur:
        if not cum_only:
            for pid, cmap in res.currents.items():
                files[Path(f"{prefix}_curmap_{pid}{ext}")] = ("grid", (cmap, meta))
        files[Path(f"{prefix}_cum_curmap{ext}")] = ("grid", (res.cumulative_current, meta))
        if write_max:
            files[Path(f"{prefix}_max_curmap{ext}")] = ("grid", (res.max_current, meta))
    if write_volt:
        for pid, vmap in res.voltages.items():
            files[Path(f"{prefix}_voltmap_{pid}{ext}")] = ("grid", (vmap, meta))
    return files, RunSummary(cfg.scenario, n_solves=res.n_solves, n_focal=res.ids.size,
                             resistances=res.resistances)


def _raster_advanced(cfg, solver, progress):
    inp = _habitat(cfg)
    meta = inp.meta
    src = io.read_value_map(cfg.file("source_file"), meta, "source file")
    gnd = io.read_value_map(cfg.file("ground_file"), meta, "ground file")
    src = np.nan_to_num(src, nan=0.0)
    if not (src != 0).any():
        raise EconetError("no current sources in the source file", path=cfg.file("source_file"))
    if not np.isfinite(gnd).any():
        raise EconetError("no grounds in the ground file", path=cfg.file("ground_file"))
    progress(0, 1, "solving")
    res = C.advanced(inp.conductance, src, gnd, is_resistance=False,
                     grounds_are_resistances=cfg.flag("ground_file_is_resistances"),
                     direct_grounds=cfg.flag("use_direct_grounds"), unit_currents=cfg.flag("use_unit_currents"),
                     policy=cfg.text("remove_src_or_gnd"), four_neighbors=cfg.flag("connect_four_neighbors_only"),
                     avg_resistances=cfg.flag("connect_using_avg_resistances"), polygons=inp.polygons,
                     solver=solver)
    progress(1, 1, "solving")
    prefix = cfg.output_prefix
    ext = ".tif" if meta.is_tif else ".asc"
    files = {}
    g = inp.conductance
    if cfg.flag("write_volt_maps"):
        files[Path(f"{prefix}_voltmap{ext}")] = ("grid", (_process(res.voltages, g, meta, False,
                                                                   cfg.flag("set_null_voltages_to_nodata")), meta))
    if cfg.flag("write_cur_maps"):
        files[Path(f"{prefix}_curmap{ext}")] = ("grid", (_process(res.currents, g, meta,
                                                                  cfg.flag("log_transform_maps"),
                                                                  cfg.flag("set_null_currents_to_nodata")), meta))
    return files, RunSummary("advanced", n_solves=res.n_solves)


# ----------------------------------------------------------------------------------------------------
# networks: node ids in outputs are the ids of the input files
def _network_graph(cfg) -> tuple[Graph, np.ndarray]:
    gpath = cfg.file("habitat_file")
    tab = io.read_network(gpath)
    ids_in = tab[:, :2]
    if (ids_in < 0).any() or (ids_in != np.round(ids_in)).any():
        raise EconetError("node ids must be non-negative integers", path=gpath)
    vals = tab[:, 2]
    if (vals < 0).any() or not np.isfinite(vals).all():
        raise EconetError("edge values must be finite and non-negative", path=gpath)
    if cfg.flag("habitat_map_is_resistances"):
        if (vals == 0).any():
            raise EconetError("zero resistance on an edge is not supported", path=gpath)
        w = 1.0 / vals
    else:
        w = vals
    ids = np.unique(ids_in.astype(np.int64))
    u = np.searchsorted(ids, ids_in[:, 0].astype(np.int64))
    v = np.searchsorted(ids, ids_in[:, 1].astype(np.int64))
    keep = (u != v) & (w > 0)
    return Graph(n=ids.size, u=u[keep], v=v[keep], w=w[keep]), ids


def _network_pairwise(cfg, solver, progress):
    graph, ids = _network_graph(cfg)
    fpath = cfg.file("point_file")
    focal = io.read_node_list(fpath).astype(np.int64)
    pos = np.searchsorted(ids, focal)
    pos = np.clip(pos, 0, max(ids.size - 1, 0))
    pn = np.where((ids.size > 0) & (ids[pos] == focal), pos, -1)
    if (pn < 0).all():
        raise EconetError("no focal node appears in the graph", path=fpath)
    write_cur = cfg.flag("write_cur_maps")
    write_volt = cfg.flag("write_volt_maps")
    cum_only = cfg.flag("write_cum_cur_map_only")
    prefix = cfg.output_prefix
    files = {}

    def on_pair(ps: C.PairSolution):
        name = f"{focal[ps.i]}_{focal[ps.j]}"
        nodes = ps.nodes
        if write_volt:
            files[Path(f"{prefix}_voltages_{name}.txt")] = ("tabrows", list(zip(ids[nodes], ps.voltages)))
        if write_cur and not cum_only:
            files[Path(f"{prefix}_node_currents_{name}.txt")] = ("tabrows", list(zip(ids[nodes], ps.currents)))
            inside = np.isin(graph.u, nodes)
            vfull = np.zeros(graph.n)
            vfull[nodes] = ps.voltages
            eu, ev, ew = graph.u[inside], graph.v[inside], graph.w[inside]
            cur = ew * np.abs(vfull[eu] - vfull[ev])
            a, b = np.minimum(ids[eu], ids[ev]), np.maximum(ids[eu], ids[ev])
            files[Path(f"{prefix}_branch_currents_{name}.txt")] = ("tabrows", _branch_rows(a, b, cur))

    out = C.solve_pairs(graph, pn, cumulative=write_cur, on_pair=on_pair, pair_maps=True, solver=solver,
                        progress=progress)
    R = out.resistances
    files[Path(f"{prefix}_resistances.out")] = ("rows", [[0, *focal]] + [[i, *row] for i, row in zip(focal, R)])
    files[Path(f"{prefix}_resistances_3columns.out")] = (
        "rows", [[focal[a], focal[b], R[b, a]] for a in range(focal.size) for b in range(a + 1, focal.size)])
    if write_cur:
        used = np.zeros(graph.n, dtype=bool)
        used[pn[pn >= 0]] = True
        labels = graph.components()
        comp_used = np.isin(labels, labels[used])
        nodes = np.flatnonzero(comp_used)
        files[Path(f"{prefix}_node_currents_cum.txt")] = ("tabrows", list(zip(ids[nodes], out.cumulative[nodes])))
        inside = comp_used[graph.u]
        a = np.minimum(ids[graph.u], ids[graph.v])[inside]
        b = np.maximum(ids[graph.u], ids[graph.v])[inside]
        files[Path(f"{prefix}_branch_currents_cum.txt")] = ("tabrows",
                                                            _branch_rows(a, b, out.cumulative_edges[inside]))
    return files, RunSummary("pairwise", n_solves=out.n_solves, n_focal=focal.size, resistances=R)


def _branch_rows(a, b, cur):
    order = np.lexsort((a, b))
    return [(a[k], b[k], cur[k]) for k in order]


def _network_advanced(cfg, solver, progress):
    graph, ids = _network_graph(cfg)

    def node_values(key, what):
        p = cfg.file(key)
        tab = io.read_node_values(p, what)
        nid = tab[:, 0].astype(np.int64)
        pos = np.clip(np.searchsorted(ids, nid), 0, ids.size - 1)
        ok = ids[pos] == nid
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            raise EconetError(f"{what}: node {nid[k]} is not in the graph", path=p, row=k + 1)
        out = np.zeros(graph.n)
        out[pos] = tab[:, 1]
        return out, pos

    src, _ = node_values("source_file", "source list")
    graw, gpos = node_values("ground_file", "ground list")
    gnd = np.zeros(graph.n)
    if cfg.flag("ground_file_is_resistances"):
        with np.errstate(divide="ignore"):
            gnd[gpos] = 1.0 / graw[gpos]
    else:
        gnd[gpos] = graw[gpos]
    if cfg.flag("use_direct_grounds"):
        gnd = np.where(gnd != 0, np.inf, 0.0)
    if cfg.flag("use_unit_currents"):
        src = np.where(src != 0, 1.0, 0.0)
    src, gnd = C.resolve_conflicts(src, gnd, cfg.text("remove_src_or_gnd"))
    progress(0, 1, "solving")
    res = C.solve_advanced(graph, src, gnd, solver=solver)
    progress(1, 1, "solving")
    prefix = cfg.output_prefix
    files = {}
    if cfg.flag("write_volt_maps"):
        files[Path(f"{prefix}_voltages.txt")] = ("tabrows", list(zip(ids, res.voltages)))
    if cfg.flag("write_cur_maps"):
        files[Path(f"{prefix}_node_currents.txt")] = ("tabrows", list(zip(ids, res.currents)))
        cur = graph.w * np.abs(res.voltages[graph.u] - res.voltages[graph.v])
        a, b = np.minimum(ids[graph.u], ids[graph.v]), np.maximum(ids[graph.u], ids[graph.v])
        files[Path(f"{prefix}_branch_currents.txt")] = ("tabrows", _branch_rows(a, b, cur))
    return files, RunSummary("advanced", n_solves=res.n_solves)
