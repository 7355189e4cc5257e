"""ProtConn: the protected and connected share of a region (Saura et al. 2017, 2018), with its fractions.

Per region and dispersal distance. PAs are intersected with the region, dissolved and split into
contiguous pieces (touching or overlapping PAs are one node); PAs outside the region within the
transboundary buffer join as stepping stones with a_i = 0. Areas are in hectares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import shapely

from econet.connectivity import graph as G
from econet.errors import EconetError
from econet.progress import no_progress

HA = 10_000.0
COLUMNS = ["region", "distance", "distance_m", "probability", "EC", "PC", "LA", "protected_area",
           "Prot", "Unprot", "ProtConn", "ProtUnconn", "RelConn",
           "ProtConn_Prot", "ProtConn_Trans", "ProtConn_Unprot", "ProtConn_Within", "ProtConn_Contig",
           "ProtConn_Design", "ProtConn_Bound",
           "ProtConn_Within_land", "ProtConn_Contig_land", "ProtConn_Unprot_land", "ProtConn_Trans_land",
           "nodes", "transboundary_nodes", "error_bound", "crs", "note"]


@dataclass
class RegionNodes:
    """The ProtConn graph nodes of one region."""

    geoms: np.ndarray          # node polygons
    area: np.ndarray           # a_i (ha); 0 for transboundary stepping stones
    inside: np.ndarray         # True for nodes in the region
    pieces: np.ndarray         # region parts (polygons)
    la: float                  # region area (ha)
    parts_area: np.ndarray     # b_k: undissolved PA parts in the region (ha), for ProtConn[Within]
    protected: float           # protected surface (ha) = sum a_i


def region_nodes(pa_geoms: np.ndarray, tree: shapely.STRtree, region: shapely.Geometry, *,
                 transboundary: float | None, area_attribute: str = "intersected") -> RegionNodes:
    """Build the nodes of one region (Saura et al. 2017 §2; Makurhini's node construction)."""
    region = shapely.make_valid(region)
    la = shapely.area(region) / HA
    pieces = np.asarray(shapely.get_parts(region), dtype=object)
    pieces = pieces[shapely.area(pieces) > 0] if len(pieces) else pieces
    tb = transboundary or 0.0
    near = tree.query(region, predicate="dwithin", distance=tb) if tb > 0 else tree.query(region, predicate="intersects")
    cand = pa_geoms[np.sort(near)]
    cand = cand[shapely.area(cand) > 0]
    empty = RegionNodes(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, dtype=bool), pieces, la,
                        np.zeros(0), 0.0)
    if len(cand) == 0:
        return empty
    prepared = region
    shapely.prepare(prepared)
    touches = shapely.intersects(prepared, cand)
    # b_k: individual PA parts inside the region
    parts = shapely.get_parts(cand[touches])
    if area_attribute == "intersected":
        b = shapely.area(shapely.intersection(parts, region)) / HA
    else:
        b = shapely.area(parts) / HA * shapely.intersects(parts, region)
    b = b[b > 0]
    dissolved = np.asarray(shapely.get_parts(shapely.union_all(cand)), dtype=object)
    geoms, area, inside = [], [], []
    for piece in dissolved:
        if shapely.intersects(prepared, piece):
            if area_attribute == "intersected":
                inner = shapely.get_parts(shapely.intersection(piece, region))
                inner = [g for g in inner if g.geom_type == "Polygon" and g.area > 0]
                geoms += inner
                area += [g.area / HA for g in inner]
                inside += [True] * len(inner)
                if tb > 0:
                    outer = [g for g in shapely.get_parts(shapely.difference(piece, region))
                             if g.geom_type == "Polygon" and g.area > 0]
                    geoms += outer
                    area += [0.0] * len(outer)
                    inside += [False] * len(outer)
            else:
                geoms.append(piece)
                area.append(piece.area / HA)
                inside.append(True)
        elif tb > 0:
            geoms.append(piece)
            area.append(0.0)
            inside.append(False)
    area = np.asarray(area, dtype=float)
    return RegionNodes(np.asarray(geoms, dtype=object), area, np.asarray(inside, dtype=bool), pieces, la,
                       b, float(area.sum()))


def _graph(geoms, distance_type, resistance, max_distance=None, progress=no_progress):
    oracle = G.oracle_for(geoms, distance_type, resistance)
    return oracle, G.build_graph(oracle, max_distance=max_distance, progress=progress)


