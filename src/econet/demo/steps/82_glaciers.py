"""Demo step 82: glacier mass-balance trends and water loss from the real WGMS series shipped with econet
(31 glaciers of the Tianshan, Pamir-Alay and Altai; WGMS FoG via OGGM, doi:10.5904/wgms-fog-2021-05)."""

from __future__ import annotations

ORDER = 82
TITLE = "Glaciers: mass-balance trends and water equivalent (real WGMS series)"


def hub_trends(ctx, min_years: int = 10):
    """Import the shipped WGMS series into the hub (a public dataset) and compute the trends on the public
    (anonymous) view."""
    from econet.analytics import glaciers as gl
    from econet.hub import monitoring, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path

    import_path(ctx.db_url, gl.shipped_wgms(), dataset="wgms-central-asia", org="WGMS (via OGGM)", fmt="wgms",
                dataset_meta={"license": "WGMS terms of use (open, cite doi:10.5904/wgms-fog-2021-05)",
                              "citation": "WGMS (2021): Fluctuations of Glaciers Database. doi:10.5904/wgms-fog-2021-05"})
    engine = open_hub(ctx.db_url)
    with engine.begin() as conn:
        sharing.set_sharing(conn, "wgms-central-asia", visibility="public")
    with engine.begin() as conn:
        return monitoring.glacier_trends_on_view(conn, sharing.View.anonymous(), min_years=min_years)


def run(ctx) -> dict:
    import pandas as pd

    from econet.analytics import glaciers as gl

    summary, mb, rep = hub_trends(ctx)
    cum = gl.cumulative_mass_balance(mb)
    basins = gl.basin_mass_balance(mb)          # grouped by country: no basin table ships with econet
    with open(ctx.output("glacier_mass_balance.csv"), "w", newline="", encoding="utf-8") as fh:
        cum.to_csv(fh, index=False)
    with open(ctx.output("glacier_trends.csv"), "w", newline="", encoding="utf-8") as fh:
        summary.to_csv(fh, index=False)
    with open(ctx.output("glacier_basin_mass_balance.csv"), "w", newline="", encoding="utf-8") as fh:
        basins.to_csv(fh, index=False)
    gl.plot_cumulative(cum, ctx.output("glacier_cumulative_mass_balance.png"))
    gl.plot_trends(mb, summary, ctx.output("glacier_mass_balance_trends.png"))

    # volume and its change by area scaling, from the first and last area WGMS reports for each glacier
    areas = mb.dropna(subset=["area_km2"])
    first_last = pd.concat([areas.groupby("wgms_id").head(1), areas.groupby("wgms_id").tail(1)])
    first_last = first_last[first_last.groupby("wgms_id")["year"].transform("nunique") > 1]
    per_glacier = first_last.rename(columns={"wgms_id": "glacier_id"}).assign(basin=lambda d: d["glacier_id"])
    change = gl.basin_volume_change(per_glacier[["basin", "glacier_id", "year", "area_km2"]])
    last = change.groupby("basin").tail(1).rename(columns={"basin": "wgms_id"})
    names = first_last.drop_duplicates("wgms_id").set_index("wgms_id")[["name", "country"]]
    rows = last.join(names, on="wgms_id")[["wgms_id", "name", "country", "year", "area_km2", "v_km3", "dv_km3",
                                            "dv_min_km3", "dv_max_km3", "dwe_km3", "dwe_unc_km3"]]
    vol = pd.DataFrame(rows).rename(columns={"year": "to_year", "area_km2": "area_to_km2"})
    with open(ctx.output("glacier_volume_change.csv"), "w", newline="", encoding="utf-8") as fh:
        vol.to_csv(fh, index=False)

    s = summary.set_index("wgms_id")
    tuyuksu = s.loc[817]
    urumqi = s.loc[1511]
    return {
        "view": f"read from the hub on the {rep['view']['kind']} (public) view: {rep['records']} WGMS records",
        "glaciers": int(len(summary)),
        "tuyuksu_cumulative_mwe": f"{tuyuksu['cumulative_mwe']:.2f} m w.e. over {int(tuyuksu['n_years'])} years "
                                  f"({int(tuyuksu['first_year'])}-{int(tuyuksu['last_year'])})",
        "urumqi_no1_e_trend": f"{urumqi['ts_slope_mwe_per_yr'] * 10:+.2f} m w.e. per decade (Theil-Sen, 95% CI "
                              f"{urumqi['ts_ci_low_mwe_per_yr'] * 10:+.2f} to {urumqi['ts_ci_high_mwe_per_yr'] * 10:+.2f})",
        "glaciers_losing_mass": int((summary["cumulative_mwe"] < 0).sum()),
        "water_lost_km3_we": round(float(-vol["dwe_km3"].sum()), 3) if len(vol) else None,
    }
