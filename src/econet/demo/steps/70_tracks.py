"""Demo step 70: SIMULATED leopard collars stored in the hub, and their border crossings on two views.

No real tracking data of the region are available offline. Six leopards walk correlated random walks around
range centres either side of the China-Russia border near Hunchun, in 15-minute steps (the truth); the
collars keep a fix every 3 hours, with a few duplicate fixes and GPS spikes, written as a Movebank CSV and
imported into the hub (`econet tracks import --db`), where cleaning flags them. Crossings are then computed
on the views of the owner (exact fixes) and of the named partner (the leopard is sensitive: fixes rounded to
0.1 degree), and compared with the true crossings of the simulated paths.
"""

from __future__ import annotations

ORDER = 70
TITLE = "Tracks in the hub: simulated leopard collars, crossings on the owner's and a partner's view"

DATASET = "lotl-collars-sim"


def run(ctx) -> dict:
    import numpy as np

    from econet.analytics import crossings as cx
    from econet.analytics import tracksim
    from econet.cli.crossings import write_outputs
    from econet.hub import sharing, tracking
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path

    owner_org = "Land of the Leopard NP (demo)"
    partner_org = "Hunchun Tiger-Leopard NR (demo)"
    centres = np.array([[131.05, 43.05], [131.25, 43.35], [131.15, 43.55], [130.95, 42.85], [131.30, 43.20],
                        [130.75, 42.75]])
    dense = tracksim.simulate_tracks(len(centres), 12 * 8 * 30, interval="15min", centres_lonlat=centres,
                                     home_sd_m=6000, step_sd_m=350, pull=0.01, seed=70)
    fixes = dense[dense.groupby("individual").cumcount() % 12 == 0]
    fixes, injected = tracksim.inject_errors(fixes, n_duplicates=8, n_spikes=4, seed=71)
    path = ctx.output("tracks_movebank_SIMULATED.csv", "simulated collar fixes as a Movebank event table")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        tracksim.to_movebank(fixes.drop(columns="true_flag")).to_csv(fh, index=False)
    rep = import_path(ctx.db_url, path, dataset=DATASET, org=owner_org, country="RU",
                      dataset_meta={"license": "CC-BY-NC-4.0",
                                    "citation": f"{owner_org} (2026). SIMULATED leopard collars (econet demo)."})
    engine = open_hub(ctx.db_url)
    with engine.begin() as conn:
        sharing.set_sharing(conn, DATASET, visibility="partners", partners=[partner_org])
        views = {"owner": sharing.View.for_user(conn, "lotl-data-manager"),
                 "partner": sharing.View.for_user(conn, "hunchun-analyst")}
    countries = ctx.region().countries.to_crs(4326)
    truth = cx.crossings(cx.as_fixes(dense), countries, "iso3", tracks=False, tolerance_m=100, mcp_percent=None)
    out: dict = {"note": "collar fixes are SIMULATED (known true paths)", "fixes_imported": rep["added"].get("fixes"),
                 "flagged_on_import": "; ".join(rep.get("notes") or []),
                 "injected_errors": f"{injected['duplicates']} duplicates, {injected['spikes']} spikes",
                 "true_crossings": int(len(truth.events)),
                 "why_fewer_recovered": "a fix every 3 h misses the back-and-forth of the 15-min true paths"}
    for who, view in views.items():
        with engine.begin() as conn:
            res, r = tracking.crossings_on_view(conn, view, tracking.TrackFilter(dataset=DATASET), zones=countries,
                                                zone_field="iso3", tolerance_m=100, period="month")
        write_outputs(ctx.output(f"tracks_crossings_{who}_view"), res, tracks=True,
                      title=f"SIMULATED leopard collars in the hub: {who}'s view")
        out[f"{who}_view"] = (f"{r['view']['kind']} {r['view']['user']}: {len(res.events)} crossings from "
                              f"{r['fixes']} fixes" + (" (fixes generalized to 0.1 degree)" if r["generalized_input"]
                                                       else " (exact fixes)"))
    return out
