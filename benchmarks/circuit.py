"""Benchmark: pairwise circuit connectivity with a cumulative current map, econet (superposition: one
AMG-CG solve per focal point but the last) against the naive method (one AMG-CG solve per pair, hierarchy reused).

Random-resistance grids (uniform 1..100, 8 neighbours, average resistance), 10 random focal points.
Each size and method runs in its own subprocess so peak RSS (getrusage ru_maxrss) is measured fairly.
Usage: python benchmarks/circuit.py [--sizes 100000 1000000 4000000] [--naive-max 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def make_problem(cells: int, seed: int = 7):
    import numpy as np
    side = int(round(cells ** 0.5))
    rng = np.random.default_rng(seed)
    grid = rng.uniform(1.0, 100.0, size=(side, side))
    focal = np.zeros(grid.shape, dtype=np.int64)
    idx = rng.choice(grid.size, 10, replace=False)
    focal.flat[idx] = np.arange(1, 11)
    return grid, focal


def _times() -> tuple[float, float, float]:
    """Wall clock, user CPU and system CPU (page faults, zeroing fresh memory) of this process."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime, r.ru_stime


def _spent(t0: tuple[float, float, float]) -> dict:
    t1 = _times()
    return dict(wall=t1[0] - t0[0], user=t1[1] - t0[1], sys=t1[2] - t0[2], cpu=t1[1] - t0[1] + t1[2] - t0[2])


def run_econet(cells: int) -> dict:
    from econet.connectivity.circuit import pairwise
    grid, focal = make_problem(cells)
    t0 = _times()
    res = pairwise(grid, focal, cumulative_map=True, solver="cg+amg", tol=1e-6)
    return dict(**_spent(t0), solves=res.n_solves, r12=float(res.resistances[0, 1]),
                cum_sum=float(res.cumulative_current.sum()))


def run_naive(cells: int) -> dict:
    """One AMG-CG solve per pair, current map of each pair summed (the Circuitscape loop)."""
    import numpy as np
    from econet.connectivity.circuit import node_currents, to_conductance
    from econet.connectivity.circuit_graph import conductance_graph
    from econet.connectivity.circuit_solve import ComponentSolver
    grid, focal = make_problem(cells)
    t0 = _times()
    g = to_conductance(grid, True)
    graph, nodes = conductance_graph(g, avg_resistances=True, four_neighbors=False)
    L = graph.laplacian()
    solver = ComponentSolver(L, singular=True, solver="cg+amg", tol=1e-6)
    r, c = np.nonzero(focal)
    order = np.argsort(focal[r, c])
    pn = nodes[r[order], c[order]] - 1
    cum = np.zeros(graph.n)
    R = np.zeros((10, 10))
    for i in range(10):
        for j in range(i + 1, 10):
            b = np.zeros(graph.n)
            b[pn[i]], b[pn[j]] = -1.0, 1.0
            v = solver.solve(b)
            R[i, j] = v[pn[j]] - v[pn[i]]
            cum += node_currents(graph, v)
    return dict(**_spent(t0), solves=solver.n_solves, r12=float(R[0, 1]), cum_sum=float(cum.sum()))


def worker(method: str, cells: int) -> None:
    import os
    import resource
    load = os.getloadavg()[0]
    out = run_econet(cells) if method == "econet" else run_naive(cells)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["load"] = [load, os.getloadavg()[0]]
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    ap.add_argument("--naive-max", type=int, default=1_000_000)
    ap.add_argument("--worker", nargs=2)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker[0], int(a.worker[1]))
        return
    rows = []
    for cells in a.sizes:
        for method in ("econet", "naive"):
            if method == "naive" and cells > a.naive_max:
                continue
            p = subprocess.run([sys.executable, __file__, "--worker", method, str(cells)], capture_output=True,
                               text=True)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                continue
            d = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append((cells, method, d))
            print(f"{cells:>9,d} {method:<7} {d['wall']:8.1f} s {d['cpu']:8.1f} s CPU ({d['sys']:.1f} s system) {d['peak_mb']:8.0f} MB "
                  f"{d['solves']:4d} solves R(1,2)={d['r12']:.6g} load {d['load'][0]:.1f}-{d['load'][1]:.1f}",
                  flush=True)
    print("\n| cells | method | wall time (s) | CPU time (s) | of which system (s) | peak RSS (MB) | linear solves | R(1,2) | load avg |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for cells, method, d in rows:
        name = "econet (superposition)" if method == "econet" else "naive (1 solve per pair)"
        print(f"| {cells:,d} | {name} | {d['wall']:.1f} | {d['cpu']:.1f} | {d['sys']:.1f} | {d['peak_mb']:.0f} | {d['solves']} | "
              f"{d['r12']:.6g} | {d['load'][0]:.1f}-{d['load'][1]:.1f} |")
    econ = {cells: d for cells, method, d in rows if method == "econet"}
    sizes = sorted(econ)
    for a, b in zip(sizes, sizes[1:]):
        print(f"growth {a:,d} -> {b:,d} cells ({b / a:.0f}x): wall {econ[b]['wall'] / econ[a]['wall']:.2f}x, "
              f"CPU {econ[b]['cpu'] / econ[a]['cpu']:.2f}x, user CPU {econ[b]['user'] / econ[a]['user']:.2f}x")


if __name__ == "__main__":
    main()