def _pcnums(nodes: RegionNodes, ks: Sequence[float], distance_type: str, resistance, min_probability,
            subset: np.ndarray | None = None, progress: Callable = no_progress) -> tuple[np.ndarray, np.ndarray]:
    """PCnum for each k on the nodes (optionally a subset), exact or with the min-probability cut-off."""
    geoms, a = nodes.geoms, nodes.area
    if subset is not None:
        geoms, a = geoms[subset], a[subset]
    if len(a) == 0 or not (a > 0).any():
        return np.zeros(len(ks)), np.zeros(len(ks))
    if min_probability is None:
        _, graph = _graph(geoms, distance_type, resistance, progress=progress)
        return G.pc_numerators(graph, a, ks, progress=progress), np.zeros(len(ks))
    nums, bounds = [], []
    oracle = G.oracle_for(geoms, distance_type, resistance)
    for k in ks:
        graph = G.build_graph(oracle, max_distance=-math.log(min_probability) / k)
        nums.append(G.pc_numerators(graph, a, [k])[0])
        bounds.append(G.dropped_pairs_bound(graph, a, k))
    return np.asarray(nums), np.asarray(bounds)


def _design_pcnums(nodes: RegionNodes, ks: Sequence[float], distance_type: str, resistance,
                   min_probability) -> np.ndarray:
    """PCnum when every region part joins the PAs it holds at distance 0 (Saura et al. 2018 ProtConn[Bound]).

    With one region part all in-region PAs form one cluster: PCnum = (sum a_i)^2.
    """
    a = nodes.area
    if len(nodes.pieces) <= 1 or len(a) == 0:
        return np.full(len(ks), a.sum() ** 2)
    n, m = len(a), len(nodes.pieces)
    pieces = nodes.pieces
    # node <-> piece links: 0 where they intersect; piece <-> piece and piece <-> outside node: edge distance
    oracle = G.oracle_for(nodes.geoms, distance_type, resistance)
    if isinstance(oracle, G.CentroidOracle):
        i, j, d = oracle.within(np.inf) if n <= 4000 else oracle.within(-math.log(1e-12) / min(ks))
        base = G.ExactGraph(n, i, j, d)
    else:
        base = G.build_graph(oracle) if min_probability is None else \
            G.build_graph(oracle, max_distance=-math.log(min_probability) / min(ks))
    pn = shapely.distance(pieces[:, None], nodes.geoms[None, :])
    pp = shapely.distance(pieces[:, None], pieces[None, :])
    li, lj = np.nonzero(np.isfinite(pn))
    ei = [base.i, n + li]
    ej = [base.j, lj]
    ed = [base.d, pn[li, lj]]
    qi, qj = np.nonzero(np.triu(np.ones((m, m), dtype=bool), 1))
    ei.append(n + qi)
    ej.append(n + qj)
    ed.append(pp[qi, qj])
    graph = G.ExactGraph(n, np.concatenate(ei), np.concatenate(ej), np.concatenate(ed), extra=m)
    return G.pc_numerators(graph, a, ks)


