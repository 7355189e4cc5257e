"""Demo step 20: circuit connectivity (pairwise, Circuitscape semantics) between the PA footprints."""

from __future__ import annotations

ORDER = 20
TITLE = "Circuit connectivity between protected areas"
SOLVER = "splu"


def pair_table(pas, ids, resistances):
    """One row per PA pair (i < j): names, countries, transboundary flag, effective resistance (-1 = no path)."""
    import pandas as pd
    by_id = pas.set_index("focal_id")
    rows = []
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            i, j = int(ids[a]), int(ids[b])
            r = float(resistances[a, b])
            pa_i, pa_j = by_id.loc[i], by_id.loc[j]
            rows.append({
                "focal_id_1": i, "name_1": pa_i["name"], "iso3_1": pa_i["iso3"],
                "focal_id_2": j, "name_2": pa_j["name"], "iso3_2": pa_j["iso3"],
                "transboundary": "yes" if pa_i["iso3"] != pa_j["iso3"] else "no",
                "effective_resistance": r if r >= 0 else -1.0,
                "connected": "yes" if r >= 0 else "no",
            })
    return pd.DataFrame(rows)


def draw_current_map(region, current, path, *, title=None):
    """The cumulative current map with borders, water, PAs, legend, scale bar, north arrow and credits."""
    import numpy as np
    from matplotlib.colors import LogNorm

    from econet.demo import maps

    fig, ax = maps.new_map(region.resistance.bounds)
    maps.draw_countries(ax, region.countries, labels=False)
    pos = current.data[np.isfinite(current.data) & (current.data > 0)]
    vmin, vmax = (np.percentile(pos, 2), pos.max()) if pos.size else (1e-6, 1.0)
    im = maps.draw_raster(ax, current.with_data(np.where(current.data > 0, current.data, np.nan)),
                          cmap="inferno", norm=LogNorm(vmin=max(vmin, vmax * 1e-6), vmax=vmax))
    maps.draw_water(ax, region.rivers, region.lakes)
    maps.draw_borders(ax, region.borders)
    maps.draw_pas(ax, region.pas)
    maps.draw_country_labels(ax, region.countries)
    maps.finish_map(fig, ax,
                    title=title or "Connectivity between protected areas across the China-Russia border",
                    subtitle="Where movement concentrates: cumulative current between every pair of protected "
                             "areas (circuit theory, 8 neighbours); Ussuri / Lake Khanka / Tumen border region "
                             "of China and Russia",
                    colorbar=(im, "cumulative current (A, log scale)"))
    return maps.save_png(fig, path)


def run(ctx) -> dict:
    import time

    import numpy as np

    from econet.connectivity.circuit import pairwise
    from econet.geo.raster import write_raster

    from econet.demo.region import focal_points

    region = ctx.region()
    t0 = time.perf_counter()
    # Each PA footprint is a short-circuit region (Circuitscape's polygon file) holding one focal point, so
    # one graph serves every pair: n - 1 solves in all, where focal regions would need a new graph per pair.
    # A direct factorization pays off for this grid size and number of right-hand sides.
    res = pairwise(region.resistance.data, focal_points(region), polygons=region.focal, is_resistance=True,
                   four_neighbors=False, avg_resistances=True, cumulative_map=True, solver=SOLVER,
                   progress=ctx.progress)
    seconds = time.perf_counter() - t0
    current = region.resistance.with_data(np.where(np.isnan(region.resistance.data), np.nan,
                                                   res.cumulative_current))
    ctx.results["circuit"] = res
    out = ctx.output
    write_raster(out("current.tif", "cumulative current between all PA pairs (GeoTIFF)"), current,
                 dtype="float32")
    pairs = pair_table(region.pas, res.ids, res.resistances)
    with open(out("pa_resistances.csv", "effective resistance of every PA pair, transboundary flagged"), "w",
              newline="", encoding="utf-8") as fh:
        pairs.to_csv(fh, index=False, float_format="%.6g")
    draw_current_map(region, current, out("connectivity_map.png", "map: current, borders, rivers, lakes, PAs"))

    connected = pairs[pairs["connected"] == "yes"]
    tb = connected[connected["transboundary"] == "yes"].sort_values("effective_resistance")
    best = tb.iloc[0] if len(tb) else None
    return {
        "focal_regions": int(len(res.ids)),
        "pairs": int(len(pairs)),
        "transboundary_pairs": int((pairs["transboundary"] == "yes").sum()),
        "disconnected_pairs": int((pairs["connected"] == "no").sum()),
        "linear_solves": int(res.n_solves),
        "solve_seconds": round(seconds, 2),
        "best_connected_transboundary_pair": (
            f"{best['name_1']} ({best['iso3_1']}) - {best['name_2']} ({best['iso3_2']}): "
            f"R = {best['effective_resistance']:.4g}" if best is not None else None),
    }
