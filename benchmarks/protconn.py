"""Benchmark: ProtConn at 5 dispersal distances for 1,000 to 10,000 synthetic PAs.

Synthetic PAs with realistic sizes and spacing: log-normal areas (median 1 km2, sigma 1.5, as in WDPA
terrestrial polygons), irregular outlines (16-24 vertices), clustered centres (Thomas process), density
kept constant as the number grows (a larger country). Saura's distances 1, 3.16, 10, 31.6, 100 km, p=0.5.
At 1,000 PAs the direct dense method (every pairwise edge distance, complete graph, all-pairs Dijkstra)
runs in the same process and the two EC values are compared. Run: .venv/bin/python benchmarks/protconn.py
"""

from __future__ import annotations

import math
import os
import platform
import resource
import sys
import time

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

DISTANCES = [1000.0, 3160.0, 10_000.0, 31_600.0, 100_000.0]
DENSITY = 10_000 / (600_000.0 ** 2)   # PAs per m2: 10,000 PAs in a 600 x 600 km country


def synthetic(n: int, seed: int = 42):
    """n irregular PA polygons and the square region holding them."""
    rng = np.random.default_rng(seed)
    side = math.sqrt(n / DENSITY)
    parents = rng.uniform(0, side, (max(1, n // 25), 2))
    centres = parents[rng.integers(0, len(parents), n)] + rng.normal(0, side / 40, (n, 2))
    centres = np.clip(centres, 0, side)
    area = np.exp(rng.normal(math.log(1e6), 1.5, n))                    # m2, median 1 km2
    geoms = []
    for (x, y), a in zip(centres, area):
        m = int(rng.integers(16, 25))
        t = np.sort(rng.uniform(0, 2 * math.pi, m))
        r = math.sqrt(a / math.pi) * rng.uniform(0.6, 1.4, m)
        geoms.append(shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)]).buffer(0))
    pas = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=geoms, crs="EPSG:3035")
    region = gpd.GeoDataFrame({"name": ["country"]}, geometry=[shapely.box(0, 0, side, side)], crs="EPSG:3035")
    return pas, region


def dense_ec(pas, region, distances):
    """The direct method: ProtConn nodes as econet builds them, then every pair's distance, dense Dijkstra."""
    from econet.connectivity.graph import decay_constant
    from econet.connectivity.protconn import region_nodes
    geoms = np.asarray(pas.geometry.values, dtype=object)
    nodes = region_nodes(geoms, shapely.STRtree(geoms), region.geometry.iloc[0], transboundary=0)
    g, a = nodes.geoms, nodes.area
    n = len(g)
    D = shapely.distance(g[:, None], g[None, :])
    i, j = np.nonzero(np.triu(np.ones((n, n), dtype=bool), 1))
    G = dijkstra(sp.csr_matrix((D[i, j], (i, j)), shape=(n, n)), directed=False)
    return [math.sqrt(float(np.sum(a[:, None] * a[None, :] * np.exp(-decay_constant(d, 0.5) * G))))
            for d in distances]


def econet_ec(pas, region, distances):
    from econet.connectivity.protconn import protconn
    rows = protconn(pas, region, "name", distances, 0.5, distance_type="edge", transboundary=0)
    return [r["EC"] for r in rows], rows


def main(sizes=(1000, 2000, 5000, 10_000)):
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")
    for n in sizes:
        pas, region = synthetic(n)
        t = time.perf_counter()
        ec, rows = econet_ec(pas, region, DISTANCES)
        te = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        line = (f"n={n:6d} econet {te:7.1f} s  peak RSS {peak:6.0f} MB  "
                "ProtConn % = " + ", ".join(f"{r['ProtConn']:.4f}" for r in rows))
        if n <= 1000:
            t = time.perf_counter()
            ecd = dense_ec(pas, region, DISTANCES)
            td = time.perf_counter() - t
            diff = max(abs(x / y - 1) for x, y in zip(ec, ecd))
            line += f"\n          dense  {td:7.1f} s  max relative EC difference {diff:.1e}"
        print(line, flush=True)


if __name__ == "__main__":
    main(tuple(int(x) for x in sys.argv[1:]) or (1000, 2000, 5000, 10_000))