def protconn_region(nodes: RegionNodes, distances: Sequence[float], probability: float | None = 0.5, *,
                    distance_type: str = "edge", resistance=None, min_probability: float | None = None,
                    region_id=None, crs_label: str = "", progress: Callable = no_progress) -> list[dict]:
    """ProtConn and its fractions for one region at each distance (rows as in COLUMNS)."""
    ks = [G.decay_constant(d, probability) for d in distances]
    la = nodes.la
    prot_area = nodes.protected
    rows = []
    base = {"region": region_id, "probability": probability, "LA": la, "protected_area": prot_area,
            "nodes": int(nodes.inside.sum()), "transboundary_nodes": int((~nodes.inside).sum()), "crs": crs_label}
    if la <= 0:
        for d in distances:
            rows.append(_row(base, d, note="region has no area"))
        return rows
    if prot_area <= 0:
        for d in distances:
            r = _row(base, d, note="no protected area in the region")
            r.update(EC=0.0, PC=0.0, Prot=0.0, Unprot=100.0, ProtConn=0.0, ProtUnconn=0.0, ProtConn_Bound=0.0,
                     ProtConn_Design=0.0, error_bound=0.0)
            rows.append(r)
        return rows
    num, err = _pcnums(nodes, ks, distance_type, resistance, min_probability, progress=progress)
    has_trans = (~nodes.inside).any()
    num_nt = _pcnums(nodes, ks, distance_type, resistance, min_probability, subset=nodes.inside,
                     progress=progress)[0] if has_trans else num
    num_design = _design_pcnums(nodes, ks, distance_type, resistance, min_probability)
    a_in = nodes.area[nodes.inside]
    b = nodes.parts_area
    for t, d in enumerate(distances):
        ec = math.sqrt(num[t])
        prot = 100.0 * prot_area / la
        pconn = 100.0 * ec / la
        r = _row(base, d)
        r.update(EC=ec, PC=num[t] / la ** 2, Prot=prot, Unprot=100.0 - prot, ProtConn=pconn,
                 ProtUnconn=prot - pconn, RelConn=100.0 * pconn / prot, error_bound=float(err[t]))
        f_prot = 100.0 * (100.0 * math.sqrt(float(np.sum(a_in ** 2))) / la) / pconn
        f_trans = 100.0 * (100.0 * (ec - math.sqrt(num_nt[t])) / la) / pconn
        f_unprot = max(0.0, 100.0 - f_prot - f_trans)
        w = (100.0 * math.sqrt(float(np.sum(b ** 2))) / la) * math.sqrt(prot_area / float(b.sum())) if b.sum() > 0 else 0.0
        f_within = min(100.0 * w / pconn, f_prot)
        f_contig = f_prot - f_within
        unconn_design = 100.0 * (math.sqrt(num_design[t]) - ec) / la
        r.update(ProtConn_Prot=f_prot, ProtConn_Trans=f_trans, ProtConn_Unprot=f_unprot,
                 ProtConn_Within=f_within, ProtConn_Contig=f_contig,
                 ProtConn_Design=unconn_design, ProtConn_Bound=prot - unconn_design,
                 ProtConn_Within_land=f_within * pconn / 100.0, ProtConn_Contig_land=f_contig * pconn / 100.0,
                 ProtConn_Unprot_land=f_unprot * pconn / 100.0, ProtConn_Trans_land=f_trans * pconn / 100.0)
        rows.append(r)
    return rows


def _row(base: dict, d: float, note: str = "") -> dict:
    r = {c: None for c in COLUMNS}
    r.update(base)
    r.update(distance=G.format_distance(d), distance_m=d, note=note)
    return r


def protconn(pas: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, region_id: str | None, distances: Sequence[float],
             probability: float | None = 0.5, *, distance_type: str = "edge", resistance=None,
             transboundary: float | None = 50_000.0, area_attribute: str = "intersected",
             min_probability: float | None = None, crs_label: str = "",
             progress: Callable = no_progress) -> list[dict]:
    """ProtConn for every region (rows grouped by region, then distance). Both layers in one projected CRS."""
    if area_attribute not in ("intersected", "pa"):
        raise EconetError(f"area attribute must be 'pa' or 'intersected', got '{area_attribute}'")
    if not distances:
        raise EconetError("give at least one dispersal distance")
    if pas.crs is not None and regions.crs is not None and pas.crs != regions.crs:
        regions = regions.to_crs(pas.crs)
    if region_id is not None and region_id not in regions.columns:
        raise EconetError(f"no field '{region_id}' in the regions layer", field=region_id)
    pa_geoms = np.asarray(pas.geometry.values, dtype=object)
    tree = shapely.STRtree(pa_geoms)
    keys = regions[region_id] if region_id else regions.index.to_series() + 1
    groups = {}
    for key, geom in zip(keys, regions.geometry.values):
        if geom is None or shapely.is_empty(geom):
            continue
        groups.setdefault(key, []).append(shapely.make_valid(geom))
    rows = []
    for t, (key, geoms) in enumerate(groups.items()):
        region = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
        nodes = region_nodes(pa_geoms, tree, region, transboundary=transboundary, area_attribute=area_attribute)
        label = f"region {_plain(key)} ({t + 1}/{len(groups)})"

        def step(done, total=None, description=None, _label=label):
            progress(done, total, f"{_label}: {description}" if description else _label)

        rows += protconn_region(nodes, distances, probability, distance_type=distance_type, resistance=resistance,
                                min_probability=min_probability, region_id=_plain(key), crs_label=crs_label,
                                progress=step)
        progress(t + 1, len(groups), f"regions done ({t + 1}/{len(groups)})")
    return rows


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
