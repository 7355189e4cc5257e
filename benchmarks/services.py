"""Benchmark: carbon totals per zone (InVEST Carbon zonal sums), econet (each polygon rasterized on its own
window) against the obvious baseline (each polygon burnt into a full-size mask, then summed).

Random land cover (IGBP 0-16) on an equal-area grid of 1 km cells, random circular zones (PAs) of 5-40 km
radius, the shipped IGBP carbon table. Each method runs in its own subprocess so peak RSS is measured fairly.
Usage: python benchmarks/services.py [--side 2000] [--zones 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def make_problem(side: int, nz: int, seed: int = 3):
    import geopandas as gpd
    import numpy as np
    from affine import Affine
    from rasterio.crs import CRS
    from shapely.geometry import Point

    from econet.geo.raster import Raster

    rng = np.random.default_rng(seed)
    lc = rng.integers(0, 17, size=(side, side)).astype(float)
    r = Raster(data=lc, transform=Affine(1000, 0, 0, 0, -1000, side * 1000), crs=CRS.from_epsg(6933))
    xy = rng.uniform(0, side * 1000, size=(nz, 2))
    rad = rng.uniform(5000, 40000, size=nz)
    zones = gpd.GeoDataFrame({"zid": np.arange(nz)}, geometry=[Point(x, y).buffer(d) for (x, y), d in zip(xy, rad)],
                             crs=6933)
    return r, zones


def run(method: str, side: int, nz: int) -> dict:
    import numpy as np

    from econet.analytics import services as sv

    lc, zones = make_problem(side, nz)
    table = sv.load_carbon_table()
    res = sv.carbon_storage(lc, table)
    t = time.perf_counter()
    if method == "econet":
        tot = sv.carbon_by_zone(res, lc, zones, zone_id="zid")["total_mg"].to_numpy()
    else:
        from rasterio import features
        dens = np.nan_to_num(res.total_density) * res.cell_ha
        tot = np.empty(nz)
        for k, g in enumerate(zones.geometry):
            m = features.geometry_mask([g], out_shape=lc.shape, transform=lc.transform, invert=True)
            tot[k] = dens[m].sum()
    wall = time.perf_counter() - t
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "wall": wall, "rss_mb": rss, "sum": float(tot.sum())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=2000)
    ap.add_argument("--zones", type=int, default=200)
    ap.add_argument("--child", default=None)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run(a.child, a.side, a.zones)))
        return
    out = []
    for m in ("econet", "baseline"):
        p = subprocess.run([sys.executable, __file__, "--child", m, "--side", str(a.side), "--zones", str(a.zones)],
                           capture_output=True, text=True, check=True)
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
    for r in out:
        print(f"{r['method']:9s} cells {a.side * a.side:,} zones {a.zones}: {r['wall']:.2f} s, peak RSS "
              f"{r['rss_mb']:.0f} MB, sum {r['sum']:.6e} Mg C")
    print(f"speed-up {out[1]['wall'] / out[0]['wall']:.1f}x; same totals: "
          f"{abs(out[0]['sum'] - out[1]['sum']) <= 1e-9 * abs(out[1]['sum'])}")


if __name__ == "__main__":
    main()
