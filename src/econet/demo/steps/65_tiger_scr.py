"""Demo step 65: a SIMULATED Amur tiger population across the China-Russia border, known density and sigma, loaded
into the hub as a Camtrap DP package and estimated by SCR on the hub (as secr) under the owner's view.

64 cameras on a 4 km grid straddle the border east of Hunchun; tigers' activity centres are a Poisson process
on land (1.5 per 100 km^2), each camera-day photographs a tiger with probability 0.05 exp(-d^2 / 2 sigma^2),
sigma 5 km, for 75 days (hub.tiger_sim). The estimate's 95% interval should hold the truth; the expected
number of tigers per country comes from the fitted density over each country's part of the habitat mask.
Outputs: tiger_scr/estimates.csv (per country and overall, with the truth), tiger_scr/summary.json.
"""

from __future__ import annotations

ORDER = 65
TITLE = "SCR on the hub: a simulated Amur tiger population on both sides of the border (known truth)"

OWNER = "Sino-Russian tiger and leopard platform (demo)"
DATASET = "tiger-scr-sim"


def run(ctx) -> dict:
    import json
    import tempfile
    from pathlib import Path

    from econet.atomic import OutputSet
    from econet.hub import population, tiger_sim
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.query import ObservationFilter
    from econet.hub.sharing import View

    with tempfile.TemporaryDirectory() as tmp:
        truth = tiger_sim.simulate_package(Path(tmp) / "tiger_camtrap_dp")
        import_path(ctx.db_url, Path(tmp) / "tiger_camtrap_dp", dataset=DATASET, org=OWNER)
    engine = open_hub(ctx.db_url)
    view = View.admin("demo operator")  # the platform's own analyst: exact locations
    with engine.connect() as conn:
        res = population.run_scr(conn, view, ObservationFilter(dataset=DATASET, taxon=tiger_sim.TAXON),
                                 occasion_days=1.0, spacing_m=2000.0, progress=ctx.progress)
    table = population.scr_table(res)
    true_D = truth.D_per_100km2 / 1e4  # per hectare, as secr
    table["true_expected_animals"] = [true_D * a * 100.0 for a in table["area_km2"]]
    table["true_D_per_100km2"] = truth.D_per_100km2
    fit = res["fit"]
    inside = fit["D"]["lcl"] <= true_D <= fit["D"]["ucl"]
    summary = {
        "taxon": tiger_sim.TAXON, "dataset": DATASET, "view": res["input"]["view"],
        "cameras": truth.cameras, "days": truth.days,
        "true": {"D_per_100km2": truth.D_per_100km2, "sigma_m": truth.sigma_m, "g0": truth.g0,
                 "animals_simulated": truth.n_animals},
        "estimated": {"D_per_100km2": fit["D"]["estimate"] * 1e4,
                      "D_95ci_per_100km2": [fit["D"]["lcl"] * 1e4, fit["D"]["ucl"] * 1e4],
                      "sigma_m": fit["sigma"]["estimate"], "sigma_95ci_m": [fit["sigma"]["lcl"], fit["sigma"]["ucl"]],
                      "g0": fit["g0"]["estimate"], "g0_95ci": [fit["g0"]["lcl"], fit["g0"]["ucl"]]},
        "true_D_inside_95ci": bool(inside),
        "true_sigma_inside_95ci": bool(fit["sigma"]["lcl"] <= truth.sigma_m <= fit["sigma"]["ucl"]),
        "tigers_detected": res["individuals"]["detected"],
        "tigers_detected_in_both_countries": res["individuals"]["in_both_countries"],
        "tigers_detected_per_country": res["individuals"]["per_country"],
        "expected_tigers": {r["region"]: round(float(r["expected_animals"]), 1) for _, r in table.iterrows()},
        "mask": res["mask"],
    }
    out = ctx.output("tiger_scr", "SCR on the hub: simulated tigers per country vs truth (estimates.csv, summary.json)")
    with OutputSet(out) as outputs:
        table.to_csv(outputs.path("estimates.csv"), index=False)
        Path(outputs.path("summary.json")).write_text(json.dumps(population.jsonable(summary), indent=2),
                                                       encoding="utf-8")
    if not ctx.quiet:
        e = summary["estimated"]
        print(f"tiger SCR: D = {e['D_per_100km2']:.2f} per 100 km2 (95% CI {e['D_95ci_per_100km2'][0]:.2f}-"
              f"{e['D_95ci_per_100km2'][1]:.2f}; true {truth.D_per_100km2}), sigma = {e['sigma_m']:.0f} m "
              f"(true {truth.sigma_m:.0f}); {summary['tigers_detected']} tigers detected, "
              f"{summary['tigers_detected_in_both_countries']} on both sides of the border")
    ctx.results["tiger_scr"] = summary
    return summary
